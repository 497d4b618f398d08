//! Device nodes and /dev symlinks: config-linux.md "Default Devices", `linux.devices`
//! (config-linux.md "Devices") and runtime-linux.md "Dev symbolic links".
//!
//! Nodes are made with mknod(2); where that is not allowed (a user namespace) the host's device
//! is bind-mounted onto an empty file instead, as the spec allows ("by bind mounting from the
//! runtime mount namespace").

use std::ffi::OsStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat, AtFlags, OFlag};
use nix::mount::MsFlags;
use nix::sys::stat::{fchmodat, fstatat, makedev, mknodat, FchmodatFlags, Mode, SFlag};
use nix::unistd::{fchownat, symlinkat, unlinkat, Gid, Uid, UnlinkatFlags};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};

use super::mount::mount;
use super::paths::{fd_path, Create, Root};
use super::RootfsError;

/// A device to supply, from the spec or the default list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub path: PathBuf,
    pub kind: SFlag,
    pub major: u64,
    pub minor: u64,
    /// Permission bits only.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// config-linux.md "Default Devices" (ptmx is a symlink, console is the pty bind): all
/// `crw-rw-rw- root root`, as runc and crun make them.
pub fn default_devices() -> Vec<Device> {
    [
        ("/dev/null", 1, 3),
        ("/dev/zero", 1, 5),
        ("/dev/full", 1, 7),
        ("/dev/random", 1, 8),
        ("/dev/urandom", 1, 9),
        ("/dev/tty", 5, 0),
    ]
    .into_iter()
    .map(|(path, major, minor)| Device {
        path: PathBuf::from(path),
        kind: SFlag::S_IFCHR,
        major,
        minor,
        mode: 0o666,
        uid: 0,
        gid: 0,
    })
    .collect()
}

impl Device {
    /// Converts a `linux.devices` entry; mode defaults to 0666 like runc does, owner to root.
    pub fn from_spec(d: &LinuxDevice) -> Result<Self, RootfsError> {
        let invalid = |reason: String| RootfsError::InvalidDevice {
            path: d.path().clone(),
            reason,
        };
        let kind = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => SFlag::S_IFCHR,
            LinuxDeviceType::B => SFlag::S_IFBLK,
            LinuxDeviceType::P => SFlag::S_IFIFO,
            LinuxDeviceType::A => {
                return Err(invalid(
                    "type \"a\" is not a device type (c, b, u or p)".into(),
                ))
            }
        };
        let number = |n: i64, what: &str| {
            u64::try_from(n).map_err(|_| invalid(format!("{what} {n} is negative")))
        };
        let (major, minor) = if kind == SFlag::S_IFIFO {
            (0, 0)
        } else {
            (number(d.major(), "major")?, number(d.minor(), "minor")?)
        };
        // config-linux.md "Devices": major and minor are REQUIRED unless type is p. A missing
        // number reads as 0 here, and 0:0 is no device (major 0 is the kernel's unnamed
        // devices), so that is taken as missing.
        if kind != SFlag::S_IFIFO && major == 0 && minor == 0 {
            return Err(invalid(format!(
                "major and minor are required for type \"{}\" (0:0 is not a device)",
                d.typ().as_str()
            )));
        }
        if !d.path().is_absolute() {
            return Err(invalid("path must be absolute".into()));
        }
        Ok(Self {
            path: d.path().clone(),
            kind,
            major,
            minor,
            mode: d.file_mode().unwrap_or(0o666) & 0o7777,
            uid: d.uid().unwrap_or(0),
            gid: d.gid().unwrap_or(0),
        })
    }

    fn rdev(&self) -> u64 {
        makedev(self.major, self.minor)
    }
}

/// Creates `device` inside the rootfs. An existing file at the path must be that device
/// (config-linux.md "Devices": "If a file already exists at path that does not match the
/// requested device, the runtime MUST generate an error"); it then gets the mode and owner.
pub fn create(root: &Root, device: &Device) -> Result<(), RootfsError> {
    let (parent_path, name) = split(&device.path)?;
    let parent = root.resolve_or_create(&parent_path, Create::Dir)?;
    let parent = parent.as_fd();
    if let Ok(st) = fstatat(parent, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        let kind = st.st_mode & libc::S_IFMT;
        let matches = kind == device.kind.bits()
            && (device.kind == SFlag::S_IFIFO || st.st_rdev == device.rdev());
        if !matches {
            return Err(RootfsError::InvalidDevice {
                path: device.path.clone(),
                reason: "a different file already exists there".into(),
            });
        }
        return set_owner_and_mode(parent, name, device);
    }
    match mknodat(
        parent,
        name,
        device.kind,
        Mode::from_bits_truncate(device.mode),
        device.rdev(),
    ) {
        Ok(()) => set_owner_and_mode(parent, name, device),
        Err(Errno::EPERM) if device.kind != SFlag::S_IFIFO => bind_host_device(root, device),
        Err(errno) => Err(RootfsError::sys("mknod", &device.path)(errno)),
    }
}

