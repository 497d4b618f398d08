//! runtime.md "Create" and "Errors": a config.json the runtime cannot use is refused before
//! anything is created — one line naming the file and the JSON path, a non-zero exit, and no
//! state directory, cgroup, mount or process left behind.
#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use common::{is_root, stderr, unique_id, Ocirun};
use fixtures::{Bundle, Config};
use serde_json::json;

/// Creates with `config` (or raw `text` written over config.json) and checks the refusal.
fn refused(config: &Config, text: Option<&str>, expect: &[&str]) {
    let oci = Ocirun::new();
    let bundle = Bundle::new(config).unwrap();
    if let Some(text) = text {
        std::fs::write(bundle.config_path(), text).unwrap();
    }
    let id = unique_id("bad");
    let out = oci.out([
        "create".as_ref(),
        "-b".as_ref(),
        bundle.path().as_os_str(),
        id.as_ref(),
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains("config.json"), "names the file: {err}");
    for part in expect {
        assert!(err.contains(part), "expected {part:?} in: {err}");
    }
    assert!(!oci.state_dir(&id).exists(), "state dir left behind");
    if is_root() {
        assert!(!common::cgroup_exists(&id), "cgroup left behind");
    }
    let bundle_path = bundle.path().to_string_lossy().into_owned();
    assert!(
        common::processes_mentioning(&id).is_empty(),
        "process left behind for {id}"
    );
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(&bundle_path), "mount left behind");
}

#[test]
fn not_json() {
    refused(
        &Config::new(),
        Some("{\"ociVersion\": "),
        &["EOF while parsing", "line 1"],
    );
}

#[test]
fn not_an_object() {
    refused(&Config::new(), Some("[1, 2]"), &["expected a JSON object"]);
}

#[test]
fn missing_required_fields() {
    refused(
        &Config::new().remove("/ociVersion"),
        None,
        &["ociVersion: missing required field"],
    );
    refused(
        &Config::new().remove("/root/path"),
        None,
        &["root.path: missing required field"],
    );
    refused(
        &Config::new().remove("/process/cwd"),
        None,
        &["process.cwd: missing required field"],
    );
    refused(
        &Config::new().remove("/process/user/uid"),
        None,
        &["process.user.uid: missing required field"],
    );
    refused(
        &Config::new().set("/linux/uidMappings", json!([{"containerID": 0, "size": 1}])),
        None,
        &["linux.uidMappings[0].hostID: missing required field"],
    );
}

/// config.md "Process": `consoleSize` becomes a u16 winsize; a larger value is refused, not
/// cut to another size.
#[test]
fn console_size_too_large() {
    refused(
        &Config::new().set(
            "/process/consoleSize",
            json!({"height": 70000, "width": 80}),
        ),
        None,
        &["process.consoleSize.height: 70000 is larger than 65535"],
    );
}

#[test]
fn wrong_types() {
    refused(
        &Config::new().set("/process/args", json!("sh")),
        None,
        &["process.args: invalid type"],
    );
    refused(
        &Config::new().set("/process/user/uid", json!(-1)),
        None,
        &["process.user.uid: invalid value"],
    );
    refused(
        &Config::new().set("/hostname", json!(7)),
        None,
        &["hostname: invalid type"],
    );
}

#[test]
fn unknown_namespace_type() {
    refused(
        &Config::new().set("/linux/namespaces/2/type", json!("pidd")),
        None,
        &["linux.namespaces[2].type", "unknown variant `pidd`"],
    );
}

/// config.md "Valid values": what the runtime cannot apply is an error naming the field.
#[test]
fn values_that_cannot_be_applied_are_errors_not_ignored() {
    for (pointer, value, expect) in [
        (
            "/process/scheduler",
            json!({"policy": "SCHED_ISO"}),
            "process.scheduler.policy: SCHED_ISO is not implemented by Linux",
        ),
        (
            "/process/scheduler",
            json!({"policy": "SCHED_OTHER", "nice": 20}),
            "process.scheduler.nice: 20 is not -20 to 19",
        ),
        (
            "/process/ioPriority",
            json!({"class": "IOPRIO_CLASS_BE", "priority": 8}),
            "process.ioPriority.priority: 8 is not 0 to 7",
        ),
        (
            "/process/execCPUAffinity",
            json!({"initial": "0-x"}),
            "process.execCPUAffinity",
        ),
        (
            "/linux/personality",
            json!({"domain": "LINUX32", "flags": ["ADDR_NO_RANDOMIZE"]}),
            "linux.personality.flags: no flag is defined",
        ),
        (
            "/linux/memoryPolicy",
            json!({"mode": "MPOL_BIND"}),
            "linux.memoryPolicy.nodes: \"MPOL_BIND\" needs at least one node",
        ),
        (
            "/linux/intelRdt",
            json!({"closID": "x"}),
            "linux.intelRdt: not supported by ocirun",
        ),
    ] {
        refused(&Config::new().set(pointer, value), None, &[expect]);
    }
}

#[test]
fn empty_annotation_key() {
    let config = Config::new().set("/annotations", json!({"": "v"}));
    refused(&config, None, &["annotations: keys must not be empty"]);
}

