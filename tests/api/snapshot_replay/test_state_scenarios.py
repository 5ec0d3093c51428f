"""LocalStack's AWS-recorded TestState tests (`tests/aws/services/stepfunctions/v2/test_state/`),
written again as call sequences for replay.py: each scenario makes the recorded test's TestState
calls and matches each answer (or error) under the key the recording has for it.

Left out (they need a service that is not here): `test_base_lambda_task_state` and
`test_base_lambda_service_task_state` call a Lambda function LocalStack creates from its own
handler code; `test_base_inspection_level_info[BASE_MAP_STATE]` recorded nothing.
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATES = json.load(open(os.path.join(HERE, 'data', 'test_state_templates.json')))
ROLE = 'arn:aws:iam::111111111111:role/stepwise-replay'
SERVE_ACCOUNT = '123456789012'
PLACEHOLDER = '%CONTEXT_OBJECT_LITERAL_PLACEHOLDER%'
LEVELS = ['INFO', 'DEBUG', 'TRACE']
HELLO = json.dumps({'Value': 'HelloWorld'})
MOCK_ERROR = {'errorOutput': {'error': 'MockException', 'cause': 'Mock the cause of the error.'}}
MOCK_ERROR_2 = {'errorOutput': {'error': 'MockException', 'cause': 'Mock the error cause.'}}
VALUES = json.dumps({'Values': ['first', 'second', 'third']})

SCENARIOS = {}


def template(name):
    return json.loads(json.dumps(TEMPLATES[name]))


def test_state(sfn, s, key, state, error=None, **kw):
    """One TestState call, matched under `key`: its answer, or with `error` the error in the
    recording's form (see Snapshot.call)."""
    definition = state if isinstance(state, str) else json.dumps(state)
    # The recordings write the caller's account as 111111111111 (LocalStack's account
    # transformer); serve's account for a caller is its configured one.
    s.add(SERVE_ACCOUNT, '111111111111')
    s.call(key, sfn.test_state, error, definition=definition, **kw)


def add(test_id, fn):
    SCENARIOS[test_id] = fn


# ----- test_state_configuration.py

CFG = 'test_state_configuration.py::TestStateConfiguration::'
for level in LEVELS:
    add(f'{CFG}test_map_state_error_caused_by_state[{level}]', lambda sfn, s, level=level: test_state(
        sfn, s, 'test_case_response', template('BASE_MAP_STATE'), roleArn=ROLE, input=json.dumps({'Values': [1, 1, 1]}),
        stateConfiguration={'errorCausedByState': 'TestState'}, inspectionLevel=level, mock=MOCK_ERROR))

    def _with_state_error(sfn, s, level=level):
        for key, n in [('below_tolerated_failure', 0), ('exceeds_tolerated_failure', 2)]:
            test_state(sfn, s, key, template('BASE_MAP_STATE'), roleArn=ROLE, input=VALUES, inspectionLevel=level,
                       stateConfiguration={'mapIterationFailureCount': n, 'errorCausedByState': 'TestState'},
                       mock=MOCK_ERROR_2)
    add(f'{CFG}test_state_configuration_map_iteration_failure_count_with_state_error[{level}]', _with_state_error)

    def _machine_with_state_error(sfn, s, level=level):
        for key, n in [('below_tolerated_failure', 0), ('exceeds_tolerated_failure', 2)]:
            test_state(sfn, s, key, template('BASE_MAP_STATE_MACHINE'), stateName='State0', roleArn=ROLE, input=VALUES,
                       inspectionLevel=level, mock=MOCK_ERROR_2,
                       stateConfiguration={'mapIterationFailureCount': n, 'errorCausedByState': 'HandleItem'})
    add(f'{CFG}test_state_machine_with_state_error[{level}]', _machine_with_state_error)

    reader_input = json.dumps({'Bucket': 'test-bucket', 'Key': 'test-key'})
    add(f'{CFG}test_state_machine_configuration_map_iteration_item_reader[{level}]',
        lambda sfn, s, level=level, reader_input=reader_input: test_state(
            sfn, s, 'test_case_response', template('MAP_ITEM_READER_STATE_MACHINE'), stateName='State0', roleArn=ROLE,
            input=reader_input, stateConfiguration={'mapItemReaderData': json.dumps([1, 2, 3])}, inspectionLevel=level,
            mock={'result': json.dumps([1, 4, 9])}))

    def _reader_with_error(sfn, s, level=level, reader_input=reader_input):
        for key, n in [('below_tolerated_failure', 0), ('exceeds_tolerated_failure', 2)]:
            test_state(sfn, s, key, template('MAP_ITEM_READER_STATE_MACHINE'), stateName='State0', roleArn=ROLE,
                       input=reader_input, inspectionLevel=level, mock=MOCK_ERROR_2,
                       stateConfiguration={'mapIterationFailureCount': n, 'errorCausedByState': 'HandleItem',
                                           'mapItemReaderData': json.dumps([1, 2, 3])})
    add(f'{CFG}test_state_machine_configuration_item_reader_with_error[{level}]', _reader_with_error)

    for name in ['BASE_MAP_STATE', 'BASE_MAP_STATE_CATCH', 'BASE_MAP_STATE_RETRY', 'MAP_TASK_STATE']:
        def _failure_count(sfn, s, level=level, name=name):
            test_state(sfn, s, 'below_tolerated_failure', template(name), roleArn=ROLE, input=VALUES,
                       stateConfiguration={'mapIterationFailureCount': 0}, inspectionLevel=level,
                       mock={'result': json.dumps([1, 1, 1])})
            test_state(sfn, s, 'exceeds_tolerated_failure', template(name), roleArn=ROLE, input=VALUES,
                       stateConfiguration={'mapIterationFailureCount': 2}, inspectionLevel=level,
                       mock={'result': json.dumps([0, 0, 1])})
        add(f'{CFG}test_map_state_failure_count[{level}-{name}]', _failure_count)

