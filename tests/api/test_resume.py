"""Resume from any state and start at a state (Stepwise's own actions) against `stepwise serve`.

ResumeExecution and StartExecutionFromState are not in botocore's model: they are sent as
botocore-signed awsJson requests (SigV4 for `states`, as an SDK signs), and through the
`stepwise resume` / `stepwise start` commands. The executions are then read with boto3's own
calls (the histories raw: botocore drops detail fields its model lacks), and each resumed history
is checked event by event.

Run by `tests/e2e/serve_clients.rs` (`resume_through_boto3_against_serve`), or by hand:
`python3 -m pytest tests/api/test_resume.py` after `cargo build -p stepwise` (see common.py).
"""
import json
import subprocess
import urllib.error
import urllib.request

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from common import REGION, ROLE, Server, client, error_type, new_name, stepwise_bin, types, wait_done


@pytest.fixture(scope='session')
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture(scope='session')
def sfn(server):
    return client(server.endpoint)


@pytest.fixture(scope='session')
def call(server):
    """Calls a Stepwise action with a SigV4-signed request; raises botocore's ClientError."""

    def send(action, body):
        data = json.dumps(body)
        req = AWSRequest(method='POST', url=server.endpoint + '/', data=data, headers={
            'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': f'AWSStepFunctions.{action}'})
        SigV4Auth(Credentials('test', 'test'), 'states', REGION).add_auth(req)
        http = urllib.request.Request(req.url, data=data.encode(), method='POST', headers=dict(req.headers.items()))
        try:
            with urllib.request.urlopen(http, timeout=30) as r:
                return json.loads(r.read().decode())
        except urllib.error.HTTPError as e:
            text = e.read().decode()
            parsed = json.loads(text) if text else {}
            raise ClientError({'Error': {'Code': error_type(parsed), 'Message': parsed.get('message', '')},
                               'ResponseMetadata': {'HTTPStatusCode': e.code}}, action)

    return send


@pytest.fixture(scope='session')
def history(call):
    """GetExecutionHistory as the server sends it: botocore's parser drops the detail fields its
    model does not know (the resume's `stateName`, `inputReplaced`, ...)."""

    def read(arn):
        events, token = [], None
        while True:
            body = {'executionArn': arn, **({'nextToken': token} if token else {})}
            page = call('GetExecutionHistory', body)
            events += page['events']
            token = page.get('nextToken')
            if not token:
                return events

    return read


def code(excinfo):
    return excinfo.value.response['Error']['Code']


def message(excinfo):
    return excinfo.value.response['Error']['Message']


def create(sfn, definition):
    return sfn.create_state_machine(name=new_name('sm'), definition=json.dumps(definition),
                                    roleArn=ROLE)['stateMachineArn']


def start(sfn, sm, payload):
    ex = sfn.start_execution(stateMachineArn=sm, input=json.dumps(payload))['executionArn']
    return wait_done(sfn, ex)


def lambda_task(fn_path, nxt=None, **extra):
    t = {'Type': 'Task', 'Resource': 'arn:aws:states:::lambda:invoke',
         'Parameters': {'FunctionName.$': fn_path, 'Payload': {'rows.$': '$.rows', 'batch.$': '$batch'}},
         'ResultSelector': {'loaded.$': '$.Payload'}}
    t.update(extra)
    if nxt:
        t['Next'] = nxt
    else:
        t['End'] = True
    return t


# A three-step job: Extract assigns a variable, Load calls the function the input names.
JOB = {'StartAt': 'Extract', 'States': {
    'Extract': {'Type': 'Pass', 'Parameters': {'rows': [1, 2, 3], 'fn.$': '$.fn'},
                'Assign': {'batch': 'b-7'}, 'Next': 'Load'},
    'Load': lambda_task('$.fn', 'Report'),
    'Report': {'Type': 'Pass', 'Parameters': {'report.$': '$', 'batch.$': '$batch'}, 'End': True}}}


def entered(name, inp):
    return {'name': name, 'input': json.dumps(inp, separators=(',', ':')), 'inputDetails': {'truncated': False}}


def details(e):
    """The one details object of an event (or None)."""
    d = [v for k, v in e.items() if k.endswith('EventDetails')]
    return d[0] if d else None


