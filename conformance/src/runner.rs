//! Runs cases against one runtime: each case in its own bundle, container id and `--root`, in
//! parallel, with a timeout on every runtime call, ALWAYS cleaning up (also after a timeout or
//! a crash of the runtime), and checking after every case that nothing leaked onto the host.

use crate::bundle;
use crate::case::{Case, Op, Outcome, Step, Target};
use crate::checks::{self, cite, state, Host, Outside, Refs, Scope};
use crate::leaks::{self, Marks};
use crate::merge::merge;
use crate::observe::{self, Exit};
use crate::requirements::Catalogue;
use crate::runtime::{Call, Runtime};
use crate::verdict::{CaseResult, Check, RunResult, RuntimeInfo, Status};
use ocikit_probe::Report;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The ociVersion a runtime is judged on when it has no `features` (runtime-spec v1.0.2 is
/// what runtimes without `features` implement).
pub const FALLBACK_OCI_VERSION: &str = "1.0.2";

#[derive(Debug, Clone)]
pub struct Options {
    pub jobs: usize,
    pub timeout: Duration,
    pub work_dir: PathBuf,
    pub oci_version: Option<String>,
    pub wrap_mountns: bool,
    pub keep: bool,
}

/// A runtime ready to be judged.
pub struct Subject {
    pub runtime: Runtime,
    pub info: RuntimeInfo,
    pub features: Option<Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("runtime {0} does not exist or is not executable")]
    NoRuntime(PathBuf),
    #[error("cannot create {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Resolves `NAME=PATH` or `PATH`, asks the runtime its version and features, and picks the
/// ociVersion of the base config (`--oci-version`, else `features`' ociVersionMax, else 1.0.2).
pub fn prepare(spec: &str, opts: &Options) -> Result<Subject, Error> {
    let (name, path) = match spec.split_once('=') {
        Some((n, p)) => (n.to_string(), PathBuf::from(p)),
        None => {
            let p = PathBuf::from(spec);
            let n = p
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| spec.to_string());
            (n, p)
        }
    };
    if !path.is_file() {
        return Err(Error::NoRuntime(path));
    }
    let dir = opts.work_dir.join(&name);
    std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
        path: dir.clone(),
        source,
    })?;
    let wrap_mountns = if opts.wrap_mountns {
        let empty = opts.work_dir.join("empty-controllers");
        std::fs::write(&empty, b"").map_err(|source| Error::Io {
            path: empty.clone(),
            source,
        })?;
        Some(empty)
    } else {
        None
    };
    let runtime = Runtime {
        name: name.clone(),
        path: std::fs::canonicalize(&path).unwrap_or(path.clone()),
        timeout: opts.timeout,
        wrap_mountns,
    };
    let version = runtime.version(&dir);
    let features = runtime.features(&dir);
    let (oci_version, source) = match (&opts.oci_version, &features) {
        (Some(v), _) => (v.clone(), "--oci-version".to_string()),
        (None, Some(f)) => match f["ociVersionMax"].as_str() {
            Some(v) => (v.to_string(), "features ociVersionMax".to_string()),
            None => (
                FALLBACK_OCI_VERSION.to_string(),
                "fallback (features has no ociVersionMax)".to_string(),
            ),
        },
        (None, None) => (
            FALLBACK_OCI_VERSION.to_string(),
            "fallback (no features command)".to_string(),
        ),
    };
    Ok(Subject {
        info: RuntimeInfo {
            name,
            path: runtime.path.display().to_string(),
            version,
            oci_version,
            oci_version_source: source,
        },
        runtime,
        features,
    })
}

/// Progress after each case: (done, total, failed so far, the case's result).
pub type Progress<'a> = &'a (dyn Fn(usize, usize, usize, &CaseResult) + Sync);

