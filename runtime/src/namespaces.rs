//! Linux namespaces: which to join by path, which to create, user ns id maps, time ns offsets
//! (config-linux.md "Namespaces", "User namespace mappings", "Offset for Time Namespace").

use nix::sched::CloneFlags;
use oci_spec::runtime::{Linux, LinuxIdMapping, LinuxNamespaceType, Spec};
use std::fmt::Write as _;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum NamespaceError {
    #[error("open namespace {path}: {reason}")]
    Open { path: String, reason: String },
    #[error("join {kind} namespace: {reason}")]
    Join { kind: &'static str, reason: String },
    #[error("create namespaces ({flags}): {reason}")]
    Unshare { flags: String, reason: String },
    #[error("write {file}: {reason}")]
    Write { file: String, reason: String },
}

/// The name of the namespace in `/proc/PID/ns/` and in error messages.
pub fn proc_name(typ: LinuxNamespaceType) -> &'static str {
    match typ {
        LinuxNamespaceType::Mount => "mnt",
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Network => "net",
        LinuxNamespaceType::Time => "time",
    }
}

/// The `CLONE_NEW*` flag of a namespace type (namespaces(7)).
pub fn clone_flag(typ: LinuxNamespaceType) -> CloneFlags {
    match typ {
        LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
        LinuxNamespaceType::User => CloneFlags::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => CloneFlags::CLONE_NEWPID,
        LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
        // nix has no CLONE_NEWTIME; the value is the kernel's.
        LinuxNamespaceType::Time => CloneFlags::from_bits_retain(libc::CLONE_NEWTIME),
    }
}

/// A namespace type this kernel lacks is an error (config-linux.md "Namespaces": the runtime
/// MUST generate an error when it cannot apply a property).
pub fn check_supported(typ: LinuxNamespaceType) -> Result<(), String> {
    let file = format!("/proc/self/ns/{}", proc_name(typ));
    match std::fs::symlink_metadata(&file) {
        Ok(_) => Ok(()),
        Err(_) => Err(format!(
            "{} namespaces are not supported by this kernel",
            proc_name(typ)
        )),
    }
}

/// config-linux.md "Namespaces": `path` MUST be absolute and the runtime MUST generate an error
/// if it is not associated with a namespace of type `type`.
pub fn check_path(typ: LinuxNamespaceType, path: &Path) -> Result<(), String> {
    if !path.is_absolute() {
        return Err(format!("{} is not an absolute path", path.display()));
    }
    let fd = open(path).map_err(|e| e.to_string())?;
    match ns_type(&fd) {
        Ok(actual) if actual == clone_flag(typ).bits() => Ok(()),
        Ok(_) => Err(format!(
            "{} is not a {} namespace",
            path.display(),
            proc_name(typ)
        )),
        Err(e) => Err(format!(
            "{} is not a namespace: {}",
            path.display(),
            crate::errno_text_raw(e)
        )),
    }
}

/// NS_GET_NSTYPE (ioctl_ns(2)): the `CLONE_NEW*` type of a namespace fd.
fn ns_type(fd: &OwnedFd) -> Result<i32, i32> {
    const NS_GET_NSTYPE: libc::c_ulong = 0xb703;
    // SAFETY: NS_GET_NSTYPE takes no argument and only returns an int.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), NS_GET_NSTYPE) };
    if r < 0 {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        Ok(r)
    }
}

pub(crate) fn open(path: &Path) -> Result<OwnedFd, NamespaceError> {
    std::fs::File::open(path)
        .map(OwnedFd::from)
        .map_err(|e| NamespaceError::Open {
            path: path.display().to_string(),
            reason: crate::errno_text(&e),
        })
}

/// What stage-1 does with namespaces: join these (already opened, user first) then create
/// those.
#[derive(Debug, Default)]
pub struct Plan {
    pub join: Vec<(LinuxNamespaceType, OwnedFd)>,
    pub create: Vec<LinuxNamespaceType>,
}

impl Plan {
    /// Opens every namespace to join now, in the runtime's mount namespace where the paths
    /// resolve (config-linux.md "Namespaces": `path` is in the runtime mount namespace).
    pub fn from_spec(spec: &Spec) -> Result<Self, NamespaceError> {
        let mut plan = Plan::default();
        let namespaces = spec
            .linux()
            .as_ref()
            .and_then(|l| l.namespaces().as_deref())
            .unwrap_or_default();
        for ns in namespaces {
            match ns.path() {
                Some(path) => plan.join.push((ns.typ(), open(path)?)),
                None => plan.create.push(ns.typ()),
            }
        }
        // Joining the user namespace first gives the capabilities to join the others.
        plan.join
            .sort_by_key(|(t, _)| *t != LinuxNamespaceType::User);
        Ok(plan)
    }

