//! Loading and validating a bundle's `config.json` (bundle.md, config.md, config-linux.md).
//!
//! The file is parsed in three passes so that every error names the file and the JSON path:
//! JSON syntax (line and column), the fields the spec marks REQUIRED (which `oci_spec` silently
//! defaults), then typed deserialization with `serde_path_to_error`. Finally the checks serde
//! cannot do (paths, duplicates, kernel support) run before anything is created, because
//! runtime.md "Create" says an unusable config MUST NOT create a container.

use oci_spec::runtime::{LinuxNamespaceType, Spec};
use serde_json::Value;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The file name of the configuration inside a bundle (bundle.md).
pub const CONFIG_FILE: &str = "config.json";

/// The spec versions this runtime accepts (features.md "Specification version").
pub const OCI_VERSION_MIN: &str = "1.0.0";
pub const OCI_VERSION_MAX: &str = "1.3.0";

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("{}: {}", file.display(), crate::errno_text(source))]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    /// A field that is wrong; `path` is the JSON path (`linux.namespaces[2].type`), `.` for
    /// the document itself (syntax errors).
    #[error("{}: {}", file.display(), FieldError { path: path.clone(), message: message.clone() })]
    Field {
        file: PathBuf,
        path: String,
        message: String,
    },
    #[error("bundle {}: {}", bundle.display(), crate::errno_text(source))]
    Bundle {
        bundle: PathBuf,
        source: std::io::Error,
    },
}

/// A validated configuration and where its pieces live on the host.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub spec: Spec,
    /// The absolute bundle directory (runtime.md "State": `bundle` is absolute).
    pub bundle: PathBuf,
    /// The absolute host path of `root.path`.
    pub rootfs: PathBuf,
    /// `linux.seccomp`, compiled.
    pub seccomp: Option<crate::seccomp::Filter>,
}

/// Reads, parses and validates `<bundle>/config.json`.
pub fn load(bundle: &Path) -> Result<Loaded, SpecError> {
    let bundle = std::fs::canonicalize(bundle).map_err(|source| SpecError::Bundle {
        bundle: bundle.to_path_buf(),
        source,
    })?;
    let file = bundle.join(CONFIG_FILE);
    let bytes = std::fs::read(&file).map_err(|source| SpecError::Read {
        file: file.clone(),
        source,
    })?;
    let spec = parse(&bytes).map_err(|e| e.in_file(&file))?;
    let rootfs = check_root(&spec, &bundle).map_err(|e| e.in_file(&file))?;
    check(&spec).map_err(|e| e.in_file(&file))?;
    let seccomp = compile_seccomp(&spec).map_err(|e| e.in_file(&file))?;
    Ok(Loaded {
        spec,
        bundle,
        rootfs,
        seccomp,
    })
}

/// config-linux.md "Seccomp": compiled now so that an unusable profile fails create early.
pub fn compile_seccomp(spec: &Spec) -> Result<Option<crate::seccomp::Filter>, FieldError> {
    match spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) {
        None => Ok(None),
        Some(profile) => crate::seccomp::compile(profile)
            .map(Some)
            .map_err(|e| FieldError::new(e.path, e.message)),
    }
}

/// A field error before it is attributed to a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// JSON path, `.` for the document itself.
    pub path: String,
    pub message: String,
}

