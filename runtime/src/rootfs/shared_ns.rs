//! A container without a new mount namespace (config-linux.md "Namespaces": a type that is not
//! listed is inherited, one with a `path` is joined): its root is entered with chroot(2), and
//! whatever the runtime mounts under the rootfs is seen by everyone in that namespace — the
//! host, when it is the runtime's own. So the mounts that were there before are recorded by
//! mount id ([`mounts_before`]) and `delete` unmounts every other one under the rootfs
//! ([`unmount_added`]): the namespace is left as it was (runc leaves its /proc there).
//!
//! Nothing host-wide is changed on the way: the propagation of the namespace's `/` and of the
//! mount the rootfs sits on stays as it is; only the runtime's own bind of the rootfs onto
//! itself is made private, so that nothing mounted under it reaches other namespaces.

use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{umount2, MntFlags};
use serde::{Deserialize, Serialize};

/// What `delete` needs to undo the mounts of a container in a shared mount namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SharedMounts {
    /// The namespace joined by `path` (None: the runtime's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<PathBuf>,
    /// The rootfs as the container's init resolved it in that namespace.
    pub rootfs: PathBuf,
    /// Mount ids at or under the rootfs before create: never unmounted.
    pub before: Vec<u32>,
}

/// (mount id, mount point) of every mount at or under `rootfs`, in mountinfo order (a parent
/// before its children).
fn under(rootfs: &Path) -> Vec<(u32, PathBuf)> {
    let Ok(text) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            let id = fields.next()?.parse().ok()?;
            let point = crate::cgroups::detect::unescape(fields.nth(3)?);
            point.starts_with(rootfs).then_some((id, point))
        })
        .collect()
}

/// The mounts already at or under `rootfs`, in this mount namespace.
pub fn mounts_before(rootfs: &Path) -> SharedMounts {
    SharedMounts {
        namespace: None,
        rootfs: rootfs.to_owned(),
        before: under(rootfs).into_iter().map(|(id, _)| id).collect(),
    }
}

/// Unmounts, deepest first, every mount at or under the rootfs that was not there before, in
/// the calling process's mount namespace. Returns the first failure, after trying them all.
pub fn unmount_added(shared: &SharedMounts) -> Result<(), String> {
    let mut first_error = None;
    for (id, point) in under(&shared.rootfs).into_iter().rev() {
        if shared.before.contains(&id) {
            continue;
        }
        match umount2(&point, MntFlags::MNT_DETACH) {
            // Already gone with a parent: fine.
            Ok(()) | Err(Errno::EINVAL | Errno::ENOENT) => {}
            Err(e) => {
                first_error.get_or_insert(format!(
                    "unmount {}: {}",
                    point.display(),
                    crate::errno_text_raw(e as i32)
                ));
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// [`unmount_added`] in the namespace the container joined by path (from a child that enters
/// it, so the runtime itself never changes namespace), or in the runtime's own.
pub fn unmount_added_in_namespace(shared: &SharedMounts) -> Result<(), String> {
    let Some(path) = &shared.namespace else {
        return unmount_added(shared);
    };
    let fd = match crate::namespaces::open(path) {
        Ok(fd) => fd,
        // The namespace is gone, and its mounts with it.
        Err(_) => return Ok(()),
    };
    // SAFETY: ocirun is single-threaded, so the child may run arbitrary code after fork.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            let ok = nix::sched::setns(&fd, nix::sched::CloneFlags::CLONE_NEWNS).is_ok()
                && unmount_added(shared).is_ok();
            crate::process::fork::exit_child(if ok { 0 } else { 1 })
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => match nix::sys::wait::waitpid(child, None)
        {
            Ok(nix::sys::wait::WaitStatus::Exited(_, 0)) => Ok(()),
            _ => Err(format!(
                "unmount what the container mounted in the mount namespace {}",
                path.display()
            )),
        },
        Err(e) => Err(format!("fork: {}", crate::errno_text_raw(e as i32))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn the_record_reads_back() {
        let s = SharedMounts {
            namespace: Some("/proc/7/ns/mnt".into()),
            rootfs: "/b/rootfs".into(),
            before: vec![31, 40],
        };
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(
            json,
            r#"{"namespace":"/proc/7/ns/mnt","rootfs":"/b/rootfs","before":[31,40]}"#
        );
        assert_eq!(serde_json::from_str::<SharedMounts>(&json).unwrap(), s);
    }

    #[test]
    fn nothing_outside_the_rootfs_is_listed() {
        assert!(under(Path::new("/no/such/rootfs")).is_empty());
        // "/" holds everything, and its own mount first.
        let all = under(Path::new("/"));
        assert!(all.iter().any(|(_, p)| p == Path::new("/")));
    }
}
