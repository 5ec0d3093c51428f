"""TestState through boto3 (and the AWS CLI) against `stepwise serve` (issue 11, item 3).

Expected answers are AWS's, from LocalStack's AWS-validated TestState snapshots
(tests/aws/services/stepfunctions/v2/test_state/*.snapshot.json): the same definitions and inputs,
the same `inspectionData` fields, statuses, next states and validation messages.

Run by `tests/e2e/serve_clients.rs` with STEPWISE_ENDPOINT set to the endpoint `serve` prints
(`http://stepwise@127.0.0.1:PORT`), so boto3 reaches TestState without client options.
"""
import json
import os
import re
import subprocess

import pytest
from botocore.exceptions import ClientError

from common import ROLE, Server, client

HELLO = json.dumps({'Value': 'HelloWorld'})
IO_INPUT = json.dumps({'initialData': {'fieldFromInput': 'value from input', 'otherField': 'other'},
                       'unrelatedData': {'someOtherField': 1234}})
IO_PASS = {'Type': 'Pass', 'InputPath': '$.initialData',
           'Parameters': {'staticValue': 'some value', 'inputValue.$': '$.fieldFromInput'},
           'ResultPath': '$.modifiedData', 'End': True}
CHOICE = {'Type': 'Choice', 'Choices': [
    {'Not': {'Variable': '$.type', 'StringEquals': 'Private'}, 'Next': 'Public'},
    {'Variable': '$.value', 'NumericEquals': 0, 'Next': 'ValueIsZero'},
    {'And': [{'Variable': '$.value', 'NumericGreaterThanEquals': 20},
             {'Variable': '$.value', 'NumericLessThan': 30}], 'Next': 'ValueInTwenties'}],
    'Default': 'DefaultState'}
FAIL = {'Type': 'Fail', 'Error': 'SomeFailure', 'Cause': "This state machines raises a 'SomeFailure' failure."}
CATCH_TASK = {'QueryLanguage': 'JSONata', 'Type': 'Task', 'Resource': 'arn:aws:states:::lambda:invoke',
              'Arguments': {'FunctionName': 'foo', 'Payload': 'bar'},
              'Catch': [{'ErrorEquals': ['MockException'], 'Output': '{% $states %}', 'Next': 'HandleMockError'},
                        {'ErrorEquals': ['States.TaskFailed'], 'Output': '{% $states %}',
                         'Next': 'HandleThreshold'}],
              'End': True}
RETRY_TASK = {'QueryLanguage': 'JSONata', 'Type': 'Task', 'Resource': 'arn:aws:states:::lambda:invoke',
              'Arguments': {'FunctionName': 'foo', 'Payload': 'bar'},
              'Retry': [{'ErrorEquals': ['MockException'], 'IntervalSeconds': 1, 'MaxAttempts': 5,
                         'BackoffRate': 2.0}],
              'End': True}
MULTI = {'QueryLanguage': 'JSONata', 'StartAt': 'State0', 'States': {
    'State0': {'Type': 'Pass', 'Next': 'State1'},
    'State1': {'Type': 'Fail', 'Error': 'SomeFailure',
               'Cause': "This state machines raises a 'SomeFailure' failure."}}}
PARALLEL = {'Type': 'Parallel', 'Branches': [
    {'StartAt': 'B1', 'States': {'B1': {'Type': 'Pass', 'End': True}}},
    {'StartAt': 'B2', 'States': {'B2': {'Type': 'Pass', 'End': True}}}], 'End': True}

MAP = {'Type': 'Map', 'ItemsPath': '$.Values', 'ItemProcessor': {
    'ProcessorConfig': {'Mode': 'INLINE'}, 'StartAt': 'P', 'States': {'P': {'Type': 'Pass', 'End': True}}},
    'ResultPath': '$.mapped', 'End': True}


@pytest.fixture(scope='module')
def server():
    s = Server()
    yield s
    s.close()


def sync_safe(endpoint):
    """The endpoint with the user part `serve` prints (`http://stepwise@127.0.0.1:PORT`): botocore's
    `sync-` host prefix for TestState then lands in the user part."""
    return endpoint if '@' in endpoint else endpoint.replace('://', '://stepwise@', 1)


@pytest.fixture(scope='module')
def sfn(server):
    return client(sync_safe(server.endpoint))


def code(excinfo):
    return excinfo.value.response['Error']['Code'], excinfo.value.response['Error']['Message']


def data(r):
    """inspectionData with every JSON text read back."""
    out = {}
    for k, v in r['inspectionData'].items():
        out[k] = json.loads(v) if isinstance(v, str) else v
    return out


