//! Time as a port, so reports and results can be made deterministic in tests.

use reglet_domain::Timestamp;

/// Tells the current time.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait Clock: Send + Sync {
    /// Now, as a UTC timestamp.
    fn now(&self) -> Timestamp;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mock_clock_makes_time_fixed() {
        let fixed: Timestamp = "2026-12-01T00:00:00Z".parse().unwrap();
        let mut clock = MockClock::new();
        clock.expect_now().return_const(fixed);
        assert_eq!(clock.now(), fixed);
        assert!(SystemClock.now().unix_nanos() > 0);
    }
}