#[test]
fn duplicate_namespace() {
    let config = Config::new().set(
        "/linux/namespaces",
        json!([{"type": "mount"}, {"type": "pid"}, {"type": "pid"}]),
    );
    refused(
        &config,
        None,
        &["linux.namespaces[2].type: duplicate namespace type"],
    );
}

#[test]
fn namespace_path_of_the_wrong_type() {
    let config = Config::new().add_namespace("network", Some("/proc/self/ns/uts"));
    refused(
        &config,
        None,
        &["linux.namespaces", ".path", "is not a net namespace"],
    );
}

#[test]
fn root_path_outside_the_bundle() {
    let outside = tempfile::tempdir().unwrap();
    let bundle_parent_escape = Config::new().set("/root/path", json!("../"));
    refused(
        &bundle_parent_escape,
        None,
        &["root.path", "outside the bundle"],
    );
    let _ = outside;
    refused(
        &Config::new().set("/root/path", json!("missing")),
        None,
        &["root.path", "no such file"],
    );
}

#[test]
fn relative_paths_where_absolute_is_required() {
    refused(
        &Config::new().cwd("tmp"),
        None,
        &["process.cwd: tmp is not an absolute path"],
    );
    refused(
        &Config::new().set("/hooks", json!({"prestart": [{"path": "bin/true"}]})),
        None,
        &["hooks.prestart[0].path"],
    );
}

#[test]
fn duplicate_rlimit_and_bad_version() {
    let config = Config::new().set(
        "/process/rlimits",
        json!([{"type": "RLIMIT_NOFILE", "soft": 1, "hard": 1},
               {"type": "RLIMIT_NOFILE", "soft": 2, "hard": 2}]),
    );
    refused(
        &config,
        None,
        &["process.rlimits[1].type: duplicate rlimit type"],
    );
    refused(
        &Config::new().oci_version("2.0.0"),
        None,
        &["ociVersion: unsupported version"],
    );
    refused(
        &Config::new().oci_version("one"),
        None,
        &["ociVersion", "not a semver version"],
    );
}

#[test]
fn relative_mount_destination_is_taken_from_root() {
    if !is_root() {
        return;
    }
    // config.md "Mounts": deprecated, but MUST be interpreted as relative to "/".
    let oci = Ocirun::new();
    let config = Config::probe(&["report"]).mount("mnt", "tmpfs", "tmpfs", &[]);
    let out = oci.run_bundle(&config, "reldest");
    assert!(stderr(&out).contains("mounts[7].destination: relative path mnt is deprecated"));
    let r = fixtures::parse_report(&String::from_utf8_lossy(&out.stdout)).unwrap();
    assert!(r
        .mounts
        .iter()
        .any(|m| m.mount_point == "/mnt" && m.fs_type == "tmpfs"));
}

/// Issue: an id of 1024 characters failed with a state-file path; it is refused as too long.
#[test]
fn an_id_too_long_for_a_file_name_is_refused() {
    let oci = Ocirun::new();
    let bundle = Bundle::new(&Config::new()).unwrap();
    let id = "a".repeat(1024);
    let out = oci.out([
        "create".as_ref(),
        "-b".as_ref(),
        bundle.path().as_os_str(),
        id.as_ref(),
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        err.trim(),
        "ocirun: invalid container id: 1024 characters long, at most 255 (it names the state directory)"
    );
    assert_eq!(
        std::fs::read_dir(oci.root()).unwrap().count(),
        0,
        "nothing left in the root"
    );
}

/// Issue: a failed create printed its error on the second line, after the ambient-capabilities
/// warning of every `runc spec`-style config. The error comes first; `ocirun spec`'s own
/// config asks for nothing it cannot get, so it runs without a word.
#[test]
fn the_error_comes_before_warnings_and_the_default_config_is_quiet() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let dir = tempfile::tempdir().unwrap();
    oci.ok(["spec".as_ref(), "-b".as_ref(), dir.path().as_os_str()]);
    let mut spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("config.json")).unwrap()).unwrap();
    spec["process"]["terminal"] = json!(false);
    spec["process"]["args"] = json!(["/bin/true"]);
    let quiet = Bundle::new(&Config::from_value(spec.clone())).unwrap();
    let id = unique_id("quiet");
    let _guard = oci.guard(&id);
    let out = oci.run_out(quiet.path(), &id);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "the default config runs silently");

    // runc 1.1's default: ambient capabilities that are not inheritable.
    spec["process"]["capabilities"]["ambient"] =
        spec["process"]["capabilities"]["bounding"].clone();
    spec["process"]["args"] = json!(["/no/such/program"]);
    let failing = Bundle::new(&Config::from_value(spec)).unwrap();
    let id = unique_id("loud");
    let out = oci.create_out(failing.path(), &id);
    let err = stderr(&out);
    assert!(!out.status.success());
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].contains("/no/such/program"),
        "the error first: {err}"
    );
    assert!(lines[1].contains("warning: ambient capabilities"), "{err}");
}
