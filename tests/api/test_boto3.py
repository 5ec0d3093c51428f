"""`stepwise serve` driven by boto3, checked against the AWS Step Functions API reference.

Run by `tests/e2e/serve_clients.rs` (which starts the server), or by hand:
`python3 -m pytest tests/api/test_boto3.py` after `cargo build -p stepwise` (see common.py).

Every error is checked by its exact AWS error code (botocore's `Error.Code`, from `__type`).
Waits in these tests are hang guards (common.DEADLINE), never speed assertions.
"""
import datetime
import json
import re
import threading

import pytest
from botocore.exceptions import ClientError

from common import (DEADLINE, ROLE, Server, client, error_type, full_history, new_name, raw_call, types,
                    wait_done, wait_until)

ACCOUNT_ARN = r'arn:aws:states:us-east-1:\d{12}'


@pytest.fixture(scope='session')
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture(scope='session')
def sfn(server):
    return client(server.endpoint)


@pytest.fixture(scope='session')
def lam(server):
    if server.lam is None:
        pytest.fail('STEPWISE_LAMBDA_PORT is not set: the server needs --lambda-endpoint for this test')
    return server.lam


def code(excinfo):
    return excinfo.value.response['Error']['Code']


def create(sfn, definition, name=None, **kw):
    return sfn.create_state_machine(name=name or new_name('sm'), definition=json.dumps(definition),
                                    roleArn=ROLE, **kw)['stateMachineArn']


def run(sfn, sm_arn, payload, **kw):
    ex = sfn.start_execution(stateMachineArn=sm_arn, input=json.dumps(payload), **kw)['executionArn']
    return wait_done(sfn, ex)


def pass_machine(result):
    return {'StartAt': 'P', 'States': {'P': {'Type': 'Pass', 'Result': result, 'End': True}}}


GREET = {'StartAt': 'Greet', 'States': {'Greet': {
    'Type': 'Pass', 'Parameters': {'greeting.$': "States.Format('hello {}', $.who)"}, 'End': True}}}
WAIT_LONG = {'StartAt': 'Hold', 'States': {
    'Hold': {'Type': 'Wait', 'Seconds': 3600, 'Next': 'Done'},
    'Done': {'Type': 'Pass', 'End': True}}}
MODES = {'StartAt': 'Mode', 'States': {
    'Mode': {'Type': 'Choice', 'Choices': [
        {'Variable': '$.mode', 'StringEquals': 'ok', 'Next': 'Ok'},
        {'Variable': '$.mode', 'StringEquals': 'fail', 'Next': 'Nope'}], 'Default': 'Hold'},
    'Ok': {'Type': 'Pass', 'End': True},
    'Nope': {'Type': 'Fail', 'Error': 'Nope', 'Cause': 'because'},
    'Hold': {'Type': 'Wait', 'Seconds': 3600, 'End': True}}}


# ---------------------------------------------------------------- state machines


def test_state_machine_create_describe_list_update_delete(sfn):
    name = new_name('life')
    definition = json.dumps(pass_machine({'v': 1}))
    created = sfn.create_state_machine(name=name, definition=definition, roleArn=ROLE)
    arn = created['stateMachineArn']
    assert re.fullmatch(ACCOUNT_ARN + ':stateMachine:' + re.escape(name), arn), arn
    assert isinstance(created['creationDate'], datetime.datetime)

    d = sfn.describe_state_machine(stateMachineArn=arn)
    assert d['stateMachineArn'] == arn and d['name'] == name
    assert json.loads(d['definition']) == json.loads(definition)
    assert d['roleArn'] == ROLE
    assert d['type'] == 'STANDARD'
    assert d['status'] == 'ACTIVE'
    assert isinstance(d['creationDate'], datetime.datetime)

    # CreateStateMachine is idempotent for the same configuration ...
    again = sfn.create_state_machine(name=name, definition=definition, roleArn=ROLE)
    assert again['stateMachineArn'] == arn
    # ... and StateMachineAlreadyExists for a different one
    with pytest.raises(ClientError) as e:
        sfn.create_state_machine(name=name, definition=json.dumps(pass_machine({'v': 'other'})), roleArn=ROLE)
    assert code(e) == 'StateMachineAlreadyExists'

    # list, one page at a time
    seen, token = [], None
    while True:
        page = sfn.list_state_machines(maxResults=1, **({'nextToken': token} if token else {}))
        assert len(page['stateMachines']) <= 1
        seen += page['stateMachines']
        token = page.get('nextToken')
        if not token:
            break
    mine = [m for m in seen if m['stateMachineArn'] == arn]
    assert len(mine) == 1, seen
    assert mine[0]['name'] == name and mine[0]['type'] == 'STANDARD'
    assert isinstance(mine[0]['creationDate'], datetime.datetime)

    updated = sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(pass_machine({'v': 2})))
    assert isinstance(updated['updateDate'], datetime.datetime)
    d = sfn.describe_state_machine(stateMachineArn=arn)
    assert json.loads(d['definition']) == pass_machine({'v': 2})
    assert json.loads(run(sfn, arn, {})['output']) == {'v': 2}

    sfn.delete_state_machine(stateMachineArn=arn)

    def gone():
        try:
            sfn.describe_state_machine(stateMachineArn=arn)
            return False
        except ClientError as err:
            assert err.response['Error']['Code'] == 'StateMachineDoesNotExist', err.response
            return True
    wait_until('the deleted state machine to disappear', gone)
    assert arn not in [m['stateMachineArn'] for m in sfn.list_state_machines()['stateMachines']]
    with pytest.raises(ClientError) as e:
        sfn.start_execution(stateMachineArn=arn, input='{}')
    assert code(e) == 'StateMachineDoesNotExist'


