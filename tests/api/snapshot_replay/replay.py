"""Replays LocalStack's AWS-recorded Step Functions API snapshot tests against a Step Functions
endpoint (`stepwise serve`) with boto3, and compares each answer with what AWS answered.

    python3 replay.py --endpoint-url http://127.0.0.1:8083 [-v] [-k SUBSTRING]

Each scenario below is the call sequence of one LocalStack test (`tests/aws/services/
stepfunctions/v2/test_sfn_api*.py`, `activities/test_activities.py`), written again without
LocalStack's fixtures; `data/` holds the recordings (see data/SOURCE.md). A recording is matched
as LocalStack's snapshot library matches it: each value the test registers (a role, an activity
ARN) is replaced by the word the recording has for it, JSON text is read as JSON, a `<...>` part
of a recorded string (`<uuid:1>`, `<ArnPart_0idx>`, `<region>`) matches any text, a timestamp
matches the recorded word for it, and ResponseMetadata is left out but for its status code.
Fields AWS added after a recording was made (`encryptionConfiguration`, `variableReferences`,
`redriveCount`) are not counted against it.

It prints one line per difference and `N of M recorded tests matched`; `KNOWN` names the tests
that differ for a reason the recording shows, each with that reason; the exit status is 1 when a
test outside KNOWN differs (so a change that breaks a matched test fails the e2e test).
"""
import argparse
import datetime
import json
import os
import re
import sys
import time
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from test_state_scenarios import SCENARIOS as TEST_STATE_SCENARIOS

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, 'data')
ACCOUNT = '111111111111'
ROLE = f'arn:aws:iam::{ACCOUNT}:role/stepwise-replay'
V2 = 'tests/aws/services/stepfunctions/v2/'

# Tests that differ from their recording, and why (from the recording itself).
KNOWN = {
    'test_sfn_api_variable_references.py::TestSfnApiVariableReferences::'
    'test_base_variable_references_in_assign_templates[BASE_REFERENCE_IN_WAIT]':
        'The recording is not what ran: its definition shows "startAt": "date" and "TimestampPath": '
        '"timestamp" where the template has a timestamp and "$startAt" (the recorder replaced both), '
        'while its variableReferences (WaitUntilState: [startAt]) is that of "$startAt". The '
        'variableReferences match.',
    'test_sfn_api_logs.py::TestSnfApiLogs::test_deleted_log_group':
        'AWS checks the CloudWatch Logs group exists ("Log Destination not found."); Stepwise '
        'has no CloudWatch Logs to ask, so it accepts the configuration.',
    'test_activities.py::TestActivities::test_activity_task_on_deleted':
        'AWS fails the Task before scheduling it (TaskStateEntered, then ExecutionFailed); the '
        'engine schedules the activity task before the store, which knows the activity is gone, '
        'answers, so Stepwise records ActivityScheduled between them (same error and cause).',
}

# Lambda raised MemorySize's maximum after these were recorded (2025-12-03: 10240); the model
# Stepwise checks mocked results against (botocore 1.44.8) allows up to 32768, so 10241 passes.
for _f, _c in [('test_field_validation_mode.py', 'TestFieldValidationMode::test_strict'),
               ('test_field_validation_mode_present.py', 'TestFieldValidationModePresent::test_present')]:
    KNOWN[f'{_f}::{_c}_mode_aws_sdk_lambda_get_function_task[integer_more_than_maximum_allowed]'] = (
        "The recording predates Lambda's larger functions: AWS's model then had MemorySize at most 10240, "
        'the current one (botocore 1.44.8, which Stepwise checks mocked results against) 32768, so 10241 is '
        'within it. The check itself is the recorded one (127 is refused as less than the minimum value).')

LATE_FIELDS = {
    # field: the date AWS started answering with it (recordings made before do not have it)
    'encryptionConfiguration': datetime.date(2024, 7, 1),
    'variableReferences': datetime.date(2024, 11, 1),
    'redriveCount': datetime.date(2023, 11, 15),
    'redriveStatus': datetime.date(2023, 11, 15),
    'redriveStatusReason': datetime.date(2023, 11, 15),
}

TEMPLATES = json.load(open(os.path.join(DATA, 'templates.json')))


def template(name):
    return json.loads(json.dumps(TEMPLATES[name]))


def short_uid():
    return uuid.uuid4().hex[:8]


# ------------------------------------------------------------------ comparing


