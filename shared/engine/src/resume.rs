//! Resume from any state (beyond AWS): where an ended execution restarts, resolved from its
//! recorded history.
//!
//! AWS's RedriveExecution restarts only the state that stopped, with the input it had. A resume
//! restarts any state the caller names, top-level or inside a Parallel branch or a Map
//! iteration, with the input that state had when it was last entered in the recorded run (or a
//! new one), and with the variables (`Assign`) as they were at that moment. [`plan`] reads the
//! recorded history (pure: no clock, no I/O) and returns the [`ResumePoint`] that
//! [`crate::Event::Redrive`] carries to the engine.
//!
//! The design:
//! - **Top-level state**: the execution goes on at that state. Its input is the one of its last
//!   `StateEntered` event; its variables are the top-level variables after every top-level
//!   `StateExited` recorded before that entry (their `assignedVariables`).
//! - **A state the run never reached**: an input is required (the execution input is almost
//!   never the right shape for a state in the middle of a pipeline); the variables are the
//!   top-level ones at the end of the recorded run.
//! - **Inside a Parallel branch or a Map iteration** (a branch or the item processor of a
//!   top-level Parallel or Map; an iteration is named by its index): the execution re-enters the
//!   enclosing Parallel/Map with the input it had when last entered; the chosen branch/iteration
//!   starts at the chosen state (recorded or new input, its variables as they were when it
//!   entered that state); every other branch/iteration that succeeded in the recorded run keeps
//!   its recorded result (it does not run again); the others run again from their start. The
//!   enclosing state must have been entered in the recorded run. The records come from its
//!   latest entry; a branch or iteration a previous resume kept (so it did not run in the latest
//!   entry) is looked up in the entries before. The plan applies to the enclosing state's first
//!   fork only: if that state fails and its Retry runs it again, every branch or iteration runs.
//!   A distributed Map's iterations record no events in the parent history, so a state inside
//!   one has no recorded input: it needs one.
//! - **Deeper** (a Map iteration inside a Parallel branch, a Parallel in a Map iteration, ...,
//!   any depth): the same at every level. The path from the top-level state down is read from
//!   the definition; one iteration index is named for each Map on it, outermost first. Each
//!   enclosing Parallel/Map on the path re-enters with the input it had when last entered inside
//!   the chosen branch/iteration of the level above (it must have been entered there), and keeps
//!   the recorded results of its own other branches/iterations from that entry ([`InnerPoint`]'s
//!   `deeper` chain).
//! - **A new execution at a state** (`ExecutionState::start_at`, StartExecutionFromState): a
//!   top-level state; or, from a source execution, any state inside, planned on the source's
//!   history as a resume is (`ExecutionState::start_inner`). Its `ExecutionStarted` event adds
//!   `startAt` (the chosen state) and `sourceExecutionArn`.
//!
//! How events belong to threads: each thread's events follow one another by
//! `previousEventId`; a Parallel branch's first event follows the `ParallelStateStarted` (the
//! branches start in order), a Map iteration's first event follows its `MapIterationStarted`;
//! the events that close children (`ParallelStateSucceeded`, `MapIterationSucceeded`, the
//! Parallel's `StateExited`, ...) follow a child's event and belong to the nearest enclosing
//! thread whose current state they name or whose type they close.

use crate::history::HistoryEvent;
use crate::{ExecutionState, Status};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use stepwise_asl::model::{Definition, MachineId, State, StateKind};

/// What a caller asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct ResumeRequest {
    /// The state to restart at (top-level, or in a branch/iteration of a top-level Parallel/Map).
    pub state: String,
    /// A new input for that state; `None`: the input it had in the recorded run.
    pub input: Option<Value>,
    /// For a state inside Map item processors: which iteration of each, outermost first.
    pub map_iteration_indexes: Vec<usize>,
    /// Also resume a SUCCEEDED execution.
    pub include_succeeded: bool,
}

