//! One entry of config.json `mounts` (config.md "Mounts", "POSIX-platform Mounts"): the mount
//! itself, the read-only/nosuid/... remount a bind needs, propagation changes and the recursive
//! `r*` attributes, all on the destination resolved inside the rootfs.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use std::sync::Arc;

use nix::errno::Errno;
use nix::mount::MsFlags;
use oci_spec::runtime::{LinuxIdMapping, Mount};

use super::options::{self, MountOptions, RecursiveAttrs};
use super::paths::{fd_path, Create, Root};
use super::{cgroupfs, copyup, idmap, procfs, RootfsError};

/// What every mount entry needs besides the entry itself.
pub struct MountContext<'a> {
    pub root: &'a Root,
    /// Relative bind sources are relative to the bundle (config.md "Mounts" `source`).
    pub bundle: &'a Path,
    /// The container gets its own cgroup namespace (changes how `cgroup` mounts are made).
    pub cgroup_ns: bool,
    /// The container has its own user namespace (id-mapped mounts cannot be made from it).
    pub user_ns: bool,
    /// The container's user namespace mappings, for id-mapped mounts without their own.
    pub container_maps: Option<(&'a [LinuxIdMapping], &'a [LinuxIdMapping])>,
    /// Id-mapped trees made on the host, by mount index.
    pub idmapped: &'a [(usize, Arc<OwnedFd>)],
    /// Bind sources opened on the host ([`super::host_sources`]), by mount index.
    pub host_binds: &'a [(usize, Arc<OwnedFd>)],
}

/// Mounts one config.json entry inside the rootfs.
pub fn mount_entry(ctx: &MountContext<'_>, index: usize, m: &Mount) -> Result<(), RootfsError> {
    let destination = m.destination();
    let opts = options::parse(m.options().as_deref().unwrap_or_default());
    let fstype = m.typ().as_deref().unwrap_or("none");
    let invalid = |reason: String| RootfsError::InvalidMount {
        destination: destination.clone(),
        reason,
    };
    let idmap = idmap::plan(m, &opts, ctx.container_maps).map_err(invalid)?;
    if opts.tmpcopyup && (opts.bind || fstype != "tmpfs") {
        return Err(invalid(
            "option \"tmpcopyup\" is only for tmpfs mounts".into(),
        ));
    }

    if let Some(plan) = idmap {
        return bind_idmapped(ctx, index, m, &plan, &opts);
    }
    if opts.bind {
        return bind(ctx, index, m, &opts);
    }
    let dest = ctx.root.resolve_or_create(destination, Create::Dir)?;
    if matches!(fstype, "proc" | "sysfs") {
        procfs::require_directory(destination, &dest, fstype)?;
    } else {
        procfs::check(ctx.root, destination, &dest, None)?;
    }
    if fstype == "cgroup" && !opts.flags.contains(MsFlags::MS_REMOUNT) {
        cgroupfs::mount_cgroup(ctx, destination, &dest, &opts)?;
        return after_mount(ctx.root, destination, &opts);
    }
    mount_filesystem(ctx, m, fstype, &dest, &opts)
}