TIMESTAMP = re.compile(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?')


def json_value(text):
    """The JSON a text holds when it is a JSON array or object, else None."""
    if not text.lstrip().startswith(('[', '{')):
        return None
    try:
        return (json.loads(text),)
    except ValueError:
        return None


def placeholder_regex(recorded):
    parts = re.split(r'(<[^<>]*>)', recorded)
    return re.compile(''.join('.*?' if p.startswith('<') and p.endswith('>') else re.escape(p)
                              for p in parts), re.S)


class Snapshot:
    """One test's matches: what the test recorded under each key, compared with the recording."""

    def __init__(self, recorded, recorded_date):
        self.recorded = recorded
        self.date = recorded_date
        self.replacements = []  # (actual text, recorded word), applied in order
        self.diffs = []

    def add(self, actual, word):
        self.replacements.append((actual, word))

    def call(self, key, fn, refused=None, **kw):
        """Makes one request, `fn(**kw)`, and matches under `key` its answer or, where AWS
        refused it, the error in the form the recording keeps: `response` (the error response
        of a service error), `exception` (type name and text, botocore's own refusals too) or
        `error` (the error's text)."""
        try:
            answer = fn(**kw)
        except ClientError as e:
            if refused is None:
                raise
            return self.match(key, e.response if refused == 'response' else exception(e) if refused == 'exception' else e)
        except Exception as e:  # botocore's own checks (ParamValidationError) fail before sending
            if refused not in ('exception', 'error'):
                raise
            return self.match(key, exception(e) if refused == 'exception' else e)
        if refused:
            self.diffs.append(f'{key}: {fn.__name__} answered {json.dumps(answer, default=str)[:200]} where AWS refused')
            return None
        return self.match(key, answer)

    def match(self, key, actual):
        if key not in self.recorded:
            self.diffs.append(f'{key}: not in the recording')
            return
        self.compare(key, self.prepare(actual), self.recorded[key])

    def prepare(self, v):
        if isinstance(v, BaseException):
            v = str(v)
        if isinstance(v, dict):
            return {k: self.prepare(x) for k, x in v.items()}
        if isinstance(v, list):
            return [self.prepare(x) for x in v]
        if isinstance(v, str):
            for actual, word in self.replacements:
                v = v.replace(actual, word)
        return v

    def compare(self, path, actual, recorded):
        if isinstance(recorded, (dict, list)) and isinstance(actual, str):
            try:
                actual = json.loads(actual)
            except ValueError:
                pass
        if isinstance(recorded, dict):
            if not isinstance(actual, dict):
                return self.diffs.append(f'{path}: {json.dumps(actual, default=str)[:200]} != {json.dumps(recorded)[:200]}')
            for k, rv in recorded.items():
                if k == 'ResponseMetadata':
                    got = actual.get(k, {}).get('HTTPStatusCode')
                    if 'HTTPStatusCode' in rv and got != rv['HTTPStatusCode']:
                        self.diffs.append(f'{path}.{k}.HTTPStatusCode: {got} != {rv["HTTPStatusCode"]}')
                    continue
                if k not in actual:
                    self.diffs.append(f'{path}.{k}: missing (recorded {json.dumps(rv)[:120]})')
                    continue
                self.compare(f'{path}.{k}', actual[k], rv)
            for k in actual:
                if k in recorded or k == 'ResponseMetadata':
                    continue
                since = LATE_FIELDS.get(k)
                if since and self.date < since:
                    continue
                self.diffs.append(f'{path}.{k}: not recorded ({json.dumps(actual[k], default=str)[:120]})')
            return
        if isinstance(recorded, list):
            if not isinstance(actual, list) or len(actual) != len(recorded):
                return self.diffs.append(f'{path}: {json.dumps(actual, default=str)[:300]} != {json.dumps(recorded)[:300]}')
            for i, (a, r) in enumerate(zip(actual, recorded)):
                self.compare(f'{path}[{i}]', a, r)
            return
        if isinstance(actual, datetime.datetime):
            if not isinstance(recorded, str):
                self.diffs.append(f'{path}: a timestamp != {recorded!r}')
            return
        if isinstance(recorded, str) and isinstance(actual, str):
            if recorded in ('snf_role_arn', 'sfn_role_arn') and actual == ROLE:
                return
            if actual == recorded or placeholder_regex(recorded).fullmatch(actual):
                return
            # A timestamp inside JSON text (a Context object's StartTime) is recorded as `date`.
            if recorded == 'date' and TIMESTAMP.fullmatch(actual):
                return
            # JSON text (an array output, an inspected value) is compared as the JSON it is.
            both = json_value(actual), json_value(recorded)
            if None not in both and both[0] == both[1]:
                return
        elif actual == recorded and type(actual) is type(recorded):
            return
        self.diffs.append(f'{path}: {json.dumps(actual, default=str)[:300]} != {json.dumps(recorded)[:300]}')


def exception(e):
    return {'exception_typename': e.response['Error']['Code'] if isinstance(e, ClientError) else type(e).__name__,
            'exception_value': str(e)}


# ------------------------------------------------------------------ helpers


def create(sfn, snap, definition, name=None, role=ROLE, **kw):
    name = name or f'statemachine_{short_uid()}'
    resp = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=role, **kw)
    return name, resp


def wait_done(sfn, arn, timeout=60):
    end = time.monotonic() + timeout
    while True:
        d = sfn.describe_execution(executionArn=arn)
        if d['status'] != 'RUNNING':
            return d
        if time.monotonic() > end:
            raise AssertionError(f'{arn} still running')
        time.sleep(0.05)




# ------------------------------------------------------------------ scenarios

SCENARIOS = {}


def scenario(test_id):
    def deco(fn):
        SCENARIOS[test_id] = fn
        return fn
    return deco


API = 'test_sfn_api.py::TestSnfApi::'


@scenario(API + 'test_delete_nonexistent_sm')
def _(sfn, s):
    name, r = create(sfn, s, template('BASE_PASS_RESULT'))
    missing = r['stateMachineArn'].replace(name, f'statemachine_{short_uid()}')
    s.match('deletion_resp_1', sfn.delete_state_machine(stateMachineArn=missing))


@scenario(API + 'test_describe_nonexistent_sm')
def _(sfn, s):
    name, r = create(sfn, s, template('BASE_PASS_RESULT'))
    missing = r['stateMachineArn'].replace(name, f'statemachine_{short_uid()}')
    s.add(missing, 'sm_nonexistent_arn')
    s.call('describe_nonexistent_sm', sfn.describe_state_machine, 'error', stateMachineArn=missing)


@scenario(API + 'test_describe_sm_arn_containing_punctuation')
def _(sfn, s):
    _, r = create(sfn, s, template('BASE_PASS_RESULT'), name=f'state.machine_{short_uid()}')
    s.match('creation_resp', r)
    s.match('describe_resp', sfn.describe_state_machine(stateMachineArn=r['stateMachineArn']))


@scenario(API + 'test_describe_invalid_arn_sm')
def _(sfn, s):
    s.call('exception', sfn.describe_state_machine, 'exception', stateMachineArn='not_a_valid_arn')


@scenario(API + 'test_create_exact_duplicate_sm')
def _(sfn, s):
    name, r1 = create(sfn, s, template('BASE_PASS_RESULT'))
    s.match('creation_resp_1', r1)
    s.match('describe_resp_1', sfn.describe_state_machine(stateMachineArn=r1['stateMachineArn']))
    _, r2 = create(sfn, s, template('BASE_PASS_RESULT'), name=name)
    s.match('creation_resp_2', r2)
    s.match('describe_resp_2', sfn.describe_state_machine(stateMachineArn=r2['stateMachineArn']))
    s.match('describe_resp_1_2', sfn.describe_state_machine(stateMachineArn=r1['stateMachineArn']))


@scenario(API + 'test_create_duplicate_definition_format_sm')
def _(sfn, s):
    name, r1 = create(sfn, s, template('BASE_PASS_RESULT'))
    s.match('creation_resp_1', r1)
    s.match('describe_resp_1', sfn.describe_state_machine(stateMachineArn=r1['stateMachineArn']))
    s.call('already_exists_1', sfn.create_state_machine, 'response', name=name, roleArn=ROLE,
           definition=json.dumps(template('BASE_PASS_RESULT'), indent=4))


