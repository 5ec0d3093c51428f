"""Distributed Map end to end (issue 12), through boto3 against `stepwise serve` with S3 on moto's
server: every ItemReader format (JSON, JSONL, CSV with its header locations and delimiters,
listObjectsV2 over more than one page, an S3 inventory manifest), reader failures, ItemBatcher by
count and by bytes with BatchInput, ItemSelector with $$.Map.Item, tolerated failures, the
ResultWriter's files read back with boto3; the children as child executions of their own (listed by
their map run, described with its ARN, their histories, EXPRESS ARNs), objects read in ranges,
UpdateMapRun while running, map-run redrive; every reader streamed (a JSON array and non-ASCII JSONL
larger than a ranged read, gzipped inventory files larger than one), items read counted as pending
early, result files split and uploaded in parts (through `stepwise run`, which runs map runs as
`serve` does), MapRunAborted, a map run surviving kill -9 of `serve`; `stepwise run --s3-dir` on a
local folder; and the AWS-recorded distributed-Map cases of the conformance corpus (`needs: s3`)
and five more of LocalStack's recordings, replayed with the data its tests put in the bucket.

The tests start their own moto_server and `stepwise serve` (from STEPWISE_BIN).
"""
import gzip
import io
import json
import os
import subprocess
import tempfile
import time

import pytest

from common import DEADLINE, ROLE, client, free_port, full_history, new_name, stepwise_bin, wait_done, Server

os.environ.setdefault('AWS_ACCESS_KEY_ID', 'test')
os.environ.setdefault('AWS_SECRET_ACCESS_KEY', 'test')
os.environ.setdefault('AWS_REGION', 'us-east-1')
os.environ.setdefault('AWS_DEFAULT_REGION', 'us-east-1')

SHARED = os.environ.get('STEPWISE_SHARED') or os.path.join(os.path.dirname(__file__), '..', '..', '..', 'shared')
CASES = os.path.join(SHARED, 'conformance', 'cases')


@pytest.fixture(scope='module')
def moto():
    import socket
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix='moto-', suffix='.log', delete=False)
    proc = subprocess.Popen(['moto_server', '-H', '127.0.0.1', '-p', str(port)], stdout=log, stderr=log)
    end = time.monotonic() + DEADLINE
    while True:
        assert proc.poll() is None, 'moto_server exited'
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < end, 'moto_server did not listen'
            time.sleep(0.1)
    yield f'http://127.0.0.1:{port}'
    proc.kill()
    proc.wait()


@pytest.fixture(scope='module')
def s3(moto):
    import boto3
    return boto3.client('s3', endpoint_url=moto, region_name='us-east-1')


@pytest.fixture(scope='module')
def server(moto):
    server = Server(extra_args=['--aws-endpoint-url', moto, '--skip-waits'], own=True)
    yield server
    server.close()


@pytest.fixture(scope='module')
def sfn(server):
    return client(server.endpoint)


def bucket(s3, objects=None):
    name = new_name('b')
    s3.create_bucket(Bucket=name)
    for key, body in (objects or {}).items():
        s3.put_object(Bucket=name, Key=key, Body=body)
    return name


def machine(reader=None, processor=None, **fields):
    state = {'Type': 'Map',
             'ItemProcessor': {'ProcessorConfig': {'Mode': 'DISTRIBUTED', 'ExecutionType': 'STANDARD'},
                               'StartAt': 'P', 'States': processor or {'P': {'Type': 'Pass', 'End': True}}},
             'End': True}
    if reader:
        state['ItemReader'] = reader
    state.update(fields)
    return {'StartAt': 'M', 'States': {'M': state}}


def run(sfn, definition, input_):
    arn = sfn.create_state_machine(name=new_name('dmap'), definition=json.dumps(definition),
                                   roleArn=ROLE)['stateMachineArn']
    ex = sfn.start_execution(stateMachineArn=arn, input=json.dumps(input_))['executionArn']
    d = wait_done(sfn, ex)
    events = full_history(sfn, ex)
    return d, events


def ok(sfn, definition, input_):
    d, events = run(sfn, definition, input_)
    assert d['status'] == 'SUCCEEDED', (d, events[-3:])
    return json.loads(d['output']), events


def failed(sfn, definition, input_):
    d, events = run(sfn, definition, input_)
    assert d['status'] == 'FAILED', d
    return d, events


def get_object(**params):
    return {'Resource': 'arn:aws:states:::s3:getObject',
            'Parameters': {'Bucket.$': '$.Bucket', 'Key.$': '$.Key'}, **params}


VERDICTS = [
    {'verdict': 'true', 'statement_date': '6/11/2008', 'statement_source': 'speech'},
    {'verdict': 'false', 'statement_date': '6/7/2022', 'statement_source': 'television'},
    {'verdict': 'mostly-true', 'statement_date': '5/18/2016', 'statement_source': 'news'},
]


def test_json_reader_records_the_map_run(sfn, s3):
    b = bucket(s3, {'data/items.json': json.dumps(VERDICTS)})
    out, events = ok(sfn, machine(get_object(ReaderConfig={'InputType': 'JSON'})), {'Bucket': b, 'Key': 'data/items.json'})
    assert out == VERDICTS
    types = [e['type'] for e in events]
    assert types == ['ExecutionStarted', 'MapStateEntered', 'MapStateStarted', 'MapRunStarted', 'MapRunSucceeded',
                     'MapStateSucceeded', 'MapStateExited', 'ExecutionSucceeded']
    started = next(e for e in events if e['type'] == 'MapStateStarted')
    assert started['mapStateStartedEventDetails']['length'] == 0
    run_arn = next(e for e in events if e['type'] == 'MapRunStarted')['mapRunStartedEventDetails']['mapRunArn']
    # arn:aws:states:REGION:ACCOUNT:mapRun:MACHINE/LABEL:ID
    head, machine_name, rest = run_arn.split(':mapRun:')[0], *run_arn.split(':mapRun:')[1].split('/', 1)
    assert head.startswith('arn:aws:states:us-east-1:')
    assert machine_name.startswith('dmap-') and rest.count(':') == 1


def test_jsonl_reader_and_max_items(sfn, s3):
    lines = '\n'.join(json.dumps({'n': i}) for i in range(10)) + '\n'
    b = bucket(s3, {'x.jsonl': lines})
    out, _ = ok(sfn, machine(get_object(ReaderConfig={'InputType': 'JSONL', 'MaxItemsPath': '$.Max'})),
                {'Bucket': b, 'Key': 'x.jsonl', 'Max': 4})
    assert out == [{'n': i} for i in range(4)]
    out, _ = ok(sfn, machine(get_object(ReaderConfig={'InputType': 'JSONL', 'MaxItems': 0})),
                {'Bucket': b, 'Key': 'x.jsonl'})
    assert len(out) == 10


@pytest.mark.parametrize('delimiter,sep', [('COMMA', ','), ('PIPE', '|'), ('SEMICOLON', ';'), ('SPACE', ' '),
                                           ('TAB', '\t')])
