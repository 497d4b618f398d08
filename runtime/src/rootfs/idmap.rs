//! ID-mapped bind mounts: `idmap`/`ridmap` with the mount's `uidMappings`/`gidMappings`
//! (config.md "Linux mount options", "POSIX-platform Mounts"), made as the spec says with
//! mount_setattr(2) `MOUNT_ATTR_IDMAP` on a detached clone of the source (open_tree(2)), then
//! attached with move_mount(2).
//!
//! The mapping is carried by a user namespace: a short-lived child unshares one, this process
//! writes the mappings into it (lines "containerID hostID size", as for the container's own user
//! namespace) and keeps an fd on it. Creating an idmapped mount needs privilege over the
//! source filesystem's user namespace (the host's), so for a container with its own user
//! namespace the trees are made on the host by [`host_trees`] (in the runtime process, before
//! or after the init starts) and their fds handed to the init, which passes them to
//! [`prepare_with_idmapped`](super::prepare_with_idmapped), as runc does; the init only
//! attaches them. Without a user namespace the init makes them itself.

use std::ffi::CString;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::sys::wait::waitpid;
use nix::unistd::{fork, ForkResult};
use std::sync::Arc;

use oci_spec::runtime::{LinuxIdMapping, LinuxNamespaceType, Mount, Spec};

use super::mount::{mount_setattr, MountAttrs};
use super::options::{self, attr, Idmap, MountOptions};
use super::RootfsError;

/// The mapping one mount gets.
pub struct Plan<'a> {
    pub kind: Idmap,
    pub uid: &'a [LinuxIdMapping],
    pub gid: &'a [LinuxIdMapping],
}

/// Checks an id-mapped mount and picks its mappings (config.md "Linux mount options" `idmap`:
/// the mount's own; else the container's user namespace mappings (`container`); else "an error
/// MUST be returned"). `Ok(None)`: not an id-mapped mount.
pub fn plan<'a>(
    m: &'a Mount,
    opts: &MountOptions,
    container: Option<(&'a [LinuxIdMapping], &'a [LinuxIdMapping])>,
) -> Result<Option<Plan<'a>>, String> {
    let (uid, gid) = (m.uid_mappings().as_deref(), m.gid_mappings().as_deref());
    if opts.idmap.is_none() && uid.is_none() && gid.is_none() {
        return Ok(None);
    }
    if !opts.bind {
        return Err(
            "id-mapped mounts (idmap, ridmap, uidMappings) are only supported for bind mounts"
                .into(),
        );
    }
    let Some(kind) = opts.idmap else {
        return Err("uidMappings/gidMappings need the \"idmap\" or \"ridmap\" option".into());
    };
    let (uid, gid) = match (uid, gid) {
        (Some(uid), Some(gid)) => (uid, gid),
        (None, None) => container.ok_or(
            "an id-mapped mount needs uidMappings and gidMappings (the container has no user namespace to take them from)",
        )?,
        _ => return Err("uidMappings and gidMappings must be given together".into()),
    };
    Ok(Some(Plan { kind, uid, gid }))
}

/// The container's user namespace mappings, when it gets a new user namespace.
pub fn container_mappings(spec: &Spec) -> Option<(&[LinuxIdMapping], &[LinuxIdMapping])> {
    let linux = spec.linux().as_ref()?;
    let new_userns = linux
        .namespaces()
        .as_ref()?
        .iter()
        .any(|n| n.typ() == LinuxNamespaceType::User && n.path().is_none());
    if !new_userns {
        return None;
    }
    Some((
        linux.uid_mappings().as_deref()?,
        linux.gid_mappings().as_deref()?,
    ))
}

/// Host side, for a container with its own user namespace: a detached idmapped tree for every
/// id-mapped bind mount in `spec`, by index in `mounts`, for the init to pass to
/// [`prepare_with_idmapped`](super::prepare_with_idmapped). Run as root in the host user
/// namespace; relative sources are relative to `bundle`.
pub fn host_trees(spec: &Spec, bundle: &Path) -> Result<Vec<(usize, Arc<OwnedFd>)>, RootfsError> {
    let container = container_mappings(spec);
    let mut trees = Vec::new();
    for (index, m) in spec.mounts().iter().flatten().enumerate() {
        let opts = options::parse(m.options().as_deref().unwrap_or_default());
        let plan = plan(m, &opts, container).map_err(|reason| RootfsError::InvalidMount {
            destination: m.destination().clone(),
            reason,
        })?;
        let (Some(plan), Some(source)) = (plan, m.source()) else {
            continue;
        };
        let tree = idmapped_tree(&bundle.join(source), opts.recursive, &plan)?;
        trees.push((index, Arc::new(tree)));
    }
    Ok(trees)
}

const OPEN_TREE_CLONE: libc::c_uint = 0x01;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x04;
const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;

/// A detached copy of `source` (the whole tree when `recursive`) whose files appear with their
/// ids mapped through the plan's mappings (only the top mount for [`Idmap::Single`]).
pub fn idmapped_tree(
    source: &Path,
    recursive: bool,
    plan: &Plan<'_>,
) -> Result<OwnedFd, RootfsError> {
    let userns = mapped_user_namespace(plan.uid, plan.gid)?;
    let tree =
        open_tree(source, recursive).map_err(RootfsError::sys("open_tree (clone) of", source))?;
    let attrs = MountAttrs {
        set: attr::IDMAP,
        clear: 0,
        userns: Some(userns.as_fd()),
    };
    mount_setattr(tree.as_fd(), plan.kind == Idmap::Recursive, attrs)
        .map_err(RootfsError::sys("mount_setattr idmap of", source))?;
    Ok(tree)
}