def test_info_level_answers_output_and_next_state_only(sfn):
    r = sfn.test_state(definition=json.dumps(CHOICE), roleArn=ROLE, input=json.dumps({'type': 'Private', 'value': 22}))
    assert r['status'] == 'SUCCEEDED' and r['nextState'] == 'ValueInTwenties', r
    assert json.loads(r['output']) == {'type': 'Private', 'value': 22}
    assert 'inspectionData' not in r


def test_debug_shows_each_step_of_a_jsonpath_pass(sfn):
    r = sfn.test_state(definition=json.dumps(IO_PASS), roleArn=ROLE, input=IO_INPUT, inspectionLevel='DEBUG')
    assert r['status'] == 'SUCCEEDED' and 'nextState' not in r, r
    after = {**json.loads(IO_INPUT), 'modifiedData': {'staticValue': 'some value', 'inputValue': 'value from input'}}
    assert data(r) == {
        'input': json.loads(IO_INPUT),
        'afterInputPath': {'fieldFromInput': 'value from input', 'otherField': 'other'},
        'afterParameters': {'staticValue': 'some value', 'inputValue': 'value from input'},
        'afterResultSelector': {'staticValue': 'some value', 'inputValue': 'value from input'},
        'afterResultPath': after,
    }
    assert json.loads(r['output']) == after


def test_debug_of_a_pass_with_a_result_shows_the_result_not_the_input_steps(sfn):
    state = {**IO_PASS, 'Result': {'resultKey': 'result value'}}
    r = sfn.test_state(definition=json.dumps(state), roleArn=ROLE, input=IO_INPUT, inspectionLevel='TRACE')
    after = {**json.loads(IO_INPUT), 'modifiedData': {'resultKey': 'result value'}}
    assert data(r) == {'input': json.loads(IO_INPUT), 'result': {'resultKey': 'result value'},
                       'afterResultSelector': {'resultKey': 'result value'}, 'afterResultPath': after}


def test_debug_of_choice_fail_and_succeed(sfn):
    r = sfn.test_state(definition=json.dumps(CHOICE), roleArn=ROLE, input=json.dumps({'type': 'Private', 'value': 22}),
                       inspectionLevel='DEBUG')
    assert data(r) == {'input': {'type': 'Private', 'value': 22}, 'afterInputPath': {'type': 'Private', 'value': 22}}
    r = sfn.test_state(definition=json.dumps(FAIL), roleArn=ROLE, input=HELLO, inspectionLevel='DEBUG')
    assert (r['status'], r['error'], r['cause']) == ('FAILED', 'SomeFailure', FAIL['Cause']), r
    assert 'output' not in r and 'nextState' not in r
    assert data(r) == {'input': {'Value': 'HelloWorld'}, 'afterInputPath': {'Value': 'HelloWorld'}}
    r = sfn.test_state(definition=json.dumps({'Type': 'Succeed'}), roleArn=ROLE, input=HELLO, inspectionLevel='DEBUG')
    assert r['status'] == 'SUCCEEDED' and data(r) == {'input': {'Value': 'HelloWorld'},
                                                       'afterInputPath': {'Value': 'HelloWorld'}}


def test_a_task_calls_its_resource_and_shows_its_result(sfn, server):
    state = {'Type': 'Task', 'Resource': 'arn:aws:states:::lambda:invoke',
             'Parameters': {'FunctionName': 'echo', 'Payload.$': '$'},
             'ResultSelector': {'echoed.$': '$.Payload'}, 'ResultPath': '$.call', 'Next': 'Done'}
    r = sfn.test_state(definition=json.dumps(state), roleArn=ROLE, input=HELLO, inspectionLevel='DEBUG')
    assert r['status'] == 'SUCCEEDED' and r['nextState'] == 'Done', r
    d = data(r)
    assert d['afterParameters'] == {'FunctionName': 'echo', 'Payload': {'Value': 'HelloWorld'}}
    assert d['result']['Payload'] == {'Value': 'HelloWorld'}
    assert d['afterResultSelector'] == {'echoed': {'Value': 'HelloWorld'}}
    assert d['afterResultPath'] == {'Value': 'HelloWorld', 'call': {'echoed': {'Value': 'HelloWorld'}}}
    assert server.lam is not None and server.lam.calls[-1] == ('echo', {'Value': 'HelloWorld'})
    # Without a mock, a Task needs the role it would run as.
    with pytest.raises(ClientError) as e:
        sfn.test_state(definition=json.dumps(state), input=HELLO)
    assert code(e) == ('ValidationException', 'RoleArn must be specified when testing a Task state')