def test_csv_reader_delimiters_and_header_locations(sfn, s3, delimiter, sep):
    rows = [['id', 'name'], ['1', 'a'], ['2', '"quoted' + sep + 'value"'], ['3']]
    text = '\n'.join(sep.join(r) for r in rows) + '\n'
    b = bucket(s3, {'t.csv': text})
    out, _ = ok(sfn, machine(get_object(ReaderConfig={'InputType': 'CSV', 'CSVHeaderLocation': 'FIRST_ROW',
                                                       'CSVDelimiter': delimiter})),
                {'Bucket': b, 'Key': 't.csv'})
    assert out == [{'id': '1', 'name': 'a'}, {'id': '2', 'name': 'quoted' + sep + 'value'}, {'id': '3', 'name': ''}]
    out, _ = ok(sfn, machine(get_object(ReaderConfig={'InputType': 'CSV', 'CSVHeaderLocation': 'GIVEN',
                                                       'CSVHeaders': ['A', 'B'], 'CSVDelimiter': delimiter,
                                                       'MaxItems': 2})),
                {'Bucket': b, 'Key': 't.csv'})
    assert out == [{'A': 'id', 'B': 'name'}, {'A': '1', 'B': 'a'}]


def test_list_objects_v2_reads_every_page(sfn, s3):
    b = bucket(s3)
    for i in range(1005):
        s3.put_object(Bucket=b, Key=f'in/{i:05d}.txt', Body=b'x' * (i % 7))
    s3.put_object(Bucket=b, Key='other/skip.txt', Body=b'no')
    reader = {'Resource': 'arn:aws:states:::s3:listObjectsV2', 'Parameters': {'Bucket.$': '$.Bucket', 'Prefix': 'in/'}}
    out, _ = ok(sfn, machine(reader), {'Bucket': b})
    assert len(out) == 1005
    listed = {o['Key']: o for o in s3.list_objects_v2(Bucket=b, Prefix='in/')['Contents']}
    first = out[0]
    assert list(first) == ['Etag', 'Key', 'LastModified', 'Size', 'StorageClass']
    assert first['Key'] == 'in/00000.txt' and first['Size'] == 0 and first['StorageClass'] == 'STANDARD'
    assert first['Etag'] == listed['in/00000.txt']['ETag']
    assert first['LastModified'] == int(listed['in/00000.txt']['LastModified'].timestamp())
    assert out[-1]['Key'] == 'in/01004.txt'


def test_s3_inventory_manifest(sfn, s3):
    b = bucket(s3)
    rows = [f'"{b}","photos/{i}.jpg","{100 + i}"' for i in range(5)]
    for n, chunk in enumerate([rows[:3], rows[3:]]):
        s3.put_object(Bucket=b, Key=f'inv/data/{n}.csv.gz', Body=gzip.compress(('\n'.join(chunk) + '\n').encode()))
    manifest = {'sourceBucket': b, 'destinationBucket': f'arn:aws:s3:::{b}', 'version': '2016-11-30',
                'fileFormat': 'CSV', 'fileSchema': 'Bucket, Key, Size',
                'files': [{'key': 'inv/data/0.csv.gz', 'size': 1, 'MD5checksum': 'x'},
                          {'key': 'inv/data/1.csv.gz', 'size': 1, 'MD5checksum': 'x'}]}
    s3.put_object(Bucket=b, Key='inv/manifest.json', Body=json.dumps(manifest))
    out, _ = ok(sfn, machine(get_object(ReaderConfig={'InputType': 'MANIFEST'})), {'Bucket': b, 'Key': 'inv/manifest.json'})
    assert out == [{'Bucket': b, 'Key': f'photos/{i}.jpg', 'Size': str(100 + i)} for i in range(5)]


def test_reader_failures_are_item_reader_failed(sfn, s3):
    b = bucket(s3, {'obj.json': json.dumps({'Hello': 'world'})})
    d, events = failed(sfn, machine(get_object(ReaderConfig={'InputType': 'JSON'})), {'Bucket': b, 'Key': 'obj.json'})
    assert (d['error'], d['cause']) == ('States.ItemReaderFailed', 'Attempting to map over non-iterable node.')
    assert [e['type'] for e in events][-4:] == ['MapRunStarted', 'MapRunFailed', 'MapStateFailed', 'ExecutionFailed']
    d, _ = failed(sfn, machine(get_object(ReaderConfig={'InputType': 'JSON'})), {'Bucket': b, 'Key': 'missing.json'})
    assert d['error'] == 'States.ItemReaderFailed' and 'Status Code: 404' in d['cause'], d
    d, _ = failed(sfn, machine(get_object(ReaderConfig={'InputType': 'CSV', 'CSVHeaderLocation': 'GIVEN',
                                                         'CSVHeaders': ['a', 'a']})), {'Bucket': b, 'Key': 'obj.json'})
    assert (d['error'], d['cause']) == ('States.ItemReaderFailed', 'CSV headers cannot contain duplicates.')
    # Caught like any error.
    caught = machine(get_object(ReaderConfig={'InputType': 'JSON'}),
                     Catch=[{'ErrorEquals': ['States.ItemReaderFailed'], 'Next': 'Handled'}])
    del caught['States']['M']['End']
    caught['States']['M']['Next'] = 'Handled'
    caught['States']['Handled'] = {'Type': 'Pass', 'Result': 'handled', 'End': True}
    out, _ = ok(sfn, caught, {'Bucket': b, 'Key': 'missing.json'})
    assert out == 'handled'


def test_item_batcher_by_count_and_bytes_with_selector(sfn, s3):
    items = [{'id': i, 'pad': 'x' * 20} for i in range(7)]
    b = bucket(s3, {'i.json': json.dumps(items)})
    m = machine(get_object(ReaderConfig={'InputType': 'JSON'}),
                ItemSelector={'index.$': '$$.Map.Item.Index', 'id.$': '$$.Map.Item.Value.id', 'job.$': '$.Job'},
                ItemBatcher={'MaxItemsPerBatch': 3, 'BatchInput': {'job.$': '$.Job'}})
    out, _ = ok(sfn, m, {'Bucket': b, 'Key': 'i.json', 'Job': 'j1'})
    assert [len(x['Items']) for x in out] == [3, 3, 1]
    assert out[0] == {'BatchInput': {'job': 'j1'},
                      'Items': [{'index': 0, 'id': 0, 'job': 'j1'}, {'index': 1, 'id': 1, 'job': 'j1'},
                                {'index': 2, 'id': 2, 'job': 'j1'}]}
    # By bytes: each item is 37 bytes of JSON; {"Items":[...]} with two is 87 bytes.
    m = machine(get_object(ReaderConfig={'InputType': 'JSON'}), ItemBatcher={'MaxInputBytesPerBatchPath': '$.Bytes'})
    out, _ = ok(sfn, m, {'Bucket': b, 'Key': 'i.json', 'Bytes': 87})
    assert [len(x['Items']) for x in out] == [2, 2, 2, 1]
    assert all(len(json.dumps(x, separators=(',', ':'))) <= 87 for x in out)


FLAKY = {'Check': {'Type': 'Choice', 'Choices': [{'Variable': '$.fail', 'BooleanEquals': True, 'Next': 'Boom'}],
                   'Default': 'Fine'},
         'Boom': {'Type': 'Fail', 'Error': 'ItemError', 'Cause': 'bad item'},
         'Fine': {'Type': 'Pass', 'End': True}}