def resumed_part(events, count):
    """The events from the `count`-th ExecutionRedriven on, as (type, previousEventId, details)."""
    at = [i for i, e in enumerate(events) if e['type'] == 'ExecutionRedriven'][count - 1]
    return [(e['type'], e['previousEventId'], details(e)) for e in events[at:]]


def check_load_failed_again(part, last_id, fn, redrive_count, replaced):
    inp = {'rows': [1, 2, 3], 'fn': fn}
    assert [p[0] for p in part] == ['ExecutionRedriven', 'TaskStateEntered', 'TaskScheduled', 'TaskStarted',
                                    'TaskFailed', 'ExecutionFailed'], part
    assert part[0] == ('ExecutionRedriven', last_id,
                       {'redriveCount': redrive_count, 'stateName': 'Load', 'inputReplaced': replaced})
    assert part[1] == ('TaskStateEntered', last_id + 1, entered('Load', inp))
    sched = part[2][2]
    assert part[2][1] == last_id + 2 and sched['resource'] == 'invoke' and sched['resourceType'] == 'lambda'
    # the variable Extract assigned is there, as it was when Load was entered
    assert json.loads(sched['parameters']) == {'FunctionName': fn, 'Payload': {'rows': [1, 2, 3], 'batch': 'b-7'}}
    assert part[3][1] == last_id + 3
    assert part[4][0] == 'TaskFailed' and part[4][1] == last_id + 4 and part[4][2]['error'] == 'Boom'
    assert part[5] == ('ExecutionFailed', last_id + 5, part[5][2]) and part[5][2]['error'] == 'Boom'


def test_resume_at_the_failed_state_with_recorded_then_new_input(sfn, call, history):
    sm = create(sfn, JOB)
    d = start(sfn, sm, {'fn': 'fail'})
    assert d['status'] == 'FAILED' and d['error'] == 'Boom', d
    ex = d['executionArn']
    first = history(ex)
    assert types(first) == ['ExecutionStarted', 'PassStateEntered', 'PassStateExited', 'TaskStateEntered',
                            'TaskScheduled', 'TaskStarted', 'TaskFailed', 'ExecutionFailed']

    # 1. the recorded input: the function still fails, the history says so event by event
    r = call('ResumeExecution', {'executionArn': ex, 'stateName': 'Load'})
    assert r['redriveCount'] == 1 and isinstance(r['redriveDate'], (int, float))
    d = wait_done(sfn, ex)
    assert d['status'] == 'FAILED' and d['redriveCount'] == 1, d
    events = history(ex)
    assert events[:len(first)] == first
    assert [e['id'] for e in events] == list(range(1, len(events) + 1))
    check_load_failed_again(resumed_part(events, 1), len(first), 'fail', 1, False)

    # 2. a new input (the fix): it succeeds, with the variable kept
    fixed = {'rows': [1, 2, 3], 'fn': 'echo'}
    call('ResumeExecution', {'executionArn': ex, 'stateName': 'Load', 'input': json.dumps(fixed)})
    d = wait_done(sfn, ex)
    assert d['status'] == 'SUCCEEDED', d
    assert d['redriveCount'] == 2 and 'redriveDate' in d
    out = {'report': {'loaded': {'rows': [1, 2, 3], 'batch': 'b-7'}}, 'batch': 'b-7'}
    assert json.loads(d['output']) == out
    events = history(ex)
    part = resumed_part(events, 2)
    last = len(first) + 6
    assert [p[0] for p in part] == ['ExecutionRedriven', 'TaskStateEntered', 'TaskScheduled', 'TaskStarted',
                                    'TaskSucceeded', 'TaskStateExited', 'PassStateEntered', 'PassStateExited',
                                    'ExecutionSucceeded']
    assert [p[1] for p in part] == list(range(last, last + len(part)))
    assert part[0][2] == {'redriveCount': 2, 'stateName': 'Load', 'inputReplaced': True}
    assert part[1][2] == entered('Load', fixed)
    assert part[5][2]['name'] == 'Load' and json.loads(part[5][2]['output']) == {
        'loaded': {'rows': [1, 2, 3], 'batch': 'b-7'}}
    assert part[6][2] == entered('Report', {'loaded': {'rows': [1, 2, 3], 'batch': 'b-7'}})
    assert json.loads(part[8][2]['output']) == out

    # 3. a SUCCEEDED execution only with includeSucceeded
    with pytest.raises(ClientError) as e:
        call('ResumeExecution', {'executionArn': ex, 'stateName': 'Report'})
    assert code(e) == 'ExecutionNotRedrivable' and 'SUCCEEDED' in message(e)
    with pytest.raises(ClientError) as e:
        sfn.redrive_execution(executionArn=ex)
    assert code(e) == 'ExecutionNotRedrivable'
    call('ResumeExecution', {'executionArn': ex, 'stateName': 'Report', 'includeSucceeded': True})
    d = wait_done(sfn, ex)
    assert d['status'] == 'SUCCEEDED' and d['redriveCount'] == 3
    assert json.loads(d['output']) == out
    part = resumed_part(history(ex), 3)
    assert part[0][2] == {'redriveCount': 3, 'stateName': 'Report', 'inputReplaced': False}
    assert [p[0] for p in part] == ['ExecutionRedriven', 'PassStateEntered', 'PassStateExited',
                                    'ExecutionSucceeded']


