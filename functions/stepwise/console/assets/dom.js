// Small DOM helpers shared by the pages: element building, times, JSON, dialogs, messages.

// h("div", {class: "x", onclick: f}, child, "text", [more]) builds an element.
export function h(tag, attrs = {}, ...children) {
  const svg = tag.startsWith("svg:");
  const el = svg
    ? document.createElementNS("http://www.w3.org/2000/svg", tag.slice(4))
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "text") el.textContent = v;
    else if (k === "value" && !svg) el.value = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// Step Functions dates are epoch seconds (with milliseconds); shown in the user's zone, with the
// raw value and UTC on hover.
export function time(epochSeconds) {
  if (epochSeconds === undefined || epochSeconds === null) return h("span", { class: "muted" }, "—");
  const d = new Date(Number(epochSeconds) * 1000);
  if (Number.isNaN(d.getTime())) return h("span", {}, String(epochSeconds));
  return h(
    "time",
    { datetime: d.toISOString(), title: `${epochSeconds} (${d.toISOString()})` },
    d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" }) +
      `.${String(d.getMilliseconds()).padStart(3, "0")}`
  );
}

// JSON text (as the API carries payloads) pretty-printed when it parses.
export function pretty(text) {
  if (text === undefined || text === null) return "";
  if (typeof text !== "string") return JSON.stringify(text, null, 2);
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

// Long payloads (a Map's 25,000 items) show their start; the rest on request, so the page stays
// quick to lay out.
const SHOWN_CHARS = 20000;
export function code(text, label) {
  const pre = h("pre", { class: "code", tabindex: "0", "aria-label": label || "JSON" });
  if (text.length <= SHOWN_CHARS) {
    pre.textContent = text;
    return pre;
  }
  pre.textContent = `${text.slice(0, SHOWN_CHARS)}\n…`;
  const more = h("button", {
    type: "button",
    class: "link",
    onclick: () => {
      pre.textContent = text;
      more.remove();
    },
  }, `Show all ${(text.length / 1024).toFixed(0)} KB`);
  return h("div", {}, pre, more);
}

export function badge(status) {
  const s = String(status || "").toLowerCase();
  return h("span", { class: `badge badge-${s}` }, status || "");
}

let toastTimer;
export function toast(message, kind = "info") {
  const el = document.getElementById("toast");
  if (!el) return;
  el.className = `toast toast-${kind} shown`;
  el.textContent = message;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove("shown"), 6000);
}

// A modal <dialog>: `body` is its content, `actions` its buttons ({label, primary, run}); `run`
// returns false to keep the dialog open (e.g. invalid input). Resolves when it closes.
export function dialog(title, body, actions) {
  return new Promise((resolve) => {
    const error = h("p", { class: "dialog-error", role: "alert" });
    const buttons = actions.map((a) =>
      h("button", {
        type: "button",
        class: a.primary ? "primary" : "",
        "data-action": a.id || a.label,
        onclick: async (ev) => {
          const btn = ev.currentTarget;
          error.textContent = "";
          btn.disabled = true;
          try {
            const keep = a.run ? await a.run() : undefined;
            if (keep === false) return;
            dlg.close();
            resolve(a.id || a.label);
          } catch (e) {
            error.textContent = e.message || String(e);
          } finally {
            btn.disabled = false;
          }
        },
      })
    );
    buttons.forEach((b, i) => (b.textContent = actions[i].label));
    const cancel = h("button", { type: "button", onclick: () => dlg.close() }, "Cancel");
    const heading = h("h2", { id: `dlg-${Date.now()}` }, title);
    const dlg = h(
      "dialog",
      { class: "dialog", "aria-labelledby": heading.id },
      heading,
      h("div", { class: "dialog-body" }, body),
      error,
      h("div", { class: "dialog-actions" }, cancel, buttons)
    );
    dlg.addEventListener("close", () => {
      dlg.remove();
      resolve(null);
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}

// A JSON editor: a textarea checked as you type; `.value()` throws while the text is not JSON.
export function jsonEditor(initial, label, { optional = false } = {}) {
  const area = h("textarea", {
    class: "json-editor",
    rows: 10,
    spellcheck: "false",
    "aria-label": label,
  });
  area.value = initial;
  const note = h("p", { class: "editor-note", "aria-live": "polite" });
  const check = () => {
    const text = area.value;
    if (optional && text.trim() === "") {
      note.textContent = "";
      area.removeAttribute("aria-invalid");
      return null;
    }
    try {
      JSON.parse(text);
      note.textContent = "Valid JSON";
      note.className = "editor-note ok";
      area.removeAttribute("aria-invalid");
      return null;
    } catch (e) {
      note.textContent = e.message;
      note.className = "editor-note bad";
      area.setAttribute("aria-invalid", "true");
      return e.message;
    }
  };
  area.addEventListener("input", check);
  check();
  const el = h("div", { class: "editor" }, h("label", {}, label, area), note);
  return {
    el,
    area,
    // The text, after checking it is JSON; throws with the parser's message otherwise.
    value() {
      const bad = check();
      if (bad) throw new Error(`${label} is not valid JSON: ${bad}`);
      return area.value;
    },
  };
}

export function field(label, input) {
  return h("label", { class: "field" }, h("span", {}, label), input);
}

export function link(href, text, attrs = {}) {
  return h("a", { href, ...attrs }, text);
}

export function shortArn(arn) {
  return String(arn || "").split(":").slice(-1)[0];
}
