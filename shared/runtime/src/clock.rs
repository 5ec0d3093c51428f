//! Where the serverless home reads the time and draws fresh seeds: the system clock and
//! [`crate::ids::fresh_seed`], unless this thread was given its own (a deterministic simulation
//! of AWS runs the real handlers on one thread with a virtual clock and seeded ids, see
//! `stepwise-sim`). Nothing in production sets them.

use std::cell::RefCell;
use std::rc::Rc;

type ClockFn = Rc<dyn Fn() -> i64>;
type SeedFn = Rc<dyn Fn() -> u64>;

thread_local! {
    static CLOCK: RefCell<Option<ClockFn>> = const { RefCell::new(None) };
    static SEEDS: RefCell<Option<SeedFn>> = const { RefCell::new(None) };
}

/// Makes this thread read the time (milliseconds since the epoch) from `clock`; `None` gives it
/// the system clock back.
pub fn set_thread_clock(clock: Option<Rc<dyn Fn() -> i64>>) {
    CLOCK.with(|c| *c.borrow_mut() = clock);
}

/// Makes this thread draw fresh seeds from `seeds`; `None` gives it the default back.
pub fn set_thread_seeds(seeds: Option<Rc<dyn Fn() -> u64>>) {
    SEEDS.with(|s| *s.borrow_mut() = seeds);
}

/// This thread's clock, when it has one.
pub(crate) fn thread_clock_ms() -> Option<i64> {
    CLOCK.with(|c| c.borrow().as_ref().map(|f| f()))
}

/// This thread's next seed, when it has a source of its own.
pub(crate) fn thread_seed() -> Option<u64> {
    SEEDS.with(|s| s.borrow().as_ref().map(|f| f()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_clock_and_seeds_override_the_defaults_until_cleared() {
        set_thread_clock(Some(Rc::new(|| 42)));
        set_thread_seeds(Some(Rc::new(|| 7)));
        assert_eq!(crate::local::wall_clock_ms(), 42);
        assert_eq!(crate::ids::fresh_seed(), 7);
        set_thread_clock(None);
        set_thread_seeds(None);
        assert!(crate::local::wall_clock_ms() > 1_600_000_000_000);
        assert_ne!(crate::ids::fresh_seed(), crate::ids::fresh_seed());
    }
}