def test_resume_at_a_state_never_reached(sfn, call, history):
    sm = create(sfn, JOB)
    d = start(sfn, sm, {'fn': 'fail'})
    ex = d['executionArn']
    with pytest.raises(ClientError) as e:
        call('ResumeExecution', {'executionArn': ex, 'stateName': 'Report'})
    assert code(e) == 'ValidationException' and "'Report'" in message(e) and 'input' in message(e)
    call('ResumeExecution', {'executionArn': ex, 'stateName': 'Report', 'input': '{"by": "hand"}'})
    d = wait_done(sfn, ex)
    assert d['status'] == 'SUCCEEDED', d
    # the variables are the run's last ones: Extract's batch
    assert json.loads(d['output']) == {'report': {'by': 'hand'}, 'batch': 'b-7'}
    part = resumed_part(history(ex), 1)
    assert part == [
        ('ExecutionRedriven', 8, {'redriveCount': 1, 'stateName': 'Report', 'inputReplaced': True}),
        ('PassStateEntered', 9, entered('Report', {'by': 'hand'})),
        ('PassStateExited', 10, {'name': 'Report', 'output': '{"report":{"by":"hand"},"batch":"b-7"}',
                                 'outputDetails': {'truncated': False}}),
        ('ExecutionSucceeded', 11, {'output': '{"report":{"by":"hand"},"batch":"b-7"}',
                                    'outputDetails': {'truncated': False}}),
    ]


def test_refused_resumes(sfn, call, history):
    sm = create(sfn, JOB)
    ex = start(sfn, sm, {'fn': 'fail'})['executionArn']
    cases = [
        ({'stateName': 'Nope'}, 'ValidationException', "State 'Nope' does not exist"),
        ({'stateName': 'Load', 'mapIterationIndex': 0}, 'ValidationException', 'not inside a Map'),
        ({'stateName': 'Load', 'mapIterationIndex': -1}, 'ValidationException', 'mapIterationIndex'),
        ({'stateName': 'Load', 'input': '{nope'}, 'InvalidExecutionInput', 'Invalid State Machine Execution Input'),
        ({}, 'ValidationException', 'stateName'),
    ]
    for body, want, text in cases:
        with pytest.raises(ClientError) as e:
            call('ResumeExecution', dict(executionArn=ex, **body))
        assert code(e) == want and text in message(e), (body, code(e), message(e))
    nobody = ex.rsplit(':', 1)[0] + ':' + new_name('nobody')
    with pytest.raises(ClientError) as e:
        call('ResumeExecution', {'executionArn': nobody, 'stateName': 'Load'})
    assert code(e) == 'ExecutionDoesNotExist'
    with pytest.raises(ClientError) as e:
        call('ResumeExecution', {'executionArn': 'not-an-arn', 'stateName': 'Load'})
    assert code(e) == 'InvalidArn'
    # still running
    hold = create(sfn, {'StartAt': 'Hold', 'States': {'Hold': {'Type': 'Wait', 'Seconds': 3600, 'End': True}}})
    running = sfn.start_execution(stateMachineArn=hold)['executionArn']
    with pytest.raises(ClientError) as e:
        call('ResumeExecution', {'executionArn': running, 'stateName': 'Hold'})
    assert code(e) == 'ExecutionNotRedrivable' and 'RUNNING' in message(e)
    # ABORTED can be resumed
    sfn.stop_execution(executionArn=running)
    assert wait_done(sfn, running)['status'] == 'ABORTED'
    call('ResumeExecution', {'executionArn': running, 'stateName': 'Hold'})
    assert sfn.describe_execution(executionArn=running)['status'] == 'RUNNING'
    sfn.stop_execution(executionArn=running)
    # nothing of the refused calls reached the history
    assert types(history(ex)).count('ExecutionRedriven') == 0


