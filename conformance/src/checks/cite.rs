//! The requirements the generic checks cite, named by section and a fragment of the sentence
//! rather than by hash, so that regenerating the catalogue never leaves a stale id in code
//! (a unit test proves every fragment resolves to exactly one requirement).

use crate::requirements::Catalogue;

/// `(id prefix, fragment of the sentence)`.
pub type Cite = (&'static str, &'static str);

pub const PROCESS_RUN: Cite = (
    "runtime/start/",
    "MUST run the user-specified program as specified by",
);
pub const CREATE_APPLY: Cite = ("runtime/create/", "except for `process` MUST be applied");
pub const CREATE_NEW: Cite = (
    "runtime/create/",
    "This operation MUST create a new container",
);
pub const CREATE_NOT_UNIQUE: Cite = ("runtime/create/", "is not unique across all containers");
pub const CREATE_CANNOT_APPLY: Cite = ("runtime/create/", "cannot apply a property");
pub const ARGS_NOT_BEFORE_START: Cite = (
    "runtime/create/",
    "MUST NOT be applied until triggered by the `start`",
);
pub const LIFECYCLE_NOT_RUN: Cite = ("runtime/lifecycle/", "MUST NOT be run at this time");
pub const LIFECYCLE_CONFIG_UPDATES: Cite = (
    "runtime/lifecycle/",
    "Any updates to `config.json` after this step MUST NOT affect",
);
pub const ERRORS_NO_TRACE: Cite = (
    "runtime/errors/",
    "as if the operation were never attempted",
);
pub const LIFECYCLE_DESTROY: Cite = ("runtime/lifecycle/", "MUST be destroyed by undoing");
pub const DELETE_RESOURCES: Cite = (
    "runtime/delete/",
    "MUST delete the resources that were created",
);
pub const STATE_OCI_VERSION: Cite = ("runtime/state/", "`ociVersion` (string, REQUIRED)");
pub const STATE_ID: Cite = ("runtime/state/", "`id` (string, REQUIRED)");
pub const STATE_STATUS: Cite = ("runtime/state/", "`status` (string, REQUIRED)");
pub const STATE_PID: Cite = ("runtime/state/", "`pid` (int, REQUIRED when");
pub const STATE_BUNDLE: Cite = ("runtime/state/", "`bundle` (string, REQUIRED)");
pub const STATE_SCHEMA: Cite = ("runtime/state/", "MUST adhere to the JSON Schema");
pub const QUERY_STATE_RETURNS: Cite = (
    "runtime/query-state/",
    "MUST return the state of a container",
);
pub const KILL_SENDS: Cite = ("runtime/kill/", "MUST send the specified signal");
pub const NS_NEW: Cite = (
    "config-linux/namespaces/",
    "If `path` is not specified, the runtime MUST create a new",
);
pub const NS_JOIN: Cite = (
    "config-linux/namespaces/",
    "MUST place the container process in the namespace associated",
);
pub const NS_INHERIT: Cite = (
    "config-linux/namespaces/",
    "If a namespace type is not specified",
);
pub const ROOT_READONLY: Cite = ("config/root/", "MUST be read-only inside the container");
pub const MOUNTS_ORDER: Cite = ("config/mounts/", "MUST mount entries in the listed order");
pub const MOUNTS_RELATIVE: Cite = ("config/mounts/", "MUST be interpreted as relative to \"/\"");
pub const DEFAULT_FILESYSTEMS: Cite = (
    "config-linux/default-filesystems/",
    "SHOULD be made available",
);
pub const DEVICES: Cite = (
    "config-linux/devices/",
    "lists devices that MUST be available",
);
pub const DEFAULT_DEVICES: Cite = ("config-linux/default-devices/", "MUST also supply");
pub const DEV_SYMLINKS: Cite = (
    "runtime-linux/dev-symbolic-links/",
    "MUST create the following symlinks",
);
pub const RLIMIT_SOFT: Cite = ("config/posix-process/", "`rlim.rlim_cur` MUST match");
pub const RLIMIT_HARD: Cite = ("config/posix-process/", "`rlim.rlim_max` MUST match");
pub const OOM_SET: Cite = (
    "config/linux-process/",
    "If `oomScoreAdj` is set, the runtime MUST set",
);
pub const OOM_UNSET: Cite = (
    "config/linux-process/",
    "If `oomScoreAdj` is not set, the runtime MUST NOT",
);
pub const CAPS_UNGRANTABLE: Cite = (
    "config/linux-process/",
    "Runtimes SHOULD NOT fail if the container configuration requests",
);
pub const CGROUPS_ABSOLUTE: Cite = (
    "config-linux/cgroups-path/",
    "In the case of an absolute path",
);
pub const CGROUPS_RELATIVE: Cite = ("config-linux/cgroups-path/", "MUST consistently attach");

