// Reads an execution's history into visits of states: which state each event belongs to (Parallel
// branches and Map iterations included), each visit's input, output, error and status. Events of
// one thread follow one another by previousEventId; a branch's first event follows its
// ParallelStateStarted and an iteration's its MapIterationStarted; the events that close them
// (ParallelStateSucceeded, MapIterationSucceeded, ...) belong to the enclosing thread (as
// shared/engine/src/resume.rs reads a history).

const FAILURE = /(Failed|TimedOut)$/;
const SUCCESS = /^(Task|LambdaFunction|Activity|MapState|ParallelState)Succeeded$/;
const STATUS_RANK = { running: 6, failed: 5, aborted: 5, caught: 4, retried: 3, succeeded: 2 };

export function detailsOf(e) {
  for (const k in e) if (k.endsWith("EventDetails")) return e[k];
  return undefined;
}

// `index` is graph.js's indexDefinition. Returns {visits, byNode: Map(id -> visits), events}
// where each event also gets `_visit` (its visit's position in `visits`, or -1).
export function analyse(events, index, executionStatus) {
  const top = { parent: null, prefix: "", current: null, iters: {} };
  const scopeOf = new Map();
  const forkBranches = new Map(); // ParallelStateStarted id -> branches started
  const iterationStarts = new Map(); // MapIterationStarted id -> index
  const visits = [];
  const byNode = new Map();
  const up = (scope, test) => {
    for (let s = scope; s; s = s.parent) if (s.current && test(s.current)) return s;
    return scope;
  };
  for (const e of events) {
    const ty = e.type;
    const d = detailsOf(e) || {};
    e._visit = -1;
    if (ty.startsWith("Execution")) {
      if (ty === "ExecutionStarted" || ty === "ExecutionRedriven") top.current = null;
      // The execution's error is the error of the state it failed in.
      const last = visits[events.find((x) => x.id === e.previousEventId)?._visit ?? -1];
      if (last && !last.exited && (d.error !== undefined || d.cause !== undefined)) {
        last.error ??= d.error;
        last.cause ??= d.cause;
      }
      scopeOf.set(e.id, top);
      continue;
    }
    const entered = ty.endsWith("StateEntered");
    const prev = e.previousEventId;
    let base;
    if (entered && forkBranches.has(prev)) {
      const parent = scopeOf.get(prev) || top;
      const parallel = parent.current?.node;
      const n = forkBranches.get(prev);
      forkBranches.set(prev, n + 1);
      let branch = n;
      const info = index.get(parallel);
      (info?.state?.Branches || []).forEach((b, i) => {
        if (b?.States && d.name in b.States) branch = i;
      });
      base = { parent, prefix: `${parallel}/${branch}/`, current: null, iters: parent.iters, branch };
    } else if (entered && iterationStarts.has(prev)) {
      const parent = scopeOf.get(prev) || top;
      const map = parent.current?.node;
      const iteration = iterationStarts.get(prev);
      base = { parent, prefix: `${map}/`, current: null, iters: { ...parent.iters, [map]: iteration }, iteration };
    } else {
      base = scopeOf.get(prev) || top;
    }
    let scope = base;
    if (ty.endsWith("StateExited")) scope = up(base, (v) => v.name === d.name);
    else if (ty.startsWith("Parallel")) scope = up(base, (v) => v.type === "Parallel" && !v.exited);
    else if (ty.startsWith("MapIteration")) scope = up(base, (v) => v.type === "Map" && v.name === d.name);
    else if (ty.startsWith("MapState") || ty.startsWith("MapRun")) scope = up(base, (v) => v.type === "Map" && !v.exited);
    scopeOf.set(e.id, scope);
    if (entered) {
      const node = scope.prefix + d.name;
      const visit = {
        node,
        name: d.name,
        type: index.get(node)?.state?.Type || ty.replace(/StateEntered$/, ""),
        iters: scope.iters,
        entered: e,
        exited: null,
        input: d.input,
        output: undefined,
        error: undefined,
        cause: undefined,
        failures: 0,
        lastOutcome: null,
        events: [e.id],
        iterations: null,
        pos: visits.length,
      };
      if (visit.type === "Fail") {
        // A Fail state's error is in its definition (or the execution's failure, above).
        visit.error = index.get(node)?.state?.Error;
        visit.cause = index.get(node)?.state?.Cause;
      }
      visits.push(visit);
      if (!byNode.has(node)) byNode.set(node, []);
      byNode.get(node).push(visit);
      scope.current = visit;
      e._visit = visit.pos;
      continue;
    }
    const v = scope.current;
    if (!v) continue;
    e._visit = v.pos;
    v.events.push(e.id);
    if (ty === "MapIterationStarted") {
      iterationStarts.set(e.id, d.index);
      (v.iterations ||= new Map()).set(d.index, "running");
    } else if (ty === "MapIterationSucceeded") {
      v.iterations?.set(d.index, "succeeded");
    } else if (ty === "MapIterationFailed" || ty === "MapIterationAborted") {
      v.iterations?.set(d.index, ty === "MapIterationFailed" ? "failed" : "aborted");
    } else if (ty === "ParallelStateStarted") {
      forkBranches.set(e.id, 0);
    } else if (ty.endsWith("StateExited")) {
      v.exited = e;
      v.output = d.output;
    } else if (FAILURE.test(ty)) {
      v.failures++;
      v.lastOutcome = "failed";
      if (d.error !== undefined) v.error = d.error;
      if (d.cause !== undefined) v.cause = d.cause;
    } else if (SUCCESS.test(ty)) {
      v.lastOutcome = "ok";
    } else if (ty.endsWith("Scheduled") || ty === "TaskStarted") {
      v.task ||= {};
      if (ty.endsWith("Scheduled")) v.task.scheduled = d;
    }
  }
  for (const v of visits) v.status = statusOf(v, executionStatus);
  return { visits, byNode };
}

function statusOf(v, executionStatus) {
  if (v.exited) {
    if (v.lastOutcome === "failed") return "caught";
    return v.failures > 0 ? "retried" : "succeeded";
  }
  if (v.type === "Fail") return "failed";
  if (executionStatus === "RUNNING") return "running";
  if (executionStatus === "ABORTED") return "aborted";
  return v.failures > 0 || executionStatus === "FAILED" || executionStatus === "TIMED_OUT" ? "failed" : "aborted";
}

// The status shown on a node: the most telling of its visits that match the chosen iterations
// (`chosen`: Map node id -> iteration index).
export function nodeStatus(visits, chosen) {
  let best = null;
  for (const v of visits || []) {
    if (!matches(v, chosen)) continue;
    if (!best || STATUS_RANK[v.status] > STATUS_RANK[best]) best = v.status;
  }
  return best || "notreached";
}

export function matches(v, chosen) {
  for (const [map, index] of Object.entries(chosen)) {
    if (v.node.startsWith(`${map}/`) && v.iters[map] !== index) return false;
  }
  return true;
}

// A waiting task's token, when its parameters hold one (Stepwise's tokens are UUIDs, passed in
// the parameters with `$$.Task.Token`).
export function tokenOf(v) {
  const params = v?.task?.scheduled?.parameters;
  if (!params) return "";
  const m = /"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"/.exec(params);
  return m ? m[1] : "";
}