def test_resume_inside_a_parallel_branch(sfn, call, history):
    definition = {'StartAt': 'Extract', 'States': {
        'Extract': JOB['States']['Extract'] | {'Next': 'Both'},
        'Both': {'Type': 'Parallel', 'End': True, 'Branches': [
            {'StartAt': 'Count', 'States': {'Count': {'Type': 'Pass', 'Parameters': {'n': 3}, 'End': True}}},
            {'StartAt': 'Prep', 'States': {
                'Prep': {'Type': 'Pass', 'Next': 'Upload'},
                'Upload': lambda_task('$.fn')}}]}}}
    sm = create(sfn, definition)
    d = start(sfn, sm, {'fn': 'fail'})
    assert d['status'] == 'FAILED', d
    ex = d['executionArn']
    n = len(history(ex))
    fixed = {'rows': [1, 2, 3], 'fn': 'echo'}
    call('ResumeExecution', {'executionArn': ex, 'stateName': 'Upload', 'input': json.dumps(fixed)})
    d = wait_done(sfn, ex)
    assert d['status'] == 'SUCCEEDED', d
    # branch 0 did not run again: its recorded result is kept
    assert json.loads(d['output']) == [{'n': 3}, {'loaded': {'rows': [1, 2, 3], 'batch': 'b-7'}}]
    part = resumed_part(history(ex), 1)
    assert [p[0] for p in part] == ['ExecutionRedriven', 'ParallelStateEntered', 'ParallelStateStarted',
                                    'TaskStateEntered', 'TaskScheduled', 'TaskStarted', 'TaskSucceeded',
                                    'TaskStateExited', 'ParallelStateSucceeded', 'ParallelStateExited',
                                    'ExecutionSucceeded']
    assert part[0] == ('ExecutionRedriven', n, {'redriveCount': 1, 'stateName': 'Upload', 'inputReplaced': True,
                                                'branchIndex': 1})
    assert part[1] == ('ParallelStateEntered', n + 1, entered('Both', {'rows': [1, 2, 3], 'fn': 'fail'}))
    assert part[3] == ('TaskStateEntered', n + 3, entered('Upload', fixed))


