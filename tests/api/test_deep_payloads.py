"""Deeply nested and large execution data through boto3, across restarts of `stepwise serve` on
the same data directory (issue 11, item 1).

Step Functions takes any valid JSON up to 262,144 bytes as an execution's input, however deep it
nests (`[[[...]]]` of 256 KiB is 131,072 levels), and a state may build deeper data than it was
given. Stepwise used to accept about 125 levels, then fail to read its own records: DescribeExecution
answered 500, a Task-first execution stayed RUNNING, and a restarted `serve` exited 1 on the data
directory. Here every execution must end (SUCCEEDED, or FAILED with an AWS error), stay readable,
and stay readable after the server is killed and started again, twice.

These tests start their own servers (they restart them), from `STEPWISE_BIN`.
"""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest
from botocore.exceptions import ClientError

from common import DEADLINE, ROLE, FakeLambda, client, free_port, full_history, new_name, stepwise_bin, wait_done

MAX_INPUT = 262144


def arrays(depth):
    return '[' * depth + ']' * depth


def objects(depth):
    return '{"a":' * depth + '1' + '}' * depth


class Restartable:
    """`stepwise serve` on one data directory, killed (SIGKILL) and started again at will."""

    def __init__(self):
        self.data_dir = tempfile.mkdtemp(prefix='stepwise-deep-')
        self.lambda_port = free_port()
        self.lam = FakeLambda(self.lambda_port)
        self.proc = None
        self.starts = 0

    def start(self):
        port = free_port()
        self.starts += 1
        log = open(os.path.join(self.data_dir, f'serve-{self.starts}.log'), 'w')
        self.proc = subprocess.Popen(
            [stepwise_bin(), 'serve', '--host', '127.0.0.1', '--port', str(port), '--data-dir', self.data_dir,
             '--lambda-endpoint', f'http://127.0.0.1:{self.lambda_port}'],
            stdout=log, stderr=log)
        end = time.monotonic() + DEADLINE
        while True:
            assert self.proc.poll() is None, \
                f'stepwise serve exited with {self.proc.returncode} on its data directory:\n{self.log()}'
            try:
                socket.create_connection(('127.0.0.1', port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < end, 'stepwise serve did not listen'
                time.sleep(0.1)
        return client(f'http://127.0.0.1:{port}')

    def log(self):
        with open(os.path.join(self.data_dir, f'serve-{self.starts}.log')) as f:
            return f.read()[-4000:]

    def kill(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def close(self):
        self.kill()
        shutil.rmtree(self.data_dir, ignore_errors=True)


@pytest.fixture
def server():
    s = Restartable()
    yield s
    s.close()


def machine(sfn, definition):
    return sfn.create_state_machine(name=new_name('deep'), definition=json.dumps(definition),
                                    roleArn=ROLE)['stateMachineArn']


def nest_parameters(levels, leaf):
    p = leaf
    for _ in range(levels):
        p = {'a': p}
    return p


def check_readable(sfn, started):
    """Every execution ended, as expected, and its description and whole history read back."""
    for arn, inp, expect in started:
        d = wait_done(sfn, arn)
        assert d['input'] == inp, f'{arn}: the input read back differs'
        status, check = expect
        assert d['status'] == status, f'{arn}: {d["status"]} {d.get("error")} {d.get("cause", "")[:300]}'
        check(d)
        events = full_history(sfn, arn)
        assert events[0]['type'] == 'ExecutionStarted'
        assert events[0]['executionStartedEventDetails']['input'] == inp
        assert events[-1]['type'] in ('ExecutionSucceeded', 'ExecutionFailed'), events[-1]['type']
        reverse = full_history(sfn, arn, reverseOrder=True)
        assert [e['id'] for e in reverse] == [e['id'] for e in reversed(events)]


def test_deep_and_large_inputs_run_and_stay_readable_across_restarts(server):
    sfn = server.start()
    pass_sm = machine(sfn, {'StartAt': 'P', 'States': {'P': {'Type': 'Pass', 'End': True}}})
    # A Pass whose Parameters nest 40 levels around the input: deeper output than input.
    wrap_sm = machine(sfn, {'StartAt': 'W', 'States': {'W': {
        'Type': 'Pass', 'Parameters': nest_parameters(40, {'v.$': '$'}), 'End': True}}})
    task_sm = machine(sfn, {'StartAt': 'T', 'States': {'T': {
        'Type': 'Task', 'Resource': 'arn:aws:states:::lambda:invoke',
        'Parameters': {'FunctionName': 'echo', 'Payload.$': '$'}, 'OutputPath': '$.Payload', 'End': True}}})

    def output_is(expected):
        return lambda d: (d['output'] == expected) or pytest.fail(f'output {d["output"][:200]}...')

    def wrapped(inp):
        return lambda d: d['output'] == '{"a":' * 40 + '{"v":' + inp + '}' * 41 or \
            pytest.fail(f'output {d["output"][:200]}...')

    def aws_error(d):
        # The fake Lambda (Python's json) cannot read it: the Task fails with Lambda's error
        # on the execution, as a failed invocation does on AWS.
        assert d['error'].startswith('Lambda.'), d['error']

    cases = []
    for depth in (125, 127, 130, 1_000, 10_000):
        cases.append((pass_sm, arrays(depth), ('SUCCEEDED', output_is(arrays(depth)))))
    cases.append((pass_sm, objects(10_000), ('SUCCEEDED', output_is(objects(10_000)))))
    # The deepest input the size limit allows, and 256 KiB of ordinary data.
    cases.append((pass_sm, arrays(MAX_INPUT // 2), ('SUCCEEDED', output_is(arrays(MAX_INPUT // 2)))))
    flat = json.dumps({'s': 'x' * (MAX_INPUT - 100)}, separators=(',', ':'))
    cases.append((pass_sm, flat, ('SUCCEEDED', output_is(flat))))
    for depth in (90, 1_000):
        cases.append((wrap_sm, arrays(depth), ('SUCCEEDED', wrapped(arrays(depth)))))
    # (Deeper Lambda results come back as a JSON string: shared/tasks-aws reads a response with
    # serde_json's 128-level limit, outside this test's reach.)
    cases.append((task_sm, arrays(120), ('SUCCEEDED', output_is(arrays(120)))))
    cases.append((task_sm, arrays(10_000), ('FAILED', aws_error)))

    started = []
    for sm, inp, expect in cases:
        arn = sfn.start_execution(stateMachineArn=sm, input=inp)['executionArn']
        started.append((arn, inp, expect))
    # Killed at once, most of them still running: the restart picks them up from their records.
    server.kill()
    sfn = server.start()
    check_readable(sfn, started)
    listed = {e['executionArn'] for sm in (pass_sm, wrap_sm, task_sm)
              for e in sfn.list_executions(stateMachineArn=sm)['executions']}
    assert {arn for arn, _, _ in started} <= listed

    server.kill()
    sfn = server.start()
    check_readable(sfn, started)


def test_input_over_the_size_limit_is_refused_and_the_store_stays_readable(server):
    sfn = server.start()
    sm = machine(sfn, {'StartAt': 'P', 'States': {'P': {'Type': 'Pass', 'End': True}}})
    for too_big in (arrays(MAX_INPUT // 2 + 1), json.dumps({'s': 'x' * MAX_INPUT})):
        with pytest.raises(ClientError) as e:
            sfn.start_execution(stateMachineArn=sm, input=too_big)
        # AWS's model constraint on `input`: 'Member must have length less than or equal to 262144'.
        assert e.value.response['Error']['Code'] == 'ValidationException'
    # A Pass that builds output over the limit from input under it fails the execution with
    # States.DataLimitExceeded, as AWS does; the record stays readable.
    grow = machine(sfn, {'StartAt': 'G', 'States': {'G': {
        'Type': 'Pass', 'Parameters': {'a.$': '$', 'b.$': '$'}, 'End': True}}})
    inp = arrays(MAX_INPUT // 2 - 10)
    arn = sfn.start_execution(stateMachineArn=grow, input=inp)['executionArn']
    d = wait_done(sfn, arn)
    assert (d['status'], d.get('error')) == ('FAILED', 'States.DataLimitExceeded'), d
    server.kill()
    sfn = server.start()
    assert sfn.describe_execution(executionArn=arn)['status'] == 'FAILED'
    assert full_history(sfn, arn)[-1]['type'] == 'ExecutionFailed'


def padded_definition(length):
    """A valid one-Pass definition of exactly `length` characters (its Comment pads it)."""
    head, tail = '{"Comment":"', '","StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}'
    return head + 'c' * (length - len(head) - len(tail)) + tail


def test_definition_over_1_mib_is_refused_by_create_update_and_validate(server):
    # Issue 11, item 5: AWS's model limits `definition` to 1,048,576 characters.
    sfn = server.start()
    at_limit, over = padded_definition(1_048_576), padded_definition(1_048_577)
    arn = sfn.create_state_machine(name=new_name('big'), definition=at_limit, roleArn=ROLE)['stateMachineArn']
    assert sfn.describe_state_machine(stateMachineArn=arn)['definition'] == at_limit
    assert sfn.validate_state_machine_definition(definition=at_limit)['result'] == 'OK'
    calls = [
        lambda: sfn.create_state_machine(name=new_name('big'), definition=over, roleArn=ROLE),
        lambda: sfn.update_state_machine(stateMachineArn=arn, definition=over),
        lambda: sfn.validate_state_machine_definition(definition=over),
    ]
    for call in calls:
        with pytest.raises(ClientError) as e:
            call()
        err = e.value.response['Error']
        assert err['Code'] == 'ValidationException', err
        assert err['Message'] == ('1 validation error detected: Value at \'definition\' failed to satisfy '
                                  'constraint: Member must have length less than or equal to 1048576'), err
    # The refused update changed nothing, and the data directory still opens.
    server.kill()
    sfn = server.start()
    assert sfn.describe_state_machine(stateMachineArn=arn)['definition'] == at_limit
