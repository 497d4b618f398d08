//! Safe path resolution inside the container's rootfs.
//!
//! Mount destinations, device paths and symlinks come from config.json and the rootfs comes from
//! an image: a symlink in the rootfs (`/etc -> /../../host`) must never let a mount land outside
//! it. Every path is resolved with openat2(2) `RESOLVE_IN_ROOT` from an fd on the rootfs (the
//! kernel treats the fd as `/` for absolute symlinks and `..`), missing directories are created
//! with mkdirat(2) on the already-resolved parent fd, and the mount is done on the resolved fd
//! (`/proc/self/fd/N`), so nothing can swap a component between check and use.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat, openat2, readlinkat, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{mkdirat, Mode};

use super::RootfsError;

/// What to create at the end of a path that does not exist yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    /// A directory (a mount point for a directory or filesystem).
    Dir,
    /// An empty regular file (a mount point for a file bind mount or a device bind).
    File,
}

/// An fd on the rootfs that every lookup is confined to.
#[derive(Debug)]
pub struct Root {
    fd: OwnedFd,
    path: PathBuf,
}

impl Root {
    /// Opens `path` (a host path) as the root of later lookups.
    pub fn open(path: &Path) -> Result<Self, RootfsError> {
        let fd = nix::fcntl::open(
            path,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(RootfsError::sys("open rootfs", path))?;
        Ok(Self {
            fd,
            path: path.to_owned(),
        })
    }

    /// The host path this root was opened from (for messages).
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Opens an existing `path` (container path, absolute or relative to `/`) as an `O_PATH`
    /// fd, never leaving the root. Magic links (/proc/self/...) are refused.
    pub fn resolve(&self, path: &Path) -> Result<OwnedFd, Errno> {
        let relative = relative(path);
        open_in_root(self.fd(), &relative)
    }

    /// Opens an existing directory `path` (container path) as an `O_PATH` fd, refusing any
    /// symlink on the way (ELOOP): for what the runtime itself makes in /dev, where even a
    /// symlink that stays inside the root could aim a bind at /proc or /sys.
    pub fn resolve_dir_no_symlinks(&self, path: &Path) -> Result<OwnedFd, Errno> {
        let relative = relative(path);
        let target: &Path = if relative.as_os_str().is_empty() {
            Path::new(".")
        } else {
            &relative
        };
        let how = OpenHow::new()
            .flags(OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC)
            .resolve(
                ResolveFlag::RESOLVE_IN_ROOT
                    | ResolveFlag::RESOLVE_NO_SYMLINKS
                    | ResolveFlag::RESOLVE_NO_MAGICLINKS,
            );
        loop {
            match openat2(self.fd(), target, how) {
                Err(Errno::EAGAIN) => continue,
                other => return other,
            }
        }
    }

    /// Like [`Root::resolve`], creating missing directories (mode 0755) and, for
    /// [`Create::File`], an empty final file (mode 0644). A missing component is only ever
    /// created inside its resolved parent. A dangling symlink on the way (`/var/run -> /run`
    /// with no /run yet) is followed inside the root and its target created, as the kernel
    /// would resolve it in the container.
    pub fn resolve_or_create(&self, path: &Path, last: Create) -> Result<OwnedFd, RootfsError> {
        let mut pending: VecDeque<OsString> =
            components(path).into_iter().map(OsStr::to_owned).collect();
        let mut current = nix::unistd::dup(self.fd()).map_err(RootfsError::sys("dup", path))?;
        let mut done = PathBuf::new();
        let mut links = 0;
        while let Some(part) = pending.pop_front() {
            let candidate = done.join(&part);
            let shown = Path::new("/").join(&candidate);
            match open_in_root(self.fd(), &candidate) {
                Ok(fd) => {
                    current = fd;
                    done = candidate;
                }
                Err(Errno::ENOENT) if part != ".." => {
                    if let Ok(target) = readlinkat(current.as_fd(), part.as_os_str()) {
                        links += 1;
                        if links > MAX_SYMLINKS {
                            return Err(RootfsError::sys("resolve", &shown)(Errno::ELOOP));
                        }
                        let target = PathBuf::from(target);
                        if target.is_absolute() {
                            done = PathBuf::new();
                        }
                        for c in components(&target).into_iter().rev() {
                            pending.push_front(c.to_owned());
                        }
                        continue;
                    }
                    let file = pending.is_empty() && last == Create::File;
                    create(current.as_fd(), &part, file).map_err(|errno| match errno {
                        Errno::EEXIST => RootfsError::DanglingSymlink {
                            path: shown.clone(),
                        },
                        errno => RootfsError::sys("create", &shown)(errno),
                    })?;
                    current = open_in_root(self.fd(), &candidate)
                        .map_err(RootfsError::sys("open", &shown))?;
                    done = candidate;
                }
                Err(errno) => return Err(RootfsError::sys("open", &shown)(errno)),
            }
        }
        Ok(current)
    }
}

/// Symlinks followed while creating one path before giving up (the kernel's limit, path_resolution(7)).
const MAX_SYMLINKS: usize = 40;

/// The path through which mount(2) and friends act on exactly the object `fd` refers to.
pub fn fd_path(fd: BorrowedFd<'_>) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// `path` made relative to the root ("" for "/"): the kernel resolves `..` and symlinks.
pub fn relative(path: &Path) -> PathBuf {
    components(path).iter().collect()
}

/// The components that matter for resolution: `/` and `.` dropped, `..` kept.
fn components(path: &Path) -> Vec<&OsStr> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name),
            Component::ParentDir => Some(OsStr::new("..")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
        })
        .collect()
}

