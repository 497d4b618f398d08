//! `linux.sysctl` (config-linux.md "Sysctl"): kernel parameters set for the container.
//!
//! Only a parameter that one of the container's own namespaces isolates may be set: written
//! anywhere else it would change the host (`kernel.panic` in a config is a host-wide write,
//! which the bundle must never be able to make). As runc decides it: the System V IPC keys
//! and `fs.mqueue.*` need an ipc namespace, `net.*` a network namespace, `kernel.hostname`
//! and `kernel.domainname` a uts namespace — each one new, or joined by path but not the
//! runtime's own. Everything else is refused before anything is created, naming the key.
//! The keys' components may not climb out of /proc/sys (`net.ipv4/../../kernel/panic`).

use std::path::PathBuf;

use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType};

/// The IPC keys of ipc_namespaces(7) outside fs.mqueue.
const IPC_KEYS: &[&str] = &[
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// The file under /proc/sys of `key`, relative: dots separate components unless the key uses
/// slashes (sysctl.d(5), where a dot can then be part of a name: `net/ipv4/conf/eth0.100/...`).
pub fn relative_path(key: &str) -> Result<PathBuf, String> {
    let separator = if key.contains('/') { '/' } else { '.' };
    let parts: Vec<&str> = key.split(separator).collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || *p == "." || *p == "..")
    {
        return Err("not a sysctl name (an empty, . or .. component)".into());
    }
    Ok(parts.iter().collect())
}

/// Which namespace isolates `key`, by its canonical dotted name.
fn isolating_namespace(dotted: &str) -> Option<LinuxNamespaceType> {
    if IPC_KEYS.contains(&dotted) || dotted.starts_with("fs.mqueue.") {
        Some(LinuxNamespaceType::Ipc)
    } else if dotted.starts_with("net.") {
        Some(LinuxNamespaceType::Network)
    } else if dotted == "kernel.hostname" || dotted == "kernel.domainname" {
        Some(LinuxNamespaceType::Uts)
    } else {
        None
    }
}

/// Refuses every key the container's namespaces do not isolate. The error is (key, reason).
pub fn check(
    sysctl: &std::collections::HashMap<String, String>,
    namespaces: &[LinuxNamespace],
) -> Result<(), (String, String)> {
    let mut keys: Vec<&String> = sysctl.keys().collect();
    keys.sort(); // a stable first error
    for key in keys {
        let fail = |m: String| (key.clone(), m);
        let rel = relative_path(key).map_err(fail)?;
        let dotted = rel.to_string_lossy().replace('/', ".");
        let Some(typ) = isolating_namespace(&dotted) else {
            return Err(fail(
                "not isolated by a namespace of the container (it would be set for the whole host)"
                    .into(),
            ));
        };
        let name = crate::namespaces::proc_name(typ);
        match namespaces.iter().find(|n| n.typ() == typ) {
            None => {
                return Err(fail(format!(
                    "needs a {name} namespace in linux.namespaces"
                )))
            }
            Some(ns) => {
                if let Some(path) = ns.path() {
                    if crate::namespaces::is_runtimes_own(typ, path) {
                        return Err(fail(format!(
                            "the {name} namespace {} is the host's",
                            path.display()
                        )));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Writes every key, in the container's namespaces (called by the init before the rootfs is
/// set up, so /proc is still the runtime's procfs, never one the container could fake). The
/// file is opened beneath /proc/sys without following any link.
pub fn apply(sysctl: &std::collections::HashMap<String, String>) -> Result<(), String> {
    use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
    use nix::sys::stat::Mode;
    let dir = nix::fcntl::open(
        "/proc/sys",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| format!("open /proc/sys: {}", crate::errno_text_raw(e as i32)))?;
    for (key, value) in sysctl {
        let fail =
            |e: nix::errno::Errno| format!("sysctl {key}: {}", crate::errno_text_raw(e as i32));
        let rel = relative_path(key).map_err(|m| format!("sysctl {key}: {m}"))?;
        let how = OpenHow::new()
            .flags(OFlag::O_WRONLY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW)
            .resolve(
                ResolveFlag::RESOLVE_BENEATH
                    | ResolveFlag::RESOLVE_NO_SYMLINKS
                    | ResolveFlag::RESOLVE_NO_MAGICLINKS
                    | ResolveFlag::RESOLVE_NO_XDEV,
            );
        let fd = openat2(&dir, rel.as_path(), how).map_err(fail)?;
        let mut file = std::fs::File::from(fd);
        std::io::Write::write_all(&mut file, value.as_bytes())
            .map_err(|e| format!("sysctl {key}: {}", crate::errno_text(&e)))?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn ns(typ: &str, path: Option<&str>) -> LinuxNamespace {
        let mut v = serde_json::json!({"type": typ});
        if let Some(p) = path {
            v["path"] = serde_json::json!(p);
        }
        serde_json::from_value(v).unwrap()
    }

    fn one(key: &str) -> HashMap<String, String> {
        HashMap::from([(key.to_string(), "1".to_string())])
    }

    #[test]
    fn names_become_paths_beneath_proc_sys() {
        assert_eq!(
            relative_path("net.ipv4.ip_forward").unwrap(),
            std::path::Path::new("net/ipv4/ip_forward")
        );
        assert_eq!(
            relative_path("net/ipv4/conf/eth0.100/forwarding").unwrap(),
            std::path::Path::new("net/ipv4/conf/eth0.100/forwarding")
        );
        for bad in ["net.ipv4/../../kernel/panic", "net..x", ".net", "net/./x"] {
            assert!(relative_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_namespaced_keys_with_their_namespace() {
        let all = [ns("ipc", None), ns("network", None), ns("uts", None)];
        for key in [
            "kernel.shmmax",
            "kernel.sem",
            "fs.mqueue.msg_max",
            "net.ipv4.ip_forward",
            "net/ipv4/conf/all/forwarding",
            "kernel.domainname",
        ] {
            assert!(check(&one(key), &all).is_ok(), "{key}");
            assert!(
                check(&one(key), &[]).unwrap_err().1.contains("needs a"),
                "{key}"
            );
        }
        for key in [
            "kernel.panic",
            "vm.overcommit_memory",
            "kernel.core_pattern",
            "fs.file-max",
        ] {
            let (k, why) = check(&one(key), &all).unwrap_err();
            assert_eq!(k, key);
            assert!(why.contains("whole host"), "{why}");
        }
    }

    #[test]
    fn a_joined_namespace_must_not_be_the_hosts() {
        let host = [ns("network", Some("/proc/self/ns/net"))];
        let (_, why) = check(&one("net.ipv4.ip_forward"), &host).unwrap_err();
        assert!(why.contains("is the host's"), "{why}");
    }
}
