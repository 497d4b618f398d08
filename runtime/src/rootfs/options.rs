//! Mount option strings → mount(2) flags, propagation changes, recursive attributes and
//! filesystem data (config.md "Linux mount options").
//!
//! Pure: no system calls, so the whole table is unit-tested without root.

use nix::mount::MsFlags;

/// `MOUNT_ATTR_*` of mount_setattr(2) (linux/mount.h); libc does not export them for glibc.
pub(crate) mod attr {
    pub const RDONLY: u64 = 0x0000_0001;
    pub const NOSUID: u64 = 0x0000_0002;
    pub const NODEV: u64 = 0x0000_0004;
    pub const NOEXEC: u64 = 0x0000_0008;
    /// The atime mode field: one of RELATIME (0), NOATIME, STRICTATIME.
    pub const ATIME_MASK: u64 = 0x0000_0070;
    pub const RELATIME: u64 = 0x0000_0000;
    pub const NOATIME: u64 = 0x0000_0010;
    pub const STRICTATIME: u64 = 0x0000_0020;
    pub const NODIRATIME: u64 = 0x0000_0080;
    pub const IDMAP: u64 = 0x0010_0000;
    pub const NOSYMFOLLOW: u64 = 0x0020_0000;
}

/// Attributes to change on a whole mount tree with mount_setattr(2) `AT_RECURSIVE`
/// (the `r*` options, config.md footnote 3: "These `AT_RECURSIVE` options need kernel 5.12").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecursiveAttrs {
    pub set: u64,
    pub clear: u64,
}

impl RecursiveAttrs {
    pub fn is_empty(&self) -> bool {
        self.set == 0 && self.clear == 0
    }
}

/// ID-mapped mount request (`idmap` / `ridmap`, config.md "Linux mount options").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idmap {
    /// `idmap`: only the mount itself.
    Single,
    /// `ridmap`: every mount of an `rbind` tree.
    Recursive,
}

/// One mount's options, parsed in order (a later option wins over an earlier one, as in
/// mount(8)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOptions {
    /// Flags to pass to mount(2) (never `MS_BIND`/`MS_REC`/propagation: see the fields below).
    pub flags: MsFlags,
    /// Flags an option explicitly turned off (`rw`, `suid`, `dev`, `exec`, ...): a bind
    /// remount keeps the source's nosuid/nodev/noexec unless they are listed here.
    pub cleared: MsFlags,
    /// `bind` or `rbind`.
    pub bind: bool,
    /// `rbind` (recursive bind, `MS_REC`).
    pub recursive: bool,
    /// Propagation changes in the order given (`MS_SHARED`, `MS_SLAVE|MS_REC`, ...).
    pub propagation: Vec<MsFlags>,
    /// `r*` attributes applied with mount_setattr(2) `AT_RECURSIVE`.
    pub recursive_attrs: RecursiveAttrs,
    pub idmap: Option<Idmap>,
    /// `tmpcopyup`: copy the covered directory's contents into the new tmpfs.
    pub tmpcopyup: bool,
    /// Everything else: filesystem-specific options passed as mount(2) data (config.md:
    /// "Runtimes SHOULD treat unknown options as filesystem-specific ones").
    pub data: Vec<String>,
}

impl Default for MountOptions {
    fn default() -> Self {
        Self {
            flags: MsFlags::empty(),
            cleared: MsFlags::empty(),
            bind: false,
            recursive: false,
            propagation: Vec::new(),
            recursive_attrs: RecursiveAttrs::default(),
            idmap: None,
            tmpcopyup: false,
            data: Vec::new(),
        }
    }
}

impl MountOptions {
    /// The comma-joined data string for mount(2), or `None` when there is none.
    pub fn data_string(&self) -> Option<String> {
        (!self.data.is_empty()).then(|| self.data.join(","))
    }

    /// Whether a bind mount needs a second, remounting mount(2) call to apply per-mount flags
    /// (mount(2): "MS_BIND ... the remaining bits in mountflags are ignored").
    pub fn bind_needs_remount(&self) -> bool {
        let per_mount = !(MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT);
        !((self.flags | self.cleared) & per_mount).is_empty()
    }

    fn set(&mut self, flag: MsFlags) {
        self.flags |= flag;
        self.cleared &= !flag;
    }

    fn clear(&mut self, flag: MsFlags) {
        self.flags &= !flag;
        self.cleared |= flag;
    }

    fn recursive_set(&mut self, attr: u64) {
        self.recursive_attrs.set |= attr;
        self.recursive_attrs.clear &= !attr;
    }

    fn recursive_clear(&mut self, attr: u64) {
        self.recursive_attrs.clear |= attr;
        self.recursive_attrs.set &= !attr;
    }