/// Attaches a detached tree onto the mount point `dest` (an `O_PATH` fd).
pub fn attach(tree: &OwnedFd, dest: BorrowedFd<'_>) -> Result<(), Errno> {
    let empty = CString::default();
    // SAFETY: both fds are open, the paths are valid NUL-terminated empty strings; the kernel
    // only reads its arguments.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            empty.as_ptr(),
            dest.as_raw_fd(),
            empty.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    Errno::result(rc).map(drop)
}

/// open_tree(2) with OPEN_TREE_CLONE: a detached copy of the mount at `source` (the whole
/// tree below it when `recursive`), made with the caller's credentials and mount namespace.
pub(crate) fn open_tree(source: &Path, recursive: bool) -> Result<OwnedFd, Errno> {
    let path = CString::new(source.as_os_str().as_encoded_bytes()).map_err(|_| Errno::EINVAL)?;
    let mut flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint;
    if recursive {
        flags |= libc::AT_RECURSIVE as libc::c_uint;
    }
    // SAFETY: `path` is a valid NUL-terminated string; open_tree returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, path.as_ptr(), flags) };
    let fd = Errno::result(fd)?;
    let fd = i32::try_from(fd).map_err(|_| Errno::EBADF)?;
    // SAFETY: the kernel just returned this fd to us and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// open_tree(2) with OPEN_TREE_CLONE of the object `fd` refers to (AT_EMPTY_PATH): a detached
/// bind of exactly that file, with no path lookup.
pub(crate) fn clone_tree_of(fd: BorrowedFd<'_>) -> Result<OwnedFd, Errno> {
    let empty = CString::default();
    let flags =
        OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint | libc::AT_EMPTY_PATH as libc::c_uint;
    // SAFETY: `fd` is open and the path is a valid empty C string; open_tree returns a new fd
    // or -1.
    let r = unsafe { libc::syscall(libc::SYS_open_tree, fd.as_raw_fd(), empty.as_ptr(), flags) };
    let r = Errno::result(r)?;
    let r = i32::try_from(r).map_err(|_| Errno::EBADF)?;
    // SAFETY: the kernel just returned this fd to us and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(r) })
}

/// An fd on a new user namespace holding the mappings.
fn mapped_user_namespace(
    uid: &[LinuxIdMapping],
    gid: &[LinuxIdMapping],
) -> Result<OwnedFd, RootfsError> {
    let fail = |what: &str| RootfsError::sys(what, "/proc/self/ns/user");
    let (ready_r, ready_w) = nix::unistd::pipe().map_err(fail("pipe for idmap"))?;
    let (done_r, done_w) = nix::unistd::pipe().map_err(fail("pipe for idmap"))?;
    // SAFETY: the rootfs setup runs in the container's single-threaded init; the child only
    // unshares, writes a byte, waits for EOF and _exits.
    match unsafe { fork() }.map_err(fail("fork for idmap"))? {
        ForkResult::Child => {
            drop((ready_r, done_w));
            // Its pid as the mounted /proc names it: before pivot_root that is the host's
            // /proc, where our own pid namespace's numbers mean other processes.
            let pid = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUSER)
                .ok()
                .and_then(|()| std::fs::read_link("/proc/self").ok())
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            let _ = std::fs::File::from(ready_w).write_all(pid.as_bytes());
            let mut byte = [0u8; 1];
            let _ = std::fs::File::from(done_r).read(&mut byte);
            // SAFETY: leave without unwinding into the parent's state.
            unsafe { libc::_exit(0) }
        }
        ForkResult::Parent { child } => {
            drop((ready_w, done_r));
            let mut pid = String::new();
            let _ = std::fs::File::from(ready_r).read_to_string(&mut pid);
            let result = match pid.parse::<u32>() {
                Ok(pid) => write_maps(pid, uid, gid),
                Err(_) => Err(RootfsError::sys(
                    "unshare user namespace for idmap",
                    "/proc/self/ns/user",
                )(Errno::EPERM)),
            };
            drop(done_w);
            let _ = waitpid(child, None);
            result
        }
    }
}

fn write_maps(
    pid: u32,
    uid: &[LinuxIdMapping],
    gid: &[LinuxIdMapping],
) -> Result<OwnedFd, RootfsError> {
    let lines = |maps: &[LinuxIdMapping]| -> String {
        maps.iter()
            .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
            .collect()
    };
    for (file, text) in [("uid_map", lines(uid)), ("gid_map", lines(gid))] {
        let path = format!("/proc/{pid}/{file}");
        std::fs::write(&path, text).map_err(|e| RootfsError::Syscall {
            op: "write".into(),
            path: path.clone().into(),
            errno: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
        })?;
    }
    let ns = format!("/proc/{pid}/ns/user");
    nix::fcntl::open(
        ns.as_str(),
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(RootfsError::sys("open", &ns))
}