def test_invalid_definition_is_rejected_at_create(sfn):
    bad = {'StartAt': 'A', 'States': {'A': {'Type': 'Pass', 'Next': 'Missing'}}}
    with pytest.raises(ClientError) as e:
        create(sfn, bad)
    assert code(e) == 'InvalidDefinition'
    assert 'MISSING_TRANSITION_TARGET' in e.value.response['Error']['Message']
    with pytest.raises(ClientError) as e:
        sfn.create_state_machine(name=new_name('bad'), definition='{not json', roleArn=ROLE)
    assert code(e) == 'InvalidDefinition'
    with pytest.raises(ClientError) as e:
        sfn.create_state_machine(name='has space', definition=json.dumps(GREET), roleArn=ROLE)
    assert code(e) == 'InvalidName'


def test_validate_state_machine_definition_diagnostics(sfn):
    ok = sfn.validate_state_machine_definition(definition=json.dumps(GREET), type='STANDARD')
    assert ok['result'] == 'OK'
    assert ok['diagnostics'] == []

    bad = {'StartAt': 'A', 'States': {'A': {'Type': 'Pass', 'Next': 'Missing'}}}
    r = sfn.validate_state_machine_definition(definition=json.dumps(bad), type='STANDARD')
    assert r['result'] == 'FAIL'
    diags = r['diagnostics']
    assert any(d['code'] == 'MISSING_TRANSITION_TARGET' and d['severity'] == 'ERROR'
               and d.get('location') == '/States/A/Next' for d in diags), diags
    for d in diags:
        assert d['severity'] in ('ERROR', 'WARNING') and d['message'], d

    r = sfn.validate_state_machine_definition(definition='{not json')
    assert r['result'] == 'FAIL'
    assert [d['code'] for d in r['diagnostics']] == ['INVALID_JSON_DESCRIPTION'], r['diagnostics']


# ---------------------------------------------------------------- executions


def test_start_is_idempotent_for_same_name_and_input_while_running(sfn):
    sm_name = new_name('idem')
    sm = create(sfn, WAIT_LONG, name=sm_name)
    first = sfn.start_execution(stateMachineArn=sm, name='run-1', input='{"a":1}')
    ex = first['executionArn']
    assert re.fullmatch(ACCOUNT_ARN + f':execution:{sm_name}:run-1', ex), ex
    assert isinstance(first['startDate'], datetime.datetime)

    again = sfn.start_execution(stateMachineArn=sm, name='run-1', input='{"a":1}')
    assert again['executionArn'] == ex
    with pytest.raises(ClientError) as e:
        sfn.start_execution(stateMachineArn=sm, name='run-1', input='{"a":2}')
    assert code(e) == 'ExecutionAlreadyExists'

    d = sfn.describe_execution(executionArn=ex)
    assert d['status'] == 'RUNNING'
    assert d['name'] == 'run-1' and d['stateMachineArn'] == sm
    assert json.loads(d['input']) == {'a': 1}
    assert 'stopDate' not in d and 'output' not in d

    sfn.stop_execution(executionArn=ex)
    wait_done(sfn, ex)
    # a closed execution's name cannot be used again, whatever the input
    with pytest.raises(ClientError) as e:
        sfn.start_execution(stateMachineArn=sm, name='run-1', input='{"a":1}')
    assert code(e) == 'ExecutionAlreadyExists'

    # no name: one is generated (a UUID on AWS)
    unnamed = sfn.start_execution(stateMachineArn=sm)['executionArn']
    assert re.fullmatch(ACCOUNT_ARN + f':execution:{sm_name}:[^:]+', unnamed), unnamed
    sfn.stop_execution(executionArn=unnamed)

    with pytest.raises(ClientError) as e:
        sfn.start_execution(stateMachineArn=sm, name='has space', input='{}')
    assert code(e) == 'InvalidName'
    with pytest.raises(ClientError) as e:
        sfn.start_execution(stateMachineArn=sm, input='{oops')
    assert code(e) == 'InvalidExecutionInput'