def test_state_name_picks_a_state_of_a_whole_definition(sfn):
    r = sfn.test_state(definition=json.dumps(MULTI), stateName='State0', input=HELLO, inspectionLevel='DEBUG')
    assert (r['status'], r['nextState'], json.loads(r['output'])) == ('SUCCEEDED', 'State1', {'Value': 'HelloWorld'})
    assert data(r) == {'input': {'Value': 'HelloWorld'}}
    r = sfn.test_state(definition=json.dumps(MULTI), stateName='State1', input=HELLO)
    assert (r['status'], r['error'], r['cause']) == ('FAILED', 'SomeFailure', MULTI['States']['State1']['Cause'])
    for name in ['dne', 'invalid']:
        with pytest.raises(ClientError) as e:
            sfn.test_state(definition=json.dumps(MULTI), stateName=name, input=HELLO)
        assert code(e) == ('ValidationException', 'State not found in definition')
    broken = {'StartAt': 'ExistingButInvalidState',
              'States': {'ExistingButInvalidState': {'Type': 'Invalid', 'End': True}}}
    with pytest.raises(ClientError) as e:
        sfn.test_state(definition=json.dumps(broken), stateName='ExistingButInvalidState', input=HELLO)
    assert code(e)[0] == 'InvalidDefinition' and '/States/ExistingButInvalidState/Type' in code(e)[1], code(e)


def test_a_mocked_error_is_caught_and_a_mocked_result_returned(sfn):
    r = sfn.test_state(definition=json.dumps(CATCH_TASK), input=HELLO, inspectionLevel='DEBUG',
                       mock={'errorOutput': {'error': 'MockException', 'cause': 'Mock the cause of the error.'}})
    assert (r['status'], r['nextState'], r['error'], r['cause']) == (
        'CAUGHT_ERROR', 'HandleMockError', 'MockException', 'Mock the cause of the error.'), r
    out = json.loads(r['output'])
    assert out['errorOutput'] == {'Error': 'MockException', 'Cause': 'Mock the cause of the error.'}
    assert out['input'] == {'Value': 'HelloWorld'} and out['context']['State']['Name'] == 'StateName'
    assert data(r) == {'input': {'Value': 'HelloWorld'}, 'afterArguments': {'FunctionName': 'foo', 'Payload': 'bar'},
                       'errorDetails': {'catchIndex': 0}}
    r = sfn.test_state(definition=json.dumps(CATCH_TASK), input=HELLO, inspectionLevel='DEBUG',
                       mock={'errorOutput': {'error': 'States.TaskFailed', 'cause': 'The task failed.'}})
    assert (r['status'], r['nextState']) == ('CAUGHT_ERROR', 'HandleThreshold')
    assert r['inspectionData']['errorDetails'] == {'catchIndex': 1}
    mocked = {'Payload': 'function output', 'SdkHttpMetadata': {'HttpStatusCode': 200}}
    r = sfn.test_state(definition=json.dumps(CATCH_TASK), input=HELLO, mock={'result': json.dumps(mocked)})
    assert (r['status'], json.loads(r['output'])) == ('SUCCEEDED', mocked), r


def test_a_retry_makes_the_state_retriable_until_its_attempts_are_spent(sfn):
    mock = {'errorOutput': {'error': 'MockException', 'cause': 'Mock the cause of the error.'}}
    r = sfn.test_state(definition=json.dumps(RETRY_TASK), input=json.dumps({'Values': ['first', 'second', 'third']}),
                       inspectionLevel='DEBUG', mock=mock, stateConfiguration={'retrierRetryCount': 4})
    assert (r['status'], r['error'], r['cause']) == ('RETRIABLE', 'MockException', 'Mock the cause of the error.'), r
    assert r['inspectionData']['errorDetails'] == {'retryBackoffIntervalSeconds': 16, 'retryIndex': 0}
    r = sfn.test_state(definition=json.dumps(RETRY_TASK), input=HELLO, inspectionLevel='DEBUG', mock=mock,
                       stateConfiguration={'retrierRetryCount': 5})
    assert (r['status'], r['error']) == ('FAILED', 'MockException'), r
    assert r['inspectionData']['errorDetails'] == {'retryIndex': 0}
    r = sfn.test_state(definition=json.dumps(RETRY_TASK), input=HELLO, inspectionLevel='DEBUG', mock=mock)
    assert r['status'] == 'RETRIABLE'
    assert r['inspectionData']['errorDetails'] == {'retryBackoffIntervalSeconds': 1, 'retryIndex': 0}


