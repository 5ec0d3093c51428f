"""StartSyncExecution and TestState through boto3 and the AWS CLI with no client options, at the
endpoint `stepwise serve` prints (issue 11, item 2).

`tests/e2e/serve_clients.rs` starts the server, reads the endpoint from its start-up line and
passes it as STEPWISE_ENDPOINT (`http://stepwise@127.0.0.1:PORT`). botocore sends these two
actions to the model's `sync-` host prefix, prepended to the URL's authority: with the user part
the request still goes to 127.0.0.1, while the bare `http://127.0.0.1:PORT` becomes
`sync-127.0.0.1`, which does not resolve (checked below, so the endpoint's reason stays true).
"""
import json
import os
import subprocess

import pytest
from botocore.exceptions import EndpointConnectionError

from common import ROLE, client, new_name

ENDPOINT = os.environ.get('STEPWISE_ENDPOINT', '')

GREET = {'StartAt': 'Greet', 'States': {'Greet': {
    'Type': 'Pass', 'Parameters': {'greeting.$': "States.Format('hello {}', $.who)"}, 'End': True}}}


@pytest.fixture(scope='module')
def sfn():
    assert '@' in ENDPOINT, f'serve printed no endpoint with a user part: {ENDPOINT!r}'
    return client(ENDPOINT)


@pytest.fixture(scope='module')
def express(sfn):
    return sfn.create_state_machine(name=new_name('sync'), definition=json.dumps(GREET), roleArn=ROLE,
                                    type='EXPRESS')['stateMachineArn']


def test_boto3_start_sync_execution_at_the_printed_endpoint(sfn, express):
    r = sfn.start_sync_execution(stateMachineArn=express, input=json.dumps({'who': 'boto3'}))
    assert r['status'] == 'SUCCEEDED', r
    assert json.loads(r['output']) == {'greeting': 'hello boto3'}


def test_boto3_test_state_at_the_printed_endpoint(sfn):
    r = sfn.test_state(definition=json.dumps({'Type': 'Pass', 'Result': {'ok': True}, 'End': True}))
    assert r['status'] == 'SUCCEEDED' and json.loads(r['output']) == {'ok': True}, r


def test_the_bare_address_does_not_reach_the_sync_actions(sfn):
    bare = ENDPOINT.replace('stepwise@', '')
    with pytest.raises(EndpointConnectionError) as e:
        client(bare).test_state(definition=json.dumps({'Type': 'Succeed'}))
    assert 'sync-' in str(e.value)


def cli(*args):
    env = dict(os.environ, AWS_ACCESS_KEY_ID='test', AWS_SECRET_ACCESS_KEY='test', AWS_DEFAULT_REGION='us-east-1')
    env.pop('AWS_DISABLE_HOST_PREFIX_INJECTION', None)
    p = subprocess.run(['aws', 'stepfunctions', *args, '--endpoint-url', ENDPOINT, '--output', 'json'],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_aws_cli_start_sync_execution_and_test_state_at_the_printed_endpoint(express):
    r = cli('start-sync-execution', '--state-machine-arn', express, '--input', json.dumps({'who': 'cli'}))
    assert r['status'] == 'SUCCEEDED' and json.loads(r['output']) == {'greeting': 'hello cli'}, r
    r = cli('test-state', '--definition', json.dumps({'Type': 'Pass', 'Next': 'B'}), '--input', '{"a": 1}',
            '--inspection-level', 'DEBUG')
    assert r['status'] == 'SUCCEEDED' and r['nextState'] == 'B', r
    assert json.loads(r['inspectionData']['afterInputPath']) == {'a': 1}
