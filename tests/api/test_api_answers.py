"""What the API answers where AWS's recordings and reference say it answers otherwise than Stepwise
did (issue 11, items 8 and 9), through boto3 against `stepwise serve`:

- a Map whose iteration fails records MapIterationAborted and TaskStateAborted for the siblings
  still running, every closing event following the failure's last event (LocalStack's AWS
  recording `test_timeouts::test_service_lambda_map_timeout`);
- DeleteStateMachine with an execution running leaves the machine DELETING (StartExecution
  refused with StateMachineDeleting) until the execution ends, then it is gone;
- DescribeStateMachine's `variableReferences` and `encryptionConfiguration`
  (`test_sfn_api_variable_references`' recordings);
- malformed execution ARNs are InvalidArn, worded as AWS words a missing `arn:` prefix;
- a 1 MB header or a 60 MB body gets an HTTP error with an error type, not a reset connection.
"""
import json
import time

import pytest
from botocore.exceptions import ClientError

from common import ROLE, Server, client, full_history, new_name, types, wait_done, wait_until


@pytest.fixture(scope='module')
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture(scope='module')
def sfn(server):
    return client(server.endpoint)


def create(sfn, definition, **kw):
    return sfn.create_state_machine(name=new_name('sm'), definition=json.dumps(definition), roleArn=ROLE,
                                    **kw)['stateMachineArn']


def error(excinfo):
    return excinfo.value.response['Error']['Code'], excinfo.value.response['Error']['Message']


def test_a_failed_map_iteration_aborts_the_running_siblings(sfn, server):
    if server.lam is None:
        pytest.fail('the server needs --lambda-endpoint for this test')
    # Nothing polls the activity: iterations 1 and 2 still wait on it when iteration 0 fails.
    activity = sfn.create_activity(name=new_name('nobody'))['activityArn']
    sm = create(sfn, {'StartAt': 'M', 'States': {'M': {
        'Type': 'Map', 'End': True, 'ItemProcessor': {'StartAt': 'Which', 'States': {
            'Which': {'Type': 'Choice', 'Choices': [{'Variable': '$', 'NumericEquals': 0, 'Next': 'Fails'}],
                      'Default': 'Waits'},
            'Fails': {'Type': 'Task', 'Resource': 'arn:aws:states:::lambda:invoke',
                      'Parameters': {'FunctionName': 'fail', 'Payload.$': '$'}, 'End': True},
            'Waits': {'Type': 'Task', 'Resource': activity, 'End': True}}}}}})
    ex = sfn.start_execution(stateMachineArn=sm, input='[0, 1, 2]')['executionArn']
    assert wait_done(sfn, ex)['status'] == 'FAILED'
    events = full_history(sfn, ex)
    failed = next(e for e in events if e['type'] == 'TaskFailed')
    tail = [(e['type'], e['previousEventId'], e.get('mapIterationAbortedEventDetails', {}).get('index'))
            for e in events if e['id'] > failed['id']]
    f = failed['id']
    assert tail == [
        ('MapIterationFailed', f, None),
        ('TaskStateAborted', f, None),
        ('MapIterationAborted', f, 1),
        ('TaskStateAborted', f, None),
        ('MapIterationAborted', f, 2),
        ('TaskStateAborted', f, None),
        ('MapStateFailed', f, None),
        ('ExecutionFailed', f + 7, None),
    ]
    # Every iteration started while the others ran follows MapStateStarted.
    started = next(e['id'] for e in events if e['type'] == 'MapStateStarted')
    assert [e['previousEventId'] for e in events if e['type'] == 'MapIterationStarted'] == [started] * 3


def test_a_sequential_map_starts_the_next_iteration_after_the_last_state_event(sfn):
    sm = create(sfn, {'StartAt': 'M', 'States': {'M': {
        'Type': 'Map', 'MaxConcurrency': 1, 'End': True, 'ItemProcessor': {'StartAt': 'P', 'States': {
            'P': {'Type': 'Pass', 'End': True}}}}}})
    ex = sfn.start_execution(stateMachineArn=sm, input='[1, 2]')['executionArn']
    assert wait_done(sfn, ex)['status'] == 'SUCCEEDED'
    shape = [(e['type'], e['id'], e['previousEventId']) for e in full_history(sfn, ex)]
    assert shape[6:] == [
        ('MapIterationSucceeded', 7, 6),
        ('MapIterationStarted', 8, 6),
        ('PassStateEntered', 9, 8),
        ('PassStateExited', 10, 9),
        ('MapIterationSucceeded', 11, 10),
        ('MapStateSucceeded', 12, 11),
        ('MapStateExited', 13, 11),
        ('ExecutionSucceeded', 14, 13),
    ]