for level in ['DEBUG', 'TRACE']:
    def _retrier(sfn, s, level=level):
        for key, n in [('below_tolerated_retry_count_with_backoff', 4), ('exceeds_tolerated_retry_count', 5)]:
            test_state(sfn, s, key, template('BASE_TASK_STATE_RETRY'), roleArn=ROLE, input=VALUES,
                       stateConfiguration={'retrierRetryCount': n}, inspectionLevel=level, mock=MOCK_ERROR)
    add(f'{CFG}test_state_configuration_retrier_retry_count[{level}]', _retrier)

# ----- test_test_state_scenarios.py

SCEN = 'test_test_state_scenarios.py::TestStateCaseScenarios::'
NESTED = json.dumps({'initialData': {'fieldFromInput': 'value from input', 'otherField': 'other'},
                     'unrelatedData': {'someOtherField': 1234}})
BINDINGS = [('BASE_PASS_STATE', HELLO), ('BASE_RESULT_PASS_STATE', HELLO), ('IO_PASS_STATE', NESTED),
            ('IO_RESULT_PASS_STATE', NESTED), ('BASE_FAIL_STATE', HELLO), ('BASE_SUCCEED_STATE', HELLO),
            ('BASE_CHOICE_STATE', json.dumps({'type': 'Private', 'value': 22}))]