impl FieldError {
    fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }

    fn in_file(self, file: &Path) -> SpecError {
        SpecError::Field {
            file: file.to_path_buf(),
            path: self.path,
            message: self.message,
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path == "." {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Parses config bytes into a typed [`Spec`]: syntax, REQUIRED fields, then types.
/// Never panics, whatever the input (the proptest in tests/spec_parse.rs holds it to that).
pub fn parse(bytes: &[u8]) -> Result<Spec, FieldError> {
    parse_with_warnings(bytes, &mut |w| crate::logging::warn(&w))
}

/// [`parse`], reporting what is ignored through `warn`.
pub fn parse_with_warnings(bytes: &[u8], warn: &mut dyn FnMut(String)) -> Result<Spec, FieldError> {
    let mut value: Value =
        serde_json::from_slice(bytes).map_err(|e| FieldError::new(".", e.to_string()))?;
    check_required(&value)?;
    drop_unknown_capabilities(&mut value, warn);
    if let Some(process) = value.get_mut("process") {
        scheduler_flags_as_oci_spec_reads_them(process);
    }
    serde_path_to_error::deserialize::<_, Spec>(&value).map_err(|e| {
        let path = e.path().to_string();
        FieldError::new(path, e.into_inner().to_string())
    })
}

/// config.md "Scheduler" spells two flags `SCHED_FLAG_RESET_ON_FORK` and
/// `SCHED_FLAG_DL_OVERRUN`; oci-spec 0.10 reads them as `SCHED_RESET_ON_FORK` and
/// `SCHED_FLAG_D_L_OVERRUN` (and writes them so in the state), so a `process` document is
/// brought to its spelling before the typed pass. Both spellings are accepted.
pub fn scheduler_flags_as_oci_spec_reads_them(process: &mut Value) {
    let Some(Value::Array(flags)) = process.pointer_mut("/scheduler/flags") else {
        return;
    };
    for f in flags.iter_mut() {
        let renamed = match f.as_str() {
            Some("SCHED_FLAG_RESET_ON_FORK") => "SCHED_RESET_ON_FORK",
            Some("SCHED_FLAG_DL_OVERRUN") => "SCHED_FLAG_D_L_OVERRUN",
            _ => continue,
        };
        *f = Value::from(renamed);
    }
}

/// config.md "Linux Process": a capability that cannot be mapped to the kernel MUST be logged
/// as a warning and SHOULD NOT fail the container, so unknown names are removed before the
/// typed pass (which only knows the capabilities(7) names).
fn drop_unknown_capabilities(doc: &mut Value, warn: &mut dyn FnMut(String)) {
    let Some(Value::Object(sets)) = doc.pointer_mut("/process/capabilities") else {
        return;
    };
    for (set, names) in sets.iter_mut() {
        let Value::Array(names) = names else { continue };
        names.retain(|n| {
            let known = n
                .as_str()
                .is_some_and(|s| crate::capabilities::NAMES.contains(&s));
            if !known {
                warn(format!(
                    "process.capabilities.{set}: unknown capability {n}, ignored"
                ));
            }
            known
        });
    }
}

/// Fields config.md / config-linux.md mark REQUIRED that `oci_spec` would default silently.
fn check_required(doc: &Value) -> Result<(), FieldError> {
    let Value::Object(_) = doc else {
        return Err(FieldError::new(".", "expected a JSON object"));
    };
    need(doc, "", &["ociVersion", "root"])?;
    need(&doc["root"], "root", &["path"])?;
    if let Some(process) = doc.get("process").filter(|p| !p.is_null()) {
        need(process, "process", &["cwd", "args"])?;
        if let Some(user) = process.get("user").filter(|u| !u.is_null()) {
            need(user, "process.user", &["uid", "gid"])?;
        }
        each(process, "process", "rlimits", &["type", "soft", "hard"])?;
        if let Some(size) = process.get("consoleSize").filter(|s| !s.is_null()) {
            need(size, "process.consoleSize", &["height", "width"])?;
        }
    }
    each(doc, "", "mounts", &["destination"])?;
    if let Some(hooks) = doc.get("hooks").and_then(Value::as_object) {
        for (kind, _) in hooks.iter() {
            each(&doc["hooks"], "hooks", kind, &["path"])?;
        }
    }
    if let Some(linux) = doc.get("linux").filter(|l| !l.is_null()) {
        for key in ["uidMappings", "gidMappings"] {
            each(linux, "linux", key, &["containerID", "hostID", "size"])?;
        }
        each(linux, "linux", "namespaces", &["type"])?;
        each(linux, "linux", "devices", &["type", "path"])?;
    }
    Ok(())
}

/// Requires `keys` in the object at `at` (named `prefix` in errors).
fn need(at: &Value, prefix: &str, keys: &[&str]) -> Result<(), FieldError> {
    let name = |key: &str| {
        if prefix.is_empty() {
            key.to_string()
        } else {
            format!("{prefix}.{key}")
        }
    };
    let Value::Object(map) = at else {
        let what = if prefix.is_empty() { "." } else { prefix };
        return Err(FieldError::new(what, "expected an object"));
    };
    match keys
        .iter()
        .find(|k| map.get(**k).is_none_or(Value::is_null))
    {
        Some(key) => Err(FieldError::new(name(key), "missing required field")),
        None => Ok(()),
    }
}

/// Requires `keys` in every object of the array `parent[field]`, when present.
fn each(parent: &Value, prefix: &str, field: &str, keys: &[&str]) -> Result<(), FieldError> {
    let path = if prefix.is_empty() {
        field.to_string()
    } else {
        format!("{prefix}.{field}")
    };
    match parent.get(field) {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| need(item, &format!("{path}[{i}]"), keys)),
        // Wrong types are reported by the typed pass with the same path.
        _ => Ok(()),
    }
}

/// config.md "Root": `root.path` is absolute or relative to the bundle, a directory MUST exist
/// there. We also insist it lies inside the bundle when relative (no `..` escape).
fn check_root(spec: &Spec, bundle: &Path) -> Result<PathBuf, FieldError> {
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| FieldError::new("root", "missing required field"))?;
    let path = root.path();
    if path.as_os_str().is_empty() {
        return Err(FieldError::new("root.path", "must not be empty"));
    }
    let joined = bundle.join(path);
    let real = std::fs::canonicalize(&joined).map_err(|e| {
        FieldError::new(
            "root.path",
            format!("{}: {}", joined.display(), crate::errno_text(&e)),
        )
    })?;
    if path.is_relative() && !real.starts_with(bundle) {
        return Err(FieldError::new(
            "root.path",
            format!(
                "{} resolves outside the bundle {}",
                path.display(),
                bundle.display()
            ),
        ));
    }
    if !real.is_dir() {
        return Err(FieldError::new(
            "root.path",
            format!("{} is not a directory", real.display()),
        ));
    }
    Ok(real)
}

/// The checks serde cannot make, in document order.
fn check(spec: &Spec) -> Result<(), FieldError> {
    check_version(spec.version())?;
    // config.md "Annotations": keys MUST NOT be an empty string.
    if spec
        .annotations()
        .iter()
        .flatten()
        .any(|(k, _)| k.is_empty())
    {
        return Err(FieldError::new("annotations", "keys must not be empty"));
    }
    if let Some(process) = spec.process() {
        check_process(process)?;
    }
    crate::process::attributes::check(spec.process().as_ref(), spec.linux().as_ref())
        .map_err(|(field, why)| FieldError::new(field, why))?;
    // config.md "Mounts": a relative destination is deprecated but MUST be taken as relative
    // to "/" (the rootfs code does); only warn.
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        if !m.destination().is_absolute() {
            crate::logging::warn(&format!(
                "mounts[{i}].destination: relative path {} is deprecated, taken from /",
                m.destination().display()
            ));
        }
    }
    if let Some(hooks) = spec.hooks() {
        crate::hooks::validate(hooks)?;
    }
    check_linux(spec)
}