def flaky_machine(**fields):
    m = machine(None, FLAKY, **fields)
    m['States']['M']['ItemProcessor']['StartAt'] = 'Check'
    return m


def test_tolerated_failures(sfn):
    items = [{'fail': i % 4 == 0, 'i': i} for i in range(8)]  # 2 of 8 fail
    out, _ = ok(sfn, flaky_machine(ToleratedFailureCount=2), items)
    assert out[0] == {'Error': 'ItemError', 'Cause': 'bad item'} and out[1] == items[1]
    out, _ = ok(sfn, flaky_machine(ToleratedFailurePercentagePath='$$.Execution.Input[0].i', MaxConcurrency=1),
                [dict(x, i=25 if n == 0 else x['i']) for n, x in enumerate(items)])
    d, events = failed(sfn, flaky_machine(ToleratedFailureCount=1), items)
    assert d['error'] == 'States.ExceedToleratedFailureThreshold'
    assert 'MapRunFailed' in [e['type'] for e in events]
    d, _ = failed(sfn, flaky_machine(), items)
    assert (d['error'], d['cause']) == ('ItemError', 'bad item')


def test_result_writer_files(sfn, s3):
    out_bucket = bucket(s3)
    items = [{'fail': i == 1, 'i': i} for i in range(3)]
    m = flaky_machine(ToleratedFailureCount=5,
                      ResultWriter={'Resource': 'arn:aws:states:::s3:putObject',
                                    'Parameters': {'Bucket': out_bucket, 'Prefix': 'runs'}})
    out, events = ok(sfn, m, items)
    run_arn = next(e for e in events if e['type'] == 'MapRunStarted')['mapRunStartedEventDetails']['mapRunArn']
    run_id = run_arn.rsplit(':', 1)[1]
    assert out == {'MapRunArn': run_arn,
                   'ResultWriterDetails': {'Bucket': out_bucket, 'Key': f'runs/{run_id}/manifest.json'}}
    manifest = json.loads(s3.get_object(Bucket=out_bucket, Key=f'runs/{run_id}/manifest.json')['Body'].read())
    assert manifest['DestinationBucket'] == out_bucket and manifest['MapRunArn'] == run_arn
    assert manifest['ResultFiles']['PENDING'] == []
    succeeded_key = f'runs/{run_id}/SUCCEEDED_0.json'
    assert [f['Key'] for f in manifest['ResultFiles']['SUCCEEDED']] == [succeeded_key]
    body = s3.get_object(Bucket=out_bucket, Key=succeeded_key)['Body'].read()
    assert manifest['ResultFiles']['SUCCEEDED'][0]['Size'] == len(body)
    succeeded = json.loads(body)
    assert [json.loads(e['Output']) for e in succeeded] == [items[0], items[2]]
    e = succeeded[0]
    assert list(e) == ['ExecutionArn', 'Input', 'InputDetails', 'Name', 'Output', 'OutputDetails', 'RedriveCount',
                       'RedriveStatus', 'RedriveStatusReason', 'StartDate', 'StateMachineArn', 'Status', 'StopDate']
    machine_part = run_arn.split(':mapRun:')[1].rsplit(':', 1)[0]
    assert e['ExecutionArn'].endswith(f':execution:{machine_part}:{e["Name"]}')
    assert e['StateMachineArn'].endswith(f':stateMachine:{machine_part}')
    assert e['Status'] == 'SUCCEEDED' and e['InputDetails'] == {'Included': True}
    failed_file = json.loads(s3.get_object(Bucket=out_bucket, Key=f'runs/{run_id}/FAILED_0.json')['Body'].read())
    assert [(f['Status'], f['Error'], f['Cause'], json.loads(f['Input'])) for f in failed_file] == \
        [('FAILED', 'ItemError', 'bad item', items[1])]
    # JSONL and COMPACT.
    m['States']['M']['ResultWriter']['WriterConfig'] = {'OutputType': 'JSONL', 'Transformation': 'COMPACT'}
    out, _ = ok(sfn, m, items)
    manifest = json.loads(s3.get_object(Bucket=out_bucket, Key=out['ResultWriterDetails']['Key'])['Body'].read())
    key = manifest['ResultFiles']['SUCCEEDED'][0]['Key']
    lines = s3.get_object(Bucket=out_bucket, Key=key)['Body'].read().decode().splitlines()
    assert [json.loads(x) for x in lines] == [items[0], items[2]]
    # A missing bucket: States.ResultWriterFailed.
    m['States']['M']['ResultWriter']['Parameters']['Bucket'] = 'no-such-bucket-' + new_name()
    d, events = failed(sfn, m, items)
    assert d['error'] == 'States.ResultWriterFailed' and 'Status Code: 404' in d['cause'], d


def test_writer_config_alone_flattens(sfn):
    m = machine(None, ResultWriter={'WriterConfig': {'Transformation': 'FLATTEN', 'OutputType': 'JSON'}})
    out, _ = ok(sfn, m, [[1, 2], [3], 4])
    assert out == [1, 2, 3, 4]


def test_run_reads_and_writes_a_local_folder():
    """Beyond AWS: `stepwise run --s3-dir DIR` reads and writes DIR/BUCKET/KEY."""
    d = tempfile.mkdtemp(prefix='stepwise-s3dir-')
    os.makedirs(os.path.join(d, 'data', 'in'))
    os.makedirs(os.path.join(d, 'results'))
    with open(os.path.join(d, 'data', 'in', 'rows.csv'), 'w') as f:
        f.write('a;b\n1;2\n3;4\n')
    m = machine(get_object(ReaderConfig={'InputType': 'CSV', 'CSVDelimiter': 'SEMICOLON'}),
                ResultWriter={'Resource': 'arn:aws:states:::s3:putObject',
                              'Parameters': {'Bucket': 'results', 'Prefix': 'out'}})
    path = os.path.join(d, 'm.asl.json')
    with open(path, 'w') as f:
        json.dump(m, f)
    r = subprocess.run([stepwise_bin(), 'run', path, '--quiet', '--s3-dir', d, '--input',
                        json.dumps({'Bucket': 'data', 'Key': 'in/rows.csv'})], capture_output=True, text=True,
                       timeout=DEADLINE)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    manifest_path = os.path.join(d, 'results', out['ResultWriterDetails']['Key'])
    with open(manifest_path) as f:
        manifest = json.load(f)
    with open(os.path.join(d, 'results', manifest['ResultFiles']['SUCCEEDED'][0]['Key'])) as f:
        entries = json.load(f)
    assert [json.loads(e['Output']) for e in entries] == [{'a': '1', 'b': '2'}, {'a': '3', 'b': '4'}]
    # listObjectsV2 on the folder.
    reader = {'Resource': 'arn:aws:states:::s3:listObjectsV2', 'Parameters': {'Bucket': 'data'}}
    with open(path, 'w') as f:
        json.dump(machine(reader), f)
    r = subprocess.run([stepwise_bin(), 'run', path, '--quiet', '--s3-dir', d], capture_output=True, text=True,
                       timeout=DEADLINE)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert [(o['Key'], o['Size']) for o in out] == [('in/rows.csv', 12)]


