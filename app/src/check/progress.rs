//! Progress on a terminal while controls run: done/total, failures so far, and the control that
//! has been running longest. Drawn on stderr by `indicatif`; the engine only calls the observer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use parking_lot::Mutex;
use reglet_domain::ControlStatus;
use reglet_ports::Redactor;

use crate::engine::{ControlOutcome, RunObserver};

/// What the progress line says, kept apart from the drawing so it can be tested.
#[derive(Debug, Default)]
pub struct Tally {
    failures: usize,
    /// Running controls, oldest first: (index, id, start).
    running: Vec<(usize, String, Instant)>,
}

impl Tally {
    fn started(&mut self, index: usize, id: &str, at: Instant) {
        self.running.push((index, id.to_owned(), at));
    }

    fn finished(&mut self, index: usize, status: ControlStatus) {
        self.running.retain(|(i, _, _)| *i != index);
        if matches!(status, ControlStatus::Fail | ControlStatus::Error) {
            self.failures += 1;
        }
    }

    /// "2 failed, slowest: ssh-config 12s" as of `now`.
    pub fn detail(&self, now: Instant) -> String {
        let mut out = format!("{} failed", self.failures);
        if let Some((_, id, at)) = self.running.first() {
            let secs = now.saturating_duration_since(*at).as_secs();
            out.push_str(&format!(", slowest running: {id} {secs}s"));
        }
        out
    }
}

/// A progress bar on stderr for `total` controls; call [`Progress::finish`] before the report.
pub struct Progress {
    bar: ProgressBar,
    tally: Arc<Mutex<Tally>>,
    /// Control ids are shown through it, as everything else on stderr.
    redactor: Arc<dyn Redactor>,
}

impl Progress {
    /// Starts drawing on stderr (indicatif draws nothing when stderr is not a terminal); control
    /// ids pass through `redactor` first.
    pub fn new(total: usize, redactor: Arc<dyn Redactor>) -> Self {
        let tally = Arc::new(Mutex::new(Tally::default()));
        let shown = Arc::clone(&tally);
        let style =
            ProgressStyle::with_template("{spinner} [{bar:24}] {pos}/{len} controls, {detail}")
                .expect("the template is valid")
                .progress_chars("=> ")
                .with_key(
                    "detail",
                    move |_: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = w.write_str(&shown.lock().detail(Instant::now()));
                    },
                );
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr())
            .with_style(style);
        bar.enable_steady_tick(Duration::from_millis(250));
        Progress {
            bar,
            tally,
            redactor,
        }
    }

    /// Removes the bar, so the report and any warning start on a clean line.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl RunObserver for Progress {
    fn started(&self, index: usize, id: &str) {
        let shown = self.redactor.redact_text(id);
        let id = shown.as_deref().unwrap_or(id);
        self.tally.lock().started(index, id, Instant::now());
        self.bar.tick();
    }

    fn finished(&self, index: usize, _id: &str, outcome: &ControlOutcome) {
        self.tally.lock().finished(index, outcome.status);
        self.bar.inc(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_detail_counts_failures_and_names_the_oldest_running_control() {
        let t0 = Instant::now();
        let mut tally = Tally::default();
        assert_eq!(tally.detail(t0), "0 failed");
        tally.started(0, "slow", t0);
        tally.started(1, "quick", t0 + Duration::from_secs(5));
        tally.started(2, "broken", t0 + Duration::from_secs(6));
        tally.finished(1, ControlStatus::Pass);
        tally.finished(2, ControlStatus::Error);
        let now = t0 + Duration::from_secs(12);
        assert_eq!(tally.detail(now), "1 failed, slowest running: slow 12s");
        tally.finished(0, ControlStatus::Fail);
        assert_eq!(tally.detail(now), "2 failed");
    }

    #[test]
    fn control_ids_are_shown_redacted() {
        let redactor =
            reglet_redaction::Redaction::new(reglet_redaction::RedactionConfig::default()).unwrap();
        redactor.register_secrets(&["Zq8-hunter2-value"]).unwrap();
        let progress = Progress::new(1, Arc::new(redactor));
        progress.started(0, "db-Zq8-hunter2-value");
        let detail = progress.tally.lock().detail(Instant::now());
        progress.finish();
        assert!(!detail.contains("hunter2"), "{detail}");
        assert!(detail.contains("slowest running: db-"), "{detail}");
    }
}