def test_delete_with_a_running_execution_is_deleting_until_it_ends(sfn):
    sm = create(sfn, {'StartAt': 'W', 'States': {'W': {'Type': 'Wait', 'Seconds': 2, 'End': True}}})
    ex = sfn.start_execution(stateMachineArn=sm)['executionArn']
    sfn.delete_state_machine(stateMachineArn=sm)
    assert sfn.describe_state_machine(stateMachineArn=sm)['status'] == 'DELETING'
    with pytest.raises(ClientError) as e:
        sfn.start_execution(stateMachineArn=sm)
    assert error(e)[0] == 'StateMachineDeleting'
    assert wait_done(sfn, ex)['status'] == 'SUCCEEDED'
    wait_until('the state machine is gone', lambda: _gone(sfn, sm))
    # An idle machine goes at once.
    idle = create(sfn, {'StartAt': 'P', 'States': {'P': {'Type': 'Pass', 'End': True}}})
    sfn.delete_state_machine(stateMachineArn=idle)
    assert _gone(sfn, idle)


def _gone(sfn, sm):
    try:
        sfn.describe_state_machine(stateMachineArn=sm)
        return False
    except ClientError as e:
        return e.response['Error']['Code'] == 'StateMachineDoesNotExist'


def test_describe_shows_variable_references_and_encryption(sfn):
    definition = {'StartAt': 'Setup', 'States': {
        'Setup': {'Type': 'Pass', 'Assign': {'guess': 'a', 'answer': 'b', 'items': [1]}, 'Next': 'Check'},
        'Check': {'Type': 'Choice', 'Choices': [
            {'Variable': '$guess', 'StringEqualsPath': '$answer', 'Next': 'Each'}], 'Default': 'Each'},
        'Each': {'Type': 'Map', 'ItemsPath': '$items', 'End': True, 'ItemProcessor': {'StartAt': 'In', 'States': {
            'In': {'Type': 'Pass', 'Parameters': {'g.$': '$guess', 'literal': '$answer'}, 'End': True}}}}}}
    sm = create(sfn, definition)
    d = sfn.describe_state_machine(stateMachineArn=sm)
    assert {k: sorted(v) for k, v in d['variableReferences'].items()} == {
        'Check': ['answer', 'guess'], 'Each': ['items'], 'In': ['guess']}
    assert d['encryptionConfiguration'] == {'type': 'AWS_OWNED_KEY'}
    ex = sfn.start_execution(stateMachineArn=sm)['executionArn']
    wait_done(sfn, ex)
    for_ex = sfn.describe_state_machine_for_execution(executionArn=ex)
    assert for_ex['variableReferences'] == d['variableReferences']
    assert for_ex['encryptionConfiguration'] == {'type': 'AWS_OWNED_KEY'}
    plain = create(sfn, {'StartAt': 'P', 'States': {'P': {'Type': 'Pass', 'End': True}}})
    assert 'variableReferences' not in sfn.describe_state_machine(stateMachineArn=plain)
    # Given at create and update, it is kept and shown.
    key = {'type': 'CUSTOMER_MANAGED_KMS_KEY', 'kmsKeyId': 'alias/mine', 'kmsDataKeyReusePeriodSeconds': 120}
    own = create(sfn, {'StartAt': 'P', 'States': {'P': {'Type': 'Pass', 'End': True}}},
                 encryptionConfiguration=key)
    assert sfn.describe_state_machine(stateMachineArn=own)['encryptionConfiguration'] == key
    sfn.update_state_machine(stateMachineArn=own, encryptionConfiguration={'type': 'AWS_OWNED_KEY'})
    assert sfn.describe_state_machine(stateMachineArn=own)['encryptionConfiguration'] == {'type': 'AWS_OWNED_KEY'}
    with pytest.raises(ClientError) as e:
        sfn.update_state_machine(stateMachineArn=own, encryptionConfiguration={
            'type': 'AWS_OWNED_KEY', 'kmsDataKeyReusePeriodSeconds': 1000})
    assert error(e)[0] == 'ValidationException'


@pytest.mark.parametrize('arn', [
    'invalid_state_machine_arn',
    'arn:aws:states:us-east-1:111111111111:execution:sm:name:extra',
    'arn:aws:states:::execution:sm:name',
    'arn:aws:states:us-east-1:12:execution:sm:name',
])
def test_malformed_execution_arns_are_invalid_arns(sfn, arn):
    for call in (sfn.describe_execution, sfn.get_execution_history, sfn.stop_execution):
        with pytest.raises(ClientError) as e:
            call(executionArn=arn)
        code, message = error(e)
        assert code == 'InvalidArn', (call, message)
        if not arn.startswith('arn:'):
            assert message == f"Invalid Arn: 'Invalid ARN prefix: {arn}'"