def test_map_run_api_and_update_map_run_while_running(sfn, server):
    """DescribeMapRun and ListMapRuns follow a map run whose children wait for their task
    tokens; UpdateMapRun raises MaxConcurrency while it runs and the waiting items start."""
    run_id = new_name('k')
    processor = {'Hold': {'Type': 'Task', 'Resource': 'arn:aws:states:::lambda:invoke.waitForTaskToken',
                          'Parameters': {'FunctionName': 'hold-token',
                                         'Payload': {'key.$': '$.key', 'token.$': '$$.Task.Token'}},
                          'End': True}}
    m = machine(None, processor, MaxConcurrency=1, ToleratedFailureCount=1, Label='Holds')
    m['States']['M']['ItemProcessor']['StartAt'] = 'Hold'
    items = [{'key': f'{run_id}-{i}'} for i in range(4)]
    arn = sfn.create_state_machine(name=new_name('dmap'), definition=json.dumps(m), roleArn=ROLE)['stateMachineArn']
    ex = sfn.start_execution(stateMachineArn=arn, input=json.dumps(items))['executionArn']
    first = server.lam.wait_payload(items[0]['key'])
    runs = sfn.list_map_runs(executionArn=ex)['mapRuns']
    assert len(runs) == 1 and 'stopDate' not in runs[0]
    run_arn = runs[0]['mapRunArn']
    machine_name = arn.rsplit(':', 1)[1]
    assert run_arn.startswith(arn.replace(':stateMachine:', ':mapRun:') + '/Holds:')
    assert runs[0]['stateMachineArn'] == f'{arn}/Holds' and runs[0]['executionArn'] == ex
    d = sfn.describe_map_run(mapRunArn=run_arn)
    assert (d['status'], d['maxConcurrency'], d['toleratedFailureCount'], d['executionArn']) == \
        ('RUNNING', 1, 1, ex)
    assert (d['itemCounts']['running'], d['itemCounts']['pending'], d['itemCounts']['total']) == (1, 3, 4)
    # More room while it runs: the three waiting items start.
    sfn.update_map_run(mapRunArn=run_arn, maxConcurrency=4, toleratedFailurePercentage=50)
    payloads = [first] + [server.lam.wait_payload(x['key']) for x in items[1:]]
    d = sfn.describe_map_run(mapRunArn=run_arn)
    assert (d['maxConcurrency'], d['toleratedFailurePercentage'], d['itemCounts']['running']) == (4, 50, 4)
    for p in payloads:
        sfn.send_task_success(taskToken=p['token'], output=json.dumps({'done': p['key']}))
    done = wait_done(sfn, ex)
    assert done['status'] == 'SUCCEEDED', done
    assert json.loads(done['output']) == [{'done': x['key']} for x in items]
    d = sfn.describe_map_run(mapRunArn=run_arn)
    assert d['status'] == 'SUCCEEDED' and 'stopDate' in d
    assert d['itemCounts'] == d['executionCounts'] == {
        'pending': 0, 'running': 0, 'succeeded': 4, 'failed': 0, 'timedOut': 0, 'aborted': 0, 'total': 4,
        'resultsWritten': 0, 'failuresNotRedrivable': 0, 'pendingRedrive': 0}
    assert 'stopDate' in sfn.list_map_runs(executionArn=ex)['mapRuns'][0]
    # An ended run cannot be updated; an unknown one is not found.
    from botocore.exceptions import ClientError
    with pytest.raises(ClientError) as e:
        sfn.update_map_run(mapRunArn=run_arn, maxConcurrency=2)
    assert e.value.response['Error']['Code'] == 'ValidationException'
    with pytest.raises(ClientError) as e:
        sfn.describe_map_run(mapRunArn=run_arn.rsplit(':', 1)[0] + ':00000000-0000-0000-0000-000000000000')
    assert e.value.response['Error']['Code'] == 'ResourceNotFound'
    assert machine_name


def test_map_run_counts_batches_and_aborts(sfn, server):
    """Item counts follow the batches; a stopped execution's map run ends ABORTED."""
    key = new_name('k')
    processor = {'Hold': {'Type': 'Task', 'Resource': 'arn:aws:states:::lambda:invoke.waitForTaskToken',
                          'Parameters': {'FunctionName': 'hold-token',
                                         'Payload': {'key.$': '$.BatchInput.key', 'token.$': '$$.Task.Token'}},
                          'End': True}}
    m = machine(None, processor, MaxConcurrency=1,
                ItemBatcher={'MaxItemsPerBatch': 3, 'BatchInput': {'key.$': '$$.Execution.Input[0].key'}})
    m['States']['M']['ItemProcessor']['StartAt'] = 'Hold'
    items = [{'key': key, 'i': i} for i in range(7)]
    arn = sfn.create_state_machine(name=new_name('dmap'), definition=json.dumps(m), roleArn=ROLE)['stateMachineArn']
    ex = sfn.start_execution(stateMachineArn=arn, input=json.dumps(items))['executionArn']
    server.lam.wait_payload(key)
    run_arn = sfn.list_map_runs(executionArn=ex)['mapRuns'][0]['mapRunArn']
    d = sfn.describe_map_run(mapRunArn=run_arn)
    assert (d['itemCounts']['running'], d['itemCounts']['pending'], d['itemCounts']['total']) == (3, 4, 7)
    assert (d['executionCounts']['running'], d['executionCounts']['pending'],
            d['executionCounts']['total']) == (1, 2, 3)
    sfn.stop_execution(executionArn=ex)
    wait_done(sfn, ex)
    events = full_history(sfn, ex)
    # MapRunAborted (no details in AWS's model), then ExecutionAborted.
    assert [e['type'] for e in events][-2:] == ['MapRunAborted', 'ExecutionAborted']
    aborted = events[-2]
    assert set(aborted) == {'timestamp', 'type', 'id', 'previousEventId'}, aborted
    assert aborted['previousEventId'] == next(e['id'] for e in events if e['type'] == 'MapRunStarted')
    d = sfn.describe_map_run(mapRunArn=run_arn)
    assert d['status'] == 'ABORTED'
    assert (d['itemCounts']['aborted'], d['itemCounts']['pending']) == (3, 4)


# ---------------------------------------------------------------- the AWS-recorded cases

CSV_4 = 'Col1,Col2\nValue1,Value2\nValue3,Value4\nValue5,Value6\nValue7,Value8\n'
# The objects LocalStack's tests put in the bucket before each recorded execution.
RECORDED_DATA = {
    'test_map_item_reader_base_csv_headers_first_line': {
        'file.csv': 'Col1,Col2,Col3\nValue1,Value2,Value3\nValue4,Value5,Value6\n,,,\ntrue,1,\'HelloWorld\'\n'
                    'Null,None,\n   \n'},
    'test_map_item_reader_base_json': {'file.json': json.dumps(VERDICTS)},
    'test_map_item_reader_base_json_max_items': {'file.json': json.dumps([VERDICTS[0]] * 3)},
    'test_map_item_reader_base_json_max_items_jsonata': {'file.json': json.dumps(VERDICTS)},
    'test_map_item_reader_base_list_objects_v2': {f'file_{i}.txt': f'{i}HelloWorld!' for i in range(3)},
    'test_map_item_reader_csv_headers_first_row_typed_headers': {
        'file.csv': '0,True,{}\nValue4,Value5,Value6\n,,,\ntrue,1,\'HelloWorld\'\nNull,None,\n   \n'},
    'test_map_item_reader_csv_max_items_paths': {'file.csv': CSV_4},
    'test_map_item_batching_base_json_max_per_batch_jsonata': {'file.json': json.dumps(VERDICTS)},
    'test_reference_in_map_state_max_items_path': {
        'file.json': json.dumps(VERDICTS + [{'verdict': 'false', 'statement_date': '5/18/2024', 'statement_source': 'x'}])},
}