@scenario(API + 'test_create_duplicate_sm_name')
def _(sfn, s):
    name, r1 = create(sfn, s, template('BASE_PASS_RESULT'))
    s.match('creation_resp_1', r1)
    s.match('describe_resp_1', sfn.describe_state_machine(stateMachineArn=r1['stateMachineArn']))
    d2 = template('BASE_PASS_RESULT')
    d2['States']['State_1']['Result'].update({'Arg2': 'Argument2'})
    s.call('already_exists_1', sfn.create_state_machine, 'response', name=name, roleArn=ROLE,
           definition=json.dumps(d2))


@scenario(API + 'test_start_execution')
def _(sfn, s):
    _, r = create(sfn, s, template('BASE_PASS_RESULT'))
    s.match('creation_resp', r)
    ex = sfn.start_execution(stateMachineArn=r['stateMachineArn'])
    s.match('exec_resp', ex)
    wait_done(sfn, ex['executionArn'])
    s.match('exec_list_resp', sfn.list_executions(stateMachineArn=r['stateMachineArn']))
    s.match('exec_hist_resp', sfn.get_execution_history(executionArn=ex['executionArn']))


@scenario(API + 'test_list_execution_no_such_state_machine')
def _(sfn, s):
    name, r = create(sfn, s, template('BASE_PASS_RESULT'))
    missing = r['stateMachineArn'].replace(name, f'statemachine_{short_uid()}')
    s.add(missing, 'ssm_nonexistent_arn')
    s.call('exception', sfn.list_executions, 'exception', stateMachineArn=missing)


@scenario(API + 'test_list_execution_invalid_arn')
def _(sfn, s):
    s.call('exception', sfn.list_executions, 'exception', stateMachineArn='invalid_state_machine_arn')


@scenario(API + 'test_get_execution_history_reversed')
def _(sfn, s):
    _, r = create(sfn, s, template('BASE_PASS_RESULT'))
    ex = sfn.start_execution(stateMachineArn=r['stateMachineArn'])['executionArn']
    wait_done(sfn, ex)
    s.match('get_execution_history_reverseOrder[False]', sfn.get_execution_history(executionArn=ex))
    s.match('get_execution_history_reverseOrder[True]',
            sfn.get_execution_history(executionArn=ex, reverseOrder=True))


@scenario(API + 'test_invalid_start_execution_arn')
def _(sfn, s):
    name, r = create(sfn, s, template('BASE_PASS_RESULT'))
    s.match('creation_resp', r)
    invalid = r['stateMachineArn'].replace(name, f'statemachine_invalid_{name}')
    sfn.delete_state_machine(stateMachineArn=r['stateMachineArn'])
    s.call('start_exec_of_deleted', sfn.start_execution, 'response', stateMachineArn=invalid)


@scenario(API + 'test_invalid_start_execution_input')
def _(sfn, s):
    _, r = create(sfn, s, template('BASE_PASS_RESULT'))
    s.match('creation_resp', r)
    sm = r['stateMachineArn']
    s.call('start_exec_str_inp', sfn.start_execution, 'response', stateMachineArn=sm, input='not some json')
    s.call('start_exec_not_json_inp', sfn.start_execution, 'response', stateMachineArn=sm, input="{'not': 'json'")
    s.call('start_res_empty', sfn.start_execution, 'response', stateMachineArn=sm, input='')
    s.match('start_res_num', sfn.start_execution(stateMachineArn=sm, input='2'))
    s.match('start_res_str', sfn.start_execution(stateMachineArn=sm, input='"some text"'))
    s.match('start_res_null', sfn.start_execution(stateMachineArn=sm, input='null'))


@scenario(API + 'test_stop_execution')
def _(sfn, s):
    _, r = create(sfn, s, template('BASE_WAIT_1_MIN'))
    s.match('creation_resp', r)
    ex = sfn.start_execution(stateMachineArn=r['stateMachineArn'])
    s.match('exec_resp', ex)
    arn = ex['executionArn']
    end = time.monotonic() + 30
    while not any('stateEnteredEventDetails' in e for e in sfn.get_execution_history(executionArn=arn)['events']):
        assert time.monotonic() < end
        time.sleep(0.05)
    s.match('stop_res', sfn.stop_execution(executionArn=arn))
    wait_done(sfn, arn)
    s.match('exec_hist_resp', sfn.get_execution_history(executionArn=arn))


def updates(sfn, s, change_definition, change_role):
    # The role-only test names its first role too.
    if change_role and not change_definition:
        role = f'{ROLE}-0'
        s.add(role, 'snf_role_arn_t0')
    _, r = create(sfn, s, template('BASE_PASS_RESULT'), role=role if change_role and not change_definition else ROLE)
    s.match('creation_resp_t0', r)
    sm = r['stateMachineArn']
    s.match('describe_resp_t0', sfn.describe_state_machine(stateMachineArn=sm))
    for t in (1, 2):
        kw = {}
        if change_definition:
            d = template('BASE_PASS_RESULT')
            d['States']['State_1']['Result'].update({'Arg1': f'AfterUpdate{t}'})
            kw['definition'] = json.dumps(d)
        if change_role:
            kw['roleArn'] = f'{ROLE}-{t}'
            s.add(kw['roleArn'], f'snf_role_arn_t{t}')
        key = 'update_state_machine_res' if (t == 1 and not change_role) else f'update_state_machine_res_t{t}'
        s.match(key, sfn.update_state_machine(stateMachineArn=sm, **kw))
        s.match(f'describe_resp_t{t}', sfn.describe_state_machine(stateMachineArn=sm))


@scenario(API + 'test_create_update_state_machine_base_definition')
def _(sfn, s):
    updates(sfn, s, True, False)


@scenario(API + 'test_create_update_state_machine_base_role_arn')
def _(sfn, s):
    updates(sfn, s, False, True)


@scenario(API + 'test_create_update_state_machine_base_definition_and_role')
def _(sfn, s):
    updates(sfn, s, True, True)


@scenario(API + 'test_create_update_state_machine_base_update_none')
def _(sfn, s):
    _, r = create(sfn, s, template('BASE_PASS_RESULT'))
    s.match('creation_resp_t0', r)
    sm = r['stateMachineArn']
    s.match('describe_resp_t0', sfn.describe_state_machine(stateMachineArn=sm))
    s.call('missing_required_parameter', sfn.update_state_machine, 'response', stateMachineArn=sm)
    # botocore refuses None itself, as the recording shows
    s.call('null_required_parameter', sfn.update_state_machine, 'error', stateMachineArn=sm, definition=None,
           roleArn=None)