/// Runs the cases in parallel and returns them in case order.
pub fn run_suite(
    target: &Subject,
    cases: &[Case],
    catalogue: &Catalogue,
    host: &Host,
    opts: &Options,
    progress: Progress,
) -> RunResult {
    let started = Instant::now();
    let blocked = preflight(target, catalogue, host, opts);
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<CaseResult>>> = Mutex::new(vec![None; cases.len()]);
    let jobs = opts.jobs.max(1).min(cases.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(case) = cases.get(i) else { break };
                if interrupted() {
                    let mut r = not_judged(case, "not run: interrupted");
                    r.status = Status::Skip;
                    if let Ok(mut all) = results.lock() {
                        all[i] = Some(r);
                    }
                    continue;
                }
                let ctx = Ctx {
                    target,
                    refs: Refs { catalogue },
                    host,
                    opts,
                    serial: i,
                };
                let result = match &blocked {
                    Some(why) if case.id != PREFLIGHT_CASE => not_judged(case, why),
                    _ => ctx.run(case),
                };
                if matches!(result.status, Status::Fail | Status::Error) {
                    failed.fetch_add(1, Ordering::SeqCst);
                }
                let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                progress(n, cases.len(), failed.load(Ordering::SeqCst), &result);
                if let Ok(mut r) = results.lock() {
                    r[i] = Some(result);
                }
            });
        }
    });
    // Every case used a leaf under one parent cgroup; remove the parents the runtime made.
    for h in leaks::hierarchies() {
        let _ = std::fs::remove_dir(h.join(bundle::CGROUP_PARENT));
    }
    let cases = results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect();
    RunResult {
        runtime: target.info.clone(),
        cases,
        millis: started.elapsed().as_millis() as u64,
    }
}

static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_interrupt(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// On SIGINT or SIGTERM, finish (and clean up) the cases in flight, run no new one. Runtime
/// calls run in process groups of their own, so a Ctrl-C on the terminal does not reach them
/// half-way.
pub fn stop_on_interrupt() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            libc::signal(sig, on_interrupt as *const () as libc::sighandler_t);
        }
    }
}

/// Whether SIGINT or SIGTERM arrived.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// The case that proves the base bundle runs; when it does not, nothing else is judged.
pub const PREFLIGHT_CASE: &str = "lifecycle/base";

/// Runs the plain base bundle once. A runtime that cannot run it here (a broken environment,
/// or a runtime that cannot create anything) gets one failure, in that case, and every other
/// case is an error ("not judged") instead of a pile of failures that say nothing.
fn preflight(
    target: &Subject,
    catalogue: &Catalogue,
    host: &Host,
    opts: &Options,
) -> Option<String> {
    if !is_root() {
        return None;
    }
    let text = "description = \"preflight: the base bundle runs\"\nrequirements = [\"-\"]\n";
    let case = crate::case::parse(Path::new("(preflight)"), "preflight/base", text).ok()?;
    let ctx = Ctx {
        target,
        refs: Refs { catalogue },
        host,
        opts,
        serial: usize::MAX,
    };
    let r = ctx.run(&case);
    (r.status != Status::Pass).then(|| {
        format!(
            "not judged: the base bundle does not run on {} here ({}); see {PREFLIGHT_CASE}",
            target.info.name, r.reason
        )
    })
}

fn not_judged(case: &Case, why: &str) -> CaseResult {
    CaseResult {
        case: case.id.clone(),
        area: case.area.clone(),
        description: case.file.description.clone(),
        requirements: case.file.requirements.clone(),
        status: Status::Error,
        reason: why.to_string(),
        checks: vec![],
        millis: 0,
    }
}

struct Ctx<'a> {
    target: &'a Subject,
    refs: Refs<'a>,
    host: &'a Host,
    opts: &'a Options,
    serial: usize,
}

/// One container of a case.
#[derive(Default)]
struct Container {
    id: String,
    bundle: PathBuf,
    fragment: Value,
    config: Value,
    created: bool,
    deleted: bool,
    pid: Option<i32>,
    exited: bool,
    report: Option<Report>,
    stdout: PathBuf,
}

/// The state of one case's run.
struct Run<'a> {
    ctx: &'a Ctx<'a>,
    case: &'a Case,
    dir: PathBuf,
    root: PathBuf,
    main: Container,
    second: Container,
    unknown_id: String,
    checks: Vec<Check>,
    calls: usize,
    marks: Marks,
}

