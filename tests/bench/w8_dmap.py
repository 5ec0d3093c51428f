#!/usr/bin/env python3
"""Benchmark (not a test): W8, a distributed Map over 100,000 items in JSONL on S3, ItemBatcher of
100, ResultWriter, through `stepwise serve` with S3 on moto's server.

  w8_dmap.py --serve BIN [--items 100000 [--items 10000 ...]] [--moto-url URL] [--format json]
  w8_dmap.py --run BIN [--items ...] [--format json]

--format json puts the items in one JSON array object (the reader streams it element by element)
instead of JSON lines. --run runs the machine with `BIN run --s3-dir DIR` on a local folder (no
moto) and reports that process's peak memory.

For each --items N: puts N JSON lines in a fresh bucket, starts a fresh `BIN serve --aws-endpoint-url
MOTO` (its own data dir, so its peak memory is this run's), runs the machine of W8-dmap/
(definition.json), checks the output and the written results (the manifest, every batch in
SUCCEEDED_0.json, N items in all), and prints the wall time from StartExecution to the end, the
time per item, and the server's peak resident memory (VmHWM). Several N in one run show whether
time and memory grow with the item count. moto answers the S3 calls in the same wall time; the
machine is shared and noisy: quote ratios.
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOAD = os.path.join(HERE, 'W8-dmap')


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_listen(proc, port, what):
    end = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            sys.exit(f'{what} exited with {proc.returncode}')
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > end:
                proc.kill()
                sys.exit(f'{what} did not listen within 60 s')
            time.sleep(0.1)


def peak_rss_kib(pid):
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1])
    return 0


def orders(n, fmt):
    rows = ({'id': i, 'sku': f'SKU-{i % 977}', 'qty': i % 13, 'price': (i % 500) / 10} for i in range(n))
    if fmt == 'json':
        return '[' + ','.join(json.dumps(r) for r in rows) + ']'
    return ''.join(json.dumps(r) + '\n' for r in rows)


def with_format(definition, fmt):
    d = json.loads(definition)
    d['States']['Orders']['ItemReader']['ReaderConfig']['InputType'] = fmt.upper()
    return json.dumps(d)


def check_results(read, out, n):
    manifest = json.loads(read(out['ResultWriterDetails']['Key']))
    entries = []
    for f in manifest['ResultFiles']['SUCCEEDED']:
        entries += json.loads(read(f['Key']))
    items = sum(json.loads(e['Output'])['count'] for e in entries)
    assert len(entries) == (n + 99) // 100 and items == n, (len(entries), items)
    assert manifest['ResultFiles']['FAILED'] == []
    return entries


def main_run(args, sizes):
    """W8 through `stepwise run --s3-dir`: the bucket is a folder; peak memory is the run's."""
    with open(os.path.join(WORKLOAD, 'definition.json')) as f:
        definition = with_format(f.read(), args.format)
    rows = []
    for n in sizes:
        d = tempfile.mkdtemp(prefix='stepwise-w8-run-')
        try:
            os.makedirs(os.path.join(d, 'w8'))
            with open(os.path.join(d, 'w8', 'orders.jsonl'), 'w') as f:
                f.write(orders(n, args.format))
            path = os.path.join(d, 'w8.asl.json')
            with open(path, 'w') as f:
                f.write(definition)
            t = time.perf_counter()
            # /usr/bin/time -f %M: the child's peak resident memory in KiB.
            r = subprocess.run(['/usr/bin/time', '-f', '%M', args.run, 'run', path, '--quiet', '--s3-dir', d,
                                '--input', json.dumps({'Bucket': 'w8', 'Key': 'orders.jsonl', 'ResultBucket': 'w8'})],
                               capture_output=True, text=True)
            wall = time.perf_counter() - t
            assert r.returncode == 0, r.stderr
            peak_kib = int(r.stderr.strip().splitlines()[-1])
            out = json.loads(r.stdout)

            def read(key):
                with open(os.path.join(d, 'w8', key)) as f:
                    return f.read()
            entries = check_results(read, out, n)
            rows.append((n, wall, peak_kib))
            print(f'W8 run {args.format} {n:>7} items: {wall:7.2f} s wall, {wall / n * 1e6:6.1f} us/item, '
                  f'peak RSS {peak_kib / 1024:6.1f} MiB, {len(entries)} batches written', flush=True)
        finally:
            shutil.rmtree(d, ignore_errors=True)
    if len(rows) > 1:
        (n0, w0, p0), (n1, w1, p1) = rows[0], rows[-1]
        print(f'from {n0} to {n1} items: time x{w1 / w0:.2f}, peak memory x{p1 / p0:.2f} (items x{n1 / n0:.1f})')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--serve', help='the stepwise binary, run as `serve`')
    ap.add_argument('--run', help='the stepwise binary, run as `run --s3-dir`')
    ap.add_argument('--format', choices=['jsonl', 'json'], default='jsonl')
    ap.add_argument('--items', type=int, action='append')
    ap.add_argument('--moto-url')
    args = ap.parse_args()
    sizes = args.items or [100_000]
    if args.run:
        return main_run(args, sizes)
    if not args.serve:
        sys.exit('give --serve BIN or --run BIN')
    os.environ.setdefault('AWS_ACCESS_KEY_ID', 'test')
    os.environ.setdefault('AWS_SECRET_ACCESS_KEY', 'test')
    os.environ.setdefault('AWS_REGION', 'us-east-1')
    import boto3

    moto = None
    moto_url = args.moto_url
    if not moto_url:
        port = free_port()
        moto = subprocess.Popen(['moto_server', '-H', '127.0.0.1', '-p', str(port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_listen(moto, port, 'moto_server')
        moto_url = f'http://127.0.0.1:{port}'
    s3 = boto3.client('s3', endpoint_url=moto_url, region_name='us-east-1')
    with open(os.path.join(WORKLOAD, 'definition.json')) as f:
        definition = f.read()
    rows = []
    try:
        for n in sizes:
            bucket = 'w8-' + uuid.uuid4().hex[:10]
            s3.create_bucket(Bucket=bucket)
            s3.put_object(Bucket=bucket, Key='orders.jsonl', Body=orders(n, args.format).encode())
            port = free_port()
            data = tempfile.mkdtemp(prefix='stepwise-w8-')
            serve = subprocess.Popen([args.serve, 'serve', '--host', '127.0.0.1', '--port', str(port), '--data-dir',
                                      data, '--aws-endpoint-url', moto_url],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                wait_listen(serve, port, 'stepwise serve')
                sfn = boto3.client('stepfunctions', endpoint_url=f'http://127.0.0.1:{port}', region_name='us-east-1')
                arn = sfn.create_state_machine(name='w8-' + uuid.uuid4().hex[:8],
                                               definition=with_format(definition, args.format),
                                               roleArn='arn:aws:iam::111111111111:role/bench')['stateMachineArn']
                idle_kib = peak_rss_kib(serve.pid)
                t = time.perf_counter()
                ex = sfn.start_execution(stateMachineArn=arn, input=json.dumps(
                    {'Bucket': bucket, 'Key': 'orders.jsonl', 'ResultBucket': bucket}))['executionArn']
                while True:
                    d = sfn.describe_execution(executionArn=ex)
                    if d['status'] != 'RUNNING':
                        break
                    time.sleep(0.05)
                wall = time.perf_counter() - t
                peak_kib = peak_rss_kib(serve.pid)
                assert d['status'] == 'SUCCEEDED', d
                out = json.loads(d['output'])
                entries = check_results(lambda k: s3.get_object(Bucket=bucket, Key=k)['Body'].read(), out, n)
                rows.append((n, wall, peak_kib, idle_kib))
                print(f'W8 serve {args.format} {n:>7} items: {wall:7.2f} s wall, {wall / n * 1e6:6.1f} us/item, '
                      f'serve peak RSS {peak_kib / 1024:6.1f} MiB (idle {idle_kib / 1024:.1f} MiB), '
                      f'{len(entries)} batches written', flush=True)
            finally:
                serve.kill()
                serve.wait()
                shutil.rmtree(data, ignore_errors=True)
    finally:
        if moto:
            moto.kill()
            moto.wait()
    if len(rows) > 1:
        (n0, w0, p0, _), (n1, w1, p1, _) = rows[0], rows[-1]
        print(f'from {n0} to {n1} items: time x{w1 / w0:.2f}, peak memory x{p1 / p0:.2f} (items x{n1 / n0:.1f})')


if __name__ == '__main__':
    main()