    /// The atime mode is one field for mount_setattr(2): clear the whole field, set one value.
    fn recursive_atime(&mut self, mode: u64) {
        self.recursive_attrs.clear |= attr::ATIME_MASK;
        self.recursive_attrs.set = (self.recursive_attrs.set & !attr::ATIME_MASK) | mode;
    }
}

/// What one option string does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// `defaults`: nothing beyond the defaults.
    Nothing,
    Bind,
    Rbind,
    /// Sets a mount(2) flag (`ro`, `nosuid`, `remount`, ...).
    Set(MsFlags),
    /// Clears a mount(2) flag (`rw`, `suid`, ...).
    Clear(MsFlags),
    /// A propagation change (`shared`, `rslave`, ...).
    Propagation(MsFlags),
    /// mount_setattr(2) attribute set recursively (`rro`, `rnosuid`, ...).
    RecursiveSet(u64),
    /// mount_setattr(2) attribute cleared recursively (`rrw`, `rsuid`, ...).
    RecursiveClear(u64),
    /// The recursive atime mode (`rnoatime`, `rstrictatime`, ...).
    RecursiveAtime(u64),
    Idmap(Idmap),
    TmpCopyUp,
}

const NOSYMFOLLOW: MsFlags = MsFlags::from_bits_retain(libc::MS_NOSYMFOLLOW);

/// Every option string ocirun recognizes (config.md "Linux mount options") and its effect: the
/// one table behind both parsing and `ocirun features` `mountOptions`.
pub const OPTIONS: &[(&str, Effect)] = {
    use Effect::*;
    use MsFlags as F;
    &[
        ("defaults", Nothing),
        ("bind", Bind),
        ("rbind", Rbind),
        ("remount", Set(F::MS_REMOUNT)),
        ("ro", Set(F::MS_RDONLY)),
        ("rw", Clear(F::MS_RDONLY)),
        ("nosuid", Set(F::MS_NOSUID)),
        ("suid", Clear(F::MS_NOSUID)),
        ("nodev", Set(F::MS_NODEV)),
        ("dev", Clear(F::MS_NODEV)),
        ("noexec", Set(F::MS_NOEXEC)),
        ("exec", Clear(F::MS_NOEXEC)),
        ("sync", Set(F::MS_SYNCHRONOUS)),
        ("async", Clear(F::MS_SYNCHRONOUS)),
        ("dirsync", Set(F::MS_DIRSYNC)),
        ("mand", Set(F::MS_MANDLOCK)),
        ("nomand", Clear(F::MS_MANDLOCK)),
        ("atime", Clear(F::MS_NOATIME)),
        ("noatime", Set(F::MS_NOATIME)),
        ("relatime", Set(F::MS_RELATIME)),
        ("norelatime", Clear(F::MS_RELATIME)),
        ("strictatime", Set(F::MS_STRICTATIME)),
        ("nostrictatime", Clear(F::MS_STRICTATIME)),
        ("diratime", Clear(F::MS_NODIRATIME)),
        ("nodiratime", Set(F::MS_NODIRATIME)),
        ("iversion", Set(F::MS_I_VERSION)),
        ("noiversion", Clear(F::MS_I_VERSION)),
        ("lazytime", Set(F::MS_LAZYTIME)),
        ("nolazytime", Clear(F::MS_LAZYTIME)),
        ("silent", Set(F::MS_SILENT)),
        ("loud", Clear(F::MS_SILENT)),
        ("nosymfollow", Set(NOSYMFOLLOW)),
        ("symfollow", Clear(NOSYMFOLLOW)),
        ("shared", Propagation(F::MS_SHARED)),
        ("rshared", Propagation(F::MS_SHARED.union(F::MS_REC))),
        ("slave", Propagation(F::MS_SLAVE)),
        ("rslave", Propagation(F::MS_SLAVE.union(F::MS_REC))),
        ("private", Propagation(F::MS_PRIVATE)),
        ("rprivate", Propagation(F::MS_PRIVATE.union(F::MS_REC))),
        ("unbindable", Propagation(F::MS_UNBINDABLE)),
        (
            "runbindable",
            Propagation(F::MS_UNBINDABLE.union(F::MS_REC)),
        ),
        ("rro", RecursiveSet(attr::RDONLY)),
        ("rrw", RecursiveClear(attr::RDONLY)),
        ("rnosuid", RecursiveSet(attr::NOSUID)),
        ("rsuid", RecursiveClear(attr::NOSUID)),
        ("rnodev", RecursiveSet(attr::NODEV)),
        ("rdev", RecursiveClear(attr::NODEV)),
        ("rnoexec", RecursiveSet(attr::NOEXEC)),
        ("rexec", RecursiveClear(attr::NOEXEC)),
        ("rnodiratime", RecursiveSet(attr::NODIRATIME)),
        ("rdiratime", RecursiveClear(attr::NODIRATIME)),
        ("rnosymfollow", RecursiveSet(attr::NOSYMFOLLOW)),
        ("rsymfollow", RecursiveClear(attr::NOSYMFOLLOW)),
        // The atime field holds one mode; the "turn X off" options fall back to the kernel
        // default (relatime), except rnorelatime: no relatime means strict atime.
        ("rrelatime", RecursiveAtime(attr::RELATIME)),
        ("ratime", RecursiveAtime(attr::RELATIME)),
        ("rnostrictatime", RecursiveAtime(attr::RELATIME)),
        ("rnoatime", RecursiveAtime(attr::NOATIME)),
        ("rstrictatime", RecursiveAtime(attr::STRICTATIME)),
        ("rnorelatime", RecursiveAtime(attr::STRICTATIME)),
        ("idmap", Idmap(self::Idmap::Single)),
        ("ridmap", Idmap(self::Idmap::Recursive)),
        ("tmpcopyup", TmpCopyUp),
    ]
};

