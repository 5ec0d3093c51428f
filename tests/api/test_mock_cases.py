"""Step Functions Local's mock test cases (`stateMachineArn#TestCase`) through boto3 against
`stepwise serve --mock-config` (issue 11, item 6): a test case that does not exist, or an empty
one, is refused at StartExecution, not at the first mocked Task; without a mock configuration a
`#` makes the ARN invalid, as on AWS; and after a redrive the mocked task takes the
next scripted response (the count carries on, as the resume tests of the serverless home rely on).

Each test starts its own servers (from STEPWISE_BIN), with and without a mock configuration.
"""

import json
import os
import tempfile

import pytest
from botocore.exceptions import ClientError

from common import ROLE, Server, client, new_name, wait_done

DEFINITION = {
    'StartAt': 'Charge',
    'States': {
        'Charge': {'Type': 'Task', 'Resource': 'arn:aws:states:::lambda:invoke',
                   'Parameters': {'FunctionName': 'charge', 'Payload.$': '$'}, 'End': True},
    },
}


def mock_config(machine_name):
    return {
        'StateMachines': {machine_name: {'TestCases': {
            'Declined': {'Charge': 'CardDeclined'},
            'Paid': {'Charge': 'Charged'},
        }}},
        'MockedResponses': {
            # declined once, paid at the next invocation (after a redrive: the count carries on)
            'CardDeclined': {'0': {'Throw': {'Error': 'Payment.Declined', 'Cause': 'card declined'}},
                             '1': {'Return': {'StatusCode': 200, 'Payload': {'paid': True}}}},
            'Charged': {'0': {'Return': {'StatusCode': 200, 'Payload': {'paid': True}}}},
        },
    }


@pytest.fixture
def mocked():
    name = new_name('mocked')
    path = os.path.join(tempfile.mkdtemp(prefix='stepwise-mock-'), 'MockConfigFile.json')
    with open(path, 'w') as f:
        json.dump(mock_config(name), f)
    server = Server(extra_args=['--mock-config', path], own=True)
    sfn = client(server.endpoint)
    arn = sfn.create_state_machine(name=name, definition=json.dumps(DEFINITION), roleArn=ROLE)['stateMachineArn']
    yield sfn, arn
    server.close()


def error_of(call):
    with pytest.raises(ClientError) as e:
        call()
    return e.value.response['Error']['Code'], e.value.response['Error']['Message']


def test_an_unknown_test_case_is_refused_at_start(mocked):
    sfn, arn = mocked
    code, message = error_of(lambda: sfn.start_execution(stateMachineArn=f'{arn}#NoSuchCase'))
    assert code == 'InvalidName', message
    assert "'NoSuchCase'" in message, message
    # nothing was started
    assert sfn.list_executions(stateMachineArn=arn)['executions'] == []
    code, _ = error_of(lambda: sfn.start_execution(stateMachineArn=f'{arn}#'))
    assert code == 'InvalidArn'
    # a defined test case runs with its mock
    ok = sfn.start_execution(stateMachineArn=f'{arn}#Paid')['executionArn']
    d = wait_done(sfn, ok)
    assert d['status'] == 'SUCCEEDED', d
    assert json.loads(d['output'])['Payload'] == {'paid': True}


def test_a_test_case_without_a_mock_configuration_is_an_invalid_arn():
    server = Server(own=True)
    try:
        sfn = client(server.endpoint)
        arn = sfn.create_state_machine(name=new_name('plain'), definition=json.dumps(DEFINITION),
                                       roleArn=ROLE)['stateMachineArn']
        code, message = error_of(lambda: sfn.start_execution(stateMachineArn=f'{arn}#Paid'))
        assert code == 'InvalidArn', message
        assert sfn.list_executions(stateMachineArn=arn)['executions'] == []
    finally:
        server.close()


def test_a_redriven_mocked_task_takes_the_next_response(mocked):
    sfn, arn = mocked
    ex = sfn.start_execution(stateMachineArn=f'{arn}#Declined')['executionArn']
    d = wait_done(sfn, ex)
    assert (d['status'], d.get('error')) == ('FAILED', 'Payment.Declined'), d
    sfn.redrive_execution(executionArn=ex)
    d = wait_done(sfn, ex)
    # The count carries on across the redrive: invocation 1's response, so a test case scripts
    # a failure before a redrive and a success after it.
    assert d['redriveCount'] == 1
    assert d['status'] == 'SUCCEEDED', d
    assert json.loads(d['output'])['Payload'] == {'paid': True}