/// Where a resume restarts, resolved from the history: what [`crate::Event::Redrive`] carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResumePoint {
    /// The top-level state the execution enters (the chosen one, or the enclosing Parallel/Map).
    pub state: String,
    /// That state's input.
    pub input: Value,
    /// The top-level variables when it is entered.
    pub variables: Map<String, Value>,
    /// Whether the caller gave a new input (for the chosen state).
    pub input_replaced: bool,
    /// Whether a SUCCEEDED execution may be resumed.
    #[serde(default)]
    pub include_succeeded: bool,
    /// The chosen state inside a branch or an iteration of `state`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inner: Option<InnerPoint>,
}

/// The chosen state inside a Parallel branch or a Map iteration; or, on the way to a deeper one,
/// the Parallel or Map in that branch or iteration that encloses it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InnerPoint {
    /// The chosen state's name (or the enclosing Parallel/Map's, when `deeper` is set).
    pub state: String,
    /// The branch index (Parallel) or the iteration index (Map).
    pub index: usize,
    /// The enclosing state is a Map.
    pub is_map: bool,
    /// The chosen state's input.
    pub input: Value,
    /// The branch's or iteration's variables when it enters the chosen state.
    pub variables: Map<String, Value>,
    /// The recorded results of the other branches or iterations that succeeded.
    pub kept: Vec<(usize, Value)>,
    /// The chosen state is further in, inside `state` (a Parallel or Map).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deeper: Option<Box<InnerPoint>>,
}

impl InnerPoint {
    /// The innermost level: the chosen state itself.
    pub fn innermost(&self) -> &InnerPoint {
        let mut at = self;
        while let Some(d) = &at.deeper {
            at = d;
        }
        at
    }
}

/// Why a resume cannot be planned.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ResumeError {
    /// The execution is RUNNING, or SUCCEEDED without [`ResumeRequest::include_succeeded`].
    #[error("Execution is {0} and cannot be resumed")]
    NotResumable(&'static str),
    /// No state of that name in the definition.
    #[error("State '{0}' does not exist in the state machine")]
    UnknownState(String),
    /// The state was never entered, and no input was given.
    #[error("State '{0}' was never entered in this execution: resuming there needs an input")]
    NeedsInput(String),
    /// The Parallel or Map around the state was never entered.
    #[error("State '{state}' is inside '{enclosing}', which this execution never entered")]
    EnclosingNotReached {
        /// The chosen state.
        state: String,
        /// The Parallel or Map around it.
        enclosing: String,
    },
    /// A state in a Map iteration without an index, or an index elsewhere.
    #[error("{0}")]
    Iteration(String),
    /// A recorded payload that is not JSON.
    #[error("The recorded history of state '{0}' cannot be read")]
    History(String),
}

/// One Parallel or Map on the way from the top level down to a state.
#[derive(Debug, Clone)]
struct Level {
    /// The Parallel or Map.
    enclosing: String,
    is_map: bool,
    /// The branch that holds the way further down (0 for a Map).
    branch: usize,
}

/// Where a state sits in the definition: the Parallels and Maps around it, outermost first
/// (none: a top-level state). State names are unique in a whole definition.
fn locate(def: &Definition, name: &str) -> Result<Vec<Level>, ResumeError> {
    let Some(mut machine) =
        (0..def.machines.len()).find(|&m| def.machines[m].states.iter().any(|s| *s.name == *name))
    else {
        return Err(ResumeError::UnknownState(name.into()));
    };
    let mut path = Vec::new();
    // Each step goes one machine up; a definition nests finitely, the bound guards a cycle.
    while machine != 0 && path.len() < def.machines.len() {
        let owner = (0..def.machines.len()).find_map(|m| {
            def.machines[m].states.iter().find_map(|st| match &st.kind {
                StateKind::Parallel { branches } => {
                    branches.iter().position(|&b| b == machine).map(|branch| {
                        (
                            m,
                            Level {
                                enclosing: st.name.to_string(),
                                is_map: false,
                                branch,
                            },
                        )
                    })
                }
                StateKind::Map(spec) if spec.processor == machine => Some((
                    m,
                    Level {
                        enclosing: st.name.to_string(),
                        is_map: true,
                        branch: 0,
                    },
                )),
                _ => None,
            })
        });
        let Some((up, level)) = owner else {
            return Err(ResumeError::UnknownState(name.into()));
        };
        path.push(level);
        machine = up;
    }
    path.reverse();
    Ok(path)
}