/// The recognized option names, sorted (for `ocirun features` `mountOptions`).
pub fn names() -> Vec<&'static str> {
    let mut names: Vec<_> = OPTIONS.iter().map(|(name, _)| *name).collect();
    names.sort_unstable();
    names
}

/// Parses a mount's `options` (config.md "Linux mount options"). Never fails: strings that
/// are not in [`OPTIONS`] are filesystem data; callers reject data where it would be ignored
/// (bind mounts).
pub fn parse<S: AsRef<str>>(options: &[S]) -> MountOptions {
    let mut o = MountOptions::default();
    for option in options {
        let option = option.as_ref();
        match OPTIONS.iter().find(|(name, _)| *name == option) {
            Some((_, effect)) => o.apply(*effect),
            None => o.data.push(option.to_owned()),
        }
    }
    o
}

impl MountOptions {
    fn apply(&mut self, effect: Effect) {
        match effect {
            Effect::Nothing => {}
            Effect::Bind => self.bind = true,
            Effect::Rbind => {
                self.bind = true;
                self.recursive = true;
            }
            Effect::Set(flag) => self.set(flag),
            Effect::Clear(flag) => self.clear(flag),
            Effect::Propagation(flag) => self.propagation.push(flag),
            Effect::RecursiveSet(a) => self.recursive_set(a),
            Effect::RecursiveClear(a) => self.recursive_clear(a),
            Effect::RecursiveAtime(mode) => self.recursive_atime(mode),
            Effect::Idmap(kind) => self.idmap = Some(kind),
            Effect::TmpCopyUp => self.tmpcopyup = true,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;
    use MsFlags as F;

    #[test]
    fn plain_flags_set_and_clear_in_order() {
        let o = parse(&["nosuid", "ro", "noexec", "rw", "exec"]);
        assert_eq!(o.flags, F::MS_NOSUID);
        assert_eq!(o.cleared, F::MS_RDONLY | F::MS_NOEXEC);
        assert!(!o.bind && o.data.is_empty());
    }

    #[test]
    fn every_must_option_is_known() {
        let known = [
            "async",
            "atime",
            "bind",
            "defaults",
            "dev",
            "diratime",
            "dirsync",
            "exec",
            "iversion",
            "lazytime",
            "loud",
            "mand",
            "noatime",
            "nodev",
            "nodiratime",
            "noexec",
            "noiversion",
            "nolazytime",
            "nomand",
            "norelatime",
            "nostrictatime",
            "nosuid",
            "nosymfollow",
            "private",
            "ratime",
            "rbind",
            "rdev",
            "rdiratime",
            "relatime",
            "remount",
            "rexec",
            "rnoatime",
            "rnodiratime",
            "rnoexec",
            "rnorelatime",
            "rnostrictatime",
            "rnosuid",
            "rnosymfollow",
            "ro",
            "rprivate",
            "rrelatime",
            "rro",
            "rrw",
            "rshared",
            "rslave",
            "rstrictatime",
            "rsuid",
            "rsymfollow",
            "runbindable",
            "rw",
            "shared",
            "silent",
            "slave",
            "strictatime",
            "suid",
            "symfollow",
            "sync",
            "tmpcopyup",
            "unbindable",
            "idmap",
            "ridmap",
        ];
        for option in known {
            assert!(parse(&[option]).data.is_empty(), "{option} went to data");
        }
    }

    #[test]
    fn names_are_unique_and_sorted() {
        let names = names();
        let mut dedup = names.clone();
        dedup.dedup();
        assert_eq!(names, dedup);
        assert!(names.contains(&"rnodev") && names.contains(&"ridmap"));
    }

    #[test]
    fn unknown_options_become_data_in_order() {
        let o = parse(&["nosuid", "mode=755", "size=65536k", "strictatime"]);
        assert_eq!(o.data_string().as_deref(), Some("mode=755,size=65536k"));
        assert_eq!(o.flags, F::MS_NOSUID | F::MS_STRICTATIME);
        assert_eq!(parse::<&str>(&[]).data_string(), None);
    }

    #[test]
    fn bind_and_rbind() {
        let o = parse(&["bind"]);
        assert!(o.bind && !o.recursive && !o.bind_needs_remount());
        let o = parse(&["rbind", "ro"]);
        assert!(o.bind && o.recursive && o.bind_needs_remount());
        // "rw" on a bind must still remount: the source may be read-only.
        assert!(parse(&["rbind", "rw"]).bind_needs_remount());
    }

    #[test]
    fn propagation_keeps_order() {
        let o = parse(&["rprivate", "shared", "runbindable"]);
        assert_eq!(
            o.propagation,
            vec![
                F::MS_PRIVATE | F::MS_REC,
                F::MS_SHARED,
                F::MS_UNBINDABLE | F::MS_REC
            ]
        );
        assert!(o.flags.is_empty());
    }

    #[test]
    fn recursive_attrs() {
        let o = parse(&["rro", "rnosuid", "rnodev", "rexec"]);
        assert_eq!(
            o.recursive_attrs.set,
            attr::RDONLY | attr::NOSUID | attr::NODEV
        );
        assert_eq!(o.recursive_attrs.clear, attr::NOEXEC);
        let o = parse(&["rro", "rrw"]);
        assert_eq!(o.recursive_attrs.set, 0);
        assert_eq!(o.recursive_attrs.clear, attr::RDONLY);
    }

    #[test]
    fn recursive_atime_is_one_field() {
        let o = parse(&["rnoatime"]);
        assert_eq!(o.recursive_attrs.set, attr::NOATIME);
        assert_eq!(o.recursive_attrs.clear, attr::ATIME_MASK);
        let o = parse(&["rnoatime", "rstrictatime"]);
        assert_eq!(o.recursive_attrs.set, attr::STRICTATIME);
        let o = parse(&["rstrictatime", "ratime"]);
        assert_eq!(o.recursive_attrs.set, attr::RELATIME);
        assert_eq!(o.recursive_attrs.clear, attr::ATIME_MASK);
    }

    #[test]
    fn idmap_and_tmpcopyup() {
        assert_eq!(parse(&["idmap"]).idmap, Some(Idmap::Single));
        assert_eq!(parse(&["rbind", "ridmap"]).idmap, Some(Idmap::Recursive));
        assert!(parse(&["tmpcopyup"]).tmpcopyup);
    }

    /// The per-mount flag options: (name, flag, sets it).
    const PLAIN: [(&str, MsFlags, bool); 12] = [
        ("ro", F::MS_RDONLY, true),
        ("rw", F::MS_RDONLY, false),
        ("nosuid", F::MS_NOSUID, true),
        ("suid", F::MS_NOSUID, false),
        ("nodev", F::MS_NODEV, true),
        ("dev", F::MS_NODEV, false),
        ("noexec", F::MS_NOEXEC, true),
        ("exec", F::MS_NOEXEC, false),
        ("noatime", F::MS_NOATIME, true),
        ("atime", F::MS_NOATIME, false),
        ("sync", F::MS_SYNCHRONOUS, true),
        ("async", F::MS_SYNCHRONOUS, false),
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            failure_persistence: None,
            ..Default::default()
        })]

