//! Attacks from a hostile container or bundle, each of a class from runc's and crun's
//! advisories, run for real against ocirun: each must fail, and each test leaves the host as
//! it found it (it checks so where the attack would have written).
//!
//! Classes tested elsewhere: symlinked mount and /proc destinations and the fake-/proc writes
//! in tests/rootfs.rs, seccomp through the i386 ABI in tests/seccomp.rs, leaked fds in
//! tests/close_range.rs.
#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use common::{is_root, Ocirun};
use fixtures::Config;
use serde_json::json;

fn read_sysctl(path: &str) -> String {
    std::fs::read_to_string(path).unwrap().trim().to_string()
}

/// Puts a host sysctl back as it was when dropped, so a runtime that falls for the attack
/// still leaves the host as the test found it.
struct RestoreSysctl {
    path: &'static str,
    value: String,
}

impl RestoreSysctl {
    fn new(path: &'static str) -> Self {
        RestoreSysctl {
            path,
            value: read_sysctl(path),
        }
    }
}

impl Drop for RestoreSysctl {
    fn drop(&mut self) {
        if read_sysctl(self.path) != self.value {
            let _ = std::fs::write(self.path, &self.value);
        }
    }
}

/// Issue: `linux.sysctl` `{"kernel.panic": "7"}` changed the host's kernel.panic. A key no
/// namespace of the container isolates is refused before anything exists, naming the key.
#[test]
fn host_wide_sysctls_are_refused() {
    let oci = Ocirun::new();
    let restore = RestoreSysctl::new("/proc/sys/kernel/panic");
    let before = restore.value.clone();
    let other = if before == "7" { "8" } else { "7" };
    for (sysctl, expect) in [
        (
            json!({"kernel.panic": other}),
            "linux.sysctl.kernel.panic: not isolated by a namespace of the container",
        ),
        (
            json!({"net.ipv4/../../kernel/panic": other}),
            "linux.sysctl.net.ipv4/../../kernel/panic: not a sysctl name",
        ),
        (
            json!({"kernel.shmmax": "4096"}),
            "linux.sysctl.kernel.shmmax: needs a ipc namespace",
        ),
    ] {
        // The default config has every namespace but ipc is removed for the third case.
        let config = Config::new().set("/linux/sysctl", sysctl.clone()).set(
            "/linux/namespaces",
            json!([{"type": "pid"}, {"type": "mount"}, {"type": "network"}, {"type": "uts"}]),
        );
        let err = oci.create_fails(&config, "sysctl-host");
        assert!(err.contains(expect), "{sysctl}: {err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
    }
    // Joining the runtime's own network namespace by path makes net.* host-wide too.
    let config = Config::new()
        .set("/linux/sysctl", json!({"net.ipv4.ip_forward": "1"}))
        .set(
            "/linux/namespaces",
            json!([{"type": "pid"}, {"type": "mount"}, {"type": "uts"},
                   {"type": "network", "path": "/proc/self/ns/net"}]),
        );
    let err = oci.create_fails(&config, "sysctl-hostnet");
    assert!(err.contains("is the host's"), "{err}");
    assert_eq!(read_sysctl("/proc/sys/kernel/panic"), before);
}

/// The namespaced keys are applied in the container's namespaces, never the host's.
#[test]
fn namespaced_sysctls_stay_in_the_container() {
    if !is_root() {
        return;
    }
    let host_forward = read_sysctl("/proc/sys/net/ipv4/ip_forward");
    let host_shmmni = read_sysctl("/proc/sys/kernel/shmmni");
    let forward = if host_forward == "1" { "0" } else { "1" };
    let shmmni = if host_shmmni == "1000" {
        "1001"
    } else {
        "1000"
    };
    let oci = Ocirun::new();
    let config = Config::probe(&[
        "sysctl:net.ipv4.ip_forward",
        "sysctl:kernel.shmmni",
        "report",
    ])
    .set(
        "/linux/sysctl",
        json!({"net.ipv4.ip_forward": forward, "kernel.shmmni": shmmni}),
    );
    let report = oci.run_report(&config, "sysctl-ns");
    assert_eq!(report.sysctls["net.ipv4.ip_forward"], forward);
    assert_eq!(report.sysctls["kernel.shmmni"], shmmni);
    assert_eq!(read_sysctl("/proc/sys/net/ipv4/ip_forward"), host_forward);
    assert_eq!(read_sysctl("/proc/sys/kernel/shmmni"), host_shmmni);
}

/// Issue (the class of CVE-2025-52565): with a rootfs whose /dev/console is a symlink to
/// /proc/sys/kernel/hostname (and no tmpfs on /dev to hide it), the pty was bound onto the
/// symlink's target. ocirun replaces the symlink with a file of its own and binds there.
#[test]
fn console_is_never_bound_through_a_symlink() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let target = "/proc/sys/kernel/hostname";
    let config = Config::probe(&[
        &format!("stat:{target}"),
        "stat:/dev/console",
        "report",
        "pause",
    ])
    .terminal(true)
    // The image's own /dev, so its symlink is what the runtime meets.
    .remove("/mounts/1");
    let bundle = fixtures::Bundle::new(&config).unwrap();
    let dev = bundle.rootfs_path().join("dev");
    std::fs::create_dir_all(&dev).unwrap();
    std::os::unix::fs::symlink(target, dev.join("console")).unwrap();
    let id = common::unique_id("console-symlink");
    let _guard = oci.guard(&id);
    let sock = oci.root().join("console.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let out = oci.out([
        "create".as_ref(),
        "--console-socket".as_ref(),
        sock.as_os_str(),
        "-b".as_ref(),
        bundle.path().as_os_str(),
        id.as_ref(),
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let master = common::accept_console(&listener);
    oci.ok(["start", &id]);
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(&master), &mut line).unwrap();
    let report = fixtures::parse_report(&line).unwrap();
    assert!(
        report.stats[target].starts_with("f "),
        "{target} is still procfs's file, not the pty: {}",
        report.stats[target]
    );
    assert!(
        report.stats["/dev/console"].starts_with("c "),
        "/dev/console is the pty: {}",
        report.stats["/dev/console"]
    );
    assert!(
        !report.mounts.iter().any(|m| m.mount_point == target),
        "nothing is mounted on {target}"
    );
}

