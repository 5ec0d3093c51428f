#!/usr/bin/env bash
# Checks the two deployments of the serverless home, offline and without building Rust:
#   1. cfn-lint template.yaml
#   2. sam validate --lint
#   3. cdk synth in infra/ with bundling skipped (-c skipBundling=true), then cfn-lint on its output
#   4. tests/infra/compare.py: both templates hold the same resources with the same key properties
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

echo "infra: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