def test_variables_are_given_assigned_and_shown(sfn):
    state = {'QueryLanguage': 'JSONata', 'Type': 'Pass',
             'Assign': {'var_constant_1': 10, 'sum': '{% $var_input_value & "-" & $string($sum($states.input.input_values)) %}'},
             'Output': {'ja_var_access': '{% $var_input_value %}', 'ja_expr': '{% $sum($states.input.input_values) + 10 %}',
                        'ja_states_context': '{% $states.context %}'},
             'End': True}
    r = sfn.test_state(definition=json.dumps(state), input=json.dumps({'input_values': [1, 2, 3]}),
                       inspectionLevel='DEBUG', variables=json.dumps({'var_input_value': 'test_value'}))
    assert r['status'] == 'SUCCEEDED', r
    out = json.loads(r['output'])
    ctx = out.pop('ja_states_context')
    assert out == {'ja_var_access': 'test_value', 'ja_expr': 16}
    # As AWS answers: the tested state is "StateName", the execution an express one, no role.
    assert ctx['State']['Name'] == 'StateName' and ctx['Execution']['RoleArn'] is None, ctx
    assert ctx['Execution']['Input'] == {'input_values': [1, 2, 3]}
    assert re.fullmatch(r'arn:aws:states:us-east-1:\d{12}:express:[^:]+:' + re.escape(ctx['Execution']['Name']),
                        ctx['Execution']['Id']), ctx
    assert data(r) == {'input': {'input_values': [1, 2, 3]},
                       'variables': {'var_input_value': 'test_value', 'var_constant_1': 10, 'sum': 'test_value-6'}}
    # JSONPath reads them too.
    r = sfn.test_state(definition=json.dumps({'Type': 'Pass', 'Parameters': {'v.$': '$who'}, 'End': True}),
                       roleArn=ROLE, variables=json.dumps({'who': 'me'}))
    assert json.loads(r['output']) == {'v': 'me'}


def test_the_context_object_comes_from_the_request_with_a_mock(sfn):
    state = {'Type': 'Task', 'Resource': 'arn:aws:states:::lambda:invoke',
             'Parameters': {'FunctionName': 'f', 'Payload': {'Input.$': '$'}},
             'ResultSelector': {'LambdaOutput.$': '$', 'ContextObjectValue.$': '$$'}, 'End': True}
    context = {'Execution': {}, 'State': {}, 'StateMachine': {}}
    r = sfn.test_state(definition=json.dumps(state), input='{}', mock={'result': json.dumps({'pokemon': 'pikachu'})},
                       context=json.dumps(context))
    assert json.loads(r['output']) == {'LambdaOutput': {'pokemon': 'pikachu'}, 'ContextObjectValue': context}, r
    full = {'Execution': {'Id': 'arn:aws:states:::execution:M:e', 'Input': {'values': [1]}, 'Name': 'e'},
            'State': {'Name': 'MyTaskState', 'RetryCount': 0}}
    r = sfn.test_state(definition=json.dumps({**state, 'ResultSelector': {'v.$': '$$.Execution.Input.values'}}),
                       input='{}', mock={'result': '{}'}, context=json.dumps(full))
    assert json.loads(r['output']) == {'v': [1]}
    for ctx, message in [
        ({'Execution': {'Id': 1}}, 'Invalid Context object provided: Execution.Id must be a string'),
        ({'Map': {'Item': {'Index': 0}}}, "Invalid Context object provided: 'Map' field is not supported when mocking a Context object"),
        ({'pokemon': 1}, "Invalid Context object provided: Field 'pokemon' is not allowed"),
        ({'Task': {'Token': 't'}}, "Invalid Context object provided: Context object contains 'Task' when state is not a Task state with a '.sync' or '.waitForTaskToken' service integration pattern"),
    ]:
        with pytest.raises(ClientError) as e:
            sfn.test_state(definition=json.dumps(state), input='{}', mock={'result': '{}'}, context=json.dumps(ctx))
        assert code(e) == ('ValidationException', message)


