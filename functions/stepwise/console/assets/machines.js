// The state machines page: every machine, searchable by name, with its type and creation date.

import { h, clear, time, link, toast, dialog, field, jsonEditor } from "./dom.js";
import { all, call } from "./api.js";

const SAMPLE = JSON.stringify({ StartAt: "Hello", States: { Hello: { Type: "Pass", Result: { hello: "world" }, End: true } } }, null, 2);

export async function renderMachines(main) {
  const search = h("input", { type: "search", placeholder: "Search by name", "aria-label": "Search state machines by name" });
  const tbody = h("tbody", {});
  const count = h("span", { class: "muted", role: "status" });
  clear(main,
    h("div", { class: "page-head" }, h("h1", {}, "State machines"),
      h("button", { type: "button", class: "primary", onclick: () => create() }, "Create state machine")),
    h("div", { class: "toolbar" }, search, count),
    h("table", { class: "list", "aria-label": "State machines" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Type"), h("th", { scope: "col" }, "Creation date"))),
      tbody));
  const machines = await all("ListStateMachines", {}, "stateMachines");
  const draw = () => {
    const q = search.value.trim().toLowerCase();
    const shown = machines.filter((m) => m.name.toLowerCase().includes(q));
    count.textContent = `${shown.length} of ${machines.length}`;
    clear(tbody, shown.length
      ? shown.map((m) => h("tr", {},
        h("td", {}, link(`#/machine/${encodeURIComponent(m.stateMachineArn)}`, m.name)),
        h("td", {}, m.type),
        h("td", {}, time(m.creationDate))))
      : h("tr", {}, h("td", { colspan: 3, class: "muted" }, machines.length ? "No state machine matches." : "No state machines yet.")));
  };
  search.addEventListener("input", draw);
  draw();
  search.focus();
}

async function create() {
  const name = h("input", { type: "text", required: true, "aria-label": "Name" });
  const type = h("select", { "aria-label": "Type" }, h("option", { value: "STANDARD" }, "Standard"), h("option", { value: "EXPRESS" }, "Express"));
  const role = h("input", { type: "text", value: "arn:aws:iam::123456789012:role/stepwise", "aria-label": "Role ARN" });
  const editor = jsonEditor(SAMPLE, "Definition");
  await dialog("Create state machine", [field("Name", name), field("Type", type), field("Role ARN", role), editor.el], [{
    label: "Create",
    primary: true,
    run: async () => {
      const definition = editor.value();
      const out = await call("CreateStateMachine", { name: name.value.trim(), type: type.value, roleArn: role.value.trim(), definition });
      toast(`Created ${name.value}`, "ok");
      location.hash = `#/machine/${encodeURIComponent(out.stateMachineArn)}`;
    },
  }]);
}