/// Plans a resume of `exec` (whose recorded history is `history`, in order) at the requested
/// state.
pub fn plan(
    def: &Definition,
    exec: &ExecutionState,
    history: &[HistoryEvent],
    req: &ResumeRequest,
) -> Result<ResumePoint, ResumeError> {
    match exec.status {
        Status::Running => return Err(ResumeError::NotResumable("RUNNING")),
        Status::Succeeded if !req.include_succeeded => {
            return Err(ResumeError::NotResumable("SUCCEEDED"))
        }
        _ => {}
    }
    let path = locate(def, &req.state)?;
    let maps = path.iter().filter(|l| l.is_map).count();
    match (maps, req.map_iteration_indexes.len()) {
        (m, n) if m == n => {}
        (0, _) => {
            return Err(ResumeError::Iteration(format!(
                "State '{}' is not inside a Map: mapIterationIndex does not apply",
                req.state
            )))
        }
        (1, _) => {
            return Err(ResumeError::Iteration(format!(
                "State '{}' is inside a Map: name the iteration (mapIterationIndex)",
                req.state
            )))
        }
        (m, _) => {
            return Err(ResumeError::Iteration(format!(
                "State '{}' is inside {m} Maps: name one iteration of each, outermost first (mapIterationIndexes)",
                req.state
            )))
        }
    }
    let interest: Vec<&str> = path
        .iter()
        .map(|l| l.enclosing.as_str())
        .chain(std::iter::once(req.state.as_str()))
        .collect();
    let scan = Scan::run(def, history, &interest);
    let parse = |text: &str| {
        crate::deep::from_str::<Value>(text).map_err(|_| ResumeError::History(req.state.clone()))
    };
    let Some(first) = path.first() else {
        let entry = scan.last_entry(TOP, &req.state);
        let (input, variables) = match (entry, &req.input) {
            (_, Some(v)) => (v.clone(), entry.map(|e| e.vars.clone())),
            (Some(e), None) => (parse(&e.input)?, Some(e.vars.clone())),
            (None, None) => return Err(ResumeError::NeedsInput(req.state.clone())),
        };
        return Ok(ResumePoint {
            state: req.state.clone(),
            input,
            variables: variables.unwrap_or_else(|| scan.scopes[TOP].vars.clone()),
            input_replaced: req.input.is_some(),
            include_succeeded: req.include_succeeded,
            inner: None,
        });
    };
    let not_reached = |enclosing: &str| ResumeError::EnclosingNotReached {
        state: req.state.clone(),
        enclosing: enclosing.to_string(),
    };
    let outer = scan
        .last_entry(TOP, &first.enclosing)
        .ok_or_else(|| not_reached(&first.enclosing))?;
    // Down the path: at each level the enclosing state's entries in the scope above (the latest
    // first), the chosen branch or iteration, the others' kept results, then either the next
    // enclosing state's entry inside the chosen one, or the chosen state's.
    let mut levels: Vec<InnerPoint> = Vec::new();
    let mut scope = TOP;
    let mut indexes = req.map_iteration_indexes.iter().copied();
    for (depth, level) in path.iter().enumerate() {
        let entries: Vec<&Entry> = scan.entries_of(scope, &level.enclosing).collect();
        let index = if level.is_map {
            let i = indexes.next().unwrap_or(0);
            if let Some(len) = entries.first().and_then(|e| e.length) {
                if i >= len {
                    return Err(ResumeError::Iteration(format!(
                        "Map '{}' had {len} iterations: there is no iteration {i}",
                        level.enclosing
                    )));
                }
            }
            i
        } else {
            level.branch
        };
        // A branch or iteration a resume kept did not run in the latest entry: its record is
        // in an earlier one.
        let forks: Vec<&BTreeMap<usize, usize>> = entries
            .iter()
            .filter_map(|e| e.fork.and_then(|f| scan.children.get(&f)))
            .collect();
        let mut kept = Vec::new();
        let others: std::collections::BTreeSet<usize> =
            forks.iter().flat_map(|c| c.keys().copied()).collect();
        for i in others.into_iter().filter(|&i| i != index) {
            // The latest run of that branch or iteration decides.
            let Some(&c) = forks.iter().find_map(|f| f.get(&i)) else {
                continue;
            };
            let sc = &scan.scopes[c];
            if level.is_map && !sc.iteration_succeeded {
                continue;
            }
            if let Some(out) = &sc.result {
                kept.push((i, parse(out)?));
            }
        }
        let next = path.get(depth + 1).map(|l| l.enclosing.as_str());
        let wanted = next.unwrap_or(req.state.as_str());
        let entry = forks
            .iter()
            .filter_map(|c| c.get(&index))
            .find_map(|&c| scan.last_entry(c, wanted));
        let (input, variables) = match (next, entry, &req.input) {
            (Some(_), Some(e), _) => (parse(&e.input)?, e.vars.clone()),
            (Some(n), None, _) => return Err(not_reached(n)),
            (None, Some(e), None) => (parse(&e.input)?, e.vars.clone()),
            (None, None, None) => return Err(ResumeError::NeedsInput(req.state.clone())),
            (None, Some(e), Some(v)) => (v.clone(), e.vars.clone()),
            (None, None, Some(v)) => {
                let child = forks.first().and_then(|c| c.get(&index).copied());
                let vars = match (child, entries.first()) {
                    (Some(c), _) => scan.scopes[c].vars.clone(),
                    (None, Some(e)) => e.vars.clone(),
                    (None, None) => Map::new(),
                };
                (v.clone(), vars)
            }
        };
        if let Some(e) = entry {
            scope = e.scope;
        }
        levels.push(InnerPoint {
            state: wanted.to_string(),
            index,
            is_map: level.is_map,
            input,
            variables,
            kept,
            deeper: None,
        });
    }
    let inner = levels.into_iter().rev().fold(None, |deeper, mut level| {
        level.deeper = deeper.map(Box::new);
        Some(level)
    });
    Ok(ResumePoint {
        state: first.enclosing.clone(),
        input: parse(&outer.input)?,
        variables: outer.vars.clone(),
        input_replaced: req.input.is_some(),
        include_succeeded: req.include_succeeded,
        inner,
    })
}