def test_resume_inside_a_map_iteration(sfn, call, history):
    definition = {'StartAt': 'Extract', 'States': {
        'Extract': {'Type': 'Pass', 'Assign': {'batch': 'b-8'}, 'Next': 'Each'},
        'Each': {'Type': 'Map', 'ItemsPath': '$.items', 'MaxConcurrency': 1, 'End': True, 'ItemProcessor': {
            'StartAt': 'Shape', 'States': {
                'Shape': {'Type': 'Pass', 'Parameters': {'rows.$': '$.rows', 'fn.$': '$.fn'}, 'Next': 'Put'},
                'Put': lambda_task('$.fn')}}}}}
    sm = create(sfn, definition)
    items = [{'rows': [1], 'fn': 'echo'}, {'rows': [2], 'fn': 'fail'}, {'rows': [3], 'fn': 'echo'}]
    d = start(sfn, sm, {'items': items})
    assert d['status'] == 'FAILED', d
    ex = d['executionArn']
    events = history(ex)
    assert 'MapIterationFailed' in types(events)
    with pytest.raises(ClientError) as e:
        call('ResumeExecution', {'executionArn': ex, 'stateName': 'Put'})
    assert code(e) == 'ValidationException' and 'mapIterationIndex' in message(e)
    with pytest.raises(ClientError) as e:
        call('ResumeExecution', {'executionArn': ex, 'stateName': 'Put', 'mapIterationIndex': 7})
    assert code(e) == 'ValidationException' and 'no iteration 7' in message(e)
    call('ResumeExecution', {'executionArn': ex, 'stateName': 'Put', 'mapIterationIndex': 1,
                             'input': json.dumps({'rows': [2], 'fn': 'echo'})})
    d = wait_done(sfn, ex)
    assert d['status'] == 'SUCCEEDED', d
    assert json.loads(d['output']) == [{'loaded': {'rows': [i], 'batch': 'b-8'}} for i in (1, 2, 3)]
    part = resumed_part(history(ex), 1)
    n = len(events)
    assert part[0] == ('ExecutionRedriven', n, {'redriveCount': 1, 'stateName': 'Put', 'inputReplaced': True,
                                                'mapIterationIndex': 1})
    assert part[1] == ('MapStateEntered', n + 1, entered('Each', {'items': items}))
    assert part[2] == ('MapStateStarted', n + 2, {'length': 3})
    # iteration 0 kept its result; 1 starts at Put; 2 runs from the start
    starts = [p[2]['index'] for p in part if p[0] == 'MapIterationStarted']
    assert starts == [1, 2]
    assert part[3] == ('MapIterationStarted', n + 3, {'name': 'Each', 'index': 1})
    assert part[4] == ('TaskStateEntered', n + 4, entered('Put', {'rows': [2], 'fn': 'echo'}))


