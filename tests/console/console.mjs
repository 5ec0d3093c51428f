// The web console in headless Chromium against a `stepwise serve` (tests/e2e/console.rs starts it
// and this script). Modes:
//   full   (default) machines, graph, definition diagnostics, executions, an execution's graph
//          statuses, history and state details, Map iterations; start, stop, redrive, resume and
//          a task token through the buttons; screenshots in $ARTIFACTS.
//   proxy  the console of `stepwise console` ($STEPWISE_URL) for an API it signs requests to.
//   perf   an execution of 100,000 events: page load time and the browser's memory.
// Environment: STEPWISE_URL (the console), STEPWISE_API (the API, default STEPWISE_URL),
// CHROMIUM (default /usr/bin/chromium), ARTIFACTS (screenshots and perf.json).

import { chromium } from "playwright-core";
import { mkdirSync, writeFileSync } from "node:fs";

const base = process.env.STEPWISE_URL;
const api = process.env.STEPWISE_API || base;
const artifacts = process.env.ARTIFACTS || "target/console";
const mode = process.argv[2] || "full";
const ROLE = "arn:aws:iam::123456789012:role/stepwise";
mkdirSync(artifacts, { recursive: true });

async function call(action, body = {}) {
  const r = await fetch(`${api}/`, {
    method: "POST",
    headers: { "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": `AWSStepFunctions.${action}` },
    body: JSON.stringify(body),
  });
  const out = await r.json();
  if (!r.ok) throw new Error(`${action}: ${JSON.stringify(out)}`);
  return out;
}

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

async function until(what, fn, ms = 60000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const done = (arn) => until(`${arn} to end`, async () => {
  const d = await call("DescribeExecution", { executionArn: arn });
  return d.status !== "RUNNING" && d.status !== "PENDING_REDRIVE" ? d : null;
}, 600000);

// Reused when the same data directory serves several runs of the script.
async function machine(name, definition, type = "STANDARD") {
  const list = await call("ListStateMachines", { maxResults: 1000 });
  const found = list.stateMachines.find((m) => m.name === name);
  if (found) return found.stateMachineArn;
  const out = await call("CreateStateMachine", { name, definition: JSON.stringify(definition), roleArn: ROLE, type });
  return out.stateMachineArn;
}

export const SHOWCASE = {
  Comment: "A Choice, a Task with Retry, a Parallel whose failure is caught, a Map",
  StartAt: "Prepare",
  States: {
    Prepare: { Type: "Pass", Parameters: { "amount.$": "$.amount", items: [1, 2, 3] }, Next: "Route" },
    Route: {
      Type: "Choice",
      Choices: [{ Variable: "$.amount", NumericGreaterThan: 100, Next: "BigOrder" }],
      Default: "SmallOrder",
    },
    BigOrder: { Type: "Pass", Result: "big", ResultPath: "$.size", Next: "Charge" },
    SmallOrder: { Type: "Pass", Result: "small", ResultPath: "$.size", Next: "Charge" },
    Charge: {
      Type: "Task",
      Resource: "arn:aws:states:::lambda:invoke",
      Parameters: { FunctionName: "charge", "Payload.$": "$" },
      ResultSelector: { "charged.$": "$.Payload.charged" },
      ResultPath: "$.charge",
      Retry: [{ ErrorEquals: ["Lambda.ServiceException"], IntervalSeconds: 1, MaxAttempts: 2, BackoffRate: 1 }],
      Next: "Fanout",
    },
    Fanout: {
      Type: "Parallel",
      Branches: [
        { StartAt: "Pack", States: { Pack: { Type: "Pass", Result: "packed", End: true } } },
        { StartAt: "Audit", States: { Audit: { Type: "Fail", Error: "Audit.Rejected", Cause: "the audit found a problem" } } },
      ],
      Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: "Recover" }],
      Next: "ShipAll",
    },
    Recover: { Type: "Pass", Result: "recovered", ResultPath: "$.recovery", Next: "ShipAll" },
    ShipAll: {
      Type: "Map",
      ItemsPath: "$.items",
      ItemProcessor: { StartAt: "Ship", States: { Ship: { Type: "Pass", Parameters: { "shipped.$": "$" }, End: true } } },
      ResultPath: "$.shipped",
      Next: "Done",
    },
    Done: { Type: "Succeed" },
  },
};

const SLOW = { StartAt: "Hold", States: { Hold: { Type: "Wait", Seconds: 3600, Next: "Finish" }, Finish: { Type: "Succeed" } } };