def recorded_cases():
    if not os.path.isdir(CASES):
        return []
    out = []
    for name in sorted(os.listdir(CASES)):
        with open(os.path.join(CASES, name, 'meta.json')) as f:
            meta = json.load(f)
        if meta.get('needs') == ['s3']:
            out.append(name)
    return out


def normalised(output, test):
    """The recorder's placeholders put back where a value is not reproducible."""
    if output is None:
        return None
    v = json.loads(output) if isinstance(output, str) else output
    if 'list_objects_v2' in test:
        return [{'Key': o['Key'], 'Size': o['Size'], 'StorageClass': o['StorageClass']} for o in v]
    if 'batching' in test:
        for batch in v:
            batch['BatchInput']['BatchTimestamp'] = 'date'
    return v


@pytest.mark.parametrize('case', recorded_cases())
def test_recorded_distributed_map_cases(sfn, s3, case):
    with open(os.path.join(CASES, case, 'meta.json')) as f:
        meta = json.load(f)
    test = meta['key'].split('::')[-1].split('[')[0]
    data = RECORDED_DATA[test]
    with open(os.path.join(CASES, case, 'definition.json')) as f:
        definition = json.load(f)
    with open(os.path.join(CASES, case, 'input.json')) as f:
        input_ = json.load(f)
    with open(os.path.join(CASES, case, 'expected.json')) as f:
        expected = json.load(f)
    b = bucket(s3, data)
    input_['Bucket'] = b
    d, events = run(sfn, definition, input_)
    assert d['status'] == expected['status'], (d, events[-3:])
    assert [e['type'] for e in events] == expected['events']
    if expected['status'] == 'SUCCEEDED':
        assert normalised(d['output'], test) == normalised(expected['output'], test)
    else:
        assert d.get('error') == expected['error']
        assert d.get('cause') == expected['cause']


def test_children_are_child_executions(sfn, s3):
    """Each child is an execution of its own: listed by its map run, described with the map run's
    ARN, with its own history; the map run's counts follow them."""
    m = machine(None, {'P': {'Type': 'Pass', 'Parameters': {'got.$': '$.v'}, 'End': True}}, Label='Kids')
    items = [{'v': i} for i in range(3)]
    out, events = ok(sfn, m, items)
    assert out == [{'got': 0}, {'got': 1}, {'got': 2}]
    types = [e['type'] for e in events]
    assert 'MapRunStarted' in types and 'MapRunSucceeded' in types and 'PassStateEntered' not in types
    run_arn = next(e for e in events if e['type'] == 'MapRunStarted')['mapRunStartedEventDetails']['mapRunArn']
    machine_part = run_arn.split(':mapRun:')[1].rsplit(':', 1)[0]
    assert machine_part.endswith('/Kids')
    children = sfn.list_executions(mapRunArn=run_arn)['executions']
    assert len(children) == 3
    for c in children:
        assert c['mapRunArn'] == run_arn and c['status'] == 'SUCCEEDED'
        assert c['executionArn'].split(':execution:')[1] == f'{machine_part}:{c["name"]}'
        assert c['stateMachineArn'].endswith(f':stateMachine:{machine_part}')
    inputs = []
    for c in children:
        d = sfn.describe_execution(executionArn=c['executionArn'])
        assert d['mapRunArn'] == run_arn and d['status'] == 'SUCCEEDED'
        inputs.append(json.loads(d['input']))
        assert json.loads(d['output']) == {'got': json.loads(d['input'])['v']}
        h = [e['type'] for e in full_history(sfn, c['executionArn'])]
        assert h == ['ExecutionStarted', 'PassStateEntered', 'PassStateExited', 'ExecutionSucceeded']
    assert sorted(inputs, key=lambda i: i['v']) == items
    d = sfn.describe_map_run(mapRunArn=run_arn)
    assert d['status'] == 'SUCCEEDED' and 'stopDate' in d
    assert d['executionCounts']['succeeded'] == 3 and d['executionCounts']['total'] == 3
    assert d['itemCounts']['succeeded'] == 3 and d['itemCounts']['running'] == 0
    # The parent's machine lists the parent only.
    sm = run_arn.replace(':mapRun:', ':stateMachine:').split('/')[0]
    listed = sfn.list_executions(stateMachineArn=sm)['executions']
    assert len(listed) == 1 and 'mapRunArn' not in listed[0]


def test_express_children_and_failed_children_listed(sfn, s3):
    """EXPRESS children have express ARNs (in the result files); a failed STANDARD child is listed
    FAILED by its map run, with its error."""
    out_bucket = bucket(s3)
    m = machine(None, ResultWriter={'Resource': 'arn:aws:states:::s3:putObject',
                                    'Parameters': {'Bucket': out_bucket, 'Prefix': 'x'}})
    m['States']['M']['ItemProcessor']['ProcessorConfig']['ExecutionType'] = 'EXPRESS'
    out, _ = ok(sfn, m, [1, 2])
    manifest = json.loads(s3.get_object(Bucket=out_bucket, Key=out['ResultWriterDetails']['Key'])['Body'].read())
    entries = json.loads(s3.get_object(Bucket=out_bucket, Key=manifest['ResultFiles']['SUCCEEDED'][0]['Key'])['Body'].read())
    machine_part = out['MapRunArn'].split(':mapRun:')[1].rsplit(':', 1)[0]
    for e in entries:
        assert f':express:{machine_part}:{e["Name"]}:' in e['ExecutionArn'], e['ExecutionArn']
    fail = machine(None, {'F': {'Type': 'Fail', 'Error': 'Bad', 'Cause': 'no'}})
    fail['States']['M']['ItemProcessor']['StartAt'] = 'F'
    d, events = failed(sfn, fail, [1])
    run_arn = next(e for e in events if e['type'] == 'MapRunStarted')['mapRunStartedEventDetails']['mapRunArn']
    assert [e['type'] for e in events][-3:] == ['MapRunFailed', 'MapStateFailed', 'ExecutionFailed']
    kids = sfn.list_executions(mapRunArn=run_arn)['executions']
    assert [k['status'] for k in kids] == ['FAILED']
    k = sfn.describe_execution(executionArn=kids[0]['executionArn'])
    assert (k['error'], k['cause']) == ('Bad', 'no')
    assert sfn.describe_map_run(mapRunArn=run_arn)['status'] == 'FAILED'