for level in LEVELS:
    for name, given in BINDINGS:
        add(f'{SCEN}test_base_inspection_level_{level.lower()}[{name}]',
            lambda sfn, s, level=level, name=name, given=given: test_state(
                sfn, s, 'test_case_response', template(name), roleArn=ROLE, input=given, inspectionLevel=level))
    # EvaluateJsonataTemplate.JSONATA_NUMBER_EXPRESSION
    for field, id_ in [('MaxConcurrency', 'MAX_CONCURRENCY'), ('ToleratedFailurePercentage', 'TOLERATED_FAILURE_PERCENTAGE'),
                       ('ToleratedFailureCount', 'TOLERATED_FAILURE_COUNT')]:
        def _map_inspect(sfn, s, level=level, field=field):
            state = {**template('BASE_MAP_STATE'), field: '{% $variable := 1 %}'}
            test_state(sfn, s, 'test_case_response', state, roleArn=ROLE, input=json.dumps({'Values': [1, 2, 3]}),
                       inspectionLevel=level, mock={'result': json.dumps([1, 1, 1])})
        add(f'{SCEN}test_base_map_state_inspect[{id_}-{level}]', _map_inspect)
        if level == 'TRACE':
            add(f'{SCEN}test_base_map_state_inspect_trace[{id_}]', _map_inspect)

    def _catch(sfn, s, level=level):
        test_state(sfn, s, 'test_catch_mock_exception_response', template('BASE_TASK_STATE_CATCH'), roleArn=ROLE,
                   input=HELLO, inspectionLevel=level, mock=MOCK_ERROR)
        test_state(sfn, s, 'catch_task_failed_response', template('BASE_TASK_STATE_CATCH'), roleArn=ROLE,
                   input=HELLO, inspectionLevel=level,
                   mock={'errorOutput': {'error': 'States.TaskFailed', 'cause': 'The task failed.'}})
    add(f'{SCEN}test_state_task_catch_error[{level}]', _catch)


def _blogpost(sfn, s):
    machine = template('LOCALSTACK_BLOGPOST_SCENARIO_STATE_MACHINE')
    machine['States']['Ask for Approval']['Arguments']['ApiEndpoint'] = 'example.execute-api.us-east-1.amazonaws.com'
    for key, name, given, mock in [
            ('small_purchase_approval_required_response', 'Approval Required', {'cost': 9}, None),
            ('large_purchase_approval_required_response', 'Approval Required', {'cost': 10}, None),
            ('large_purchase_ask_for_approval_response', 'Ask for Approval', {'cost': 10}, {'result': '{"approval": true }'}),
            ('check_approval_granted_response', 'Check Approval',
             {'approval': True, 'approval_code': '2387462', 'approved_by': 'Mary'}, None),
            ('check_approval_denied_response', 'Check Approval', {'approval': False}, None)]:
        kw = {'mock': mock} if mock else {}
        test_state(sfn, s, key, machine, input=json.dumps(given), stateName=name, inspectionLevel='TRACE', **kw)


add(f'{SCEN}test_localstack_blogpost_scenario', _blogpost)
add(f'{SCEN}test_base_lambda_service_task_state_no_role_arn_validation', lambda sfn, s: test_state(
    sfn, s, 'validation_exception', template('BASE_LAMBDA_SERVICE_TASK_STATE'), error='response',
    input=json.dumps({'FunctionName': 'lambda_func_x', 'Payload': None}), inspectionLevel='TRACE'))
for id_, name, variables in [('base_expressions', 'BASE_EXPR', {'var_input_value': 'test_value', 'var_constant_1': 10}),
                             ('empty_variables', 'BASE_LITERALS', {})]:
    add(f'{SCEN}test_state_with_variables[{id_}]', lambda sfn, s, name=name, variables=variables: test_state(
        sfn, s, 'test_case_response', template(name), stateName='State0', input=json.dumps({'input_values': [1, 2, 3]}),
        variables=json.dumps(variables), inspectionLevel='TRACE'))

# ----- test_test_state_mock_scenarios.py

MOCKS = 'test_test_state_mock_scenarios.py::TestStateMockScenarios::'
LAMBDA_INPUT = json.dumps({'FunctionName': 'lambda_func_x', 'Payload': None})
add(f'{MOCKS}test_base_lambda_service_task_mock_is_not_json_string', lambda sfn, s: test_state(
    sfn, s, 'validation-exception', template('BASE_LAMBDA_SERVICE_TASK_STATE'), error='response', input=LAMBDA_INPUT,
    inspectionLevel='INFO', mock={'result': 'not JSON string', 'fieldValidationMode': 'NONE'}))
add(f'{MOCKS}test_base_lambda_service_task_mock_success', lambda sfn, s: test_state(
    sfn, s, 'test_case_response', template('BASE_LAMBDA_SERVICE_TASK_STATE'), input=LAMBDA_INPUT, inspectionLevel='INFO',
    mock={'result': json.dumps({'Payload': 'function output', 'SdkHttpMetadata': {'HttpStatusCode': 200}})}))
