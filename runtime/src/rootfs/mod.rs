//! The container's root filesystem: mounts, devices, pivot_root (config.md "Root", "Mounts";
//! config-linux.md "Default Filesystems", "Devices", "Rootfs Mount Propagation", "Masked
//! Paths", "Readonly Paths"; runtime-linux.md "Dev symbolic links").
//!
//! Everything here runs inside the container's init, in its new mount namespace, before the
//! user process is executed. The order, as runc does it:
//! 1. [`prepare`]: propagation, rootfs bind, `mounts`, devices, /dev symlinks;
//! 2. (the caller runs createContainer hooks: "before pivot_root", config.md "Hooks");
//! 3. [`finish`]: pivot_root (or move + chroot), rootfs propagation, read-only paths, masked
//!    paths, read-only root ([`finish`] = [`pivot()`] then [`finalize`]; a console can be bound
//!    between the two with [`mount_console`]).
//!
//! [`setup`] does it all at once.

mod cgroupfs;
mod copyup;
pub mod devices;
pub mod idmap;
mod masked;
pub mod mount;
pub mod options;
pub mod paths;
mod pivot;
mod procfs;
pub mod shared_ns;

use std::fmt;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use nix::errno::Errno;
use nix::mount::MsFlags;
use oci_spec::runtime::{LinuxNamespaceType, Spec};

use self::devices::Device;
use self::mount::MountContext;
use self::paths::Root;

/// What the rootfs setup needs from the command line.
#[derive(Debug, Clone, Default)]
pub struct RootfsOptions {
    /// `--no-pivot`: move-mount the rootfs onto / and chroot instead of pivot_root(2).
    pub no_pivot: bool,
    /// The bundle directory: relative bind sources are relative to it (config.md "Mounts").
    /// `None`: the current directory.
    pub bundle: Option<PathBuf>,
    /// Mount sources opened on the host by [`host_sources`] (containers with their own user
    /// namespace); empty otherwise.
    pub host_sources: HostSources,
    /// No new mount namespace: the container shares the runtime's or joined one by path
    /// ([`shared_ns`]): nothing host-wide is touched, the root is entered with chroot.
    pub shared_mount_ns: bool,
}

/// Mount sources the runtime opens with its own credentials, on the host, before the
/// container's user namespace exists (config.md "Mounts": `source` is a host path; the
/// container's root, mapped to an unprivileged host uid, may not be able to search the
/// directories leading to it: podman keeps them below 0700 directories). Detached mount trees
/// (open_tree(2) clones) that the init attaches with move_mount(2), by index in `mounts`; the
/// fds are inherited across the forks and closed on exec.
#[derive(Debug, Clone, Default)]
pub struct HostSources {
    /// Id-mapped binds ([`idmap::host_trees`]).
    pub idmapped: Vec<(usize, Arc<OwnedFd>)>,
    /// Plain `bind`/`rbind` mounts.
    pub binds: Vec<(usize, Arc<OwnedFd>)>,
}

/// The [`HostSources`] of `spec`: nothing unless `linux.namespaces` has a user namespace
/// (without one the init is host root and resolves the sources itself). Run in the runtime
/// (host user and mount namespace) before forking; relative sources are relative to `bundle`.
/// Fails naming the source that cannot be opened.
pub fn host_sources(spec: &Spec, bundle: &Path) -> Result<HostSources, RootfsError> {
    let user_ns = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|ns| ns.iter().any(|n| n.typ() == LinuxNamespaceType::User));
    if !user_ns {
        return Ok(HostSources::default());
    }
    let mut binds = Vec::new();
    let maps = idmap::container_mappings(spec);
    for (index, m) in spec.mounts().iter().flatten().enumerate() {
        let opts = options::parse(m.options().as_deref().unwrap_or_default());
        let idmapped = idmap::plan(m, &opts, maps).is_ok_and(|p| p.is_some());
        let Some(source) = m.source() else { continue };
        if !opts.bind || idmapped || opts.flags.contains(MsFlags::MS_REMOUNT) {
            continue;
        }
        let source = bundle.join(source);
        let tree = idmap::open_tree(&source, opts.recursive)
            .map_err(RootfsError::sys("open bind source", &source))?;
        binds.push((index, Arc::new(tree)));
    }
    Ok(HostSources {
        idmapped: idmap::host_trees(spec, bundle)?,
        binds,
    })
}

/// Why the rootfs could not be set up. Every message names the path and, for a failed
/// system call, the call and errno: `mount proc on /proc: EPERM: operation not permitted`.
#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
    /// A system call failed; `op` says which and on what ("mount proc on", "mknod").
    #[error("{op} {}: {}", path.display(), ErrnoText(*errno))]
    Syscall {
        op: String,
        path: PathBuf,
        errno: Errno,
    },
    /// mount(2) failed for a filesystem given data options (often an unknown option).
    #[error(
        "mount {fstype} on {} with options \"{data}\": {}",
        destination.display(),
        ErrnoText(*errno)
    )]
    MountData {
        fstype: String,
        destination: PathBuf,
        data: String,
        errno: Errno,
    },
    /// A `mounts` entry that cannot be honoured as written.
    #[error("mount {}: {reason}", destination.display())]
    InvalidMount {
        destination: PathBuf,
        reason: String,
    },
    /// A `linux.devices` entry that cannot be honoured.
    #[error("device {}: {reason}", path.display())]
    InvalidDevice { path: PathBuf, reason: String },
    /// Another config field with a bad value.
    #[error("{field}: {reason}")]
    InvalidConfig { field: &'static str, reason: String },
    /// A path component to create is a symlink to something missing; following it would
    /// create files where the image did not expect them.
    #[error("{}: is a dangling symlink (or changed while creating it)", path.display())]
    DanglingSymlink { path: PathBuf },
}