/// A user namespace may not mknod: bind the host's node (same path on the host) instead.
fn bind_host_device(root: &Root, device: &Device) -> Result<(), RootfsError> {
    let target = root.resolve_or_create(&device.path, Create::File)?;
    mount(
        Some(&device.path),
        &fd_path(target.as_fd()),
        None,
        MsFlags::MS_BIND,
        None,
    )
    .map_err(|errno| RootfsError::Syscall {
        op: format!("bind mount host device {} on", device.path.display()),
        path: device.path.clone(),
        errno,
    })
}

fn set_owner_and_mode(
    parent: BorrowedFd<'_>,
    name: &OsStr,
    device: &Device,
) -> Result<(), RootfsError> {
    // mknod's mode went through the umask: set it exactly.
    fchmodat(
        parent,
        name,
        Mode::from_bits_truncate(device.mode),
        FchmodatFlags::FollowSymlink,
    )
    .map_err(RootfsError::sys("chmod", &device.path))?;
    fchownat(
        parent,
        name,
        Some(Uid::from_raw(device.uid)),
        Some(Gid::from_raw(device.gid)),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .map_err(RootfsError::sys("chown", &device.path))
}

/// runtime-linux.md "Dev symbolic links" (made when their source exists after the mounts),
/// /dev/ptmx → pts/ptmx (config-linux.md "Default Devices") and /dev/core → /proc/kcore when
/// the host has it, as runc does.
pub fn create_symlinks(root: &Root) -> Result<(), RootfsError> {
    let mut links: Vec<(&str, &str)> = vec![
        ("/proc/self/fd", "/dev/fd"),
        ("/proc/self/fd/0", "/dev/stdin"),
        ("/proc/self/fd/1", "/dev/stdout"),
        ("/proc/self/fd/2", "/dev/stderr"),
    ];
    if Path::new("/proc/kcore").exists() {
        links.push(("/proc/kcore", "/dev/core"));
    }
    let proc_fd = root.resolve(Path::new("/proc/self/fd")).is_ok() || proc_is_mounted(root);
    for (source, link) in links {
        if proc_fd {
            symlink(root, source, Path::new(link), false)?;
        }
    }
    symlink(root, "pts/ptmx", Path::new("/dev/ptmx"), true)
}

/// /proc/self cannot be resolved from outside the container's pid namespace: a proc mount at
/// /proc is enough to know the links will work inside.
fn proc_is_mounted(root: &Root) -> bool {
    root.resolve(Path::new("/proc"))
        .ok()
        .and_then(|fd| nix::sys::statfs::fstatfs(fd.as_fd()).ok())
        .is_some_and(|st| st.filesystem_type() == nix::sys::statfs::PROC_SUPER_MAGIC)
}

/// Makes `link` → `target`; an existing entry is kept, or replaced when `replace`.
fn symlink(root: &Root, target: &str, link: &Path, replace: bool) -> Result<(), RootfsError> {
    let (parent_path, name) = split(link)?;
    let parent = root.resolve_or_create(&parent_path, Create::Dir)?;
    match fstatat(parent.as_fd(), name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(_) if !replace => return Ok(()),
        Ok(_) => unlinkat(parent.as_fd(), name, UnlinkatFlags::NoRemoveDir)
            .map_err(RootfsError::sys("unlink", link))?,
        Err(_) => {}
    }
    symlinkat(target, parent.as_fd(), name).map_err(|errno| RootfsError::Syscall {
        op: format!("symlink {target} at"),
        path: link.to_owned(),
        errno,
    })
}

fn split(path: &Path) -> Result<(PathBuf, &OsStr), RootfsError> {
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => Ok((parent.to_owned(), name)),
        _ => Err(RootfsError::InvalidDevice {
            path: path.to_owned(),
            reason: "not a file path".into(),
        }),
    }
}

