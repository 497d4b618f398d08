//! The runtime binary is never reachable from inside a container (the class of
//! CVE-2019-5736): a process of ocirun that joins a container's namespaces (the init, until it
//! execs the user program; the last child of `exec`) can be seen there, and its
//! `/proc/PID/exe` — or `/proc/self/exe` named as the interpreter of a `#!` script that
//! `exec` is asked to run — would lead to the host's ocirun binary, which a root process in
//! the container could then open for writing once no process runs it.
//!
//! So `create`, `run` and `exec` first re-execute themselves from a sealed copy: the binary
//! is copied into a memfd, sealed against every change (F_SEAL_WRITE, SHRINK, GROW, then
//! SEAL), and executed from there (execveat AT_EMPTY_PATH), as runc and crun do. Every
//! process they fork maps only the copy, which cannot be written and is not the host's file.
//! The processes are also made non-dumpable before they join a container's namespaces
//! ([`make_non_dumpable`]), so their /proc files stay closed to the container's processes.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const SEALS: libc::c_int =
    libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;

/// Whether this process already runs from a sealed copy: its executable is a memfd carrying
/// every seal.
pub fn running_sealed() -> bool {
    let Ok(exe) = std::fs::File::open("/proc/self/exe") else {
        return false;
    };
    // SAFETY: F_GET_SEALS on an fd we own; EINVAL (not a memfd) reads as -1.
    let seals = unsafe { libc::fcntl(exe.as_raw_fd(), libc::F_GET_SEALS) };
    seals >= 0 && seals & SEALS == SEALS
}

/// Re-executes this process from a sealed memfd copy of its binary, with the same arguments
/// and environment; returns only if it already runs from one, or with the error.
pub fn reexec_sealed() -> Result<(), String> {
    if running_sealed() {
        // The kernel named the process after the memfd ("memfd:ocirun"): `ps`, `pgrep
        // ocirun` and ocitop know it as ocirun.
        // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes.
        unsafe { libc::prctl(libc::PR_SET_NAME, c"ocirun".as_ptr(), 0, 0, 0) };
        return Ok(());
    }
    let copy = sealed_copy()?;
    let args: Vec<CString> = std::env::args_os()
        .map(|a| CString::new(a.into_encoded_bytes()))
        .collect::<Result<_, _>>()
        .map_err(|_| "an argument contains a NUL byte".to_string())?;
    let env: Vec<CString> = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k.into_encoded_bytes();
            kv.push(b'=');
            kv.extend(v.into_encoded_bytes());
            CString::new(kv)
        })
        .collect::<Result<_, _>>()
        .map_err(|_| "an environment variable contains a NUL byte".to_string())?;
    let errno =
        match nix::unistd::execveat(&copy, c"", &args, &env, nix::fcntl::AtFlags::AT_EMPTY_PATH) {
            Ok(never) => match never {},
            Err(e) => e,
        };
    Err(format!(
        "run from a sealed copy of the runtime: {}",
        crate::errno_text_raw(errno as i32)
    ))
}

/// The running binary copied into a memfd and sealed.
fn sealed_copy() -> Result<OwnedFd, String> {
    let fail = |what: &str, e: std::io::Error| format!("{what}: {}", crate::errno_text(&e));
    let exe = std::fs::File::open("/proc/self/exe").map_err(|e| fail("open /proc/self/exe", e))?;
    let size = exe
        .metadata()
        .map_err(|e| fail("stat /proc/self/exe", e))?
        .len();
    let memfd = memfd("ocirun")?;
    let mut left = size;
    while left > 0 {
        // SAFETY: sendfile between two fds we own, the kernel copies page-cache pages.
        let n = unsafe {
            libc::sendfile(
                memfd.as_raw_fd(),
                exe.as_raw_fd(),
                std::ptr::null_mut(),
                left.min(1 << 30) as usize,
            )
        };
        match n {
            n if n > 0 => left -= n as u64,
            0 => return Err("copy the runtime binary: it shrank while being copied".into()),
            _ => {
                let e = std::io::Error::last_os_error();
                if e.raw_os_error() != Some(libc::EINTR) {
                    return Err(fail("copy the runtime binary", e));
                }
            }
        }
    }
    // SAFETY: F_ADD_SEALS on the memfd we created with MFD_ALLOW_SEALING.
    if unsafe { libc::fcntl(memfd.as_raw_fd(), libc::F_ADD_SEALS, SEALS) } < 0 {
        return Err(fail(
            "seal the runtime copy",
            std::io::Error::last_os_error(),
        ));
    }
    Ok(memfd)
}

/// memfd_create with sealing allowed, executable (MFD_EXEC, needed where vm.memfd_noexec
/// asks for it since Linux 6.3; older kernels refuse the flag with EINVAL and are
/// executable by default), close-on-exec.
fn memfd(name: &str) -> Result<OwnedFd, String> {
    const MFD_EXEC: libc::c_uint = 0x10;
    let cname = CString::new(name).map_err(|e| e.to_string())?;
    let base = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    for flags in [base | MFD_EXEC, base] {
        // SAFETY: memfd_create with a valid C string; a non-negative result is our new fd.
        let fd = unsafe { libc::memfd_create(cname.as_ptr(), flags) };
        if fd >= 0 {
            // SAFETY: just returned by the kernel, owned by nothing else.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINVAL) {
            return Err(format!("memfd_create: {}", crate::errno_text(&e)));
        }
    }
    Err("memfd_create: invalid argument".into())
}

/// PR_SET_DUMPABLE 0: the process's /proc files become root's of the initial user namespace
/// and ptrace-attach needs CAP_SYS_PTRACE there, so a process of the container it is about to
/// join cannot open its exe, fds, memory or environment. execve of the user program makes it
/// dumpable again (its own binary then).
pub fn make_non_dumpable() -> Result<(), String> {
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
        let e = std::io::Error::last_os_error();
        return Err(format!(
            "make the runtime non-dumpable: {}",
            crate::errno_text(&e)
        ));
    }
    Ok(())
}
