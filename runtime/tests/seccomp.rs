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
            "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY is not supported",
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