@scenario(API + 'test_describe_state_machine_for_execution')
def _(sfn, s):
    _, r = create(sfn, s, template('BASE_PASS_RESULT'))
    s.match('creation_resp', r)
    ex = sfn.start_execution(stateMachineArn=r['stateMachineArn'])
    s.match('exec_resp', ex)
    s.match('describe_resp', sfn.describe_state_machine_for_execution(executionArn=ex['executionArn']))


@scenario(API + 'test_describe_execution_invalid_arn')
def _(sfn, s):
    s.call('exception', sfn.describe_execution, 'exception', executionArn='invalid_state_machine_arn')


@scenario(API + 'test_get_execution_history_invalid_arn')
def _(sfn, s):
    s.call('exception', sfn.get_execution_history, 'exception', executionArn='invalid_state_machine_arn')


@scenario(API + 'test_create_update_state_machine_same_parameters')
def _(sfn, s):
    role0, role1 = f'{ROLE}-0', f'{ROLE}-1'
    s.add(role0, 'snf_role_arn_t0')
    s.add(role1, 'snf_role_arn_t1')
    _, r = create(sfn, s, template('BASE_PASS_RESULT'), role=role0)
    s.match('creation_resp_t0', r)
    sm = r['stateMachineArn']
    s.match('describe_resp_t0', sfn.describe_state_machine(stateMachineArn=sm))
    s.match('update_state_machine_res_t1', sfn.update_state_machine(stateMachineArn=sm, roleArn=role1))
    s.match('describe_resp_t1', sfn.describe_state_machine(stateMachineArn=sm))
    s.match('update_state_machine_res_t2', sfn.update_state_machine(
        stateMachineArn=sm, definition=json.dumps(template('BASE_PASS_RESULT')), roleArn=role1))
    s.match('describe_resp_t2', sfn.describe_state_machine(stateMachineArn=sm))


def described_execution(sfn, s, sm_name=None, name=None):
    _, r = create(sfn, s, template('BASE_PASS_RESULT'), name=sm_name)
    s.match('creation_resp', r)
    kw = {'name': name} if name else {}
    ex = sfn.start_execution(stateMachineArn=r['stateMachineArn'], **kw)
    s.match('exec_resp', ex)
    wait_done(sfn, ex['executionArn'])
    s.match('describe_execution', sfn.describe_execution(executionArn=ex['executionArn']))


@scenario(API + 'test_describe_execution')
def _(sfn, s):
    described_execution(sfn, s)


@scenario(API + 'test_describe_execution_arn_containing_punctuation')
def _(sfn, s):
    described_execution(sfn, s, f'state.machine_{short_uid()}', f'state.machine.execution_{short_uid()}')


def no_such_execution(sfn, s, call, wait):
    _, r = create(sfn, s, template('BASE_PASS_RESULT'))
    ex = sfn.start_execution(stateMachineArn=r['stateMachineArn'])['executionArn']
    if wait:
        wait_done(sfn, ex)
    invalid = ex[:-4] + '0000'
    s.add(invalid, 'invalid_execution_arn')
    s.call('exception', call, 'exception', executionArn=invalid)


@scenario(API + 'test_describe_execution_no_such_state_machine')
def _(sfn, s):
    no_such_execution(sfn, s, sfn.describe_execution, True)


@scenario(API + 'test_get_execution_history_no_such_execution')
def _(sfn, s):
    no_such_execution(sfn, s, sfn.get_execution_history, False)


@scenario(API + 'test_list_sms')
def _(sfn, s):
    names = [f'statemachine_{i}_{short_uid()}' for i in (1, 2, 3)]
    arns = []
    for i, name in enumerate(names):
        _, r = create(sfn, s, template('BASE_PASS_RESULT'), name=name)
        s.match(f'creation_resp_{i}', r)
        arns.append(r['stateMachineArn'])
    # All pages: the endpoint may hold more than a page of other machines (the test's account did not).
    def listed():
        pages = sfn.get_paginator('list_state_machines').paginate()
        return [m for p in pages for m in p['stateMachines'] if m['name'] in names]
    s.match('lst_resp_filter', listed())
    for i, arn in enumerate(arns):
        s.match(f'deletion_resp_{i}', sfn.delete_state_machine(stateMachineArn=arn))
    s.match('lst_resp_del_filter', listed())


@scenario(API + 'test_list_sms_pagination')
def _(sfn, s):
    names = [f'statemachine_{i}_{short_uid()}' for i in range(13)]
    arns = [create(sfn, s, template('BASE_PASS_RESULT'), name=n)[1]['stateMachineArn'] for n in names]
    listed = []
    for page in sfn.get_paginator('list_state_machines').paginate(maxResults=5):
        assert 0 < len(page['stateMachines']) <= 5
        listed += [m for m in page['stateMachines'] if m['name'] in names]
    s.match('list-state-machines-page-1', listed[:10])
    s.match('list-state-machines-page-2', listed[10:])
    s.call('list-state-machines-invalid-param-too-large', sfn.list_state_machines, 'response', maxResults=1001)
    # botocore's own check, as recorded
    s.call('list-state-machines-invalid-param-short-nextToken', sfn.list_state_machines, 'exception', nextToken='')
    long_token = 'x' * 1025
    s.add(long_token, '<invalid_token_1025_chars>')
    s.call('list-state-machines-invalid-param-long-nextToken', sfn.list_state_machines, 'response', nextToken=long_token)
    for arn in arns:
        sfn.delete_state_machine(stateMachineArn=arn)


@scenario(API + 'test_state_machine_status_filter')
def _(sfn, s):
    _, r = create(sfn, s, template('BASE_PASS_RESULT'))
    s.match('creation_resp', r)
    sm = r['stateMachineArn']
    s.match('list_before_execution', sfn.list_executions(stateMachineArn=sm, statusFilter='SUCCEEDED'))
    ex = sfn.start_execution(stateMachineArn=sm)
    s.match('exec_resp', ex)
    wait_done(sfn, ex['executionArn'])
    s.match('list_succeeded_when_complete', sfn.list_executions(stateMachineArn=sm, statusFilter='SUCCEEDED'))
    s.match('list_running_when_complete', sfn.list_executions(stateMachineArn=sm, statusFilter='RUNNING'))
    s.call('list_executions_filter_exc', sfn.list_executions, 'response', stateMachineArn=sm, statusFilter='succeeded')


