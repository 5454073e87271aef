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

pub mod evidence_limit;
pub mod evidence_view;

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::FutureExt;
use parking_lot::Mutex;
use reglet_domain::{
    Config, ControlStatus, Evidence, ExpectationOutcome, ObservationStatus, PluginErrorCode,
    PluginName,
};
use reglet_ports::PluginExecutor;
use tokio::sync::{Notify, Semaphore};
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
    /// How the evidence was cut to the report's limit, when it was.
    pub evidence_meta: Option<evidence_limit::EvidenceMeta>,
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
    /// How many times the observations were run or begun (0 when skipped or never started).
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

/// Told as controls start and finish, e.g. to draw progress. The engine's runners call it under
/// one lock, one call at a time, so an observer needs no ordering of its own; it must return
/// quickly.
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
    run_observed(executor, jobs, options, stop, Arc::new(Unobserved)).await
}

/// [`run`], telling `observer` as each control starts and finishes.
///
/// The controls run on `parallelism` runner tasks that take the next ready control themselves, so
/// a control that ends hands over to the next on the same worker thread: waking another thread
/// per control costs more than a whole observation on a small machine. This task only waits for
/// the runners, the run's timeout and `stop`, so a runner stuck past the run's end is abandoned.
pub async fn run_observed(
    executor: Arc<dyn PluginExecutor>,
    jobs: Vec<ControlJob>,
    options: &EngineOptions,
    stop: impl Future<Output = String>,
    observer: Arc<dyn RunObserver>,
) -> RunOutcome {
    let started = Instant::now();
    let run_deadline = options.timeout.map(|timeout| {
        Arc::new(RunDeadline {
            at: started + timeout,
            timeout,
            cut: AtomicBool::new(false),
        })
    });
    let count = jobs.len();
    let board = Arc::new(Board::new(
        jobs,
        executor,
        options,
        run_deadline.clone(),
        observer,
    ));
    let mut runners = JoinSet::new();
    for _ in 0..options.parallelism.clamp(1, count.max(1)) {
        runners.spawn(runner(Arc::clone(&board)));
    }
    let stopped = {
        let settled = board.settled();
        let timeout = async {
            match &run_deadline {
                Some(d) => {
                    tokio::time::sleep_until(d.at.into()).await;
                    d.reason()
                }
                None => std::future::pending().await,
            }
        };
        let (mut settled, mut stop, mut timeout) = (
            std::pin::pin!(settled),
            std::pin::pin!(stop),
            std::pin::pin!(timeout),
        );
        let mut ticks = watchdog_ticks();
        loop {
            // Work first: when the work and the run's timer are both ready (a plugin that blocked
            // its thread past the deadline), the finished controls' results are kept.
            tokio::select! {
                biased;
                () = &mut settled => break None,
                reason = &mut stop => break Some(reason),
                reason = &mut timeout => break Some(reason),
                Some(()) = ticks.recv() => {
                    let now = Instant::now();
                    if let Some(d) = run_deadline.as_ref().filter(|d| now >= d.at + ABANDON_AFTER) {
                        // The timer above needs a free worker thread; this tick does not.
                        break Some(d.reason());
                    }
                    for _ in 0..board.abandon_overdue(now) {
                        runners.spawn(runner(Arc::clone(&board)));
                    }
                }
            }
        }
    };
    // Dropping the runners aborts the controls still running; a runner stuck in a host call is
    // left to finish on its own, and its result is dropped.
    drop(runners);
    // The plugin's own deadline can fire a hair before the timer above, so the work may finish
    // first; an observation cut short by the run's deadline still makes the report partial.
    let stopped = stopped.or_else(|| {
        run_deadline
            .as_ref()
            .filter(|d| d.cut.load(Ordering::Relaxed))
            .map(|d| d.reason())
    });
    let results = board.finish(stopped.is_none());
    let controls = results
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|progress| {
                let mut outcome =
                    ControlOutcome::unfinished(stopped.as_deref().unwrap_or("the run stopped"));
                if let Some((began, attempts)) = progress {
                    outcome.attempts = attempts;
                    outcome.duration = began.elapsed();
                }
                outcome
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
    /// "the run's timeout of 2m".
    fn limit(&self) -> String {
        format!(
            "the run's timeout of {}",
            crate::report::human_duration(self.timeout)
        )
    }

    fn reason(&self) -> String {
        format!("{} ran out", self.limit())
    }

    /// The deadline has passed.
    fn passed(&self) -> bool {
        Instant::now() >= self.at
    }
}

/// How long past its deadline a control's plugin may go on before the engine stops waiting for
/// it. The guest itself is stopped at the deadline and network host calls end there too; only a
/// host call stuck in the kernel (a file on a hung network filesystem) outlives it.
const ABANDON_AFTER: Duration = Duration::from_secs(1);

/// How often overdue controls are looked for.
const WATCHDOG_TICK: Duration = Duration::from_millis(250);

/// Ticks every [`WATCHDOG_TICK`] from a thread of its own, so they arrive even when every worker
/// thread is stuck in a plugin's host call (tokio's timers need a free worker). The thread ends
/// with the receiver.
fn watchdog_ticks() -> tokio::sync::mpsc::Receiver<()> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let spawned = std::thread::Builder::new()
        .name("reglet-watchdog".into())
        .spawn(move || {
            loop {
                std::thread::sleep(WATCHDOG_TICK);
                if let Err(tokio::sync::mpsc::error::TrySendError::Closed(())) = tx.try_send(()) {
                    return;
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("no watchdog thread ({e}): a plugin stuck in a host call holds its control");
    }
    rx
}

/// Told the deadline of each attempt of a control (and which limit set it), `None` while the
/// control waits to try again; answers false when the control was abandoned and must stop.
type WatchAttempt<'a> = dyn Fn(Option<(Instant, DeadlineSource)>) -> bool + Sync + 'a;

/// Which limit set an observation's deadline, so a timeout can say which one ran out.
#[derive(Clone, Copy)]
enum DeadlineSource {
    /// The control's `timeout`.
    Control(Duration),
    /// The engine's default observation timeout.
    Default,
    /// The run's own timeout.
    Run,
}

impl DeadlineSource {
    /// The limit in words, e.g. "the control's timeout of 30s".
    fn limit(self, run: Option<&RunDeadline>) -> String {
        match (self, run) {
            (DeadlineSource::Control(t), _) => format!(
                "the control's timeout of {}",
                crate::report::human_duration(t)
            ),
            (DeadlineSource::Run, Some(run)) => run.limit(),
            (DeadlineSource::Run, None) => "the run's timeout".to_owned(),
            (DeadlineSource::Default, _) => "the default observation timeout".to_owned(),
        }
    }
}

/// The DAG of a run and everything its runners share.
struct Board {
    jobs: Vec<ControlJob>,
    /// Control index by id.
    index: HashMap<String, usize>,
    /// For each control, the controls that depend on it.
    dependents: Vec<Vec<usize>>,
    state: Mutex<BoardState>,
    /// Told when a control's end makes another ready or ends the run, so idle runners look for
    /// work again.
    changed: Notify,
    /// Told when the run is over (nothing runs, nothing is ready): the only wake-up the waiting
    /// task gets, so a control's end does not wake a thread needlessly.
    over: Notify,
    executor: Arc<dyn PluginExecutor>,
    observer: Arc<dyn RunObserver>,
    run_deadline: Option<Arc<RunDeadline>>,
    default_timeout: Duration,
    in_flight: Semaphore,
}

/// What changes as the run goes; the observer is called with this lock held, one call at a time.
struct BoardState {
    ready: VecDeque<usize>,
    /// For each control, how many of its dependencies have not ended.
    waiting: Vec<usize>,
    results: Vec<Option<ControlOutcome>>,
    running: usize,
    /// For each running control, the deadline of its current attempt's observations and the
    /// limit that set it.
    deadlines: Vec<Option<(Instant, DeadlineSource)>>,
    /// For each control that started: when, and how many attempts it began, so one the run cuts
    /// short is reported with them.
    progress: Vec<Option<(Instant, u32)>>,
}

impl BoardState {
    /// Nothing runs and nothing is ready: the run is over.
    fn is_over(&self) -> bool {
        self.running == 0 && self.ready.is_empty()
    }
}

/// What a runner does next.
enum Next {
    Run(usize),
    Wait,
    Done,
}

impl Board {
    fn new(
        jobs: Vec<ControlJob>,
        executor: Arc<dyn PluginExecutor>,
        options: &EngineOptions,
        run_deadline: Option<Arc<RunDeadline>>,
        observer: Arc<dyn RunObserver>,
    ) -> Self {
        let index: HashMap<String, usize> = jobs
            .iter()
            .enumerate()
            .map(|(i, j)| (j.id.clone(), i))
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
        let ready = (0..jobs.len()).filter(|&i| waiting[i] == 0).collect();
        let results = vec![None; jobs.len()];
        let deadlines = vec![None; jobs.len()];
        let progress = vec![None; jobs.len()];
        Board {
            index,
            dependents,
            state: Mutex::new(BoardState {
                ready,
                waiting,
                results,
                running: 0,
                deadlines,
                progress,
            }),
            changed: Notify::new(),
            over: Notify::new(),
            executor,
            observer,
            run_deadline,
            default_timeout: options.default_observe_timeout,
            in_flight: Semaphore::new(options.observations_in_flight()),
            jobs,
        }
    }

    /// Takes the next control to run, settling skipped ones on the way.
    fn next(&self, state: &mut BoardState) -> Next {
        while let Some(i) = state.ready.pop_front() {
            let job = &self.jobs[i];
            if let Some(reason) = skip_reason(job, &self.index, &state.results) {
                let outcome = ControlOutcome::skipped(reason);
                self.observer.finished(i, &job.id, &outcome);
                state.results[i] = Some(outcome);
                self.release(i, state);
                continue;
            }
            self.observer.started(i, &job.id);
            state.running += 1;
            state.progress[i] = Some((Instant::now(), 0));
            return Next::Run(i);
        }
        if state.running == 0 {
            Next::Done
        } else {
            Next::Wait
        }
    }

    /// Records how control `i` ended. False when the engine had already abandoned it: its runner
    /// was replaced and must stop.
    fn end(&self, i: usize, outcome: ControlOutcome) -> bool {
        let (readied, over) = {
            let mut state = self.state.lock();
            // Gone once the run has ended without this runner.
            let Some(slot) = state.results.get_mut(i) else {
                return false;
            };
            if slot.is_some() {
                // Abandoned: the replacement runner goes on, this one stops.
                state.deadlines[i] = None;
                return false;
            }
            self.observer.finished(i, &self.jobs[i].id, &outcome);
            *slot = Some(outcome);
            state.deadlines[i] = None;
            state.running -= 1;
            let readied = self.release(i, &mut state);
            (readied, state.is_over())
        };
        self.tell(readied, over);
        true
    }

    /// Wakes idle runners when there is new work or none will come, and the waiting task when
    /// the run is over.
    fn tell(&self, readied: bool, over: bool) {
        if readied || over {
            self.changed.notify_waiters();
        }
        if over {
            self.over.notify_waiters();
        }
    }

    /// Notes the deadline of control `i`'s current attempt and which limit set it; `None` while
    /// it waits to try again. False when the engine has abandoned the control: it must not try
    /// again.
    fn watch(&self, i: usize, attempt: Option<(Instant, DeadlineSource)>) -> bool {
        let mut state = self.state.lock();
        if state.results.get(i).is_none_or(Option::is_some) {
            return false;
        }
        if attempt.is_some()
            && let Some((_, attempts)) = &mut state.progress[i]
        {
            *attempts += 1;
        }
        state.deadlines[i] = attempt;
        true
    }

    /// Ends, as timed out, every running control whose plugin is more than [`ABANDON_AFTER`] past
    /// its deadline, and returns how many: each one's runner is stuck and needs a replacement.
    fn abandon_overdue(&self, now: Instant) -> usize {
        let mut abandoned = 0;
        let mut readied = false;
        let over = {
            let mut state = self.state.lock();
            for i in 0..self.jobs.len() {
                if state.results[i].is_some() {
                    state.deadlines[i] = None;
                    continue;
                }
                let overdue = match state.deadlines[i] {
                    Some((deadline, source)) if now >= deadline + ABANDON_AFTER => {
                        source.limit(self.run_deadline.as_deref())
                    }
                    _ => continue,
                };
                let outcome = ControlOutcome {
                    status: ControlStatus::Error,
                    message: format!(
                        "timeout: {overdue} ran out and the control had still not ended {} later (a plugin stuck in a host call); the engine stopped waiting for it",
                        crate::report::human_duration(ABANDON_AFTER)
                    ),
                    skip_reason: None,
                    attempts: 1,
                    duration: Duration::ZERO,
                    observations: Vec::new(),
                };
                tracing::warn!(control = %self.jobs[i].id, "{}", outcome.message);
                self.observer.finished(i, &self.jobs[i].id, &outcome);
                state.results[i] = Some(outcome);
                state.deadlines[i] = None;
                state.running -= 1;
                readied |= self.release(i, &mut state);
                abandoned += 1;
            }
            state.is_over()
        };
        if abandoned > 0 {
            self.tell(readied, over);
        }
        abandoned
    }

    /// Completes once no control runs and none is ready: the run is over.
    async fn settled(&self) {
        loop {
            let notified = self.over.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if self.state.lock().is_over() {
                return;
            }
            notified.await;
        }
    }

    /// Marks control `i`'s dependents one dependency closer to ready; true when one became so.
    fn release(&self, i: usize, state: &mut BoardState) -> bool {
        let mut readied = false;
        for &d in &self.dependents[i] {
            state.waiting[d] -= 1;
            if state.waiting[d] == 0 {
                state.ready.push_back(d);
                readied = true;
            }
        }
        readied
    }

    /// The results; when the run was not cut short, controls left in a dependency cycle (the
    /// loader refuses cycles, but jobs may come from elsewhere) are reported skipped.
    /// Takes the results, with when each unfinished control started and how many attempts it
    /// began.
    fn finish(&self, complete: bool) -> Vec<Result<ControlOutcome, Option<(Instant, u32)>>> {
        let mut state = self.state.lock();
        if complete {
            for i in 0..self.jobs.len() {
                if state.results[i].is_none() && state.waiting[i] > 0 {
                    let outcome = ControlOutcome::skipped(format!(
                        "dependency cycle through control '{}'",
                        self.jobs[i].id
                    ));
                    self.observer.finished(i, &self.jobs[i].id, &outcome);
                    state.results[i] = Some(outcome);
                }
            }
        }
        let progress = std::mem::take(&mut state.progress);
        std::mem::take(&mut state.results)
            .into_iter()
            .zip(progress)
            .map(|(result, progress)| result.ok_or(progress))
            .collect()
    }
}

/// Runs ready controls one after another until none is left to run.
async fn runner(board: Arc<Board>) {
    loop {
        let i = loop {
            let notified = board.changed.notified();
            let mut notified = std::pin::pin!(notified);
            // Registered before the board is read, so an end in between is not missed.
            notified.as_mut().enable();
            match board.next(&mut board.state.lock()) {
                Next::Run(i) => break i,
                Next::Done => {
                    board.tell(false, true);
                    return;
                }
                Next::Wait => {}
            }
            notified.await;
        };
        let watch = |attempt: Option<(Instant, DeadlineSource)>| board.watch(i, attempt);
        let control = run_control(
            &*board.executor,
            &board.jobs[i],
            board.run_deadline.as_deref(),
            board.default_timeout,
            &board.in_flight,
            &watch,
        );
        let outcome = AssertUnwindSafe(control)
            .catch_unwind()
            .await
            .unwrap_or_else(|_| {
                ControlOutcome::unfinished("the control's task failed unexpectedly")
            });
        if !board.end(i, outcome) {
            return;
        }
    }
}

fn skip_reason(
    job: &ControlJob,
    index: &HashMap<String, usize>,
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
    watch: &WatchAttempt<'_>,
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
            (deadline, source) = (run.at, DeadlineSource::Run);
        }
        if !watch(Some((deadline, source))) {
            return ControlOutcome::unfinished("abandoned by the engine");
        }
        let runs = job
            .observations
            .iter()
            .map(|o| run_observation(executor, o, deadline, source, run_deadline, in_flight));
        let (observations, transient): (Vec<_>, Vec<_>) =
            futures::future::join_all(runs).await.into_iter().unzip();
        let status = ControlStatus::aggregate(observations.iter().map(|o| o.status));
        if status == ControlStatus::Error
            && transient.iter().any(|t| *t)
            && attempts <= job.retry.retries
        {
            let wait = job.retry.delay_before(attempts);
            tracing::info!(control = %job.id, attempt = attempts, ?wait, "retrying control after a transient error");
            if !watch(None) {
                return ControlOutcome::unfinished("abandoned by the engine");
            }
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
    source: DeadlineSource,
    run_deadline: Option<&RunDeadline>,
    in_flight: &Semaphore,
) -> (ObservationOutcome, bool) {
    let started = Instant::now();
    // A free slot is taken without arming a timer; only a wait for one is bounded by the deadline.
    // The semaphore is never closed, so `None` means the deadline passed.
    let permit = match in_flight.try_acquire() {
        Ok(permit) => Some(permit),
        Err(_) => tokio::time::timeout_at(deadline.into(), in_flight.acquire())
            .await
            .ok()
            .and_then(Result::ok),
    };
    let result = match permit {
        Some(_permit) => executor.observe(&job.plugin, &job.config, deadline).await,
        None => Err(reglet_domain::PluginError::timeout(
            "the deadline passed while the observation waited for one of the run's slots for observations in flight",
        )),
    };
    let mut outcome = ObservationOutcome {
        plugin: job.plugin.clone(),
        status: ObservationStatus::Error,
        evidence: None,
        error: None,
        expectations: Vec::new(),
        duration: Duration::ZERO,
        evidence_meta: None,
    };
    let transient = match result {
        Err(e) => {
            let timed_out = e.code() == PluginErrorCode::Timeout;
            // The run's deadline set this one and has passed.
            let run_out = match (source, run_deadline) {
                (DeadlineSource::Run, Some(run)) if run.passed() => Some(run),
                _ => None,
            };
            outcome.error = Some(match (timed_out, source, run_out) {
                (true, DeadlineSource::Control(_), _) | (true, _, Some(_)) => {
                    if let Some(run) = run_out {
                        run.cut.store(true, Ordering::Relaxed);
                    }
                    format!(
                        "timeout: {} ran out ({})",
                        source.limit(run_deadline),
                        e.message()
                    )
                }
                _ => format!("{}: {}", e.code(), e.message()),
            });
            // A retry after the run's deadline could only time out again.
            timed_out && run_out.is_none()
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
