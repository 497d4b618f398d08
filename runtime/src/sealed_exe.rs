//! The runtime binary is never reachable from inside a container (the class of
//! CVE-2019-5736): a process of ocirun that joins a container's namespaces (the init, until it
//! execs the user program; the last child of `exec`) can be seen there, and its
//! `/proc/PID/exe` — or `/proc/self/exe` named as the interpreter of a `#!` script that
//! `exec` is asked to run — would lead to the host's ocirun binary, which a root process in
//! the container could then open for writing once no process runs it.
//!
//! So `create`, `run` and `exec` first re-execute themselves from a copy nothing can write,
//! as runc 1.2 does: the binary's directory as the lower layer of a private read-only
//! overlayfs mount that is attached nowhere (fsopen/fsmount), so the file the processes map
//! is overlayfs's, never the host's inode, on a mount no one can reach or remount; where
//! that cannot be made (no overlayfs, no CAP_SYS_ADMIN, a path overlayfs cannot take) the
//! binary is copied into a memfd sealed against every change (F_SEAL_WRITE, SHRINK, GROW,
//! then SEAL), as runc 1.1 and crun do. The overlay shares the page cache (no copy: the
//! sealed memfd costs a copy of the binary per command). Either is executed with execveat
//! AT_EMPTY_PATH; every process they fork maps only it.
//! The processes are also made non-dumpable before they join a container's namespaces
//! ([`make_non_dumpable`]), so their /proc files stay closed to the container's processes.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const SEALS: libc::c_int =
    libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;

/// Whether this process already runs from a copy nothing can write: a memfd carrying every
/// seal, or a file of a read-only overlayfs mount.
pub fn running_sealed() -> bool {
    const OVERLAYFS_SUPER_MAGIC: i64 = 0x794c_7630;
    let Ok(exe) = std::fs::File::open("/proc/self/exe") else {
        return false;
    };
    // SAFETY: F_GET_SEALS on an fd we own; EINVAL (not a memfd) reads as -1.
    let seals = unsafe { libc::fcntl(exe.as_raw_fd(), libc::F_GET_SEALS) };
    if seals >= 0 {
        return seals & SEALS == SEALS;
    }
    nix::sys::statfs::fstatfs(&exe).is_ok_and(|fs| fs.filesystem_type().0 == OVERLAYFS_SUPER_MAGIC)
        && nix::sys::statvfs::fstatvfs(&exe)
            .is_ok_and(|vfs| vfs.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY))
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
    let copy = match read_only_overlay() {
        Ok(fd) => fd,
        Err(why) => {
            crate::logging::debug(&format!(
                "no read-only overlay of the binary ({why}): a sealed memfd copy"
            ));
            sealed_copy()?
        }
    };
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

/// The running binary, opened (O_PATH) through a private read-only overlayfs whose layers
/// are the binary's directory over an empty read-only tmpfs (without an upper layer overlayfs
/// needs two lower ones, which may not overlap), both mounted nowhere.
fn read_only_overlay() -> Result<OwnedFd, String> {
    const MOUNT_ATTR_RDONLY: libc::c_uint = 1;
    const MOUNT_ATTR_NODEV: libc::c_uint = 4;
    let exe = std::fs::read_link("/proc/self/exe").map_err(|e| e.to_string())?;
    let (Some(dir), Some(name)) = (exe.parent(), exe.file_name()) else {
        return Err(format!("{} has no directory", exe.display()));
    };
    let dir = dir.to_str().ok_or("the directory is not UTF-8")?;
    // overlayfs splits lowerdir at ':' and options at ','.
    if dir.contains([':', ',', '\\']) || exe.to_string_lossy().ends_with(" (deleted)") {
        return Err(format!("{dir} cannot be an overlayfs layer"));
    }
    let empty = detached_mount(c"tmpfs", &[(c"size", c"4k")], MOUNT_ATTR_RDONLY)?;
    let layers = CString::new(format!("{dir}:/proc/self/fd/{}", empty.as_raw_fd()))
        .map_err(|e| e.to_string())?;
    let overlay = detached_mount(
        c"overlay",
        &[(c"lowerdir", layers.as_c_str())],
        MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV,
    )?;
    nix::fcntl::openat(
        &overlay,
        name,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| {
        format!(
            "open the binary in the overlay: {}",
            crate::errno_text_raw(e as i32)
        )
    })
}