@scenario(API + 'test_start_sync_execution')
def _(sfn, s):
    _, r = create(sfn, s, template('BASE_PASS_RESULT'), type='STANDARD')
    s.match('creation_response', r)
    s.call('start_sync_execution_error', sfn.start_sync_execution, 'response', stateMachineArn=r['stateMachineArn'], input='{}', name='SyncExecution')


# ----- logging configuration

LOGS = 'test_sfn_api_logs.py::TestSnfApiLogs::'


def log_group():
    name = f'log_group_{short_uid()}'
    return name, f'arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{name}:*'


def logging_created(sfn, s, logging):
    _, r = create(sfn, s, template('BASE_PASS_RESULT'), loggingConfiguration=logging)
    s.match('creation_resp', r)
    s.match('describe_resp', sfn.describe_state_machine(stateMachineArn=r['stateMachineArn']))
    return r['stateMachineArn']


for _level in ('ALL', 'FATAL', 'ERROR', 'OFF'):
    for _include in (False, True):
        def _logging(sfn, s, level=_level, include=_include):
            name, arn = log_group()
            s.add(name, 'log_group_name')
            logging_created(sfn, s, {'level': level, 'includeExecutionData': include,
                                     'destinations': [{'cloudWatchLogsLogGroup': {'logGroupArn': arn}}]})
        SCENARIOS[f'{LOGS}test_logging_configuration[{_level}-{_include}]'] = _logging

for _i, _cfg in enumerate([{}, {'destinations': []}]):
    SCENARIOS[f'{LOGS}test_incomplete_logging_configuration[logging_configuration{_i}]'] = \
        lambda sfn, s, cfg=_cfg: logging_created(sfn, s, cfg)

for _i, _level in enumerate(('ALL', 'FATAL', 'ERROR')):
    def _invalid(sfn, s, level=_level):
        s.call('exception', sfn.create_state_machine, 'exception', name=f'statemachine_{short_uid()}', roleArn=ROLE,
               definition=json.dumps(template('BASE_PASS_RESULT')), loggingConfiguration={'level': level})
    SCENARIOS[f'{LOGS}test_invalid_logging_configuration[logging_configuration{_i}]'] = _invalid


@scenario(LOGS + 'test_multiple_destinations')
def _(sfn, s):
    dests = [{'cloudWatchLogsLogGroup': {'logGroupArn': log_group()[1]}} for _ in range(2)]
    s.call('exception', sfn.create_state_machine, 'exception', name=f'statemachine_{short_uid()}', roleArn=ROLE,
           definition=json.dumps(template('BASE_PASS_RESULT')),
           loggingConfiguration={'level': 'ALL', 'destinations': dests})


@scenario(LOGS + 'test_deleted_log_group')
def _(sfn, s):
    # The log group was deleted before: AWS refuses it; Stepwise cannot know (see KNOWN).
    _, arn = log_group()
    s.call('exception', sfn.create_state_machine, 'exception', name=f'statemachine_{short_uid()}', roleArn=ROLE,
           definition=json.dumps(template('BASE_PASS_RESULT')),
           loggingConfiguration={'level': 'ALL', 'destinations': [{'cloudWatchLogsLogGroup': {'logGroupArn': arn}}]})


@scenario(LOGS + 'test_update_logging_configuration')
def _(sfn, s):
    name, arn = log_group()
    s.add(name, 'log_group_name')
    logging = {'level': 'ALL', 'includeExecutionData': True,
               'destinations': [{'cloudWatchLogsLogGroup': {'logGroupArn': arn}}]}
    sm = logging_created(sfn, s, logging)
    logging['level'] = 'FATAL'
    sfn.update_state_machine(stateMachineArn=sm, loggingConfiguration=logging)
    s.match('describe_resp_log_level', sfn.describe_state_machine(stateMachineArn=sm))
    sfn.update_state_machine(stateMachineArn=sm, loggingConfiguration=logging)
    s.match('describe_resp_no_change', sfn.describe_state_machine(stateMachineArn=sm))
    logging['includeExecutionData'] = False
    sfn.update_state_machine(stateMachineArn=sm, loggingConfiguration=logging)
    s.match('describe_resp_flag', sfn.describe_state_machine(stateMachineArn=sm))
    logging['destinations'].append({'cloudWatchLogsLogGroup': {'logGroupArn': log_group()[1]}})
    s.call('exception_multiple_endpoints', sfn.update_state_machine, 'exception', stateMachineArn=sm, loggingConfiguration=logging)
    s.call('exception_invalid', sfn.update_state_machine, 'exception', stateMachineArn=sm, loggingConfiguration={'level': 'ALL'})


# ----- activities

ACT = 'test_sfn_api_activities.py::TestSnfApiActivities::'

for _base in ['Activity1', 'activity-name_123', 'ACTIVITY_NAME_ABC', 'activity.name', 'activity.name.v2',
              'activityName.with.dots', 'activity-name.1', 'activity_123.name', 'a' * 71]:
    def _crud(sfn, s, base=_base):
        name = f'{base}-{short_uid()}'
        r = sfn.create_activity(name=name)
        arn = r['activityArn']
        s.add(arn, 'activity_arn')
        s.add(name, 'activity_name')
        s.match('create_activity_response', r)
        s.match('create_activity_response_duplicate', sfn.create_activity(name=name))
        d = sfn.describe_activity(activityArn=arn)
        d['creationDate'] = 'creation-date'
        s.match('describe_activity_response', d)
        s.match('delete_activity_response', sfn.delete_activity(activityArn=arn))
        s.match('delete_activity_response_2', sfn.delete_activity(activityArn=arn))
    SCENARIOS[f'{ACT}test_create_describe_delete_activity[{_base}]'] = _crud

