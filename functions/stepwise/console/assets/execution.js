// An execution's page: the graph coloured by what happened to each state (live while it runs:
// new events are polled), the state picked on the graph with its input, output and error, Map
// iterations and Parallel branches to browse, the event history, and the actions.

import { h, clear, time, link, badge, code, pretty, toast, shortArn } from "./dom.js";
import { call } from "./api.js";
import { drawGraph, indexDefinition } from "./graph.js";
import { analyse, nodeStatus, matches, tokenOf } from "./run.js";
import { historyTable } from "./history.js";
import { legend } from "./machine.js";
import { startDialog, stopDialog, redriveDialog, resumeDialog, taskTokenDialog } from "./actions.js";

const POLL_MS = 1000;
const PAGE = 1000;
const STATUSES = ["succeeded", "failed", "caught", "retried", "running", "aborted", "notreached", "none"];

export async function renderExecution(main, arn) {
  let desc = await call("DescribeExecution", { executionArn: arn });
  const machine = await call("DescribeStateMachineForExecution", { executionArn: arn });
  const def = JSON.parse(machine.definition);
  const index = indexDefinition(def);
  const events = [];
  let run = { visits: [], byNode: new Map() };
  let selected = null;
  const chosen = {}; // Map id -> iteration index shown
  let stopped = false;
  let timer = null;

  const head = h("div", { class: "page-head" });
  const facts = h("dl", { class: "facts inline" });
  const ioBox = h("div", { class: "execution-io" });
  const graph = drawGraph(def, (id) => select(id));
  const graphBar = h("div", { class: "graph-bar", "aria-live": "polite" });
  const panel = h("aside", { class: "state-panel", "aria-label": "Selected state", tabindex: "-1" },
    h("p", { class: "muted" }, "Select a state in the graph to see its input, output and error."));
  const table = historyTable((e) => {
    const v = run.visits[e._visit];
    if (v && v.node !== selected) select(v.node, false);
  });
  const loading = h("p", { class: "loading", role: "status" }, "Loading events…");
  const root = h("div", { class: "execution", "data-loaded": "false" },
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, link("#/", "State machines"), " / ",
      link(`#/machine/${encodeURIComponent(desc.stateMachineArn)}`, shortArn(desc.stateMachineArn)), " / ", desc.name),
    head, facts, ioBox,
    h("section", { class: "execution-graph", "aria-label": "Graph" },
      h("div", { class: "graph-col" }, graphBar, legend(true), h("div", { class: "graph-wrap" }, graph.svg)),
      panel),
    loading,
    table.el);
  clear(main, root);

  const drawHead = () => {
    const running = desc.status === "RUNNING";
    const redrivable = ["FAILED", "TIMED_OUT", "ABORTED"].includes(desc.status);
    const waiting = run.visits.find((v) => v.status === "running" && tokenOf(v));
    clear(head,
      h("h1", {}, desc.name, " ", badge(desc.status)),
      h("div", { class: "actions" },
        running && h("button", { type: "button", "data-action": "stop", onclick: () => stopDialog(arn, refresh) }, "Stop"),
        redrivable && h("button", { type: "button", "data-action": "redrive", onclick: () => redriveDialog(arn, refresh) }, "Redrive"),
        !running && h("button", { type: "button", "data-action": "resume", onclick: () => resumeDialog(arn, index, run.visits.find((v) => v.node === selected), refresh) }, "Resume from a state"),
        running && h("button", { type: "button", "data-action": "task-token", onclick: () => taskTokenDialog(tokenOf(waiting), refresh) }, "Send task result"),
        h("button", { type: "button", "data-action": "start-new", onclick: () => startDialog(desc.stateMachineArn, desc.input) }, "New execution")));
    clear(facts,
      h("dt", {}, "ARN"), h("dd", {}, h("code", {}, desc.executionArn)),
      h("dt", {}, "Started"), h("dd", {}, time(desc.startDate)),
      h("dt", {}, "Ended"), h("dd", {}, time(desc.stopDate)),
      desc.stopDate ? [h("dt", {}, "Duration"), h("dd", {}, `${((desc.stopDate - desc.startDate) * 1000).toFixed(0)} ms`)] : null,
      h("dt", {}, "Redrives"), h("dd", {}, String(desc.redriveCount ?? 0), desc.redriveDate ? [" (last ", time(desc.redriveDate), ")"] : ""),
      desc.redriveStatus ? [h("dt", {}, "Redrive status"), h("dd", {}, desc.redriveStatus)] : null);
    clear(ioBox,
      h("details", {}, h("summary", {}, "Execution input"), code(pretty(desc.input), "Execution input")),
      desc.output !== undefined ? h("details", {}, h("summary", {}, "Execution output"), code(pretty(desc.output), "Execution output")) : null,
      desc.error !== undefined || desc.cause !== undefined
        ? h("div", { class: "error-box", role: "note" }, h("strong", {}, desc.error || "Error"), h("pre", { class: "code" }, pretty(desc.cause || "")))
        : null);
  };

  const colour = () => {
    for (const [id, el] of graph.nodes) {
      const st = nodeStatus(run.byNode.get(id), chosen);
      for (const s of STATUSES) el.classList.remove(`st-${s}`);
      el.classList.add(`st-${st}`);
      el.dataset.status = st;
      el.setAttribute("aria-label", `${el.dataset.type} state ${id}: ${st === "notreached" ? "not reached" : st}`);
    }
    const shown = Object.entries(chosen);
    clear(graphBar, shown.length
      ? [h("span", {}, "Showing ", shown.map(([m, i]) => `${m} iteration ${i}`).join(", "), " "),
        h("button", { type: "button", class: "link", onclick: () => { for (const k of Object.keys(chosen)) delete chosen[k]; colour(); showPanel(); } }, "Show all iterations")]
      : "");
  };

  const select = (id, reveal = true) => {
    selected = id;
    for (const el of graph.nodes.values()) el.classList.remove("selected");
    graph.nodes.get(id)?.classList.add("selected");
    showPanel();
    const v = (run.byNode.get(id) || []).find((x) => matches(x, chosen));
    if (reveal && v) table.reveal(v.entered.id);
  };

  const showPanel = (visitPos) => {
    if (!selected) return;
    const info = index.get(selected);
    const visits = (run.byNode.get(selected) || []).filter((v) => matches(v, chosen));
    const v = visits.find((x) => x.pos === visitPos) || visits[visits.length - 1];
    const parts = [h("h2", {}, info?.name || selected, " ", h("span", { class: "muted small" }, info?.state?.Type || ""))];
    if (!v) {
      parts.push(h("p", { class: "muted" }, "Not reached."));
    } else {
      parts.push(h("p", {}, badge(v.status), " entered ", time(v.entered.timestamp)));
      if (visits.length > 1) {
        const pick = h("select", { "aria-label": "Visit of this state" }, visits.slice(-500).map((x, i) =>
          h("option", { value: x.pos, selected: x === v }, `#${visits.length - Math.min(500, visits.length) + i + 1}${Object.keys(x.iters).length ? ` iteration ${Object.values(x.iters).join(".")}` : ""} ${x.status}`)));
        pick.addEventListener("change", () => showPanel(Number(pick.value)));
        parts.push(h("label", { class: "field" }, h("span", {}, `Visit (${visits.length})`), pick));
      }
      parts.push(h("h3", {}, "Input"), code(pretty(v.input), "State input"));
      if (v.output !== undefined) parts.push(h("h3", {}, "Output"), code(pretty(v.output), "State output"));
      if (v.error !== undefined || v.cause !== undefined) {
        parts.push(h("h3", {}, "Error"), h("div", { class: "error-box" }, h("strong", {}, v.error || ""), code(pretty(v.cause || ""), "Cause")));
      }
      if (v.task?.scheduled?.parameters) parts.push(h("details", {}, h("summary", {}, "Task parameters"), code(pretty(v.task.scheduled.parameters))));
      if (v.iterations) parts.push(iterationBrowser(selected, v));
      if (info?.state?.Type === "Parallel") parts.push(branchList(selected, info.state));
      const buttons = [h("button", { type: "button", onclick: () => table.reveal(v.entered.id) }, "Show in history")];
      if (desc.status !== "RUNNING") {
        buttons.push(h("button", { type: "button", "data-action": "resume-here", onclick: () => resumeDialog(arn, index, v, refresh) }, "Resume from here"));
      }
      if (v.status === "running" && (tokenOf(v) || /waitForTaskToken|activity/.test(info?.state?.Resource || ""))) {
        buttons.push(h("button", { type: "button", "data-action": "task-token-here", onclick: () => taskTokenDialog(tokenOf(v), refresh) }, "Send task result"));
      }
      parts.push(h("div", { class: "actions" }, buttons));
    }
    clear(panel, parts);
  };

  // A Map's iterations: how many in each status, one to show on the graph, the failed ones.
  const iterationBrowser = (id, v) => {
    const counts = {};
    for (const s of v.iterations.values()) counts[s] = (counts[s] || 0) + 1;
    const n = v.iterations.size;
    const input = h("input", { type: "number", min: 0, max: Math.max(0, n - 1), "aria-label": "Iteration to show", value: chosen[id] ?? "" });
    const show = (i) => {
      if (!Number.isInteger(i) || i < 0 || i >= n) return;
      chosen[id] = i;
      colour();
      showPanel();
    };
    input.addEventListener("change", () => show(Number(input.value)));
    const failed = [...v.iterations].filter(([, s]) => s !== "succeeded" && s !== "running").slice(0, 50);
    return h("section", { class: "iterations", "aria-label": "Map iterations" },
      h("h3", {}, `Iterations (${n.toLocaleString()})`),
      h("p", {}, Object.entries(counts).map(([s, c]) => [badge(s), ` ${c.toLocaleString()} `])),
      h("div", { class: "toolbar" },
        h("button", { type: "button", "aria-label": "Previous iteration", onclick: () => show((chosen[id] ?? 1) - 1) }, "‹"),
        h("label", { class: "inline" }, "Iteration ", input),
        h("button", { type: "button", "aria-label": "Next iteration", onclick: () => show((chosen[id] ?? -1) + 1) }, "›"),
        chosen[id] !== undefined && h("button", { type: "button", class: "link", onclick: () => { delete chosen[id]; colour(); showPanel(); } }, "All")),
      failed.length ? h("p", {}, "Not succeeded: ", failed.map(([i, s]) => [h("button", { type: "button", class: "link", onclick: () => show(i) }, `#${i}`), ` (${s}) `])) : null);
  };

  const branchList = (id, state) =>
    h("section", { class: "branches", "aria-label": "Parallel branches" }, h("h3", {}, "Branches"),
      h("ol", { start: 0 }, (state.Branches || []).map((b, i) => {
        let st = "notreached";
        const rank = { running: 6, failed: 5, aborted: 5, caught: 4, retried: 3, succeeded: 2, notreached: 0 };
        for (const [node, visits] of run.byNode) {
          if (!node.startsWith(`${id}/${i}/`)) continue;
          const s = nodeStatus(visits, chosen);
          if (rank[s] > rank[st]) st = s;
        }
        const first = `${id}/${i}/${b.StartAt}`;
        return h("li", {}, h("button", { type: "button", class: "link", onclick: () => select(first) }, `Branch ${i}: ${b.StartAt}`), " ", badge(st));
      })));

  const update = () => {
    run = analyse(events, index, desc.status);
    drawHead();
    colour();
    table.update(events, run.visits);
    if (selected) showPanel();
  };

  // Loads the history from the start, a page at a time, showing what has come so far.
  const loadAll = async () => {
    let nextToken;
    let pages = 0;
    do {
      const page = await call("GetExecutionHistory", { executionArn: arn, maxResults: PAGE, ...(nextToken ? { nextToken } : {}) });
      events.push(...page.events);
      nextToken = page.nextToken;
      pages++;
      loading.textContent = `Loading events… ${events.length.toLocaleString()}`;
      if (pages === 1 || !nextToken) update();
    } while (nextToken && !stopped);
  };

  // New events since the last one: the newest page backwards until the last one known.
  const loadNew = async () => {
    const last = events.length ? events[events.length - 1].id : 0;
    const fresh = [];
    let nextToken;
    for (;;) {
      const page = await call("GetExecutionHistory", { executionArn: arn, maxResults: 100, reverseOrder: true, ...(nextToken ? { nextToken } : {}) });
      const got = page.events.filter((e) => e.id > last);
      fresh.push(...got);
      nextToken = page.nextToken;
      if (!nextToken || got.length < page.events.length) break;
    }
    fresh.sort((a, b) => a.id - b.id);
    events.push(...fresh);
    return fresh.length;
  };

  const refresh = async () => {
    if (stopped) return;
    clearTimeout(timer);
    try {
      desc = await call("DescribeExecution", { executionArn: arn });
      await loadNew();
      update();
    } catch (e) {
      toast(e.message, "error");
    }
    schedule();
  };
  const schedule = () => {
    if (stopped) return;
    const live = desc.status === "RUNNING" || desc.status === "PENDING_REDRIVE";
    root.dataset.live = live ? "true" : "false";
    if (live) timer = setTimeout(refresh, POLL_MS);
  };

  drawHead();
  await loadAll();
  loading.textContent = `${events.length.toLocaleString()} events`;
  root.dataset.loaded = "true";
  root.dataset.events = String(events.length);
  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