impl RootfsError {
    /// `map_err` helper for a failed call: `.map_err(RootfsError::sys("mknod", path))`.
    pub(crate) fn sys(op: &str, path: impl AsRef<Path>) -> impl FnOnce(Errno) -> Self {
        let op = op.to_owned();
        let path = path.as_ref().to_owned();
        move |errno| Self::Syscall { op, path, errno }
    }
}

/// `EPERM: operation not permitted`: the errno name then its lower-case description.
struct ErrnoText(Errno);

impl fmt::Display for ErrnoText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.0, self.0.desc().to_lowercase())
    }
}

/// Everything: [`prepare`] then [`finish`].
pub fn setup(spec: &Spec, rootfs: &Path, opts: &RootfsOptions) -> Result<(), RootfsError> {
    prepare(spec, rootfs, opts)?;
    finish(spec, rootfs, opts)
}

/// Switches into the prepared rootfs and finalizes it: [`pivot()`] then [`finalize`].
pub fn finish(spec: &Spec, rootfs: &Path, opts: &RootfsOptions) -> Result<(), RootfsError> {
    pivot(spec, rootfs, opts)?;
    finalize(spec)
}

/// In the (already unshared) mount namespace: cuts propagation to the host, binds `rootfs` (the
/// host path of `root.path`) onto itself, mounts `mounts` in order (config.md: "The runtime
/// MUST mount entries in the listed order"), creates the default devices, `linux.devices` and
/// the /dev symlinks. The root is not switched yet: hooks may still run in the host's view.
///
/// The container's init must already be in its cgroup when a `cgroup` mount is listed.
pub fn prepare(spec: &Spec, rootfs: &Path, opts: &RootfsOptions) -> Result<(), RootfsError> {
    prepare_with_idmapped(spec, rootfs, opts, &opts.host_sources.idmapped)
}

/// [`prepare`], given the detached id-mapped trees [`idmap::host_trees`] made on the host (by
/// index in `mounts`): the init of a container with its own user namespace cannot make them.
pub fn prepare_with_idmapped(
    spec: &Spec,
    rootfs: &Path,
    opts: &RootfsOptions,
    idmapped: &[(usize, Arc<OwnedFd>)],
) -> Result<(), RootfsError> {
    let linux = spec.linux().as_ref();
    let propagation = linux
        .and_then(|l| l.rootfs_propagation().as_deref())
        .map(pivot::parse_propagation)
        .transpose()?;
    let rootfs = canonical_rootfs(rootfs)?;
    let bundle = match &opts.bundle {
        Some(bundle) => bundle.clone(),
        None => std::env::current_dir().map_err(|e| RootfsError::InvalidConfig {
            field: "bundle",
            reason: e.to_string().to_lowercase(),
        })?,
    };

    check_mount_label(linux.and_then(|l| l.mount_label().as_deref()))?;

    if opts.shared_mount_ns {
        if propagation.is_some() {
            return Err(RootfsError::InvalidConfig {
                field: "linux.rootfsPropagation",
                reason: "needs a new mount namespace (it would change a shared one)".into(),
            });
        }
        pivot::prepare_shared_root(&rootfs)?;
    } else {
        pivot::prepare_root(&rootfs, propagation)?;
    }
    // Opened after the self-bind so lookups walk the new mount.
    let root = Root::open(&rootfs)?;
    let cgroup_ns = linux
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|ns| {
            ns.iter()
                .any(|n| n.typ() == LinuxNamespaceType::Cgroup && n.path().is_none())
        });
    let user_ns = linux
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|ns| ns.iter().any(|n| n.typ() == LinuxNamespaceType::User));
    let ctx = MountContext {
        root: &root,
        bundle: &bundle,
        cgroup_ns,
        user_ns,
        container_maps: idmap::container_mappings(spec),
        idmapped,
        host_binds: &opts.host_sources.binds,
    };
    let mounts = spec.mounts().as_deref().unwrap_or_default();
    for (index, m) in mounts.iter().enumerate() {
        mount::mount_entry(&ctx, index, m)?;
    }

    // With the host's /dev bound in, devices are the host's: creating more would write there.
    let dev_is_host_bind = mounts.iter().any(|m| {
        paths::relative(m.destination()) == Path::new("dev")
            && options::parse(m.options().as_deref().unwrap_or_default()).bind
    });
    if !dev_is_host_bind {
        for device in devices::default_devices() {
            devices::create(&root, &device)?;
        }
        for d in linux
            .and_then(|l| l.devices().as_ref())
            .into_iter()
            .flatten()
        {
            devices::create(&root, &Device::from_spec(d)?)?;
        }
        devices::create_symlinks(&root)?;
    }
    Ok(())
}