/// The mount point for the console pty: `/dev/console` as an empty regular file (or the node
/// the image ships), never a symlink. config-linux.md "Default Devices" has the runtime set up
/// /dev/console, so a symlink there (to /proc/sys/kernel/hostname, say: the class of
/// CVE-2025-52565) is the image's, and is replaced rather than followed; /dev itself must be
/// reached without symlinks. The fd is checked after opening, so a swap in between fails.
pub fn console_mount_point(root: &Root) -> Result<OwnedFd, RootfsError> {
    let console = Path::new("/dev/console");
    let dev = root
        .resolve_dir_no_symlinks(Path::new("/dev"))
        .map_err(RootfsError::sys("open", "/dev"))?;
    let name = OsStr::new("console");
    let kind = |st: &nix::sys::stat::FileStat| st.st_mode & libc::S_IFMT;
    match fstatat(dev.as_fd(), name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st) if kind(&st) == libc::S_IFREG || kind(&st) == libc::S_IFCHR => {}
        Ok(st) if kind(&st) == libc::S_IFLNK => {
            unlinkat(dev.as_fd(), name, UnlinkatFlags::NoRemoveDir)
                .map_err(RootfsError::sys("remove symlink", console))?;
            create_empty_file(dev.as_fd(), name, console)?;
        }
        Ok(_) => {
            return Err(RootfsError::InvalidDevice {
                path: console.to_owned(),
                reason: "exists and is neither a file nor a character device".into(),
            })
        }
        Err(Errno::ENOENT) => create_empty_file(dev.as_fd(), name, console)?,
        Err(errno) => return Err(RootfsError::sys("stat", console)(errno)),
    }
    let fd = openat(
        dev.as_fd(),
        name,
        OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(RootfsError::sys("open", console))?;
    let st = nix::sys::stat::fstat(&fd).map_err(RootfsError::sys("stat", console))?;
    if kind(&st) != libc::S_IFREG && kind(&st) != libc::S_IFCHR {
        return Err(RootfsError::InvalidDevice {
            path: console.to_owned(),
            reason: "changed while it was being set up".into(),
        });
    }
    Ok(fd)
}

fn create_empty_file(dir: BorrowedFd<'_>, name: &OsStr, shown: &Path) -> Result<(), RootfsError> {
    openat(
        dir,
        name,
        OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(0o600),
    )
    .map(drop)
    .map_err(RootfsError::sys("create", shown))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxDeviceBuilder;

    #[test]
    fn spec_device_defaults() {
        let d = LinuxDeviceBuilder::default()
            .path("/dev/fuse")
            .typ(LinuxDeviceType::C)
            .major(10)
            .minor(229)
            .build()
            .unwrap();
        let d = Device::from_spec(&d).unwrap();
        assert_eq!((d.major, d.minor, d.mode, d.uid), (10, 229, 0o666, 0));
        assert_eq!(d.kind, SFlag::S_IFCHR);
    }

    #[test]
    fn file_mode_keeps_permission_bits_only() {
        let d = LinuxDeviceBuilder::default()
            .path("/dev/sda")
            .typ(LinuxDeviceType::B)
            .major(8)
            .minor(0)
            .file_mode(0o60660u32)
            .uid(5u32)
            .gid(6u32)
            .build()
            .unwrap();
        let d = Device::from_spec(&d).unwrap();
        assert_eq!(
            (d.kind, d.mode, d.uid, d.gid),
            (SFlag::S_IFBLK, 0o660, 5, 6)
        );
    }

    #[test]
    fn bad_devices_are_rejected() {
        let all = LinuxDeviceBuilder::default()
            .path("/dev/x")
            .typ(LinuxDeviceType::A)
            .build()
            .unwrap();
        let err = Device::from_spec(&all).unwrap_err().to_string();
        assert!(err.contains("/dev/x") && err.contains("type"), "{err}");
        let negative = LinuxDeviceBuilder::default()
            .path("/dev/y")
            .typ(LinuxDeviceType::C)
            .major(-1)
            .build()
            .unwrap();
        assert!(Device::from_spec(&negative).is_err());
        let missing = LinuxDeviceBuilder::default()
            .path("/dev/z")
            .typ(LinuxDeviceType::B)
            .build()
            .unwrap();
        assert_eq!(
            Device::from_spec(&missing).unwrap_err().to_string(),
            "device /dev/z: major and minor are required for type \"b\" (0:0 is not a device)"
        );
        let fifo = LinuxDeviceBuilder::default()
            .path("/dev/f")
            .typ(LinuxDeviceType::P)
            .build()
            .unwrap();
        assert!(Device::from_spec(&fifo).is_ok());
    }

    #[test]
    fn default_devices_are_the_spec_list() {
        let paths: Vec<_> = default_devices().into_iter().map(|d| d.path).collect();
        for p in ["null", "zero", "full", "random", "urandom", "tty"] {
            assert!(paths.contains(&PathBuf::from(format!("/dev/{p}"))));
        }
    }
}
