// The JavaScript SDK v3 against `stepwise serve`, at the endpoint `serve` prints
// (STEPWISE_ENDPOINT, e.g. http://stepwise@127.0.0.1:8083), run by tests/e2e/serve_clients.rs.
//
// The SDK sends StartSyncExecution and TestState to the `sync-` host (the Step Functions model's
// host prefix) and, unlike botocore, prefixes the host name itself: `sync-127.0.0.1` resolves
// nowhere offline. So those two need `disableHostPrefix: true`; every other action works with
// the printed endpoint as it is. Both are checked, and the failure without the option is checked
// too, so the README's advice stays true. Exits non-zero on the first failed check.
import assert from "node:assert/strict";
import {
  CreateStateMachineCommand,
  ListStateMachinesCommand,
  SFNClient,
  StartSyncExecutionCommand,
  TestStateCommand,
} from "@aws-sdk/client-sfn";

const endpoint = process.env.STEPWISE_ENDPOINT;
assert.ok(endpoint, "STEPWISE_ENDPOINT is not set");
const base = {
  endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "test", secretAccessKey: "test" },
  maxAttempts: 1,
};
const sfn = new SFNClient(base);
const sync = new SFNClient({ ...base, disableHostPrefix: true });

const name = `js-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
const created = await sfn.send(
  new CreateStateMachineCommand({
    name,
    type: "EXPRESS",
    roleArn: "arn:aws:iam::111111111111:role/stepwise-tests",
    definition: JSON.stringify({
      StartAt: "Greet",
      States: {
        Greet: {
          Type: "Pass",
          Parameters: { "greeting.$": "States.Format('hello {}', $.who)" },
          End: true,
        },
      },
    }),
  }),
);
const listed = await sfn.send(new ListStateMachinesCommand({}));
assert.ok(listed.stateMachines.some((m) => m.stateMachineArn === created.stateMachineArn));

const run = await sync.send(
  new StartSyncExecutionCommand({
    stateMachineArn: created.stateMachineArn,
    input: JSON.stringify({ who: "js" }),
  }),
);
assert.equal(run.status, "SUCCEEDED");
assert.deepEqual(JSON.parse(run.output), { greeting: "hello js" });

const tested = await sync.send(
  new TestStateCommand({
    definition: JSON.stringify({ Type: "Pass", Parameters: { "v.$": "$.n" }, Next: "After" }),
    input: JSON.stringify({ n: 7 }),
    inspectionLevel: "DEBUG",
  }),
);
assert.equal(tested.status, "SUCCEEDED");
assert.equal(tested.nextState, "After");
assert.deepEqual(JSON.parse(tested.output), { v: 7 });
assert.deepEqual(JSON.parse(tested.inspectionData.afterParameters), { v: 7 });

// Without the option the SDK looks up `sync-<host>`, which does not resolve.
await assert.rejects(
  sfn.send(new TestStateCommand({ definition: JSON.stringify({ Type: "Succeed" }) })),
  (e) => e.code === "ENOTFOUND" && String(e.hostname).startsWith("sync-"),
);
console.log("js sdk: ok");
