//! Which cgroup hierarchies this host has and where they are mounted (cgroups(7)), read from
//! /proc/self/mountinfo, and which cgroup a process is in, read from `/proc/<pid>/cgroup`.
//!
//! Pure parsers over text plus two small readers, so every host layout (v1, v2, hybrid, inside
//! a container) is unit-tested from recorded text.

use std::path::{Path, PathBuf};

use super::CgroupError;

/// How the host runs cgroups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// cgroup2 only (/sys/fs/cgroup is cgroup2).
    Unified,
    /// cgroup v1 controllers only.
    Legacy,
    /// v1 controllers plus a cgroup2 hierarchy (usually /sys/fs/cgroup/unified).
    Hybrid,
}

/// Which version a hierarchy is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Version {
    /// A v1 hierarchy with its controllers (`cpu`, `memory`, or a named one `name=systemd`).
    V1 {
        controllers: Vec<String>,
    },
    V2,
}

/// One mounted cgroup hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    pub version: Version,
    /// Where it is mounted (e.g. /sys/fs/cgroup/memory).
    pub mount_point: PathBuf,
    /// Which cgroup the mount shows at its mount point (mountinfo field 4, "/" normally).
    pub mount_root: PathBuf,
}

impl Hierarchy {
    /// A short name: the v1 controllers joined by ',' or "unified" for v2.
    pub fn name(&self) -> String {
        match &self.version {
            Version::V1 { controllers } => controllers.join(","),
            Version::V2 => "unified".into(),
        }
    }
}

/// Every cgroup hierarchy mounted in this mount namespace. Injectable: tests build one over a
/// temporary directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hierarchies {
    pub v1: Vec<Hierarchy>,
    pub unified: Option<Hierarchy>,
}

impl Hierarchies {
    /// Reads /proc/self/mountinfo.
    pub fn detect() -> Result<Self, CgroupError> {
        let path = Path::new("/proc/self/mountinfo");
        let text = std::fs::read_to_string(path).map_err(|source| CgroupError::Io {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self::from_mountinfo(&text))
    }

    /// Parses mountinfo text (proc(5) "/proc/pid/mountinfo"); a hierarchy mounted twice (same
    /// device) is kept once, at its first mount point.
    pub fn from_mountinfo(text: &str) -> Self {
        let mut seen = Vec::new();
        let mut found = Self::default();
        for line in text.lines() {
            let Some(entry) = MountinfoEntry::parse(line) else {
                continue;
            };
            let version = match entry.fstype {
                "cgroup2" => Version::V2,
                "cgroup" => Version::V1 {
                    controllers: v1_controllers(entry.super_options),
                },
                _ => continue,
            };
            if seen.contains(&entry.device) {
                continue;
            }
            seen.push(entry.device);
            let hierarchy = Hierarchy {
                version,
                mount_point: entry.mount_point,
                mount_root: entry.root,
            };
            match hierarchy.version {
                Version::V2 if found.unified.is_none() => found.unified = Some(hierarchy),
                Version::V2 => {}
                Version::V1 { .. } => found.v1.push(hierarchy),
            }
        }
        found
    }

    /// The host mode, or `None` when no cgroup filesystem is mounted at all.
    pub fn mode(&self) -> Option<Mode> {
        match (self.v1.is_empty(), self.unified.is_some()) {
            (true, true) => Some(Mode::Unified),
            (false, false) => Some(Mode::Legacy),
            (false, true) => Some(Mode::Hybrid),
            (true, false) => None,
        }
    }

    /// Every hierarchy: the v1 ones, then the unified one.
    pub fn all(&self) -> impl Iterator<Item = &Hierarchy> {
        self.v1.iter().chain(self.unified.iter())
    }
}

/// Where this host keeps each controller: in a v1 hierarchy (by its mount options), or in
/// the cgroup2 hierarchy when its root `cgroup.controllers` lists it. On a hybrid host a
/// controller bound to a v1 hierarchy is not in cgroup2's list (the kernel binds each to one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Controllers {
    /// Every controller of every v1 hierarchy.
    pub v1: Vec<String>,
    /// cgroup2's `cgroup.controllers`; `None` when there is no cgroup2 hierarchy.
    pub v2: Option<Vec<String>>,
}