def test_execution_output_and_history_paging_order_and_data(sfn):
    sm = create(sfn, GREET)
    d = run(sfn, sm, {'who': 'world'})
    assert d['status'] == 'SUCCEEDED'
    assert json.loads(d['output']) == {'greeting': 'hello world'}
    assert isinstance(d['stopDate'], datetime.datetime) and d['stopDate'] >= d['startDate']
    ex = d['executionArn']

    events = full_history(sfn, ex)
    assert [e['id'] for e in events] == list(range(1, len(events) + 1))
    assert types(events) == ['ExecutionStarted', 'PassStateEntered', 'PassStateExited', 'ExecutionSucceeded']
    assert json.loads(events[0]['executionStartedEventDetails']['input']) == {'who': 'world'}
    assert events[0]['executionStartedEventDetails']['roleArn'] == ROLE
    assert events[1]['stateEnteredEventDetails']['name'] == 'Greet'
    assert json.loads(events[-1]['executionSucceededEventDetails']['output']) == {'greeting': 'hello world'}
    assert events[0]['previousEventId'] == 0
    assert all(isinstance(e['timestamp'], datetime.datetime) for e in events)

    rev = full_history(sfn, ex, reverseOrder=True)
    assert [e['id'] for e in rev] == [e['id'] for e in reversed(events)]
    assert rev[0]['type'] == 'ExecutionSucceeded'

    # one event a page: nextToken carries the position
    page = sfn.get_execution_history(executionArn=ex, maxResults=1)
    assert len(page['events']) == 1 and page.get('nextToken')
    paged = full_history(sfn, ex, maxResults=1)
    assert [e['id'] for e in paged] == [e['id'] for e in events]
    paged_rev = full_history(sfn, ex, maxResults=3, reverseOrder=True)
    assert [e['id'] for e in paged_rev] == [e['id'] for e in rev]

    lean = full_history(sfn, ex, includeExecutionData=False)
    assert types(lean) == types(events)
    assert 'input' not in lean[0]['executionStartedEventDetails']
    assert 'output' not in lean[-1].get('executionSucceededEventDetails', {})
    assert 'output' not in lean[2].get('stateExitedEventDetails', {})


def test_a_large_payload_history_shows_each_state_output(sfn):
    """A large payload whose states each set one member (a counter in a loop, a nested member,
    a new one): the engine records those outputs as the member over the input's text and renders
    them when the history is stored or read. Every StateExited must show its state's whole
    output, in order, as the next state's input and as the execution's output."""
    rounds = 40
    definition = {'StartAt': 'Count', 'States': {
        'Count': {'Type': 'Pass', 'Parameters': {'n.$': 'States.MathAdd($.count.n, 1)'},
                  'ResultPath': '$.count', 'Next': 'More'},
        'More': {'Type': 'Choice', 'Choices': [
            {'Variable': '$.count.n', 'NumericLessThan': rounds, 'Next': 'Count'}], 'Default': 'Tag'},
        'Tag': {'Type': 'Pass', 'Result': 'q"}{\u00e9', 'ResultPath': '$.meta.tag', 'Next': 'Add'},
        'Add': {'Type': 'Pass', 'Result': {'k': ['}', 1.5, None]}, 'ResultPath': '$.added', 'End': True}}}
    rows = [{'id': i, 'text': 'row "%d" \\ \u00e9\n' % i + 'x' * 40} for i in range(600)]
    payload = {'count': {'n': 0}, 'rows': rows, 'meta': {'keep': True}}
    d = run(sfn, create(sfn, definition), payload)
    assert d['status'] == 'SUCCEEDED', d

    want = json.loads(json.dumps(payload))
    outputs = []
    for n in range(1, rounds + 1):
        want['count'] = {'n': n}
        outputs += [json.dumps(want), json.dumps(want)]  # Count, then More (its input unchanged)
    want['meta']['tag'] = 'q"}{\u00e9'
    outputs.append(json.dumps(want))
    want['added'] = {'k': ['}', 1.5, None]}
    outputs.append(json.dumps(want))

    events = full_history(sfn, d['executionArn'])
    exits = [e['stateExitedEventDetails']['output'] for e in events if e['type'].endswith('StateExited')]
    entries = [e['stateEnteredEventDetails']['input'] for e in events if e['type'].endswith('StateEntered')]
    assert len(exits) == len(outputs)
    for i, (text, expected) in enumerate(zip(exits, outputs)):
        # The whole output, its members in order, as compact text.
        assert json.dumps(json.loads(text)) == expected, i
        assert json.dumps(json.loads(text), separators=(',', ':'), ensure_ascii=False) == text, i
    assert entries[1:] == exits[:-1]
    assert events[-1]['executionSucceededEventDetails']['output'] == exits[-1]
    assert d['output'] == exits[-1]