def test_resume_inside_a_map_iteration_inside_a_parallel_branch(sfn, call, history):
    definition = {'StartAt': 'Extract', 'States': {
        'Extract': {'Type': 'Pass', 'Assign': {'batch': 'b-9'}, 'Next': 'Both'},
        'Both': {'Type': 'Parallel', 'End': True, 'Branches': [
            {'StartAt': 'Count', 'States': {'Count': {'Type': 'Pass', 'Parameters': {'n': 2}, 'End': True}}},
            {'StartAt': 'Prep', 'States': {
                'Prep': {'Type': 'Pass', 'Next': 'Each'},
                'Each': {'Type': 'Map', 'ItemsPath': '$.items', 'MaxConcurrency': 1, 'End': True,
                         'ItemProcessor': {'StartAt': 'Shape', 'States': {
                             'Shape': {'Type': 'Pass', 'Parameters': {'rows.$': '$.rows', 'fn.$': '$.fn'},
                                       'Next': 'Put'},
                             'Put': lambda_task('$.fn')}}}}}]}}}
    sm = create(sfn, definition)
    items = [{'rows': [1], 'fn': 'echo'}, {'rows': [2], 'fn': 'fail'}]
    d = start(sfn, sm, {'items': items})
    assert d['status'] == 'FAILED', d
    ex = d['executionArn']
    n = len(history(ex))
    for body, text in [({'mapIterationIndexes': [1, 0]}, 'inside a Map: name the iteration'),
                       ({}, 'name the iteration'),
                       ({'mapIterationIndex': 2}, "Map 'Each' had 2 iterations"),
                       ({'mapIterationIndex': 1, 'mapIterationIndexes': [1]}, 'not both')]:
        with pytest.raises(ClientError) as e:
            call('ResumeExecution', {'executionArn': ex, 'stateName': 'Put', **body})
        assert code(e) == 'ValidationException' and text in message(e), (body, message(e))
    # a new execution started there, from this one: its finished branch and iteration are kept
    with pytest.raises(ClientError) as e:
        call('StartExecutionFromState', {'stateMachineArn': sm, 'stateName': 'Put', 'mapIterationIndex': 1})
    assert code(e) == 'ValidationException' and 'sourceExecutionArn' in message(e), message(e)
    r = call('StartExecutionFromState', {'stateMachineArn': sm, 'stateName': 'Put', 'mapIterationIndex': 1,
                                         'sourceExecutionArn': ex,
                                         'input': json.dumps({'rows': [7], 'fn': 'echo'})})
    d = wait_done(sfn, r['executionArn'])
    assert d['status'] == 'SUCCEEDED', d
    assert json.loads(d['output']) == [{'n': 2}, [{'loaded': {'rows': [1], 'batch': 'b-9'}},
                                                  {'loaded': {'rows': [7], 'batch': 'b-9'}}]]
    raw = call('DescribeExecution', {'executionArn': r['executionArn']})
    assert raw['startAt'] == 'Put' and raw['sourceExecutionArn'] == ex, raw
    started = history(r['executionArn'])
    assert types(started)[:7] == ['ExecutionStarted', 'ParallelStateEntered', 'ParallelStateStarted',
                                  'MapStateEntered', 'MapStateStarted', 'MapIterationStarted', 'TaskStateEntered']
    assert details(started[0])['startAt'] == 'Put' and json.loads(details(started[0])['input']) == {'items': items}

    # the failed iteration's recorded input at Put, fixed by a new one
    call('ResumeExecution', {'executionArn': ex, 'stateName': 'Put', 'mapIterationIndex': 1,
                             'input': json.dumps({'rows': [2], 'fn': 'echo'})})
    d = wait_done(sfn, ex)
    assert d['status'] == 'SUCCEEDED', d
    # branch 0 and iteration 0 kept their recorded results
    assert json.loads(d['output']) == [{'n': 2}, [{'loaded': {'rows': [i], 'batch': 'b-9'}} for i in (1, 2)]]
    part = resumed_part(history(ex), 1)
    assert [p[0] for p in part] == [
        'ExecutionRedriven', 'ParallelStateEntered', 'ParallelStateStarted', 'MapStateEntered', 'MapStateStarted',
        'MapIterationStarted', 'TaskStateEntered', 'TaskScheduled', 'TaskStarted', 'TaskSucceeded',
        'TaskStateExited', 'MapIterationSucceeded', 'MapStateSucceeded', 'MapStateExited',
        'ParallelStateSucceeded', 'ParallelStateExited', 'ExecutionSucceeded'], part
    assert [p[1] for p in part[:10]] == list(range(n, n + 10))
    assert part[0][2] == {'redriveCount': 1, 'stateName': 'Put', 'inputReplaced': True, 'branchIndex': 1,
                          'mapIterationIndex': 1}
    assert part[1][2] == entered('Both', {'items': items})
    assert part[3][2] == entered('Each', {'items': items})
    assert part[4][2] == {'length': 2}
    assert part[5][2] == {'name': 'Each', 'index': 1}
    assert part[6][2] == entered('Put', {'rows': [2], 'fn': 'echo'})
    sched = json.loads(part[7][2]['parameters'])
    assert sched == {'FunctionName': 'echo', 'Payload': {'rows': [2], 'batch': 'b-9'}}