/// Switches root to the prepared `rootfs` (pivot_root(2), or with `--no-pivot` move-mount +
/// chroot(2)) and applies `linux.rootfsPropagation`. On return the cwd is the new `/`.
pub fn pivot(spec: &Spec, rootfs: &Path, opts: &RootfsOptions) -> Result<(), RootfsError> {
    let propagation = spec
        .linux()
        .as_ref()
        .and_then(|l| l.rootfs_propagation().as_deref())
        .map(pivot::parse_propagation)
        .transpose()?;
    let rootfs = canonical_rootfs(rootfs)?;
    if opts.shared_mount_ns {
        // pivot_root or moving the rootfs onto / would change the namespace everyone shares.
        return pivot::chroot_into(&rootfs);
    }
    pivot::enter(&rootfs, opts.no_pivot)?;
    if let Some(flags) = propagation {
        pivot::apply_root_propagation(flags)?;
    }
    Ok(())
}

fn canonical_rootfs(rootfs: &Path) -> Result<PathBuf, RootfsError> {
    rootfs.canonicalize().map_err(|e| RootfsError::Syscall {
        op: "resolve root.path".into(),
        path: rootfs.to_owned(),
        errno: Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
    })
}

/// Binds the console pty `pty` (an open fd on the slave) onto `<root>/dev/console`
/// (config-linux.md "Default Devices": "/dev/console is set up if terminal is enabled ... by
/// bind mounting the pseudoterminal pty to /dev/console"). `root` is the rootfs path before
/// [`pivot()`], or "/" after it (then call it before [`finalize`]). The pty must live on a
/// devpts mounted in this mount namespace: after [`pivot()`] that is the container's own.
///
/// Both ends are fds (open_tree of the pty, move_mount onto the mount point): no path is
/// looked up between the check and the bind, not even /proc/self/fd of a /proc the container
/// may have faked ([`devices::console_mount_point`] says how the mount point is made).
pub fn mount_console(root: &Path, pty: std::os::fd::BorrowedFd<'_>) -> Result<(), RootfsError> {
    let root = Root::open(root)?;
    let console = Path::new("/dev/console");
    let target = devices::console_mount_point(&root)?;
    let tree =
        idmap::clone_tree_of(pty).map_err(RootfsError::sys("clone the pty mount for", console))?;
    idmap::attach(&tree, std::os::fd::AsFd::as_fd(&target))
        .map_err(RootfsError::sys("bind the pty on", console))
}

/// In the new root: `linux.readonlyPaths`, `linux.maskedPaths` (runc's order: a path masked
/// inside a read-only one is still masked), then `root.readonly`.
pub fn finalize(spec: &Spec) -> Result<(), RootfsError> {
    let linux = spec.linux().as_ref();
    let readonly = linux.and_then(|l| l.readonly_paths().as_ref());
    for path in readonly.into_iter().flatten() {
        masked::make_readonly(absolute("linux.readonlyPaths", path)?)?;
    }
    let masked = linux.and_then(|l| l.masked_paths().as_ref());
    for path in masked.into_iter().flatten() {
        masked::mask(absolute("linux.maskedPaths", path)?)?;
    }
    if spec.root().as_ref().and_then(|r| r.readonly()) == Some(true) {
        masked::remount_readonly(Path::new("/"))?;
    }
    Ok(())
}

/// config-linux.md "Mount Label" sets the SELinux context of the mounts. On a host without
/// SELinux there is nothing to label and the field is ignored (as runc does); where SELinux is
/// enabled ocirun cannot honour it yet, so that is an error rather than unlabelled mounts.
fn check_mount_label(label: Option<&str>) -> Result<(), RootfsError> {
    let selinux = Path::new("/sys/fs/selinux/enforce").exists();
    match label {
        Some(label) if !label.is_empty() && selinux => Err(RootfsError::InvalidConfig {
            field: "linux.mountLabel",
            reason: format!("SELinux mount labels are not supported (\"{label}\")"),
        }),
        _ => Ok(()),
    }
}

/// config-linux.md: "The values MUST be absolute paths in the container namespace".
fn absolute<'a>(field: &'static str, path: &'a str) -> Result<&'a Path, RootfsError> {
    let p = Path::new(path);
    if p.is_absolute() {
        Ok(p)
    } else {
        Err(RootfsError::InvalidConfig {
            field,
            reason: format!("\"{path}\" is not an absolute path"),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn syscall_error_text() {
        let err = RootfsError::sys("mount proc on", "/proc")(Errno::EPERM);
        assert_eq!(
            err.to_string(),
            "mount proc on /proc: EPERM: operation not permitted"
        );
    }

    #[test]
    fn relative_masked_path_is_rejected() {
        let err = absolute("linux.maskedPaths", "proc/kcore").unwrap_err();
        assert_eq!(
            err.to_string(),
            "linux.maskedPaths: \"proc/kcore\" is not an absolute path"
        );
    }
}