def test_list_executions_status_filter_and_stop(sfn):
    sm = create(sfn, MODES)
    start = lambda mode: sfn.start_execution(stateMachineArn=sm, name=f'{mode}-{new_name()}',
                                             input=json.dumps({'mode': mode}))['executionArn']
    ok, failed, held, stopped = start('ok'), start('fail'), start('hold'), start('hold')
    assert wait_done(sfn, ok)['status'] == 'SUCCEEDED'
    f = wait_done(sfn, failed)
    assert f['status'] == 'FAILED'
    assert f['error'] == 'Nope' and f['cause'] == 'because'
    wait_until('the held executions to reach their Wait state', lambda: all(
        'WaitStateEntered' in types(full_history(sfn, x)) for x in (held, stopped)))

    s = sfn.stop_execution(executionArn=stopped, error='Halt', cause='by the test')
    assert isinstance(s['stopDate'], datetime.datetime)
    d = wait_done(sfn, stopped)
    assert d['status'] == 'ABORTED'
    hist = full_history(sfn, stopped)
    assert hist[-1]['type'] == 'ExecutionAborted'
    assert hist[-1]['executionAbortedEventDetails'] == {'error': 'Halt', 'cause': 'by the test'}
    assert [e['id'] for e in hist] == list(range(1, len(hist) + 1))

    def listed(**kw):
        out, token = [], None
        while True:
            page = sfn.list_executions(stateMachineArn=sm, maxResults=1, **kw, **({'nextToken': token} if token else {}))
            assert len(page['executions']) <= 1
            out += page['executions']
            token = page.get('nextToken')
            if not token:
                return out

    everything = listed()
    assert sorted(e['executionArn'] for e in everything) == sorted([ok, failed, held, stopped])
    by_arn = {e['executionArn']: e for e in everything}
    assert by_arn[ok]['status'] == 'SUCCEEDED' and by_arn[held]['status'] == 'RUNNING'
    assert by_arn[ok]['stateMachineArn'] == sm and isinstance(by_arn[ok]['startDate'], datetime.datetime)
    for status, want in [('RUNNING', [held]), ('SUCCEEDED', [ok]), ('FAILED', [failed]), ('ABORTED', [stopped]),
                         ('TIMED_OUT', [])]:
        got = [e['executionArn'] for e in listed(statusFilter=status)]
        assert got == want, (status, got)
    sfn.stop_execution(executionArn=held)
    assert wait_done(sfn, held)['status'] == 'ABORTED'


def test_redrive_a_failed_execution(sfn, lam):
    definition = {'StartAt': 'Call', 'States': {'Call': {
        'Type': 'Task', 'Resource': 'arn:aws:states:::lambda:invoke',
        'Parameters': {'FunctionName': 'flaky', 'Payload': {'key.$': '$.key'}},
        'OutputPath': '$.Payload', 'End': True}}}
    sm = create(sfn, definition)
    key = new_name('flaky')
    d = run(sfn, sm, {'key': key})
    assert d['status'] == 'FAILED', d
    assert d['error'] == 'FlakyError'
    assert d.get('redriveCount', 0) == 0
    assert d['redriveStatus'] == 'REDRIVABLE'
    ex = d['executionArn']

    r = sfn.redrive_execution(executionArn=ex)
    assert isinstance(r['redriveDate'], datetime.datetime)
    d = wait_done(sfn, ex)
    assert d['status'] == 'SUCCEEDED', d
    assert json.loads(d['output']) == {'key': key, 'attempt': 2}
    assert d['redriveCount'] == 1
    # DescribeExecution.redriveDate: the date the execution was last redriven
    assert isinstance(d.get('redriveDate'), datetime.datetime), f'no redriveDate in DescribeExecution: {sorted(d)}'

    events = full_history(sfn, ex)
    assert [e['id'] for e in events] == list(range(1, len(events) + 1))
    redriven = [e for e in events if e['type'] == 'ExecutionRedriven']
    assert len(redriven) == 1 and redriven[0]['executionRedrivenEventDetails']['redriveCount'] == 1
    assert types(events).index('ExecutionFailed') < types(events).index('ExecutionRedriven')
    assert events[-1]['type'] == 'ExecutionSucceeded'

    listed = sfn.list_executions(stateMachineArn=sm)['executions']
    assert listed[0]['redriveCount'] == 1 and listed[0]['status'] == 'SUCCEEDED'

    with pytest.raises(ClientError) as e:
        sfn.redrive_execution(executionArn=ex)
    assert code(e) == 'ExecutionNotRedrivable'


