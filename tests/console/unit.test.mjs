// The console's pure parts under node's test runner (run by tests/e2e/console.rs): how a history
// is read into state visits (a Parallel inside a Map's iterations), Choice rule labels, and where
// a diagnostic's JSON pointer sits in the definition's text.

import { test } from "node:test";
import assert from "node:assert/strict";
import { analyse, nodeStatus } from "../../functions/stepwise/console/assets/run.js";
import { indexDefinition, ruleText } from "../../functions/stepwise/console/assets/graph.js";
import { pointerOffsets, lineOf } from "../../functions/stepwise/console/assets/definition.js";

const DEF = {
  StartAt: "Each",
  States: {
    Each: {
      Type: "Map",
      ItemProcessor: {
        StartAt: "Both",
        States: {
          Both: {
            Type: "Parallel",
            Branches: [
              { StartAt: "Left", States: { Left: { Type: "Pass", End: true } } },
              { StartAt: "Right", States: { Right: { Type: "Task", Resource: "arn:aws:states:::lambda:invoke", End: true } } },
            ],
            End: true,
          },
        },
      },
      End: true,
    },
  },
};

// A history as Step Functions chains it: each thread by previousEventId, a branch's first event
// after ParallelStateStarted, an iteration's after MapIterationStarted.
function history() {
  const events = [];
  const add = (type, prev, details) => {
    const id = events.length + 1;
    const e = { id, previousEventId: prev, timestamp: 1000 + id / 1000, type };
    // AWS's key: stateEnteredEventDetails for every *StateEntered (Exited alike), else the type's.
    const key = /State(Entered|Exited)$/.test(type) ? type.replace(/^.*State/, "state") : type[0].toLowerCase() + type.slice(1);
    if (details) e[`${key}EventDetails`] = details;
    events.push(e);
    return id;
  };
  const started = add("ExecutionStarted", 0, { input: "{}" });
  const entered = add("MapStateEntered", 0, { name: "Each", input: "[1,2]" });
  const mstart = add("MapStateStarted", entered, { length: 2 });
  let last = mstart;
  for (const index of [0, 1]) {
    const it = add("MapIterationStarted", mstart, { name: "Each", index });
    const pe = add("ParallelStateEntered", it, { name: "Both", input: String(index) });
    const ps = add("ParallelStateStarted", pe);
    const le = add("PassStateEntered", ps, { name: "Left", input: String(index) });
    const lx = add("PassStateExited", le, { name: "Left", output: String(index) });
    const re = add("TaskStateEntered", ps, { name: "Right", input: String(index) });
    const sch = add("TaskScheduled", re, { resource: "invoke", resourceType: "lambda", parameters: "{}" });
    const tst = add("TaskStarted", sch, {});
    let done;
    if (index === 1) {
      done = add("TaskFailed", tst, { error: "Boom", cause: "it broke" });
      const pf = add("ParallelStateFailed", done);
      last = add("MapIterationFailed", pf, { name: "Each", index });
    } else {
      done = add("TaskSucceeded", tst, { output: "{}" });
      const rx = add("TaskStateExited", done, { name: "Right", output: "{}" });
      const pss = add("ParallelStateSucceeded", Math.max(lx, rx));
      const px = add("ParallelStateExited", pss, { name: "Both", output: "[]" });
      add("MapIterationSucceeded", px, { name: "Each", index });
    }
  }
  const mf = add("MapStateFailed", last);
  add("ExecutionFailed", mf, { error: "States.BranchFailed", cause: "an iteration failed" });
  void started;
  return events;
}

test("a Parallel's branches inside a Map's iterations", () => {
  const events = history();
  assert.ok(events[1].stateEnteredEventDetails && events[2].mapStateStartedEventDetails);
  const index = indexDefinition(DEF);
  const run = analyse(events, index, "FAILED");
  assert.deepEqual([...run.byNode.keys()].sort(), ["Each", "Each/Both", "Each/Both/0/Left", "Each/Both/1/Right"]);
  const right = run.byNode.get("Each/Both/1/Right");
  assert.deepEqual(right.map((v) => [v.iters.Each, v.status]), [[0, "succeeded"], [1, "failed"]]);
  assert.equal(right[1].error, "Boom");
  assert.equal(nodeStatus(right, {}), "failed");
  assert.equal(nodeStatus(right, { Each: 0 }), "succeeded");
  assert.equal(nodeStatus(run.byNode.get("Each/Both"), { Each: 0 }), "succeeded");
  assert.equal(nodeStatus(run.byNode.get("Each/Both"), { Each: 1 }), "failed");
  const map = run.byNode.get("Each")[0];
  assert.deepEqual([...map.iterations], [[0, "succeeded"], [1, "failed"]]);
  assert.equal(map.status, "failed");
  // Every event belongs to a visit except the execution's own.
  assert.deepEqual(events.filter((e) => e._visit < 0).map((e) => e.type), ["ExecutionStarted", "ExecutionFailed"]);
});

test("Choice rules in a few words", () => {
  assert.equal(ruleText({ Variable: "$.n", NumericGreaterThan: 5, Next: "x" }), "$.n > 5");
  assert.equal(ruleText({ Variable: "$.s", StringEqualsPath: "$.t", Next: "x" }), "$.s == $.t");
  assert.equal(ruleText({ And: [{ Variable: "$.a", IsPresent: true }, { Not: { Variable: "$.b", BooleanEquals: true } }], Next: "x" }),
    "($.a is present) and (not ($.b == true))");
  assert.equal(ruleText({ Condition: "{% $states.input.n > 1 %}", Next: "x" }), "{% $states.input.n > 1 %}");
});

test("a diagnostic's location is found in the text", () => {
  const text = JSON.stringify({ StartAt: "A", States: { A: { Type: "Pass", Next: "Nowhere" }, "a/b": { Type: "Succeed" } } }, null, 2);
  const offsets = pointerOffsets(text);
  const lines = text.split("\n");
  assert.match(lines[lineOf(text, offsets, "/States/A/Next")], /"Next": "Nowhere"/);
  assert.match(lines[lineOf(text, offsets, "/States/a~1b/Type")], /"Succeed"/);
  // A location deeper than the text reaches points at its deepest known part.
  assert.match(lines[lineOf(text, offsets, "/States/A/Parameters/x")], /"A": \{/);
});
