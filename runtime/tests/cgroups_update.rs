//! `linux.resources` through the ocirun binary: written at `create` (config-linux.md "Control
//! groups"), changed by runc's `update` (flags and `--resources -`), refused values name the
//! file and leave nothing behind. Root only: real containers, read back from the host's
//! cgroupfs.

#![allow(clippy::unwrap_used)] // tests may unwrap

mod cgroups_support;
mod common;

use std::path::PathBuf;

use cgroups_support::output_with_stdin;
use common::{is_root, stderr, unique_id, Ocirun};
use fixtures::{Bundle, Config};
use ocirun::cgroups::detect::{Hierarchies, Version};
use serde_json::json;

/// The container's cgroup file `file` of `controller` (v1 hierarchy, else the unified one).
fn cgroup_file(cgroups_path: &str, controller: &str, file: &str) -> PathBuf {
    let h = Hierarchies::detect().unwrap();
    let mount = h
        .v1
        .iter()
        .find(|x| matches!(&x.version, Version::V1 { controllers } if controllers.iter().any(|c| c == controller)))
        .or(h.unified.as_ref())
        .unwrap()
        .mount_point
        .clone();
    mount.join(cgroups_path.trim_start_matches('/')).join(file)
}

fn read(path: &PathBuf) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .to_owned()
}

fn v1_memory() -> bool {
    Hierarchies::detect()
        .unwrap()
        .v1
        .iter()
        .any(|x| x.name().split(',').any(|c| c == "memory"))
}

fn memory_limit(cg: &str) -> String {
    if v1_memory() {
        read(&cgroup_file(cg, "memory", "memory.limit_in_bytes"))
    } else {
        read(&cgroup_file(cg, "memory", "memory.max"))
    }
}

#[test]
fn create_applies_and_update_changes_resources() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let id = unique_id("upd");
    let cg = format!("/ocirun-upd-{id}");
    let config = Config::probe(&["pause"])
        .set("/linux/cgroupsPath", json!(cg))
        .set(
            "/linux/resources",
            json!({
                "devices": [{"allow": false, "access": "rwm"}],
                "memory": {"limit": 67108864, "swap": 134217728},
                "pids": {"limit": 50}
            }),
        );
    let bundle = Bundle::new(&config).unwrap();
    let _guard = oci.create(bundle.path(), &id);
    assert_eq!(memory_limit(&cg), "67108864");
    assert_eq!(read(&cgroup_file(&cg, "pids", "pids.max")), "50");
    oci.ok(["start", &id]);

    // runc's flags.
    oci.ok([
        "update",
        "--memory",
        "128m",
        "--memory-swap",
        "256m",
        "--pids-limit",
        "20",
        &id,
    ]);
    assert_eq!(memory_limit(&cg), "134217728");
    assert_eq!(read(&cgroup_file(&cg, "pids", "pids.max")), "20");

    // containerd's shim: a LinuxResources object on stdin.
    let out = output_with_stdin(
        &mut oci.cmd(["update", "--resources", "-", &id]),
        br#"{"memory": {"limit": 33554432, "swap": 67108864}, "pids": {"limit": -1}}"#,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(memory_limit(&cg), "33554432");
    assert_eq!(read(&cgroup_file(&cg, "pids", "pids.max")), "max");

    // A value the kernel refuses: the file and the value, non-zero exit.
    let out = oci.out(["update", "--cpuset-cpus", "4096", &id]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cpuset.cpus: write \"4096\": "),
        "{}",
        stderr(&out)
    );
    let out = oci.out(["update", "--memory", "12q", &id]);
    assert!(
        stderr(&out).contains("invalid size \"12q\""),
        "{}",
        stderr(&out)
    );

    oci.ok(["kill", &id, "KILL"]);
    for _ in 0..200 {
        if oci.status(&id) == "stopped" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let out = oci.out(["update", "--pids-limit", "5", &id]);
    assert!(
        stderr(&out).contains(&format!(
            "cannot update container {id}: container is stopped"
        )),
        "{}",
        stderr(&out)
    );
    let out = oci.out(["update", "--pids-limit", "5", "ghost-upd"]);
    assert!(!out.status.success());
}

/// As runc keeps them in its state, the container's resources are saved at create and each
/// `update` is laid over them (only the fields it sets change; device rules stay), so later
/// commands and tools reading the state see what the cgroup holds. A refused update is not
/// saved.
#[test]
fn update_keeps_the_resources_in_the_state() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let id = unique_id("updstate");
    let config = Config::probe(&["pause"]).set(
        "/linux/resources",
        json!({
            "devices": [{"allow": false, "access": "rwm"}],
            "memory": {"limit": 67108864},
            "pids": {"limit": 50}
        }),
    );
    let bundle = Bundle::new(&config).unwrap();
    let _guard = oci.create(bundle.path(), &id);
    let saved = || -> serde_json::Value {
        let path = oci.state_dir(&id).join("state.json");
        serde_json::from_slice::<serde_json::Value>(&std::fs::read(path).unwrap()).unwrap()
            ["resources"]
            .clone()
    };
    assert_eq!(saved()["memory"], json!({"limit": 67108864}));
    assert_eq!(saved()["pids"], json!({"limit": 50}));

    oci.ok(["update", "--pids-limit", "20", &id]);
    let r = saved();
    assert_eq!(r["pids"], json!({"limit": 20}));
    assert_eq!(
        r["memory"],
        json!({"limit": 67108864}),
        "untouched by the update"
    );
    assert_eq!(r["devices"][0]["access"], "rwm", "device rules stay");

    oci.ok(["update", "--memory", "128m", "--memory-swap", "256m", &id]);
    let r = saved();
    assert_eq!(r["memory"], json!({"limit": 134217728, "swap": 268435456}));
    assert_eq!(r["pids"], json!({"limit": 20}));

    let out = oci.out(["update", "--cpuset-cpus", "4096", &id]);
    assert!(!out.status.success());
    assert_eq!(saved(), r, "a refused update is not saved");
}

#[test]
fn refused_resources_fail_create_and_leave_nothing() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let id = unique_id("upd-bad");
    let cg = format!("/ocirun-upd-{id}");
    let config = Config::probe(&["pause"])
        .set("/linux/cgroupsPath", json!(cg))
        .set("/linux/resources", json!({"cpu": {"cpus": "4096"}}));
    let bundle = Bundle::new(&config).unwrap();
    let out = oci.create_out(bundle.path(), &id);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cpuset.cpus: write \"4096\": "),
        "{}",
        stderr(&out)
    );
    assert!(!cgroup_file(&cg, "cpuset", "").exists());
    assert!(!cgroup_file(&cg, "memory", "").exists());
    assert!(!oci.state_dir(&id).exists());
}
