//! Device cgroup rules (config-linux.md "Allowed Device Cgroup Rules"): the config's rules in
//! order followed by the default list every container gets (the same list runc appends: the
//! standard character devices of config-linux.md "Default Devices" plus mknod of any node and
//! the pseudo-terminals), rendered as the v1 `devices.allow`/`devices.deny` lines.

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

/// One rule, resolved: wildcards spelled out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub allow: bool,
    /// `a`, `b` or `c`.
    pub kind: char,
    pub major: Option<i64>,
    pub minor: Option<i64>,
    /// A subset of `rwm`.
    pub access: String,
}

impl Rule {
    fn from_spec(d: &LinuxDeviceCgroup) -> Self {
        let kind = match d.typ() {
            None | Some(LinuxDeviceType::A) => 'a',
            Some(LinuxDeviceType::B) => 'b',
            // u (unbuffered character) and p (fifo) are character-like for the cgroup.
            Some(_) => 'c',
        };
        Self {
            allow: d.allow(),
            kind,
            // Absent means any (config-linux.md); runc and older docker write -1 for it too.
            major: d.major().filter(|&n| n >= 0),
            minor: d.minor().filter(|&n| n >= 0),
            access: d.access().clone().unwrap_or_else(|| "rwm".into()),
        }
    }

    /// The v1 line: `c 1:3 rwm`, `a *:* rwm` (cgroup-v1/devices.rst).
    pub fn line(&self) -> String {
        let num = |n: Option<i64>| n.map_or_else(|| "*".to_string(), |n| n.to_string());
        if self.kind == 'a' {
            // "a" means all devices; major/minor are ignored by the kernel for it.
            return "a".into();
        }
        format!(
            "{} {}:{} {}",
            self.kind,
            num(self.major),
            num(self.minor),
            self.access
        )
    }

    /// Whether this rule is part of the default list (so that refusing to enforce it on a
    /// host without a devices controller loses nothing the container was not given anyway).
    pub fn is_default(&self) -> bool {
        defaults().contains(self)
    }
}

/// The defaults appended after the config's rules (runc's list).
pub fn defaults() -> Vec<Rule> {
    let mut list: Vec<Rule> = [
        (1, Some(3)), // /dev/null
        (1, Some(8)), // /dev/random
        (1, Some(7)), // /dev/full
        (5, Some(0)), // /dev/tty
        (1, Some(5)), // /dev/zero
        (1, Some(9)), // /dev/urandom
        (136, None),  // /dev/pts/*
        (5, Some(2)), // /dev/ptmx
    ]
    .into_iter()
    .map(|(major, minor)| Rule {
        allow: true,
        kind: 'c',
        major: Some(major),
        minor,
        access: "rwm".into(),
    })
    .collect();
    for kind in ['c', 'b'] {
        list.insert(
            0,
            Rule {
                allow: true,
                kind,
                major: None,
                minor: None,
                access: "m".into(),
            },
        );
    }
    list
}

/// The rules to enforce: none when the config has none (the parent's rules stay in force),
/// else the config's in order, then the defaults.
pub fn effective(config: &[LinuxDeviceCgroup]) -> Vec<Rule> {
    if config.is_empty() {
        return Vec::new();
    }
    config
        .iter()
        .map(Rule::from_spec)
        .chain(defaults())
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxDeviceCgroupBuilder;

    #[test]
    fn lines_and_defaults() {
        let deny_all = LinuxDeviceCgroupBuilder::default()
            .allow(false)
            .access("rwm")
            .build()
            .unwrap();
        let fuse = LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .typ(LinuxDeviceType::C)
            .major(10)
            .minor(229)
            .access("rw")
            .build()
            .unwrap();
        let rules = effective(&[deny_all, fuse]);
        let lines: Vec<String> = rules.iter().map(Rule::line).collect();
        assert_eq!(lines[0], "a");
        assert!(!rules[0].allow);
        assert_eq!(lines[1], "c 10:229 rw");
        assert!(lines.contains(&"c 1:3 rwm".to_string()));
        assert!(lines.contains(&"c 136:* rwm".to_string()));
        assert!(lines.contains(&"b *:* m".to_string()));
        assert!(!rules[1].is_default() && rules[2].is_default());
        assert!(effective(&[]).is_empty());
        let wildcard = LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .typ(LinuxDeviceType::B)
            .major(-1)
            .minor(-1)
            .access("m")
            .build()
            .unwrap();
        assert_eq!(effective(&[wildcard])[0].line(), "b *:* m");
    }
}
