"""What the black-box API tests share: the endpoint, a boto3 client, a Lambda-compatible fake,
polling helpers.

Where the server comes from:
- `STEPWISE_ENDPOINT=http://127.0.0.1:PORT` (and `STEPWISE_LAMBDA_PORT=N`): a `stepwise serve`
  somebody else started, with `--lambda-endpoint http://127.0.0.1:N`. This is how
  `tests/e2e/serve_clients.rs` runs these tests: it reserves both ports, starts the server, and this
  module starts the fake Lambda on port N in the pytest process (so the tests can see what the
  "function" received, e.g. a task token).
- otherwise: this module starts its own server from `STEPWISE_BIN` (default
  `$CARGO_TARGET_DIR/debug/stepwise`, else `<repo>/target/debug/stepwise`) on free ports with a
  temporary data directory, so `python3 -m pytest tests/api` works by hand after `cargo build`.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

REGION = 'us-east-1'
ROLE = 'arn:aws:iam::111111111111:role/stepwise-tests'
# A guard against hangs, never a speed assertion: a test that waits longer than this has failed.
DEADLINE = 90.0
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def new_name(prefix='t'):
    return f'{prefix}-{uuid.uuid4().hex[:12]}'


# ---------------------------------------------------------------- the fake Lambda


class FakeLambda:
    """A Lambda-compatible endpoint: `POST /2015-03-31/functions/{name}/invocations`.

    Functions (by name, or the name inside a function ARN):
    - `echo`: returns its payload.
    - `hold-token`: records the payload (it carries a task token) for `wait_payload(key)`, and
      returns `{"submitted": true}`.
    - `flaky`: per `payload["key"]`, the first call is a function error `FlakyError`; later calls
      return `{"key": key, "attempt": n}`.
    - `fail`: always a function error `Boom`.
    An unknown name is a 404 `ResourceNotFoundException`, as Lambda answers.
    """

    def __init__(self, port):
        self.lock = threading.Condition()
        self.payloads = {}  # key -> payload, from hold-token
        self.attempts = {}  # key -> count, from flaky
        self.calls = []  # (function, payload) of every call
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get('Content-Length') or 0)
                raw = self.rfile.read(n) if n else b''
                m = re.match(r'^/2015-03-31/functions/(.+)/invocations$', self.path.split('?')[0])
                if not m:
                    return self._send(404, {'message': 'no route'}, {'x-amzn-ErrorType': 'UnknownOperationException'})
                name = unquote(m.group(1))
                if ':function:' in name:
                    name = name.split(':function:', 1)[1].split(':')[0]
                try:
                    payload = json.loads(raw) if raw else None
                except ValueError:
                    payload = None
                status, body, headers = fake.invoke(name, payload)
                self._send(status, body, headers)

            def _send(self, status, body, headers):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                self.send_header('X-Amz-Executed-Version', '$LATEST')
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(('127.0.0.1', port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def invoke(self, name, payload):
        with self.lock:
            self.calls.append((name, payload))
            if name == 'echo':
                return 200, payload, {}
            if name == 'hold-token':
                self.payloads[payload['key']] = payload
                self.lock.notify_all()
                return 200, {'submitted': True}, {}
            if name == 'flaky':
                key = payload['key']
                self.attempts[key] = self.attempts.get(key, 0) + 1
                if self.attempts[key] == 1:
                    return 200, {'errorType': 'FlakyError', 'errorMessage': 'first attempt fails'}, \
                        {'X-Amz-Function-Error': 'Unhandled'}
                return 200, {'key': key, 'attempt': self.attempts[key]}, {}
            if name == 'fail':
                return 200, {'errorType': 'Boom', 'errorMessage': 'always fails'}, \
                    {'X-Amz-Function-Error': 'Unhandled'}
        return 404, {'Type': 'User', 'Message': f'Function not found: {name}'}, \
            {'x-amzn-ErrorType': 'ResourceNotFoundException'}

    def wait_payload(self, key, timeout=DEADLINE):
        """The payload `hold-token` received for `key` (waits for it)."""
        end = time.monotonic() + timeout
        with self.lock:
            while key not in self.payloads:
                left = end - time.monotonic()
                assert left > 0, f'the Lambda endpoint never received a call for key {key!r}'
                self.lock.wait(left)
            return self.payloads[key]


# ---------------------------------------------------------------- the server


_LAMBDAS = {}  # port -> FakeLambda: one per port in a pytest process


class Server:
    """The endpoint under test, and the fake Lambda it calls."""

    def __init__(self, extra_args=(), own=False):
        """The server of STEPWISE_ENDPOINT when set, else (or with `own`) a new `stepwise serve`
        started with `extra_args`."""
        self.proc = None
        self.data_dir = None
        endpoint = None if own else os.environ.get('STEPWISE_ENDPOINT')
        if endpoint:
            self.endpoint = endpoint.rstrip('/')
            port = os.environ.get('STEPWISE_LAMBDA_PORT')
            if port and int(port) not in _LAMBDAS:
                _LAMBDAS[int(port)] = FakeLambda(int(port))
            self.lam = _LAMBDAS.get(int(port)) if port else None
            return
        lambda_port = free_port()
        self.lam = FakeLambda(lambda_port)
        port = free_port()
        self.endpoint = f'http://127.0.0.1:{port}'
        self.data_dir = tempfile.mkdtemp(prefix='stepwise-api-')
        self.proc = subprocess.Popen(
            [stepwise_bin(), 'serve', '--host', '127.0.0.1', '--port', str(port), '--data-dir', self.data_dir,
             '--lambda-endpoint', f'http://127.0.0.1:{lambda_port}', *extra_args],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.data_dir, '..', f'serve-{port}.log'), 'w'))
        end = time.monotonic() + DEADLINE
        while True:
            assert self.proc.poll() is None, f'stepwise serve exited with {self.proc.returncode}'
            try:
                socket.create_connection(('127.0.0.1', port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < end, 'stepwise serve did not listen'
                time.sleep(0.1)

    def close(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            shutil.rmtree(self.data_dir, ignore_errors=True)


def stepwise_bin():
    if os.environ.get('STEPWISE_BIN'):
        return os.environ['STEPWISE_BIN']
    target = os.environ.get('CARGO_TARGET_DIR') or os.path.join(REPO, 'target')
    return os.path.join(target, 'debug', 'stepwise')


def client(endpoint):
    import boto3
    from botocore.config import Config
    # read_timeout above GetActivityTask's 60 s long poll; no retries, so every error is seen
    return boto3.client('stepfunctions', endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id='test', aws_secret_access_key='test',
                        config=Config(read_timeout=75, connect_timeout=10,
                                      retries={'total_max_attempts': 1, 'mode': 'standard'}))


def raw_call(endpoint, target, body, content_type='application/x-amz-json-1.0'):
    """POST a raw awsJson1_0 request; returns (HTTP status, parsed JSON body or None, raw text)."""
    data = body if isinstance(body, bytes) else body.encode()
    req = urllib.request.Request(endpoint + '/', data=data, method='POST', headers={
        'Content-Type': content_type, 'X-Amz-Target': target})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    try:
        return status, json.loads(text), text
    except ValueError:
        return status, None, text


def error_type(body):
    """An awsJson error's `__type` without its namespace (`com.amazonaws.sfn#InvalidArn` -> `InvalidArn`),
    as botocore reads it."""
    t = (body or {}).get('__type', '')
    return t.rsplit('#', 1)[-1].split(':')[0]


# ---------------------------------------------------------------- polling


def wait_done(sfn, execution_arn, timeout=DEADLINE):
    end = time.monotonic() + timeout
    while True:
        d = sfn.describe_execution(executionArn=execution_arn)
        if d['status'] != 'RUNNING' and d['status'] != 'PENDING_REDRIVE':
            return d
        assert time.monotonic() < end, f'{execution_arn} still {d["status"]} after {timeout}s'
        time.sleep(0.05)


def wait_until(what, fn, timeout=DEADLINE):
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        assert time.monotonic() < end, f'timed out waiting for {what}'
        time.sleep(0.05)


def full_history(sfn, execution_arn, **kw):
    events, token = [], None
    while True:
        args = dict(executionArn=execution_arn, **kw)
        if token:
            args['nextToken'] = token
        page = sfn.get_execution_history(**args)
        events += page['events']
        token = page.get('nextToken')
        if not token:
            return events


def types(events):
    return [e['type'] for e in events]
