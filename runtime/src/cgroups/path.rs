//! `linux.cgroupsPath` → the container's directory in each hierarchy (config-linux.md
//! "Cgroups Path").
//!
//! The choices, documented because the spec leaves them to the runtime:
//! - absolute (`/a/b`): below each hierarchy's mount point, as the spec requires ("relative to
//!   the cgroups mount point");
//! - relative (`a/b`): below the cgroup the runtime itself runs in, in each hierarchy (what
//!   runc's cgroupfs driver does, from /proc/self/cgroup), so a runtime started inside a
//!   delegated cgroup creates containers inside it;
//! - absent or empty: [`DEFAULT_PARENT`]`/<container id>`, absolute, so it is the same place
//!   whoever calls the runtime;
//! - `..` components are rejected: they would leave the hierarchy.

use std::path::{Component, Path, PathBuf};

use super::detect::{Hierarchy, ProcessCgroups};
use super::CgroupError;

/// Parent of the default cgroup (`/ocirun/<id>`) when the config has no `cgroupsPath`.
pub const DEFAULT_PARENT: &str = "/ocirun";

/// A validated `cgroupsPath`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CgroupsPath {
    /// Below each hierarchy's mount point (stored without the leading `/`).
    Absolute(PathBuf),
    /// Below the runtime's own cgroup.
    Relative(PathBuf),
}

impl CgroupsPath {
    /// Validates `cgroups_path` (config value) or builds the default from `container_id`.
    pub fn parse(cgroups_path: Option<&Path>, container_id: &str) -> Result<Self, CgroupError> {
        let Some(path) = cgroups_path.filter(|p| !p.as_os_str().is_empty()) else {
            return Ok(Self::Absolute(
                Path::new(DEFAULT_PARENT.trim_start_matches('/')).join(container_id),
            ));
        };
        let mut clean = PathBuf::new();
        for component in path.components() {
            match component {
                Component::Normal(name) => clean.push(name),
                Component::RootDir | Component::CurDir => {}
                Component::ParentDir | Component::Prefix(_) => {
                    return Err(CgroupError::InvalidPath {
                        path: path.to_owned(),
                        reason: "\"..\" would leave the cgroup hierarchy".into(),
                    })
                }
            }
        }
        Ok(if path.is_absolute() {
            Self::Absolute(clean)
        } else {
            Self::Relative(clean)
        })
    }

    /// The container's cgroup directory in `hierarchy`; `own` is the runtime's own cgroups
    /// (only read for a relative path).
    pub fn dir_in(&self, hierarchy: &Hierarchy, own: &ProcessCgroups) -> PathBuf {
        match self {
            Self::Absolute(path) => hierarchy.mount_point.join(path),
            Self::Relative(path) => own
                .dir_in(hierarchy)
                .unwrap_or_else(|| hierarchy.mount_point.clone())
                .join(path),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;
    use crate::cgroups::detect::Version;

    fn memory() -> Hierarchy {
        Hierarchy {
            version: Version::V1 {
                controllers: vec!["memory".into()],
            },
            mount_point: PathBuf::from("/sys/fs/cgroup/memory"),
            mount_root: PathBuf::from("/"),
        }
    }

    #[test]
    fn default_is_ocirun_id() {
        let p = CgroupsPath::parse(None, "c1").unwrap();
        assert_eq!(p, CgroupsPath::Absolute(PathBuf::from("ocirun/c1")));
        let empty = CgroupsPath::parse(Some(Path::new("")), "c1").unwrap();
        assert_eq!(empty, p);
        let own = ProcessCgroups::default();
        assert_eq!(
            p.dir_in(&memory(), &own),
            PathBuf::from("/sys/fs/cgroup/memory/ocirun/c1")
        );
    }

    #[test]
    fn absolute_is_below_the_mount_point() {
        let p = CgroupsPath::parse(Some(Path::new("/a/./b/")), "x").unwrap();
        let own = ProcessCgroups::parse("4:memory:/elsewhere\n");
        assert_eq!(
            p.dir_in(&memory(), &own),
            PathBuf::from("/sys/fs/cgroup/memory/a/b")
        );
    }

    #[test]
    fn relative_is_below_our_own_cgroup() {
        let p = CgroupsPath::parse(Some(Path::new("a/b")), "x").unwrap();
        let own = ProcessCgroups::parse("4:memory:/user/me\n");
        assert_eq!(
            p.dir_in(&memory(), &own),
            PathBuf::from("/sys/fs/cgroup/memory/user/me/a/b")
        );
    }

    #[test]
    fn dotdot_is_rejected() {
        let err = CgroupsPath::parse(Some(Path::new("/a/../../etc")), "x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "linux.cgroupsPath \"/a/../../etc\": \"..\" would leave the cgroup hierarchy"
        );
    }
}