    pub fn creates(&self, typ: LinuxNamespaceType) -> bool {
        self.create.contains(&typ)
    }

    pub fn joins(&self, typ: LinuxNamespaceType) -> bool {
        self.join.iter().any(|(t, _)| *t == typ)
    }

    /// Flags of the namespaces to create other than the user one.
    pub fn unshare_flags(&self) -> CloneFlags {
        self.create
            .iter()
            .filter(|t| **t != LinuxNamespaceType::User)
            .fold(CloneFlags::empty(), |acc, t| acc | clone_flag(*t))
    }
}

/// setns(2) into one namespace.
pub fn join(typ: LinuxNamespaceType, fd: &OwnedFd) -> Result<(), NamespaceError> {
    nix::sched::setns(fd, clone_flag(typ)).map_err(|e| NamespaceError::Join {
        kind: proc_name(typ),
        reason: crate::errno_text_raw(e as i32),
    })
}

/// unshare(2) the given namespaces.
pub fn unshare(flags: CloneFlags) -> Result<(), NamespaceError> {
    if flags.is_empty() {
        return Ok(());
    }
    nix::sched::unshare(flags).map_err(|e| NamespaceError::Unshare {
        flags: flag_names(flags),
        reason: crate::errno_text_raw(e as i32),
    })
}

fn flag_names(flags: CloneFlags) -> String {
    use LinuxNamespaceType as T;
    [
        T::User,
        T::Mount,
        T::Uts,
        T::Ipc,
        T::Network,
        T::Pid,
        T::Cgroup,
        T::Time,
    ]
    .into_iter()
    .filter(|t| flags.contains(clone_flag(*t)))
    .map(proc_name)
    .collect::<Vec<_>>()
    .join(",")
}

/// Writes `/proc/PID/uid_map` and `gid_map` of a process that just created a user namespace
/// (config-linux.md "User namespace mappings"; user_namespaces(7)). An unprivileged writer
/// must deny setgroups first.
pub fn write_id_maps(pid: i32, linux: &Linux) -> Result<(), NamespaceError> {
    let dir = format!("/proc/{pid}");
    if !nix::unistd::geteuid().is_root() {
        write_file(&format!("{dir}/setgroups"), "deny")?;
    }
    let uid = render_map(linux.uid_mappings().as_deref().unwrap_or_default());
    let gid = render_map(linux.gid_mappings().as_deref().unwrap_or_default());
    if !uid.is_empty() {
        write_file(&format!("{dir}/uid_map"), &uid)?;
    }
    if !gid.is_empty() {
        write_file(&format!("{dir}/gid_map"), &gid)?;
    }
    Ok(())
}

fn render_map(maps: &[LinuxIdMapping]) -> String {
    let mut out = String::new();
    for m in maps {
        let _ = writeln!(out, "{} {} {}", m.container_id(), m.host_id(), m.size());
    }
    out
}

/// time_namespaces(7): offsets are written to `/proc/self/timens_offsets` after
/// `unshare(CLONE_NEWTIME)` and before any process enters the namespace.
pub fn write_time_offsets(linux: &Linux) -> Result<(), NamespaceError> {
    let Some(offsets) = linux.time_offsets() else {
        return Ok(());
    };
    let mut text = String::new();
    for (clock, off) in offsets {
        let _ = writeln!(
            text,
            "{clock} {} {}",
            off.secs().unwrap_or(0),
            off.nanosecs().unwrap_or(0)
        );
    }
    if text.is_empty() {
        return Ok(());
    }
    write_file("/proc/self/timens_offsets", &text)
}

fn write_file(file: &str, text: &str) -> Result<(), NamespaceError> {
    std::fs::write(file, text).map_err(|e| NamespaceError::Write {
        file: file.to_string(),
        reason: crate::errno_text(&e),
    })
}

/// Whether the namespace at `path` is the one the runtime itself is in.
pub fn is_runtimes_own(typ: LinuxNamespaceType, path: &Path) -> bool {
    let ours = Path::new("/proc/self/ns").join(proc_name(typ));
    match (std::fs::metadata(path), std::fs::metadata(ours)) {
        (Ok(a), Ok(b)) => {
            use std::os::unix::fs::MetadataExt;
            a.dev() == b.dev() && a.ino() == b.ino()
        }
        _ => false,
    }
}
