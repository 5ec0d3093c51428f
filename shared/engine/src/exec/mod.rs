//! The interpreter proper: threads of execution over the states of a definition.
//!
//! An execution is a tree of threads: the top level, one per running Parallel branch and one per
//! running Map iteration. A thread is at one state, in one [`state::Phase`]. [`step`] applies an
//! event, then runs every runnable thread until each is blocked (on a task or a timer) or
//! finished, so one step runs as many synchronous states as it can.
//!
//! Scheduling follows what AWS records: Parallel branches advance in turn, one history event each
//! (all branches enter before any exits); Map iterations run one after another, the next starting
//! when the previous finishes or blocks.
//!
//! - [`state`]: the checkpoint ([`ExecutionState`]): threads, their phases, outstanding waits;
//! - [`events`]: how each [`Event`] applies (start, redrive, stop, task outcomes, timers);
//! - [`lifecycle`]: the run loop and the one lifecycle of a state: entered, its own evaluation,
//!   then exit and next, parking, children or failure;
//! - [`states`]: each state type's own evaluation, which returns a [`lifecycle::Next`];
//! - [`dataflow`]: the data flow, evaluated by the state's query [`dataflow::Language`];
//! - [`fanout`]: Parallel branches and Map iterations;
//! - [`errors`]: the [`errors::Failure`] type, Retry and Catch;
//! - [`inspect`]: what TestState reports of the data flow of the state it tests.

use crate::history::{EventKind, HistoryEvent, IterationEvent, PayloadText};
use crate::rng::Rng;
use crate::{Command, Event, Transition, WaitId};
use serde_json::Value;
use state::{Thread, Waiter};
use std::collections::VecDeque;
use std::sync::Arc;
use stepwise_asl::model::Definition;

mod dataflow;
mod errors;
mod events;
mod fanout;
mod inspect;
mod lifecycle;
mod state;
mod states;
mod threads;

pub use inspect::Inspection;
pub use state::ExecutionState;

pub(crate) type ThreadId = u32;

/// The most one state's `Assign` may store (256 KiB), as AWS enforces.
pub(crate) const MAX_ASSIGN_BYTES: usize = 256 * 1024;

/// AWS's quota on a state's output, in UTF-8 bytes (256 KiB).
pub(crate) const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// Applies one event to an execution.
///
/// `now_ms` is the time of the event (milliseconds since the Unix epoch); it stamps the history
/// and dates timers. Events for waits that are no longer outstanding (a late timer, a duplicate
/// task result) change nothing.
pub fn step(def: &Definition, state: ExecutionState, now_ms: i64, event: Event) -> Transition {
    let mut e = Engine::new(def, state, now_ms);
    // A distributed Map's children record nothing in the parent's history: their progress
    // (a wait answered, a thread started or ended) must still be saved.
    let shape = |s: &ExecutionState| {
        (
            s.next_wait,
            s.next_thread,
            s.waits.len(),
            s.threads.len(),
            s.transitions,
        )
    };
    let before = shape(&e.s);
    e.apply(event);
    e.run();
    e.changed |= shape(&e.s) != before;
    Transition {
        state: e.s,
        history: e.history,
        commands: e.commands,
        changed: e.changed,
    }
}

/// The most history events one step records before it lets the threads still to run go on in
/// the next step (`Engine::run`): far above what a step records between two waits in
/// ordinary machines, low enough that a step's memory and its history's write stay small.
pub const STEP_EVENTS: usize = 10_000;

/// The events a step's history has room for before it first grows: most steps (a Task's,
/// a short machine's) record fewer.
const FIRST_EVENTS: usize = 64;

pub(crate) struct Engine<'d> {
    pub(crate) def: &'d Definition,
    pub(crate) s: ExecutionState,
    pub(crate) now: i64,
    pub(crate) history: Vec<HistoryEvent>,
    pub(crate) commands: Vec<Command>,
    pub(crate) queue: VecDeque<ThreadId>,
    /// The checkpoint changed without a history event or a command.
    pub(crate) changed: bool,
    /// The `{"Map": {"Item": ...}}` Context object an ItemSelector last read, kept to be filled
    /// with the next item in place: building it was a third of a Map iteration's allocations.
    pub(crate) map_context: Value,
    /// Set while [`Engine::run`] runs threads: a thread that moves on to its next state is then
    /// kept in [`Engine::next_up`] instead of the thread table.
    pub(crate) running: bool,
    /// The thread that just moved to its next state, queued to run on (its id is in the queue
    /// as it would be): kept out of the thread table, which it would only have been put into
    /// and taken out of again (a BTreeMap insert and remove were a twentieth of a transition).
    /// Put back before anything else could look for it there ([`Engine::put_back_next_up`]).
    pub(crate) next_up: Option<(ThreadId, Box<Thread>)>,
}

/// The length of a value's JSON text.
pub(crate) fn text_len(v: &Value) -> u64 {
    to_text(v).len() as u64
}

pub(crate) use states::map_external::Selector;

pub(crate) fn to_text(v: &Value) -> String {
    crate::deep::value_to_string(v)
}

