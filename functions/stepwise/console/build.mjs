// Regenerates assets/vendor from node_modules (`npm ci && npm run build` here). The console's own
// scripts are served as written; only the layout library comes from npm. The e2e test
// `console_bundle_is_current` checks the committed copies equal what this writes.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const VENDORED = [
  ["node_modules/@dagrejs/dagre/dist/dagre.min.js", "assets/vendor/dagre.min.js"],
  ["node_modules/@dagrejs/dagre/dist/dagre.min.js.LEGAL.txt", "assets/vendor/dagre.min.js.LEGAL.txt"],
];
mkdirSync(join(here, "assets/vendor"), { recursive: true });
for (const [from, to] of VENDORED) {
  copyFileSync(join(here, from), join(here, to));
  console.log(`${from} -> ${to}`);
}