def test_jsonl_and_csv_read_in_ranges(sfn, s3):
    """Objects larger than one ranged read (256 KiB) are read a range at a time: every line
    once, a CSV field with a newline inside quotes kept whole."""
    n = 20000
    jsonl = ''.join(json.dumps({'i': i, 'pad': 'x' * 20}) + '\n' for i in range(n))
    csv = 'i,text\n' + ''.join(f'{i},"line {i}\nnext"\n' for i in range(n))
    b = bucket(s3, {'big.jsonl': jsonl, 'big.csv': csv})
    count = {'P': {'Type': 'Pass', 'Parameters': {'n.$': 'States.ArrayLength($.Items)',
                                                  'first.$': '$.Items[0]'}, 'End': True}}
    m = machine(get_object(ReaderConfig={'InputType': 'JSONL'}), count, ItemBatcher={'MaxItemsPerBatch': 1000})
    out, _ = ok(sfn, m, {'Bucket': b, 'Key': 'big.jsonl'})
    assert sum(o['n'] for o in out) == n and [o['first']['i'] for o in out] == list(range(0, n, 1000))
    m = machine(get_object(ReaderConfig={'InputType': 'CSV', 'CSVHeaderLocation': 'FIRST_ROW'}), count,
                ItemBatcher={'MaxItemsPerBatch': 1000})
    out, _ = ok(sfn, m, {'Bucket': b, 'Key': 'big.csv'})
    assert sum(o['n'] for o in out) == n
    assert out[3]['first'] == {'i': '3000', 'text': 'line 3000\nnext'}


def test_redrive_reruns_only_failed_and_pending_children(sfn):
    """RedriveExecution of a parent whose map run failed runs the same map run again
    (MapRunRedriven): the child that succeeded keeps its outcome, the failed one is redriven,
    the one that never started starts; DescribeMapRun counts the redrive."""
    # Item 1 fails until its child execution is redriven (a redrive restarts at the failed state).
    processor = {'W': {'Type': 'Pass', 'QueryLanguage': 'JSONata', 'End': True, 'Output':
                       '{% ($states.context.Execution.RedriveCount = 0 and $states.input.v = 1) ? '
                       '$error("first time") : {"v": $states.input.v, '
                       '"rc": $states.context.Execution.RedriveCount} %}'}}
    m = machine(None, processor, MaxConcurrency=1)
    m['States']['M']['ItemProcessor']['StartAt'] = 'W'
    arn = sfn.create_state_machine(name=new_name('dmap'), definition=json.dumps(m), roleArn=ROLE)['stateMachineArn']
    ex = sfn.start_execution(stateMachineArn=arn, input=json.dumps([{'v': i} for i in range(3)]))['executionArn']
    d = wait_done(sfn, ex)
    assert (d['status'], d['error']) == ('FAILED', 'States.QueryEvaluationError'), d
    run_arn = sfn.list_map_runs(executionArn=ex)['mapRuns'][0]['mapRunArn']
    first = {k['name']: k for k in sfn.list_executions(mapRunArn=run_arn)['executions']}
    assert sorted(k['status'] for k in first.values()) == ['FAILED', 'SUCCEEDED']
    assert sfn.describe_map_run(mapRunArn=run_arn)['status'] == 'FAILED'
    sfn.redrive_execution(executionArn=ex)
    d = wait_done(sfn, ex)
    assert d['status'] == 'SUCCEEDED', d
    assert json.loads(d['output']) == [{'v': 0, 'rc': 0}, {'v': 1, 'rc': 1}, {'v': 2, 'rc': 0}]
    events = full_history(sfn, ex)
    redriven = [e for e in events if e['type'] == 'MapRunRedriven']
    assert [e['mapRunRedrivenEventDetails'] for e in redriven] == [{'mapRunArn': run_arn, 'redriveCount': 1}]
    assert [e['type'] for e in events].count('MapRunStarted') == 1
    kids = sfn.list_executions(mapRunArn=run_arn)['executions']
    assert len(kids) == 3 and all(k['status'] == 'SUCCEEDED' for k in kids)
    by_name = {k['name']: k for k in kids}
    for name, before in first.items():
        assert by_name[name]['redriveCount'] == (1 if before['status'] == 'FAILED' else 0)
    d = sfn.describe_map_run(mapRunArn=run_arn)
    assert (d['status'], d['redriveCount']) == ('SUCCEEDED', 1) and 'redriveDate' in d
    assert d['executionCounts']['succeeded'] == 3


# ---------------------------------------------------------------- streaming, result files, restarts

def test_json_array_and_non_ascii_lines_read_in_ranges(sfn, s3):
    """A JSON array larger than one ranged read is read element by element (strings holding
    brackets, commas and quotes stay whole); JSONL with characters that a range boundary cuts
    in two reads back unchanged."""
    n = 3000
    # Mostly three-byte characters: the ranges' ends fall inside them.
    items = [{'i': i, 'text': 'é,]}[{"\\ ' + str(i) + ' ' + '✓' * 40} for i in range(n)]
    b = bucket(s3, {'big.json': json.dumps(items, ensure_ascii=False).encode(),
                    'big.jsonl': ''.join(json.dumps(x, ensure_ascii=False) + '\n' for x in items).encode()})
    count = {'P': {'Type': 'Pass', 'Parameters': {'n.$': 'States.ArrayLength($.Items)', 'first.$': '$.Items[0]',
                                                  'last.$': '$.Items[-1:]'}, 'End': True}}
    for fmt, key in [('JSON', 'big.json'), ('JSONL', 'big.jsonl')]:
        m = machine(get_object(ReaderConfig={'InputType': fmt}), count, ItemBatcher={'MaxItemsPerBatch': 1000})
        out, _ = ok(sfn, m, {'Bucket': b, 'Key': key})
        assert sum(o['n'] for o in out) == n, fmt
        assert [o['first'] for o in out] == items[::1000], fmt
        assert out[-1]['last'] == [items[-1]], fmt
    # MaxItems stops the read early; a truncated array fails the reader.
    m = machine(get_object(ReaderConfig={'InputType': 'JSON', 'MaxItems': 3}))
    out, _ = ok(sfn, m, {'Bucket': b, 'Key': 'big.json'})
    assert out == items[:3]
    b2 = bucket(s3, {'cut.json': json.dumps(items)[:-2]})
    d, _ = failed(sfn, machine(get_object(ReaderConfig={'InputType': 'JSON'})), {'Bucket': b2, 'Key': 'cut.json'})
    assert d['error'] == 'States.ItemReaderFailed' and 'JSON' in d['cause'], d