/// A new filesystem instance (tmpfs, proc, devpts, ...) or a remount of what is at `dest`,
/// with its data options, then the tmpcopyup copy and the propagation/recursive changes.
fn mount_filesystem(
    ctx: &MountContext<'_>,
    m: &Mount,
    fstype: &str,
    dest: &OwnedFd,
    opts: &MountOptions,
) -> Result<(), RootfsError> {
    let destination = m.destination();
    let data = opts.data_string();
    let source = m
        .source()
        .as_ref()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| fstype.to_owned());
    let (fs, source): (Option<&str>, Option<&str>) = if opts.flags.contains(MsFlags::MS_REMOUNT) {
        (None, None)
    } else {
        (Some(fstype), Some(&source))
    };
    let covered = if opts.tmpcopyup {
        Some(copyup::open_covered(dest.as_fd()).map_err(RootfsError::sys("open", destination))?)
    } else {
        None
    };
    match mount(
        source,
        &fd_path(dest.as_fd()),
        fs,
        opts.flags,
        data.as_deref(),
    ) {
        Ok(()) => {}
        // Without its own network (sysfs) or IPC (mqueue) namespace a user namespace may not
        // mount these: show the host's instead, as runc does.
        Err(Errno::EPERM) if matches!(fstype, "sysfs" | "mqueue") => {
            let host = if fstype == "sysfs" {
                "/sys"
            } else {
                "/dev/mqueue"
            };
            return bind_host(ctx, destination, Path::new(host), opts, true);
        }
        Err(errno) => {
            return Err(match data {
                Some(data) => RootfsError::MountData {
                    fstype: fstype.to_owned(),
                    destination: destination.clone(),
                    data,
                    errno,
                },
                None => RootfsError::Syscall {
                    op: format!("mount {fstype} on"),
                    path: destination.clone(),
                    errno,
                },
            })
        }
    }
    if let Some(covered) = covered {
        let mounted = reopen(ctx.root, destination)?;
        let top =
            copyup::open_covered(mounted.as_fd()).map_err(RootfsError::sys("open", destination))?;
        copyup::copy_tree(covered.as_fd(), top.as_fd()).map_err(|(errno, name)| {
            RootfsError::Syscall {
                op: "copy up".into(),
                path: destination.join(name),
                errno,
            }
        })?;
    }
    after_mount(ctx.root, destination, opts)
}

/// `bind`/`rbind`: the host source onto the destination, then a remount for the per-mount
/// flags (mount(2): with MS_BIND "the remaining bits in mountflags are ignored").
fn bind(
    ctx: &MountContext<'_>,
    index: usize,
    m: &Mount,
    opts: &MountOptions,
) -> Result<(), RootfsError> {
    let destination = m.destination();
    // config.md "Mounts": unknown options SHOULD be passed as filesystem data; for MS_BIND
    // mount(2) ignores data, so a config written for runc (`mode=755,size=1k` on a bind)
    // runs, as it does with runc.
    if !opts.data.is_empty() {
        crate::logging::debug(&format!(
            "mount {}: \"{}\" ignored by the kernel for a bind mount",
            destination.display(),
            opts.data.join(",")
        ));
    }
    let Some(source) = m.source() else {
        return Err(RootfsError::InvalidMount {
            destination: destination.clone(),
            reason: "a bind mount needs a source".into(),
        });
    };
    let source = ctx.bundle.join(source);
    if opts.flags.contains(MsFlags::MS_REMOUNT) {
        let dest = ctx
            .root
            .resolve(destination)
            .map_err(RootfsError::sys("open", destination))?;
        remount_bind(&dest, destination, opts)?;
        return after_mount(ctx.root, destination, opts);
    }
    match ctx.host_binds.iter().find(|(i, _)| *i == index) {
        Some((_, tree)) => bind_premade(ctx, destination, &source, tree, opts),
        None => bind_host(ctx, destination, &source, opts, opts.recursive),
    }
}

/// A bind whose source the runtime opened on the host (a detached tree): its kind from the
/// tree itself, attached with move_mount(2); no lookup of `source` from here, where the
/// container's user namespace may not reach it.
fn bind_premade(
    ctx: &MountContext<'_>,
    destination: &Path,
    source: &Path,
    tree: &OwnedFd,
    opts: &MountOptions,
) -> Result<(), RootfsError> {
    let stat = nix::sys::stat::fstat(tree.as_fd())
        .map_err(RootfsError::sys("fstat bind source", source))?;
    let is_dir = nix::sys::stat::SFlag::from_bits_truncate(stat.st_mode)
        .contains(nix::sys::stat::SFlag::S_IFDIR);
    let kind = if is_dir { Create::Dir } else { Create::File };
    attach_tree(ctx, tree, "bind", source, destination, kind, opts)
}