impl Controllers {
    /// Which version holds `controller`, if any (v1 first: a controller in a v1 hierarchy is
    /// absent from cgroup2).
    pub fn home(&self, controller: &str) -> Option<super::resources::Ver> {
        use super::resources::Ver;
        if self.v1.iter().any(|c| c == controller) {
            Some(Ver::V1)
        } else if self.v2.iter().flatten().any(|c| c == controller) {
            Some(Ver::V2)
        } else {
            None
        }
    }
}

impl Hierarchies {
    /// The controllers of the mounted hierarchies; cgroup2's are read from
    /// `<mount point>/cgroup.controllers` (what the mount's root cgroup may delegate; a
    /// missing file lists none).
    pub fn controllers(&self) -> Controllers {
        let v1 = self
            .v1
            .iter()
            .flat_map(|h| match &h.version {
                Version::V1 { controllers } => controllers.clone(),
                Version::V2 => Vec::new(),
            })
            .collect();
        let v2 = self.unified.as_ref().map(|u| {
            std::fs::read_to_string(u.mount_point.join("cgroup.controllers"))
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect()
        });
        Controllers { v1, v2 }
    }
}

/// The fields of one mountinfo line that matter here.
struct MountinfoEntry<'a> {
    device: &'a str,
    root: PathBuf,
    mount_point: PathBuf,
    fstype: &'a str,
    super_options: &'a str,
}

