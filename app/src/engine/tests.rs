//! Engine tests on a mocked executor.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use reglet_domain::{ConfigSchema, ErrorDetail, ErrorType, GrantSet, PluginError, PluginInfo};
use reglet_ports::{MockPluginExecutor, SchemaProvider};
use serde_json::{Map, json};

use super::*;
use crate::profile::Backoff;

/// The mock, behind a shim that honours `sleep_ms` in a config and the deadline as the runtime
/// does: mockall's async methods answer at once, so waiting has to happen around them.
struct Slow(MockPluginExecutor);

#[async_trait]
impl SchemaProvider for Slow {
    async fn plugin_schema(&self, name: &PluginName) -> Result<Option<ConfigSchema>, PluginError> {
        self.0.plugin_schema(name).await
    }
}

#[async_trait]
impl PluginExecutor for Slow {
    async fn load_plugin(&self, name: &PluginName, wasm: &[u8]) -> Result<(), PluginError> {
        self.0.load_plugin(name, wasm).await
    }
    async fn describe(&self, name: &PluginName) -> Result<PluginInfo, PluginError> {
        self.0.describe(name).await
    }
    async fn abi_generation(
        &self,
        name: &PluginName,
    ) -> Result<reglet_domain::AbiGeneration, PluginError> {
        self.0.abi_generation(name).await
    }
    async fn set_grants(&self, name: &PluginName, grants: GrantSet) -> Result<(), PluginError> {
        self.0.set_grants(name, grants).await
    }
    async fn observe(
        &self,
        name: &PluginName,
        config: &Config,
        deadline: Instant,
    ) -> Result<Evidence, PluginError> {
        if config.get("block_past_deadline").is_some() {
            // Like wasmtime's epoch check, which ends the guest at the deadline on its own clock
            // while the engine's timer has not been serviced yet.
            std::thread::sleep(
                deadline.saturating_duration_since(Instant::now()) + Duration::from_millis(5),
            );
            return Err(PluginError::timeout("observe() ran past its deadline"));
        }
        if let Some(ms) = config.get("stuck_ms").and_then(|v| v.as_u64()) {
            // A host call stuck in the kernel: the thread blocks, whatever the deadline.
            std::thread::sleep(Duration::from_millis(ms));
            if config.get("then_time_out").is_some() {
                return Err(PluginError::timeout("observe() ran past its deadline"));
            }
            return self.0.observe(name, config, deadline).await;
        }
        if let Some(ms) = config.get("sleep_ms").and_then(|v| v.as_u64()) {
            let until = Instant::now() + Duration::from_millis(ms);
            tokio::time::sleep_until(until.min(deadline).into()).await;
            if until > deadline {
                return Err(PluginError::timeout("observe() ran past its deadline"));
            }
        }
        self.0.observe(name, config, deadline).await
    }
    async fn warm_pool(&self, name: &PluginName, count: usize) -> Result<usize, PluginError> {
        self.0.warm_pool(name, count).await
    }
    async fn close(&self, name: &PluginName) -> Result<(), PluginError> {
        self.0.close(name).await
    }
}

fn plugin() -> PluginName {
    PluginName::new("probe").unwrap()
}

/// A control whose one observation sends `config` to the plugin.
fn control(id: &str, depends_on: &[&str], config: serde_json::Value) -> ControlJob {
    ControlJob {
        id: id.into(),
        depends_on: depends_on.iter().map(|s| s.to_string()).collect(),
        timeout: None,
        retry: RetryPolicy::default(),
        observations: vec![ObservationJob {
            plugin: plugin(),
            config: Config::from_value(config).unwrap(),
            expectations: Vec::new(),
        }],
        skip: None,
    }
}

fn with_expect(mut job: ControlJob, expects: &[&str]) -> ControlJob {
    job.observations[0].expectations = expects
        .iter()
        .map(|e| Expectation::compile(e).unwrap())
        .collect();
    job
}

