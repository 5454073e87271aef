//! The engine: runs a profile's controls through a [`PluginExecutor`] and judges the evidence.
//!
//! Controls form a DAG by `depends_on` and run with bounded parallelism; a control whose
//! dependency did not pass is skipped with the reason. Results come back in profile order
//! whatever finished first. Each control's `timeout` becomes the deadline of its observations;
//! the run's own timeout, or a stop request (a signal), ends the run early with partial results:
//! every unfinished control is reported as an error that says why. Controls whose observations
//! failed transiently (a timeout, a network error) are tried again as their retry policy says.
//!
//! The engine knows only the ports and the domain: its tests run on a mocked executor.

pub mod evidence_view;

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reglet_domain::{
    Config, ControlStatus, Evidence, ExpectationOutcome, ObservationStatus, PluginErrorCode,
    PluginName,
};
use reglet_ports::PluginExecutor;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::expect::Expectation;
use crate::profile::RetryPolicy;

/// How a run is carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineOptions {
    /// Most controls running at once (at least 1).
    pub parallelism: usize,
    /// The whole run's budget; `None` for none.
    pub timeout: Option<Duration>,
    /// The deadline of an observation whose control sets no timeout and when the run has none.
    pub default_observe_timeout: Duration,
}

impl EngineOptions {
    /// Most observations in flight at once across the run: 64 per running control, at least
    /// 128, at most 1000. The engine never exceeds it (a control with more observations runs
    /// the rest as permits free up), so a plugin runtime whose instance pool has this many slots
    /// is never exhausted by a run.
    pub fn observations_in_flight(&self) -> usize {
        self.parallelism.saturating_mul(64).clamp(128, 1000)
    }
}

impl Default for EngineOptions {
    /// One control per core, a two-minute run and ten minutes per observation at most.
    fn default() -> Self {
        EngineOptions {
            parallelism: std::thread::available_parallelism().map_or(1, |n| n.get()),
            timeout: Some(Duration::from_secs(120)),
            default_observe_timeout: Duration::from_secs(600),
        }
    }
}

/// One observation, ready to run: its config has every secret in place.
#[derive(Debug, Clone)]
pub struct ObservationJob {
    /// The plugin to call.
    pub plugin: PluginName,
    /// The config it is given.
    pub config: Config,
    /// The expectations that judge the evidence.
    pub expectations: Vec<Expectation>,
}

/// One control, ready to run.
#[derive(Debug, Clone)]
pub struct ControlJob {
    /// The id, which `depends_on` refers to.
    pub id: String,
    /// Ids of the controls that must pass first.
    pub depends_on: Vec<String>,
    /// The deadline of each attempt's observations, from the attempt's start.
    pub timeout: Option<Duration>,
    /// When to try again.
    pub retry: RetryPolicy,
    /// What to observe.
    pub observations: Vec<ObservationJob>,
    /// Set when the control is not to run (a filter left it out); it is reported skipped.
    pub skip: Option<String>,
}

/// How one expectation came out.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectationResult {
    /// The expression as written.
    pub expression: String,
    /// Its outcome.
    pub outcome: ExpectationOutcome,
    /// Why it did not pass, when it did not.
    pub message: Option<String>,
}

/// How one observation came out.
#[derive(Debug, Clone)]
pub struct ObservationOutcome {
    /// The plugin called.
    pub plugin: PluginName,
    /// The verdict.
    pub status: ObservationStatus,
    /// What the plugin returned, when it returned anything.
    pub evidence: Option<Evidence>,
    /// Why the observation could not be judged, when it could not.
    pub error: Option<String>,
    /// Each expectation's outcome.
    pub expectations: Vec<ExpectationResult>,
    /// How long the last attempt took.
    pub duration: Duration,
}

