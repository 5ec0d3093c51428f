#!/usr/bin/env bash
# The order flow (order-flow.asl.json) against real DynamoDB, SQS and SNS APIs served by moto on
# 127.0.0.1, with one command: `examples/order-flow.sh`. It installs moto's server and boto3 when
# missing, creates the table, queues and topic, runs the machine twice through `stepwise run
# --aws-endpoint-url` (the second run hits the duplicate-order Catch), and prints what each
# service holds afterwards. Set STEPWISE to a built binary to skip `cargo run`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"

export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_REGION="${AWS_REGION:-us-east-1}" AWS_DEFAULT_REGION="${AWS_REGION:-us-east-1}"

if ! command -v moto_server >/dev/null || ! python3 -c 'import boto3' 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check 'moto[server]' boto3
fi
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
moto_server -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
moto_pid=$!
trap 'kill $moto_pid 2>/dev/null || true' EXIT
endpoint="http://127.0.0.1:$port"
for _ in $(seq 100); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),1)" 2>/dev/null && break
  sleep 0.2
done

python3 - "$endpoint" <<'PY'
import boto3, json, sys
ep = sys.argv[1]
ddb = boto3.client("dynamodb", endpoint_url=ep)
ddb.create_table(TableName="Orders", BillingMode="PAY_PER_REQUEST",
                 KeySchema=[{"AttributeName": "orderId", "KeyType": "HASH"}],
                 AttributeDefinitions=[{"AttributeName": "orderId", "AttributeType": "S"}])
sqs = boto3.client("sqs", endpoint_url=ep)
sqs.create_queue(QueueName="order-review")
audit = sqs.create_queue(QueueName="order-events-audit")["QueueUrl"]
audit_arn = sqs.get_queue_attributes(QueueUrl=audit, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
sns = boto3.client("sns", endpoint_url=ep)
topic = sns.create_topic(Name="order-events")["TopicArn"]
sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=audit_arn, Attributes={"RawMessageDelivery": "true"})
PY

if [ -n "${STEPWISE:-}" ]; then run=("$STEPWISE"); else run=(cargo run -q --manifest-path "$root/Cargo.toml" -p stepwise --); fi
echo "== first run: the order is recorded, reviewed, confirmed and announced"
"${run[@]}" run "$here/order-flow.asl.json" --input "@$here/order-flow-input.json" --aws-endpoint-url "$endpoint" --quiet
echo "== second run with the same order: DynamoDB's condition fails, the Catch ends in DuplicateOrder (exit 2)"
set +e
"${run[@]}" run "$here/order-flow.asl.json" --input "@$here/order-flow-input.json" --aws-endpoint-url "$endpoint" --quiet
second=$?
set -e

python3 - "$endpoint" "$second" <<'PY'
import boto3, json, sys
ep, second = sys.argv[1], int(sys.argv[2])
item = boto3.client("dynamodb", endpoint_url=ep).get_item(TableName="Orders", Key={"orderId": {"S": "o-1001"}})["Item"]
sqs = boto3.client("sqs", endpoint_url=ep)
def bodies(name):
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    return [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])]
review, audit = bodies("order-review"), bodies("order-events-audit")
print("== DynamoDB Orders:", json.dumps(item))
print("== SQS order-review:", json.dumps(review))
print("== SNS order-events (via the audit queue):", json.dumps(audit))
ok = (item["status"] == {"S": "CONFIRMED"} and len(review) == 1 and review[0]["orderId"] == "o-1001"
      and len(audit) == 1 and audit[0]["event"] == "OrderConfirmed" and second == 2)
print("order flow:", "OK" if ok else "UNEXPECTED")
sys.exit(0 if ok else 1)
PY
