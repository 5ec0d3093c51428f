// A state machine's page: its executions (filtered by status and redrive, a page at a time), its
// graph, its definition with diagnostics, its versions and aliases; start an execution.

import { h, clear, time, link, badge, toast, shortArn } from "./dom.js";
import { call, all } from "./api.js";
import { drawGraph } from "./graph.js";
import { definitionEditor } from "./definition.js";
import { startDialog } from "./actions.js";

const TABS = ["executions", "graph", "definition", "versions"];
const TAB_LABEL = { executions: "Executions", graph: "Graph", definition: "Definition", versions: "Versions and aliases" };
const PAGE = 50;

export async function renderMachine(main, arn, tab = "executions") {
  const m = await call("DescribeStateMachine", { stateMachineArn: arn });
  const def = JSON.parse(m.definition);
  const panel = h("div", { class: "tab-panel", role: "tabpanel", id: "machine-panel", tabindex: "-1" });
  const tabs = h("div", { class: "tabs", role: "tablist", "aria-label": "State machine views" },
    TABS.map((t) => h("a", {
      role: "tab",
      href: `#/machine/${encodeURIComponent(arn)}/${t}`,
      "aria-selected": t === tab ? "true" : "false",
      "aria-controls": "machine-panel",
      class: t === tab ? "tab active" : "tab",
    }, TAB_LABEL[t])));
  const versionOf = m.stateMachineArn.split(":").length > 7 ? `version ${shortArn(m.stateMachineArn)}` : null;
  clear(main,
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, link("#/", "State machines"), " / ", m.name),
    h("div", { class: "page-head" },
      h("h1", {}, m.name, " ", h("span", { class: "muted small" }, m.type), versionOf ? h("span", { class: "muted small" }, ` ${versionOf}`) : ""),
      h("button", { type: "button", class: "primary", "data-action": "start", onclick: () => startDialog(arn, "{}") }, "Start execution")),
    h("dl", { class: "facts inline" },
      h("dt", {}, "ARN"), h("dd", {}, h("code", {}, m.stateMachineArn)),
      h("dt", {}, "Role"), h("dd", {}, h("code", {}, m.roleArn || "—")),
      h("dt", {}, "Created"), h("dd", {}, time(m.creationDate)),
      m.revisionId ? [h("dt", {}, "Revision"), h("dd", {}, h("code", {}, m.revisionId))] : null),
    tabs, panel);
  if (tab === "graph") {
    const g = drawGraph(def, null);
    clear(panel, legend(false), h("div", { class: "graph-wrap" }, g.svg));
  } else if (tab === "definition") {
    const ed = definitionEditor(JSON.stringify(def, null, 2), m.type, versionOf ? null : async (text) => {
      await call("UpdateStateMachine", { stateMachineArn: arn, definition: text });
    });
    clear(panel, ed.el);
  } else if (tab === "versions") {
    await versions(panel, arn);
  } else {
    executions(panel, arn);
  }
}

export function legend(withStatus) {
  const items = withStatus
    ? [["succeeded", "Succeeded"], ["failed", "Failed"], ["caught", "Caught error"], ["retried", "Retried"], ["running", "In progress"], ["aborted", "Aborted"], ["notreached", "Not reached"]]
    : [];
  return h("ul", { class: "legend", "aria-label": "Legend" },
    items.map(([k, label]) => h("li", {}, h("span", { class: `swatch st-${k}` }), label)),
    h("li", {}, h("span", { class: "swatch-line edge-catch" }), "Catch"),
    h("li", {}, h("span", { class: "swatch-line edge-retry" }), "Retry"),
    h("li", {}, h("span", { class: "swatch-line edge-choice" }), "Choice rule"));
}