/// How one control came out.
#[derive(Debug, Clone)]
pub struct ControlOutcome {
    /// The verdict.
    pub status: ControlStatus,
    /// A one-line summary ("All 2 checks passed", the error, the skip reason).
    pub message: String,
    /// Why the control did not run, when it did not.
    pub skip_reason: Option<String>,
    /// How many times the observations were run (0 when skipped or never started).
    pub attempts: u32,
    /// From the first attempt's start to the end.
    pub duration: Duration,
    /// The last attempt's observations.
    pub observations: Vec<ObservationOutcome>,
}

impl ControlOutcome {
    fn skipped(reason: String) -> Self {
        ControlOutcome {
            status: ControlStatus::Skipped,
            message: reason.clone(),
            skip_reason: Some(reason),
            attempts: 0,
            duration: Duration::ZERO,
            observations: Vec::new(),
        }
    }

    fn unfinished(reason: &str) -> Self {
        ControlOutcome {
            status: ControlStatus::Error,
            message: format!("did not finish: {reason}"),
            skip_reason: None,
            attempts: 0,
            duration: Duration::ZERO,
            observations: Vec::new(),
        }
    }
}

/// The result of a run: one outcome per control, in the order the jobs were given.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// The controls' outcomes, in job order.
    pub controls: Vec<ControlOutcome>,
    /// Why the run ended early, when it did (the global timeout, a signal).
    pub stopped: Option<String>,
    /// How long the run took.
    pub duration: Duration,
}

/// Told as controls start and finish, e.g. to draw progress. The scheduler calls it from one
/// task, one call at a time, so an observer needs no ordering of its own; it must return quickly.
pub trait RunObserver: Send + Sync {
    /// Control `index` (in job order) starts its first attempt.
    fn started(&self, index: usize, id: &str) {
        let _ = (index, id);
    }
    /// Control `index` is done, run or skipped. Controls the run's end cuts short are not told.
    fn finished(&self, index: usize, id: &str, outcome: &ControlOutcome) {
        let _ = (index, id, outcome);
    }
}

/// The observer of a run nobody watches.
struct Unobserved;

impl RunObserver for Unobserved {}

/// Runs `jobs` until all are done, the run's timeout passes or `stop` completes (with the reason
/// to report). Unfinished controls are reported as errors with that reason.
pub async fn run(
    executor: Arc<dyn PluginExecutor>,
    jobs: Vec<ControlJob>,
    options: &EngineOptions,
    stop: impl Future<Output = String>,
) -> RunOutcome {
    run_observed(executor, jobs, options, stop, &Unobserved).await
}

/// [`run`], telling `observer` as each control starts and finishes.
pub async fn run_observed(
    executor: Arc<dyn PluginExecutor>,
    jobs: Vec<ControlJob>,
    options: &EngineOptions,
    stop: impl Future<Output = String>,
    observer: &dyn RunObserver,
) -> RunOutcome {
    let started = Instant::now();
    let run_deadline = options.timeout.map(|timeout| {
        Arc::new(RunDeadline {
            at: started + timeout,
            timeout,
            cut: AtomicBool::new(false),
        })
    });
    let jobs = Arc::new(jobs);
    let mut results: Vec<Option<ControlOutcome>> = vec![None; jobs.len()];
    let stopped = {
        let work = schedule(
            Arc::clone(&executor),
            Arc::clone(&jobs),
            &mut results,
            options,
            run_deadline.clone(),
            observer,
        );
        let timeout = async {
            match &run_deadline {
                Some(d) => {
                    tokio::time::sleep_until(d.at.into()).await;
                    d.reason()
                }
                None => std::future::pending().await,
            }
        };
        // Work first: when the work and the run's timer are both ready (a plugin that blocked its
        // thread past the deadline), the finished controls' results are kept.
        tokio::select! {
            biased;
            () = work => None,
            reason = stop => Some(reason),
            reason = timeout => Some(reason),
        }
    };
    // The plugin's own deadline can fire a hair before the timer above, so the work may finish
    // first; an observation cut short by the run's deadline still makes the report partial.
    let stopped = stopped.or_else(|| {
        run_deadline
            .as_ref()
            .filter(|d| d.cut.load(Ordering::Relaxed))
            .map(|d| d.reason())
    });
    let controls = results
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| {
                ControlOutcome::unfinished(stopped.as_deref().unwrap_or("the run stopped"))
            })
        })
        .collect();
    RunOutcome {
        controls,
        stopped,
        duration: started.elapsed(),
    }
}