impl Ctx<'_> {
    fn run(&self, case: &Case) -> CaseResult {
        let started = Instant::now();
        let mut result = CaseResult {
            case: case.id.clone(),
            area: case.area.clone(),
            description: case.file.description.clone(),
            requirements: case.file.requirements.clone(),
            status: Status::Pass,
            reason: String::new(),
            checks: vec![],
            millis: 0,
        };
        if let Some(why) = self.unmet_need(case) {
            result.status = Status::Skip;
            result.reason = why;
            return result;
        }
        match self.prepare_run(case) {
            Ok(mut run) => {
                if let Some(why) = run.unsupported() {
                    result.status = Status::Skip;
                    result.reason = why;
                } else {
                    run.steps();
                }
                run.cleanup();
                result.checks = std::mem::take(&mut run.checks);
                if !self.opts.keep {
                    let _ = std::fs::remove_dir_all(&run.dir);
                }
            }
            Err(e) => {
                result.status = Status::Error;
                result.reason = format!("cannot prepare the bundle: {e}");
            }
        }
        result.conclude();
        result.millis = started.elapsed().as_millis() as u64;
        result
    }

    fn unmet_need(&self, case: &Case) -> Option<String> {
        if !is_root() {
            return Some("needs root (creating containers)".into());
        }
        for need in &case.file.needs {
            if need == "root" && !is_root() {
                return Some("needs root".into());
            }
            if let Some(ns) = need.strip_prefix("ns:") {
                let file = observe::ns_file(ns).unwrap_or(ns);
                if !Path::new(&format!("/proc/self/ns/{file}")).exists() {
                    return Some(format!("the kernel lacks {ns} namespaces"));
                }
            }
        }
        None
    }

    fn prepare_run<'a>(&'a self, case: &'a Case) -> std::io::Result<Run<'a>> {
        let tag = format!("ocikit-{}-{}", std::process::id(), self.serial);
        let dir = self
            .opts
            .work_dir
            .join(&self.target.info.name)
            .join(case.id.replace('/', "_"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let root = dir.join("state");
        let make = |name: &str, fragment: &Value, id: String| -> std::io::Result<Container> {
            let bundle = dir.join(name);
            std::fs::create_dir_all(&bundle)?;
            bundle::make_rootfs(&bundle, crate::embedded::PROBE)?;
            Ok(Container {
                stdout: dir.join(format!("{name}-create.out")),
                id,
                bundle,
                fragment: fragment.clone(),
                ..Default::default()
            })
        };
        let main = make("bundle", &case.config, tag.clone())?;
        let second = match &case.second {
            Some(f) => make("bundle2", f, format!("{tag}-b"))?,
            None => Container {
                id: format!("{tag}-b"),
                ..Default::default()
            },
        };
        let marks = Marks {
            dir: dir.clone(),
            ids: vec![main.id.clone(), second.id.clone()],
            cgroups: vec![
                format!("{}/{}", bundle::CGROUP_PARENT, main.id),
                format!("{}/{}", bundle::CGROUP_PARENT, second.id),
            ],
            state_root: root.clone(),
            since_pid: leaks::last_pid(),
        };
        Ok(Run {
            ctx: self,
            case,
            root,
            main,
            second,
            unknown_id: format!("{tag}-unknown"),
            dir,
            checks: vec![],
            calls: 0,
            marks,
        })
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no failure mode.
    unsafe { libc::geteuid() == 0 }
}

impl Run<'_> {
    fn probe_args(&self, config_fragment: &Value) -> Vec<String> {
        let mut base = bundle::base_config("x", "x", &[]);
        merge(&mut base, config_fragment);
        let mut args = checks::probe_steps(&base);
        match &self.case.file.probe {
            Some(p) => args.extend(p.iter().cloned()),
            None => args.extend(["report".to_string(), "pause".to_string()]),
        }
        args
    }

    /// The merged config of a container, placeholders filled in.
    fn config_of(&self, second: bool) -> Value {
        let c = if second { &self.second } else { &self.main };
        let args = self.probe_args(&c.fragment);
        let mut config = bundle::base_config(&self.ctx.target.info.oci_version, &c.id, &args);
        merge(&mut config, &c.fragment);
        let text = config.to_string();
        let filled = text
            .replace(
                "{second.pid}",
                &self.second.pid.unwrap_or_default().to_string(),
            )
            .replace("{runner.pid}", &std::process::id().to_string())
            .replace("{id}", &c.id)
            .replace("{dir}", &self.dir.display().to_string())
            .replace("{bundle}", &c.bundle.display().to_string());
        serde_json::from_str(&filled).unwrap_or(config)
    }

    /// A reason to skip when the runtime's `features` says it does not support what a case
    /// that expects success uses (features.md).
    fn unsupported(&self) -> Option<String> {
        let features = self.ctx.target.features.as_ref()?;
        let creates_ok = self
            .case
            .steps
            .iter()
            .find(|s| s.op == Op::Create && s.id == Target::Case)
            .is_some_and(|s| s.expect == Outcome::Ok);
        if !creates_ok {
            return None;
        }
        let config = self.config_of(false);
        if let Some(known) = features["linux"]["namespaces"].as_array() {
            for ns in config["linux"]["namespaces"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let t = &ns["type"];
                if !known.contains(t) {
                    return Some(format!("runtime's features does not list namespace {t}"));
                }
            }
        }
        // features.md "Linux": a feature whose `enabled` is false is unsupported.
        for (field, feature) in [
            ("seccomp", "seccomp"),
            ("apparmorProfile", "apparmor"),
            ("selinuxLabel", "selinux"),
        ] {
            let used = if field == "seccomp" {
                config["linux"]["seccomp"].is_object()
            } else {
                config["process"][field].is_string()
            };
            if used && features["linux"][feature]["enabled"] == Value::Bool(false) {
                return Some(format!("runtime's features says {feature} is not enabled"));
            }
        }
        if let (Some(known), Some(hooks)) =
            (features["hooks"].as_array(), config["hooks"].as_object())
        {
            for h in hooks.keys() {
                if !known.iter().any(|k| k == h.as_str()) {
                    return Some(format!("runtime's features does not list hook {h:?}"));
                }
            }
        }
        if let Some(known) = features["mountOptions"].as_array() {
            for m in config["mounts"].as_array().into_iter().flatten() {
                for o in m["options"].as_array().into_iter().flatten() {
                    // Only the spec's table of options; others are filesystem data.
                    let generic = o
                        .as_str()
                        .is_some_and(|s| !self.ctx.refs.mount_option(s).is_empty());
                    if generic && !known.contains(o) {
                        return Some(format!("runtime's features does not list mount option {o}"));
                    }
                }
            }
        }
        None
    }

    fn call(&mut self, args: &[&str]) -> Option<Call> {
        self.calls += 1;
        let stem = format!(
            "call{:02}-{}",
            self.calls,
            args.first().copied().unwrap_or("")
        );
        match self
            .ctx
            .target
            .runtime
            .call(Some(&self.root), args, &self.dir, &stem)
        {
            Ok(c) => Some(c),
            Err(e) => {
                self.checks.push(Check::with(
                    format!("run {}", args.join(" ")),
                    Status::Error,
                    vec![],
                    "the runtime can be run",
                    e.to_string(),
                ));
                None
            }
        }
    }

    fn container(&mut self, target: &Target) -> &mut Container {
        match target {
            Target::Second => &mut self.second,
            _ => &mut self.main,
        }
    }

    fn id_of(&self, target: &Target) -> String {
        match target {
            Target::Case => self.main.id.clone(),
            Target::Second => self.second.id.clone(),
            Target::Unknown => self.unknown_id.clone(),
            Target::Missing => String::new(),
        }
    }

    /// Runs the steps; stops at the first step whose outcome is not what the case expects.
    ///
    /// A `create` expecting `any` that fails means the runtime refused the config up front
    /// (runtime.md "Create": it MAY validate): later steps expecting an error count as passed
    /// (the error came at create), steps expecting success are not judged.
    fn steps(&mut self) {
        let steps = self.case.steps.clone();
        let mut refused_at_create = false;
        for (i, step) in steps.iter().enumerate() {
            if refused_at_create {
                let ids = if step.requirements.is_empty() {
                    self.case.file.requirements.clone()
                } else {
                    step.requirements.clone()
                };
                let (status, observed) = match step.expect {
                    Outcome::Error => (Status::Pass, "create already refused the config"),
                    Outcome::Any => continue,
                    Outcome::Ok => (Status::Skip, "not judged: create refused the config"),
                };
                self.checks.push(Check::with(
                    format!("step {}: {}", i + 1, step.op.as_str()),
                    status,
                    ids,
                    "",
                    observed,
                ));
                continue;
            }
            let before = self.checks.len();
            self.step(i + 1, step);
            if step.op == Op::Create
                && step.expect == Outcome::Any
                && !self.container(&step.id).created
            {
                refused_at_create = true;
            }
            let broke = self.checks[before..]
                .iter()
                .any(|c| matches!(c.status, Status::Fail | Status::Error));
            if broke {
                break;
            }
        }
        self.explicit_expectations();
    }

    fn outcome(&mut self, n: usize, step: &Step, call: &Call, default: &[cite::Cite]) -> bool {
        let mut ids = step.requirements.clone();
        if ids.is_empty() {
            ids = self.ctx.refs.all(default);
        }
        let what = format!("step {n}: {}", call.command_short());
        let (status, expected) = match step.expect {
            Outcome::Ok => (call.ok(), "success"),
            Outcome::Error => (!call.ok() && !call.timed_out, "an error"),
            Outcome::Any => (true, "success or an error"),
        };
        self.checks.push(Check::with(
            what,
            if status { Status::Pass } else { Status::Fail },
            ids,
            expected,
            call.summary(),
        ));
        status
    }

    fn step(&mut self, n: usize, step: &Step) {
        let id = self.id_of(&step.id);
        match step.op {
            Op::Create => self.create(n, step, &id),
            Op::Start => {
                if let Some(call) = self.call(&with_id(&["start"], &id, &[])) {
                    self.outcome(n, step, &call, &[cite::PROCESS_RUN]);
                }
            }
            Op::State => {
                let Some(call) = self.call(&with_id(&["state"], &id, &[])) else {
                    return;
                };
                if !self.outcome(n, step, &call, &[cite::QUERY_STATE_RETURNS]) || !call.ok() {
                    return;
                }
                if let Some(status) = &step.status {
                    self.judge_state(&call.stdout, &step.id, status);
                }
            }
            Op::Kill => {
                let signal = step.signal.clone().unwrap_or_else(|| "KILL".into());
                if let Some(call) = self.call(&with_id(&["kill"], &id, &[&signal])) {
                    self.outcome(n, step, &call, &[cite::KILL_SENDS]);
                }
            }
            Op::Delete => {
                let flags: &[&str] = if step.force {
                    &["delete", "--force"]
                } else {
                    &["delete"]
                };
                let args = with_id(flags, &id, &[]);
                if let Some(call) = self.call(&args) {
                    let passed = self.outcome(n, step, &call, &[cite::DELETE_RESOURCES]);
                    if passed && call.ok() && matches!(step.id, Target::Case | Target::Second) {
                        self.container(&step.id).deleted = true;
                    }
                }
            }
            Op::Wait => self.wait(n, step),
            Op::Observe => self.observe(n, &step.id),
            Op::Edit => self.edit_config(n, &step.id),
            Op::File => {
                let rel = step.path.clone().unwrap_or_default();
                let seen = std::fs::read_to_string(self.dir.join(&rel)).unwrap_or_default();
                let ids = if step.requirements.is_empty() {
                    self.case.file.requirements.clone()
                } else {
                    step.requirements.clone()
                };
                self.checks.push(Check::compare(
                    format!("step {n}: file {rel}"),
                    ids,
                    step.content.clone().unwrap_or_default(),
                    seen,
                ));
            }
        }
    }

    /// Rewrites config.json after create: another program, another environment.
    fn edit_config(&mut self, n: usize, target: &Target) {
        let c = self.container(target);
        let mut edited = c.config.clone();
        edited["process"]["args"] = serde_json::json!([bundle::PROBE_PATH, "exit:42"]);
        edited["process"]["env"] = serde_json::json!(["OCIKIT_EDITED=1"]);
        let path = c.bundle.join("config.json");
        if let Err(e) = std::fs::write(&path, edited.to_string()) {
            self.checks.push(Check::with(
                format!("step {n}: edit config.json"),
                Status::Error,
                vec![],
                "",
                e.to_string(),
            ));
        }
    }

    fn create(&mut self, n: usize, step: &Step, id: &str) {
        let target = step.id.clone();
        let second = target == Target::Second;
        let already = self.container(&target).created;
        let config = self.config_of(second);
        let c = self.container(&target);
        let bundle = c.bundle.clone();
        if bundle.as_os_str().is_empty() {
            self.checks.push(Check::with(
                format!("step {n}: create"),
                Status::Error,
                vec![],
                "a [second] table in the case for id = \"second\"",
                "none",
            ));
            return;
        }
        c.config = config.clone();
        let config_path = bundle.join("config.json");
        if let Err(e) = std::fs::write(&config_path, config.to_string()) {
            self.checks.push(Check::with(
                "write config.json",
                Status::Error,
                vec![],
                "",
                e.to_string(),
            ));
            return;
        }
        let pid_file = self
            .dir
            .join(format!("{}.pid", if id.is_empty() { "noid" } else { id }));
        self.calls += 1;
        let stem = format!("{}-create", if second { "bundle2" } else { "bundle" });
        let bundle_s = bundle.display().to_string();
        let pid_s = pid_file.display().to_string();
        let call = match self.ctx.target.runtime.call(
            Some(&self.root),
            &with_id(
                &["create", "--bundle", &bundle_s, "--pid-file", &pid_s],
                id,
                &[],
            ),
            &self.dir,
            &stem,
        ) {
            Ok(c) => c,
            Err(e) => {
                self.checks.push(Check::with(
                    "run create",
                    Status::Error,
                    vec![],
                    "",
                    e.to_string(),
                ));
                return;
            }
        };
        self.outcome(n, step, &call, &[cite::CREATE_NEW]);
        if call.ok() && !already {
            let pid = std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|s| s.trim().parse::<i32>().ok());
            let c = self.container(&target);
            c.created = true;
            c.pid = pid;
            let stdout = c.stdout.clone();
            // The user program must not have run yet (runtime.md "Lifecycle" step 2, "Create").
            let printed = std::fs::read_to_string(&stdout).unwrap_or_default();
            self.checks.push(Check::with(
                "after create, the user program has not run",
                if printed.trim().is_empty() {
                    Status::Pass
                } else {
                    Status::Fail
                },
                self.ctx
                    .refs
                    .all(&[cite::LIFECYCLE_NOT_RUN, cite::ARGS_NOT_BEFORE_START]),
                "no output from the probe",
                printed.chars().take(120).collect::<String>(),
            ));
        }
        if !call.ok() && !already && matches!(target, Target::Case | Target::Second) {
            // A failed create leaves no container behind (runtime.md "Create", "Errors").
            if let Some(state) = self.call(&["state", id]) {
                self.checks.push(Check::with(
                    "after a failed create, state knows no such container",
                    if state.ok() {
                        Status::Fail
                    } else {
                        Status::Pass
                    },
                    self.ctx
                        .refs
                        .all(&[cite::CREATE_CANNOT_APPLY, cite::ERRORS_NO_TRACE]),
                    "an error",
                    state.summary(),
                ));
            }
        }
    }

    /// Checks a `state` output; at `running`, the pid is the user program (runtime.md "State").
    fn judge_state(&mut self, stdout: &str, target: &Target, status: &str) {
        let bundle = self.container(target).bundle.display().to_string();
        let id = self.id_of(target);
        let annotations = self.container(target).config.get("annotations").cloned();
        let want = state::Expected {
            id: &id,
            status,
            bundle: &bundle,
            annotations: annotations.as_ref(),
        };
        let (checks, pid) = state::check(stdout, &want, self.ctx.refs);
        self.checks.extend(checks);
        let c = self.container(target);
        let live = matches!(status, "created" | "running");
        if let (Some(pid), Some(known), true) = (pid, c.pid, live) {
            let same = pid == known;
            self.checks.push(Check::with(
                "state.pid is the pid written to --pid-file",
                if same { Status::Pass } else { Status::Fail },
                self.ctx.refs.ids(cite::STATE_PID),
                known.to_string(),
                pid.to_string(),
            ));
        }
    }

    fn wait(&mut self, n: usize, step: &Step) {
        let timeout = self.ctx.opts.timeout;
        let c = self.container(&step.id);
        let Some(pid) = c.pid else {
            self.checks.push(Check::with(
                format!("step {n}: wait"),
                Status::Error,
                vec![],
                "a container pid (from --pid-file)",
                "none",
            ));
            return;
        };
        let exit = observe::wait_exit(pid, timeout);
        c.exited = !matches!(exit, Exit::TimedOut);
        let mut ids = step.requirements.clone();
        if ids.is_empty() {
            ids = self.ctx.refs.all(&[cite::KILL_SENDS, cite::PROCESS_RUN]);
        }
        match (exit, step.exit_code) {
            (Exit::TimedOut, _) => self.checks.push(Check::with(
                format!("step {n}: the container process exits"),
                Status::Fail,
                ids,
                format!("an exit within {}s", timeout.as_secs()),
                "still running",
            )),
            (Exit::Gone, Some(_)) => self.checks.push(Check::with(
                format!("step {n}: exit status"),
                Status::Error,
                ids,
                "the container process reparented to the runner (subreaper)",
                "it exited elsewhere: status unknown",
            )),
            (Exit::Status(code), Some(want)) => self.checks.push(Check::compare(
                format!("step {n}: exit status"),
                ids,
                want,
                code,
            )),
            _ => {}
        }
    }

    /// Waits for the probe's report, reads `/proc/<pid>` from outside, runs the generic checks.
    fn observe(&mut self, n: usize, target: &Target) {
        let timeout = self.ctx.opts.timeout;
        let stdout = self.container(target).stdout.clone();
        let started = Instant::now();
        let report = loop {
            let text = std::fs::read_to_string(&stdout).unwrap_or_default();
            if let Some(line) = text.lines().find(|l| l.contains("\"version\"")) {
                match serde_json::from_str::<Report>(line) {
                    Ok(r) => break Some(r),
                    Err(e) if text.ends_with('\n') => {
                        self.checks.push(Check::with(
                            format!("step {n}: the probe's report parses"),
                            Status::Error,
                            vec![],
                            "a report of this probe version",
                            e.to_string(),
                        ));
                        return;
                    }
                    Err(_) => {}
                }
            }
            if started.elapsed() >= timeout {
                break None;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let Some(report) = report else {
            let err = std::fs::read_to_string(stdout.with_extension("err")).unwrap_or_default();
            self.checks.push(Check::with(
                format!("step {n}: the user program runs and reports"),
                Status::Fail,
                self.ctx.refs.ids(cite::PROCESS_RUN),
                "the probe's report on stdout",
                format!(
                    "nothing within {}s; stderr: {}",
                    timeout.as_secs(),
                    err.trim()
                ),
            ));
            return;
        };
        // The state while running, and the pid it names, read from outside.
        let id = self.id_of(target);
        if let Some(call) = self.call(&["state", &id]) {
            if call.ok() {
                self.judge_state(&call.stdout, target, "running");
            } else {
                self.checks.push(Check::with(
                    "state of a running container",
                    Status::Fail,
                    self.ctx.refs.ids(cite::QUERY_STATE_RETURNS),
                    "success",
                    call.summary(),
                ));
            }
        }
        let all_checks = self.case.file.all_checks;
        let c = self.container(target);
        let pid = c.pid.unwrap_or_default();
        let outside = Outside {
            pid,
            namespaces: if pid > 0 {
                observe::namespaces(&pid.to_string())
            } else {
                Default::default()
            },
            cgroup: if pid > 0 {
                observe::cgroup(pid)
            } else {
                vec![]
            },
        };
        c.report = Some(report.clone());
        let config = c.config.clone();
        let scope = Scope::of_fragment(&c.fragment, all_checks);
        let input = checks::Input {
            scope: &scope,
            config: &config,
            report: &report,
            outside: &outside,
            host: self.ctx.host,
            refs: self.ctx.refs,
        };
        self.checks.extend(checks::run(&input));
    }

    /// The case's `[expect]` table, against the main container's report.
    fn explicit_expectations(&mut self) {
        let e = &self.case.file.expect;
        let nothing = e.writes.is_empty()
            && e.stats.is_empty()
            && e.env.is_empty()
            && e.mounts.is_empty()
            && e.host_namespaces.is_empty();
        if nothing {
            return;
        }
        let ids = self.case.file.requirements.clone();
        let Some(r) = self.main.report.clone() else {
            if !self.checks.iter().any(|c| c.status >= Status::Error) {
                self.checks.push(Check::with(
                    "[expect]",
                    Status::Error,
                    ids,
                    "an observe step before the expectations",
                    "no report",
                ));
            }
            return;
        };
        for (p, want) in &e.writes {
            out_cmp(
                &mut self.checks,
                format!("write {p}"),
                &ids,
                want,
                r.writes.get(p),
            );
        }
        for (p, want) in &e.stats {
            let seen = r.stats.get(p).map(|s| {
                if s.starts_with('E') {
                    "absent".to_string()
                } else {
                    s.split(' ').next().unwrap_or_default().to_string()
                }
            });
            out_cmp(
                &mut self.checks,
                format!("stat {p}"),
                &ids,
                want,
                seen.as_ref(),
            );
        }
        for kv in &e.env {
            let seen = r.env.iter().find(|x| *x == kv);
            out_cmp(&mut self.checks, format!("env has {kv}"), &ids, kv, seen);
        }
        for (point, opts) in &e.mounts {
            let m = r.mounts.iter().rev().find(|m| &m.mount_point == point);
            let ok = m.is_some_and(|m| opts.iter().all(|o| m.mount_options.contains(o)));
            self.checks.push(Check::with(
                format!("mount {point} with {}", opts.join(",")),
                if ok { Status::Pass } else { Status::Fail },
                ids.clone(),
                opts.join(","),
                m.map(|m| m.mount_options.join(","))
                    .unwrap_or_else(|| "no mount".into()),
            ));
        }
        for ns in &e.host_namespaces {
            out_cmp(
                &mut self.checks,
                format!("{ns} namespace is the runtime's"),
                &ids,
                &self
                    .ctx
                    .host
                    .namespaces
                    .get(ns)
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
                r.namespaces.get(ns).map(|v| v.to_string()).as_ref(),
            );
        }
    }

    /// ALWAYS runs: kill and force-delete what the case created, look for leaks (a leak is a
    /// failure of the runtime), then remove whatever is left.
    fn cleanup(&mut self) {
        let live: Vec<(String, Option<i32>, bool)> = [&self.main, &self.second]
            .iter()
            .map(|c| (c.id.clone(), c.pid, c.created && !c.deleted))
            .collect();
        let any_created = self.main.created || self.second.created;
        for (id, _, undeleted) in &live {
            if *undeleted {
                let _ = self.ctx.target.runtime.call(
                    Some(&self.root),
                    &["kill", id, "KILL"],
                    &self.dir,
                    "cleanup-kill",
                );
                let _ = self.ctx.target.runtime.call(
                    Some(&self.root),
                    &["delete", "--force", id],
                    &self.dir,
                    "cleanup-delete",
                );
            }
        }
        for (_, pid, _) in &live {
            if let Some(pid) = *pid {
                // Reap our (reparented) child if it is already gone or a zombie.
                observe::reap(pid);
            }
        }
        let found = leaks::find(&self.marks);
        if !found.is_empty() {
            let cites = if any_created {
                &[cite::DELETE_RESOURCES, cite::LIFECYCLE_DESTROY][..]
            } else {
                &[cite::ERRORS_NO_TRACE][..]
            };
            self.checks.push(Check::with(
                "nothing of the container is left on the host",
                Status::Fail,
                self.ctx.refs.all(cites),
                "no processes, mounts, cgroups or state left",
                found.describe(),
            ));
            leaks::clean(&found);
        }
        for (_, pid, _) in &live {
            if let Some(pid) = *pid {
                if observe::alive(pid) {
                    observe::kill(pid, libc::SIGKILL);
                }
                let _ = observe::wait_exit(pid, Duration::from_millis(200));
            }
        }
        let _ = std::fs::remove_dir_all(&self.root);
        let ids = self.case.file.requirements.clone();
        let ran = !self.checks.iter().any(|c| c.status >= Status::Error);
        for (rel, want) in &self.case.file.expect.files {
            if !ran {
                break; // the steps already failed; the files say nothing more
            }
            let want = self.fill_namespaces(want);
            let seen = std::fs::read_to_string(self.dir.join(rel)).ok();
            self.checks.push(Check::compare(
                format!("file {rel}"),
                ids.clone(),
                Some(want.as_str()),
                seen.as_deref(),
            ));
        }
        for (rel, want) in &self.case.file.expect.owners {
            use std::os::unix::fs::MetadataExt;
            let seen = std::fs::metadata(self.dir.join(rel))
                .map(|m| format!("{}:{}", m.uid(), m.gid()))
                .unwrap_or_else(|e| e.to_string());
            self.checks.push(Check::compare(
                format!("owner of {rel}"),
                ids.clone(),
                want.as_str(),
                seen.as_str(),
            ));
        }
    }

    /// `{host.ns.net}` → the runner's net namespace inode, `{container.ns.net}` → the probe's.
    fn fill_namespaces(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (k, v) in &self.ctx.host.namespaces {
            out = out.replace(&format!("{{host.ns.{k}}}"), &v.to_string());
        }
        if let Some(r) = &self.main.report {
            for (k, v) in &r.namespaces {
                out = out.replace(&format!("{{container.ns.{k}}}"), &v.to_string());
            }
        }
        out
    }
}

/// `ARGS ID EXTRA...`, or `ARGS` alone for a step with no id (`id = "missing"`).
fn with_id<'a>(args: &[&'a str], id: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = args.to_vec();
    if !id.is_empty() {
        v.push(id);
        v.extend_from_slice(extra);
    }
    v
}

