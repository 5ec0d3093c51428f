// The console's entry: routes (#/, #/machine/ARN[/tab], #/execution/ARN), the theme, errors.

import { h, clear, toast } from "./dom.js";
import { renderMachines } from "./machines.js";
import { renderMachine } from "./machine.js";
import { renderExecution } from "./execution.js";

const main = document.getElementById("main");
let leave = null;

async function route() {
  if (typeof leave === "function") leave();
  leave = null;
  const hash = location.hash.replace(/^#\/?/, "");
  const [page, arn, tab] = hash.split("/");
  try {
    if (page === "machine" && arn) {
      document.title = "State machine · Stepwise";
      leave = await renderMachine(main, decodeURIComponent(arn), tab);
    } else if (page === "execution" && arn) {
      document.title = "Execution · Stepwise";
      leave = await renderExecution(main, decodeURIComponent(arn));
    } else {
      document.title = "State machines · Stepwise";
      leave = await renderMachines(main);
    }
  } catch (e) {
    clear(main, h("div", { class: "error-box", role: "alert" }, h("h1", {}, "Could not load this page"), h("p", {}, e.message)));
  }
  const heading = main.querySelector("h1");
  if (heading && document.activeElement === document.body) heading.setAttribute("tabindex", "-1");
}

// Light, dark, or the system's choice (kept in localStorage).
function setupTheme() {
  const button = document.getElementById("theme");
  const apply = (t) => {
    document.documentElement.dataset.theme = t;
    button.textContent = t === "dark" ? "Light theme" : "Dark theme";
    button.setAttribute("aria-pressed", t === "dark" ? "true" : "false");
  };
  const stored = localStorage.getItem("stepwise-theme");
  const system = matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  apply(stored || system);
  button.addEventListener("click", () => {
    const t = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
    localStorage.setItem("stepwise-theme", t);
    apply(t);
  });
}

window.addEventListener("unhandledrejection", (e) => toast(e.reason?.message || String(e.reason), "error"));
window.addEventListener("hashchange", route);
setupTheme();
document.getElementById("skip").addEventListener("click", () => main.focus());
route();