impl<'d> Engine<'d> {
    pub(crate) fn new(def: &'d Definition, s: ExecutionState, now: i64) -> Self {
        Engine {
            def,
            s,
            now,
            history: Vec::with_capacity(FIRST_EVENTS),
            commands: Vec::new(),
            queue: VecDeque::new(),
            changed: false,
            map_context: Value::Null,
            running: false,
            next_up: None,
        }
    }

    pub(crate) fn emit_raw(&mut self, previous: u64, event: EventKind) -> u64 {
        let now = self.now;
        self.push_event(|id| HistoryEvent::recorded(id, previous, now, event))
    }

    /// Appends the event `build` makes with the next event id; returns the id.
    fn push_event(&mut self, build: impl FnOnce(u64) -> HistoryEvent) -> u64 {
        let id = self.next_event_id();
        self.history.push(build(id));
        id
    }

    /// Makes room for one more event and takes the next event id.
    #[inline]
    fn next_event_id(&mut self) -> u64 {
        // A step's history grows fourfold (up to what a step holds), not twofold: each growth
        // copies every event again, and doubling from 16 copied a 4,000-event step's history
        // twice over (a twentieth of its time). A short step never grows past its first 64.
        let len = self.history.len();
        if len == self.history.capacity() {
            let room = (len * 4).min(STEP_EVENTS + 256).max(len + 1);
            self.history.reserve_exact(room - len);
        }
        self.s.last_event_id += 1;
        self.s.last_event_id
    }

    /// Records an event a thread made with `build(id, previous)`, after the thread's last
    /// event (nothing for hidden threads).
    fn emit_with(&mut self, t: &mut Thread, build: impl FnOnce(u64, u64) -> HistoryEvent) -> u64 {
        if t.hidden {
            return t.last_event;
        }
        let previous = t.last_event;
        let id = self.push_event(|id| build(id, previous));
        t.last_event = id;
        id
    }

    /// Records a thread's entry into its state (`exited` false) or its plain exit, with the
    /// input or output text (nothing for hidden threads). Two of these per transition, so it
    /// does what [`Engine::emit_with`] does without its closure: through it W2 ran 3% more
    /// instructions.
    pub(crate) fn emit_state(
        &mut self,
        t: &mut Thread,
        exited: bool,
        state_type: u8,
        name: Arc<str>,
        text: PayloadText,
    ) -> u64 {
        if t.hidden {
            return t.last_event;
        }
        let previous = t.last_event;
        let id = self.next_event_id();
        self.history.push(HistoryEvent::state_event(
            id, previous, self.now, exited, state_type, name, text,
        ));
        t.last_event = id;
        id
    }

    /// Records a Map iteration's event after event `previous`; returns its id.
    pub(crate) fn emit_iteration(
        &mut self,
        previous: u64,
        event: IterationEvent,
        name: Arc<str>,
        index: usize,
    ) -> u64 {
        let now = self.now;
        self.push_event(|id| HistoryEvent::iteration_event(id, previous, now, event, name, index))
    }

    /// Records an event on behalf of a thread (nothing for hidden threads).
    pub(crate) fn emit(&mut self, t: &mut Thread, event: EventKind) -> u64 {
        let now = self.now;
        self.emit_with(t, |id, previous| {
            HistoryEvent::recorded(id, previous, now, event)
        })
    }

    /// The text of the thread's StateEntered event, when this step recorded it (it is the input
    /// as the state entered: what shares it must not have changed). None for a hidden thread,
    /// which records no events, and for an entry in an earlier step.
    ///
    /// Found by its place: a step's events have consecutive ids. Looking only among the last
    /// few events missed every entry of a Parallel's branches, whose siblings record theirs in
    /// between (they take turns), and each of their states then copied what it could have taken.
    pub(crate) fn entered_text(&self, t: &Thread) -> Option<PayloadText> {
        if t.hidden {
            return None;
        }
        let first = self.history.first()?.id;
        let at = usize::try_from(t.entered_event.checked_sub(first)?).ok()?;
        self.history
            .get(at)
            .filter(|h| h.id == t.entered_event)
            .and_then(|h| h.entered_text())
            .cloned()
    }

    pub(crate) fn new_wait(&mut self, waiter: Waiter) -> WaitId {
        let id = self.s.next_wait;
        self.s.next_wait += 1;
        self.s.waits.insert(id, waiter);
        id
    }

    pub(crate) fn start_timer(&mut self, waiter: Waiter, at_ms: i64) -> WaitId {
        let id = self.new_wait(waiter);
        self.commands.push(Command::StartTimer { timer: id, at_ms });
        id
    }

    pub(crate) fn cancel_wait(&mut self, id: Option<WaitId>) {
        if let Some(id) = id {
            if self.s.waits.remove(&id).is_some() {
                self.commands.push(Command::CancelTimer { timer: id });
            }
        }
    }

    pub(crate) fn new_thread(&mut self, t: Thread) -> ThreadId {
        let id = self.s.next_thread;
        self.s.next_thread += 1;
        self.s.threads.insert(id, Box::new(t));
        id
    }

    pub(crate) fn rng(&mut self) -> Rng<'_> {
        Rng(&mut self.s.rng)
    }
}