for id_, name in [('base', 'BASE_DYNAMODB_SERVICE_TASK_STATE'), ('io', 'IO_DYNAMODB_SERVICE_TASK_STATE'),
                  ('io_output_path', 'IO_OUTPUT_PATH_DYNAMODB_SERVICE_TASK_STATE')]:
    add(f'{MOCKS}test_io_dynamodb_service_task_mock_success[{id_}]', lambda sfn, s, name=name: test_state(
        sfn, s, 'test_case_response', template(name), inspectionLevel='INFO',
        input=json.dumps({'TableName': 'sfn_test_table_x', 'Item': {'data': {'S': 'HelloWorld'}, 'id': {'S': 'id1'}}}),
        mock={'result': json.dumps({'SdkHttpMetadata': {'HttpStatusCode': 200}})}))
ENTRIES = json.dumps({'Entries': [{'Detail': 'detail', 'DetailType': 'detail_type', 'Source': 'source'}]})
add(f'{MOCKS}test_put_events_mock_success', lambda sfn, s: test_state(
    sfn, s, 'test_case_response', template('BASE_EVENTS_PUT_EVENTS_TASK_STATE'), input=ENTRIES, inspectionLevel='INFO',
    mock={'result': json.dumps({'Entries': [{'EventId': '0f2d6a64-8ea2-4b2e-9b7c-2f8fb9b3c1a1'}]})}))
add(f'{MOCKS}test_send_sqs_message_success', lambda sfn, s: test_state(
    sfn, s, 'test_case_response', template('BASE_SQS_SEND_MESSAGE_TASK_STATE'), inspectionLevel='INFO',
    input=json.dumps({'QueueUrl': 'queue_url', 'MessageBody': 'message_body'}),
    mock={'result': json.dumps({'MD5OfMessageBody': 'ebe4a1e5d2e9a5ea2b9b8a8a3b4d9f2c',
                                'MessageId': '5f9d0c4e-2b1a-4c8e-9a6f-0d3b2e1c4a5b'})}))
TARGET = 'arn:aws:states:us-east-1:111111111111:stateMachine:TargetStateMachine'
START_INPUT = json.dumps({'stateMachineArn': TARGET, 'targetInput': None, 'name': 'TestStartTarget'})


def _start_execution(sfn, s):
    s.add('2026-01-01T00:00:00.000000', 'start-date')
    test_state(sfn, s, 'test_case_response', template('BASE_SFN_START_EXECUTION_TASK_STATE'), input=START_INPUT,
               inspectionLevel='INFO', mock={'result': json.dumps({
                   'ExecutionArn': TARGET.replace(':stateMachine:', ':execution:') + ':TestStartTarget',
                   'StartDate': '2026-01-01T00:00:00.000000'})})


add(f'{MOCKS}test_sfn_start_execution_success', _start_execution)
BRANCHES = json.dumps([{'branch1': 'result'}, {'branch2': 'result'}])
for level in LEVELS:
    for test, name, given in [('test_base_parallel_state_mock_success', 'BASE_PARALLEL_STATE', {'key': 'value'}),
                              ('test_io_parallel_state_mock_success', 'IO_PARALLEL_STATE',
                               {'parallelInput': {'data': 'input_value'}}),
                              ('test_io_jsonata_parallel_state_mock_success', 'IO_JSONATA_PARALLEL_STATE',
                               {'parallelInput': {'data': 'input_value'}})]:
        add(f'{MOCKS}{test}[{level}]', lambda sfn, s, level=level, name=name, given=given: test_state(
            sfn, s, 'test_case_response', template(name), input=json.dumps(given), inspectionLevel=level,
            mock={'result': BRANCHES}))

# ----- test_test_state_machine_scenarios.py