def test_mocks_are_checked_as_aws_checks_them(sfn):
    cases = [
        (FAIL, {'result': '{}'}, {}, ('ValidationException', "State type 'Fail' is not supported when a mock is specified")),
        ({'Type': 'Pass', 'End': True}, {'errorOutput': {'error': 'E', 'cause': 'C'}}, {},
         ('ValidationException', "State type 'Pass' is not supported when a mock is specified")),
        (CATCH_TASK, {'result': '{}', 'errorOutput': {'error': 'E'}}, {},
         ('ValidationException', 'A test mock should have only one of the following fields: [result, errorOutput].')),
        (CATCH_TASK, {'result': '{}'}, {'revealSecrets': True},
         ('ValidationException', 'TestState does not support RevealSecrets when a mock is specified.')),
        (CATCH_TASK, {'result': 'not json'}, {}, ('ValidationException', 'Mocked result must be valid JSON')),
        (PARALLEL, {'result': '{}'}, {}, ('ValidationException', 'Mocked result must be an array.')),
        (MAP, {'result': '{}'}, {}, ('ValidationException', 'Mocked result must be an array.')),
        (MAP, None, {'roleArn': ROLE}, ('InvalidDefinition',
                                        'TestState API does not support Map or Parallel states. Supported state types include: [Task, Wait, Pass, Succeed, Fail, Choice]')),
        (PARALLEL, {'result': '[1]'}, {}, ('ValidationException',
                                           'Mocked result must contain the same number of items as number of Parallel branches.')),
        (PARALLEL, None, {'roleArn': ROLE}, ('InvalidDefinition',
                                             'TestState API does not support Map or Parallel states. Supported state types include: [Task, Wait, Pass, Succeed, Fail, Choice]')),
        (CATCH_TASK, None, {'stateConfiguration': {'mapIterationFailureCount': 1}},
         ('ValidationException', 'TestState does not support MapIterationFailureCount when a mock is not specified.')),
    ]
    for state, mock, extra, want in cases:
        kw = dict(extra)
        if mock is not None:
            kw['mock'] = mock
        with pytest.raises(ClientError) as e:
            sfn.test_state(definition=json.dumps(state), input=HELLO, **kw)
        assert code(e) == want, (state.get('Type'), mock)


def test_mocked_results_are_checked_against_the_api_output_shape(sfn):
    events = {'Type': 'Task', 'Resource': 'arn:aws:states:::events:putEvents',
              'Parameters': {'Entries.$': '$.Entries'}, 'End': True}
    start = {'Type': 'Task', 'QueryLanguage': 'JSONata', 'Resource': 'arn:aws:states:::states:startExecution',
             'Arguments': {'StateMachineArn': 'arn:aws:states:us-east-1:111111111111:stateMachine:m'},
             'Output': {'targetExecutionResult': '{% $states.result %}'}, 'End': True}
    lam = {'Type': 'Task', 'Resource': 'arn:aws:states:::lambda:invoke',
           'Parameters': {'FunctionName': 'f', 'Payload': None}, 'End': True}
    entries = json.dumps({'Entries': [{'Detail': '{}'}]})
    for state, result, mode, message in [
        (events, {'Entries': 'Entries value should have been a list of entry objects'}, None,
         "Field 'Entries' must be an array"),
        (events, {'Entries': [{'EventId': 'ok'}, {'EventId': ['not a string']}]}, 'PRESENT',
         "Field 'EventId' must be a string"),
        (start, {}, None, "Required field 'ExecutionArn' is missing"),
        (start, {'executionArn': 'a', 'startDate': 'b'}, 'STRICT', "Required field 'ExecutionArn' is missing"),
        (start, {'ExecutionArn': 'a', 'StartDate': 1764103483}, None, "Field 'StartDate' must be a string"),
        (lam, {'StatusCode': '200'}, None, "Field 'StatusCode' must be a number"),
    ]:
        mock = {'result': json.dumps(result)}
        if mode:
            mock['fieldValidationMode'] = mode
        with pytest.raises(ClientError) as e:
            sfn.test_state(definition=json.dumps(state), input=entries, mock=mock)
        assert code(e) == ('ValidationException', f'Mock result schema validation error: {message}'), result
    for state, result, mode in [(events, {'random': 'json'}, None), (events, {}, None),
                                (start, {'executionArn': 'a', 'startDate': 'b'}, 'PRESENT'),
                                (start, {'ExecutionArn': 'a', 'StartDate': True}, 'NONE')]:
        mock = {'result': json.dumps(result)}
        if mode:
            mock['fieldValidationMode'] = mode
        r = sfn.test_state(definition=json.dumps(state), input=entries, mock=mock)
        assert r['status'] == 'SUCCEEDED', (result, r)
    r = sfn.test_state(definition=json.dumps(start), input='{}',
                       mock={'result': json.dumps({'executionArn': 'a', 'startDate': 'b'}), 'fieldValidationMode': 'PRESENT'})
    assert json.loads(r['output']) == {'targetExecutionResult': {'executionArn': 'a', 'startDate': 'b'}}


