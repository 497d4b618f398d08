//! config-linux.md "Seccomp": the profile is enforced on the container process (actions,
//! errno, argument comparisons), with and without no_new_privs; unsupported parts are refused.
#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use common::{is_root, Ocirun};
use fixtures::Config;
use serde_json::{json, Value};

/// Runs busybox `sh -c script` under `profile`; returns stdout.
fn run_sh(profile: Value, nnp: bool, script: &str) -> String {
    let oci = Ocirun::new();
    let config = Config::new()
        .args(["/bin/sh", "-c", script])
        .mount("/tmp", "tmpfs", "tmpfs", &[])
        .no_new_privileges(nnp)
        .set("/linux/seccomp", profile);
    let out = oci.run_bundle(&config, "seccomp");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn errno_rules_block_calls_with_and_without_no_new_privs() {
    if !is_root() {
        return;
    }
    let profile = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28}
    ]});
    for nnp in [true, false] {
        let out = run_sh(
            profile.clone(),
            nnp,
            "mkdir /tmp/a 2>&1; echo rc=$?; cat /proc/self/status | grep Seccomp:",
        );
        assert!(
            out.contains("No space left on device"),
            "errnoRet 28 is ENOSPC: {out}"
        );
        assert!(out.contains("rc=1"), "{out}");
        assert!(out.contains("Seccomp:\t2"), "{out}");
    }
}

#[test]
fn argument_comparisons() {
    if !is_root() {
        return;
    }
    // busybox `kill -N PID` calls kill(PID, N): arg 1 is the signal (0: a check, 18: SIGCONT,
    // harmless to the shell itself).
    let rule = |op: &str, value: u64, two: Option<u64>| {
        let mut arg = json!({"index": 1, "value": value, "op": op});
        if let Some(t) = two {
            arg["valueTwo"] = json!(t);
        }
        json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "args": [arg]}
        ]})
    };
    let script = "kill -0 $$ && echo sent0; kill -18 $$ && echo sent18; true";
    // (profile, signal 0 allowed, signal 18 allowed)
    let cases = [
        (rule("SCMP_CMP_EQ", 0, None), false, true),
        (rule("SCMP_CMP_NE", 0, None), true, false),
        (rule("SCMP_CMP_MASKED_EQ", 0x10, Some(0x10)), true, false),
        (rule("SCMP_CMP_GT", 10, None), true, false),
        (rule("SCMP_CMP_GE", 18, None), true, false),
        (rule("SCMP_CMP_LT", 10, None), false, true),
        (rule("SCMP_CMP_LE", 0, None), false, true),
        (rule("SCMP_CMP_GT", 1 << 32, None), true, true),
    ];
    for (profile, zero, cont) in cases {
        let out = run_sh(profile.clone(), true, script);
        assert_eq!(out.contains("sent0"), zero, "{profile}: {out}");
        assert_eq!(out.contains("sent18"), cont, "{profile}: {out}");
    }
}

#[test]
fn probe_sees_a_filter() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let config = Config::probe(&["report"]).set(
        "/linux/seccomp",
        json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG"],
               "syscalls": [{"names": ["reboot"], "action": "SCMP_ACT_KILL_PROCESS"}]}),
    );
    assert_eq!(oci.run_report(&config, "seccomp-probe").seccomp_mode, 2);
}

#[test]
fn unsupported_profiles_are_refused() {
    let oci = Ocirun::new();
    for (profile, expect) in [
        (
            json!({"defaultAction": "SCMP_ACT_NOTIFY"}),
            "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW",
                   "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}),
            "linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/nonexistent/agent.sock",
                   "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}),
            "linux.seccomp.listenerPath: connect /nonexistent/agent.sock",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_LOONGARCH64"]}),
            "linux.seccomp.architectures[0]",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO",
            "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}),
            "linux.seccomp.syscalls[0].args[0].index",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_BOGUS"}),
            "linux.seccomp.defaultAction: unknown variant",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW",
                   "syscalls": [{"names": [], "action": "SCMP_ACT_ERRNO"}]}),
            "linux.seccomp.syscalls[0].names: must contain at least one entry",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW",
                   "syscalls": [{"names": ["read"], "action": "SCMP_ACT_KILL", "errnoRet": 1}]}),
            "linux.seccomp.syscalls[0].action: SCMP_ACT_KILL does not take an errno",
        ),
        (
            json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerMetadata": "x"}),
            "linux.seccomp.listenerMetadata: set without listenerPath",
        ),
    ] {
        let err = oci.create_fails(&Config::new().set("/linux/seccomp", profile), "seccomp-bad");
        assert!(err.contains(expect), "{expect}: {err}");
    }
}

/// The probe's `syscall:` steps under `profile`: the outcome by call, or None when the
/// process was killed (with the exit status `ocirun run` reported).
fn probe_calls(
    profile: Option<Value>,
    steps: &[&str],
) -> Result<std::collections::BTreeMap<String, String>, i32> {
    let oci = Ocirun::new();
    let mut all: Vec<&str> = steps.to_vec();
    all.push("report");
    let mut config = Config::probe(&all).mount("/tmp", "tmpfs", "tmpfs", &[]);
    if let Some(p) = profile {
        config = config.set("/linux/seccomp", p);
    }
    let bundle = fixtures::Bundle::new(&config).unwrap();
    let id = common::unique_id("seccomp-abi");
    let _guard = oci.guard(&id);
    let out = oci.run_out(bundle.path(), &id);
    match out.status.code() {
        Some(0) => Ok(
            fixtures::parse_report(&String::from_utf8_lossy(&out.stdout))
                .unwrap()
                .syscalls,
        ),
        Some(code) => Err(code),
        None => panic!("ocirun run itself was killed: {}", common::stderr(&out)),
    }
}