def test_list_executions_redrive_filter(sfn, lam):
    # ListExecutions' redriveFilter: REDRIVEN lists the executions redriven at least once,
    # NOT_REDRIVEN the others; with statusFilter both apply; another value is a constraint error.
    definition = {'StartAt': 'Call', 'States': {'Call': {
        'Type': 'Task', 'Resource': 'arn:aws:states:::lambda:invoke',
        'Parameters': {'FunctionName': 'flaky', 'Payload': {'key.$': '$.key'}},
        'OutputPath': '$.Payload', 'End': True}}}
    sm = create(sfn, definition)
    failed = [run(sfn, sm, {'key': new_name('flaky')})['executionArn'] for _ in range(3)]
    redriven = failed[1]
    sfn.redrive_execution(executionArn=redriven)
    assert wait_done(sfn, redriven)['status'] == 'SUCCEEDED'

    def listed(**kw):
        return [e['executionArn'] for e in sfn.list_executions(stateMachineArn=sm, **kw)['executions']]

    assert listed(redriveFilter='REDRIVEN') == [redriven]
    assert listed(redriveFilter='NOT_REDRIVEN') == [failed[2], failed[0]]
    assert listed() == [failed[2], failed[1], failed[0]]
    assert listed(redriveFilter='REDRIVEN', statusFilter='FAILED') == []
    assert listed(redriveFilter='NOT_REDRIVEN', statusFilter='FAILED') == [failed[2], failed[0]]
    page = sfn.list_executions(stateMachineArn=sm, redriveFilter='NOT_REDRIVEN', maxResults=1)
    assert [e['executionArn'] for e in page['executions']] == [failed[2]]
    rest = sfn.list_executions(stateMachineArn=sm, redriveFilter='NOT_REDRIVEN', nextToken=page['nextToken'])
    assert [e['executionArn'] for e in rest['executions']] == [failed[0]]
    status, body, _ = raw_call(sfn.meta.endpoint_url, 'AWSStepFunctions.ListExecutions',
                               json.dumps({'stateMachineArn': sm, 'redriveFilter': 'SOMETIMES'}))
    assert status == 400 and error_type(body) == 'ValidationException', body
    assert body['message'] == ("1 validation error detected: Value 'SOMETIMES' at 'redriveFilter' failed to "
                               "satisfy constraint: Member must satisfy enum value set: [REDRIVEN, NOT_REDRIVEN]")


# ---------------------------------------------------------------- activities and callbacks


def _worker(sfn, activity, behaviour, results):
    """One GetActivityTask long poll, then `behaviour(task)`; records what happened."""
    try:
        task = sfn.get_activity_task(activityArn=activity, workerName='worker-1')
        results.append(('task', task))
        behaviour(task)
    except Exception as err:  # reported by the test thread
        results.append(('error', err))


def _with_worker(sfn, activity, behaviour):
    results = []
    t = threading.Thread(target=_worker, args=(sfn, activity, behaviour, results), daemon=True)
    t.start()
    return t, results