/// Resolves citations against a catalogue.
#[derive(Debug, Clone, Copy)]
pub struct Refs<'a> {
    pub catalogue: &'a Catalogue,
}

impl<'a> Refs<'a> {
    /// The ids of the requirements matching `(prefix, fragment)`.
    pub fn ids(&self, cite: Cite) -> Vec<String> {
        let (prefix, fragment) = cite;
        self.catalogue
            .requirements
            .values()
            .filter(|r| r.id.starts_with(prefix) && r.text.contains(fragment))
            .map(|r| r.id.clone())
            .collect()
    }

    /// Several citations at once.
    pub fn all(&self, cites: &[Cite]) -> Vec<String> {
        cites.iter().flat_map(|&c| self.ids(c)).collect()
    }

    /// The row of the Linux mount options table for `option` (config.md "Linux mount options").
    pub fn mount_option(&self, option: &str) -> Vec<String> {
        let cell = format!("`{option}`");
        self.catalogue
            .requirements
            .values()
            .filter(|r| {
                r.id.starts_with("config/linux-mount-options/")
                    && r.text.split('|').next().map(str::trim) == Some(cell.as_str())
            })
            .map(|r| r.id.clone())
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    pub const ALL: &[Cite] = &[
        PROCESS_RUN,
        CREATE_APPLY,
        CREATE_NEW,
        CREATE_NOT_UNIQUE,
        CREATE_CANNOT_APPLY,
        ARGS_NOT_BEFORE_START,
        LIFECYCLE_NOT_RUN,
        LIFECYCLE_CONFIG_UPDATES,
        ERRORS_NO_TRACE,
        LIFECYCLE_DESTROY,
        DELETE_RESOURCES,
        STATE_OCI_VERSION,
        STATE_ID,
        STATE_STATUS,
        STATE_PID,
        STATE_BUNDLE,
        STATE_SCHEMA,
        QUERY_STATE_RETURNS,
        KILL_SENDS,
        NS_NEW,
        NS_JOIN,
        NS_INHERIT,
        ROOT_READONLY,
        MOUNTS_ORDER,
        MOUNTS_RELATIVE,
        DEFAULT_FILESYSTEMS,
        DEVICES,
        DEFAULT_DEVICES,
        DEV_SYMLINKS,
        RLIMIT_SOFT,
        RLIMIT_HARD,
        OOM_SET,
        OOM_UNSET,
        CAPS_UNGRANTABLE,
        CGROUPS_ABSOLUTE,
        CGROUPS_RELATIVE,
    ];

    #[test]
    fn every_citation_resolves_to_exactly_one_requirement() {
        let cat = crate::suite::embedded_catalogue().unwrap();
        let refs = Refs { catalogue: &cat };
        for &c in ALL {
            assert_eq!(refs.ids(c).len(), 1, "{c:?} → {:?}", refs.ids(c));
        }
        for opt in [
            "ro", "rw", "nosuid", "nodev", "noexec", "rprivate", "bind", "rbind",
        ] {
            assert_eq!(refs.mount_option(opt).len(), 1, "{opt}");
        }
    }
}
