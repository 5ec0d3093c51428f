"""LocalStack's AWS-recorded Step Functions API and TestState snapshots replayed through boto3 against
`stepwise serve` (snapshot_replay/replay.py; the recordings are in snapshot_replay/data). Every
replayed test must match its recording but those replay.KNOWN explains."""
import os
import sys

from common import Server

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'snapshot_replay'))
import replay  # noqa: E402


def test_recorded_api_exchanges_match(capsys):
    server = Server()
    try:
        sys.argv = ['replay.py', '--endpoint-url', server.endpoint]
        status = replay.main()
    finally:
        server.close()
    out = capsys.readouterr().out
    print(out)
    assert status == 0, out