MACHINES = 'test_test_state_machine_scenarios.py::TestStateMachineScenarios::'
for level in LEVELS:
    for name, state in [('BASE_PASS_STATE_MACHINE', 'State0'), ('BASE_FAIL_STATE_MACHINE', 'State0'),
                        ('BASE_MAP_STATE_MACHINE', 'HandleItem')]:
        add(f'{MACHINES}test_base_state_name[{level}-{name}]', lambda sfn, s, level=level, name=name, state=state: test_state(
            sfn, s, 'test_case_response', template(name), stateName=state, input=HELLO, inspectionLevel=level))
    for state in ['State0', 'State1']:
        add(f'{MACHINES}test_base_state_name_multi_state[{level}-{state}]', lambda sfn, s, level=level, state=state: test_state(
            sfn, s, 'test_case_response', template('BASE_MULTI_STATE_MACHINE'), stateName=state, input=HELLO,
            inspectionLevel=level))
for id_, state in [('dne', 'dne'), ('invalid', '"invalid"'), ('empty', '')]:
    add(f'{MACHINES}test_base_state_name_validation_failures[{id_}]', lambda sfn, s, state=state: test_state(
        sfn, s, 'exception', template('BASE_PASS_STATE_MACHINE'), error='exception', stateName=state, input=HELLO,
        inspectionLevel='INFO'))
add(f'{MACHINES}test_state_name_invalid_state_definition', lambda sfn, s: test_state(
    sfn, s, 'validation_exception', template('BASE_INVALID_STATE_DEFINITION'), error='response',
    stateName='ExistingButInvalidState', input=HELLO, inspectionLevel='INFO'))

# ----- test_state_mock_validation.py

MV = 'test_state_mock_validation.py::TestStateMockValidation::'
for mock_id, mock in [('mock_result', {'result': json.dumps({'mock': 'the unmockable'})}),
                      ('mock_error_output', {'errorOutput': {'error': 'Error', 'cause': 'Cause'}})]:
    for id_, name in [('PassState', 'BASE_PASS_STATE'), ('FailState', 'BASE_FAIL_STATE'),
                      ('SucceedState', 'BASE_SUCCEED_STATE')]:
        add(f'{MV}test_state_type_does_not_accept_mock[{mock_id}-{id_}]', lambda sfn, s, name=name, mock=mock: test_state(
            sfn, s, 'validation_exception', template(name), error='response', inspectionLevel='TRACE', mock=mock))
for id_, name in [('MapState', 'BASE_MAP_STATE'), ('MapTaskState', 'MAP_TASK_STATE'), ('ParallelState', 'BASE_PARALLEL_STATE')]:
    add(f'{MV}test_state_type_requires_mock[{id_}]', lambda sfn, s, name=name: test_state(
        sfn, s, 'validation_exception', template(name), error='response', inspectionLevel='TRACE'))
for test, name, kw in [
        ('test_both_mock_result_and_mock_error_output_are_set', 'BASE_LAMBDA_SERVICE_TASK_STATE',
         {'mock': {'result': json.dumps({'mock': 'response'}), 'errorOutput': {'error': 'Error', 'cause': 'Cause'}}}),
        ('test_reveal_secrets_is_true_and_mock_result_is_set', 'BASE_LAMBDA_SERVICE_TASK_STATE',
         {'mock': {'result': json.dumps({'mock': 'response'})}, 'revealSecrets': True}),
        ('test_mock_result_is_not_array_on_map_state_without_result_writer', 'BASE_MAP_STATE',
         {'mock': {'result': json.dumps({'mock': 'array is expected but object is provided instead'})}}),
        ('test_mock_result_is_not_object_on_map_state_with_result_writer', 'BASE_MAP_STATE_WITH_RESULT_WRITER',
         {'mock': {'result': json.dumps(['object is expected but array is provided instead'])}}),
        ('test_mock_result_is_not_array_on_parallel_state', 'BASE_PARALLEL_STATE',
         {'mock': {'result': json.dumps({'mock': 'array is expected but object is provided instead'})}}),
        ('test_mock_result_array_size_mismatch_on_parallel_state', 'BASE_PARALLEL_STATE',
         {'mock': {'result': json.dumps([{'branch1': 'result'}])}}),
        ('test_parallel_state_empty_branches', {'Type': 'Parallel', 'Branches': [], 'End': True},
         {'mock': {'result': '[]'}}),
        ('test_map_iteration_failure_count_without_mock', 'BASE_MAP_STATE',
         {'roleArn': ROLE, 'stateConfiguration': {'mapIterationFailureCount': 0}, 'inspectionLevel': 'INFO'}),
        ('test_map_iteration_failure_count_exceeds_mock_result_items', 'BASE_MAP_STATE',
         {'roleArn': ROLE, 'input': json.dumps({'Values': [1, 1, 1]}), 'inspectionLevel': 'INFO',
          'stateConfiguration': {'mapIterationFailureCount': 4}, 'mock': {'result': json.dumps([1, 1, 1])}})]:
    add(f'{MV}{test}', lambda sfn, s, name=name, kw=kw: test_state(
        sfn, s, 'validation_exception', template(name) if isinstance(name, str) else name, error='response',
        **{'inspectionLevel': 'TRACE', **kw}))