fn out_cmp(
    checks: &mut Vec<Check>,
    what: String,
    ids: &[String],
    want: &str,
    seen: Option<&String>,
) {
    checks.push(Check::compare(
        what,
        ids.to_vec(),
        Some(want.to_string()),
        seen.cloned(),
    ));
}

impl Call {
    /// The command without the long paths: `create <id>`.
    pub fn command_short(&self) -> String {
        self.command
            .split(' ')
            .filter(|w| !w.starts_with('/'))
            .filter(|w| *w != "--bundle" && *w != "--pid-file")
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Host facts, read once per run.
pub fn host_facts(wrapped_mountns: bool) -> Host {
    Host {
        namespaces: observe::namespaces("self"),
        oom_score_adj: observe::own_oom_score_adj(),
        bounding: observe::own_bounding_set(),
        wrapped_mountns,
    }
}

/// Runs the embedded probe on the host (`report`) to tell a broken probe from a broken runtime.
pub fn probe_self_test(work_dir: &Path) -> Result<(), String> {
    let path = work_dir.join("probe-self-test");
    std::fs::write(&path, crate::embedded::PROBE).map_err(|e| e.to_string())?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| e.to_string())?;
    let out = std::process::Command::new(&path)
        .arg("report")
        .output()
        .map_err(|e| format!("cannot run the probe: {e}"))?;
    let _ = std::fs::remove_file(&path);
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str::<Report>(text.trim())
        .map(|_| ())
        .map_err(|e| {
            format!(
                "the embedded probe does not report ({e}); stderr: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )
        })
}
