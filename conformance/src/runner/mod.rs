//! Runs cases against one runtime: each case in its own bundle, container id and `--root`, in
//! parallel, with a timeout on every runtime call, ALWAYS cleaning up (also after a timeout or
//! a crash of the runtime), and checking after every case that nothing leaked onto the host.
//!
//! This module holds the suite's orchestration (parallel workers, preflight, interrupts) and
//! a case's setup; `case_run` its bundle configs and runtime calls, `steps` the lifecycle
//! steps, `observation` what the probe and `/proc` show, `cleanup` the forced teardown and the
//! leak check.

mod case_run;
mod cleanup;
mod observation;
mod steps;

use crate::bundle;
use crate::case::{parse_version, Case, Op, Outcome, Step, Target};
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

/// How a suite runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Cases in flight at once.
    pub jobs: usize,
    /// For every runtime call, the probe's report and a process exit.
    pub timeout: Duration,
    /// Where each case gets its directory (bundle, `--root`, outputs).
    pub work_dir: PathBuf,
    /// Overrides the ociVersion taken from `features`.
    pub oci_version: Option<String>,
    /// Run runtime calls in a private mount namespace (see `runtime`).
    pub wrap_mountns: bool,
    /// Keep each case's directory.
    pub keep: bool,
    /// Run the base bundle first, and judge nothing else if it fails (off for mutants, which
    /// break the base bundle on purpose).
    pub preflight: bool,
    /// Start no new case once one has failed (the mutants command needs one catch).
    pub stop_at_first_failure: bool,
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
    let path = resolve_runtime(&path).ok_or(Error::NoRuntime(path))?;
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
        path,
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

/// The runtime exactly as named: a bare name is looked up in `PATH`, a relative path is made
/// absolute against the current directory (runtime calls run in the case's directory), and
/// symlinks are never resolved, because a runtime may choose its behaviour by the name it is
/// run as (a multi-call binary, crun installed as `krun`, a wrapper kept as a symlink).
/// `None` when it names no executable file.
pub fn resolve_runtime(given: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if given.components().count() == 1 && !given.as_os_str().as_encoded_bytes().contains(&b'/') {
        let search = std::env::var_os("PATH")?;
        return std::env::split_paths(&search)
            .map(|dir| dir.join(given))
            .find(|p| p.is_absolute() && executable(p));
    }
    let absolute = std::path::absolute(given).ok()?;
    executable(&absolute).then_some(absolute)
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
    let blocked = if opts.preflight {
        preflight(target, catalogue, host, opts)
    } else {
        None
    };
    let stop = std::sync::atomic::AtomicBool::new(false);
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
                if interrupted() || stop.load(Ordering::SeqCst) {
                    let why = if interrupted() {
                        "not run: interrupted"
                    } else {
                        "not run: a case failed already"
                    };
                    let mut r = not_judged(case, why);
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
                if result.status == Status::Fail && opts.stop_at_first_failure {
                    stop.store(true, Ordering::SeqCst);
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
    /// The container process as seen right after create, to wait on and reap it safely.
    process: Option<observe::Proc>,
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
    /// Shared mount points the runner made on the host for the case (`host_shared`),
    /// unmounted before the leak check.
    host_mounts: Vec<PathBuf>,
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
        if let Some(since) = &case.file.since {
            let claimed = &self.target.info.oci_version;
            let older = match (parse_version(claimed), parse_version(since)) {
                (Some(c), Some(s)) => c < s,
                _ => false,
            };
            if older {
                return Some(format!(
                    "{} {claimed}; this case needs spec {since}",
                    crate::verdict::SKIPPED_FOR_VERSION
                ));
            }
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
        // Container ids, and the cgroup paths and leak checks keyed on them, must not repeat
        // within this process even across runs: a test may run two runtimes side by side.
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let tag = match self.serial {
            usize::MAX => format!("ocikit-{}-{n}-preflight", std::process::id()),
            _ => format!("ocikit-{}-{n}", std::process::id()),
        };
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
            host_mounts: vec![],
        })
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no failure mode.
    unsafe { libc::geteuid() == 0 }
}

/// Host facts, read once per run.
pub fn host_facts(wrapped_mountns: bool) -> Host {
    Host {
        namespaces: observe::namespaces("self"),
        oom_score_adj: observe::own_oom_score_adj(),
        bounding: observe::own_bounding_set(),
        no_new_privs: observe::own_no_new_privs(),
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_runtime_is_run_by_the_name_given_symlinks_and_all() {
        let dir = std::env::temp_dir().join(format!("ocikit-resolve-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let real = dir.join("multi-call");
        std::fs::write(&real, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o755)).unwrap();
        let link = dir.join("krun");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert_eq!(resolve_runtime(&link), Some(link.clone()));
        // Relative: made absolute against the current directory, the link still not followed.
        let cwd = std::env::current_dir().unwrap();
        let up = "../".repeat(cwd.components().count() - 1);
        let relative = PathBuf::from(format!(
            "{up}{}",
            link.display().to_string().trim_start_matches('/')
        ));
        let resolved = resolve_runtime(&relative).unwrap();
        assert!(resolved.is_absolute());
        assert_eq!(resolved.file_name(), link.file_name());
        // A bare name is looked up in PATH.
        assert!(resolve_runtime(Path::new("sh")).is_some_and(|p| p.is_absolute()));
        assert_eq!(resolve_runtime(&dir.join("missing")), None);
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(resolve_runtime(&link), None, "not executable");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
