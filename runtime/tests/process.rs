//! config.md "Process", "User", "Hostname", "Domainname", "Linux Process": what the container
//! process sees, from the probe's report.
#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use common::{is_root, stderr, unique_id, Ocirun};
use fixtures::{parse_report, Bundle, Config, TEST_GID, TEST_SUPPLEMENTARY_GIDS, TEST_UID};
use serde_json::json;

#[test]
fn user_groups_umask_env_cwd() {
    if !is_root() {
        return;
    }
    let config = Config::probe(&["report"])
        .user(TEST_UID, TEST_GID)
        .additional_gids(&TEST_SUPPLEMENTARY_GIDS)
        .umask(0o027)
        .env(["A=1", "B=two words", "PATH=/bin"])
        .cwd("/tmp")
        .mount("/tmp", "tmpfs", "tmpfs", &["mode=1777"]);
    let r = Ocirun::new().run_report(&config, "proc");
    assert_eq!((r.uid, r.euid, r.suid), (TEST_UID, TEST_UID, TEST_UID));
    assert_eq!((r.gid, r.egid, r.sgid), (TEST_GID, TEST_GID, TEST_GID));
    let mut groups = r.groups.clone();
    groups.sort_unstable();
    assert_eq!(groups, TEST_SUPPLEMENTARY_GIDS.to_vec());
    assert_eq!(r.umask, 0o027);
    assert_eq!(
        r.env,
        ["A=1", "B=two words", "PATH=/bin"],
        "env exactly as given"
    );
    assert_eq!(r.cwd, "/tmp");
    assert_eq!(r.args, ["/bin/probe", "report"]);
}

#[test]
fn hostname_and_domainname() {
    if !is_root() {
        return;
    }
    let config = Config::probe(&["report"])
        .hostname("box")
        .set("/domainname", json!("example.test"));
    let r = Ocirun::new().run_report(&config, "proc");
    assert_eq!(r.hostname, "box");
    assert_eq!(r.domainname, "example.test");
    assert_eq!(r.pid, 1, "pid 1 of its pid namespace");
}

#[test]
fn capabilities_no_new_privs_rlimits() {
    if !is_root() {
        return;
    }
    let config = Config::probe(&["report"])
        .set(
            "/process/capabilities",
            json!({"bounding": ["CAP_KILL", "CAP_CHOWN"], "effective": ["CAP_KILL"],
                   "permitted": ["CAP_KILL", "CAP_CHOWN"], "inheritable": ["CAP_KILL"],
                   "ambient": ["CAP_KILL"]}),
        )
        .no_new_privileges(true)
        .rlimit("RLIMIT_NOFILE", 512, 1024);
    let r = Ocirun::new().run_report(&config, "proc");
    let kill = 1u64 << 5;
    let chown = 1u64 << 0;
    assert_eq!(r.capabilities.bounding, kill | chown);
    assert_eq!(r.capabilities.permitted, kill | chown);
    assert_eq!(r.capabilities.inheritable, kill);
    assert_eq!(r.capabilities.ambient, kill);
    // As root (uid 0) execve recomputes effective from permitted.
    assert!(r.capabilities.effective & kill != 0);
    assert!(r.no_new_privs);
    let nofile = r.rlimits["RLIMIT_NOFILE"];
    assert_eq!((nofile.soft, nofile.hard), (512, 1024));
}

#[test]
fn only_stdio_and_preserved_fds_stay_open() {
    if !is_root() {
        return;
    }
    use std::os::unix::process::CommandExt;
    let oci = Ocirun::new();
    let bundle = Bundle::new(&Config::probe(&["report"])).unwrap();
    let id = unique_id("fds");
    let _guard = oci.guard(&id);
    let extra = std::fs::File::open("/dev/null").unwrap();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&extra);
    let mut cmd = oci.cmd([
        "run".as_ref(),
        "--preserve-fds".as_ref(),
        "1".as_ref(),
        "-b".as_ref(),
        bundle.path().as_os_str(),
        id.as_ref(),
    ]);
    // SAFETY: dup2 between fds of the child before exec; async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            // dup2 onto itself keeps close-on-exec: clear it explicitly.
            if libc::dup2(fd, 3) < 0 || libc::fcntl(3, libc::F_SETFD, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let r = parse_report(&String::from_utf8_lossy(&out.stdout)).unwrap();
    assert_eq!(r.extra_fds, [3], "fd 3 preserved, nothing else leaked");
    let r = Ocirun::new().run_report(&Config::probe(&["report"]), "proc");
    assert!(r.extra_fds.is_empty(), "no fd leaks: {:?}", r.extra_fds);
}