/// An `idmap`/`ridmap` bind: the tree the host made for this mount (`ctx.idmapped`), else,
/// without a user namespace, one made here.
fn bind_idmapped(
    ctx: &MountContext<'_>,
    index: usize,
    m: &Mount,
    plan: &idmap::Plan<'_>,
    opts: &MountOptions,
) -> Result<(), RootfsError> {
    let destination = m.destination();
    let Some(source) = m.source() else {
        return Err(RootfsError::InvalidMount {
            destination: destination.clone(),
            reason: "a bind mount needs a source".into(),
        });
    };
    let source = ctx.bundle.join(source);
    let premade = ctx.idmapped.iter().find(|(i, _)| *i == index);
    let made_here;
    let tree = match premade {
        Some((_, tree)) => tree.as_ref(),
        None if ctx.user_ns => {
            return Err(RootfsError::InvalidMount {
                destination: destination.clone(),
                reason: "an id-mapped mount in a container with a user namespace must be prepared on the host (rootfs::idmap::host_trees); none was passed".into(),
            })
        }
        None => {
            made_here = idmap::idmapped_tree(&source, opts.recursive, plan)?;
            &made_here
        }
    };
    let kind = if source.is_dir() {
        Create::Dir
    } else {
        Create::File
    };
    attach_tree(ctx, tree, "idmapped", &source, destination, kind, opts)
}

/// Attaches a detached mount tree of `source` (open_tree(2)) at `destination` inside the
/// rootfs with move_mount(2), then applies `opts` to it as to any bind mount. `what` names
/// the kind of bind in errors.
fn attach_tree(
    ctx: &MountContext<'_>,
    tree: &OwnedFd,
    what: &str,
    source: &Path,
    destination: &Path,
    kind: Create,
    opts: &MountOptions,
) -> Result<(), RootfsError> {
    let dest = ctx.root.resolve_or_create(destination, kind)?;
    procfs::check(ctx.root, destination, &dest, Some(source))?;
    idmap::attach(tree, dest.as_fd()).map_err(|errno| RootfsError::Syscall {
        op: format!("move_mount {what} {} on", source.display()),
        path: destination.to_owned(),
        errno,
    })?;
    if opts.bind_needs_remount() {
        let mounted = reopen(ctx.root, destination)?;
        remount_bind(&mounted, destination, opts)?;
    }
    after_mount(ctx.root, destination, opts)
}

/// Binds a host path onto `destination` and applies `opts` to the new mount.
fn bind_host(
    ctx: &MountContext<'_>,
    destination: &Path,
    source: &Path,
    opts: &MountOptions,
    recursive: bool,
) -> Result<(), RootfsError> {
    let meta = std::fs::metadata(source).map_err(|e| RootfsError::Syscall {
        op: "stat bind source".into(),
        path: source.to_owned(),
        errno: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
    })?;
    let kind = if meta.is_dir() {
        Create::Dir
    } else {
        Create::File
    };
    let dest = ctx.root.resolve_or_create(destination, kind)?;
    procfs::check(ctx.root, destination, &dest, Some(source))?;
    let mut flags = MsFlags::MS_BIND;
    if recursive {
        flags |= MsFlags::MS_REC;
    }
    mount(Some(source), &fd_path(dest.as_fd()), None, flags, None).map_err(|errno| {
        RootfsError::Syscall {
            op: format!("bind mount {} on", source.display()),
            path: destination.to_owned(),
            errno,
        }
    })?;
    if opts.bind_needs_remount() {
        let mounted = reopen(ctx.root, destination)?;
        remount_bind(&mounted, destination, opts)?;
    }
    after_mount(ctx.root, destination, opts)
}