/// The run's own deadline, and whether it cut an observation short.
struct RunDeadline {
    at: Instant,
    timeout: Duration,
    cut: AtomicBool,
}

impl RunDeadline {
    fn reason(&self) -> String {
        format!(
            "the run's timeout of {} ran out",
            crate::report::human_duration(self.timeout)
        )
    }
}

/// Which limit set an observation's deadline, so a timeout can say which one ran out.
#[derive(Clone, Copy)]
enum DeadlineSource<'a> {
    /// The control's `timeout`.
    Control(Duration),
    /// The engine's default observation timeout.
    Default,
    /// The run's own timeout.
    Run(&'a RunDeadline),
}

/// Runs the DAG, writing each outcome into `results` as it finishes; dropping the future aborts
/// the running controls (the [`JoinSet`] is dropped with it).
async fn schedule(
    executor: Arc<dyn PluginExecutor>,
    jobs: Arc<Vec<ControlJob>>,
    results: &mut [Option<ControlOutcome>],
    options: &EngineOptions,
    run_deadline: Option<Arc<RunDeadline>>,
    observer: &dyn RunObserver,
) {
    let index: HashMap<&str, usize> = jobs
        .iter()
        .enumerate()
        .map(|(i, j)| (j.id.as_str(), i))
        .collect();
    let mut dependents = vec![Vec::new(); jobs.len()];
    let mut waiting = vec![0usize; jobs.len()];
    for (i, job) in jobs.iter().enumerate() {
        for dep in &job.depends_on {
            if let Some(&d) = index.get(dep.as_str()) {
                dependents[d].push(i);
                waiting[i] += 1;
            }
        }
    }
    let mut ready: VecDeque<usize> = (0..jobs.len()).filter(|&i| waiting[i] == 0).collect();
    let mut running = JoinSet::new();
    let mut task_index = HashMap::new();
    let parallelism = options.parallelism.max(1);
    let default_timeout = options.default_observe_timeout;
    let in_flight = Arc::new(Semaphore::new(options.observations_in_flight()));
    loop {
        while running.len() < parallelism
            && let Some(i) = ready.pop_front()
        {
            if let Some(reason) = skip_reason(&jobs[i], &index, results) {
                let outcome = ControlOutcome::skipped(reason);
                observer.finished(i, &jobs[i].id, &outcome);
                results[i] = Some(outcome);
                release(i, &dependents, &mut waiting, &mut ready);
                continue;
            }
            observer.started(i, &jobs[i].id);
            let (executor, jobs) = (Arc::clone(&executor), Arc::clone(&jobs));
            let run_deadline = run_deadline.clone();
            let in_flight = Arc::clone(&in_flight);
            let handle = running.spawn(async move {
                run_control(
                    &*executor,
                    &jobs[i],
                    run_deadline.as_deref(),
                    default_timeout,
                    &in_flight,
                )
                .await
            });
            task_index.insert(handle.id(), i);
        }
        let Some(done) = running.join_next_with_id().await else {
            break;
        };
        let (i, outcome) = match done {
            Ok((id, outcome)) => (task_index[&id], outcome),
            Err(e) => (
                task_index[&e.id()],
                ControlOutcome::unfinished("the control's task failed unexpectedly"),
            ),
        };
        observer.finished(i, &jobs[i].id, &outcome);
        results[i] = Some(outcome);
        release(i, &dependents, &mut waiting, &mut ready);
    }
    // Controls left in a cycle (the loader refuses cycles, but jobs may come from elsewhere).
    for (i, slot) in results.iter_mut().enumerate() {
        if slot.is_none() && waiting[i] > 0 {
            let outcome = ControlOutcome::skipped(format!(
                "dependency cycle through control '{}'",
                jobs[i].id
            ));
            observer.finished(i, &jobs[i].id, &outcome);
            *slot = Some(outcome);
        }
    }
}