async function browser() {
  const b = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
  const context = await b.newContext({ viewport: { width: 1600, height: 1000 }, colorScheme: "light", timezoneId: "Europe/Paris" });
  const page = await context.newPage();
  const problems = [];
  const origin = new URL(base).origin;
  page.on("console", (m) => { if (m.type() === "error") problems.push(`console error: ${m.text()}`); });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("request", (r) => { if (!r.url().startsWith(origin) && !r.url().startsWith("data:")) problems.push(`request left the machine: ${r.url()}`); });
  page.setDefaultTimeout(30000);
  return { b, page, problems };
}

const steps = [];
async function step(name, fn) {
  const t = Date.now();
  await fn();
  steps.push(name);
  console.log(`ok ${name} (${Date.now() - t} ms)`);
}

// A state's name on the graph (a group's header: its middle is its children).
const clickState = (page, id) => page.locator(`svg.graph [data-state="${id}"] > .node-name`).click();
const statusOf = (page, id) => page.locator(`svg.graph [data-state="${id}"]`).getAttribute("data-status");

async function openExecution(page, arn) {
  await page.goto(`${base}/#/execution/${encodeURIComponent(arn)}`);
  await page.waitForSelector('.execution[data-loaded="true"]');
}

async function full() {
  const showcase = await machine("showcase", SHOWCASE);
  const slow = await machine("slow", SLOW);
  const activity = await call("CreateActivity", { name: "approve" });
  const approval = await machine("approval", {
    StartAt: "Approve",
    States: { Approve: { Type: "Task", Resource: activity.activityArn, End: true } },
  });
  const flaky = (await call("StartExecution", { stateMachineArn: `${showcase}#Flaky`, name: "flaky-then-caught", input: JSON.stringify({ amount: 150 }) })).executionArn;
  const broken = (await call("StartExecution", { stateMachineArn: `${showcase}#Declined`, name: "declined", input: JSON.stringify({ amount: 20 }) })).executionArn;
  check((await done(flaky)).status === "SUCCEEDED", "the flaky execution succeeds (its Parallel's failure caught)");
  check((await done(broken)).status === "FAILED", "the declined execution fails");

  const { b, page, problems } = await browser();
  try {
    await step("machines page lists and searches", async () => {
      await page.goto(`${base}/`);
      await page.waitForSelector("text=showcase");
      await page.fill('input[type="search"]', "show");
      await until("one row", async () => (await page.locator("table.list tbody tr").count()) === 1);
      check((await page.locator("table.list tbody tr").first().textContent()).includes("STANDARD"), "the type is shown");
    });

    await step("machine graph: every state, Choice rules, Catch and Retry, nested groups", async () => {
      await page.click("text=showcase");
      await page.click('role=tab[name="Graph"]');
      await page.waitForSelector("svg.graph");
      for (const id of ["Prepare", "Route", "BigOrder", "SmallOrder", "Charge", "Fanout", "Fanout/0/Pack", "Fanout/1/Audit", "Recover", "ShipAll", "ShipAll/Ship", "Done"]) {
        check((await page.locator(`svg.graph [data-state="${id}"]`).count()) === 1, `node ${id}`);
      }
      const labels = await page.locator("svg.graph .edge-label").allTextContents();
      check(labels.includes("$.amount > 100"), `the Choice rule label (${labels})`);
      check(labels.includes("Default"), "the Default label");
      check(labels.some((l) => l.startsWith("Catch States.ALL")), "the Catch label");
      check(labels.some((l) => l.startsWith("Retry Lambda.ServiceException")), "the Retry label");
      check((await page.locator('svg.graph [data-state="Fanout"]').getAttribute("class")).includes("group"), "the Parallel is a group");
      check((await page.locator('[data-group="Fanout"] .branch-box').count()) === 2, "two branch boxes");
      // Tall enough for the whole graph (its frame is at most 78% of the window's height).
      await page.setViewportSize({ width: 1280, height: 1500 });
      await page.locator("svg.graph").screenshot({ path: `${artifacts}/console-graph.png` });
      await page.setViewportSize({ width: 1600, height: 1000 });
    });

    await step("definition: diagnostics at their location", async () => {
      await page.click('role=tab[name="Definition"]');
      await page.waitForSelector("text=The definition is valid.");
      const text = await page.inputValue("textarea.definition-editor");
      await page.fill("textarea.definition-editor", text.replace('"Default": "SmallOrder"', '"Default": "Nowhere"'));
      await page.click("button:has-text('Validate')");
      await page.waitForSelector("ol.annotated li.has-diagnostic");
      const line = await page.locator("ol.annotated li.has-diagnostic").first().textContent();
      check(line.includes("Nowhere") && line.includes("/States/Route/Default"), `the diagnostic sits on its line: ${line}`);
    });

    await step("executions: filter by status and redrive", async () => {
      await page.click('role=tab[name="Executions"]');
      await page.waitForSelector("text=flaky-then-caught");
      await page.selectOption('select[aria-label="Status"]', "FAILED");
      await until("only the failed one", async () => (await page.locator("table.list tbody tr").allTextContents()).join("|").match(/^declined.*FAILED/));
      await page.selectOption('select[aria-label="Status"]', "");
      await page.selectOption('select[aria-label="Redrive"]', "NOT_REDRIVEN");
      await until("both", async () => (await page.locator("table.list tbody tr").count()) === 2);
    });

    await step("execution: graph statuses, history, state details, Map iterations", async () => {
      await openExecution(page, flaky);
      const expected = {
        Prepare: "succeeded", Route: "succeeded", BigOrder: "succeeded", SmallOrder: "notreached",
        Charge: "retried", Fanout: "caught", "Fanout/0/Pack": "succeeded", "Fanout/1/Audit": "failed",
        Recover: "succeeded", ShipAll: "succeeded", "ShipAll/Ship": "succeeded", Done: "succeeded",
      };
      for (const [id, st] of Object.entries(expected)) {
        const got = await statusOf(page, id);
        check(got === st, `${id} is ${st} (got ${got})`);
        check((await page.locator(`svg.graph [data-state="${id}"]`).getAttribute("class")).includes(`st-${st}`), `${id} has class st-${st}`);
      }
      const history = await call("GetExecutionHistory", { executionArn: flaky, maxResults: 1000 });
      const rows = page.locator("table.history tbody tr[data-event-id]");
      check((await rows.count()) >= Math.min(20, history.events.length), "history rows are drawn");
      check((await rows.first().textContent()).includes("ExecutionStarted"), "the first row is ExecutionStarted");
      check((await page.textContent(".history-count")).includes(`${history.events.length} of ${history.events.length}`), "every event is counted");
      await clickState(page, "Prepare");
      await page.waitForSelector('.state-panel h3:has-text("Output")');
      const panel = await page.textContent(".state-panel");
      check(panel.includes("Input") && panel.includes('"amount": 150') && panel.includes('"items"'), "the state's input and output");
      await clickState(page, "Fanout/1/Audit");
      await page.waitForSelector('.state-panel h3:has-text("Error")');
      check((await page.textContent(".state-panel")).includes("Audit.Rejected"), "the failed state's error");
      await clickState(page, "ShipAll");
      await page.waitForSelector("text=Iterations (3)");
      await page.fill('input[aria-label="Iteration to show"]', "1");
      await page.press('input[aria-label="Iteration to show"]', "Enter");
      await page.waitForSelector("text=ShipAll iteration 1");
      await clickState(page, "ShipAll/Ship");
      await page.waitForSelector('.state-panel h3:has-text("Output")');
      check((await page.textContent(".state-panel")).includes('"shipped": 2'), "iteration 1's input and output");
      await clickState(page, "Fanout");
      await page.waitForSelector(".branches");
      check((await page.textContent(".branches")).includes("Branch 1: Audit"), "the branches are listed");
      // The keyboard reaches the last event.
      await page.focus(".history-scroll");
      await page.keyboard.press("End");
      await page.waitForSelector("table.history tr.current:has-text('ExecutionSucceeded')");
      await page.click('button:has-text("Show all iterations")');
      await clickState(page, "Charge");
      await page.setViewportSize({ width: 1600, height: 1400 });
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: `${artifacts}/console-execution.png` });
      await page.click("#theme");
      await page.screenshot({ path: `${artifacts}/console-execution-dark.png` });
      await page.click("#theme");
      await page.setViewportSize({ width: 1600, height: 1000 });
    });

    await step("start (input checked first), stop and redrive through the buttons", async () => {
      await page.goto(`${base}/#/machine/${encodeURIComponent(slow)}`);
      await page.click('button[data-action="start"]');
      await page.fill("dialog textarea", '{"bad": ');
      await page.waitForSelector("dialog .editor-note.bad");
      await page.click('dialog button[data-action="start"]');
      await page.waitForSelector("dialog .dialog-error:has-text('not valid JSON')");
      await page.fill("dialog textarea", '{"order": 7}');
      await page.click('dialog button[data-action="start"]');
      await page.waitForURL(/#\/execution\//);
      await page.waitForSelector('.execution[data-loaded="true"]');
      await until("Hold running", async () => (await statusOf(page, "Hold")) === "running");
      check((await page.textContent(".execution-io")).includes('"order": 7'), "the input sent");
      await page.click('button[data-action="stop"]');
      await page.click('dialog button[data-action="stop"]');
      await page.waitForSelector(".page-head .badge-aborted");
      await page.click('button[data-action="redrive"]');
      await page.click('dialog button[data-action="redrive"]');
      await page.waitForSelector(".page-head .badge-running");
      await until("Hold running again", async () => (await statusOf(page, "Hold")) === "running");
      await page.click('button[data-action="stop"]');
      await page.click('dialog button[data-action="stop"]');
      await page.waitForSelector(".page-head .badge-aborted");
      const arn = decodeURIComponent(page.url().split("#/execution/")[1]);
      const d = await call("DescribeExecution", { executionArn: arn });
      check(d.status === "ABORTED" && d.redriveCount === 1, `stopped, redriven once, stopped (${d.status}, ${d.redriveCount})`);
    });

    await step("redrive a failed execution", async () => {
      await openExecution(page, broken);
      // The graph's statuses may follow the page's load on a busy machine.
      await until("Charge failed", async () => (await statusOf(page, "Charge")) === "failed");
      await until("Fanout not reached", async () => (await statusOf(page, "Fanout")) === "notreached");
      await page.click('button[data-action="redrive"]');
      await page.click('dialog button[data-action="redrive"]');
      const d = await until("the redrive to end", async () => {
        const x = await call("DescribeExecution", { executionArn: broken });
        return x.redriveCount === 1 && x.status !== "RUNNING" ? x : null;
      });
      check(d.status === "FAILED", "the redriven execution fails again (its mock says so)");
      await page.waitForSelector(".facts dd:has-text('1 (last')");
    });

    await step("resume from any state with a new input", async () => {
      await openExecution(page, flaky);
      await clickState(page, "Recover");
      await page.click('button[data-action="resume-here"]');
      await page.fill("dialog textarea", JSON.stringify({ amount: 1, items: [9] }));
      await page.check('dialog input[type="checkbox"]');
      await page.click('dialog button[data-action="resume"]');
      await until("the resumed run to end", async () => {
        const x = await call("DescribeExecution", { executionArn: flaky });
        return x.redriveCount === 1 && x.status === "SUCCEEDED";
      });
      const h = await call("GetExecutionHistory", { executionArn: flaky, maxResults: 1000, reverseOrder: true });
      const redriven = h.events.find((e) => e.type === "ExecutionRedriven");
      check(redriven?.executionRedrivenEventDetails?.stateName === "Recover", "resumed at Recover");
      await page.waitForSelector(".page-head .badge-succeeded");
    });

    await step("send a task result for a waiting task", async () => {
      const exec = (await call("StartExecution", { stateMachineArn: approval, input: "{}" })).executionArn;
      await openExecution(page, exec);
      await until("Approve running", async () => (await statusOf(page, "Approve")) === "running");
      const task = await call("GetActivityTask", { activityArn: activity.activityArn, workerName: "console-test" });
      check(task.taskToken, "a worker got the task");
      await page.click('button[data-action="task-token"]');
      await page.fill('dialog input[aria-label="Task token"]', task.taskToken);
      await page.fill("dialog textarea", '{"approved": true}');
      await page.click('dialog button[data-action="send-success"]');
      await page.waitForSelector(".page-head .badge-succeeded");
      check((await statusOf(page, "Approve")) === "succeeded", "Approve succeeded");
    });

    check(problems.length === 0, `no console errors and no request elsewhere:\n${problems.join("\n")}`);
  } finally {
    await b.close();
  }
  console.log(`console: ${steps.length} steps passed`);
}

