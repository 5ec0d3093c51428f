#!/usr/bin/env python3
"""Benchmark (not a test): W1-pass-chain through the Step Functions API with concurrent clients.

  api_w1.py [--endpoint-url URL | --serve BIN] [--clients 8] [--executions 200] [--workload DIR]

Each client thread (its own boto3 client) starts an execution, polls DescribeExecution until it
ends, checks the output against expected.json, and starts the next, until the clients together
have run --executions. Prints executions/s and state transitions/s (meta.json's count per
execution) over the wall time of the whole run, plus the median start-to-end latency.

--serve BIN starts `BIN serve` on a free port with a temporary data dir (and kills it after);
otherwise --endpoint-url (default http://127.0.0.1:8083) must already be serving. The machine is
shared and noisy: compare engines in the same run, as ratios.
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_WORKLOAD = os.path.normpath(os.path.join(HERE, '..', '..', '..', 'shared', 'bench', 'workloads',
                                                 'W1-pass-chain'))


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def start_server(binary):
    port = free_port()
    data = tempfile.mkdtemp(prefix='stepwise-bench-')
    proc = subprocess.Popen([binary, 'serve', '--host', '127.0.0.1', '--port', str(port), '--data-dir', data],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    end = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            sys.exit(f'{binary} serve exited with {proc.returncode}')
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > end:
                proc.kill()
                sys.exit('the server did not listen within 60 s')
            time.sleep(0.1)
    return f'http://127.0.0.1:{port}', proc, data


def make_client(endpoint):
    import boto3
    from botocore.config import Config
    return boto3.client('stepfunctions', endpoint_url=endpoint, region_name='us-east-1',
                        aws_access_key_id='test', aws_secret_access_key='test',
                        config=Config(max_pool_connections=4, retries={'total_max_attempts': 1, 'mode': 'standard'}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    g = ap.add_mutually_exclusive_group()
    g.add_argument('--endpoint-url', default='http://127.0.0.1:8083')
    g.add_argument('--serve', metavar='BIN', help='start BIN serve on a free port for the run')
    ap.add_argument('--clients', type=int, default=8)
    ap.add_argument('--executions', type=int, default=200)
    ap.add_argument('--workload', default=DEFAULT_WORKLOAD)
    ap.add_argument('--json', help='also write the figures to this file')
    a = ap.parse_args()

    definition = open(os.path.join(a.workload, 'definition.json')).read()
    payload = open(os.path.join(a.workload, 'input.json')).read()
    expected = json.load(open(os.path.join(a.workload, 'expected.json')))
    transitions = json.load(open(os.path.join(a.workload, 'meta.json')))['state_transitions']

    proc = data = None
    endpoint = a.endpoint_url
    if a.serve:
        endpoint, proc, data = start_server(a.serve)
    try:
        setup = make_client(endpoint)
        sm = setup.create_state_machine(name='bench-w1-' + uuid.uuid4().hex[:10], definition=definition,
                                        roleArn='arn:aws:iam::111111111111:role/bench')['stateMachineArn']
        lock = threading.Lock()
        todo = [a.executions]
        latencies, wrong, errors = [], [], []

        def client_loop():
            sfn = make_client(endpoint)
            while True:
                with lock:
                    if todo[0] == 0:
                        return
                    todo[0] -= 1
                try:
                    t = time.perf_counter()
                    ex = sfn.start_execution(stateMachineArn=sm, input=payload)['executionArn']
                    while True:
                        d = sfn.describe_execution(executionArn=ex)
                        if d['status'] != 'RUNNING':
                            break
                        time.sleep(0.005)
                    el = time.perf_counter() - t
                    ok = d['status'] == 'SUCCEEDED' and json.loads(d.get('output') or 'null') == expected
                    with lock:
                        latencies.append(el)
                        if not ok:
                            wrong.append(ex)
                except Exception as e:  # counted and shown, the run goes on
                    with lock:
                        errors.append(f'{type(e).__name__}: {e}'[:200])

        t0 = time.perf_counter()
        threads = [threading.Thread(target=client_loop) for _ in range(a.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
    finally:
        if proc:
            proc.kill()
            proc.wait()
            shutil.rmtree(data, ignore_errors=True)

    done = len(latencies)
    result = {
        'workload': os.path.basename(a.workload), 'clients': a.clients, 'executions': done,
        'wrong_outputs': len(wrong), 'errors': len(errors), 'wall_s': wall,
        'executions_per_s': done / wall if wall else None,
        'transitions_per_s': done * transitions / wall if wall else None,
        'median_latency_s': statistics.median(latencies) if latencies else None,
        'p99_latency_s': sorted(latencies)[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else None,
        'load_average': open('/proc/loadavg').read().split()[:3],
    }
    print(f"{result['workload']}: {done} executions by {a.clients} clients in {wall:.2f}s: "
          f"{result['executions_per_s']:.1f} executions/s, {result['transitions_per_s']:,.0f} transitions/s, "
          f"latency p50 {result['median_latency_s'] or 0:.3f}s p99 {result['p99_latency_s'] or 0:.3f}s; "
          f"load average {' '.join(result['load_average'])}; {len(wrong)} wrong outputs, {len(errors)} errors")
    for e in errors[:5]:
        print('  error:', e)
    if a.json:
        with open(a.json, 'w') as f:
            json.dump(result, f, indent=1)
    return 1 if wrong or errors else 0


if __name__ == '__main__':
    sys.exit(main())