def test_inventory_data_files_larger_than_a_range(sfn, s3):
    """An S3 inventory whose gzipped data files are larger than one ranged read: every row."""
    import uuid
    b = bucket(s3)
    rows = [f'"{b}","k/{uuid.uuid4().hex}{uuid.uuid4().hex}","{i}"' for i in range(24000)]
    body = gzip.compress(('\n'.join(rows) + '\n').encode())
    assert len(body) > 256 * 1024
    s3.put_object(Bucket=b, Key='inv/data/0.csv.gz', Body=body)
    s3.put_object(Bucket=b, Key='inv/data/1.csv', Body=f'"{b}","plain","x"\n'.encode())
    manifest = {'sourceBucket': b, 'destinationBucket': f'arn:aws:s3:::{b}', 'version': '2016-11-30',
                'fileFormat': 'CSV', 'fileSchema': 'Bucket, Key, Size',
                'files': [{'key': 'inv/data/0.csv.gz', 'size': len(body), 'MD5checksum': 'x'},
                          {'key': 'inv/data/1.csv', 'size': 1, 'MD5checksum': 'x'}]}
    s3.put_object(Bucket=b, Key='inv/manifest.json', Body=json.dumps(manifest))
    count = {'P': {'Type': 'Pass', 'Parameters': {'n.$': 'States.ArrayLength($.Items)', 'first.$': '$.Items[0]'},
                   'End': True}}
    m = machine(get_object(ReaderConfig={'InputType': 'MANIFEST'}), count, ItemBatcher={'MaxItemsPerBatch': 5000})
    out, _ = ok(sfn, m, {'Bucket': b, 'Key': 'inv/manifest.json'})
    assert sum(o['n'] for o in out) == 24001
    assert out[0]['first'] == {'Bucket': b, 'Key': rows[0].split('","')[1], 'Size': '0'}
    assert out[-1]['first']['Key'] == rows[20000].split('","')[1]


def test_result_files_split_and_uploaded_in_parts(moto, s3):
    """Result files split at the size limit (AWS's 5 GB; STEPWISE_RESULT_FILE_BYTES here) as
    SUCCEEDED_0.json, SUCCEEDED_1.json, ...; a file past one 5 MiB part goes up as a multipart
    upload. Through `stepwise run`, which runs map runs as `serve` does."""
    limit = 8 << 20
    pad = 'x' * 100_000
    n = 60
    b = bucket(s3, {'in.jsonl': ''.join(json.dumps({'i': i, 'pad': pad}) + '\n' for i in range(n))})
    m = machine(get_object(ReaderConfig={'InputType': 'JSONL'}), MaxConcurrency=5,
                ResultWriter={'Resource': 'arn:aws:states:::s3:putObject', 'Parameters': {'Bucket': b, 'Prefix': 'r'}})
    d = tempfile.mkdtemp(prefix='stepwise-split-')
    path = os.path.join(d, 'split.asl.json')
    with open(path, 'w') as f:
        json.dump(m, f)
    r = subprocess.run([stepwise_bin(), 'run', path, '--quiet', '--aws-endpoint-url', moto, '--input',
                        json.dumps({'Bucket': b, 'Key': 'in.jsonl'})], capture_output=True, text=True,
                       timeout=DEADLINE, env=dict(os.environ, STEPWISE_RESULT_FILE_BYTES=str(limit)))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    manifest = json.loads(s3.get_object(Bucket=b, Key=out['ResultWriterDetails']['Key'])['Body'].read())
    folder = out['ResultWriterDetails']['Key'].rsplit('/', 1)[0]
    files = manifest['ResultFiles']['SUCCEEDED']
    assert [f['Key'] for f in files] == [f'{folder}/SUCCEEDED_0.json', f'{folder}/SUCCEEDED_1.json']
    entries = []
    for f in files:
        head = s3.head_object(Bucket=b, Key=f['Key'])
        assert head['ContentLength'] == f['Size'] <= limit
        body = s3.get_object(Bucket=b, Key=f['Key'])['Body'].read()
        assert len(body) == f['Size']
        entries += json.loads(body)
    # The first file went up in parts: S3 says so in its ETag ("...-2").
    assert s3.head_object(Bucket=b, Key=files[0]['Key'])['ETag'].strip('"').endswith('-2')
    assert [json.loads(e['Output'])['i'] for e in entries] == list(range(n))


