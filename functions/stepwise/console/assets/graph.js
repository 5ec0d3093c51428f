// A state machine's definition drawn as a graph: dagre lays out each States object (the machine,
// each Parallel branch, each Map's item processor) on its own, inner ones first, so a Parallel or
// Map is one node of its parent's layout sized to hold its branches or processor. Node ids are
// paths: `Name` at the top, `Par/0/Name` in a Parallel's first branch, `Map/Name` in a Map.

import { h } from "./dom.js";

const NODE_H = 40;
const PAD = 16;
const HEADER = 30;
const CHAR_W = 7.2;

// The definition's states by id, with their parent container: what the execution page needs to
// place history events (`index.get(id) = {id, name, state, parent, branch}`).
export function indexDefinition(def) {
  const index = new Map();
  const walk = (machine, prefix, parent, branch) => {
    for (const [name, state] of Object.entries(machine?.States || {})) {
      const id = prefix + name;
      index.set(id, { id, name, state, parent, branch });
      if (state.Type === "Parallel") {
        (state.Branches || []).forEach((b, i) => walk(b, `${id}/${i}/`, id, i));
      } else if (state.Type === "Map") {
        walk(state.ItemProcessor || state.Iterator, `${id}/`, id, null);
      }
    }
  };
  walk(def, "", null, null);
  return index;
}

// A Choice rule in a few words: JSONata's Condition as written; JSONPath's comparisons as
// `$.x > 5`, combined with and/or/not.
export function ruleText(rule) {
  if (!rule || typeof rule !== "object") return "";
  if (rule.Condition !== undefined) return String(rule.Condition);
  if (rule.And) return rule.And.map(ruleText).map(paren).join(" and ");
  if (rule.Or) return rule.Or.map(ruleText).map(paren).join(" or ");
  if (rule.Not) return `not ${paren(ruleText(rule.Not))}`;
  const ops = {
    Equals: "==", LessThan: "<", GreaterThan: ">", LessThanEquals: "<=", GreaterThanEquals: ">=",
  };
  for (const [k, v] of Object.entries(rule)) {
    if (k === "Variable" || k === "Next" || k === "Comment" || k === "Assign" || k === "Output") continue;
    let m;
    if ((m = /^(String|Numeric|Boolean|Timestamp)(Equals|LessThan|GreaterThan|LessThanEquals|GreaterThanEquals)(Path)?$/.exec(k))) {
      return `${rule.Variable} ${ops[m[2]]} ${m[3] ? v : JSON.stringify(v)}`;
    }
    if (k === "IsPresent") return `${rule.Variable} ${v ? "is present" : "is absent"}`;
    if (k === "IsNull") return `${rule.Variable} ${v ? "is null" : "is not null"}`;
    if (k.startsWith("Is")) return `${rule.Variable} ${v ? "" : "not "}${k.slice(2).toLowerCase()}`;
    if (k === "StringMatches") return `${rule.Variable} matches ${JSON.stringify(v)}`;
  }
  return JSON.stringify(rule);
}

function paren(s) {
  return s.includes(" ") ? `(${s})` : s;
}