def test_a_mocked_parallel_or_map_takes_the_mock_as_its_result(sfn):
    state = {**PARALLEL, 'InputPath': '$.parallelInput', 'ResultPath': '$.parallelResult', 'OutputPath': '$'}
    branches = [{'branch1': 'result'}, {'branch2': 'result'}]
    given = {'parallelInput': {'data': 'input_value'}}
    r = sfn.test_state(definition=json.dumps(state), input=json.dumps(given), inspectionLevel='DEBUG',
                       mock={'result': json.dumps(branches)})
    assert r['status'] == 'SUCCEEDED', r
    after = {**given, 'parallelResult': branches}
    assert json.loads(r['output']) == after
    # As AWS reports a mocked Parallel: no input steps, no raw result.
    assert data(r) == {'input': given, 'afterResultSelector': branches, 'afterResultPath': after}
    r = sfn.test_state(definition=json.dumps({**MAP, 'ItemSelector': {'v.$': '$$.Map.Item.Value'}}),
                       input=json.dumps({'Values': [1, 2]}), inspectionLevel='DEBUG',
                       mock={'result': json.dumps(['a', 'b'])})
    assert json.loads(r['output']) == {'Values': [1, 2], 'mapped': ['a', 'b']}, r
    assert data(r) == {'input': {'Values': [1, 2]}, 'afterInputPath': {'Values': [1, 2]}, 'afterItemsPath': [1, 2],
                       'afterItemSelector': [{'v': 1}, {'v': 2}], 'afterResultSelector': ['a', 'b'],
                       'afterResultPath': {'Values': [1, 2], 'mapped': ['a', 'b']}, 'maxConcurrency': 0}
    # AWS's recorded JSONata Map: only the input and the evaluated settings.
    jsonata_map = {'Type': 'Map', 'QueryLanguage': 'JSONata', 'Items': '{% $states.input.Values %}',
                   'ItemProcessor': {'ProcessorConfig': {'Mode': 'INLINE'}, 'StartAt': 'T', 'States': {
                       'T': {'Type': 'Pass', 'End': True}}},
                   'Output': '{% $states %}', 'End': True}
    for extra, want in [({'MaxConcurrency': 1}, {'maxConcurrency': 1}),
                        ({'ToleratedFailurePercentage': 1}, {'maxConcurrency': 0, 'toleratedFailurePercentage': 1.0}),
                        ({'ToleratedFailureCount': 1}, {'maxConcurrency': 0, 'toleratedFailureCount': 1})]:
        r = sfn.test_state(definition=json.dumps({**jsonata_map, **extra}), input=json.dumps({'Values': [1, 2, 3]}),
                           inspectionLevel='DEBUG', mock={'result': json.dumps([1, 1, 1])})
        assert r['status'] == 'SUCCEEDED', r
        assert data(r) == {'input': {'Values': [1, 2, 3]}, **want}, extra
        assert json.loads(r['output'])['result'] == [1, 1, 1]
    # A mocked error goes through the Catch.
    caught = {k: v for k, v in PARALLEL.items() if k != 'End'}
    caught.update({'Next': 'After', 'Catch': [{'ErrorEquals': ['States.ALL'], 'Next': 'Handle'}]})
    r = sfn.test_state(definition=json.dumps(caught), input='{}',
        mock={'errorOutput': {'error': 'Branch.Failed', 'cause': 'b'}})
    assert (r['status'], r['nextState'], r['error']) == ('CAUGHT_ERROR', 'Handle', 'Branch.Failed'), r