const TOP: usize = 0;

/// One thread of the recorded run: the top level, a branch or an iteration.
#[derive(Default)]
struct Scope {
    parent: Option<usize>,
    machine: MachineId,
    /// The state it is in (entered, not yet exited).
    current: Option<String>,
    /// The current Parallel/Map recorded its end (succeeded or failed).
    closed: bool,
    vars: Map<String, Value>,
    /// The last ParallelStateStarted/MapStateStarted of this scope.
    last_fork: Option<u64>,
    /// The entry (in [`Scan::entries`]) of the current state, when it is one of interest.
    current_entry: Option<usize>,
    /// The output of its last state, when that state ended the branch/iteration.
    result: Option<String>,
    iteration_succeeded: bool,
}

/// A recorded entry into a state of interest.
struct Entry {
    scope: usize,
    name: String,
    input: String,
    vars: Map<String, Value>,
    /// The ParallelStateStarted/MapStateStarted that followed it.
    fork: Option<u64>,
    /// A Map's number of items.
    length: Option<usize>,
}

#[derive(Default)]
struct Scan {
    scopes: Vec<Scope>,
    entries: Vec<Entry>,
    /// Children of each fork (ParallelStateStarted/MapStateStarted id), by branch/iteration index.
    children: HashMap<u64, BTreeMap<usize, usize>>,
}

fn state_in<'a>(def: &'a Definition, machine: MachineId, name: &str) -> Option<&'a State> {
    def.machines
        .get(machine)?
        .states
        .iter()
        .find(|s| *s.name == *name)
}

fn detail<'a>(e: &'a HistoryEvent, key: &str) -> Option<&'a Value> {
    e.details()?.get(key)
}

fn name_of(e: &HistoryEvent) -> &str {
    detail_str(e, "name")
}

fn detail_str<'a>(e: &'a HistoryEvent, key: &str) -> &'a str {
    detail(e, key).and_then(Value::as_str).unwrap_or("")
}

