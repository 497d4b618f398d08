//! The teardown that ALWAYS runs after a case, the leak check, and the file and owner
//! expectations judged after delete.

use super::*;

impl Run<'_> {
    /// ALWAYS runs: kill and force-delete what the case created, look for leaks (a leak is a
    /// failure of the runtime), then remove whatever is left.
    pub(super) fn cleanup(&mut self) {
        let live: Vec<(String, Option<observe::Proc>, bool)> = [&self.main, &self.second]
            .iter()
            .map(|c| (c.id.clone(), c.process, c.created && !c.deleted))
            .collect();
        let any_created = self.main.created || self.second.created;
        for (id, _, undeleted) in &live {
            if *undeleted {
                let _ = self.ctx.target.runtime.call(
                    Some(&self.root),
                    &["kill", id, "KILL"],
                    &self.dir,
                    "cleanup-kill",
                );
                let _ = self.ctx.target.runtime.call(
                    Some(&self.root),
                    &["delete", "--force", id],
                    &self.dir,
                    "cleanup-delete",
                );
            }
        }
        for (_, pid, _) in &live {
            if let Some(p) = *pid {
                // Reap our (reparented) child if it is already gone or a zombie.
                observe::reap(p);
            }
        }
        // The runner's own mounts (`host_shared`), deepest first, before looking for leaks.
        for p in self.host_mounts.drain(..).rev() {
            if let Ok(c) = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()) {
                // SAFETY: umount2 on a NUL-terminated path the runner mounted.
                unsafe {
                    libc::umount2(c.as_ptr(), libc::MNT_DETACH);
                }
            }
        }
        let found = leaks::find(&self.marks);
        if !found.is_empty() {
            let cites = if any_created {
                &[cite::DELETE_RESOURCES, cite::LIFECYCLE_DESTROY][..]
            } else {
                &[cite::ERRORS_NO_TRACE][..]
            };
            self.checks.push(Check::with(
                "nothing of the container is left on the host",
                Status::Fail,
                self.ctx.refs.all(cites),
                "no processes, mounts, cgroups or state left",
                found.describe(),
            ));
            leaks::clean(&found);
        }
        for (_, pid, _) in &live {
            if let Some(p) = *pid {
                if p.is_still_there() && observe::alive(p.pid) {
                    observe::kill(p.pid, libc::SIGKILL);
                }
                let _ = observe::wait_exit(p, Duration::from_millis(200));
            }
        }
        let _ = std::fs::remove_dir_all(&self.root);
        let ids = self.case.file.requirements.clone();
        let ran = !self.checks.iter().any(|c| c.status >= Status::Error);
        for (rel, want) in &self.case.file.expect.files {
            if !ran {
                break; // the steps already failed; the files say nothing more
            }
            let want = self.fill_namespaces(want);
            let seen = std::fs::read_to_string(self.dir.join(rel)).ok();
            self.checks.push(Check::compare(
                format!("file {rel}"),
                ids.clone(),
                Some(want.as_str()),
                seen.as_deref(),
            ));
        }
        for (rel, want) in &self.case.file.expect.owners {
            use std::os::unix::fs::MetadataExt;
            let seen = std::fs::metadata(self.dir.join(rel))
                .map(|m| format!("{}:{}", m.uid(), m.gid()))
                .unwrap_or_else(|e| e.to_string());
            self.checks.push(Check::compare(
                format!("owner of {rel}"),
                ids.clone(),
                want.as_str(),
                seen.as_str(),
            ));
        }
    }

    /// `{host.ns.net}` → the runner's net namespace inode, `{container.ns.net}` → the probe's.
    pub(super) fn fill_namespaces(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (k, v) in &self.ctx.host.namespaces {
            out = out.replace(&format!("{{host.ns.{k}}}"), &v.to_string());
        }
        if let Some(r) = &self.main.report {
            for (k, v) in &r.namespaces {
                out = out.replace(&format!("{{container.ns.{k}}}"), &v.to_string());
            }
        }
        out
    }
}