for _name in ['activity name', 'activity<name', 'activity>name', 'activity{name', 'activity}name',
              'activity[name', 'activity]name', 'activity?name', 'activity*name', 'activity"name',
              'activity#name', 'activity%name', 'activity\\name', 'activity^name', 'activity|name',
              'activity~name', 'activity`name', 'activity$name', 'activity&name', 'activity,name',
              'activity;name', 'activity:name', 'activity/name', chr(0) + 'activity', 'activity' + chr(31),
              'activity' + chr(127)]:
    _id = json.dumps(_name)[1:-1].replace('\\u0000', '\\x00').replace('\\u001f', '\\x1f').replace('\\u007f', '\\x7f')
    _id = _id.replace('\\"', '"')
    SCENARIOS[f'{ACT}test_create_activity_invalid_name[{_id}]'] = \
        lambda sfn, s, name=_name: s.call('invalid_name', sfn.create_activity, 'response', name=name)


@scenario(ACT + 'test_describe_deleted_activity')
def _(sfn, s):
    arn = sfn.create_activity(name=f'TestActivity-{short_uid()}')['activityArn']
    s.add(arn, 'activity_arn')
    sfn.delete_activity(activityArn=arn)
    s.call('no_such_activity', sfn.describe_activity, 'response', activityArn=arn)


@scenario(ACT + 'test_get_activity_task_deleted')
def _(sfn, s):
    arn = sfn.create_activity(name=f'TestActivity-{short_uid()}')['activityArn']
    s.add(arn, 'activity_arn')
    sfn.delete_activity(activityArn=arn)
    s.call('no_such_activity', sfn.get_activity_task, 'response', activityArn=arn)


@scenario(ACT + 'test_describe_activity_invalid_arn')
def _(sfn, s):
    s.call('exception', sfn.describe_activity, 'exception', activityArn='no_an_activity_arn')


@scenario(ACT + 'test_get_activity_task_invalid_arn')
def _(sfn, s):
    s.call('exception', sfn.get_activity_task, 'exception', activityArn='no_an_activity_arn')


@scenario(ACT + 'test_list_activities')
def _(sfn, s):
    arns = set()
    for i in range(3):
        name = f'TestActivity-{i}-{short_uid()}'
        arn = sfn.create_activity(name=name)['activityArn']
        s.add(arn, f'activity_arn_{i}')
        s.add(name, f'activity_name_{i}')
        arns.add(arn)
    r = sfn.list_activities()
    r['activities'] = [a for a in r['activities'] if a['activityArn'] in arns]
    s.match('list_activities_response', r)


@scenario('test_activities.py::TestActivities::test_activity_task_on_deleted')
def _(sfn, s):
    name = f'activity-{short_uid()}'
    r = sfn.create_activity(name=name)
    arn = r['activityArn']
    s.add(arn, 'activity_arn')
    s.add(name, 'activity_name')
    s.match('create_activity_output', r)
    sfn.delete_activity(activityArn=arn)
    d = template('BASE_ACTIVITY_TASK')
    d['States']['ActivityTask']['Resource'] = arn
    _, c = create(sfn, s, d)
    ex = sfn.start_execution(stateMachineArn=c['stateMachineArn'], input=json.dumps({'Value1': 'HelloWorld'}))
    wait_done(sfn, ex['executionArn'])
    s.match('get_execution_history', sfn.get_execution_history(executionArn=ex['executionArn']))


# ----- aliases

ALIAS = 'test_sfn_api_aliasing.py::TestSfnApiAliasing::'


def published(sfn, s):
    name = f'state_machine_{short_uid()}'
    r = sfn.create_state_machine(name=name, definition=json.dumps(template('BASE_PASS_RESULT')),
                                 roleArn=ROLE, publish=True)
    return r['stateMachineArn'], r['stateMachineVersionArn']


def route(version, weight=100):
    return [{'stateMachineVersionArn': version, 'weight': weight}]


def alias_name(s):
    name = f'AliasName-{short_uid()}'
    s.add(name, 'state_machine_alias_name')
    return name


DESCRIPTION = 'create state machine alias description'


@scenario(ALIAS + 'test_base_create_alias_single_router_config')
def _(sfn, s):
    _, v = published(sfn, s)
    s.match('create_state_machine_alias_response', sfn.create_state_machine_alias(
        description=DESCRIPTION, name=alias_name(s), routingConfiguration=route(v)))


@scenario(ALIAS + 'test_error_create_alias_with_state_machine_arn')
def _(sfn, s):
    sm, _ = published(sfn, s)
    s.call('exception', sfn.create_state_machine_alias, 'exception', description=DESCRIPTION, name=f'AliasName-{short_uid()}', routingConfiguration=route(sm))


@scenario(ALIAS + 'test_error_create_alias_not_idempotent')
def _(sfn, s):
    sm, v0 = published(sfn, s)
    d = template('BASE_PASS_RESULT')
    d['Comment'] = 'Definition v1'
    v1 = sfn.update_state_machine(stateMachineArn=sm, definition=json.dumps(d), publish=True)['stateMachineVersionArn']
    name = alias_name(s)
    s.match('create_state_machine_alias_response', sfn.create_state_machine_alias(
        description=DESCRIPTION, name=name, routingConfiguration=route(v0)))
    s.call('not_idempotent_description', sfn.create_state_machine_alias, 'exception', description='This is a different description', name=name, routingConfiguration=route(v0))
    s.call('not_idempotent_routing_configuration', sfn.create_state_machine_alias, 'exception', description=DESCRIPTION, name=name, routingConfiguration=route(v0, 50) + route(v1, 50))


@scenario(ALIAS + 'test_idempotent_create_alias')
def _(sfn, s):
    sm, v = published(sfn, s)
    name = alias_name(s)
    for attempt in range(2):
        s.match(f'create_state_machine_alias_response_attempt_{attempt}', sfn.create_state_machine_alias(
            description=DESCRIPTION, name=name, routingConfiguration=route(v)))
    s.match('create_state_machine_alias_response_different_name', sfn.create_state_machine_alias(
        description=DESCRIPTION, name=f'{name}-second', routingConfiguration=route(v)))
    s.match('list_state_machine_aliases_response', sfn.list_state_machine_aliases(stateMachineArn=sm))


@scenario(ALIAS + 'test_error_create_alias_invalid_name')
def _(sfn, s):
    _, v = published(sfn, s)
    for invalid in ['123', '', 'A' * 81, 'INVALID ALIAS', '!INVALID', 'ALIAS@']:
        # botocore refuses the empty name itself, as recorded
        s.call(f'exception_for_name{invalid}', sfn.create_state_machine_alias, 'exception', description=DESCRIPTION,
               name=invalid, routingConfiguration=route(v))