/// config.md "Specification version": SemVer; we accept 1.x up to [`OCI_VERSION_MAX`]'s minor.
fn check_version(version: &str) -> Result<(), FieldError> {
    let core = version.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<Option<u64>> = core.split('.').map(|p| p.parse().ok()).collect();
    match parts.as_slice() {
        [Some(1), Some(_), Some(_)] => Ok(()),
        [Some(_), Some(_), Some(_)] => Err(FieldError::new(
            "ociVersion",
            format!("unsupported version {version:?} (supported {OCI_VERSION_MIN} to {OCI_VERSION_MAX})"),
        )),
        _ => Err(FieldError::new(
            "ociVersion",
            format!("{version:?} is not a semver version"),
        )),
    }
}

fn check_process(process: &oci_spec::runtime::Process) -> Result<(), FieldError> {
    if process.args().as_ref().is_none_or(Vec::is_empty) {
        return Err(FieldError::new(
            "process.args",
            "at least one entry is required",
        ));
    }
    if !process.cwd().is_absolute() {
        return Err(FieldError::new(
            "process.cwd",
            format!("{} is not an absolute path", process.cwd().display()),
        ));
    }
    if let Some(size) = process.console_size() {
        // A terminal's size is two u16 (TIOCSWINSZ): a larger value would be cut silently.
        for (field, value) in [("height", size.height()), ("width", size.width())] {
            if value > u64::from(u16::MAX) {
                return Err(FieldError::new(
                    format!("process.consoleSize.{field}"),
                    format!("{value} is larger than {}", u16::MAX),
                ));
            }
        }
    }
    let mut seen = HashSet::new();
    for (i, r) in process.rlimits().iter().flatten().enumerate() {
        if !seen.insert(serde_json::to_string(&r.typ()).unwrap_or_default()) {
            return Err(FieldError::new(
                format!("process.rlimits[{i}].type"),
                "duplicate rlimit type",
            ));
        }
    }
    if process
        .apparmor_profile()
        .as_deref()
        .is_some_and(|p| !p.is_empty())
    {
        return Err(FieldError::new(
            "process.apparmorProfile",
            "apparmor is not supported",
        ));
    }
    if process
        .selinux_label()
        .as_deref()
        .is_some_and(|l| !l.is_empty())
    {
        return Err(FieldError::new(
            "process.selinuxLabel",
            "selinux is not supported",
        ));
    }
    Ok(())
}