/// The mock answers from the config's `result`: pass, fail, error, network, or else success
/// with the config echoed as data.
fn answering(mock: &mut MockPluginExecutor) {
    mock.expect_observe()
        .returning(|_, config, _| answer(config));
}

fn answer(config: &Config) -> Result<Evidence, PluginError> {
    let data: Map<String, serde_json::Value> = config.values().clone();
    match config.get("result").and_then(|v| v.as_str()) {
        Some("fail") => Ok(Evidence::failure(data)),
        Some("error") => Ok(Evidence::error(ErrorDetail::new(
            ErrorType::Config,
            "bad config",
        ))),
        Some("network") => Ok(Evidence::error(ErrorDetail::new(
            ErrorType::Network,
            "connection refused",
        ))),
        _ => Ok(Evidence::success(data)),
    }
}

fn options() -> EngineOptions {
    EngineOptions {
        parallelism: 4,
        timeout: Some(Duration::from_secs(30)),
        default_observe_timeout: Duration::from_secs(30),
    }
}

async fn run_jobs(
    mock: MockPluginExecutor,
    jobs: Vec<ControlJob>,
    options: &EngineOptions,
) -> RunOutcome {
    run(Arc::new(Slow(mock)), jobs, options, std::future::pending()).await
}

fn statuses(outcome: &RunOutcome) -> Vec<&'static str> {
    outcome
        .controls
        .iter()
        .map(|c| control_status_str(c.status))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dependencies_run_first_and_results_keep_profile_order() {
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut mock = MockPluginExecutor::new();
    let seen = Arc::clone(&order);
    mock.expect_observe().returning(move |_, config, _| {
        seen.lock()
            .unwrap()
            .push(config.get("id").unwrap().as_str().unwrap().to_owned());
        answer(config)
    });
    // c depends on b, b on a; a is written last.
    let jobs = vec![
        control("c", &["b"], json!({"id": "c"})),
        control("b", &["a"], json!({"id": "b"})),
        control("a", &[], json!({"id": "a"})),
    ];
    let outcome = run_jobs(mock, jobs, &options()).await;
    assert_eq!(*order.lock().unwrap(), ["a", "b", "c"]);
    assert_eq!(statuses(&outcome), ["pass", "pass", "pass"]);
    assert_eq!(outcome.controls[0].message, "Check passed");
    assert_eq!(outcome.stopped, None);
}

#[tokio::test]
async fn a_control_whose_dependency_did_not_pass_is_skipped_with_the_reason() {
    let mut mock = MockPluginExecutor::new();
    answering(&mut mock);
    let jobs = vec![
        control("base", &[], json!({"result": "fail"})),
        control("child", &["base"], json!({})),
        control("grandchild", &["child"], json!({})),
        control("broken", &[], json!({"result": "error"})),
        control("after-broken", &["broken"], json!({})),
        control("filtered", &[], json!({})),
        control("after-filtered", &["filtered"], json!({})),
    ];
    let mut jobs = jobs;
    jobs[5].skip = Some("excluded by --tags filter".into());
    let outcome = run_jobs(mock, jobs, &options()).await;
    assert_eq!(
        statuses(&outcome),
        [
            "fail", "skipped", "skipped", "error", "skipped", "skipped", "skipped"
        ]
    );
    let reason = |i: usize| outcome.controls[i].skip_reason.clone().unwrap();
    assert_eq!(reason(1), "dependency 'base' has status 'fail'");
    assert_eq!(reason(2), "dependency 'child' has status 'skipped'");
    assert_eq!(reason(4), "dependency 'broken' has status 'error'");
    assert_eq!(reason(5), "excluded by --tags filter");
    assert_eq!(reason(6), "dependency 'filtered' has status 'skipped'");
    assert_eq!(outcome.controls[1].attempts, 0);
}

