//! The work budget of one evaluation.
//!
//! The `expr-lang` crate has no step limit of its own, so the iterating builtins are replaced by
//! metered ones (see `metered`) that charge this budget: one step per element visited, and the
//! approximate size of every value they build. The budget lives in a thread-local because the
//! builtins are plain closures registered once per process; an evaluation runs on one thread
//! from start to end, and [`run`] installs and removes the budget around it.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use expr::Value;

/// Caps on the work of one evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Elements the iterating builtins (`all`, `map`, `filter`, `reduce`, ...) may visit, nested
    /// calls included.
    pub max_steps: u64,
    /// Bytes (approximate) of values the iterating builtins may build.
    pub max_bytes: u64,
    /// Wall-clock time, checked between steps; the backstop for work no counter sees.
    pub max_time: Duration,
    /// Approximate size of the evidence handed to expressions.
    pub max_input_bytes: u64,
}

impl Default for Limits {
    /// One million steps, 64 MiB built, one second, 16 MiB of evidence: a thousand times what a
    /// real expectation uses, a bound on what a runaway one can take.
    fn default() -> Self {
        Limits {
            max_steps: 1_000_000,
            max_bytes: 64 * 1024 * 1024,
            max_time: Duration::from_secs(1),
            max_input_bytes: 16 * 1024 * 1024,
        }
    }
}

/// Which limit an evaluation ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exceeded {
    /// [`Limits::max_steps`].
    Steps(u64),
    /// [`Limits::max_bytes`].
    Bytes(u64),
    /// [`Limits::max_time`].
    Time(Duration),
}

struct Budget {
    steps_left: u64,
    bytes_left: u64,
    deadline: Instant,
    max_time: Duration,
    limits: Limits,
    since_clock: u64,
    exceeded: Option<Exceeded>,
}

thread_local! {
    static BUDGET: RefCell<Option<Budget>> = const { RefCell::new(None) };
}

/// Restores the previous budget even if the evaluation unwinds.
struct Installed(Option<Budget>);

impl Drop for Installed {
    fn drop(&mut self) {
        let previous = self.0.take();
        BUDGET.with(|b| *b.borrow_mut() = previous);
    }
}

/// Runs `f` under a fresh budget; returns its result and the limit it ran into, if any.
pub(crate) fn run<R>(limits: &Limits, f: impl FnOnce() -> R) -> (R, Option<Exceeded>) {
    let budget = Budget {
        steps_left: limits.max_steps,
        bytes_left: limits.max_bytes,
        deadline: Instant::now() + limits.max_time,
        max_time: limits.max_time,
        limits: *limits,
        since_clock: 0,
        exceeded: None,
    };
    let previous = BUDGET.with(|b| b.borrow_mut().replace(budget));
    let guard = Installed(previous);
    let result = f();
    let exceeded = BUDGET.with(|b| b.borrow().as_ref().and_then(|b| b.exceeded));
    drop(guard);
    (result, exceeded)
}

fn charge(update: impl FnOnce(&mut Budget) -> Option<Exceeded>) -> expr::Result<()> {
    BUDGET.with(|b| {
        let mut b = b.borrow_mut();
        let Some(budget) = b.as_mut() else {
            return Ok(());
        };
        if let Some(e) = budget.exceeded.or_else(|| update(budget)) {
            budget.exceeded = Some(e);
            return Err(expr::Error::ExprError("evaluation budget exceeded".into()));
        }
        Ok(())
    })
}

/// Charges `n` steps; checks the clock every 256 steps.
pub(crate) fn steps(n: u64) -> expr::Result<()> {
    charge(|b| {
        if b.steps_left < n {
            return Some(Exceeded::Steps(b.limits.max_steps));
        }
        b.steps_left -= n;
        b.since_clock += n;
        if b.since_clock >= 256 {
            b.since_clock = 0;
            if Instant::now() > b.deadline {
                return Some(Exceeded::Time(b.max_time));
            }
        }
        None
    })
}

/// Charges the size of a value just built.
pub(crate) fn bytes(value: &Value) -> expr::Result<()> {
    let size = approx_size(value);
    charge(|b| {
        if b.bytes_left < size {
            return Some(Exceeded::Bytes(b.limits.max_bytes));
        }
        b.bytes_left -= size;
        None
    })
}

/// Roughly what a value occupies in memory, in bytes.
pub(crate) fn approx_size(value: &Value) -> u64 {
    match value {
        Value::String(s) => 24 + s.len() as u64,
        Value::Bytes(b) => 24 + b.len() as u64,
        Value::Array(items) => 24 + items.iter().map(approx_size).sum::<u64>(),
        Value::Map(map) => {
            48 + map
                .iter()
                .map(|(k, v)| 24 + k.len() as u64 + approx_size(v))
                .sum::<u64>()
        }
        Value::KeyedMap(pairs) => {
            24 + pairs
                .iter()
                .map(|(k, v)| approx_size(k) + approx_size(v))
                .sum::<u64>()
        }
        _ => 16,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_run_out() {
        let limits = Limits {
            max_steps: 10,
            ..Limits::default()
        };
        let (results, exceeded) = run(&limits, || (steps(6).is_ok(), steps(6).is_ok()));
        assert_eq!(results, (true, false));
        assert_eq!(exceeded, Some(Exceeded::Steps(10)));
    }

    #[test]
    fn nothing_is_charged_outside_an_evaluation() {
        assert!(steps(u64::MAX).is_ok());
        let (_, exceeded) = run(&Limits::default(), || steps(1));
        assert_eq!(exceeded, None);
        assert!(steps(u64::MAX).is_ok(), "the budget is removed afterwards");
    }

    #[test]
    fn bytes_run_out() {
        let limits = Limits {
            max_bytes: 100,
            ..Limits::default()
        };
        let big = Value::String("x".repeat(200));
        let (ok, exceeded) = run(&limits, || bytes(&big).is_ok());
        assert!(!ok);
        assert_eq!(exceeded, Some(Exceeded::Bytes(100)));
    }

    #[test]
    fn the_clock_stops_long_runs() {
        let limits = Limits {
            max_time: Duration::ZERO,
            ..Limits::default()
        };
        let (ok, exceeded) = run(&limits, || (0..1000).all(|_| steps(1).is_ok()));
        assert!(!ok);
        assert_eq!(exceeded, Some(Exceeded::Time(Duration::ZERO)));
    }
}
