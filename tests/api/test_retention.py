"""Retention you control, through boto3 against `stepwise serve` (issue 16, item 4).

Nothing is ever deleted unless the server is given a retention (`--retention-days N` or
STEPWISE_RETENTION_DAYS); then an execution goes, with its history, N days after it closed, at
start-up and hourly; a RUNNING one never goes however old it is. The server's clock is never
faked: the test ages executions by moving their recorded close (and start) back in the SQLite file
while the server is stopped, then starts it again and reads what is left with boto3.

These tests start their own servers (they restart them), from `STEPWISE_BIN`.
"""
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time

import pytest
from botocore.exceptions import ClientError

from common import DEADLINE, ROLE, client, free_port, full_history, new_name, stepwise_bin, wait_done, wait_until

DAY_MS = 86_400_000


class Restartable:
    """`stepwise serve` on one data directory, stopped and started again with other options."""

    def __init__(self):
        self.data_dir = tempfile.mkdtemp(prefix='stepwise-retention-')
        self.proc = None
        self.starts = 0

    def start(self, *args, env=None):
        port = free_port()
        self.starts += 1
        log = open(self.log_path(), 'w')
        self.proc = subprocess.Popen(
            [stepwise_bin(), 'serve', '--host', '127.0.0.1', '--port', str(port), '--data-dir', self.data_dir,
             *args], stdout=log, stderr=log, env={**os.environ, **(env or {})})
        end = time.monotonic() + DEADLINE
        while True:
            assert self.proc.poll() is None, f'stepwise serve exited with {self.proc.returncode}:\n{self.log()}'
            try:
                socket.create_connection(('127.0.0.1', port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < end, 'stepwise serve did not listen'
                time.sleep(0.1)
        return client(f'http://127.0.0.1:{port}')

    def log_path(self):
        return os.path.join(self.data_dir, f'serve-{self.starts}.log')

    def log(self):
        with open(self.log_path()) as f:
            return f.read()[-4000:]

    def stop(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def age(self, arn, days):
        """Moves an execution's recorded start and close `days` into the past (server stopped)."""
        assert self.proc is None
        db = sqlite3.connect(os.path.join(self.data_dir, 'stepwise.db'))
        with db:
            n = db.execute('UPDATE executions SET start_ms = start_ms - ?1, '
                           'stop_ms = CASE WHEN stop_ms IS NULL THEN NULL ELSE stop_ms - ?1 END WHERE arn = ?2',
                           (days * DAY_MS, arn)).rowcount
        db.close()
        assert n == 1, arn

    def close(self):
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)


@pytest.fixture
def server():
    s = Restartable()
    yield s
    s.close()


def gone(sfn, arn):
    with pytest.raises(ClientError) as e:
        sfn.describe_execution(executionArn=arn)
    assert e.value.response['Error']['Code'] == 'ExecutionDoesNotExist', e.value.response
    with pytest.raises(ClientError) as e:
        sfn.get_execution_history(executionArn=arn)
    assert e.value.response['Error']['Code'] == 'ExecutionDoesNotExist', e.value.response
    return True


def test_closed_executions_go_after_the_retention_and_running_ones_never(server):
    sfn = server.start()
    ok_sm = sfn.create_state_machine(name=new_name('ok'), roleArn=ROLE, definition=json.dumps(
        {'StartAt': 'P', 'States': {'P': {'Type': 'Pass', 'End': True}}}))['stateMachineArn']
    fail_sm = sfn.create_state_machine(name=new_name('fail'), roleArn=ROLE, definition=json.dumps(
        {'StartAt': 'F', 'States': {'F': {'Type': 'Fail', 'Error': 'Broken'}}}))['stateMachineArn']
    activity = sfn.create_activity(name=new_name('never-polled'))['activityArn']
    wait_sm = sfn.create_state_machine(name=new_name('wait'), roleArn=ROLE, definition=json.dumps(
        {'StartAt': 'T', 'States': {'T': {'Type': 'Task', 'Resource': activity, 'End': True}}}))['stateMachineArn']

    def run(sm):
        return wait_done(sfn, sfn.start_execution(stateMachineArn=sm, input='{}')['executionArn'])['executionArn']

    old_ok, old_failed, recent = run(ok_sm), run(fail_sm), run(ok_sm)
    running = sfn.start_execution(stateMachineArn=wait_sm, input='{}')['executionArn']
    wait_until('the activity task is scheduled',
               lambda: any(e['type'] == 'ActivityScheduled' for e in full_history(sfn, running)))
    server.stop()
    for arn in (old_ok, old_failed):
        server.age(arn, 3)
    server.age(recent, 1)
    server.age(running, 400)

    # Without a retention nothing is deleted, however old.
    sfn = server.start()
    for arn in (old_ok, old_failed, recent):
        assert sfn.describe_execution(executionArn=arn)['status'] in ('SUCCEEDED', 'FAILED')
    server.stop()

    # Two days: what closed three days ago goes at start-up, with its history; the rest stays.
    sfn = server.start('--retention-days', '2')
    assert gone(sfn, old_ok) and gone(sfn, old_failed)
    assert 'executions are deleted 2 day(s) after they close (2 deleted now)' in server.log()
    assert sfn.describe_execution(executionArn=recent)['status'] == 'SUCCEEDED'
    assert [e['type'] for e in full_history(sfn, recent)][-1] == 'ExecutionSucceeded'
    assert sfn.describe_execution(executionArn=running)['status'] == 'RUNNING'
    assert 'ActivityScheduled' in [e['type'] for e in full_history(sfn, running)]
    listed = [e['executionArn'] for e in sfn.list_executions(stateMachineArn=ok_sm)['executions']]
    assert listed == [recent]
    # The running one is still served: its activity task completes it.
    task = sfn.get_activity_task(activityArn=activity)
    sfn.send_task_success(taskToken=task['taskToken'], output='{"done": true}')
    assert wait_done(sfn, running)['status'] == 'SUCCEEDED'
    server.stop()

    # The same through the environment, a day later for `recent`.
    server.age(recent, 1)
    sfn = server.start(env={'STEPWISE_RETENTION_DAYS': '2'})
    assert gone(sfn, recent)
    assert sfn.describe_execution(executionArn=running)['status'] == 'SUCCEEDED'


def test_a_retention_of_zero_days_keeps_everything(server):
    sfn = server.start()
    sm = sfn.create_state_machine(name=new_name('ok'), roleArn=ROLE, definition=json.dumps(
        {'StartAt': 'P', 'States': {'P': {'Type': 'Pass', 'End': True}}}))['stateMachineArn']
    arn = wait_done(sfn, sfn.start_execution(stateMachineArn=sm, input='{}')['executionArn'])['executionArn']
    server.stop()
    server.age(arn, 10_000)
    sfn = server.start('--retention-days', '0')
    assert sfn.describe_execution(executionArn=arn)['status'] == 'SUCCEEDED'


def test_a_retention_that_is_not_a_number_of_days_is_refused(server):
    p = subprocess.run([stepwise_bin(), 'serve', '--data-dir', server.data_dir, '--port', str(free_port()),
                        '--retention-days', 'week'], capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and '--retention-days' in p.stderr, p.stderr
