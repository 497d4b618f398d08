//! The suite against real runtimes (runc and crun, Debian's packages): proves the verdicts.
//!
//! Every verdict that differs between runc and crun must be a real difference, named in
//! docs/conformance.md ("Where runc and crun differ"); neither runtime may get an `error`
//! (that would be the environment or a case, not the runtime). A fake runtime that fails
//! everything, and one that hangs, prove that the suite can fail and always cleans up.
//! Skips with a printed reason when not root or a runtime is missing.

#![allow(clippy::unwrap_used)]

use conformance::report;
use conformance::runner::{self, Options};
use conformance::suite;
use conformance::verdict::{RunResult, Status};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

const RUNC: &str = "/usr/sbin/runc";
const CRUN: &str = "/usr/bin/crun";

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn work_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "ocikit-conformance-test-{name}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn opts(name: &str, timeout: u64) -> Options {
    Options {
        jobs: 2,
        timeout: Duration::from_secs(timeout),
        work_dir: work_dir(name),
        oci_version: None,
        // crun 1.8 refuses this hybrid host outside such a namespace: an environment fact,
        // applied to every runtime alike.
        wrap_mountns: true,
        keep: false,
        preflight: true,
        stop_at_first_failure: false,
    }
}

fn run(spec: &str, opts: &Options, filter: &[&str]) -> RunResult {
    conformance::observe::become_subreaper().unwrap();
    let suite = suite::load(None, None).unwrap();
    let cases: Vec<_> = suite
        .cases
        .into_iter()
        .filter(|c| filter.is_empty() || filter.iter().any(|f| c.id.starts_with(f)))
        .collect();
    let subject = runner::prepare(spec, opts).unwrap();
    let host = runner::host_facts(opts.wrap_mountns);
    let result = runner::run_suite(
        &subject,
        &cases,
        &suite.catalogue,
        &host,
        opts,
        &|_, _, _, _| {},
    );
    let _ = std::fs::remove_dir_all(&opts.work_dir);
    result
}

fn skip_unless(runtimes: &[&str]) -> bool {
    if !is_root() {
        eprintln!("skipped: needs root");
        return true;
    }
    for r in runtimes {
        if !Path::new(r).exists() {
            eprintln!("skipped: {r} is not installed");
            return true;
        }
    }
    false
}

/// The "Where runc and crun differ" section of docs/conformance.md.
fn documented_differences() -> String {
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/conformance.md");
    let text = std::fs::read_to_string(&doc).unwrap();
    let start = text
        .find("## Where runc and crun differ")
        .expect("the section exists");
    let rest = &text[start + 3..];
    let end = rest.find("\n## ").unwrap_or(rest.len());
    rest[..end].to_string()
}

#[test]
fn runc_and_crun_differ_only_where_the_docs_say_why() {
    if skip_unless(&[RUNC, CRUN]) {
        return;
    }
    let runc = run(RUNC, &opts("runc", 10), &[]);
    let crun = run(CRUN, &opts("crun", 10), &[]);
    for r in [&runc, &crun] {
        let errors: Vec<_> = r
            .cases
            .iter()
            .filter(|c| c.status == Status::Error)
            .map(|c| format!("{}: {}", c.case, c.reason))
            .collect();
        assert!(
            errors.is_empty(),
            "{}: errors (environment or case broken): {errors:#?}",
            r.runtime.name
        );
        let base = r.cases.iter().find(|c| c.case == "lifecycle/base").unwrap();
        assert_eq!(
            base.status,
            Status::Pass,
            "{}: {}",
            r.runtime.name,
            base.reason
        );
    }
    let by_case: BTreeMap<&str, (Status, &str)> = crun
        .cases
        .iter()
        .map(|c| (c.case.as_str(), (c.status, c.reason.as_str())))
        .collect();
    let doc = documented_differences();
    let mut undocumented = Vec::new();
    for c in &runc.cases {
        let (other, why) = by_case[c.case.as_str()];
        if other != c.status && !doc.contains(&format!("`{}`", c.case)) {
            undocumented.push(format!(
                "{}: runc {} ({}), crun {other} ({why})",
                c.case, c.status, c.reason
            ));
        }
    }
    assert!(
        undocumented.is_empty(),
        "differences not explained in docs/conformance.md: {undocumented:#?}"
    );
    // The reports render for both, and the matrix lists the differing requirements.
    let suite = suite::load(None, None).unwrap();
    let md = report::markdown::render(&[runc.clone(), crun.clone()], &suite.catalogue, "-");
    assert!(md.contains("| requirement | level | summary | runc | crun |"));
    let junit = report::junit::render(&[runc, crun]);
    assert_eq!(junit.matches("<testsuite ").count(), 2);
}

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