impl<'a> MountinfoEntry<'a> {
    fn parse(line: &'a str) -> Option<Self> {
        let (left, right) = line.split_once(" - ")?;
        let mut l = left.split(' ');
        let _id = l.next()?;
        let _parent = l.next()?;
        let device = l.next()?;
        let root = unescape(l.next()?);
        let mount_point = unescape(l.next()?);
        let mut r = right.split(' ');
        let fstype = r.next()?;
        let _source = r.next()?;
        let super_options = r.next().unwrap_or("");
        Some(Self {
            device,
            root,
            mount_point,
            fstype,
            super_options,
        })
    }
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo` octal.
pub(crate) fn unescape(field: &str) -> PathBuf {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = bytes
            .get(i + 1..i + 4)
            .filter(|d| bytes[i] == b'\\' && d.len() == 3);
        if let Some(value) = escaped
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u8::from_str_radix(d, 8).ok())
        {
            out.push(value);
            i += 4;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    use std::os::unix::ffi::OsStringExt;
    PathBuf::from(std::ffi::OsString::from_vec(out))
}

/// The controllers of a v1 mount from its super options (`rw,cpu,cpuacct` → cpu, cpuacct).
fn v1_controllers(super_options: &str) -> Vec<String> {
    const NOT_CONTROLLERS: [&str; 7] = [
        "rw",
        "ro",
        "noprefix",
        "clone_children",
        "xattr",
        "cpuset_v2_mode",
        "favordynmods",
    ];
    super_options
        .split(',')
        .filter(|o| !o.is_empty() && !NOT_CONTROLLERS.contains(o))
        .filter(|o| !o.starts_with("release_agent="))
        .map(str::to_owned)
        .collect()
}

/// The cgroups a process is in, one line of `/proc/<pid>/cgroup` per hierarchy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessCgroups {
    /// (controllers, path); v2 is the line with hierarchy id 0 and no controllers.
    entries: Vec<(Vec<String>, PathBuf)>,
}

impl ProcessCgroups {
    /// Reads /proc/self/cgroup.
    pub fn of_self() -> Result<Self, CgroupError> {
        Self::read(Path::new("/proc/self/cgroup"))
    }

    /// Reads `/proc/<pid>/cgroup`.
    pub fn of_pid(pid: i32) -> Result<Self, CgroupError> {
        Self::read(&PathBuf::from(format!("/proc/{pid}/cgroup")))
    }

    fn read(path: &Path) -> Result<Self, CgroupError> {
        let text = std::fs::read_to_string(path).map_err(|source| CgroupError::Io {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self::parse(&text))
    }

    /// Parses `/proc/<pid>/cgroup` text (cgroups(7) "/proc/pid/cgroup").
    pub fn parse(text: &str) -> Self {
        let entries = text
            .lines()
            .filter_map(|line| {
                let mut parts = line.splitn(3, ':');
                let _id = parts.next()?;
                let controllers = parts.next()?;
                let path = parts.next()?;
                let controllers = controllers
                    .split(',')
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned)
                    .collect();
                Some((controllers, PathBuf::from(path)))
            })
            .collect();
        Self { entries }
    }

    /// The process's cgroup in `hierarchy` (relative to the hierarchy's root).
    pub fn path_in(&self, hierarchy: &Hierarchy) -> Option<&Path> {
        self.entries
            .iter()
            .find(|(controllers, _)| match &hierarchy.version {
                Version::V2 => controllers.is_empty(),
                Version::V1 {
                    controllers: wanted,
                } => {
                    !controllers.is_empty()
                        && controllers.len() == wanted.len()
                        && wanted.iter().all(|w| controllers.contains(w))
                }
            })
            .map(|(_, path)| path.as_path())
    }

    /// The host directory of the process's cgroup in `hierarchy` (mount point plus the path
    /// below the mount's root), if that cgroup is visible through the mount.
    pub fn dir_in(&self, hierarchy: &Hierarchy) -> Option<PathBuf> {
        let path = self.path_in(hierarchy)?;
        let below = path.strip_prefix(&hierarchy.mount_root).ok()?;
        Some(hierarchy.mount_point.join(below))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    /// This machine's layout: v1 controllers + cgroup2 at /sys/fs/cgroup/unified.
    const HYBRID: &str = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,release_agent=/x,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
90 27 0:32 /sub /mnt/memory\\040again rw - cgroup cgroup rw,memory
";

    const UNIFIED: &str = "\
30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";

    #[test]
    fn hybrid_host() {
        let h = Hierarchies::from_mountinfo(HYBRID);
        assert_eq!(h.mode(), Some(Mode::Hybrid));
        let names: Vec<_> = h.all().map(Hierarchy::name).collect();
        assert_eq!(names, ["cpu", "memory", "name=systemd", "unified"]);
        assert_eq!(
            h.unified.as_ref().unwrap().mount_point,
            PathBuf::from("/sys/fs/cgroup/unified")
        );
    }

    #[test]
    fn unified_and_legacy_hosts() {
        let h = Hierarchies::from_mountinfo(UNIFIED);
        assert_eq!(h.mode(), Some(Mode::Unified));
        assert!(h.v1.is_empty());
        let legacy: String = HYBRID
            .lines()
            .filter(|l| !l.contains("cgroup2"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(
            Hierarchies::from_mountinfo(&legacy).mode(),
            Some(Mode::Legacy)
        );
        assert_eq!(Hierarchies::from_mountinfo("").mode(), None);
    }

    #[test]
    fn unescapes_octal() {
        assert_eq!(unescape("/a\\040b"), PathBuf::from("/a b"));
        assert_eq!(unescape("/plain"), PathBuf::from("/plain"));
        assert_eq!(unescape("/end\\"), PathBuf::from("/end\\"));
    }

    #[test]
    fn process_cgroup_paths() {
        let h = Hierarchies::from_mountinfo(HYBRID);
        let own =
            ProcessCgroups::parse("9:name=systemd:/\n4:memory:/process_api/x\n1:cpu:/a\n0::/u\n");
        let memory = &h.v1[1];
        assert_eq!(own.path_in(memory), Some(Path::new("/process_api/x")));
        assert_eq!(
            own.dir_in(memory),
            Some(PathBuf::from("/sys/fs/cgroup/memory/process_api/x"))
        );
        let unified = h.unified.as_ref().unwrap();
        assert_eq!(
            own.dir_in(unified),
            Some(PathBuf::from("/sys/fs/cgroup/unified/u"))
        );
        assert_eq!(
            own.dir_in(&h.v1[2]),
            Some(PathBuf::from("/sys/fs/cgroup/systemd"))
        );
    }
}