function clip(s, n) {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

function errorsText(list) {
  return (list || []).join(", ");
}

function textWidth(s) {
  return s.length * CHAR_W;
}

// Lays out one States object. Returns {width, height, nodes, edges} in its own coordinates.
function layoutMachine(machine, prefix, top) {
  const dagre = globalThis.dagre;
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: "TB", nodesep: 36, ranksep: 44, edgesep: 16, marginx: PAD, marginy: PAD });
  g.setDefaultEdgeLabel(() => ({}));
  const nodes = new Map();
  const states = machine?.States || {};
  if (top) {
    nodes.set("#start", { id: `${prefix}#start`, kind: "terminal", label: "Start", w: 64, h: 28 });
    nodes.set("#end", { id: `${prefix}#end`, kind: "terminal", label: "End", w: 64, h: 28 });
  }
  for (const [name, state] of Object.entries(states)) {
    const id = prefix + name;
    const type = state.Type || "Unknown";
    const node = { id, name, type, kind: "state", label: name };
    if (type === "Parallel") {
      node.kind = "group";
      node.children = (state.Branches || []).map((b, i) => layoutMachine(b, `${id}/${i}/`, false));
      const inner = node.children.reduce((w, c) => w + c.width, 0) + PAD * (node.children.length + 1);
      node.w = Math.max(inner, textWidth(name) + 120);
      node.h = Math.max(...node.children.map((c) => c.height), 20) + HEADER + PAD;
    } else if (type === "Map") {
      node.kind = "group";
      const processor = state.ItemProcessor || state.Iterator;
      node.children = [layoutMachine(processor, `${id}/`, false)];
      node.w = Math.max(node.children[0].width + 2 * PAD, textWidth(name) + 160);
      node.h = node.children[0].height + HEADER + PAD;
    } else {
      node.w = Math.max(110, textWidth(`${name}`) + 36);
      node.h = NODE_H;
    }
    // Retry loops are drawn beside the node: room for them in the layout.
    node.retries = (state.Retry || []).map((r) => `Retry ${errorsText(r.ErrorEquals)}${r.MaxAttempts !== undefined ? ` ×${r.MaxAttempts}` : ""}`);
    node.boxW = node.w;
    // Room on both sides, so the box stays centred where the edges meet it.
    node.side = node.retries.length ? Math.min(220, Math.max(...node.retries.map(textWidth)) * 0.86 + 30) : 0;
    node.w += 2 * node.side;
    nodes.set(name, node);
  }
  for (const [key, n] of nodes) g.setNode(key, { width: n.w, height: n.h });
  const edges = [];
  const edge = (from, to, kind, label) => {
    if (!nodes.has(to)) return;
    const name = `e${edges.length}`;
    const lw = label ? Math.min(260, textWidth(clip(label, 36)) * 0.86) + 8 : 0;
    g.setEdge(from, to, { width: lw, height: label ? 18 : 0, labelpos: "c", kind, label }, name);
    edges.push({ from, to, name, kind, label });
  };
  if (top && nodes.has(machine.StartAt)) edge("#start", machine.StartAt, "start");
  for (const [name, state] of Object.entries(states)) {
    if (state.Type === "Choice") {
      for (const rule of state.Choices || []) edge(name, rule.Next, "choice", clip(ruleText(rule), 36));
      if (state.Default) edge(name, state.Default, "default", "Default");
    } else if (state.Next) {
      edge(name, state.Next, "next");
    } else if (top && (state.End || state.Type === "Succeed" || state.Type === "Fail")) {
      edge(name, "#end", "end");
    }
    for (const c of state.Catch || []) edge(name, c.Next, "catch", `Catch ${errorsText(c.ErrorEquals)}`);
  }
  dagre.layout(g);
  const laid = [];
  for (const [key, n] of nodes) {
    const p = g.node(key);
    laid.push({ ...n, x: p.x - n.w / 2 + (n.side || 0), y: p.y - n.h / 2 });
  }
  const laidEdges = edges.map((e) => {
    const p = g.edge(e.from, e.to, e.name);
    return { ...e, points: p.points, lx: p.x, ly: p.y };
  });
  const size = g.graph();
  return { width: size.width || 0, height: size.height || 0, nodes: laid, edges: laidEdges };
}

const TYPE_LABEL = {
  Task: "Task", Pass: "Pass", Choice: "Choice", Wait: "Wait", Succeed: "Succeed", Fail: "Fail",
  Parallel: "Parallel", Map: "Map",
};

function pathData(points) {
  if (!points?.length) return "";
  let d = `M${points[0].x},${points[0].y}`;
  for (let i = 1; i < points.length; i++) d += ` L${points[i].x},${points[i].y}`;
  return d;
}