#[test]
fn a_runtime_that_fails_everything_fails_the_base_and_blocks_the_rest() {
    if skip_unless(&[]) {
        return;
    }
    let dir = work_dir("fake-scripts");
    let fake = script(&dir, "broken-runtime", "echo nope >&2; exit 1");
    let r = run(
        &fake.display().to_string(),
        &opts("broken", 5),
        &[
            "lifecycle/base",
            "lifecycle/statuses",
            "errors/ns-duplicate",
        ],
    );
    let by: BTreeMap<&str, Status> = r
        .cases
        .iter()
        .map(|c| (c.case.as_str(), c.status))
        .collect();
    assert_eq!(by["lifecycle/base"], Status::Fail);
    assert_eq!(
        by["lifecycle/statuses"],
        Status::Error,
        "not judged when the base fails"
    );
    assert_eq!(by["errors/ns-duplicate"], Status::Error);
    let statuses = r
        .cases
        .iter()
        .find(|c| c.case == "lifecycle/statuses")
        .unwrap();
    assert!(
        statuses.reason.contains("not judged"),
        "{}",
        statuses.reason
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_runtime_that_hangs_times_out_and_leaves_nothing() {
    if skip_unless(&[]) {
        return;
    }
    let dir = work_dir("hang-scripts");
    let marker = format!("ocikit-hang-{}", std::process::id());
    let hang = script(
        &dir,
        "hanging-runtime",
        &format!("exec sleep 300 # {marker}"),
    );
    let r = run(
        &hang.display().to_string(),
        &opts("hang", 1),
        &["lifecycle/base"],
    );
    assert_eq!(r.cases[0].status, Status::Fail);
    assert!(
        r.cases[0].reason.contains("timed out"),
        "{}",
        r.cases[0].reason
    );
    // The runner killed the hung runtime's whole process group.
    std::thread::sleep(Duration::from_millis(100));
    let left = conformance::observe::pids().into_iter().any(|p| {
        conformance::observe::alive(p)
            && conformance::observe::cmdline(p)
                .is_some_and(|a| a.iter().any(|x| x.contains("hanging-runtime")))
    });
    assert!(!left, "a hung runtime process survived");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn runc_leaves_nothing_on_the_host() {
    if skip_unless(&[RUNC]) {
        return;
    }
    let o = opts("runc-leaks", 10);
    let dir = o.work_dir.display().to_string();
    let r = run(RUNC, &o, &["lifecycle/", "mounts/bind-ro"]);
    assert!(
        r.cases
            .iter()
            .all(|c| !c.reason.contains("left on the host")),
        "{:#?}",
        r.cases
    );
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(&dir), "a mount under {dir} is left");
    let left = conformance::observe::pids().into_iter().any(|p| {
        conformance::observe::alive(p)
            && conformance::observe::cmdline(p).is_some_and(|a| a.iter().any(|x| x.contains(&dir)))
    });
    assert!(!left, "a process of the run is left");
    assert!(!std::path::Path::new(&dir).exists(), "the work dir is left");
}