# ----- test_state_context_object.py

CTX = 'test_state_context_object.py::TestStateContextObject::'
FULL = {'Execution': {'Id': 'arn:aws:states:::execution:MyStateMachine:execution-name-12345',
                      'Input': {'input-value': 0, 'message': 'test data', 'values': ['charizard', 'pikachu', 'bulbasaur']},
                      'Name': 'execution-name-12345', 'RoleArn': 'arn:aws:iam:::role/StepFunctionsRole',
                      'StartTime': '2025-01-15T10:30:00.000Z'},
        'State': {'EnteredTime': '2025-01-15T10:30:01.500Z', 'Name': 'MyTaskState', 'RetryCount': 0},
        'StateMachine': {'Id': 'arn:aws:states:::stateMachine:MyStateMachine', 'Name': 'MyStateMachine'}}
WITH_TASK = {**FULL, 'Task': {'Token': 'abcd123'}}
LAMBDA_CALL = json.dumps({'FunctionName': 'lambda_function_name', 'Payload': {'input-value': 0}})
POKEMON = json.dumps({'pokemon': ['charizard', 'pikachu', 'bulbasaur']})


def context_state(name, literal):
    return json.dumps(template(name)['States']['TestState']).replace(PLACEHOLDER, literal)


for id_, literal in [('ALL', '$$'), ('EXECUTION_INPUT', '$$.Execution.Input'),
                     ('EXECUTION_INPUT_VALUES', '$$.Execution.Input.values')]:
    add(f'{CTX}test_state_task_context_object[{id_}]', lambda sfn, s, literal=literal: test_state(
        sfn, s, 'test_case_response', context_state('CONTEXT_OBJECT_RESULT_PATH', literal), input=LAMBDA_CALL,
        inspectionLevel='TRACE', context=json.dumps(FULL), mock={'result': POKEMON}))
    add(f'{CTX}test_state_map_context_object[{id_}]', lambda sfn, s, literal=literal: test_state(
        sfn, s, 'test_case_response', context_state('CONTEXT_OBJECT_ITEMS_PATH', literal),
        input=json.dumps(['fire', 'electricity', 'grass']), inspectionLevel='TRACE', context=json.dumps(FULL),
        mock={'result': json.dumps(['CHARIZARD', 'PIKACHU', 'BULBASAUR'])}))


def _wait_task(sfn, s):
    state = template('IO_SQS_SERVICE_TASK_WAIT')
    state['Parameters']['QueueUrl'] = 'https://sqs.us-east-1.amazonaws.com/111111111111/test-queue'
    test_state(sfn, s, 'test_case_response', state, inspectionLevel='TRACE', context=json.dumps(WITH_TASK),
               mock={'result': POKEMON})