fn open_in_root(root: BorrowedFd<'_>, relative: &Path) -> Result<OwnedFd, Errno> {
    let target: &Path = if relative.as_os_str().is_empty() {
        Path::new(".")
    } else {
        relative
    };
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    loop {
        match openat2(root, target, how) {
            // openat2 asks to retry when a rename raced the lookup.
            Err(Errno::EAGAIN) => continue,
            other => return other,
        }
    }
}

fn create(parent: BorrowedFd<'_>, name: &OsStr, file: bool) -> Result<(), Errno> {
    if file {
        openat(
            parent,
            name,
            OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(0o644),
        )
        .map(drop)
    } else {
        match mkdirat(parent, name, Mode::from_bits_truncate(0o755)) {
            // Lost a race with another creator of the same directory: fine.
            Err(Errno::EEXIST) if is_dir_at(parent, name) => Ok(()),
            other => other,
        }
    }
}

fn is_dir_at(parent: BorrowedFd<'_>, name: &OsStr) -> bool {
    nix::sys::stat::fstatat(parent, name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW)
        .map(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR)
        .unwrap_or(false)
}

/// The host path an fd refers to now (readlink of its /proc magic link), for messages and
/// mountinfo lookups.
pub fn real_path(fd: BorrowedFd<'_>) -> Option<PathBuf> {
    std::fs::read_link(fd_path(fd)).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tree() -> (tempfile::TempDir, Root) {
        let dir = tempfile::tempdir().unwrap();
        let rootfs = dir.path().join("rootfs");
        std::fs::create_dir_all(rootfs.join("etc")).unwrap();
        std::fs::create_dir_all(dir.path().join("outside")).unwrap();
        let root = Root::open(&rootfs).unwrap();
        (dir, root)
    }

    fn real(fd: &OwnedFd) -> PathBuf {
        real_path(fd.as_fd()).unwrap()
    }

    #[test]
    fn relative_drops_root_and_dots() {
        assert_eq!(
            relative(Path::new("/a/./b/../c")),
            PathBuf::from("a/b/../c")
        );
        assert_eq!(relative(Path::new("/")), PathBuf::from(""));
        assert_eq!(relative(Path::new("proc")), PathBuf::from("proc"));
    }

    #[test]
    fn creates_missing_directories() {
        let (dir, root) = tree();
        let fd = root
            .resolve_or_create(Path::new("/a/b/c"), Create::Dir)
            .unwrap();
        let expected = dir.path().join("rootfs/a/b/c").canonicalize().unwrap();
        assert_eq!(real(&fd), expected);
        assert!(expected.is_dir());
    }

    #[test]
    fn creates_an_empty_final_file() {
        let (dir, root) = tree();
        let fd = root
            .resolve_or_create(Path::new("/etc/resolv.conf"), Create::File)
            .unwrap();
        let expected = dir.path().join("rootfs/etc/resolv.conf");
        assert!(expected.is_file());
        assert_eq!(real(&fd), expected.canonicalize().unwrap());
    }

    #[test]
    fn absolute_symlink_stays_inside() {
        let (dir, root) = tree();
        let outside = dir.path().join("outside");
        symlink(&outside, dir.path().join("rootfs/escape")).unwrap();
        let fd = root
            .resolve_or_create(Path::new("/escape/x"), Create::Dir)
            .unwrap();
        // "/<tmp>/outside" is read inside the root: rootfs/<tmp>/outside/x.
        let inside = dir.path().join("rootfs").join(relative(&outside)).join("x");
        assert_eq!(real(&fd), inside.canonicalize().unwrap());
        assert!(!outside.join("x").exists());
    }

    #[test]
    fn dotdot_symlinks_stay_inside() {
        let (dir, root) = tree();
        symlink("/../../../outside", dir.path().join("rootfs/abs")).unwrap();
        symlink("../../../../outside", dir.path().join("rootfs/etc/rel")).unwrap();
        let a = root
            .resolve_or_create(Path::new("/abs/x"), Create::Dir)
            .unwrap();
        let b = root
            .resolve_or_create(Path::new("/etc/rel/y"), Create::Dir)
            .unwrap();
        let rootfs = dir.path().join("rootfs").canonicalize().unwrap();
        assert_eq!(real(&a), rootfs.join("outside/x"));
        assert_eq!(real(&b), rootfs.join("outside/y"));
        assert!(!dir.path().join("outside/x").exists());
        assert!(!dir.path().join("outside/y").exists());
    }

    #[test]
    fn dotdot_in_destination_stays_inside() {
        let (dir, root) = tree();
        let fd = root
            .resolve_or_create(Path::new("/../../../etc/../../z"), Create::Dir)
            .unwrap();
        assert_eq!(
            real(&fd),
            dir.path().join("rootfs/z").canonicalize().unwrap()
        );
    }

    #[test]
    fn dangling_symlink_is_followed_inside() {
        let (dir, root) = tree();
        symlink("/run", dir.path().join("rootfs/var-run")).unwrap();
        let fd = root
            .resolve_or_create(Path::new("/var-run/x"), Create::Dir)
            .unwrap();
        let rootfs = dir.path().join("rootfs").canonicalize().unwrap();
        assert_eq!(real(&fd), rootfs.join("run/x"));
    }

    #[test]
    fn symlink_loop_is_an_error() {
        let (dir, root) = tree();
        symlink("/b", dir.path().join("rootfs/a")).unwrap();
        symlink("/a", dir.path().join("rootfs/b")).unwrap();
        let err = root
            .resolve_or_create(Path::new("/a/x"), Create::Dir)
            .unwrap_err();
        assert!(err.to_string().contains("ELOOP"), "{err}");
    }

    #[test]
    fn missing_path_without_create_is_enoent() {
        let (_dir, root) = tree();
        assert_eq!(root.resolve(Path::new("/nope")).unwrap_err(), Errno::ENOENT);
        assert!(root.resolve(Path::new("/")).is_ok());
    }

    /// A component of generated paths: names that may exist, `..`, or a jump to the root.
    fn component() -> impl proptest::strategy::Strategy<Value = &'static str> {
        proptest::sample::select(vec!["a", "b", "c", "..", "outside"])
    }

    fn join(parts: &[&str], absolute: bool) -> String {
        let body = parts.join("/");
        if absolute {
            format!("/{body}")
        } else {
            body
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 200,
            failure_persistence: None,
            ..Default::default()
        })]

        /// Whatever directories and symlinks (absolute, relative, with `..`, pointing at the
        /// host's "outside" sibling) the image holds, resolving and creating a destination never
        /// reaches or creates anything outside the rootfs.
        #[test]
        fn never_escapes(
            dirs in proptest::collection::vec(proptest::collection::vec(component(), 1..3), 0..4),
            links in proptest::collection::vec(
                (proptest::collection::vec(component(), 1..3),
                 proptest::collection::vec(component(), 0..5),
                 proptest::bool::ANY),
                0..5),
            dest in proptest::collection::vec(component(), 1..6),
        ) {
            let (dir, root) = tree();
            let rootfs = dir.path().join("rootfs");
            let outside = dir.path().join("outside");
            // The image's own entries are inside it: no `..` and no symlink on the way to
            // where they are made (the host's std::fs would follow it).
            let plain = |parts: &[&str]| {
                !parts.contains(&"..")
                    && (1..parts.len()).all(|n| {
                        std::fs::symlink_metadata(rootfs.join(join(&parts[..n], false)))
                            .map_or(true, |m| !m.file_type().is_symlink())
                    })
            };
            for d in dirs.iter().filter(|d| plain(d)) {
                let _ = std::fs::create_dir_all(rootfs.join(join(d, false)));
            }
            for (at, target, absolute) in links.iter().filter(|l| plain(&l.0)) {
                let _ = symlink(join(target, *absolute), rootfs.join(join(at, false)));
            }
            let canonical = rootfs.canonicalize().unwrap();
            if let Ok(fd) = root.resolve_or_create(Path::new(&join(&dest, true)), Create::Dir) {
                let real = real(&fd);
                proptest::prop_assert!(real.starts_with(&canonical), "{real:?} left the rootfs");
            }
            proptest::prop_assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
            let siblings: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
            proptest::prop_assert_eq!(siblings.len(), 2);
        }
    }
}