async function proxied() {
  const arn = await machine("signed", { StartAt: "Hello", States: { Hello: { Type: "Pass", Result: { signed: true }, End: true } } });
  const { b, page, problems } = await browser();
  try {
    await step("the console of `stepwise console` lists, starts and shows", async () => {
      await page.goto(`${base}/`);
      await page.click("text=signed");
      await page.click('button[data-action="start"]');
      await page.click('dialog button[data-action="start"]');
      await page.waitForURL(/#\/execution\//);
      await page.waitForSelector('.execution[data-loaded="true"]');
      await until("Hello succeeded", async () => (await statusOf(page, "Hello")) === "succeeded");
      await page.waitForSelector(".page-head .badge-succeeded");
    });
    check(problems.length === 0, `no console errors and no request elsewhere:\n${problems.join("\n")}`);
  } finally {
    await b.close();
  }
  void arn;
}

async function perf() {
  const n = Number(process.env.ITERATIONS || 25000);
  const arn = await machine("big", {
    StartAt: "Each",
    States: { Each: { Type: "Map", ItemsPath: "$.items", ItemProcessor: { StartAt: "Step", States: { Step: { Type: "Pass", Result: 1, End: true } } }, ResultPath: null, End: true } },
  });
  let t = Date.now();
  const exec = (await call("StartExecution", { stateMachineArn: arn, input: JSON.stringify({ items: Array.from({ length: n }, (_, i) => i) }) })).executionArn;
  const d = await done(exec);
  const runMs = Date.now() - t;
  // The history as the page fetches it, from here: the server's share of the page's load time.
  let events = 0;
  let token;
  t = Date.now();
  do {
    const p = await call("GetExecutionHistory", { executionArn: exec, maxResults: 1000, ...(token ? { nextToken: token } : {}) });
    events += p.events.length;
    token = p.nextToken;
  } while (token);
  const apiFetchMs = Date.now() - t;
  const { b, page, problems } = await browser();
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Performance.enable");
  try {
    t = Date.now();
    await page.goto(`${base}/#/execution/${encodeURIComponent(exec)}`);
    await page.waitForSelector("table.history tr[data-event-id]", { timeout: 600000 });
    const firstRowsMs = Date.now() - t;
    await page.waitForSelector('.execution[data-loaded="true"]', { timeout: 600000 });
    const loadMs = Date.now() - t;
    await cdp.send("HeapProfiler.collectGarbage");
    const metrics = Object.fromEntries((await cdp.send("Performance.getMetrics")).metrics.map((m) => [m.name, m.value]));
    t = Date.now();
    await page.focus(".history-scroll");
    await page.keyboard.press("End");
    await page.waitForSelector("table.history tr.current:has-text('ExecutionSucceeded')");
    const endMs = Date.now() - t;
    t = Date.now();
    await clickState(page, "Each");
    await page.waitForSelector(`text=Iterations (${n.toLocaleString("en-US")})`);
    const mapPanelMs = Date.now() - t;
    const rows = await page.locator("table.history tbody tr").count();
    const result = {
      events, status: d.status, executionMs: runMs, apiFetchMs, firstRowsMs, loadMs, jumpToLastEventMs: endMs, mapPanelMs,
      jsHeapUsedMB: +(metrics.JSHeapUsedSize / 1048576).toFixed(1), jsHeapTotalMB: +(metrics.JSHeapTotalSize / 1048576).toFixed(1),
      domNodes: metrics.Nodes, historyRowsInDom: rows,
    };
    // 10,000 executions of one machine: its executions page, a page at a time.
    const many = await machine("many", { StartAt: "Once", States: { Once: { Type: "Pass", End: true } } });
    const count = Number(process.env.EXECUTIONS || 10000);
    t = Date.now();
    let started = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (started < count) {
        started++;
        await call("StartExecution", { stateMachineArn: many, input: "{}" });
      }
    }));
    result.startExecutionsMs = Date.now() - t;
    t = Date.now();
    await page.goto(`${base}/#/machine/${encodeURIComponent(many)}/executions`);
    await page.waitForSelector("table.list tbody tr td a");
    result.executionsPageMs = Date.now() - t;
    t = Date.now();
    await page.click('button[data-action="next-page"]');
    await page.waitForSelector("text=Page 2");
    result.nextPageMs = Date.now() - t;
    result.executions = count;
    console.log(JSON.stringify(result));
    writeFileSync(`${artifacts}/perf.json`, JSON.stringify(result, null, 2));
    check(problems.length === 0, `no console errors:\n${problems.join("\n")}`);
  } finally {
    await b.close();
  }
}

const run = { full, proxy: proxied, perf }[mode];
run().catch((e) => {
  console.error(e);
  process.exit(1);
});