fn release(
    i: usize,
    dependents: &[Vec<usize>],
    waiting: &mut [usize],
    ready: &mut VecDeque<usize>,
) {
    for &d in &dependents[i] {
        waiting[d] -= 1;
        if waiting[d] == 0 {
            ready.push_back(d);
        }
    }
}

fn skip_reason(
    job: &ControlJob,
    index: &HashMap<&str, usize>,
    results: &[Option<ControlOutcome>],
) -> Option<String> {
    if let Some(reason) = &job.skip {
        return Some(reason.clone());
    }
    for dep in &job.depends_on {
        let status = index
            .get(dep.as_str())
            .and_then(|&d| results[d].as_ref())
            .map(|r| r.status);
        match status {
            Some(ControlStatus::Pass) => {}
            Some(other) => {
                return Some(format!(
                    "dependency '{dep}' has status '{}'",
                    control_status_str(other)
                ));
            }
            None => return Some(format!("dependency '{dep}' not found")),
        }
    }
    None
}

/// The lower-case spelling of a control status.
pub fn control_status_str(status: ControlStatus) -> &'static str {
    match status {
        ControlStatus::Pass => "pass",
        ControlStatus::Fail => "fail",
        ControlStatus::Error => "error",
        ControlStatus::Skipped => "skipped",
    }
}

/// The lower-case spelling of an observation status.
pub fn observation_status_str(status: ObservationStatus) -> &'static str {
    match status {
        ObservationStatus::Pass => "pass",
        ObservationStatus::Fail => "fail",
        ObservationStatus::Error => "error",
        ObservationStatus::Skipped => "skipped",
    }
}

async fn run_control(
    executor: &dyn PluginExecutor,
    job: &ControlJob,
    run_deadline: Option<&RunDeadline>,
    default_timeout: Duration,
    in_flight: &Semaphore,
) -> ControlOutcome {
    let started = Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let now = Instant::now();
        let (mut deadline, mut source) = match job.timeout {
            Some(t) => (now + t, DeadlineSource::Control(t)),
            None => (now + default_timeout, DeadlineSource::Default),
        };
        if let Some(run) = run_deadline
            && run.at <= deadline
        {
            (deadline, source) = (run.at, DeadlineSource::Run(run));
        }
        let runs = job
            .observations
            .iter()
            .map(|o| run_observation(executor, o, deadline, source, in_flight));
        let (observations, transient): (Vec<_>, Vec<_>) =
            futures::future::join_all(runs).await.into_iter().unzip();
        let status = ControlStatus::aggregate(observations.iter().map(|o| o.status));
        if status == ControlStatus::Error
            && transient.iter().any(|t| *t)
            && attempts <= job.retry.retries
        {
            let wait = job.retry.delay_before(attempts);
            tracing::info!(control = %job.id, attempt = attempts, ?wait, "retrying control after a transient error");
            tokio::time::sleep(wait).await;
            continue;
        }
        return ControlOutcome {
            status,
            message: control_message(status, &observations),
            skip_reason: None,
            attempts,
            duration: started.elapsed(),
            observations,
        };
    }
}