#[tokio::test]
async fn status_rules() {
    let mut mock = MockPluginExecutor::new();
    answering(&mut mock);
    let mut two = control("two", &[], json!({}));
    two.observations.push(two.observations[0].clone());
    two.observations[1].config = Config::from_value(json!({"result": "fail"})).unwrap();
    let jobs = vec![
        // Evidence that carries an error is `error` even with no expectation.
        control("error-no-expect", &[], json!({"result": "error"})),
        // Without expectations the plugin's verdict decides.
        control("fail-no-expect", &[], json!({"result": "fail"})),
        // Expectations decide over the verdict.
        with_expect(
            control("expect-pass", &[], json!({"result": "fail", "n": 3})),
            &["data.n == 3"],
        ),
        with_expect(
            control("expect-false", &[], json!({"n": 3})),
            &["data.n == 3", "data.n > 5"],
        ),
        with_expect(
            control("expect-errored", &[], json!({"n": 3})),
            &["data.n > 5", "data.n.x == 1"],
        ),
        // Any fail outranks pass.
        two,
    ];
    let outcome = run_jobs(mock, jobs, &options()).await;
    assert_eq!(
        statuses(&outcome),
        ["error", "fail", "pass", "fail", "error", "fail"]
    );
    assert_eq!(outcome.controls[0].message, "bad config");
    assert_eq!(outcome.controls[3].message, "1 check failed");
    let expects = &outcome.controls[3].observations[0].expectations;
    assert_eq!(expects[0].outcome, ExpectationOutcome::Passed);
    assert_eq!(expects[1].outcome, ExpectationOutcome::Failed);
    assert_eq!(
        expects[1].message.as_deref(),
        Some("expected `data.n > 5` to be true")
    );
    assert!(
        outcome.controls[4].message.contains("data.n.x == 1"),
        "{}",
        outcome.controls[4].message
    );
    assert_eq!(outcome.controls[5].message, "1 check failed");
}

#[tokio::test]
async fn a_control_timeout_is_the_observe_deadline() {
    let mut mock = MockPluginExecutor::new();
    answering(&mut mock);
    let mut slow = control("slow", &[], json!({"sleep_ms": 5_000}));
    slow.timeout = Some(Duration::from_millis(50));
    let quick = control("quick", &[], json!({}));
    let started = Instant::now();
    let outcome = run_jobs(mock, vec![slow, quick], &options()).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(statuses(&outcome), ["error", "pass"]);
    let message = &outcome.controls[0].message;
    assert!(message.contains("timeout of 50ms ran out"), "{message}");
    assert_eq!(outcome.stopped, None);
}

#[tokio::test]
async fn the_run_timeout_keeps_partial_results() {
    let mut mock = MockPluginExecutor::new();
    answering(&mut mock);
    let jobs = vec![
        control("quick", &[], json!({})),
        control("slow", &[], json!({"sleep_ms": 60_000})),
        control("after-slow", &["slow"], json!({})),
    ];
    let options = EngineOptions {
        timeout: Some(Duration::from_millis(200)),
        default_observe_timeout: Duration::from_secs(120),
        ..options()
    };
    let started = Instant::now();
    let outcome = run_jobs(mock, jobs, &options).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(statuses(&outcome), ["pass", "error", "error"]);
    let stopped = outcome.stopped.as_deref().unwrap();
    assert_eq!(stopped, "the run's timeout of 200ms ran out");
    assert_eq!(
        outcome.controls[2].message,
        format!("did not finish: {stopped}")
    );
    // The control the run cut short had begun one attempt and ran until the cut; the one that
    // never started shows none.
    assert_eq!(outcome.controls[1].attempts, 1);
    assert!(outcome.controls[1].duration >= Duration::from_millis(150));
    assert_eq!(outcome.controls[2].attempts, 0);
    assert_eq!(outcome.controls[2].duration, Duration::ZERO);
}