        /// Whatever the order, the last option touching a flag decides it (mount(8)), and a
        /// flag is never both set and explicitly cleared.
        #[test]
        fn last_option_wins(picks in proptest::collection::vec(0..PLAIN.len(), 0..24)) {
            let names: Vec<&str> = picks.iter().map(|&i| PLAIN[i].0).collect();
            let o = parse(&names);
            for (_, flag, _) in PLAIN {
                let last = picks.iter().rev().map(|&i| PLAIN[i]).find(|p| p.1 == flag);
                match last {
                    Some((_, _, true)) => {
                        proptest::prop_assert!(o.flags.contains(flag) && !o.cleared.contains(flag))
                    }
                    Some((_, _, false)) => {
                        proptest::prop_assert!(!o.flags.contains(flag) && o.cleared.contains(flag))
                    }
                    None => proptest::prop_assert!(
                        !o.flags.contains(flag) && !o.cleared.contains(flag)
                    ),
                }
            }
            proptest::prop_assert!(o.data.is_empty() && !o.bind);
        }

        /// Strings outside the table all end up, in order, in the data string.
        #[test]
        fn unknown_options_are_data(extra in proptest::collection::vec("[a-z]{1,6}=[0-9]{1,4}", 0..6)) {
            let o = parse(&extra);
            proptest::prop_assert_eq!(o.data, extra);
        }
    }
}