def test_map_run_survives_a_serve_restart(moto, s3):
    """kill -9 of `serve` in the middle of a map run: restarted on the same data directory, the
    run goes on and ends with every child once (none started twice), the right counts and the
    result files."""
    import signal
    data = tempfile.mkdtemp(prefix='stepwise-restart-')
    port = free_port()

    def start():
        proc = subprocess.Popen([stepwise_bin(), 'serve', '--host', '127.0.0.1', '--port', str(port),
                                 '--data-dir', data, '--aws-endpoint-url', moto],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import socket
        end = time.monotonic() + DEADLINE
        while True:
            assert proc.poll() is None
            try:
                socket.create_connection(('127.0.0.1', port), timeout=1).close()
                return proc
            except OSError:
                assert time.monotonic() < end
                time.sleep(0.1)

    out_bucket = bucket(s3)
    n = 10
    m = machine(None, {'W': {'Type': 'Wait', 'Seconds': 1, 'End': True}}, MaxConcurrency=2,
                ResultWriter={'Resource': 'arn:aws:states:::s3:putObject',
                              'Parameters': {'Bucket': out_bucket, 'Prefix': 'x'}})
    m['States']['M']['ItemProcessor']['StartAt'] = 'W'
    proc = start()
    try:
        sfn = client(f'http://127.0.0.1:{port}')
        arn = sfn.create_state_machine(name=new_name('dmap'), definition=json.dumps(m), roleArn=ROLE)['stateMachineArn']
        ex = sfn.start_execution(stateMachineArn=arn, input=json.dumps([{'v': i} for i in range(n)]))['executionArn']
        end = time.monotonic() + DEADLINE
        while True:
            runs = sfn.list_map_runs(executionArn=ex)['mapRuns']
            if runs and sfn.describe_map_run(mapRunArn=runs[0]['mapRunArn'])['itemCounts']['succeeded'] >= 3:
                break
            assert time.monotonic() < end
            time.sleep(0.05)
        run_arn = runs[0]['mapRunArn']
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc = start()
        sfn = client(f'http://127.0.0.1:{port}')
        before = sfn.list_executions(mapRunArn=run_arn)['executions']
        assert 3 <= sum(k['status'] == 'SUCCEEDED' for k in before) < n, before
        d = wait_done(sfn, ex)
        assert d['status'] == 'SUCCEEDED', d
        kids = sfn.list_executions(mapRunArn=run_arn)['executions']
        assert len(kids) == n and all(k['status'] == 'SUCCEEDED' for k in kids)
        inputs = []
        for k in kids:
            h = full_history(sfn, k['executionArn'])
            # Started once, waited once.
            assert [e['type'] for e in h] == ['ExecutionStarted', 'WaitStateEntered', 'WaitStateExited',
                                              'ExecutionSucceeded'], h
            inputs.append(json.loads(sfn.describe_execution(executionArn=k['executionArn'])['input'])['v'])
        assert sorted(inputs) == list(range(n))
        dm = sfn.describe_map_run(mapRunArn=run_arn)
        assert dm['status'] == 'SUCCEEDED'
        assert (dm['itemCounts']['succeeded'], dm['itemCounts']['total'], dm['executionCounts']['total']) == (n, n, n)
        out = json.loads(d['output'])
        manifest = json.loads(s3.get_object(Bucket=out_bucket, Key=out['ResultWriterDetails']['Key'])['Body'].read())
        entries = json.loads(s3.get_object(Bucket=out_bucket,
                                           Key=manifest['ResultFiles']['SUCCEEDED'][0]['Key'])['Body'].read())
        assert sorted(json.loads(e['Input'])['v'] for e in entries) == list(range(n))
        assert len({e['ExecutionArn'] for e in entries}) == n
    finally:
        proc.kill()
        proc.wait()
        import shutil
        shutil.rmtree(data, ignore_errors=True)



def test_items_read_are_counted_as_pending_early(sfn, s3, server):
    """Items an ItemReader reads are all counted (a counting pass beside the run): while the
    first child waits, DescribeMapRun has every item and child, the rest pending."""
    key = new_name('k')
    lines = ''.join(json.dumps({'key': key, 'i': i}) + '\n' for i in range(7))
    b = bucket(s3, {'items.jsonl': lines})
    processor = {'Hold': {'Type': 'Task', 'Resource': 'arn:aws:states:::lambda:invoke.waitForTaskToken',
                          'Parameters': {'FunctionName': 'hold-token',
                                         'Payload': {'key.$': '$.Items[0].key', 'token.$': '$$.Task.Token'}},
                          'End': True}}
    m = machine(get_object(ReaderConfig={'InputType': 'JSONL'}), processor, MaxConcurrency=1,
                ItemBatcher={'MaxItemsPerBatch': 3})
    m['States']['M']['ItemProcessor']['StartAt'] = 'Hold'
    arn = sfn.create_state_machine(name=new_name('dmap'), definition=json.dumps(m), roleArn=ROLE)['stateMachineArn']
    ex = sfn.start_execution(stateMachineArn=arn, input=json.dumps({'Bucket': b, 'Key': 'items.jsonl'}))['executionArn']
    first = server.lam.wait_payload(key)
    run_arn = sfn.list_map_runs(executionArn=ex)['mapRuns'][0]['mapRunArn']
    end = time.monotonic() + DEADLINE
    while True:
        d = sfn.describe_map_run(mapRunArn=run_arn)
        if d['itemCounts']['total'] == 7 or time.monotonic() > end:
            break
        time.sleep(0.05)
    assert (d['itemCounts']['running'], d['itemCounts']['pending'], d['itemCounts']['total']) == (3, 4, 7), d
    assert (d['executionCounts']['running'], d['executionCounts']['pending'],
            d['executionCounts']['total']) == (1, 2, 3), d
    sfn.stop_execution(executionArn=ex)
    wait_done(sfn, ex)
    assert first['token']


# AWS-recorded distributed-Map executions of LocalStack's test_base_scenarios that are not in the
# conformance corpus (its definitions are LocalStack's templates with the test's CSVHeaders; the
# data is what the test puts in the bucket; the expected events and result are the snapshot's).
CSV_6 = "Value1,Value2,Value3\nValue4,Value5,Value6\n,,,\ntrue,1,'HelloWorld'\nNull,None,\n   \n"
MORE_RECORDED = {
    'test_map_item_reader_base_csv_headers_decl': (
        {'InputType': 'CSV', 'CSVHeaderLocation': 'GIVEN', 'CSVHeaders': ['H1', 'H2', 'H3']}, {'file.csv': CSV_6},
        {"events": ["ExecutionStarted", "MapStateEntered", "MapStateStarted", "MapRunStarted", "MapRunSucceeded",
                    "MapStateSucceeded", "MapStateExited", "ExecutionSucceeded"],
         "output": [{"H1": "Value1", "H2": "Value2", "H3": "Value3"}, {"H1": "Value4", "H2": "Value5", "H3": "Value6"},
                    {"H1": "", "H2": "", "H3": ""}, {"H1": "true", "H2": "1", "H3": "'HelloWorld'"},
                    {"H1": "Null", "H2": "None", "H3": ""}, {"H1": "   ", "H2": "", "H3": ""}]}),
    'test_map_item_reader_csv_headers_decl_duplicate_headers': (
        {'InputType': 'CSV', 'CSVHeaderLocation': 'GIVEN', 'CSVHeaders': ['H1', 'H1', 'H3']}, {'file.csv': CSV_6},
        {"events": ["ExecutionStarted", "MapStateEntered", "MapStateStarted", "MapRunStarted", "MapRunFailed",
                    "MapStateFailed", "ExecutionFailed"],
         "error": "States.ItemReaderFailed", "cause": "CSV headers cannot contain duplicates."}),
    'test_map_item_reader_csv_headers_decl_extra_fields': (
        {'InputType': 'CSV', 'CSVHeaderLocation': 'GIVEN', 'CSVHeaders': ['H1']}, {'file.csv': CSV_6},
        {"events": ["ExecutionStarted", "MapStateEntered", "MapStateStarted", "MapRunStarted", "MapRunSucceeded",
                    "MapStateSucceeded", "MapStateExited", "ExecutionSucceeded"],
         "output": [{"H1": "Value1"}, {"H1": "Value4"}, {"H1": ""}, {"H1": "true"}, {"H1": "Null"}, {"H1": "   "}]}),
    'test_map_item_reader_csv_first_row_extra_fields': (
        {'InputType': 'CSV', 'CSVHeaderLocation': 'FIRST_ROW'},
        {'file.csv': "H1,\nValue4,Value5,Value6\n,,,\ntrue,1,'HelloWorld'\nNull,None,\n   \n"},
        {"events": ["ExecutionStarted", "MapStateEntered", "MapStateStarted", "MapRunStarted", "MapRunSucceeded",
                    "MapStateSucceeded", "MapStateExited", "ExecutionSucceeded"],
         "output": [{"": "Value5", "H1": "Value4"}, {"": "", "H1": ""}, {"": "1", "H1": "true"},
                    {"": "None", "H1": "Null"}, {"": "", "H1": "   "}]}),
    'test_map_item_reader_json_no_json_list_object': (
        {'InputType': 'JSON'}, {'file.json': json.dumps({'Hello': 'world'})},
        {"events": ["ExecutionStarted", "MapStateEntered", "MapStateStarted", "MapRunStarted", "MapRunFailed",
                    "MapStateFailed", "ExecutionFailed"],
         "error": "States.ItemReaderFailed", "cause": "Attempting to map over non-iterable node."}),
}


@pytest.mark.parametrize('test', sorted(MORE_RECORDED))
def test_more_recorded_item_reader_cases(sfn, s3, test):
    config, data, expected = MORE_RECORDED[test]
    m = machine(get_object(ReaderConfig=config), {'PassItem': {'Type': 'Pass', 'End': True}}, MaxConcurrency=1)
    m['States']['MapState'] = m['States'].pop('M')
    m['StartAt'] = 'MapState'
    m['States']['MapState']['ItemProcessor']['StartAt'] = 'PassItem'
    b = bucket(s3, data)
    d, events = run(sfn, m, {'Bucket': b, 'Key': next(iter(data))})
    assert [e['type'] for e in events] == expected['events']
    if 'output' in expected:
        assert json.loads(d['output']) == expected['output']
        # AWS's member order too (a Java HashMap's).
        assert [list(x) for x in json.loads(d['output'])] == [list(x) for x in expected['output']]
    else:
        assert (d.get('error'), d.get('cause')) == (expected['error'], expected['cause'])