/// Issue: a deny-list was bypassed by the i386 `mkdir` (`int $0x80`), which got the default
/// action. Each listed ABI gets the rules with its own numbers; an unlisted ABI is killed.
#[test]
fn every_abi_is_filtered() {
    if !is_root() {
        return;
    }
    let deny_mkdir = |archs: Option<Value>| -> Option<Value> {
        let mut p = json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]});
        if let Some(a) = archs {
            p["architectures"] = a;
        }
        Some(p)
    };
    let steps = [
        "syscall:i386:getpid",
        "syscall:mkdir:/tmp/native:0x1ed",
        "syscall:i386:mkdir:/tmp/compat:0x1ed",
    ];
    // Without a filter both ABIs reach the kernel (the host has the i386 ABI).
    let open = probe_calls(None, &steps).unwrap();
    assert_eq!(open["mkdir"], "ok:0", "{open:?}");
    assert_eq!(open["i386:mkdir"], "ok:0", "{open:?}");
    // x86 listed: the i386 mkdir (39) is refused like the native one (83).
    let listed = probe_calls(
        deny_mkdir(Some(json!([
            "SCMP_ARCH_X86_64",
            "SCMP_ARCH_X86",
            "SCMP_ARCH_X32"
        ]))),
        &steps,
    )
    .unwrap();
    assert_eq!(listed["mkdir"], "EPERM", "{listed:?}");
    assert_eq!(listed["i386:mkdir"], "EPERM", "{listed:?}");
    assert!(listed["i386:getpid"].starts_with("ok:"), "{listed:?}");
    // x86 not listed (or no list): its first call kills the process (SIGSYS: 128+31).
    for archs in [Some(json!(["SCMP_ARCH_X86_64"])), None] {
        let killed = probe_calls(deny_mkdir(archs.clone()), &["syscall:i386:getpid"]);
        assert_eq!(killed, Err(128 + 31), "{archs:?}");
    }
}

/// A seccomp agent for the notify test: accepts one connection on `path`, takes the state
/// and the listener fd, then answers every notification with `errno` until the fd closes.
fn agent(path: &std::path::Path, errno: i32) -> std::thread::JoinHandle<(Value, usize)> {
    use std::os::unix::net::UnixListener;
    let listener = UnixListener::bind(path).unwrap();
    std::thread::spawn(move || {
        use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
        use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
        let (conn, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 65536];
        let mut json = Vec::new();
        let mut fd: Option<OwnedFd> = None;
        loop {
            let mut iov = [std::io::IoSliceMut::new(&mut buf)];
            let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
            let msg = recvmsg::<()>(
                conn.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                MsgFlags::MSG_CMSG_CLOEXEC,
            )
            .unwrap();
            for c in msg.cmsgs().unwrap() {
                if let ControlMessageOwned::ScmRights(fds) = c {
                    fd = Some(unsafe { OwnedFd::from_raw_fd(fds[0]) });
                }
            }
            let n = msg.bytes;
            if n == 0 {
                break;
            }
            json.extend_from_slice(&buf[..n]);
        }
        let state: Value = serde_json::from_slice(&json).unwrap();
        let fd = fd.expect("the listener fd came with the state");
        let mut answered = 0;
        while let Ok(req) = libseccomp::ScmpNotifReq::receive(fd.as_raw_fd()) {
            let resp = libseccomp::ScmpNotifResp::new_error(
                req.id,
                -errno,
                libseccomp::ScmpNotifRespFlags::empty(),
            );
            if resp.respond(fd.as_raw_fd()).is_err() {
                break;
            }
            answered += 1;
        }
        (state, answered)
    })
}

/// `SCMP_ACT_NOTIFY`: the agent at listenerPath gets the container process state and the
/// listener fd, and its answer is what the container's call returns (config-linux.md
/// "Seccomp", "The Container Process State").
#[test]
fn notify_hands_the_listener_to_the_agent() {
    if !is_root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("agent.sock");
    let answers = agent(&sock, libc::EROFS);
    let oci = Ocirun::new();
    let profile = json!({"defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": sock, "listenerMetadata": "mkdir=erofs",
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]});
    let config = Config::probe(&["syscall:mkdir:/tmp/x:0x1ed", "syscall:getpid", "report"])
        .mount("/tmp", "tmpfs", "tmpfs", &[])
        .set("/annotations", json!({"org.example/key": "value"}))
        .set("/linux/seccomp", profile);
    let bundle = fixtures::Bundle::new(&config).unwrap();
    let id = common::unique_id("seccomp-notify");
    let _guard = oci.guard(&id);
    let out = oci.run_out(bundle.path(), &id);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let report = fixtures::parse_report(&String::from_utf8_lossy(&out.stdout)).unwrap();
    assert_eq!(report.syscalls["mkdir"], "EROFS", "the agent's answer");
    assert!(report.syscalls["getpid"].starts_with("ok:"));
    let (state, answered) = answers.join().unwrap();
    assert_eq!(answered, 1);
    assert_eq!(state["fds"], json!(["seccompFd"]));
    assert_eq!(state["metadata"], "mkdir=erofs");
    assert!(
        state["pid"].as_i64().unwrap() > 1,
        "the pid as the runtime sees it: {state}"
    );
    assert_eq!(state["state"]["id"], id.as_str());
    assert_eq!(state["state"]["pid"], state["pid"]);
    assert_eq!(state["state"]["annotations"]["org.example/key"], "value");
    assert_eq!(state["state"]["bundle"], bundle.path().to_str().unwrap());
}