/// Remounts a bind mount with `opts.flags`, keeping the nosuid/nodev/noexec it has unless an
/// option cleared them: in a user namespace they are locked and dropping them is EPERM, and
/// nobody expects `ro` alone to make a nosuid source suid.
pub fn remount_bind(
    mounted: &OwnedFd,
    destination: &Path,
    opts: &MountOptions,
) -> Result<(), RootfsError> {
    let keep = locked_flags(mounted.as_fd()) & !opts.cleared;
    let flags = opts.flags | keep | MsFlags::MS_BIND | MsFlags::MS_REMOUNT;
    mount(None::<&str>, &fd_path(mounted.as_fd()), None, flags, None)
        .map_err(RootfsError::sys("remount", destination))
}

/// nosuid/nodev/noexec currently set on the mount `fd` is on (statvfs(3) `f_flag`).
pub fn locked_flags(fd: BorrowedFd<'_>) -> MsFlags {
    use nix::sys::statvfs::FsFlags;
    let Ok(st) = nix::sys::statvfs::fstatvfs(fd) else {
        return MsFlags::empty();
    };
    let f = st.flags();
    let mut flags = MsFlags::empty();
    for (fs, ms) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
    ] {
        if f.contains(fs) {
            flags |= ms;
        }
    }
    flags
}

/// Propagation and recursive attributes, on the mount now at `destination`.
fn after_mount(root: &Root, destination: &Path, opts: &MountOptions) -> Result<(), RootfsError> {
    if opts.propagation.is_empty() && opts.recursive_attrs.is_empty() {
        return Ok(());
    }
    let mounted = reopen(root, destination)?;
    for &propagation in &opts.propagation {
        mount(
            None::<&str>,
            &fd_path(mounted.as_fd()),
            None,
            propagation,
            None,
        )
        .map_err(RootfsError::sys("set propagation of", destination))?;
    }
    if !opts.recursive_attrs.is_empty() {
        mount_setattr(mounted.as_fd(), true, opts.recursive_attrs.into())
            .map_err(RootfsError::sys("mount_setattr", destination))?;
    }
    Ok(())
}

/// The fd we resolved before mounting names the covered directory; the new mount is only
/// reached by looking the path up again.
pub fn reopen(root: &Root, destination: &Path) -> Result<OwnedFd, RootfsError> {
    root.resolve(destination)
        .map_err(RootfsError::sys("open", destination))
}

/// mount(2) with optional strings, as nix wants them typed.
pub fn mount<S: AsRef<Path> + ?Sized>(
    source: Option<&S>,
    target: &Path,
    fstype: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
) -> Result<(), Errno> {
    nix::mount::mount(source.map(|s| s.as_ref()), target, fstype, flags, data)
}

/// `struct mount_attr` of mount_setattr(2).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// What mount_setattr(2) changes: attributes to set and clear, and for `MOUNT_ATTR_IDMAP` the
/// user namespace carrying the mapping.
#[derive(Debug, Clone, Copy, Default)]
pub struct MountAttrs<'a> {
    pub set: u64,
    pub clear: u64,
    pub userns: Option<BorrowedFd<'a>>,
}

impl From<RecursiveAttrs> for MountAttrs<'_> {
    fn from(a: RecursiveAttrs) -> Self {
        Self {
            set: a.set,
            clear: a.clear,
            userns: None,
        }
    }
}

/// mount_setattr(2) on the mount `fd` refers to (and, with `recursive`, every mount below it).
pub fn mount_setattr(
    fd: BorrowedFd<'_>,
    recursive: bool,
    attrs: MountAttrs<'_>,
) -> Result<(), Errno> {
    let attr = MountAttr {
        attr_set: attrs.set,
        attr_clr: attrs.clear,
        propagation: 0,
        userns_fd: attrs.userns.map_or(0, |fd| fd.as_raw_fd() as u64),
    };
    let mut flags = libc::AT_EMPTY_PATH;
    if recursive {
        flags |= libc::AT_RECURSIVE;
    }
    let empty = CString::default();
    // SAFETY: the path is a valid NUL-terminated string, `attr` is a live, correctly laid out
    // `struct mount_attr` and its exact size is passed; the kernel only reads both.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            empty.as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    Errno::result(rc).map(drop)
}
