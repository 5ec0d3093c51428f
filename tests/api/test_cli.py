"""`stepwise serve` driven by the AWS CLI (`aws stepfunctions ... --endpoint-url`), checking its
JSON output. Run by `tests/e2e/serve_clients.rs`, or by hand like test_boto3.py (see common.py).

The CLI is run as `python3 -m awscli` (the pip package), so no `aws` on PATH is needed.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import pytest

from common import DEADLINE, ROLE, Server, new_name


@pytest.fixture(scope='module')
def aws():
    server = Server()
    env = dict(os.environ, AWS_ACCESS_KEY_ID='test', AWS_SECRET_ACCESS_KEY='test', AWS_DEFAULT_REGION='us-east-1',
               AWS_PAGER='', AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)

    def run(*args, ok=True):
        p = subprocess.run([sys.executable, '-m', 'awscli', 'stepfunctions', *args,
                            '--endpoint-url', server.endpoint, '--output', 'json'],
                           capture_output=True, text=True, env=env, timeout=DEADLINE)
        if ok:
            assert p.returncode == 0, f'aws stepfunctions {" ".join(args)}: {p.returncode}\n{p.stderr}'
            return json.loads(p.stdout) if p.stdout.strip() else None
        return p
    yield run
    server.close()


DEFINITION = {'StartAt': 'Hello', 'States': {
    'Hello': {'Type': 'Pass', 'Parameters': {'msg.$': "States.Format('hi {}', $.name)"}, 'Next': 'Hold'},
    'Hold': {'Type': 'Choice', 'Choices': [{'Variable': '$.msg', 'StringEquals': 'hi wait', 'Next': 'Long'}],
             'Default': 'Done'},
    'Long': {'Type': 'Wait', 'Seconds': 3600, 'Next': 'Done'},
    'Done': {'Type': 'Succeed'}}}


def wait_done(aws, arn):
    end = time.monotonic() + DEADLINE
    while True:
        d = aws('describe-execution', '--execution-arn', arn)
        if d['status'] != 'RUNNING':
            return d
        assert time.monotonic() < end, f'{arn} still RUNNING'
        time.sleep(0.1)


def test_cli_round_trip(aws):
    name = new_name('cli')
    with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as f:
        json.dump(DEFINITION, f)
    try:
        created = aws('create-state-machine', '--name', name, '--definition', f'file://{f.name}',
                      '--role-arn', ROLE)
    finally:
        os.unlink(f.name)
    sm = created['stateMachineArn']
    assert re.fullmatch(r'arn:aws:states:us-east-1:\d{12}:stateMachine:' + re.escape(name), sm), sm
    assert created['creationDate']

    started = aws('start-execution', '--state-machine-arn', sm, '--name', 'first', '--input', '{"name": "there"}')
    ex = started['executionArn']
    assert ex.endswith(f':execution:{name}:first') and started['startDate']

    d = wait_done(aws, ex)
    assert d['status'] == 'SUCCEEDED'
    assert json.loads(d['output']) == {'msg': 'hi there'}
    assert json.loads(d['input']) == {'name': 'there'}
    assert d['stateMachineArn'] == sm and d['name'] == 'first'

    h = aws('get-execution-history', '--execution-arn', ex)
    events = h['events']
    assert [e['id'] for e in events] == list(range(1, len(events) + 1))
    assert [e['type'] for e in events] == [
        'ExecutionStarted', 'PassStateEntered', 'PassStateExited', 'ChoiceStateEntered', 'ChoiceStateExited',
        'SucceedStateEntered', 'SucceedStateExited', 'ExecutionSucceeded']
    rev = aws('get-execution-history', '--execution-arn', ex, '--reverse-order')['events']
    assert [e['id'] for e in rev] == [e['id'] for e in reversed(events)]
    # the CLI pages by itself: a small page size must still give every event
    paged = aws('get-execution-history', '--execution-arn', ex, '--page-size', '2')['events']
    assert [e['id'] for e in paged] == [e['id'] for e in events]

    waiting = aws('start-execution', '--state-machine-arn', sm, '--input', '{"name": "wait"}')['executionArn']
    listed = aws('list-executions', '--state-machine-arn', sm)['executions']
    assert sorted(x['executionArn'] for x in listed) == sorted([ex, waiting])
    running = aws('list-executions', '--state-machine-arn', sm, '--status-filter', 'RUNNING')['executions']
    assert [x['executionArn'] for x in running] == [waiting]
    assert running[0]['status'] == 'RUNNING'

    stopped = aws('stop-execution', '--execution-arn', waiting, '--error', 'Halt', '--cause', 'cli')
    assert stopped['stopDate']
    d = wait_done(aws, waiting)
    assert d['status'] == 'ABORTED'
    aborted = aws('list-executions', '--state-machine-arn', sm, '--status-filter', 'ABORTED')['executions']
    assert [x['executionArn'] for x in aborted] == [waiting]


def test_cli_errors_exit_non_zero_with_the_aws_error_code(aws):
    p = aws('describe-execution', '--execution-arn', 'not-an-arn', ok=False)
    assert p.returncode != 0
    assert '(InvalidArn)' in p.stderr, p.stderr
    p = aws('describe-execution', '--execution-arn',
            'arn:aws:states:us-east-1:111111111111:execution:nothing:nobody', ok=False)
    assert p.returncode != 0
    assert '(ExecutionDoesNotExist)' in p.stderr, p.stderr
