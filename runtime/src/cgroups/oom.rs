//! Waiting for the container's OOM kills, as runc's `events` reports them ("oom" events):
//! - cgroup v1: an eventfd registered on `memory.oom_control` through `cgroup.event_control`
//!   (cgroup-v1/memory.rst "OOM Control"); the kernel also signals it when the cgroup is
//!   removed, told apart by the directory being gone;
//! - cgroup v2: inotify on `memory.events`, whose `oom_kill` count going up is a kill
//!   (cgroup-v2.rst "memory.events": the file is modified on every change).
//!
//! Without a memory controller nothing can be watched: the watch never fires.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use super::detect::Version;
use super::manager::CgroupDir;
use super::CgroupError;

/// What a wake of the watch found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OomNews {
    /// The cgroup hit its memory limit (v1) or a process was OOM-killed (v2) since the last
    /// look.
    pub oom: bool,
    /// The cgroup is gone (v1: removed): nothing more will come.
    pub gone: bool,
}

/// A watch on the container's memory cgroup.
#[derive(Debug)]
pub struct OomWatch {
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    V1 {
        eventfd: OwnedFd,
        /// Kept open: the kernel's registration lives as long as this fd.
        _control: std::fs::File,
        dir: PathBuf,
    },
    V2 {
        inotify: OwnedFd,
        events: PathBuf,
        seen: u64,
    },
    Nothing,
}

fn os(path: &Path) -> impl FnOnce(std::io::Error) -> CgroupError + '_ {
    move |source| CgroupError::Io {
        path: path.to_owned(),
        source,
    }
}

impl OomWatch {
    /// Watches the memory cgroup among `dirs` (the v1 memory hierarchy, else cgroup2 when
    /// its memory controller is enabled there).
    pub fn new(dirs: &[CgroupDir]) -> Result<Self, CgroupError> {
        let v1 = dirs.iter().find(|d| {
            matches!(&d.hierarchy.version, Version::V1 { controllers } if controllers.iter().any(|c| c == "memory"))
        });
        if let Some(dir) = v1 {
            return Self::v1(&dir.path);
        }
        let v2 = dirs
            .iter()
            .find(|d| d.hierarchy.version == Version::V2)
            .map(|d| d.path.join("memory.events"))
            .filter(|events| events.exists());
        match v2 {
            Some(events) => Self::v2(events),
            None => Ok(Self {
                kind: Kind::Nothing,
            }),
        }
    }

    fn v1(dir: &Path) -> Result<Self, CgroupError> {
        let oom_control = dir.join("memory.oom_control");
        let control = std::fs::File::open(&oom_control).map_err(os(&oom_control))?;
        // SAFETY: eventfd(2) with constant flags; the result is checked.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
        if fd < 0 {
            return Err(os(dir)(std::io::Error::last_os_error()));
        }
        // SAFETY: fd was just returned by eventfd and is ours.
        let eventfd = unsafe { OwnedFd::from_raw_fd(fd) };
        let line = format!("{} {}", eventfd.as_raw_fd(), control.as_raw_fd());
        super::fs::write(&dir.join("cgroup.event_control"), &line)?;
        Ok(Self {
            kind: Kind::V1 {
                eventfd,
                _control: control,
                dir: dir.to_owned(),
            },
        })
    }

    fn v2(events: PathBuf) -> Result<Self, CgroupError> {
        // SAFETY: inotify_init1(2) with constant flags; the result is checked.
        let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) };
        if fd < 0 {
            return Err(os(&events)(std::io::Error::last_os_error()));
        }
        // SAFETY: fd was just returned by inotify_init1 and is ours.
        let inotify = unsafe { OwnedFd::from_raw_fd(fd) };
        let c_path = std::ffi::CString::new(events.as_os_str().as_encoded_bytes())
            .map_err(|_| CgroupError::Other(format!("{}: NUL in path", events.display())))?;
        // SAFETY: a valid inotify fd and a NUL-terminated path.
        let wd = unsafe {
            libc::inotify_add_watch(inotify.as_raw_fd(), c_path.as_ptr(), libc::IN_MODIFY)
        };
        if wd < 0 {
            return Err(os(&events)(std::io::Error::last_os_error()));
        }
        let seen = oom_kills(&events);
        Ok(Self {
            kind: Kind::V2 {
                inotify,
                events,
                seen,
            },
        })
    }

    /// The fd to poll for readability; `None` when there is nothing to watch.
    pub fn fd(&self) -> Option<BorrowedFd<'_>> {
        match &self.kind {
            Kind::V1 { eventfd, .. } => Some(eventfd.as_fd()),
            Kind::V2 { inotify, .. } => Some(inotify.as_fd()),
            Kind::Nothing => None,
        }
    }

    /// What happened since the last call: to be called when [`OomWatch::fd`] is readable (or
    /// at any time: it does not block).
    pub fn take(&mut self) -> OomNews {
        match &mut self.kind {
            Kind::V1 { eventfd, dir, .. } => {
                if !drain(eventfd, 8) {
                    return OomNews::default();
                }
                if dir.join("cgroup.event_control").exists() {
                    OomNews {
                        oom: true,
                        gone: false,
                    }
                } else {
                    OomNews {
                        oom: false,
                        gone: true,
                    }
                }
            }
            Kind::V2 {
                inotify,
                events,
                seen,
            } => {
                drain(inotify, 4096);
                if !events.exists() {
                    return OomNews {
                        oom: false,
                        gone: true,
                    };
                }
                let now = oom_kills(events);
                let oom = now > *seen;
                *seen = now;
                OomNews { oom, gone: false }
            }
            Kind::Nothing => OomNews::default(),
        }
    }
}

/// Reads whatever is pending on a non-blocking or readable fd; true if anything was.
fn drain(fd: &OwnedFd, size: usize) -> bool {
    let mut pending = false;
    let mut buf = vec![0u8; size];
    loop {
        let mut poll = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, no wait.
        if unsafe { libc::poll(&mut poll, 1, 0) } != 1 {
            return pending;
        }
        // SAFETY: reading into a buffer of `size` bytes that we own.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), size) };
        if n <= 0 {
            return pending;
        }
        pending = true;
    }
}

/// The `oom_kill` count of a cgroup2 `memory.events`.
fn oom_kills(events: &Path) -> u64 {
    std::fs::read_to_string(events)
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn v2_counts_new_kills_only() {
        let tmp = tempfile::tempdir().unwrap();
        let events = tmp.path().join("memory.events");
        std::fs::write(&events, "low 0\nhigh 0\nmax 3\noom 2\noom_kill 2\n").unwrap();
        let mut watch = OomWatch::v2(events.clone()).unwrap();
        assert_eq!(
            watch.take(),
            OomNews::default(),
            "kills before the watch are old news"
        );
        std::fs::write(&events, "low 0\nhigh 0\nmax 4\noom 3\noom_kill 3\n").unwrap();
        let mut poll = libc::pollfd {
            fd: watch.fd().unwrap().as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        assert_eq!(unsafe { libc::poll(&mut poll, 1, 1000) }, 1, "inotify woke");
        assert_eq!(
            watch.take(),
            OomNews {
                oom: true,
                gone: false
            }
        );
        assert_eq!(watch.take(), OomNews::default());
        std::fs::remove_file(&events).unwrap();
        assert_eq!(
            watch.take(),
            OomNews {
                oom: false,
                gone: true
            }
        );
    }
}
