#!/usr/bin/env python3
"""The AWS-recorded conformance corpus through a Step Functions endpoint, read as tests/conformance.rs
reads it: ../shared/conformance/harness.py, unchanged, with one difference in how it loads a case.

The recordings keep a top-level input or output that is not an object as its JSON text ("[1,2,3]",
"42", "true") where AWS was given (or gave) the value itself. harness.py sends such an input as a
JSON string and compares such an output's text with the parsed output, so those cases fail against
any engine, AWS included. Here both are read back as the values they were, as the engine test does.

  conformance_serve.py --endpoint-url URL [harness.py's options] CASES_DIR

Prints what harness.py prints (a line per failing case, then `N passed, M failed`).
"""
import importlib.util
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get('STEPWISE_SHARED', os.path.join(HERE, '..', '..', 'shared'))


def unwrap_recorded_text(value):
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class RecordedJson:
    """harness.py's `json`, but `load` reads a case's input and expected output back as values."""

    def __getattr__(self, name):
        return getattr(json, name)

    @staticmethod
    def load(f, *args, **kwargs):
        value = json.load(f, *args, **kwargs)
        name = os.path.basename(getattr(f, 'name', ''))
        if name == 'input.json':
            return unwrap_recorded_text(value)
        if name == 'expected.json' and isinstance(value, dict):
            value['output'] = unwrap_recorded_text(value.get('output'))
        return value


def main():
    path = os.path.join(SHARED, 'conformance', 'harness.py')
    spec = importlib.util.spec_from_file_location('harness', path)
    harness = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(harness)
    harness.json = RecordedJson()
    sys.argv[0] = path
    return harness.main()


if __name__ == '__main__':
    sys.exit(main())