add(f'{CTX}test_state_wait_task_context_object', _wait_task)
for id_, name, ctx in [('TOKEN_TASK_NOT_SYNC', 'CONTEXT_OBJECT_RESULT_PATH', WITH_TASK),
                       ('INVALID_STATE_PASS', 'CONTEXT_OBJECT_INPUT_PATH', FULL)]:
    add(f'{CTX}test_state_context_object_invalid_states[{id_}]', lambda sfn, s, name=name, ctx=ctx: test_state(
        sfn, s, 'exception', context_state(name, '$$'), error='exception', input=json.dumps(['fire', 'electricity', 'grass']),
        inspectionLevel='TRACE', context=json.dumps(ctx),
        mock={'result': json.dumps({'pokemon': ['CHARIZARD', 'PIKACHU', 'BULBASAUR']})}))
for id_, ctx in [('INVALID_EXECUTION_ID_TYPE', {'Execution': {'Id': 1}}), ('INVALID_MAP', {'Map': {}}),
                 ('INVALID_EXECUTION_FIELD', {'Execution': {'pokemon': 'squirtle'}}), ('INVALID_FIELD', {'Pokedex': {}})]:
    add(f'{CTX}test_state_context_object_validation_failures[{id_}]', lambda sfn, s, ctx=ctx: test_state(
        sfn, s, 'exception', template('BASE_SFN_START_EXECUTION_TASK_STATE'), error='exception',
        input=json.dumps({'stateMachineArn': 'arn', 'targetInput': None, 'name': 'exec_name'}), inspectionLevel='TRACE',
        context=json.dumps(ctx), mock={'result': json.dumps({'ExecutionArn': 'exec_arn', 'StartDate': '2026-01-01T00:00:00'})}))
for id_, ctx in [('EMPTY_OBJECTS', {'Execution': {}, 'State': {}, 'StateMachine': {}}), ('EMPTY', {})]:
    add(f'{CTX}test_state_context_object_edge_cases[{id_}]', lambda sfn, s, ctx=ctx: test_state(
        sfn, s, 'test_case_response', context_state('CONTEXT_OBJECT_RESULT_PATH', '$$'), input=LAMBDA_CALL,
        inspectionLevel='TRACE', context=json.dumps(ctx), mock={'result': json.dumps({'pokemon': 'pikachu'})}))

# ----- test_field_validation_mode*.py: one TestState call each, at INFO, with a mocked result.

SFN_IN = START_INPUT
CASES = {
    'events': ('BASE_EVENTS_PUT_EVENTS_TASK_STATE', ENTRIES),
    'sfn': ('BASE_SFN_START_EXECUTION_TASK_STATE', SFN_IN),
    'lambda': ('BASE_LAMBDA_SERVICE_TASK_STATE', json.dumps({'FunctionName': 'function_name', 'Payload': None})),
    'dynamodb': ('BASE_DYNAMODB_SERVICE_TASK_STATE',
                 json.dumps({'TableName': 'table_name', 'Item': {'data': {'S': 'HelloWorld'}, 'id': {'S': 'id1'}}})),
    's3': ('BASE_AWS_SDK_S3_GET_OBJECT_TASK_STATE', json.dumps({'Bucket': 'bucket_name', 'Key': 'file_key'})),
    'kms': ('BASE_AWS_SDK_KMS_ENCRYPT_TASK_STATE', json.dumps({'KeyId': 'key_id', 'Plaintext': 'plain_text'})),
    'lambda_get': ('BASE_AWS_SDK_LAMBDA_GET_FUNCTION', json.dumps({'FunctionName': 'function_name'})),
}
EVENTS_BAD = [({'Entries': 'Entries value should have been a list of entry objects'}, 'wrong_type_top_level_field'),
              ({'Entries': [{'EventId': ['EventId value should have been a string not a list of strings']}]},
               'wrong_type_nested_field'),
              ({'Entries': [{'EventId': 'First eventId has correct type: string'},
                            {'EventId': ['Second eventId has incorrect type: array']}]}, 'wrong_type_2nd_array_element')]
