//! config.md "POSIX-platform Hooks" and runtime.md "Lifecycle": every kind runs in order, at
//! its step, with the state on stdin, its args and env; a failing create-time hook fails
//! create and leaves nothing; poststop failures are warnings; timeouts are enforced.
#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use common::{is_root, stderr, unique_id, wait_exit, Ocirun};
use fixtures::{Bundle, Config};
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

/// A temp dir with a host shell script that appends `<name> <status from stdin>` to the
/// dir's `log`: (dir, log, script path).
fn recorder() -> (tempfile::TempDir, PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let path = dir.path().join("hook.sh");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\nstate=$(cat)\nstatus=$(echo \"$state\" | sed -n 's/.*\"status\":\"\\([a-z]*\\)\".*/\\1/p')\necho \"$1 $status $HOOK_ENV\" >> {}\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let script = path.to_string_lossy().into_owned();
    (dir, log, script)
}

fn hook(path: &str, name: &str) -> Value {
    json!({"path": path, "args": ["hook.sh", name], "env": ["HOOK_ENV=e"]})
}

#[test]
fn all_hooks_run_in_lifecycle_order_with_the_state() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let (dir, log, script) = recorder();
    // startContainer resolves in the container: busybox sh inside writes to a host-visible
    // bind mount of `dir`.
    let inside = json!({"path": "/bin/sh", "args": ["sh", "-c",
        "echo \"startContainer $(cat | grep -o created) $HOOK_ENV\" >> /hostdir/log"],
        "env": ["HOOK_ENV=e"]});
    let config = Config::probe(&["pause"])
        .mount("/hostdir", "bind", &dir.path().to_string_lossy(), &["bind"])
        .set(
            "/hooks",
            json!({
                "prestart": [hook(&script, "prestart")],
                "createRuntime": [hook(&script, "createRuntime")],
                "createContainer": [hook(&script, "createContainer")],
                "startContainer": [inside],
                "poststart": [hook(&script, "poststart")],
                "poststop": [hook(&script, "poststop")],
            }),
        );
    let bundle = Bundle::new(&config).unwrap();
    let id = unique_id("hooks");
    let _guard = oci.create(bundle.path(), &id);
    let lines = || std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(
        lines(),
        "prestart creating e\ncreateRuntime creating e\ncreateContainer creating e\n"
    );
    oci.ok(["start", &id]);
    assert!(
        lines().ends_with("startContainer created e\npoststart running e\n"),
        "{}",
        lines()
    );
    let pid = oci.state(&id)["pid"].as_i64().unwrap() as i32;
    oci.ok(["kill", &id, "KILL"]);
    assert!(wait_exit(pid));
    oci.ok(["delete", &id]);
    assert!(lines().ends_with("poststop stopped e\n"), "{}", lines());
}

#[test]
fn a_failing_create_hook_fails_create_and_leaves_nothing() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let (_dir, log, script) = recorder();
    let config = Config::probe(&["pause"]).set(
        "/hooks",
        json!({
            "createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", "echo nope >&2; exit 3"]}],
            "poststop": [hook(&script, "poststop")],
        }),
    );
    let bundle = Bundle::new(&config).unwrap();
    let id = unique_id("hookfail");
    let out = oci.create_out(bundle.path(), &id);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("createRuntime hook /bin/sh: exited with status 3: nope"),
        "{}",
        stderr(&out)
    );
    assert!(!oci.state_dir(&id).exists());
    assert!(!common::cgroup_exists(&id));
    assert!(common::processes_mentioning(&id).is_empty());
    // runtime.md "Lifecycle" step 4 continues at step 12, then 13: poststop runs.
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "poststop stopped e\n"
    );
}

#[test]
fn hook_timeout_is_enforced_and_poststop_failure_is_a_warning() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let config = Config::probe(&["exit:0"]).set(
        "/hooks",
        json!({
            "prestart": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}],
        }),
    );
    let err = oci.create_fails(&config, "hooktime");
    assert!(
        err.contains("prestart hook /bin/sleep: timed out after 1s"),
        "{err}"
    );

    let config = Config::probe(&["exit:0"]).set(
        "/hooks",
        json!({"poststop": [{"path": "/bin/false"}, {"path": "/bin/true"}]}),
    );
    let bundle = Bundle::new(&config).unwrap();
    let id = unique_id("poststop");
    let out = oci.run_out(bundle.path(), &id);
    assert!(
        out.status.success(),
        "poststop failure must not fail: {}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("warning: poststop hook /bin/false: exited with status 1"));
    assert!(!oci.state_dir(&id).exists());
}