@scenario(ALIAS + 'test_delete_version_with_alias')
def _(sfn, s):
    sm, v0 = published(sfn, s)
    name = alias_name(s)
    r = sfn.create_state_machine_alias(description=DESCRIPTION, name=name, routingConfiguration=route(v0))
    s.match('create_state_machine_alias_response', r)
    alias = r['stateMachineAliasArn']
    s.call('exception_delete_version_with_alias_reference', sfn.delete_state_machine_version, 'exception', stateMachineVersionArn=v0)
    d = template('BASE_PASS_RESULT')
    d['Comment'] = 'Definition v1'
    v1 = sfn.update_state_machine(stateMachineArn=sm, definition=json.dumps(d), publish=True)['stateMachineVersionArn']
    sfn.update_state_machine_alias(stateMachineAliasArn=alias, routingConfiguration=route(v1))
    s.match('describe_state_machine_alias_response', sfn.describe_state_machine_alias(stateMachineAliasArn=alias))
    s.match('delete_version_response', sfn.delete_state_machine_version(stateMachineVersionArn=v0))


@scenario(ALIAS + 'test_list_state_machine_aliases_pagination_invalid_next_token')
def _(sfn, s):
    sm, v = published(sfn, s)
    s.match('create_state_machine_alias_response', sfn.create_state_machine_alias(
        description=DESCRIPTION, name=alias_name(s), routingConfiguration=route(v)))
    s.call('invalidTokenException', sfn.list_state_machine_aliases, 'exception', stateMachineArn=sm, nextToken='InvalidToken')


# ----- versions

VER = 'test_sfn_api_versioning.py::TestSnfApiVersioning::'


@scenario(VER + 'test_create_with_publish')
def _(sfn, s):
    s.match('creation_resp_1', create(sfn, s, template('BASE_PASS_RESULT'), publish=True)[1])


@scenario(VER + 'test_create_express_with_publish')
def _(sfn, s):
    s.match('creation_resp_1', create(sfn, s, template('BASE_PASS_RESULT'), publish=True, type='EXPRESS')[1])


@scenario(VER + 'test_create_with_version_description_no_publish')
def _(sfn, s):
    s.call('validation_exception', sfn.create_state_machine, 'response', name=f'statemachine_{short_uid()}',
           roleArn=ROLE, definition=json.dumps(template('BASE_PASS_RESULT')), versionDescription='HelloWorld!')


def publish_describe(sfn, s, **kw):
    _, r = create(sfn, s, template('BASE_PASS_RESULT'), publish=True, **kw)
    s.match('creation_resp_1', r)
    s.match('describe_resp_version', sfn.describe_state_machine(stateMachineArn=r['stateMachineVersionArn']))
    s.match('describe_resp', sfn.describe_state_machine(stateMachineArn=r['stateMachineArn']))


@scenario(VER + 'test_create_publish_describe_no_version_description')
def _(sfn, s):
    publish_describe(sfn, s)


@scenario(VER + 'test_create_publish_describe_with_version_description')
def _(sfn, s):
    publish_describe(sfn, s, versionDescription='HelloWorld!')


@scenario(VER + 'test_idempotent_publish')
def _(sfn, s):
    _, r = create(sfn, s, template('BASE_PASS_RESULT'))
    s.match('creation_resp_1', r)
    sm = r['stateMachineArn']
    s.match('publish_v1_1', sfn.publish_state_machine_version(stateMachineArn=sm))
    s.match('publish_v1_2', sfn.publish_state_machine_version(stateMachineArn=sm))
    s.match('list_versions_resp', sfn.list_state_machine_versions(stateMachineArn=sm))


@scenario(VER + 'test_publish_state_machine_version_no_such_machine')
def _(sfn, s):
    name, r = create(sfn, s, template('BASE_PASS_RESULT'))
    missing = r['stateMachineArn'].replace(name, f'statemachine_{short_uid()}')
    s.add(missing, 'ssm_nonexistent_arn')
    s.call('exception', sfn.publish_state_machine_version, 'exception', stateMachineArn=missing)


@scenario(VER + 'test_publish_state_machine_version_invalid_arn')
def _(sfn, s):
    s.call('exception', sfn.publish_state_machine_version, 'exception', stateMachineArn='invalid_arn')


def empty_revisions(sfn, s, publish_on_creation):
    text = json.dumps(template('BASE_PASS_RESULT'))
    kw = {'publish': True} if publish_on_creation else {}
    _, r = create(sfn, s, template('BASE_PASS_RESULT'), **kw)
    s.match('creation_resp_1', r)
    for key in ('update_resp_1', 'update_resp_2'):
        s.match(key, sfn.update_state_machine(stateMachineArn=r['stateMachineArn'], definition=text, publish=True))


@scenario(VER + 'test_empty_revision_with_publish_and_publish_on_creation')
def _(sfn, s):
    empty_revisions(sfn, s, True)


@scenario(VER + 'test_empty_revision_with_publish_and_no_publish_on_creation')
def _(sfn, s):
    empty_revisions(sfn, s, False)


@scenario(VER + 'test_describe_state_machine_for_execution_of_version')
def _(sfn, s):
    _, r = create(sfn, s, template('BASE_PASS_RESULT'), publish=True)
    s.match('creation_resp_1', r)
    ex = sfn.start_execution(stateMachineArn=r['stateMachineVersionArn'])
    s.match('execution_resp', ex)
    wait_done(sfn, ex['executionArn'])
    s.match('describe_resp', sfn.describe_state_machine_for_execution(executionArn=ex['executionArn']))


@scenario(VER + 'test_describe_state_machine_for_execution_of_version_with_revision')
def _(sfn, s):
    _, r = create(sfn, s, template('BASE_PASS_RESULT'))
    s.match('creation_resp_1', r)
    sm = r['stateMachineArn']
    d = template('BASE_PASS_RESULT')
    d['Comment'] = f"{d['Comment']}-R2"
    s.match('update_resp', sfn.update_state_machine(stateMachineArn=sm, definition=json.dumps(d), publish=True))
    ex = sfn.start_execution(stateMachineArn=f'{sm}:1')
    s.match('execution_resp', ex)
    wait_done(sfn, ex['executionArn'])
    s.match('describe_resp', sfn.describe_state_machine_for_execution(executionArn=ex['executionArn']))