#[test]
fn terminal_goes_over_the_console_socket() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let bundle = Bundle::new(&Config::probe(&["report", "pause"]).terminal(true)).unwrap();
    let id = unique_id("tty");
    let _guard = oci.guard(&id);
    let sock_path = oci.root().join("console.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock_path).unwrap();
    let out = oci.out([
        "create".as_ref(),
        "--console-socket".as_ref(),
        sock_path.as_os_str(),
        "-b".as_ref(),
        bundle.path().as_os_str(),
        id.as_ref(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let master = common::accept_console(&listener);
    oci.ok(["start", &id]);
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(&master), &mut line).unwrap();
    let r = parse_report(&line).unwrap();
    assert_eq!(r.stdio_tty, [true, true, true]);
    assert!(
        r.dev.contains_key("console"),
        "/dev/console bound to the pty"
    );
}

#[test]
fn unknown_and_ungrantable_capabilities_are_warnings() {
    if !is_root() {
        return;
    }
    // config.md "Linux Process": logged as a warning; the runtime SHOULD NOT fail.
    let bounding = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix("CapBnd:")
                .map(|v| u64::from_str_radix(v.trim(), 16).unwrap())
        })
        .unwrap();
    let missing = (0..41).find(|b| bounding & (1u64 << b) == 0);
    let mut caps = vec!["CAP_KILL", "CAP_OCIKIT_NONSENSE"];
    // CAP_SYS_RESOURCE is 24; use whichever capability this host's bounding set lacks.
    let names = ocirun::capabilities::NAMES;
    if let Some(b) = missing {
        caps.push(names[b]);
    } else {
        eprintln!("note: the bounding set is full, the ungrantable half is not exercised");
    }
    let oci = Ocirun::new();
    let config = Config::probe(&["report"]).set(
        "/process/capabilities",
        json!({"bounding": caps, "effective": caps, "permitted": caps}),
    );
    let out = oci.run_bundle(&config, "caps");
    assert!(
        stderr(&out).contains("unknown capability \"CAP_OCIKIT_NONSENSE\", ignored"),
        "{}",
        stderr(&out)
    );
    let r = parse_report(&String::from_utf8_lossy(&out.stdout)).unwrap();
    assert_eq!(r.capabilities.bounding, 1 << 5, "only CAP_KILL");
    if let Some(b) = missing {
        assert!(stderr(&out).contains(names[b]), "{}", stderr(&out));
    }
}

/// Runs busybox `sh -c script` with `config` edits; returns stdout.
fn sh_out(oci: &Ocirun, config: Config, script: &str, name: &str) -> String {
    let out = oci.run_bundle(&config.args(["/bin/sh", "-c", script]), name);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Fields 19 (nice) and 41 (policy) of /proc/self/stat of a `cat` the shell starts.
fn nice_and_policy(stat: &str) -> (i64, u32) {
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3.
    (f[19 - 3].parse().unwrap(), f[41 - 3].parse().unwrap())
}

/// config.md "Scheduler", "IO Priority", config-linux.md "Personality" and "Memory policy":
/// each reaches the process (they were refused before).
#[test]
fn scheduler_io_priority_personality_and_memory_policy_apply() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let batch = sh_out(
        &oci,
        Config::new().set(
            "/process/scheduler",
            json!({"policy": "SCHED_BATCH", "nice": 7}),
        ),
        "cat /proc/self/stat",
        "sched",
    );
    assert_eq!(nice_and_policy(&batch), (7, 3), "SCHED_BATCH is 3: {batch}");
    let reset = sh_out(
        &oci,
        Config::new().set(
            "/process/scheduler",
            json!({"policy": "SCHED_OTHER", "nice": -5, "flags": ["SCHED_FLAG_RESET_ON_FORK"]}),
        ),
        "cat /proc/$$/stat; cat /proc/self/stat; true",
        "sched-reset",
    );
    // The shell has nice -5; with SCHED_FLAG_RESET_ON_FORK (the spec's spelling) what it
    // forks starts again from nice 0 (sched(7)).
    let lines: Vec<&str> = reset.lines().collect();
    assert_eq!(nice_and_policy(lines[0]), (-5, 0), "{reset}");
    assert_eq!(nice_and_policy(lines[1]), (0, 0), "{reset}");

    let r = oci.run_report(
        &Config::probe(&["syscall:ioprio_get:1:0", "report"]).set(
            "/process/ioPriority",
            json!({"class": "IOPRIO_CLASS_IDLE", "priority": 4}),
        ),
        "ioprio",
    );
    assert_eq!(r.syscalls["ioprio_get"], format!("ok:{}", (3 << 13) | 4));

    let machine = sh_out(
        &oci,
        Config::new().set("/linux/personality", json!({"domain": "LINUX32"})),
        "uname -m",
        "personality",
    );
    assert_eq!(machine.trim(), "i686");

    if std::path::Path::new("/sys/devices/system/node/node0").exists() {
        let maps = sh_out(
            &oci,
            Config::new().set(
                "/linux/memoryPolicy",
                json!({"mode": "MPOL_BIND", "nodes": "0"}),
            ),
            "head -1 /proc/self/numa_maps",
            "mempolicy",
        );
        assert!(maps.contains(" bind:0"), "{maps}");
    } else {
        eprintln!("memoryPolicy not checked: this kernel has no NUMA nodes");
    }
}

/// config.md "execCPUAffinity" for `exec`: `final` is the affinity the process runs with in
/// the container's cgroup; the init is not concerned.
#[test]
fn exec_cpu_affinity_final() {
    if !is_root() {
        return;
    }
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        eprintln!("skipped: needs 2 CPUs");
        return;
    }
    let oci = Ocirun::new();
    let bundle = Bundle::new(&Config::new().args(["sleep", "100"])).unwrap();
    let id = unique_id("affinity");
    let _guard = oci.create(bundle.path(), &id);
    oci.ok(["start", &id]);
    let process = bundle.path().join("process.json");
    let mut p = Config::new().value()["process"].clone();
    p["args"] = json!(["/bin/sh", "-c", "grep Cpus_allowed_list /proc/self/status"]);
    p["execCPUAffinity"] = json!({"initial": "0", "final": "1"});
    std::fs::write(&process, p.to_string()).unwrap();
    let out = oci.ok([
        "exec".as_ref(),
        "-p".as_ref(),
        process.as_os_str(),
        id.as_ref(),
    ]);
    assert!(out.contains("Cpus_allowed_list:\t1"), "{out}");
}