def test_activity_worker_success_failure_and_heartbeat_timeout(sfn):
    name = new_name('act')
    activity = sfn.create_activity(name=name)['activityArn']
    assert re.fullmatch(ACCOUNT_ARN + ':activity:' + re.escape(name), activity), activity
    d = sfn.describe_activity(activityArn=activity)
    assert d['name'] == name and isinstance(d['creationDate'], datetime.datetime)
    assert activity in [a['activityArn'] for a in sfn.list_activities()['activities']]

    sm = create(sfn, {'StartAt': 'Work', 'States': {'Work': {
        'Type': 'Task', 'Resource': activity, 'HeartbeatSeconds': 30, 'TimeoutSeconds': 300, 'End': True}}})

    # success, with a heartbeat on the way
    def succeed(task):
        sfn.send_task_heartbeat(taskToken=task['taskToken'])
        n = json.loads(task['input'])['n']
        sfn.send_task_success(taskToken=task['taskToken'], output=json.dumps({'done': n * 2}))
    t, results = _with_worker(sfn, activity, succeed)
    d = run(sfn, sm, {'n': 21})
    t.join(DEADLINE)
    assert [r[0] for r in results] == ['task'], results
    assert json.loads(results[0][1]['input']) == {'n': 21}
    assert d['status'] == 'SUCCEEDED', d
    assert json.loads(d['output']) == {'done': 42}
    events = full_history(sfn, d['executionArn'])
    assert ['ActivityScheduled', 'ActivityStarted', 'ActivitySucceeded'] == \
        [x for x in types(events) if x.startswith('Activity')]
    started = next(e for e in events if e['type'] == 'ActivityStarted')
    assert started['activityStartedEventDetails']['workerName'] == 'worker-1'
    scheduled = next(e for e in events if e['type'] == 'ActivityScheduled')
    assert scheduled['activityScheduledEventDetails']['resource'] == activity
    assert scheduled['activityScheduledEventDetails']['heartbeatInSeconds'] == 30

    # failure
    def fail(task):
        sfn.send_task_failure(taskToken=task['taskToken'], error='WorkerError', cause='broken')
    t, results = _with_worker(sfn, activity, fail)
    d = run(sfn, sm, {'n': 1})
    t.join(DEADLINE)
    assert [r[0] for r in results] == ['task'], results
    assert d['status'] == 'FAILED' and d['error'] == 'WorkerError' and d['cause'] == 'broken', d
    assert 'ActivityFailed' in types(full_history(sfn, d['executionArn']))

    # the worker takes the task and goes silent: HeartbeatSeconds fails the state
    short = create(sfn, {'StartAt': 'Work', 'States': {'Work': {
        'Type': 'Task', 'Resource': activity, 'HeartbeatSeconds': 1, 'TimeoutSeconds': 300, 'End': True}}})
    t, results = _with_worker(sfn, activity, lambda task: None)
    d = run(sfn, short, {'n': 2})
    t.join(DEADLINE)
    assert d['status'] == 'FAILED', d
    assert d['error'] == 'States.HeartbeatTimeout', d
    assert 'ActivityTimedOut' in types(full_history(sfn, d['executionArn']))
    with pytest.raises(ClientError) as e:
        sfn.send_task_success(taskToken=results[0][1]['taskToken'], output='{}')
    assert code(e) == 'TaskTimedOut'

    with pytest.raises(ClientError) as e:
        sfn.send_task_success(taskToken='not-a-token', output='{}')
    assert code(e) == 'InvalidToken'

    sfn.delete_activity(activityArn=activity)
    with pytest.raises(ClientError) as e:
        sfn.describe_activity(activityArn=activity)
    assert code(e) == 'ActivityDoesNotExist'


def test_wait_for_task_token_round_trip(sfn, lam):
    """`lambda:invoke.waitForTaskToken`: the fake Lambda receives the token; the test answers."""
    sm = create(sfn, {'StartAt': 'Ask', 'States': {'Ask': {
        'Type': 'Task', 'Resource': 'arn:aws:states:::lambda:invoke.waitForTaskToken',
        'Parameters': {'FunctionName': 'hold-token',
                       'Payload': {'key.$': '$.key', 'token.$': '$$.Task.Token', 'order.$': '$.order'}},
        'HeartbeatSeconds': 60, 'End': True}}})

    key = new_name('tok')
    ex = sfn.start_execution(stateMachineArn=sm, input=json.dumps({'key': key, 'order': 7}))['executionArn']
    payload = lam.wait_payload(key)
    assert payload['order'] == 7 and payload['token']
    # the call has returned (TaskSubmitted) before the answer comes, as with a real callback
    wait_until('TaskSubmitted', lambda: 'TaskSubmitted' in types(full_history(sfn, ex)))
    assert sfn.describe_execution(executionArn=ex)['status'] == 'RUNNING'
    sfn.send_task_heartbeat(taskToken=payload['token'])
    sfn.send_task_success(taskToken=payload['token'], output=json.dumps({'approved': True}))
    d = wait_done(sfn, ex)
    assert d['status'] == 'SUCCEEDED', d
    assert json.loads(d['output']) == {'approved': True}
    events = full_history(sfn, ex)
    assert 'TaskSubmitted' in types(events) and 'TaskSucceeded' in types(events)
    scheduled = next(e for e in events if e['type'] == 'TaskScheduled')['taskScheduledEventDetails']
    assert scheduled['resourceType'] == 'lambda' and scheduled['resource'] == 'invoke.waitForTaskToken'

    key = new_name('tok')
    ex = sfn.start_execution(stateMachineArn=sm, input=json.dumps({'key': key, 'order': 8}))['executionArn']
    payload = lam.wait_payload(key)
    wait_until('TaskSubmitted', lambda: 'TaskSubmitted' in types(full_history(sfn, ex)))
    sfn.send_task_failure(taskToken=payload['token'], error='Rejected', cause='no stock')
    d = wait_done(sfn, ex)
    assert d['status'] == 'FAILED' and d['error'] == 'Rejected' and d['cause'] == 'no stock', d
    assert 'TaskFailed' in types(full_history(sfn, ex))


