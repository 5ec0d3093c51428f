// What can be done to executions: start (the input checked as JSON before it is sent), stop,
// redrive, resume from any state with a new input (Stepwise's ResumeExecution), and answer a
// waiting task token (SendTaskSuccess / SendTaskFailure).

import { h, dialog, field, jsonEditor, toast, pretty } from "./dom.js";
import { call } from "./api.js";

export async function startDialog(machineArn, input) {
  const name = h("input", { type: "text", name: "name", "aria-label": "Execution name (optional)", placeholder: "generated when empty" });
  const editor = jsonEditor(pretty(input || "{}"), "Input");
  await dialog("Start execution", [field("Name", name), editor.el], [{
    id: "start",
    label: "Start",
    primary: true,
    run: async () => {
      const body = { stateMachineArn: machineArn, input: editor.value() };
      if (name.value.trim()) body.name = name.value.trim();
      const out = await call("StartExecution", body);
      toast("Execution started", "ok");
      location.hash = `#/execution/${encodeURIComponent(out.executionArn)}`;
    },
  }]);
}

export async function stopDialog(executionArn, done) {
  const error = h("input", { type: "text", "aria-label": "Error (optional)" });
  const cause = h("input", { type: "text", "aria-label": "Cause (optional)" });
  await dialog("Stop execution", [h("p", {}, "The execution ends with status ABORTED."), field("Error", error), field("Cause", cause)], [{
    id: "stop",
    label: "Stop",
    primary: true,
    run: async () => {
      const body = { executionArn };
      if (error.value) body.error = error.value;
      if (cause.value) body.cause = cause.value;
      await call("StopExecution", body);
      toast("Execution stopped", "ok");
      done?.();
    },
  }]);
}

export async function redriveDialog(executionArn, done) {
  await dialog("Redrive execution", [h("p", {}, "Restarts the execution from the state that did not succeed, with the input it had.")], [{
    id: "redrive",
    label: "Redrive",
    primary: true,
    run: async () => {
      await call("RedriveExecution", { executionArn });
      toast("Execution redriven", "ok");
      done?.();
    },
  }]);
}

// `states`: the definition's states (graph.js's index); `chosen`: the state to preselect and the
// input and iteration indexes it had.
export async function resumeDialog(executionArn, index, chosen, done) {
  const options = [...index.values()].map((s) => s.id);
  const state = h("select", { "aria-label": "State" }, options.map((id) => h("option", { value: id, selected: id === chosen?.node }, id)));
  const editor = jsonEditor(chosen?.input !== undefined ? pretty(chosen.input) : "", "Input (empty: the input it had)", { optional: true });
  const iterations = h("input", { type: "text", "aria-label": "Map iteration indexes", placeholder: "e.g. 0 or 0,3 (outermost first)" });
  iterations.value = chosen?.iters ? Object.values(chosen.iters).join(",") : "";
  const includeSucceeded = h("input", { type: "checkbox" });
  await dialog("Resume from a state", [
    h("p", {}, "Stepwise resumes the execution at any state, with the input it had there or a new one (its ResumeExecution action)."),
    field("State", state), editor.el, field("Map iterations", iterations),
    h("label", { class: "inline" }, includeSucceeded, " Also resume a succeeded execution"),
  ], [{
    id: "resume",
    label: "Resume",
    primary: true,
    run: async () => {
      const id = state.value;
      const body = { executionArn, stateName: index.get(id)?.name || id, includeSucceeded: includeSucceeded.checked };
      const input = editor.value();
      if (input.trim()) body.input = input;
      const idx = iterations.value.split(",").map((s) => s.trim()).filter(Boolean).map(Number);
      if (idx.some((n) => !Number.isInteger(n) || n < 0)) throw new Error("Map iterations are whole numbers, outermost first");
      if (idx.length) body.mapIterationIndexes = idx;
      await call("ResumeExecution", body);
      toast(`Resumed at ${body.stateName}`, "ok");
      done?.();
    },
  }]);
}

export async function taskTokenDialog(token, done) {
  const tokenInput = h("input", { type: "text", "aria-label": "Task token", class: "wide" });
  tokenInput.value = token || "";
  const output = jsonEditor("{}", "Output (for success)");
  const error = h("input", { type: "text", "aria-label": "Error (for failure)" });
  const cause = h("input", { type: "text", "aria-label": "Cause (for failure)" });
  const need = () => {
    if (!tokenInput.value.trim()) throw new Error("A task token is needed");
    return tokenInput.value.trim();
  };
  await dialog("Send task result", [field("Task token", tokenInput), output.el, field("Error", error), field("Cause", cause)], [
    {
      id: "send-failure",
      label: "Send failure",
      run: async () => {
        const body = { taskToken: need() };
        if (error.value) body.error = error.value;
        if (cause.value) body.cause = cause.value;
        await call("SendTaskFailure", body);
        toast("Task failure sent", "ok");
        done?.();
      },
    },
    {
      id: "send-success",
      label: "Send success",
      primary: true,
      run: async () => {
        await call("SendTaskSuccess", { taskToken: need(), output: output.value() });
        toast("Task success sent", "ok");
        done?.();
      },
    },
  ]);
}