function executions(panel, arn) {
  const status = h("select", { "aria-label": "Status" },
    ["", "RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"].map((s) => h("option", { value: s }, s || "Any status")));
  const redrive = h("select", { "aria-label": "Redrive" },
    [["", "Redriven or not"], ["REDRIVEN", "Redriven"], ["NOT_REDRIVEN", "Not redriven"]].map(([v, l]) => h("option", { value: v }, l)));
  const tbody = h("tbody", {});
  const prev = h("button", { type: "button", "data-action": "previous-page" }, "Previous page");
  const next = h("button", { type: "button", "data-action": "next-page" }, "Next page");
  const where = h("span", { class: "muted", role: "status" });
  const refresh = h("button", { type: "button" }, "Refresh");
  let tokens = [undefined];
  let page = 0;
  const load = async () => {
    const body = { stateMachineArn: arn, maxResults: PAGE };
    if (status.value) body.statusFilter = status.value;
    if (redrive.value) body.redriveFilter = redrive.value;
    if (tokens[page]) body.nextToken = tokens[page];
    try {
      const out = await call("ListExecutions", body);
      tokens[page + 1] = out.nextToken;
      prev.disabled = page === 0;
      next.disabled = !out.nextToken;
      where.textContent = `Page ${page + 1}`;
      const items = out.executions || [];
      clear(tbody, items.length
        ? items.map((e) => h("tr", {},
          h("td", {}, link(`#/execution/${encodeURIComponent(e.executionArn)}`, e.name)),
          h("td", {}, badge(e.status)),
          h("td", {}, time(e.startDate)),
          h("td", {}, time(e.stopDate)),
          h("td", { class: "num" }, e.redriveCount ?? 0)))
        : h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No executions.")));
    } catch (e) {
      toast(e.message, "error");
    }
  };
  const restart = () => {
    tokens = [undefined];
    page = 0;
    load();
  };
  status.addEventListener("change", restart);
  redrive.addEventListener("change", restart);
  refresh.addEventListener("click", load);
  prev.addEventListener("click", () => { if (page > 0) { page--; load(); } });
  next.addEventListener("click", () => { if (tokens[page + 1]) { page++; load(); } });
  clear(panel,
    h("div", { class: "toolbar" }, h("label", { class: "inline" }, "Status ", status), h("label", { class: "inline" }, "Redrive ", redrive), refresh),
    h("table", { class: "list", "aria-label": "Executions" },
      h("thead", {}, h("tr", {}, ["Name", "Status", "Started", "Ended", "Redrives"].map((c) => h("th", { scope: "col" }, c)))),
      tbody),
    h("div", { class: "pager" }, prev, where, next));
  load();
}

async function versions(panel, arn) {
  const base = arn.split(":").slice(0, 7).join(":");
  const [vs, as] = await Promise.all([
    all("ListStateMachineVersions", { stateMachineArn: base }, "stateMachineVersions"),
    all("ListStateMachineAliases", { stateMachineArn: base }, "stateMachineAliases"),
  ]);
  const aliases = await Promise.all(as.map((a) => call("DescribeStateMachineAlias", { stateMachineAliasArn: a.stateMachineAliasArn }).catch(() => a)));
  clear(panel,
    h("h2", {}, "Versions"),
    h("table", { class: "list", "aria-label": "Versions" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Version"), h("th", { scope: "col" }, "Created"))),
      h("tbody", {}, vs.length ? vs.map((v) => h("tr", {},
        h("td", {}, link(`#/machine/${encodeURIComponent(v.stateMachineVersionArn)}`, shortArn(v.stateMachineVersionArn))),
        h("td", {}, time(v.creationDate)))) : h("tr", {}, h("td", { colspan: 2, class: "muted" }, "No versions published.")))),
    h("h2", {}, "Aliases"),
    h("table", { class: "list", "aria-label": "Aliases" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Alias"), h("th", { scope: "col" }, "Routes"), h("th", { scope: "col" }, "Created"))),
      h("tbody", {}, aliases.length ? aliases.map((a) => h("tr", {},
        h("td", {}, h("span", { title: a.stateMachineAliasArn }, a.name || shortArn(a.stateMachineAliasArn))),
        h("td", {}, (a.routingConfiguration || []).map((r, i) => [i ? ", " : "",
          link(`#/machine/${encodeURIComponent(r.stateMachineVersionArn)}`, `version ${shortArn(r.stateMachineVersionArn)}`), `: ${r.weight}%`])),
        h("td", {}, time(a.creationDate)))) : h("tr", {}, h("td", { colspan: 3, class: "muted" }, "No aliases.")))));
}
