// The peer of the engine benchmark (shared/engine/benches/workloads.rs runs it beside Stepwise):
// aws-local-stepfunctions, in-process, on one workload directory of ../shared/bench/workloads.
//
//   node peer.mjs DIR RUNS
//
// Prints one JSON line: {"ok": output equals expected.json every run, "best_s": wall seconds
// of one execution (the fastest of RUNS after one warm-up run, as the Stepwise side measures)}.
import { StateMachine } from 'aws-local-stepfunctions';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';

const [dir, runsArg] = process.argv.slice(2);
const read = (f) => JSON.parse(readFileSync(join(dir, f), 'utf8'));
const definition = read('definition.json');
const input = read('input.json');
const expected = read('expected.json');
const machine = new StateMachine(definition, { validationOptions: { checkPaths: false } });

let ok = true;
const times = [];
const runs = Math.max(1, Number(runsArg) || 5);
for (let i = 0; i <= runs; i++) {
  const t = process.hrtime.bigint();
  const out = await machine.run(structuredClone(input)).result;
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  ok &&= isDeepStrictEqual(out, expected);
  if (i > 0) times.push(s); // the first run warms the JIT up
}
times.sort((a, b) => a - b);
console.log(JSON.stringify({ ok, best_s: times[0] }));
