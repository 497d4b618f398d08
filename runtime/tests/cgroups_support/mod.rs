//! Helpers shared by the cgroupfs manager tests (cgroups.rs, cgroups_resources.rs): a fake
//! cgroup2 mount on a plain directory, the root-and-cgroupfs check, and drop guards for a
//! sleeping process and a cgroup.
#![allow(dead_code, clippy::unwrap_used)] // not every test file uses every helper

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use ocirun::cgroups::detect::{Hierarchies, Hierarchy, Version};
use ocirun::cgroups::CgroupManager;

/// Hierarchies with only a unified (cgroup2) mount at `root`, a plain directory: the manager's
/// logic without root.
pub fn fake_unified(root: &Path) -> Hierarchies {
    Hierarchies {
        v1: vec![],
        unified: Some(Hierarchy {
            version: Version::V2,
            mount_point: root.to_owned(),
            mount_root: PathBuf::from("/"),
        }),
    }
}

/// True when running as root with a mounted cgroup filesystem; otherwise prints why the test
/// is skipped.
pub fn root_or_skip() -> bool {
    let ok =
        nix::unistd::geteuid().is_root() && Hierarchies::detect().is_ok_and(|h| h.mode().is_some());
    if !ok {
        eprintln!("skipped: needs root and a mounted cgroup filesystem");
    }
    ok
}

/// A sleeping process, killed and reaped on drop.
pub struct Sleeper(Child);

impl Sleeper {
    pub fn new() -> Self {
        Self(Command::new("sleep").arg("300").spawn().unwrap())
    }
    pub fn pid(&self) -> i32 {
        self.0.id() as i32
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Removes the cgroup even when an assertion fails.
pub struct Cleanup(pub Box<dyn CgroupManager>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = self.0.remove();
    }
}