// Two workers, as in the binary: on one thread the blocked plugin would starve `quick`, and
// whether `quick` then counted as finished hung on `select!`'s random branch order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_cut_by_the_run_timeout_makes_the_run_partial_even_when_it_answers_first() {
    let mut mock = MockPluginExecutor::new();
    answering(&mut mock);
    let jobs = vec![
        control("quick", &[], json!({})),
        control("slow", &[], json!({"block_past_deadline": true})),
    ];
    let options = EngineOptions {
        timeout: Some(Duration::from_millis(200)),
        default_observe_timeout: Duration::from_secs(120),
        ..options()
    };
    let outcome = run_jobs(mock, jobs, &options).await;
    assert_eq!(statuses(&outcome), ["pass", "error"]);
    assert_eq!(
        outcome.stopped.as_deref(),
        Some("the run's timeout of 200ms ran out")
    );
    let message = &outcome.controls[1].message;
    assert!(
        message.contains("the run's timeout of 200ms ran out"),
        "{message}"
    );
}

#[tokio::test]
async fn a_stop_request_keeps_partial_results() {
    let mut mock = MockPluginExecutor::new();
    answering(&mut mock);
    let jobs = vec![
        control("quick", &[], json!({})),
        control("slow", &[], json!({"sleep_ms": 60_000})),
    ];
    let options = EngineOptions {
        timeout: None,
        ..options()
    };
    let stop = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        "interrupted by SIGINT".to_owned()
    };
    let outcome = run(Arc::new(Slow(mock)), jobs, &options, stop).await;
    assert_eq!(statuses(&outcome), ["pass", "error"]);
    assert_eq!(outcome.stopped.as_deref(), Some("interrupted by SIGINT"));
    assert_eq!(
        outcome.controls[1].message,
        "did not finish: interrupted by SIGINT"
    );
}

fn retrying(retries: u32) -> RetryPolicy {
    RetryPolicy {
        retries,
        delay: Duration::from_millis(1),
        backoff: Backoff::Exponential,
        max_delay: Some(Duration::from_millis(5)),
    }
}

