// The event history as a table that draws only the rows in view (a history may hold 100,000
// events): a fixed row height, a spacer for the rows above and below, and the rows in between.
// Keyboard: the table is one tab stop; arrows, Page Up/Down, Home/End move the current row,
// Enter shows its details.

import { h, clear, time, pretty, code } from "./dom.js";
import { detailsOf } from "./run.js";

const ROW_H = 30;
const OVERSCAN = 10;

export function historyTable(onShow) {
  let events = [];
  let visits = [];
  let start = 0;
  let current = -1;
  let filter = "";
  let shown = [];
  const body = h("tbody", {});
  const before = h("tr", { class: "spacer", "aria-hidden": "true" }, h("td", { colspan: 6 }));
  const after = h("tr", { class: "spacer", "aria-hidden": "true" }, h("td", { colspan: 6 }));
  const table = h(
    "table",
    { class: "history", role: "grid", "aria-label": "Execution event history", "aria-rowcount": "0" },
    h("thead", {}, h("tr", { "aria-rowindex": "1" },
      h("th", { scope: "col" }, "ID"), h("th", { scope: "col" }, "Type"), h("th", { scope: "col" }, "Step"),
      h("th", { scope: "col" }, "Resource"), h("th", { scope: "col" }, "Started after"), h("th", { scope: "col" }, "Date and time"))),
    body
  );
  const scroller = h("div", { class: "history-scroll", tabindex: "0", "aria-label": "Event history, use arrow keys to move and Enter to show an event" }, table);
  const search = h("input", { type: "search", placeholder: "Filter by type or step", "aria-label": "Filter events by type or step" });
  const count = h("span", { class: "muted history-count", "aria-live": "polite" });
  const detail = h("div", { class: "event-detail", "aria-live": "polite" });
  const el = h("section", { class: "history-section", "aria-label": "Event history" },
    h("div", { class: "toolbar" }, h("h2", {}, "Events"), search, count), scroller, detail);
  let startTime = 0;

  const applyFilter = () => {
    const f = filter.toLowerCase();
    shown = !f
      ? events
      : events.filter((e) => e.type.toLowerCase().includes(f) || (visits[e._visit]?.name || "").toLowerCase().includes(f));
    table.setAttribute("aria-rowcount", String(shown.length + 1));
    count.textContent = `${shown.length.toLocaleString()} of ${events.length.toLocaleString()} events`;
  };

  const render = () => {
    const height = scroller.clientHeight || 480;
    start = Math.max(0, Math.floor(scroller.scrollTop / ROW_H) - OVERSCAN);
    const end = Math.min(shown.length, start + Math.ceil(height / ROW_H) + 2 * OVERSCAN);
    before.firstChild.style.height = `${start * ROW_H}px`;
    after.firstChild.style.height = `${(shown.length - end) * ROW_H}px`;
    const rows = [before];
    for (let i = start; i < end; i++) rows.push(row(shown[i], i));
    rows.push(after);
    body.replaceChildren(...rows);
  };

  const row = (e, i) => {
    const d = detailsOf(e) || {};
    const v = visits[e._visit];
    const elapsed = e.timestamp - startTime;
    const tr = h("tr", {
      id: `event-row-${e.id}`,
      class: `${/Failed|TimedOut|Aborted/.test(e.type) ? "ev-failed" : ""} ${i === current ? "current" : ""}`,
      "aria-rowindex": String(i + 2),
      "aria-selected": i === current ? "true" : "false",
      "data-event-id": e.id,
      onclick: () => select(i),
    },
      h("td", {}, e.id),
      h("td", {}, e.type),
      h("td", {}, v ? v.name + (v.iters && Object.keys(v.iters).length ? ` [${Object.values(v.iters).join(".")}]` : "") : ""),
      h("td", { class: "muted" }, d.resource ? `${d.resourceType || ""}:${d.resource}` : ""),
      h("td", { class: "num" }, Number.isFinite(elapsed) ? `${Math.round(elapsed * 1000)} ms` : ""),
      h("td", {}, time(e.timestamp))
    );
    return tr;
  };

  const select = (i, focusRow = true) => {
    if (i < 0 || i >= shown.length) return;
    current = i;
    const top = i * ROW_H;
    if (top < scroller.scrollTop + ROW_H) scroller.scrollTop = Math.max(0, top - ROW_H);
    else if (top > scroller.scrollTop + scroller.clientHeight - 2 * ROW_H) scroller.scrollTop = top - scroller.clientHeight + 2 * ROW_H;
    render();
    const e = shown[i];
    clear(detail, h("h3", {}, `Event ${e.id}: ${e.type}`), eventDetails(e));
    // Screen readers follow the current row while focus stays on the scrolling table.
    if (focusRow) scroller.setAttribute("aria-activedescendant", `event-row-${e.id}`);
    onShow?.(e);
  };

  scroller.addEventListener("scroll", () => requestAnimationFrame(render));
  scroller.addEventListener("keydown", (ev) => {
    const page = Math.max(1, Math.floor(scroller.clientHeight / ROW_H) - 1);
    const moves = { ArrowDown: 1, ArrowUp: -1, PageDown: page, PageUp: -page };
    if (ev.key in moves) select(Math.min(shown.length - 1, Math.max(0, (current < 0 ? 0 : current + moves[ev.key]))));
    else if (ev.key === "Home") select(0);
    else if (ev.key === "End") select(shown.length - 1);
    else if (ev.key === "Enter" && current >= 0) select(current);
    else return;
    ev.preventDefault();
  });
  search.addEventListener("input", () => {
    filter = search.value;
    current = -1;
    applyFilter();
    scroller.scrollTop = 0;
    render();
  });

  return {
    el,
    update(newEvents, newVisits) {
      events = newEvents;
      visits = newVisits;
      startTime = events[0]?.timestamp ?? 0;
      applyFilter();
      render();
    },
    // Shows the first event of a visit (a click on the graph).
    reveal(eventId) {
      const i = shown.findIndex((e) => e.id === eventId);
      if (i >= 0) select(i, false);
    },
  };
}

export function eventDetails(e) {
  const d = detailsOf(e);
  const parts = [h("dl", { class: "facts" },
    h("dt", {}, "ID"), h("dd", {}, e.id),
    h("dt", {}, "Previous event"), h("dd", {}, e.previousEventId ?? "—"),
    h("dt", {}, "Time"), h("dd", {}, time(e.timestamp)))];
  if (d) {
    for (const key of ["input", "output", "parameters", "error", "cause"]) {
      if (d[key] !== undefined) parts.push(h("h4", {}, key), code(pretty(d[key]), key));
    }
    parts.push(h("details", {}, h("summary", {}, "All details"), code(JSON.stringify(d, null, 2))));
  }
  return parts;
}
