#!/usr/bin/env bash
# Runs every test of the project: installs the real clients the end-to-end tests use (boto3, the
# AWS CLI, pytest, from PyPI), then `cargo test` over the whole workspace, which also runs the
# Python client tests against a `stepwise serve` it starts, and the AWS-recorded conformance corpus
# in ../shared when it is there.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
cargo test --workspace --all-targets "$@"