/// Runs one observation; the flag says whether its error is transient.
async fn run_observation(
    executor: &dyn PluginExecutor,
    job: &ObservationJob,
    deadline: Instant,
    source: DeadlineSource<'_>,
    in_flight: &Semaphore,
) -> (ObservationOutcome, bool) {
    let started = Instant::now();
    let result = {
        // The semaphore is never closed, so acquiring only waits.
        let _permit = in_flight.acquire().await;
        executor.observe(&job.plugin, &job.config, deadline).await
    };
    let mut outcome = ObservationOutcome {
        plugin: job.plugin.clone(),
        status: ObservationStatus::Error,
        evidence: None,
        error: None,
        expectations: Vec::new(),
        duration: Duration::ZERO,
    };
    let transient = match result {
        Err(e) => {
            let timed_out = e.code() == PluginErrorCode::Timeout;
            outcome.error = Some(match (timed_out, source) {
                (true, DeadlineSource::Control(t)) => format!(
                    "timeout: the control's timeout of {} ran out ({})",
                    crate::report::human_duration(t),
                    e.message()
                ),
                (true, DeadlineSource::Run(run)) if Instant::now() >= run.at => {
                    run.cut.store(true, Ordering::Relaxed);
                    format!("timeout: {} ({})", run.reason(), e.message())
                }
                _ => format!("{}: {}", e.code(), e.message()),
            });
            // A retry after the run's deadline could only time out again.
            timed_out && !matches!(source, DeadlineSource::Run(run) if Instant::now() >= run.at)
        }
        Ok(evidence) => {
            let transient = evidence_view::is_transient(&evidence);
            if evidence_view::is_error(&evidence) {
                outcome.error = evidence_view::error_message(&evidence);
            } else {
                let outcomes = judge_expectations(&job.expectations, &evidence);
                let kinds: Vec<_> = outcomes.iter().map(|o| o.outcome).collect();
                outcome.expectations = outcomes;
                outcome.error = outcome
                    .expectations
                    .iter()
                    .find(|e| e.outcome == ExpectationOutcome::Errored)
                    .and_then(|e| e.message.clone());
                outcome.status = evidence_view::judge(&evidence, &kinds);
            }
            outcome.evidence = Some(evidence);
            transient
        }
    };
    outcome.duration = started.elapsed();
    let transient = transient && outcome.status == ObservationStatus::Error;
    (outcome, transient)
}

fn judge_expectations(expectations: &[Expectation], evidence: &Evidence) -> Vec<ExpectationResult> {
    if expectations.is_empty() {
        return Vec::new();
    }
    let input = match evidence_view::eval_input(evidence) {
        Ok(input) => input,
        Err(e) => {
            return expectations
                .iter()
                .map(|x| ExpectationResult {
                    expression: x.source().to_owned(),
                    outcome: ExpectationOutcome::Errored,
                    message: Some(e.to_string()),
                })
                .collect();
        }
    };
    expectations
        .iter()
        .map(|x| {
            let (outcome, message) = match x.evaluate(&input) {
                Ok(true) => (ExpectationOutcome::Passed, None),
                Ok(false) => (
                    ExpectationOutcome::Failed,
                    Some(format!("expected `{}` to be true", x.source())),
                ),
                Err(e) => (
                    ExpectationOutcome::Errored,
                    Some(format!("`{}`: {e}", x.source())),
                ),
            };
            ExpectationResult {
                expression: x.source().to_owned(),
                outcome,
                message,
            }
        })
        .collect()
}

/// Reglet's control message.
fn control_message(status: ControlStatus, observations: &[ObservationOutcome]) -> String {
    let count = |s| observations.iter().filter(|o| o.status == s).count();
    match status {
        ControlStatus::Pass if observations.len() == 1 => "Check passed".into(),
        ControlStatus::Pass => format!("All {} checks passed", observations.len()),
        ControlStatus::Fail => match count(ObservationStatus::Fail) {
            1 => "1 check failed".into(),
            n => format!("{n} checks failed"),
        },
        ControlStatus::Error => match count(ObservationStatus::Error) {
            1 => observations
                .iter()
                .find(|o| o.status == ObservationStatus::Error)
                .and_then(|o| o.error.clone())
                .unwrap_or_else(|| "the check could not be made".into()),
            n => format!("{n} checks encountered errors"),
        },
        ControlStatus::Skipped => "no observations".into(),
    }
}

#[cfg(test)]
mod tests;