def test_nested_start_execution_sync2(sfn):
    child = create(sfn, {'StartAt': 'Double', 'States': {'Double': {
        'Type': 'Pass', 'Parameters': {'doubled.$': 'States.MathAdd($.x, $.x)'}, 'End': True}}})
    parent = create(sfn, {'StartAt': 'Child', 'States': {'Child': {
        'Type': 'Task', 'Resource': 'arn:aws:states:::states:startExecution.sync:2',
        'Parameters': {'StateMachineArn': child, 'Input': {'x.$': '$.x'}},
        'ResultSelector': {'out.$': '$.Output', 'status.$': '$.Status'}, 'End': True}}})
    d = run(sfn, parent, {'x': 4})
    assert d['status'] == 'SUCCEEDED', d
    # :2 returns the child's Output as JSON, not as a string
    assert json.loads(d['output']) == {'out': {'doubled': 8}, 'status': 'SUCCEEDED'}
    kids = sfn.list_executions(stateMachineArn=child)['executions']
    assert len(kids) == 1 and kids[0]['status'] == 'SUCCEEDED'
    assert 'TaskSucceeded' in types(full_history(sfn, d['executionArn']))


# ---------------------------------------------------------------- versions, aliases, tags


def test_versions_and_aliases(sfn):
    created = sfn.create_state_machine(name=new_name('ver'), definition=json.dumps(pass_machine({'v': 1})),
                                       roleArn=ROLE, publish=True, versionDescription='first')
    sm = created['stateMachineArn']
    v1 = created['stateMachineVersionArn']
    assert v1 == sm + ':1'
    up = sfn.update_state_machine(stateMachineArn=sm, definition=json.dumps(pass_machine({'v': 2})),
                                  publish=True, versionDescription='second')
    v2 = up['stateMachineVersionArn']
    assert v2 == sm + ':2'
    # nothing changed since version 2: publishing again returns it
    assert sfn.publish_state_machine_version(stateMachineArn=sm)['stateMachineVersionArn'] == v2

    versions = sfn.list_state_machine_versions(stateMachineArn=sm)['stateMachineVersions']
    assert [v['stateMachineVersionArn'] for v in versions] == [v2, v1]
    dv1 = sfn.describe_state_machine(stateMachineArn=v1)
    assert json.loads(dv1['definition']) == pass_machine({'v': 1})
    assert dv1.get('description') == 'first'

    alias = sfn.create_state_machine_alias(name='prod', description='live',
                                           routingConfiguration=[{'stateMachineVersionArn': v1, 'weight': 100}])
    alias_arn = alias['stateMachineAliasArn']
    assert alias_arn == sm + ':prod'
    da = sfn.describe_state_machine_alias(stateMachineAliasArn=alias_arn)
    assert da['name'] == 'prod' and da['description'] == 'live'
    assert da['routingConfiguration'] == [{'stateMachineVersionArn': v1, 'weight': 100}]
    assert alias_arn in [a['stateMachineAliasArn']
                         for a in sfn.list_state_machine_aliases(stateMachineArn=sm)['stateMachineAliases']]

    d = run(sfn, alias_arn, {})
    assert json.loads(d['output']) == {'v': 1}
    assert d['stateMachineAliasArn'] == alias_arn and d['stateMachineVersionArn'] == v1
    d = run(sfn, v2, {})
    assert json.loads(d['output']) == {'v': 2}
    assert d['stateMachineVersionArn'] == v2 and 'stateMachineAliasArn' not in d
    d = run(sfn, sm, {})
    assert json.loads(d['output']) == {'v': 2}
    assert 'stateMachineVersionArn' not in d and 'stateMachineAliasArn' not in d

    sfn.update_state_machine_alias(stateMachineAliasArn=alias_arn,
                                   routingConfiguration=[{'stateMachineVersionArn': v2, 'weight': 100}])
    d = run(sfn, alias_arn, {})
    assert json.loads(d['output']) == {'v': 2} and d['stateMachineVersionArn'] == v2

    # a version an alias routes to cannot be deleted
    with pytest.raises(ClientError) as e:
        sfn.delete_state_machine_version(stateMachineVersionArn=v2)
    assert code(e) == 'ConflictException'

    sfn.delete_state_machine_alias(stateMachineAliasArn=alias_arn)
    with pytest.raises(ClientError) as e:
        sfn.describe_state_machine_alias(stateMachineAliasArn=alias_arn)
    assert code(e) == 'ResourceNotFound'
    sfn.delete_state_machine_version(stateMachineVersionArn=v1)
    versions = sfn.list_state_machine_versions(stateMachineArn=sm)['stateMachineVersions']
    assert [v['stateMachineVersionArn'] for v in versions] == [v2]