def test_resume_inside_a_map_in_a_map_names_both_iterations(sfn, server, history):
    definition = {'StartAt': 'Groups', 'States': {'Groups': {
        'Type': 'Map', 'ItemsPath': '$.groups', 'MaxConcurrency': 1, 'End': True, 'ItemProcessor': {
            'StartAt': 'Rows', 'States': {'Rows': {
                'Type': 'Map', 'ItemsPath': '$.items', 'MaxConcurrency': 1, 'End': True, 'ItemProcessor': {
                    'StartAt': 'Put', 'States': {'Put': {
                        'Type': 'Task', 'Resource': 'arn:aws:states:::lambda:invoke', 'End': True,
                        'Parameters': {'FunctionName.$': '$.fn', 'Payload': {'rows.$': '$.rows'}},
                        'ResultSelector': {'loaded.$': '$.Payload.rows'}}}}}}}}}}
    sm = create(sfn, definition)
    groups = [{'items': [{'rows': [1], 'fn': 'echo'}, {'rows': [2], 'fn': 'fail'}]},
              {'items': [{'rows': [3], 'fn': 'echo'}]}]
    d = start(sfn, sm, {'groups': groups})
    assert d['status'] == 'FAILED', d
    ex = d['executionArn']
    n = len(history(ex))
    rc, out, err = cli(server, 'resume', ex, '--from', 'Put', '--iteration', '0')
    assert rc == 1 and 'inside 2 Maps' in err, err
    rc, out, err = cli(server, 'resume', ex, '--from', 'Put', '--iteration', '0', '--iteration', '1',
                       '--input', '{"rows": [2], "fn": "echo"}')
    assert rc == 0, err
    d = wait_done(sfn, ex)
    assert d['status'] == 'SUCCEEDED', d
    assert json.loads(d['output']) == [[{'loaded': [1]}, {'loaded': [2]}], [{'loaded': [3]}]]
    part = resumed_part(history(ex), 1)
    assert [p[0] for p in part][:10] == [
        'ExecutionRedriven', 'MapStateEntered', 'MapStateStarted', 'MapIterationStarted', 'MapStateEntered',
        'MapStateStarted', 'MapIterationStarted', 'TaskStateEntered', 'TaskScheduled', 'TaskStarted'], part
    assert [p[1] for p in part[:10]] == list(range(n, n + 10))
    assert part[0][2] == {'redriveCount': 1, 'stateName': 'Put', 'inputReplaced': True, 'mapIterationIndex': 1}
    assert part[3][2] == {'name': 'Groups', 'index': 0}
    assert part[4][2] == entered('Rows', groups[0])
    assert part[6][2] == {'name': 'Rows', 'index': 1}
    # the second group ran again from its start
    assert [p[2]['index'] for p in part if p[0] == 'MapIterationStarted'] == [0, 1, 1, 0]


def test_start_a_new_execution_at_a_state(sfn, call, history):
    sm = create(sfn, JOB)
    source = start(sfn, sm, {'fn': 'fail'})['executionArn']
    # a new input, no source: no variables
    r = call('StartExecutionFromState', {'stateMachineArn': sm, 'stateName': 'Load',
                                         'input': json.dumps({'rows': [5], 'fn': 'echo'})})
    d = wait_done(sfn, r['executionArn'])
    assert d['status'] == 'FAILED' and d['error'] == 'States.Runtime', d  # $batch is not defined
    events = history(r['executionArn'])
    assert details(events[0])['startAt'] == 'Load' and 'sourceExecutionArn' not in details(events[0])
    raw = call('DescribeExecution', {'executionArn': r['executionArn']})
    assert raw['startAt'] == 'Load' and 'sourceExecutionArn' not in raw, raw
    assert (events[1]['type'], events[1]['previousEventId']) == ('TaskStateEntered', 0)

    # from the source: its recorded input and variables at Load; the link is in the history
    r = call('StartExecutionFromState', {'stateMachineArn': sm, 'stateName': 'Load', 'sourceExecutionArn': source,
                                         'name': new_name('again')})
    d = wait_done(sfn, r['executionArn'])
    assert d['status'] == 'FAILED' and d['error'] == 'Boom', d
    events = history(r['executionArn'])
    assert types(events) == ['ExecutionStarted', 'TaskStateEntered', 'TaskScheduled', 'TaskStarted', 'TaskFailed',
                             'ExecutionFailed']
    started = details(events[0])
    assert json.loads(started['input']) == {'rows': [1, 2, 3], 'fn': 'fail'}
    assert started['startAt'] == 'Load' and started['sourceExecutionArn'] == source
    # the link in DescribeExecution: Stepwise's own members, which boto3 skips without complaint
    raw = call('DescribeExecution', {'executionArn': r['executionArn']})
    assert raw['startAt'] == 'Load' and raw['sourceExecutionArn'] == source, raw
    assert 'sourceExecutionArn' not in d and 'startAt' not in d and d['executionArn'] == r['executionArn']
    # an execution started the usual way has neither
    assert 'startAt' not in call('DescribeExecution', {'executionArn': source})
    assert json.loads(details(events[2])['parameters'])['Payload']['batch'] == 'b-7'

    # a version works as StartExecution's target does
    version = sfn.publish_state_machine_version(stateMachineArn=sm)['stateMachineVersionArn']
    r = call('StartExecutionFromState', {'stateMachineArn': version, 'stateName': 'Load', 'sourceExecutionArn': source,
                                         'input': json.dumps({'rows': [4], 'fn': 'echo'})})
    d = wait_done(sfn, r['executionArn'])
    assert d['status'] == 'SUCCEEDED', d
    assert d.get('stateMachineVersionArn') == version
    assert json.loads(d['output']) == {'report': {'loaded': {'rows': [4], 'batch': 'b-7'}}, 'batch': 'b-7'}

    for body, want, text in [
        ({'stateName': 'Nope'}, 'ValidationException', "State 'Nope' does not exist"),
        ({'stateName': 'Report', 'sourceExecutionArn': source}, 'ValidationException', 'never entered'),
        ({'stateName': 'Load', 'sourceExecutionArn': source + 'x'}, 'ExecutionDoesNotExist', ''),
    ]:
        with pytest.raises(ClientError) as e:
            call('StartExecutionFromState', dict(stateMachineArn=sm, **body))
        assert code(e) == want and text in message(e), (body, code(e), message(e))
    nested = create(sfn, {'StartAt': 'M', 'States': {'M': {'Type': 'Map', 'End': True, 'ItemProcessor': {
        'StartAt': 'In', 'States': {'In': {'Type': 'Pass', 'End': True}}}}}})
    with pytest.raises(ClientError) as e:
        call('StartExecutionFromState', {'stateMachineArn': nested, 'stateName': 'In'})
    assert code(e) == 'ValidationException' and 'top-level' in message(e)