/// A file system made with the mount API (fsopen, fsconfig, fsmount) and attached nowhere:
/// only the returned fd reaches it.
fn detached_mount(
    fstype: &std::ffi::CStr,
    options: &[(&std::ffi::CStr, &std::ffi::CStr)],
    attrs: libc::c_uint,
) -> Result<OwnedFd, String> {
    const FSOPEN_CLOEXEC: libc::c_uint = 1;
    const FSCONFIG_SET_STRING: libc::c_uint = 1;
    const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
    const FSMOUNT_CLOEXEC: libc::c_uint = 1;
    let fail = |what: &str| {
        let e = std::io::Error::last_os_error();
        format!(
            "{what} {}: {}",
            fstype.to_string_lossy(),
            crate::errno_text(&e)
        )
    };
    let own = |r: libc::c_long, what: &str| -> Result<OwnedFd, String> {
        if r < 0 {
            return Err(fail(what));
        }
        // SAFETY: a new fd the kernel just returned to us.
        Ok(unsafe { OwnedFd::from_raw_fd(r as i32) })
    };
    // SAFETY: fsopen with a valid C string; the result is checked.
    let fs = own(
        unsafe { libc::syscall(libc::SYS_fsopen, fstype.as_ptr(), FSOPEN_CLOEXEC) },
        "fsopen",
    )?;
    for (key, value) in options {
        // SAFETY: fsconfig with a key and a value that live across the call.
        let r = unsafe {
            libc::syscall(
                libc::SYS_fsconfig,
                fs.as_raw_fd(),
                FSCONFIG_SET_STRING,
                key.as_ptr(),
                value.as_ptr(),
                0,
            )
        };
        if r < 0 {
            return Err(fail("fsconfig"));
        }
    }
    // SAFETY: FSCONFIG_CMD_CREATE takes no key or value.
    let created = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            0,
            0,
            0,
        )
    };
    if created < 0 {
        return Err(fail("create"));
    }
    // SAFETY: fsmount of the configured context, with mount attributes only.
    own(
        unsafe { libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), FSMOUNT_CLOEXEC, attrs) },
        "fsmount",
    )
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

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    /// Opening the copy again for writing, as an attacker holding /proc/PID/exe would.
    fn reopen_for_write(fd: &OwnedFd) -> std::io::Result<std::fs::File> {
        std::fs::OpenOptions::new()
            .write(true)
            .open(format!("/proc/self/fd/{}", fd.as_raw_fd()))
    }

    #[test]
    fn the_memfd_copy_is_whole_and_sealed_against_writes() {
        let copy = sealed_copy().unwrap();
        // SAFETY: F_GET_SEALS on an fd we own.
        let seals = unsafe { libc::fcntl(copy.as_raw_fd(), libc::F_GET_SEALS) };
        assert_eq!(seals & SEALS, SEALS);
        let len = std::fs::metadata(format!("/proc/self/fd/{}", copy.as_raw_fd()))
            .unwrap()
            .len();
        assert_eq!(len, std::fs::metadata("/proc/self/exe").unwrap().len());
        let mut w = reopen_for_write(&copy).unwrap();
        let e = std::io::Write::write_all(&mut w, b"x").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EPERM), "F_SEAL_WRITE");
    }

    #[test]
    fn the_overlay_copy_is_read_only_and_not_the_hosts_file() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipped: needs root (fsopen)");
            return;
        }
        use std::os::unix::fs::MetadataExt;
        let copy = read_only_overlay().unwrap();
        let meta = std::fs::metadata(format!("/proc/self/fd/{}", copy.as_raw_fd())).unwrap();
        let host = std::fs::metadata("/proc/self/exe").unwrap();
        assert_ne!(meta.dev(), host.dev(), "overlayfs's file, not the host's");
        assert_eq!(meta.len(), host.len());
        let e = reopen_for_write(&copy).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EROFS));
    }
}