NOT_IN_SPEC = [({'random': 'json'}, 'field_not_part_of_api_spec'), ({}, 'empty_json')]
COMMON_BAD = [
    ('lambda_task', 'lambda', {'StatusCode': '200'}, 'wrong_integer_type_string'),
    ('dynamodb_task', 'dynamodb', {'ConsumedCapacity': {'CapacityUnits': '123.45'}}, 'wrong_float_type_string'),
    ('aws_sdk_s3_task', 's3', {'ContentLength': '9000'}, 'wrong_long_type_string'),
    ('aws_sdk_s3_task', 's3', {'StorageClass': 'Papyrus'}, 'non_existent_enum_value'),
    ('aws_sdk_kms_task', 'kms', {'CiphertextBlob': 123}, 'wrong_blob_type_number'),
    ('aws_sdk_kms_task', 'kms', {'CiphertextBlob': ''}, 'wrong_blob_length_less_than_minimum'),
    ('aws_sdk_lambda_get_function_task', 'lambda_get', {'Configuration': {'MemorySize': 127}},
     'integer_less_than_minimum_allowed'),
    ('aws_sdk_lambda_get_function_task', 'lambda_get', {'Configuration': {'MemorySize': 10241}},
     'integer_more_than_maximum_allowed')]


def field_case(case, result, mode, key, error=None):
    name, given = CASES[case]
    mock = {'result': json.dumps(result)}
    if mode:
        mock['fieldValidationMode'] = mode
    return lambda sfn, s: test_state(sfn, s, key, template(name), error=error, input=given, inspectionLevel='INFO',
                                     mock=mock)


for file, cls, prefix, mode in [('test_field_validation_mode.py', 'TestFieldValidationMode', 'strict', None),
                                ('test_field_validation_mode_present.py', 'TestFieldValidationModePresent', 'present',
                                 'PRESENT')]:
    base = f'{file}::{cls}::test_{prefix}_mode_'
    for result, id_ in NOT_IN_SPEC:
        add(f'{base}mock_result_field_not_in_api_spec[{id_}]', field_case('events', result, mode, 'test_case_response'))
    for result, id_ in EVENTS_BAD:
        add(f'{base}eventbridge_task[{id_}]', field_case('events', result, mode, 'validation-exception', 'response'))
    for test, case, result, id_ in COMMON_BAD:
        add(f'{base}{test}[{id_}]', field_case(case, result, mode, 'validation-exception', 'response'))
STRICT = 'test_field_validation_mode.py::TestFieldValidationMode::test_strict_mode_sfn_task'
for result, id_ in [({}, 'missing_required_fields'),
                    ({'executionArn': 'stringValueExecutionArn', 'startDate': 'stringValueStartDate'},
                     'field_name_not_in_sfn_case'),
                    ({'ExecutionArn': 'stringValueExecutionArn', 'StartDate': True}, 'wrong_timestamp_type_bool'),
                    ({'ExecutionArn': 'stringValueExecutionArn', 'StartDate': 1764103483}, 'wrong_timestamp_type_number')]:
    add(f'{STRICT}[{id_}]', field_case('sfn', result, None, 'validation-exception', 'response'))
PRESENT = 'test_field_validation_mode_present.py::TestFieldValidationModePresent::test_present_mode_sfn_task_validation_'
for result, id_ in [({}, 'missing_required_fields'),
                    ({'executionArn': 'stringValueExecutionArn', 'startDate': 'stringValueStartDate'},
                     'field_name_not_in_sfn_case')]:
    add(f'{PRESENT}pass[{id_}]', field_case('sfn', result, 'PRESENT', 'test_state_response'))
for result, id_ in [({'StartDate': True}, 'wrong_timestamp_type_bool'), ({'ExecutionArn': 1764103483}, 'wrong_string_type_number')]:
    add(f'{PRESENT}fail[{id_}]', field_case('sfn', result, 'PRESENT', 'validation-exception', 'response'))
NONE = 'test_field_validation_mode_none.py::TestFieldValidationModeNone::test_none_mode_sfn_task'
for result, id_ in [({}, 'missing_required_fields'),
                    ({'ExecutionArn': 'stringValueExecutionArn', 'StartDate': True}, 'wrong_timestamp_type_bool')]:
    add(f'{NONE}[{id_}]', field_case('sfn', result, 'NONE', 'test_state_response'))