# ----- tags

TAGS = 'test_sfn_api_tagging.py::TestSnfApiTagging::'
TAG_LISTS = [[], [{'key': 'key1', 'value': 'value1'}], [{'key': 'key1', 'value': ''}],
             [{'key': 'key1', 'value': 'value1'}, {'key': 'key1', 'value': 'value1'}],
             [{'key': 'key1', 'value': 'value1'}, {'key': 'key2', 'value': 'value2'}]]

for _i, _tags in enumerate(TAG_LISTS):
    def _tag(sfn, s, tags=_tags):
        _, r = create(sfn, s, template('BASE_PASS_RESULT'))
        s.match('creation_resp_1', r)
        s.match('tag_resource_resp', sfn.tag_resource(resourceArn=r['stateMachineArn'], tags=tags))
        s.match('list_resources_res', sfn.list_tags_for_resource(resourceArn=r['stateMachineArn']))
    SCENARIOS[f'{TAGS}test_tag_state_machine[tag_list{_i}]'] = _tag

for _i, _keys in enumerate([[], ['key1'], ['key1', 'key1'], ['key1', 'key2']]):
    def _untag(sfn, s, keys=_keys):
        _, r = create(sfn, s, template('BASE_PASS_RESULT'))
        s.match('creation_resp_1', r)
        sm = r['stateMachineArn']
        s.match('tag_resource_resp', sfn.tag_resource(resourceArn=sm, tags=[{'key': 'key1', 'value': 'value1'}]))
        s.match('untag_resource_resp', sfn.untag_resource(resourceArn=sm, tagKeys=keys))
        s.match('list_resources_res', sfn.list_tags_for_resource(resourceArn=sm))
    SCENARIOS[f'{TAGS}test_untag_state_machine[tag_keys{_i}]'] = _untag


@scenario(TAGS + 'test_tag_state_machine_version')
def _(sfn, s):
    _, r = create(sfn, s, template('BASE_PASS_RESULT'))
    s.match('creation_resp_1', r)
    p = sfn.publish_state_machine_version(stateMachineArn=r['stateMachineArn'])
    s.match('publish_resp', p)
    s.call('error', sfn.tag_resource, 'error', resourceArn=p['stateMachineVersionArn'], tags=[{'key': 'key1', 'value': 'value1'}])


@scenario(TAGS + 'test_create_state_machine')
def _(sfn, s):
    _, r = create(sfn, s, template('BASE_PASS_RESULT'), tags=TAG_LISTS[4])
    s.match('creation_resp_1', r)
    s.match('list_resources_res', sfn.list_tags_for_resource(resourceArn=r['stateMachineArn']))


# ----- variable references

REFS = 'test_sfn_api_variable_references.py::TestSfnApiVariableReferences::'


def variable_references(sfn, s, name, run=True):
    _, r = create(sfn, s, template(name), name=f'sm-{short_uid()}')
    sm = r['stateMachineArn']
    d = sfn.describe_state_machine(stateMachineArn=sm)
    for refs in (d.get('variableReferences') or {}).values():
        refs.sort()
    s.match('describe_response', d)
    if not run:
        return
    ex = sfn.start_execution(stateMachineArn=sm)['executionArn']
    wait_done(sfn, ex)
    f = sfn.describe_state_machine_for_execution(executionArn=ex)
    for refs in (f.get('variableReferences') or {}).values():
        refs.sort()
    s.match('describe_for_execution_response', f)


def load_recordings():
    recordings = {}
    for f in sorted(os.listdir(DATA)):
        if f.endswith('.snapshot.json'):
            for k, v in json.load(open(os.path.join(DATA, f))).items():
                path, _, test = k.partition('::')
                recordings[path.split('/')[-1] + '::' + test] = v
    return recordings


RECORDINGS = load_recordings()
SCENARIOS.update(TEST_STATE_SCENARIOS)
for _k in RECORDINGS:
    if _k.startswith(REFS):
        _t = _k.rsplit('[', 1)[1].rstrip(']')
        if _t in TEMPLATES:
            SCENARIOS[_k] = lambda sfn, s, t=_t, run='jsonata_template' not in _k: \
                variable_references(sfn, s, t, run)


# ------------------------------------------------------------------ running


def recorded_date(v):
    d = v.get('recorded-date', '01-01-2030, 00:00:00').split(',')[0]
    day, month, year = (int(x) for x in d.split('-'))
    return datetime.date(year, month, day)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--endpoint-url', required=True)
    ap.add_argument('-k', default='')
    ap.add_argument('-v', action='store_true')
    args = ap.parse_args()
    # With a user part, botocore's `sync-` host prefix (StartSyncExecution) lands on the same
    # host (`stepwise serve` prints its endpoint in this form).
    endpoint = re.sub(r'^(https?://)(?![^/]*@)', r'\1stepwise@', args.endpoint_url)
    sfn = boto3.client('stepfunctions', endpoint_url=endpoint, region_name='us-east-1',
                       aws_access_key_id='test', aws_secret_access_key='test',
                       config=Config(retries={'max_attempts': 0}, read_timeout=75))
    matched, failed, unexpected = 0, [], []
    for test_id, fn in sorted(SCENARIOS.items()):
        if args.k not in test_id:
            continue
        rec = RECORDINGS.get(test_id)
        if rec is None:
            unexpected.append(test_id)
            print(f'NO RECORDING {test_id}')
            continue
        s = Snapshot(rec['recorded-content'], recorded_date(rec))
        try:
            fn(sfn, s)
        except Exception as e:  # a call that should have failed and did not, or the reverse
            s.diffs.append(f'raised {type(e).__name__}: {e}')
        if not s.diffs:
            matched += 1
            if args.v:
                print(f'ok   {test_id}')
            continue
        failed.append(test_id)
        known = test_id in KNOWN
        if not known:
            unexpected.append(test_id)
        print(f'{"KNOWN" if known else "DIFF "} {test_id}')
        if known:
            print(f'        why: {KNOWN[test_id]}')
        for d in s.diffs[:12]:
            print(f'        {d}')
    total = matched + len(failed)
    print(f'{matched} of {total} recorded tests matched ({len(failed) - len(set(failed) - set(KNOWN))} known differences)')
    return 1 if unexpected else 0


if __name__ == '__main__':
    sys.exit(main())
