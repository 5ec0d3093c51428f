#!/usr/bin/env bash
# Checks the two deployments of the serverless home, offline and without building Rust:
#   1. cfn-lint template.yaml
#   2. sam validate --lint
#   3. cdk synth in infra/ with bundling skipped (-c skipBundling=true), then cfn-lint on its output
#   4. tests/infra/compare.py: both templates hold the same resources with the same key properties
#   5. sam build (cargo-lambda, arm64), when cargo-lambda and the aarch64 target are there
#
# Needs cfn-lint, sam (aws-sam-cli), python3 with aws-sam-translator (comes with cfn-lint), node and
# npm. Installs infra/node_modules with `npm ci` when it is missing.
# Exit status: 0 all passed, 1 a check failed, 77 a tool is missing (nothing was checked).
# Set SAM=/path/to/sam to use a SAM CLI that is not on PATH; target/sam-venv/bin/sam is tried too.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)

missing=()
command -v cfn-lint >/dev/null 2>&1 || missing+=("cfn-lint (pip install cfn-lint)")
# The SAM CLI pins botocore versions that fight the AWS CLI v1's, so it may live in its own
# virtualenv: target/sam-venv (see infra/README.md) is looked at after PATH.
SAM=${SAM:-$(command -v sam 2>/dev/null || true)}
[ -n "$SAM" ] || { [ -x target/sam-venv/bin/sam ] && SAM=$ROOT/target/sam-venv/bin/sam; }
[ -n "$SAM" ] && [ -x "$SAM" ] || missing+=("sam (pip install aws-sam-cli)")
command -v node >/dev/null 2>&1 || missing+=("node")
command -v npm >/dev/null 2>&1 || missing+=("npm")
python3 -c 'import samtranslator' >/dev/null 2>&1 || missing+=("python3 module samtranslator (pip install cfn-lint)")
if [ ${#missing[@]} -gt 0 ]; then
  echo "infra checks skipped: missing ${missing[*]}"
  exit 77
fi

export SAM_CLI_TELEMETRY=0 CDK_DISABLE_VERSION_CHECK=true CDK_DISABLE_CLI_TELEMETRY=true
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1} AWS_REGION=${AWS_REGION:-us-east-1}

passed=0
failed=0
step() { # name, command...
  local name=$1; shift
  local log; log=$(mktemp)
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1)); echo "ok   $name"
  else
    failed=$((failed + 1)); echo "FAIL $name"; sed 's/^/       /' "$log"
  fi
  rm -f "$log"
}

step "cfn-lint template.yaml" cfn-lint template.yaml
step "sam validate --lint" "$SAM" validate --lint --template-file template.yaml

if [ ! -x infra/node_modules/.bin/cdk ]; then
  step "npm ci (infra)" npm ci --prefix infra --no-audit --no-fund --loglevel=error
fi
OUT=$(mktemp -d "${TMPDIR:-/tmp}/stepwise-cdk-out.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
synth() {
  (cd "$ROOT/infra" && ./node_modules/.bin/cdk synth --quiet --no-notices -c skipBundling=true --output "$OUT")
}
step "cdk synth -c skipBundling=true" synth
TEMPLATE="$OUT/Stepwise.template.json"
if [ -f "$TEMPLATE" ]; then
  step "cfn-lint on the synthesized template" cfn-lint "$TEMPLATE"
  echo "--- parity (tests/infra/compare.py)"
  if python3 tests/infra/compare.py template.yaml "$TEMPLATE" | sed 's/^/  /'; then
    passed=$((passed + 1)); echo "ok   parity of template.yaml and the CDK app"
  else
    failed=$((failed + 1)); echo "FAIL parity of template.yaml and the CDK app"
  fi
else
  failed=$((failed + 1)); echo "FAIL no synthesized template at $TEMPLATE"
fi

# sam build: BuildMethod rust-cargolambda cross-compiles every function for arm64 with cargo-lambda
# (and zig). It needs the aarch64 standard library; without it (rustup offline) the step says so
# and is not counted. A debug build (SAM_BUILD_MODE=debug) proves the same build path in half the
# time of a release build.
sam_build() {
  local dir="$OUT/sam-build"
  # Its own target dir: cargo test holds the lock on target/ while this runs inside it.
  CARGO_TARGET_DIR="$ROOT/target/sam-target" SAM_BUILD_MODE=debug "$SAM" build --beta-features --template-file template.yaml --build-dir "$dir" || return 1
  local fn
  for fn in ApiFunction StepperFunction InvokerFunction TriggerFunction; do
    file "$dir/$fn/bootstrap" | grep -q 'ARM aarch64' || { echo "no arm64 bootstrap for $fn"; return 1; }
  done
  rm -rf "$dir"
}
# Opt-in (STEPWISE_SAM_BUILD=1): a cold cross-compile of every dependency takes ~12 minutes of
# this 2-core machine beside the other tests, which would put the test command past 30 minutes.
if [ "${STEPWISE_SAM_BUILD:-}" != 1 ]; then
  echo "skip sam build: set STEPWISE_SAM_BUILD=1 to run it"
elif command -v cargo-lambda >/dev/null 2>&1 && rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
  step "sam build (rust-cargolambda, arm64)" sam_build
else
  echo "skip sam build: needs cargo-lambda (pip install cargo-lambda ziglang) and rustup's aarch64-unknown-linux-gnu target"
fi

echo "infra: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