#[tokio::test]
async fn transient_errors_are_retried_and_attempts_recorded() {
    let calls = Arc::new(AtomicUsize::new(0));
    let mut mock = MockPluginExecutor::new();
    let count = Arc::clone(&calls);
    mock.expect_observe().returning(move |_, config, _| {
        let n = count.fetch_add(1, Ordering::SeqCst);
        match config.get("result").and_then(|v| v.as_str()) {
            Some("flaky") if n < 2 => Err(PluginError::timeout("deadline")),
            Some("flaky") => Ok(Evidence::success(Map::new())),
            _ => answer(config),
        }
    });
    let mut flaky = control("flaky", &[], json!({"result": "flaky"}));
    flaky.retry = retrying(3);
    let outcome = run_jobs(mock, vec![flaky], &options()).await;
    assert_eq!(statuses(&outcome), ["pass"]);
    assert_eq!(outcome.controls[0].attempts, 3);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn retries_stop_at_the_limit_and_skip_permanent_errors() {
    let calls = Arc::new(AtomicUsize::new(0));
    let mut mock = MockPluginExecutor::new();
    let count = Arc::clone(&calls);
    mock.expect_observe().returning(move |_, config, _| {
        count.fetch_add(1, Ordering::SeqCst);
        answer(config)
    });
    let mut network = control("network", &[], json!({"result": "network"}));
    network.retry = retrying(2);
    let mut permanent = control("permanent", &[], json!({"result": "error"}));
    permanent.retry = retrying(5);
    let mut failing = control("failing", &[], json!({"result": "fail"}));
    failing.retry = retrying(5);
    let options = EngineOptions {
        parallelism: 1,
        ..options()
    };
    let outcome = run_jobs(mock, vec![network, permanent, failing], &options).await;
    assert_eq!(statuses(&outcome), ["error", "error", "fail"]);
    let attempts: Vec<u32> = outcome.controls.iter().map(|c| c.attempts).collect();
    assert_eq!(attempts, [3, 1, 1]);
    assert_eq!(calls.load(Ordering::SeqCst), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallelism_and_observations_in_flight_are_bounded() {
    let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    struct Counting {
        inner: Slow,
        now: Arc<AtomicUsize>,
        most: Arc<AtomicUsize>,
    }
    #[async_trait]
    impl SchemaProvider for Counting {
        async fn plugin_schema(&self, n: &PluginName) -> Result<Option<ConfigSchema>, PluginError> {
            self.inner.plugin_schema(n).await
        }
    }
    #[async_trait]
    impl PluginExecutor for Counting {
        async fn load_plugin(&self, n: &PluginName, w: &[u8]) -> Result<(), PluginError> {
            self.inner.load_plugin(n, w).await
        }
        async fn describe(&self, n: &PluginName) -> Result<PluginInfo, PluginError> {
            self.inner.describe(n).await
        }
        async fn abi_generation(
            &self,
            n: &PluginName,
        ) -> Result<reglet_domain::AbiGeneration, PluginError> {
            self.inner.abi_generation(n).await
        }
        async fn set_grants(&self, n: &PluginName, g: GrantSet) -> Result<(), PluginError> {
            self.inner.set_grants(n, g).await
        }
        async fn observe(
            &self,
            n: &PluginName,
            c: &Config,
            d: Instant,
        ) -> Result<Evidence, PluginError> {
            let running = self.now.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(running, Ordering::SeqCst);
            let result = self.inner.observe(n, c, d).await;
            self.now.fetch_sub(1, Ordering::SeqCst);
            result
        }
        async fn warm_pool(&self, n: &PluginName, c: usize) -> Result<usize, PluginError> {
            self.inner.warm_pool(n, c).await
        }
        async fn close(&self, n: &PluginName) -> Result<(), PluginError> {
            self.inner.close(n).await
        }
    }
    let mut mock = MockPluginExecutor::new();
    answering(&mut mock);
    let jobs: Vec<_> = (0..8)
        .map(|i| control(&format!("c{i}"), &[], json!({"sleep_ms": 30})))
        .collect();
    let executor = Counting {
        inner: Slow(mock),
        now: Arc::clone(&now),
        most: Arc::clone(&most),
    };
    let three_at_a_time = EngineOptions {
        parallelism: 3,
        ..options()
    };
    let outcome = run(
        Arc::new(executor),
        jobs,
        &three_at_a_time,
        std::future::pending(),
    )
    .await;
    assert!(
        outcome
            .controls
            .iter()
            .all(|c| c.status == ControlStatus::Pass)
    );
    let most_controls = most.swap(0, Ordering::SeqCst);
    assert!(
        (2..=3).contains(&most_controls),
        "at most 3 at once, and more than 1: {most_controls}"
    );

    // One control with more observations than the run may have in flight (and so more than the
    // instance pool the CLI sizes to that figure): they wait for permits instead of failing.
    let mut mock = MockPluginExecutor::new();
    answering(&mut mock);
    let mut wide = control("wide", &[], json!({"sleep_ms": 20}));
    wide.observations = vec![wide.observations[0].clone(); 300];
    let one_at_a_time = EngineOptions {
        parallelism: 1,
        ..options()
    };
    let limit = one_at_a_time.observations_in_flight();
    let executor = Counting {
        inner: Slow(mock),
        now: Arc::clone(&now),
        most: Arc::clone(&most),
    };
    let outcome = run(
        Arc::new(executor),
        vec![wide],
        &one_at_a_time,
        std::future::pending(),
    )
    .await;
    assert_eq!(statuses(&outcome), ["pass"]);
    let most_observations = most.load(Ordering::SeqCst);
    assert!(
        most_observations <= limit && most_observations > limit / 2,
        "at most {limit} observations at once, and many: {most_observations}"
    );
}

/// Records what the engine tells an observer.
#[derive(Default)]
struct Events(Mutex<Vec<String>>);

impl RunObserver for Events {
    fn started(&self, index: usize, id: &str) {
        self.0.lock().unwrap().push(format!("start {index} {id}"));
    }
    fn finished(&self, index: usize, id: &str, outcome: &ControlOutcome) {
        let status = control_status_str(outcome.status);
        self.0
            .lock()
            .unwrap()
            .push(format!("end {index} {id} {status}"));
    }
}

/// Runs `jobs` on the answering mock with `parallelism`, recording what the observer is told.
async fn run_watched(jobs: Vec<ControlJob>, parallelism: usize) -> (RunOutcome, Vec<String>) {
    let mut mock = MockPluginExecutor::new();
    answering(&mut mock);
    let events = Arc::new(Events::default());
    let outcome = run_observed(
        Arc::new(Slow(mock)),
        jobs,
        &EngineOptions {
            parallelism,
            ..options()
        },
        std::future::pending(),
        events.clone(),
    )
    .await;
    let told = events.0.lock().unwrap().clone();
    (outcome, told)
}

#[tokio::test]
async fn the_observer_is_told_each_start_and_end_in_order() {
    let jobs = vec![
        control("b", &["a"], json!({})),
        control("a", &[], json!({"result": "fail"})),
        control("c", &[], json!({})),
    ];
    let (outcome, events) = run_watched(jobs, 1).await;
    assert_eq!(statuses(&outcome), ["skipped", "fail", "pass"]);
    // One at a time: each control starts, then ends; the skipped one ends without starting.
    assert_eq!(
        events,
        [
            "start 1 a",
            "end 1 a fail",
            "start 2 c",
            "end 2 c pass",
            "end 0 b skipped"
        ]
    );
}

/// Issue 8, item 6: a plugin stuck in a host call past its deadline (a file on a hung network
/// filesystem) held its worker thread and the whole run. The engine now stops waiting for it a
/// second after the deadline, reports the control as timed out, and runs the rest on another
/// runner; had it waited, the stuck control would have passed when its thread came back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_control_stuck_in_a_host_call_is_abandoned_after_its_deadline() {
    let mut stuck = control("stuck", &[], json!({"stuck_ms": 4000}));
    stuck.timeout = Some(Duration::from_millis(100));
    let jobs = vec![
        stuck,
        control("after", &[], json!({})),
        control("later", &["after"], json!({})),
    ];
    let (outcome, events) = run_watched(jobs, 1).await;
    assert_eq!(statuses(&outcome), ["error", "pass", "pass"]);
    assert!(outcome.stopped.is_none(), "the run itself finished");
    let message = &outcome.controls[0].message;
    assert!(
        message.contains("the control's timeout of 100ms ran out")
            && message.contains("stopped waiting"),
        "{message}"
    );
    assert!(
        events.contains(&"end 0 stuck error".to_owned()),
        "{events:?}"
    );
}

/// An abandoned control whose thread comes back with a transient error is not tried again, and
/// its end is told once: a retry would re-arm its deadline and be abandoned a second time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_control_is_never_retried() {
    let mut stuck = control(
        "stuck",
        &[],
        json!({"stuck_ms": 1500, "then_time_out": true}),
    );
    stuck.timeout = Some(Duration::from_millis(100));
    stuck.retry = RetryPolicy {
        retries: 3,
        delay: Duration::from_millis(10),
        ..RetryPolicy::default()
    };
    let (outcome, events) = run_watched(
        vec![stuck, control("other", &[], json!({"sleep_ms": 2500}))],
        2,
    )
    .await;
    assert_eq!(statuses(&outcome), ["error", "pass"]);
    assert!(outcome.controls[0].message.contains("stopped waiting"));
    let ends = events.iter().filter(|e| e.starts_with("end 0 ")).count();
    assert_eq!(ends, 1, "{events:?}");
}
