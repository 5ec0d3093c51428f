"""Copies the replayed subset of LocalStack's AWS-recorded Step Functions API snapshots (and the
state machine templates those tests load) from a checkout of github.com/localstack/localstack
into data/, so the replay needs no network. Run by hand when refreshing the subset:

    python3 extract.py /path/to/localstack  # a git checkout; reads its HEAD

LocalStack is Apache-2.0 (see data/SOURCE.md); the files are copied unchanged except that the
JSON5 templates are written as plain JSON.
"""
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
V2 = 'tests/aws/services/stepfunctions/v2/'
SNAPSHOTS = ['test_sfn_api.snapshot.json', 'test_sfn_api_activities.snapshot.json',
             'test_sfn_api_logs.snapshot.json', 'test_sfn_api_variable_references.snapshot.json',
             'test_sfn_api_aliasing.snapshot.json', 'activities/test_activities.snapshot.json',
             'timeouts/test_heartbeats.snapshot.json', 'test_sfn_api_versioning.snapshot.json',
             'test_sfn_api_tagging.snapshot.json']
# TestState's recordings (replayed by test_state_scenarios.py), and where their templates are named.
TEST_STATE = 'test_state/'
TEST_STATE_SNAPSHOTS = ['test_state_configuration', 'test_test_state_scenarios', 'test_test_state_mock_scenarios',
                        'test_test_state_machine_scenarios', 'test_state_mock_validation', 'test_state_context_object',
                        'test_field_validation_mode', 'test_field_validation_mode_none',
                        'test_field_validation_mode_present']
TEST_STATE_TEMPLATE_LISTS = ['test_state/test_state_templates.py', 'outputdecl/output_templates.py',
                             'context_object/context_object_templates.py']
T = 'tests/aws/services/stepfunctions/templates/'
TEMPLATES = {
    'BASE_PASS_RESULT': T + 'base/statemachines/pass_result.json5',
    'BASE_WAIT_1_MIN': T + 'base/statemachines/wait_1_min.json5',
    'BASE_ACTIVITY_TASK': T + 'activities/statemachines/base_activity_task.json5',
}
BASE = set(TEMPLATES)
ASSIGN = T + 'assign/statemachines/'
SCENARIOS = T + 'scenarios/statemachines/'


def git(repo, *args):
    return subprocess.check_output(['git', '-C', repo, *args]).decode()


def json5(text):
    # The templates use // comments and trailing commas only.
    text = re.sub(r'(?m)^(([^"\n]|"([^"\\\n]|\\.)*")*?)\s*//.*$', r'\1', text)
    text = re.sub(r',(\s*[}\]])', r'\1', text)
    return json.loads(text)


def main(repo):
    head = git(repo, 'rev-parse', 'HEAD').strip()
    out = os.path.join(HERE, 'data')
    os.makedirs(out, exist_ok=True)
    for s in SNAPSHOTS:
        with open(os.path.join(out, os.path.basename(s)), 'w') as f:
            f.write(git(repo, 'show', f'HEAD:{V2}{s}'))
    # The variable-reference templates, by the test ids' names.
    refs = git(repo, 'show', f'HEAD:{T}assign/assign_templates.py')
    scen = git(repo, 'show', f'HEAD:{T}scenarios/scenarios_templates.py')
    for src, text, folder in ((refs, refs, ASSIGN), (scen, scen, SCENARIOS)):
        for name, path in re.findall(r'(\w+)(?::\s*Final\[str\])?\s*=\s*os\.path\.join\(\s*_THIS_FOLDER,\s*"([^"]+)"', text):
            TEMPLATES.setdefault(name, T + ('assign/' if folder == ASSIGN else 'scenarios/') + path)
    # Only the templates a replayed test loads: the base ones and the variable-reference tests'.
    snap = json.loads(git(repo, 'show', f'HEAD:{V2}test_sfn_api_variable_references.snapshot.json'))
    wanted = {k.rsplit('[', 1)[-1].rstrip(']') for k in snap} | set(BASE)
    templates = {}
    for name, path in TEMPLATES.items():
        if name not in wanted:
            continue
        try:
            templates[name] = json5(git(repo, 'show', f'HEAD:{path}'))
        except (subprocess.CalledProcessError, ValueError):
            pass
    with open(os.path.join(out, 'templates.json'), 'w') as f:
        json.dump(templates, f, indent=1, sort_keys=True)
    # TestState: every template its tests name, by the names of the loader classes' fields.
    for name in TEST_STATE_SNAPSHOTS:
        with open(os.path.join(out, f'{name}.snapshot.json'), 'w') as f:
            f.write(git(repo, 'show', f'HEAD:{V2}{TEST_STATE}{name}.snapshot.json'))
    ts_templates = {}
    for lst in TEST_STATE_TEMPLATE_LISTS:
        folder = T + lst.rsplit('/', 1)[0] + '/'
        text = git(repo, 'show', f'HEAD:{T}{lst}')
        for name, path in re.findall(r'(\w+)(?::\s*Final\[str\])?\s*=\s*os\.path\.join\(\s*_THIS_FOLDER,\s*"([^"]+)"', text):
            try:
                ts_templates[name] = json5(git(repo, 'show', f'HEAD:{folder}{path}'))
            except (subprocess.CalledProcessError, ValueError):
                pass
    with open(os.path.join(out, 'test_state_templates.json'), 'w') as f:
        json.dump(ts_templates, f, indent=1, sort_keys=True)
    with open(os.path.join(out, 'SOURCE.md'), 'w') as f:
        f.write(f"""# Source

Copied from https://github.com/localstack/localstack at commit {head}
(`{V2}` snapshot files, and state machine templates from `{T}`), which is licensed under the
Apache License 2.0 (https://www.apache.org/licenses/LICENSE-2.0). The snapshots are what AWS Step
Functions answered when LocalStack recorded its tests against AWS; they are unchanged here. The
templates were JSON5 and are stored as JSON (`templates.json`, by LocalStack's template names).
""")


if __name__ == '__main__':
    main(sys.argv[1])
