// The definition's JSON in an editor, checked by ValidateStateMachineDefinition: each diagnostic
// is shown at its location (a JSON pointer such as /States/Load/Next) in the text.

import { h, clear, toast } from "./dom.js";
import { call } from "./api.js";

// Where each value starts in JSON text, by JSON pointer: a small parser that keeps offsets.
export function pointerOffsets(text) {
  const at = new Map();
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const str = () => {
    const s = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    i++;
    return JSON.parse(text.slice(s, i));
  };
  const value = (ptr) => {
    ws();
    at.set(ptr, i);
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      if (text[i] === "}") return void i++;
      for (;;) {
        ws();
        const keyAt = i;
        const key = str();
        const child = `${ptr}/${key.replace(/~/g, "~0").replace(/\//g, "~1")}`;
        ws();
        i++; // :
        value(child);
        // A diagnostic about a member points at its name.
        at.set(child, keyAt);
        ws();
        if (text[i] === ",") i++;
        else return void i++;
      }
    } else if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") return void i++;
      for (let n = 0; ; n++) {
        value(`${ptr}/${n}`);
        ws();
        if (text[i] === ",") i++;
        else return void i++;
      }
    } else if (c === '"') {
      str();
    } else {
      while (i < text.length && /[^\s,\]}]/.test(text[i])) i++;
    }
  };
  try {
    value("");
  } catch {
    // Broken JSON: the offsets found so far.
  }
  return at;
}

// The line (0-based) a diagnostic's location points at: the deepest part of it found.
export function lineOf(text, offsets, location) {
  let ptr = location || "";
  while (ptr && !offsets.has(ptr)) ptr = ptr.slice(0, ptr.lastIndexOf("/"));
  const offset = offsets.get(ptr) ?? 0;
  let line = 0;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

// The editor and its diagnostics. `type` is STANDARD or EXPRESS; `onSave(text)` (optional)
// stores the definition.
export function definitionEditor(definition, type, onSave) {
  const area = h("textarea", { class: "definition-editor", spellcheck: "false", rows: 24, "aria-label": "Definition (Amazon States Language JSON)" });
  area.value = definition;
  const annotated = h("ol", { class: "annotated", "aria-label": "Definition with diagnostics" });
  const summary = h("p", { class: "diagnostic-summary", role: "status" });
  const validate = async () => {
    const text = area.value;
    let diagnostics = [];
    try {
      JSON.parse(text);
    } catch (e) {
      const m = /position (\d+)/.exec(e.message);
      diagnostics.push({ severity: "ERROR", code: "INVALID_JSON_DESCRIPTION", message: e.message, offset: m ? Number(m[1]) : 0 });
    }
    if (!diagnostics.length) {
      const out = await call("ValidateStateMachineDefinition", { definition: text, type, maxResults: 100 });
      diagnostics = out.diagnostics || [];
    }
    show(text, diagnostics);
    return diagnostics;
  };
  const show = (text, diagnostics) => {
    const offsets = pointerOffsets(text);
    const byLine = new Map();
    for (const d of diagnostics) {
      let line = 0;
      if (d.offset !== undefined) {
        for (let i = 0; i < d.offset; i++) if (text.charCodeAt(i) === 10) line++;
      } else line = lineOf(text, offsets, d.location);
      if (!byLine.has(line)) byLine.set(line, []);
      byLine.get(line).push(d);
    }
    const errors = diagnostics.filter((d) => d.severity === "ERROR").length;
    summary.textContent = diagnostics.length
      ? `${errors} error(s), ${diagnostics.length - errors} warning(s)`
      : "The definition is valid.";
    summary.className = `diagnostic-summary ${errors ? "bad" : "ok"}`;
    const lines = text.split("\n");
    clear(annotated, lines.map((l, n) => {
      const ds = byLine.get(n) || [];
      return h("li", { class: ds.length ? "has-diagnostic" : "", "data-line": n + 1 },
        h("code", {}, l || " "),
        ds.map((d) => h("div", { class: `diagnostic diagnostic-${String(d.severity).toLowerCase()}`, role: "note" },
          h("strong", {}, `${d.severity} ${d.code}`), ` ${d.message}`, d.location ? h("span", { class: "muted" }, ` at ${d.location}`) : "",
          h("button", { type: "button", class: "link", onclick: () => goTo(n) }, `line ${n + 1}`))));
    }));
  };
  const goTo = (line) => {
    const lines = area.value.split("\n");
    const from = lines.slice(0, line).reduce((a, l) => a + l.length + 1, 0);
    area.focus();
    area.setSelectionRange(from, from + (lines[line] || "").length);
    area.scrollTop = Math.max(0, line * 18 - 60);
  };
  const buttons = [h("button", { type: "button", class: "primary", onclick: () => validate().catch((e) => toast(e.message, "error")) }, "Validate")];
  if (onSave) {
    buttons.push(h("button", {
      type: "button",
      onclick: async () => {
        try {
          const d = await validate();
          if (d.some((x) => x.severity === "ERROR")) return toast("Fix the errors before saving", "error");
          await onSave(area.value);
          toast("Definition saved", "ok");
        } catch (e) {
          toast(e.message, "error");
        }
      },
    }, "Save"));
  }
  const el = h("div", { class: "definition" },
    h("div", { class: "toolbar" }, buttons, summary),
    h("div", { class: "definition-panes" }, area, h("div", { class: "annotated-wrap" }, annotated)));
  validate().catch((e) => toast(e.message, "error"));
  return { el, validate };
}
