//! runtime-linux.md "File descriptors" when close_range(2) is missing or fails: ocirun runs
//! under a seccomp filter that makes close_range return an errno, with a leaked fd 5 (not
//! close-on-exec). ENOSYS (a kernel before 5.9) falls back to marking each fd of
//! /proc/self/fd; any other error fails the operation instead of leaking fds.
#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use common::{finish, is_root, spawn_to_files, stderr, unique_id, Ocirun};
use fixtures::{parse_report, Bundle, Config};
use std::os::unix::process::CommandExt;
use std::process::Command;

/// The fd the tests leak into ocirun.
const LEAKED: i32 = 5;

/// Makes `cmd` run with fd [`LEAKED`] open (inheritable) and with close_range failing with
/// `errno` (a classic BPF seccomp filter on the syscall number; root may load it without
/// no_new_privs).
fn close_range_fails(cmd: &mut Command, errno: i32, leaked: &std::fs::File) {
    let fd = std::os::fd::AsRawFd::as_raw_fd(leaked);
    let filter = [
        // A = seccomp_data.nr
        libc::sock_filter {
            code: (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16,
            jt: 0,
            jf: 0,
            k: 0,
        },
        libc::sock_filter {
            code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
            jt: 0,
            jf: 1,
            k: libc::SYS_close_range as u32,
        },
        libc::sock_filter {
            code: (libc::BPF_RET | libc::BPF_K) as u16,
            jt: 0,
            jf: 0,
            k: libc::SECCOMP_RET_ERRNO | errno as u32,
        },
        libc::sock_filter {
            code: (libc::BPF_RET | libc::BPF_K) as u16,
            jt: 0,
            jf: 0,
            k: libc::SECCOMP_RET_ALLOW,
        },
    ];
    // SAFETY: only async-signal-safe calls between fork and exec; the filter array is moved
    // into the closure and lives as long as it.
    unsafe {
        cmd.pre_exec(move || {
            // dup2 onto another fd clears close-on-exec on the copy.
            if libc::dup2(fd, LEAKED) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            let prog = libc::sock_fprog {
                len: filter.len() as u16,
                filter: filter.as_ptr() as *mut libc::sock_filter,
            };
            if libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                &prog as *const libc::sock_fprog,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// A running container for exec, and the file whose fd the tests leak.
fn running<'a>(oci: &'a Ocirun, name: &str) -> (common::Guard<'a>, Bundle, std::fs::File) {
    let bundle = Bundle::new(&Config::probe(&["pause"])).unwrap();
    let id = unique_id(name);
    let guard = oci.create(bundle.path(), &id);
    oci.ok(["start", &id]);
    (guard, bundle, std::fs::File::open("/dev/null").unwrap())
}

#[test]
fn exec_without_close_range_marks_fds_from_proc() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let (guard, _bundle, leaked) = running(&oci, "crexec");
    let mut cmd = oci.cmd(["exec", &guard.id, "/bin/probe", "report"]);
    close_range_fails(&mut cmd, libc::ENOSYS, &leaked);
    let out = finish(spawn_to_files(&mut cmd));
    assert!(out.status.success(), "{}", stderr(&out));
    let r = parse_report(&String::from_utf8_lossy(&out.stdout)).unwrap();
    assert!(r.extra_fds.is_empty(), "fds leaked: {:?}", r.extra_fds);
}

#[test]
fn exec_reports_a_failing_close_range() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let (guard, _bundle, leaked) = running(&oci, "crexecerr");
    let mut cmd = oci.cmd(["exec", &guard.id, "/bin/probe", "report"]);
    close_range_fails(&mut cmd, libc::EPERM, &leaked);
    let out = finish(spawn_to_files(&mut cmd));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "the process must not run");
    assert!(
        stderr(&out).contains("mark fds close-on-exec: operation not permitted"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn run_without_close_range_marks_fds_from_proc() {
    if !is_root() {
        return;
    }
    let oci = Ocirun::new();
    let bundle = Bundle::new(&Config::probe(&["report"])).unwrap();
    let id = unique_id("crrun");
    let _guard = oci.guard(&id);
    let leaked = std::fs::File::open("/dev/null").unwrap();
    let mut cmd = oci.run_cmd(bundle.path(), &id);
    close_range_fails(&mut cmd, libc::ENOSYS, &leaked);
    let out = finish(spawn_to_files(&mut cmd));
    assert!(out.status.success(), "{}", stderr(&out));
    let r = parse_report(&String::from_utf8_lossy(&out.stdout)).unwrap();
    assert!(r.extra_fds.is_empty(), "fds leaked: {:?}", r.extra_fds);
}
