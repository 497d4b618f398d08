//! The live view leaves the terminal as it found it when a signal ends it: the real binary on
//! a pseudo-terminal (pty(7)) is sent SIGTERM, SIGHUP and SIGINT while it draws, and must leave
//! the alternate screen, give back cooked mode (ICANON, ECHO) and die of that very signal.

#![allow(clippy::unwrap_used)] // tests may unwrap

use nix::pty::{openpty, Winsize};
use nix::sys::signal::{kill, Signal};
use nix::sys::termios::{tcgetattr, LocalFlags};
use nix::unistd::Pid;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ENTER_ALT: &[u8] = b"\x1b[?1049h";
const LEAVE_ALT: &[u8] = b"\x1b[?1049l";
/// Device status report "where is the cursor" (ECMA-48 DSR 6), which a terminal answers.
const ASK_CURSOR: &[u8] = b"\x1b[6n";

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Waits until `cond` holds on what ocitop wrote so far, or panics after 20 s.
fn wait_for(out: &Mutex<Vec<u8>>, what: &str, cond: impl Fn(&[u8]) -> bool) {
    let t = Instant::now();
    while !cond(&out.lock().unwrap()) {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn icanon_echo(master: &OwnedFd) -> (bool, bool) {
    let flags = tcgetattr(master).unwrap().local_flags;
    (
        flags.contains(LocalFlags::ICANON),
        flags.contains(LocalFlags::ECHO),
    )
}

fn ends_cleanly_on(signal: Signal) {
    let recorded = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/recorded/nested-ns");
    let size = Winsize {
        ws_row: 30,
        ws_col: 100,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = openpty(Some(&size), None).unwrap();
    assert_eq!(
        icanon_echo(&pty.master),
        (true, true),
        "a new pty is cooked"
    );
    // setsid --ctty: a session of its own whose controlling terminal is the pty, so /dev/tty
    // inside is the pty and never the terminal running the tests.
    let spawned = Command::new("setsid")
        .arg("--ctty")
        .arg(env!("CARGO_BIN_EXE_ocitop"))
        .arg("--proc-root")
        .arg(recorded.join("proc"))
        .arg("--cgroup-root")
        .arg(recorded.join("cgroup"))
        .arg("--state-root")
        .arg(recorded.join("state"))
        .stdin(Stdio::from(pty.slave.try_clone().unwrap()))
        .stdout(Stdio::from(pty.slave.try_clone().unwrap()))
        .stderr(Stdio::from(pty.slave))
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            eprintln!("skipped: cannot run setsid (util-linux): {e}");
            return;
        }
    };

    // Collect what ocitop writes; answer its cursor-position query like a terminal would.
    let out = Arc::new(Mutex::new(Vec::new()));
    let mut reader = std::fs::File::from(pty.master.try_clone().unwrap());
    let mut answer = std::fs::File::from(pty.master.try_clone().unwrap());
    let sink = Arc::clone(&out);
    let reading = std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        // Ends with EIO once ocitop (the last holder of the slave) is gone.
        while let Ok(n @ 1..) = reader.read(&mut buf) {
            if contains(&buf[..n], ASK_CURSOR) {
                let _ = answer.write_all(b"\x1b[1;1R");
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });

    wait_for(&out, "the alternate screen and a drawn frame", |o| {
        contains(o, ENTER_ALT) && contains(o, b"every 1.0s")
    });
    assert_eq!(
        icanon_echo(&pty.master),
        (false, false),
        "raw while running"
    );
    kill(Pid::from_raw(child.id() as i32), signal).unwrap();
    let t = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if t.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{signal} did not end ocitop within 20 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    reading.join().unwrap();

    assert_eq!(
        status.signal(),
        Some(signal as i32),
        "dies of {signal}: {status}"
    );
    let out = out.lock().unwrap();
    let entered = out.windows(ENTER_ALT.len()).position(|w| w == ENTER_ALT);
    let left = out.windows(LEAVE_ALT.len()).rposition(|w| w == LEAVE_ALT);
    assert!(
        matches!((entered, left), (Some(e), Some(l)) if l > e),
        "{signal}: alternate screen left after it was entered"
    );
    assert_eq!(
        icanon_echo(&pty.master),
        (true, true),
        "{signal}: cooked mode again"
    );
}

#[test]
fn sigterm_restores_the_terminal() {
    ends_cleanly_on(Signal::SIGTERM);
}

#[test]
fn sighup_restores_the_terminal() {
    ends_cleanly_on(Signal::SIGHUP);
}

#[test]
fn sigint_restores_the_terminal() {
    ends_cleanly_on(Signal::SIGINT);
}