def cli(server, *args):
    p = subprocess.run([stepwise_bin(), *args, '--endpoint-url', server.endpoint], capture_output=True, text=True,
                       timeout=60, env={'AWS_ACCESS_KEY_ID': 'test', 'AWS_SECRET_ACCESS_KEY': 'test',
                                        'AWS_REGION': REGION, 'PATH': '/usr/bin:/bin'})
    return p.returncode, p.stdout, p.stderr


def test_the_commands(sfn, server):
    sm = create(sfn, JOB)
    ex = start(sfn, sm, {'fn': 'fail'})['executionArn']
    rc, out, err = cli(server, 'resume', ex, '--from', 'Nope')
    assert rc == 1 and 'ValidationException' in err and "'Nope'" in err, err
    rc, out, err = cli(server, 'resume', ex, '--from', 'Load', '--input', '{"rows": [9], "fn": "echo"}')
    assert rc == 0, err
    assert json.loads(out)['redriveCount'] == 1
    d = wait_done(sfn, ex)
    assert d['status'] == 'SUCCEEDED', d
    assert json.loads(d['output'])['report'] == {'loaded': {'rows': [9], 'batch': 'b-7'}}
    rc, out, err = cli(server, 'resume', ex, '--from', 'Load')
    assert rc == 1 and 'ExecutionNotRedrivable' in err and 'SUCCEEDED' in err, err
    rc, out, err = cli(server, 'start', sm, '--at', 'Report', '--input', '{"x": 1}', '--source', ex)
    assert rc == 0, err
    new = json.loads(out)['executionArn']
    d = wait_done(sfn, new)
    assert d['status'] == 'SUCCEEDED' and json.loads(d['output']) == {'report': {'x': 1}, 'batch': 'b-7'}, d
    # the CLI shows where it came from
    rc, out, err = cli(server, 'call', 'DescribeExecution', json.dumps({'executionArn': new}))
    assert rc == 0, err
    shown = json.loads(out)
    assert shown['sourceExecutionArn'] == ex and shown['startAt'] == 'Report', shown


def test_history_export_writes_every_event(sfn, server, history):
    # more events than one GetExecutionHistory page (1000): a Map of 400 items, 3 events each
    sm = create(sfn, {'StartAt': 'Each', 'States': {'Each': {
        'Type': 'Map', 'End': True, 'ItemsPath': '$.items',
        'ItemProcessor': {'StartAt': 'One', 'States': {'One': {'Type': 'Pass', 'End': True}}}}}})
    ex = start(sfn, sm, {'items': list(range(400))})['executionArn']
    events = history(ex)
    assert len(events) > 1000
    rc, out, err = cli(server, 'history', 'export', ex)
    assert rc == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines == events