/// config-linux.md "Namespaces", "User namespace mappings", "Offset for Time Namespace".
fn check_linux(spec: &Spec) -> Result<(), FieldError> {
    let Some(linux) = spec.linux() else {
        return Ok(());
    };
    let namespaces = linux.namespaces().as_deref().unwrap_or_default();
    let mut seen = HashSet::new();
    for (i, ns) in namespaces.iter().enumerate() {
        let at = format!("linux.namespaces[{i}]");
        if !seen.insert(ns.typ()) {
            return Err(FieldError::new(
                format!("{at}.type"),
                "duplicate namespace type",
            ));
        }
        crate::namespaces::check_supported(ns.typ())
            .map_err(|m| FieldError::new(format!("{at}.type"), m))?;
        if let Some(path) = ns.path() {
            crate::namespaces::check_path(ns.typ(), path)
                .map_err(|m| FieldError::new(format!("{at}.path"), m))?;
        }
    }
    let new_user = namespaces
        .iter()
        .any(|n| n.typ() == LinuxNamespaceType::User && n.path().is_none());
    let has_maps = linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty())
        || linux.gid_mappings().as_ref().is_some_and(|m| !m.is_empty());
    if new_user && !has_maps {
        return Err(FieldError::new(
            "linux.uidMappings",
            "a new user namespace needs uidMappings and gidMappings",
        ));
    }
    if has_maps && !new_user {
        return Err(FieldError::new(
            "linux.uidMappings",
            "mappings need a new user namespace in linux.namespaces",
        ));
    }
    let has = |t: LinuxNamespaceType| namespaces.iter().any(|n| n.typ() == t);
    if spec.hostname().as_deref().is_some_and(|h| !h.is_empty()) && !has(LinuxNamespaceType::Uts) {
        return Err(FieldError::new(
            "hostname",
            "setting the hostname needs a uts namespace",
        ));
    }
    if spec.domainname().as_deref().is_some_and(|h| !h.is_empty()) && !has(LinuxNamespaceType::Uts)
    {
        return Err(FieldError::new(
            "domainname",
            "setting the domainname needs a uts namespace",
        ));
    }
    if let Some(devices) = linux.net_devices().as_ref().filter(|d| !d.is_empty()) {
        crate::netdev::plan(devices).map_err(|(field, why)| FieldError::new(field, why))?;
        // Moved "to the container namespace": one of its own, never the runtime's.
        match namespaces
            .iter()
            .find(|n| n.typ() == LinuxNamespaceType::Network)
        {
            None => {
                return Err(FieldError::new(
                    "linux.netDevices",
                    "needs a network namespace in linux.namespaces",
                ))
            }
            Some(ns) => {
                if let Some(path) = ns.path() {
                    if crate::namespaces::is_runtimes_own(LinuxNamespaceType::Network, path) {
                        return Err(FieldError::new(
                            "linux.netDevices",
                            format!("the network namespace {} is the host's", path.display()),
                        ));
                    }
                }
            }
        }
    }
    if let Some(sysctl) = linux.sysctl() {
        crate::sysctl::check(sysctl, namespaces)
            .map_err(|(key, why)| FieldError::new(format!("linux.sysctl.{key}"), why))?;
    }
    if let Some(offsets) = linux.time_offsets() {
        let new_time = namespaces
            .iter()
            .any(|n| n.typ() == LinuxNamespaceType::Time && n.path().is_none());
        if !offsets.is_empty() && !new_time {
            return Err(FieldError::new(
                "linux.timeOffsets",
                "offsets need a new time namespace",
            ));
        }
        for clock in offsets.keys() {
            if clock != "monotonic" && clock != "boottime" {
                return Err(FieldError::new(
                    format!("linux.timeOffsets.{clock}"),
                    "unknown clock (expected monotonic or boottime)",
                ));
            }
        }
    }
    // config.md "Valid values": unsupported values MUST be an error, never silently ignored.
    let unsupported = [
        ("linux.intelRdt", linux.intel_rdt().is_some()),
        (
            "linux.mountLabel",
            linux
                .mount_label()
                .as_deref()
                .is_some_and(|l| !l.is_empty()),
        ),
    ];
    if let Some((field, _)) = unsupported.iter().find(|(_, set)| *set) {
        return Err(FieldError::new(*field, "not supported by ocirun"));
    }
    Ok(())
}