def test_aws_cli_test_state_with_a_state_name_and_a_mock(server):
    env = dict(os.environ, AWS_ACCESS_KEY_ID='test', AWS_SECRET_ACCESS_KEY='test', AWS_DEFAULT_REGION='us-east-1')
    definition = {'StartAt': 'Call', 'States': {
        'Call': {'Type': 'Task', 'Resource': 'arn:aws:states:::lambda:invoke', 'Parameters': {'FunctionName': 'f'},
                 'ResultSelector': {'n.$': '$.Payload.n'}, 'Next': 'Done'},
        'Done': {'Type': 'Succeed'}}}
    p = subprocess.run(['aws', 'stepfunctions', 'test-state', '--endpoint-url', sync_safe(server.endpoint), '--output', 'json',
                        '--definition', json.dumps(definition), '--state-name', 'Call', '--input', '{}',
                        '--inspection-level', 'DEBUG',
                        # Lambda's Payload is a blob (text) in its model: a JSON one passes only unchecked.
                        '--mock', json.dumps({'result': json.dumps({'Payload': {'n': 3}}), 'fieldValidationMode': 'NONE'})],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert (r['status'], r['nextState'], json.loads(r['output'])) == ('SUCCEEDED', 'Done', {'n': 3}), r
    assert json.loads(r['inspectionData']['afterResultSelector']) == {'n': 3}


@pytest.mark.skipif(not os.environ.get('STEPWISE_HTTP_CONNECTION'),
                    reason='needs serve started with --http-connections (tests/e2e/serve_clients.rs)')
def test_trace_shows_the_http_request_and_response_secrets_only_when_revealed(sfn, server):
    # The HTTP Task calls the fake Lambda's endpoint (any HTTP server would do), which echoes the body.
    assert server.lam is not None
    port = server.lam.server.server_address[1]
    state = {'Type': 'Task', 'Resource': 'arn:aws:states:::http:invoke', 'Parameters': {
        'ApiEndpoint': f'http://127.0.0.1:{port}/2015-03-31/functions/echo/invocations', 'Method': 'POST',
        'Authentication': {'ConnectionArn': os.environ['STEPWISE_HTTP_CONNECTION']},
        'Headers': {'x-mine': 'm'}, 'RequestBody': {'a.$': '$.a'}},
        'ResultSelector': {'body.$': '$.ResponseBody', 'status.$': '$.StatusCode'}, 'End': True}
    r = sfn.test_state(definition=json.dumps(state), roleArn=ROLE, input='{"a": 1}', inspectionLevel='TRACE')
    assert r['status'] == 'SUCCEEDED', r
    assert json.loads(r['output']) == {'body': {'a': 1}, 'status': 200}
    req, resp = r['inspectionData']['request'], r['inspectionData']['response']
    assert (req['protocol'], req['method']) == ('http', 'POST')
    assert req['url'] == state['Parameters']['ApiEndpoint'] and json.loads(req['body']) == {'a': 1}
    assert 'x-mine: m' in req['headers'] and 'the-secret' not in req['headers'], req
    assert 'x-from-connection' not in req['headers']
    assert (resp['statusCode'], resp['statusMessage'], resp['protocol']) == ('200', 'OK', 'http'), resp
    assert json.loads(resp['body']) == {'a': 1} and 'Content-Type: application/json' in resp['headers']
    r = sfn.test_state(definition=json.dumps(state), roleArn=ROLE, input='{"a": 1}', inspectionLevel='TRACE',
                       revealSecrets=True)
    headers = r['inspectionData']['request']['headers']
    assert 'x-api-key: the-secret' in headers and 'x-from-connection: c' in headers, headers
    # DEBUG shows no exchange.
    r = sfn.test_state(definition=json.dumps(state), roleArn=ROLE, input='{"a": 1}', inspectionLevel='DEBUG')
    assert 'request' not in r['inspectionData'] and 'response' not in r['inspectionData']


def test_error_caused_by_state_names_the_inner_state_that_raised_the_mocked_error(sfn):
    # AWS's recorded answer (test_state_configuration.snapshot.json): the Map fails with the
    # mocked error, and reports the evaluated settings only.
    jsonata_map = {'Type': 'Map', 'QueryLanguage': 'JSONata', 'Items': '{% $states.input.Values %}',
                   'ItemProcessor': {'ProcessorConfig': {'Mode': 'INLINE'}, 'StartAt': 'TestState', 'States': {
                       'TestState': {'Type': 'Pass', 'Next': 'Inner'},
                       'Inner': {'Type': 'Parallel', 'End': True, 'Branches': [
                           {'StartAt': 'Deep', 'States': {'Deep': {'Type': 'Pass', 'End': True}}}]}}},
                   'Output': '{% $states %}', 'End': True}
    mock = {'errorOutput': {'error': 'MockException', 'cause': 'Mock the cause of the error.'}}
    for inner in ['TestState', 'Deep']:
        r = sfn.test_state(definition=json.dumps(jsonata_map), roleArn=ROLE, input=json.dumps({'Values': [1, 1, 1]}),
                           inspectionLevel='DEBUG', mock=mock, stateConfiguration={'errorCausedByState': inner})
        assert (r['status'], r['error'], r['cause']) == ('FAILED', 'MockException', 'Mock the cause of the error.'), r
        assert data(r) == {'input': {'Values': [1, 1, 1]}, 'maxConcurrency': 0}
    # A Parallel's branch states count too; a state the Map or Parallel does not run does not.
    caught = {k: v for k, v in PARALLEL.items() if k != 'End'}
    caught.update({'Next': 'After', 'Catch': [{'ErrorEquals': ['States.ALL'], 'Next': 'Handle'}]})
    r = sfn.test_state(definition=json.dumps(caught), input='{}', stateConfiguration={'errorCausedByState': 'B2'},
                       mock={'errorOutput': {'error': 'Branch.Failed', 'cause': 'b'}})
    assert (r['status'], r['nextState']) == ('CAUGHT_ERROR', 'Handle'), r
    for state, name in [(jsonata_map, 'NotThere'), (caught, 'Handle'), (caught, 'StateName')]:
        with pytest.raises(ClientError) as e:
            sfn.test_state(definition=json.dumps(state), roleArn=ROLE, input=json.dumps({'Values': [1]}), mock=mock,
                           stateConfiguration={'errorCausedByState': name})
        assert code(e) == ('ValidationException',
                           f"ErrorCausedByState '{name}' is not a state of the tested {state['Type']} state."), name
    # Without a mock there is no error to cause; AWS's TestStateStateName is 1 to 80 characters.
    with pytest.raises(ClientError) as e:
        sfn.test_state(definition=json.dumps(jsonata_map), roleArn=ROLE, input='{}',
                       stateConfiguration={'errorCausedByState': 'TestState'})
    assert code(e) == ('ValidationException',
                       'TestState does not support ErrorCausedByState when a mock is not specified.')
    with pytest.raises(ClientError) as e:
        sfn.test_state(definition=json.dumps(jsonata_map), roleArn=ROLE, input='{}', mock=mock,
                       stateConfiguration={'errorCausedByState': 'x' * 81})
    assert code(e) == ('ValidationException', "1 validation error detected: Value at "
                       "'stateConfiguration.errorCausedByState' failed to satisfy constraint: "
                       'Member must have length less than or equal to 80'), code(e)
    # More failed iterations than mocked ones (AWS's recorded refusal).
    with pytest.raises(ClientError) as e:
        sfn.test_state(definition=json.dumps(MAP), roleArn=ROLE, input=json.dumps({'Values': [1, 1, 1]}),
                       mock={'result': '[1, 1, 1]'}, stateConfiguration={'mapIterationFailureCount': 4})
    assert code(e) == ('ValidationException',
                       'Map iteration failure count must be less than or equal to the number of Map iterations')


def test_a_state_inside_a_map_is_tested_by_its_name_and_a_map_reads_items_as_aws_does(sfn):
    machine = {'StartAt': 'State0', 'States': {'State0': {
        'Type': 'Map', 'ItemsPath': '$.Values', 'ToleratedFailureCount': 2, 'End': True,
        'ItemProcessor': {'ProcessorConfig': {'Mode': 'DISTRIBUTED', 'ExecutionType': 'STANDARD'},
                          'StartAt': 'HandleItem', 'States': {'HandleItem': {'Type': 'Pass', 'End': True}}}}}}
    r = sfn.test_state(definition=json.dumps(machine), stateName='HandleItem', input=HELLO, inspectionLevel='DEBUG')
    assert (r['status'], json.loads(r['output'])) == ('SUCCEEDED', {'Value': 'HelloWorld'}), r
    assert 'nextState' not in r
    # The Map itself, with a mocked error: the data up to ItemsPath and the evaluated settings
    # (test_state_machine_with_state_error, recorded).
    r = sfn.test_state(definition=json.dumps(machine), stateName='State0', input=json.dumps({'Values': [1, 2]}),
                       inspectionLevel='DEBUG', stateConfiguration={'errorCausedByState': 'HandleItem'},
                       mock={'errorOutput': {'error': 'MockException', 'cause': 'c'}})
    assert (r['status'], r['error']) == ('FAILED', 'MockException'), r
    assert data(r) == {'input': {'Values': [1, 2]}, 'afterInputPath': {'Values': [1, 2]}, 'afterItemsPath': [1, 2],
                       'maxConcurrency': 0, 'toleratedFailureCount': 2}
    # An ItemsPath that is no array (test_state_map_context_object, recorded): `$$` paths are
    # named from the Context object's root, and nothing past InputPath is shown.
    state = {'Type': 'Map', 'ItemsPath': '$$.Execution.Input', 'MaxConcurrency': 1, 'End': True,
             'ItemProcessor': {'StartAt': 'P', 'States': {'P': {'Type': 'Pass', 'End': True}}}}
    r = sfn.test_state(definition=json.dumps(state), input='["fire"]', inspectionLevel='TRACE',
                       context=json.dumps({'Execution': {'Input': {'values': ['a']}}}), mock={'result': '["A"]'})
    assert (r['status'], r['error'], r['cause']) == (
        'FAILED', 'States.Runtime', 'Reference path "$.Execution.Input" must point to array.'), r
    assert data(r) == {'input': ['fire'], 'afterInputPath': ['fire']}
