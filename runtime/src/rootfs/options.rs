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

/// Parses a mount's `options` (config.md "Linux mount options"). Never fails: strings that
/// are not in the table are filesystem data; callers reject data where it would be ignored
/// (bind mounts).
pub fn parse<S: AsRef<str>>(options: &[S]) -> MountOptions {
    let mut o = MountOptions::default();
    for option in options {
        apply(&mut o, option.as_ref());
    }
    o
}

fn apply(o: &mut MountOptions, option: &str) {
    use MsFlags as F;
    match option {
        "defaults" => {}
        "bind" => o.bind = true,
        "rbind" => {
            o.bind = true;
            o.recursive = true;
        }
        "remount" => o.set(F::MS_REMOUNT),
        "ro" => o.set(F::MS_RDONLY),
        "rw" => o.clear(F::MS_RDONLY),
        "nosuid" => o.set(F::MS_NOSUID),
        "suid" => o.clear(F::MS_NOSUID),
        "nodev" => o.set(F::MS_NODEV),
        "dev" => o.clear(F::MS_NODEV),
        "noexec" => o.set(F::MS_NOEXEC),
        "exec" => o.clear(F::MS_NOEXEC),
        "sync" => o.set(F::MS_SYNCHRONOUS),
        "async" => o.clear(F::MS_SYNCHRONOUS),
        "dirsync" => o.set(F::MS_DIRSYNC),
        "mand" => o.set(F::MS_MANDLOCK),
        "nomand" => o.clear(F::MS_MANDLOCK),
        "atime" => o.clear(F::MS_NOATIME),
        "noatime" => o.set(F::MS_NOATIME),
        "relatime" => o.set(F::MS_RELATIME),
        "norelatime" => o.clear(F::MS_RELATIME),
        "strictatime" => o.set(F::MS_STRICTATIME),
        "nostrictatime" => o.clear(F::MS_STRICTATIME),
        "diratime" => o.clear(F::MS_NODIRATIME),
        "nodiratime" => o.set(F::MS_NODIRATIME),
        "iversion" => o.set(F::MS_I_VERSION),
        "noiversion" => o.clear(F::MS_I_VERSION),
        "lazytime" => o.set(F::MS_LAZYTIME),
        "nolazytime" => o.clear(F::MS_LAZYTIME),
        "silent" => o.set(F::MS_SILENT),
        "loud" => o.clear(F::MS_SILENT),
        "nosymfollow" => o.set(F::from_bits_retain(libc::MS_NOSYMFOLLOW)),
        "symfollow" => o.clear(F::from_bits_retain(libc::MS_NOSYMFOLLOW)),

        "shared" => o.propagation.push(F::MS_SHARED),
        "rshared" => o.propagation.push(F::MS_SHARED | F::MS_REC),
        "slave" => o.propagation.push(F::MS_SLAVE),
        "rslave" => o.propagation.push(F::MS_SLAVE | F::MS_REC),
        "private" => o.propagation.push(F::MS_PRIVATE),
        "rprivate" => o.propagation.push(F::MS_PRIVATE | F::MS_REC),
        "unbindable" => o.propagation.push(F::MS_UNBINDABLE),
        "runbindable" => o.propagation.push(F::MS_UNBINDABLE | F::MS_REC),

        "rro" => o.recursive_set(attr::RDONLY),
        "rrw" => o.recursive_clear(attr::RDONLY),
        "rnosuid" => o.recursive_set(attr::NOSUID),
        "rsuid" => o.recursive_clear(attr::NOSUID),
        "rnodev" => o.recursive_set(attr::NODEV),
        "rdev" => o.recursive_clear(attr::NODEV),
        "rnoexec" => o.recursive_set(attr::NOEXEC),
        "rexec" => o.recursive_clear(attr::NOEXEC),
        "rnodiratime" => o.recursive_set(attr::NODIRATIME),
        "rdiratime" => o.recursive_clear(attr::NODIRATIME),
        "rnosymfollow" => o.recursive_set(attr::NOSYMFOLLOW),
        "rsymfollow" => o.recursive_clear(attr::NOSYMFOLLOW),
        // The atime field holds one mode; the "turn X off" options fall back to the
        // kernel default (relatime), except rnorelatime: no relatime means strict atime.
        "rrelatime" | "ratime" | "rnostrictatime" => o.recursive_atime(attr::RELATIME),
        "rnoatime" => o.recursive_atime(attr::NOATIME),
        "rstrictatime" | "rnorelatime" => o.recursive_atime(attr::STRICTATIME),

        "idmap" => o.idmap = Some(Idmap::Single),
        "ridmap" => o.idmap = Some(Idmap::Recursive),
        "tmpcopyup" => o.tmpcopyup = true,

        other => o.data.push(other.to_owned()),
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