/// Issue (the class of CVE-2019-5736): during `ocirun exec`, a process in the container
/// reached the host's ocirun binary through `/proc/PID/exe` of the runtime's process and
/// could reopen it for writing once it was free; `exec ID /evil`, where evil is a
/// `#!/proc/self/exe` script, hands the container a process running the runtime every time.
/// The probe plays the attacker (it never writes); no file it reaches may be the binary.
#[test]
fn the_runtime_binary_is_never_reachable_from_inside() {
    if !is_root() {
        return;
    }
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let oci = Ocirun::new();
    let config = Config::probe(&["watch-exe:3", "report"]);
    let bundle = fixtures::Bundle::new(&config).unwrap();
    // A rootfs where the runtime can run, as it can in most images (glibc's loader and the
    // libraries ocirun links).
    fixtures::add_shared_libraries(&bundle.rootfs_path(), env!("CARGO_BIN_EXE_ocirun").as_ref())
        .unwrap();
    let evil = bundle.rootfs_path().join("evil");
    std::fs::write(&evil, "#!/proc/self/exe\n").unwrap();
    std::fs::set_permissions(&evil, std::fs::Permissions::from_mode(0o755)).unwrap();
    let id = common::unique_id("exe-attack");
    let _guard = oci.guard(&id);
    let created = common::finish(common::spawn_to_files(
        &mut oci.create_cmd(bundle.path(), &id),
    ));
    assert!(created.status.success(), "{}", common::stderr(&created));
    let pid = oci.state(&id)["pid"].as_i64().unwrap() as i32;
    // The init keeps create's stdout: its report goes to this file.
    let out = std::fs::File::open(format!("/proc/{pid}/fd/1")).unwrap();
    oci.ok(["start", &id]);
    let mut execs = 0;
    for _ in 0..30 {
        // Each runs the runtime (or its copy) as the script's interpreter, which fails.
        let r = oci.out(["exec", &id, "/evil"]);
        execs += usize::from(!r.status.success());
        std::thread::sleep(std::time::Duration::from_millis(40));
    }
    assert_eq!(execs, 30);
    assert!(common::wait_exit(pid));
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::BufReader::new(out), &mut text).unwrap();
    let report = fixtures::parse_report(&text).unwrap();
    let host = std::fs::metadata(env!("CARGO_BIN_EXE_ocirun")).unwrap();
    assert!(
        !report.exes.is_empty(),
        "the attacker got hold of the interpreter processes (else the test proves nothing)"
    );
    for seen in &report.exes {
        assert!(
            (seen.dev, seen.ino) != (host.dev(), host.ino()),
            "the container reached the runtime binary: {seen:?}"
        );
        assert_ne!(seen.reopened_for_write, "ok", "{seen:?}");
    }
}