impl Scan {
    /// Reads the history, recording each entry into a state named in `interest`.
    fn run(def: &Definition, history: &[HistoryEvent], interest: &[&str]) -> Scan {
        let mut s = Scan {
            scopes: vec![Scope::default()],
            ..Scan::default()
        };
        let mut scope_of: HashMap<u64, usize> = HashMap::new();
        // Parallel forks: how many branches have started; Map iterations: (fork, index).
        let mut branches_started: HashMap<u64, usize> = HashMap::new();
        let mut iteration_of: HashMap<u64, (u64, usize)> = HashMap::new();
        for e in history {
            let ty = e.event_type();
            if ty.starts_with("Execution") {
                if matches!(ty, "ExecutionStarted" | "ExecutionRedriven") {
                    let top = &mut s.scopes[TOP];
                    top.current = None;
                    top.closed = false;
                    scope_of.insert(e.id, TOP);
                }
                continue;
            }
            let entered = ty.strip_suffix("StateEntered").is_some();
            let prev = e.previous_event_id;
            let base = if entered && branches_started.contains_key(&prev) {
                // The first event of a Parallel branch.
                // The branch whose machine has the entered state (a resumed branch starts
                // inside it, and kept branches start nothing); else the order branches start.
                let parent = scope_of.get(&prev).copied().unwrap_or(TOP);
                let n = branches_started.entry(prev).or_insert(0);
                let index = s.branch_of(def, parent, name_of(e)).unwrap_or(*n);
                *n += 1;
                let machine = s.child_machine(def, parent, index);
                s.new_child(parent, machine, prev, index)
            } else if let Some(&(fork, index)) = iteration_of.get(&prev).filter(|_| entered) {
                let parent = scope_of.get(&prev).copied().unwrap_or(TOP);
                let machine = s.child_machine(def, parent, 0);
                s.new_child(parent, machine, fork, index)
            } else {
                scope_of.get(&prev).copied().unwrap_or(TOP)
            };
            let name = detail_str(e, "name");
            let scope = if entered {
                base
            } else if ty.ends_with("StateExited") {
                s.up(base, |sc| sc.current.as_deref() == Some(name))
            } else if ty.starts_with("Parallel") {
                s.up_open(def, base, |st| {
                    matches!(st.kind, StateKind::Parallel { .. })
                })
            } else if ty.starts_with("MapIteration") {
                s.up_open(def, base, |st| match &st.kind {
                    StateKind::Map(spec) => {
                        *st.name == *name || spec.label.as_deref() == Some(name)
                    }
                    _ => false,
                })
            } else if ty.starts_with("MapState") || ty.starts_with("MapRun") {
                s.up_open(def, base, |st| matches!(st.kind, StateKind::Map(_)))
            } else {
                base
            };
            scope_of.insert(e.id, scope);
            let sc = &mut s.scopes[scope];
            match ty {
                _ if entered => {
                    sc.current = Some(name.to_string());
                    sc.closed = false;
                    sc.result = None;
                    sc.current_entry = None;
                    if interest.contains(&name) {
                        let vars = sc.vars.clone();
                        sc.current_entry = Some(s.entries.len());
                        s.entries.push(Entry {
                            scope,
                            name: name.to_string(),
                            input: detail_str(e, "input").to_string(),
                            vars,
                            fork: None,
                            length: None,
                        });
                    }
                }
                _ if ty.ends_with("StateExited") => {
                    if let Some(Value::Object(assigned)) = detail(e, "assignedVariables") {
                        for (k, v) in assigned {
                            let v = v
                                .as_str()
                                .and_then(|t| crate::deep::from_str(t).ok())
                                .unwrap_or(Value::Null);
                            sc.vars.insert(k.clone(), v);
                        }
                    }
                    let ends = state_in(def, sc.machine, name).is_some_and(|st| {
                        matches!(st.kind, StateKind::Succeed)
                            || st.next.is_none() && !matches!(st.kind, StateKind::Choice { .. })
                    });
                    sc.result = ends.then(|| detail_str(e, "output").to_string());
                    sc.current = None;
                    sc.current_entry = None;
                }
                "ParallelStateStarted" | "MapStateStarted" => {
                    sc.last_fork = Some(e.id);
                    if ty == "ParallelStateStarted" {
                        branches_started.insert(e.id, 0);
                    }
                    let length = detail(e, "length")
                        .and_then(Value::as_u64)
                        .map(|n| n as usize);
                    if let Some(i) = sc.current_entry {
                        s.entries[i].fork = Some(e.id);
                        s.entries[i].length = length;
                    }
                    s.children.entry(e.id).or_default();
                }
                "ParallelStateSucceeded"
                | "ParallelStateFailed"
                | "MapStateSucceeded"
                | "MapStateFailed" => sc.closed = true,
                "MapIterationStarted" => {
                    let index = detail(e, "index").and_then(Value::as_u64).unwrap_or(0);
                    if let Some(fork) = sc.last_fork {
                        iteration_of.insert(e.id, (fork, index as usize));
                    }
                }
                "MapIterationSucceeded" => {
                    let index = detail(e, "index").and_then(Value::as_u64).unwrap_or(0);
                    let child = sc
                        .last_fork
                        .and_then(|f| s.children.get(&f))
                        .and_then(|c| c.get(&(index as usize)).copied());
                    if let Some(c) = child {
                        s.scopes[c].iteration_succeeded = true;
                    }
                }
                _ => {}
            }
        }
        s
    }