// Draws the definition; `onSelect(id)` is called when a state is clicked or chosen with the
// keyboard. Returns {svg, nodes: Map(id -> <g>)}.
export function drawGraph(def, onSelect) {
  const layout = layoutMachine(def, "", true);
  const svg = h("svg:svg", {
    class: "graph",
    width: Math.ceil(layout.width),
    height: Math.ceil(layout.height),
    viewBox: `0 0 ${Math.ceil(layout.width)} ${Math.ceil(layout.height)}`,
    role: "group",
    "aria-label": "State machine graph",
  });
  const defs = h("svg:defs", {});
  for (const kind of ["next", "catch", "choice"]) {
    defs.append(
      h("svg:marker", { id: `arrow-${kind}`, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
        h("svg:path", { d: "M0,0 L10,5 L0,10 z", class: `arrowhead arrowhead-${kind}` }))
    );
  }
  svg.append(defs);
  const nodes = new Map();
  drawLayout(svg, layout, 0, 0, nodes, onSelect);
  return { svg, nodes, width: layout.width, height: layout.height };
}

function drawLayout(parent, layout, ox, oy, nodes, onSelect) {
  const g = h("svg:g", { transform: `translate(${ox},${oy})` });
  parent.append(g);
  const edgeLayer = h("svg:g", { class: "edges" });
  const nodeLayer = h("svg:g", { class: "nodes" });
  g.append(edgeLayer, nodeLayer);
  for (const e of layout.edges) {
    const kind = e.kind === "default" || e.kind === "start" || e.kind === "end" ? "next" : e.kind;
    const path = h("svg:path", { class: `edge edge-${e.kind}`, d: pathData(e.points), "marker-end": `url(#arrow-${kind})` });
    edgeLayer.append(path);
    if (e.label) {
      const t = h("svg:text", { class: `edge-label edge-label-${e.kind}`, x: e.lx, y: e.ly + 4, "text-anchor": "middle" }, e.label);
      edgeLayer.append(h("svg:g", { class: "edge-label-group" }, h("svg:title", {}, e.label), t));
    }
  }
  for (const n of layout.nodes) {
    if (n.kind === "terminal") {
      const t = h("svg:g", { class: "terminal", "data-state": n.id });
      t.append(
        h("svg:rect", { x: n.x, y: n.y, width: n.w, height: n.h, rx: 14 }),
        h("svg:text", { x: n.x + n.w / 2, y: n.y + n.h / 2 + 4, "text-anchor": "middle" }, n.label)
      );
      nodeLayer.append(t);
      continue;
    }
    const el = h("svg:g", {
      class: `node type-${n.type.toLowerCase()} ${n.kind === "group" ? "group" : ""} st-none`,
      "data-state": n.id,
      "data-type": n.type,
      tabindex: "0",
      role: "button",
      "aria-label": `${n.type} state ${n.name}`,
    });
    el.addEventListener("click", (ev) => {
      ev.stopPropagation();
      onSelect?.(n.id);
    });
    el.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" || ev.key === " ") {
        ev.preventDefault();
        ev.stopPropagation();
        onSelect?.(n.id);
      }
    });
    const title = h("svg:title", {}, `${n.name} (${n.type})`);
    el.append(title);
    if (n.kind === "group") {
      el.append(
        h("svg:rect", { class: "group-box", x: n.x, y: n.y, width: n.boxW, height: n.h, rx: 8 }),
        h("svg:text", { class: "node-type", x: n.x + 10, y: n.y + 19 }, TYPE_LABEL[n.type] || n.type),
        h("svg:text", { class: "node-name", x: n.x + 10 + textWidth(n.type) + 10, y: n.y + 19 }, n.name)
      );
      nodeLayer.append(el);
      // The children are drawn after (above) the group's box, outside its <g>, so clicks on
      // them select them and not the group.
      let cx = n.x + PAD;
      const inner = h("svg:g", { class: "group-children", "data-group": n.id });
      nodeLayer.append(inner);
      for (const [i, child] of n.children.entries()) {
        const cy = n.y + HEADER;
        if (n.type === "Parallel") {
          inner.append(h("svg:rect", { class: "branch-box", "data-branch": `${n.id}/${i}`, x: cx - 4, y: cy - 4, width: child.width + 8, height: child.height + 8, rx: 6 }));
        } else {
          cx = n.x + (n.boxW - child.width) / 2;
        }
        drawLayout(inner, child, cx, cy, nodes, onSelect);
        cx += child.width + PAD;
      }
    } else {
      el.append(
        h("svg:rect", { class: "node-box", x: n.x, y: n.y, width: n.boxW, height: n.h, rx: n.type === "Choice" ? 18 : 6 }),
        h("svg:text", { class: "node-type", x: n.x + n.boxW / 2, y: n.y + 14, "text-anchor": "middle" }, TYPE_LABEL[n.type] || n.type),
        h("svg:text", { class: "node-name", x: n.x + n.boxW / 2, y: n.y + 30, "text-anchor": "middle" }, n.name)
      );
      nodeLayer.append(el);
    }
    // Retry: a loop on the node's right side, labelled with what it retries.
    n.retries.forEach((label, i) => {
      const x = n.x + n.boxW;
      const y = n.y + 10 + i * 4;
      el.append(
        h("svg:path", { class: "edge edge-retry", d: `M${x},${y} C${x + 26},${y - 8} ${x + 26},${y + 24} ${x},${y + 16}`, "marker-end": "url(#arrow-next)" }),
        h("svg:text", { class: "edge-label edge-label-retry", x: x + 26, y: y + 12 + i * 12 }, clip(label, 30))
      );
    });
    nodes.set(n.id, el);
  }
}