def test_a_huge_header_or_body_gets_an_error_answer(server):
    big = client(server.endpoint)

    def add_header(request, **_):
        request.headers['X-Padding'] = 'a' * (1024 * 1024)

    big.meta.events.register('before-send.sfn.ListStateMachines', add_header)
    with pytest.raises(ClientError) as e:
        big.list_state_machines()
    assert e.value.response['ResponseMetadata']['HTTPStatusCode'] == 400
    assert error(e)[0] == 'ValidationException'
    sfn = client(server.endpoint)
    sm = create(sfn, {'StartAt': 'P', 'States': {'P': {'Type': 'Pass', 'End': True}}})
    with pytest.raises(ClientError) as e:
        sfn.start_execution(stateMachineArn=sm, input=json.dumps({'x': 'a' * (60 * 1024 * 1024)}))
    assert e.value.response['ResponseMetadata']['HTTPStatusCode'] == 413
    assert error(e)[0] == 'RequestEntityTooLargeException'
    # The server still answers.
    assert sfn.describe_state_machine(stateMachineArn=sm)['status'] == 'ACTIVE'


def test_deleting_an_activity_fails_the_executions_waiting_on_it(sfn):
    activity = sfn.create_activity(name=new_name('going'))['activityArn']
    sm = create(sfn, {'StartAt': 'ActivityTask', 'States': {
        'ActivityTask': {'Type': 'Task', 'Resource': activity, 'End': True}}})
    waiting = sfn.start_execution(stateMachineArn=sm)['executionArn']
    wait_until('the activity task is scheduled', lambda: any(
        e['type'] == 'ActivityScheduled' for e in full_history(sfn, waiting)))
    sfn.delete_activity(activityArn=activity)
    d = wait_done(sfn, waiting)
    assert (d['status'], d['error']) == ('FAILED', 'States.Runtime')
    assert d['cause'] == ("An error occurred while executing the state 'ActivityTask' (entered at the event id "
                          f"#2). The activity {activity} does not exist.")
    # Started after the deletion: the same.
    later = sfn.start_execution(stateMachineArn=sm)['executionArn']
    d = wait_done(sfn, later)
    assert (d['status'], d['error']) == ('FAILED', 'States.Runtime')
    assert types(full_history(sfn, later))[-1] == 'ExecutionFailed'


def test_a_wait_for_task_token_heartbeat_expiry_is_states_timeout(sfn, server):
    if server.lam is None:
        pytest.fail('the server needs --lambda-endpoint for this test')
    sm = create(sfn, {'StartAt': 'Hold', 'States': {'Hold': {
        'Type': 'Task', 'Resource': 'arn:aws:states:::lambda:invoke.waitForTaskToken', 'HeartbeatSeconds': 1,
        'Parameters': {'FunctionName': 'hold-token', 'Payload': {'key': new_name('hb'), 'token.$': '$$.Task.Token'}},
        'End': True}}})
    ex = sfn.start_execution(stateMachineArn=sm)['executionArn']
    d = wait_done(sfn, ex)
    assert (d['status'], d['error']) == ('FAILED', 'States.Timeout')
    timed_out = [e for e in full_history(sfn, ex) if e['type'] == 'TaskTimedOut']
    assert timed_out[0]['taskTimedOutEventDetails']['error'] == 'States.Timeout'


def test_test_state_map_iteration_failure_count_past_the_tolerated_fails_the_map(server):
    # LocalStack's AWS recording test_state_configuration::test_map_state_failure_count
    # [BASE_MAP_STATE_CATCH]: a mocked Map with ToleratedFailureCount 1.
    sfn = client(server.endpoint.replace('://', '://stepwise@', 1))
    state = {'Type': 'Map', 'QueryLanguage': 'JSONata', 'Items': '{% $states.input.Values %}',
             'ToleratedFailureCount': 1,
             'ItemProcessor': {'ProcessorConfig': {'Mode': 'DISTRIBUTED', 'ExecutionType': 'STANDARD'},
                               'StartAt': 'P', 'States': {'P': {'Type': 'Pass', 'End': True}}},
             'Catch': [{'ErrorEquals': ['States.ExceedToleratedFailureThreshold'], 'Next': 'Handle'}],
             'End': True}
    args = dict(definition=json.dumps(state), roleArn=ROLE, input=json.dumps({'Values': [1, 2, 3]}),
                inspectionLevel='DEBUG', mock={'result': '[1, 1, 1]'})
    below = sfn.test_state(stateConfiguration={'mapIterationFailureCount': 1}, **args)
    assert below['status'] == 'SUCCEEDED', below
    over = sfn.test_state(stateConfiguration={'mapIterationFailureCount': 2}, **args)
    assert (over['status'], over['error'], over['cause']) == (
        'CAUGHT_ERROR', 'States.ExceedToleratedFailureThreshold',
        'The specified tolerated failure threshold was exceeded'), over
    assert over['nextState'] == 'Handle'
    assert over['inspectionData']['errorDetails'] == {'catchIndex': 0}