    /// The one branch of `parent`'s Parallel that has a state named `name`.
    fn branch_of(&self, def: &Definition, parent: usize, name: &str) -> Option<usize> {
        let p = &self.scopes[parent];
        let st = state_in(def, p.machine, p.current.as_deref()?)?;
        let StateKind::Parallel { branches } = &st.kind else {
            return None;
        };
        let mut with = branches
            .iter()
            .enumerate()
            .filter(|(_, &m)| state_in(def, m, name).is_some());
        match (with.next(), with.next()) {
            (Some((i, _)), None) => Some(i),
            _ => None,
        }
    }

    /// The machine of a new child of `parent` (branch `index` of its Parallel, or its Map's
    /// item processor).
    fn child_machine(&self, def: &Definition, parent: usize, index: usize) -> MachineId {
        let p = &self.scopes[parent];
        let st = p
            .current
            .as_deref()
            .and_then(|n| state_in(def, p.machine, n));
        match st.map(|st| &st.kind) {
            Some(StateKind::Parallel { branches }) => {
                branches.get(index).copied().unwrap_or(p.machine)
            }
            Some(StateKind::Map(spec)) => spec.processor,
            _ => p.machine,
        }
    }

    fn new_child(&mut self, parent: usize, machine: MachineId, fork: u64, index: usize) -> usize {
        let vars = self.scopes[parent].vars.clone();
        let id = self.scopes.len();
        self.scopes.push(Scope {
            parent: Some(parent),
            machine,
            vars,
            ..Scope::default()
        });
        self.children.entry(fork).or_default().insert(index, id);
        id
    }

    /// The nearest scope from `from` up whose state matches; `from` when none does.
    fn up(&self, from: usize, matches: impl Fn(&Scope) -> bool) -> usize {
        let mut at = Some(from);
        while let Some(i) = at {
            if matches(&self.scopes[i]) {
                return i;
            }
            at = self.scopes[i].parent;
        }
        from
    }

    /// The nearest scope from `from` up whose current state is still running and matches.
    fn up_open(&self, def: &Definition, from: usize, matches: impl Fn(&State) -> bool) -> usize {
        self.up(from, |sc| {
            !sc.closed
                && sc
                    .current
                    .as_deref()
                    .and_then(|n| state_in(def, sc.machine, n))
                    .is_some_and(&matches)
        })
    }

    /// The entries of a state in a scope, the latest first.
    fn entries_of<'a>(&'a self, scope: usize, name: &'a str) -> impl Iterator<Item = &'a Entry> {
        self.entries
            .iter()
            .rev()
            .filter(move |e| e.scope == scope && e.name == name)
    }

    fn last_entry(&self, scope: usize, name: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .rev()
            .find(|e| e.scope == scope && e.name == name)
    }
}

#[cfg(test)]
#[path = "resume_tests.rs"]
mod tests;