def test_tags(sfn):
    sm = create(sfn, GREET, tags=[{'key': 'team', 'value': 'core'}])
    tags = lambda arn: sorted((t['key'], t['value']) for t in sfn.list_tags_for_resource(resourceArn=arn)['tags'])
    assert tags(sm) == [('team', 'core')]
    sfn.tag_resource(resourceArn=sm, tags=[{'key': 'env', 'value': 'test'}, {'key': 'team', 'value': 'api'}])
    assert tags(sm) == [('env', 'test'), ('team', 'api')]
    sfn.untag_resource(resourceArn=sm, tagKeys=['team'])
    assert tags(sm) == [('env', 'test')]

    activity = sfn.create_activity(name=new_name('tagged'), tags=[{'key': 'k', 'value': 'v'}])['activityArn']
    assert tags(activity) == [('k', 'v')]

    missing = sm.rsplit(':', 1)[0] + ':' + new_name('missing')
    with pytest.raises(ClientError) as e:
        sfn.tag_resource(resourceArn=missing, tags=[{'key': 'a', 'value': 'b'}])
    assert code(e) == 'ResourceNotFound'


# ---------------------------------------------------------------- errors


def test_error_types_for_bad_requests(sfn, server):
    ep = server.endpoint
    status, body, text = raw_call(ep, 'AWSStepFunctions.NoSuchAction', '{}')
    assert status == 400 and error_type(body) == 'UnknownOperationException', (status, text)

    status, body, text = raw_call(ep, 'AWSStepFunctions.ListStateMachines', '{not json')
    assert status == 400 and error_type(body) == 'SerializationException', (status, text)

    # boto3 validates required members itself: only a raw request can leave one out
    status, body, text = raw_call(ep, 'AWSStepFunctions.StartExecution', '{}')
    assert status == 400 and error_type(body) == 'ValidationException', (status, text)
    assert 'stateMachineArn' in (body.get('message') or body.get('Message') or ''), text

    status, body, text = raw_call(ep, 'AWSStepFunctions.ListStateMachines', '{}')
    assert status == 200 and isinstance(body['stateMachines'], list), (status, text)

    with pytest.raises(ClientError) as e:
        sfn.describe_execution(executionArn='not-an-arn')
    assert code(e) == 'InvalidArn'
    assert e.value.response['ResponseMetadata']['HTTPStatusCode'] == 400
    with pytest.raises(ClientError) as e:
        sfn.describe_state_machine(stateMachineArn='arn:aws:states:us-east-1:111111111111:nonsense:x')
    assert code(e) == 'InvalidArn'

    sm_name = new_name('errs')
    sm = create(sfn, GREET, name=sm_name)
    nowhere = sm.replace(':stateMachine:', ':execution:') + ':' + new_name('nobody')
    for call in (lambda: sfn.describe_execution(executionArn=nowhere),
                 lambda: sfn.get_execution_history(executionArn=nowhere),
                 lambda: sfn.stop_execution(executionArn=nowhere)):
        with pytest.raises(ClientError) as e:
            call()
        assert code(e) == 'ExecutionDoesNotExist'

    gone = sm + 'x'
    with pytest.raises(ClientError) as e:
        sfn.describe_state_machine(stateMachineArn=gone)
    assert code(e) == 'StateMachineDoesNotExist'
    with pytest.raises(ClientError) as e:
        sfn.start_execution(stateMachineArn=gone, input='{}')
    assert code(e) == 'StateMachineDoesNotExist'
