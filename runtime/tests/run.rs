//! runc's `run`: create + start + wait, exiting with the container's status (128+N when killed
//! by signal N), forwarding signals to the container process, deleting the container at the
//! end; and `--detach`.
#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use common::{is_root, stderr, unique_id, wait_exit, Ocirun};
use fixtures::{parse_report, parse_signal, Bundle, Config};
use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;

fn run(oci: &Ocirun, config: &Config, id: &str) -> std::process::Output {
    let bundle = Bundle::new(config).unwrap();
    let _guard = oci.guard(id);
    oci.run_out(bundle.path(), id)
}

#[test]
fn exit_status_is_the_containers() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    for (steps, code) in [
        (vec!["exit:0"], 0),
        (vec!["report", "exit:7"], 7),
        (vec!["exit:255"], 255),
    ] {
        let id = unique_id("exit");
        let out = run(&oci, &Config::probe(&steps), &id);
        assert_eq!(out.status.code(), Some(code), "{steps:?}: {}", stderr(&out));
        assert!(!oci.state_dir(&id).exists(), "run deletes the container");
        assert!(!common::cgroup_exists(&id));
    }
}

#[test]
fn killed_by_a_signal_is_128_plus_n() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    // Without a pid namespace the shell is not an init, so SIGKILL from itself kills it.
    let config = Config::new()
        .args(["/bin/sh", "-c", "kill -KILL $$"])
        .remove_namespace("pid");
    let out = run(&oci, &config, &unique_id("sig"));
    assert_eq!(out.status.code(), Some(128 + 9), "{}", stderr(&out));
}

#[test]
fn signals_are_forwarded_to_the_container() {
    if !is_root() {
        return;
    }
    // SIGPWR and SIGVTALRM: runc forwards every signal, not only the usual few.
    for signal in [libc::SIGTERM, libc::SIGPWR, libc::SIGVTALRM] {
        forwarded(signal);
    }
}

fn forwarded(signal: i32) {
    let oci = Ocirun::new();
    let bundle = Bundle::new(&Config::probe(&["report", "pause"])).unwrap();
    let id = unique_id("fwd");
    let _guard = oci.guard(&id);
    let mut child = oci
        .run_cmd(bundle.path(), &id)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    parse_report(&first).unwrap();
    // SAFETY: kill with a pid we spawned.
    unsafe { libc::kill(child.id() as i32, signal) };
    let status = child.wait().unwrap();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(parse_signal(&rest), Some(signal), "signal {signal}");
    assert_eq!(status.code(), Some(128 + signal), "signal {signal}");
    assert!(!oci.state_dir(&id).exists());
}

#[test]
fn detach_returns_with_the_container_running() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let bundle = Bundle::new(&Config::probe(&["pause"])).unwrap();
    let id = unique_id("detach");
    let _guard = oci.guard(&id);
    let out = oci.out([
        "run".as_ref(),
        "-d".as_ref(),
        "-b".as_ref(),
        bundle.path().as_os_str(),
        id.as_ref(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(oci.status(&id), "running");
    let pid = oci.state(&id)["pid"].as_i64().unwrap() as i32;
    oci.ok(["kill", &id, "KILL"]);
    assert!(wait_exit(pid));
    oci.ok(["delete", &id]);
}

#[test]
fn a_missing_command_fails_create_and_leaves_nothing() {
    if !is_root() {
        return;
    }
    // As runc: checked at create, in the container's root, with the config's PATH.
    let oci = Ocirun::new();
    for (args, expect) in [
        (
            vec!["/no/such/binary"],
            "exec /no/such/binary: no such file or directory",
        ),
        (
            vec!["nosuchcmd"],
            "exec nosuchcmd: executable file not found in $PATH",
        ),
    ] {
        let bundle = Bundle::new(&Config::new().args(args)).unwrap();
        let id = unique_id("noexec");
        let out = oci.create_out(bundle.path(), &id);
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr(&out).contains(expect), "{}", stderr(&out));
        assert!(!oci.state_dir(&id).exists());
        assert!(!common::cgroup_exists(&id));
        assert!(common::processes_mentioning(&id).is_empty());
    }
}

#[test]
fn foreground_terminal_is_proxied() {
    if !is_root() {
        return;
    }
    // script(1) gives ocirun a terminal, like an interactive `ocirun run` with terminal: true.
    if !std::path::Path::new("/usr/bin/script").is_file() {
        eprintln!("skipped: needs /usr/bin/script (util-linux)");
        return;
    }
    let oci = Ocirun::new();
    let config = Config::new().terminal(true).args([
        "/bin/sh",
        "-c",
        "tty; test -t 0 && echo stdin-tty; exit 4",
    ]);
    let bundle = Bundle::new(&config).unwrap();
    let id = unique_id("tty");
    let _guard = oci.guard(&id);
    let command = format!(
        "{} --root {} run -b {} {id}",
        env!("CARGO_BIN_EXE_ocirun"),
        oci.root().display(),
        bundle.path().display()
    );
    let out = std::process::Command::new("/usr/bin/script")
        .args(["-qec", &command, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{text}");
    assert!(text.contains("/dev/pts/0"), "{text}");
    assert!(text.contains("stdin-tty"), "{text}");
    assert!(!oci.state_dir(&id).exists());
}

/// CPU ticks (user + system, proc(5) fields 14 and 15) a process has used so far.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// A process that closes its terminal but keeps running: the master then reads EIO and polls
/// as readable (POLLHUP) for ever; `run` must stop watching it rather than spin on it.
#[test]
fn foreground_does_not_spin_once_the_terminal_is_closed() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let config = Config::new().terminal(true).args([
        "/bin/sh",
        "-c",
        "exec </dev/null >/dev/null 2>&1; sleep 3; exit 5",
    ]);
    let bundle = Bundle::new(&config).unwrap();
    let id = unique_id("ttyhup");
    let _guard = oci.guard(&id);
    let mut child = oci
        .run_cmd(bundle.path(), &id)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the container runs, then measure ocirun's own CPU use while it waits.
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("ocirun run ended early: {status:?}");
        }
        let state = oci.out(["state", &id]);
        if state.status.success() && String::from_utf8_lossy(&state.stdout).contains("running") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let before = cpu_ticks(child.id());
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let used = cpu_ticks(child.id()) - before;
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(5));
    // Waiting costs nothing; a busy loop costs about one tick per 10 ms (150 here).
    assert!(used < 20, "ocirun used {used} CPU ticks while waiting");
}
