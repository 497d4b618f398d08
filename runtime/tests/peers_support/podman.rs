//! podman (with conmon) on ocirun, with private storage: `--root`, `--runroot`, `--tmpdir` and
//! a containers.conf (`CONTAINERS_CONF`) in a temp dir, so the host's images and containers are
//! never touched.
//!
//! The containers.conf names the runtime `ocirun` and lists it in `runtime_supports_json`, as
//! a user would: podman then passes `--log-format=json --log FILE` (as it does for runc) and
//! reads ocirun's errors from that file. It also holds this host's quirks: the cgroupfs
//! manager and file events (no systemd), no network (no CNI/netavark setup), and rlimits no
//! higher than the current hard ones (the bounding set may lack CAP_SYS_RESOURCE).
//!
//! podman does not pass `--root` to the runtime (its cleanup process would not pass a
//! `--runtime-flag` either), so ocirun keeps its state in its default `/run/ocirun`.

use super::{ok, unmount_under};
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// ocirun's default `--root`, which podman leaves it.
pub const OCIRUN_DEFAULT_ROOT: &str = "/run/ocirun";

pub struct Podman {
    pub dir: tempfile::TempDir,
}

impl Podman {
    pub fn new() -> Podman {
        let dir = tempfile::Builder::new()
            .prefix("peers-podman-")
            .tempdir()
            .unwrap();
        let nofile = hard_limit(libc::RLIMIT_NOFILE).min(20_000);
        let nproc = hard_limit(libc::RLIMIT_NPROC).min(32_768);
        let conf = format!(
            r#"[containers]
default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]
netns = "none"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "ocirun"
runtime_supports_json = ["ocirun"]

[engine.runtimes]
ocirun = ["{ocirun}"]
"#,
            ocirun = super::ocirun().display(),
        );
        std::fs::write(dir.path().join("containers.conf"), conf).unwrap();
        Podman { dir }
    }

    pub fn conf(&self) -> PathBuf {
        self.dir.path().join("containers.conf")
    }

    /// `podman --root R --runroot R2 --tmpdir T ARGS...` with our containers.conf.
    pub fn cmd<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let d = self.dir.path();
        let mut c = Command::new("podman");
        c.env("CONTAINERS_CONF", self.conf())
            .arg("--root")
            .arg(d.join("root"))
            .arg("--runroot")
            .arg(d.join("run"))
            .arg("--tmpdir")
            .arg(d.join("tmp"))
            // No image layers here (--rootfs); vfs works on any backing file system (overlay
            // cannot sit on the overlay / of a containerised CI runner).
            .args(["--storage-driver", "vfs"])
            .args(args)
            .stdin(Stdio::null());
        c
    }

    /// `podman run OPTS --rootfs ROOTFS ARGS...`
    pub fn run(&self, opts: &[&str], rootfs: &std::path::Path, args: &[&str]) -> Command {
        let mut c = self.cmd(["run"]);
        c.args(opts).arg("--rootfs").arg(rootfs).args(args);
        c
    }

    /// `--cidfile` path for a container named `name` (podman writes the full id there, so
    /// that a `--rm` container can still be looked for afterwards).
    pub fn cidfile(&self, name: &str) -> String {
        self.dir
            .path()
            .join(format!("{name}.cid"))
            .to_string_lossy()
            .into_owned()
    }

    /// Asserts that nothing of the container `name` is left: looked for by name and, when
    /// podman wrote its `--cidfile`, by full id (ocirun's state dir and the cgroups are
    /// named after the id).
    pub fn assert_no_leaks(&self, name: &str) {
        let root = std::path::Path::new(OCIRUN_DEFAULT_ROOT);
        super::assert_no_leaks(name, &[root]);
        if let Ok(id) = std::fs::read_to_string(self.cidfile(name)) {
            if !id.trim().is_empty() {
                super::assert_no_leaks(id.trim(), &[root]);
            }
        }
    }

    /// The full id of a container given by name.
    pub fn id_of(&self, name: &str) -> String {
        ok(&mut self.cmd(["inspect", "--format", "{{.Id}}", name]))
            .trim()
            .to_string()
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        self.cmd(["rm", "--all", "--force", "--time", "0"])
            .output()
            .ok();
        // conmon (and its cleanup podman) name our root in their command lines.
        super::kill_matching(&self.dir.path().join("root").to_string_lossy());
        unmount_under(self.dir.path());
    }
}

/// The current hard limit: podman's defaults (1048576) may be higher than what can be raised
/// without CAP_SYS_RESOURCE, and runc fails the same way then. The caps above are values seen
/// to work on such a host (where a hard limit equal to this process's still failed).
fn hard_limit(resource: libc::__rlimit_resource_t) -> u64 {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    unsafe { libc::getrlimit(resource, &mut r) };
    if r.rlim_max == libc::RLIM_INFINITY {
        1_048_576
    } else {
        r.rlim_max
    }
}
