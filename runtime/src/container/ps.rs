//! runc's `ps`: the processes of a container's cgroup (containerd calls `ps --format json` to
//! list a task's pids).

use super::Error;
use crate::state::Container;
use std::path::Path;

/// The host pids in the container's cgroup.
pub fn pids(root: &Path, id: &str) -> Result<Vec<i32>, Error> {
    crate::id::validate(id)?;
    let container = Container::load(root, id)?;
    let cgroup = crate::cgroups::manager(
        container.state.cgroups_path.as_deref(),
        id,
        container.state.systemd_cgroup,
    )?;
    let mut pids = cgroup.pids()?;
    pids.sort_unstable();
    Ok(pids)
}

/// `ps` output (run with `ps_args`, default `-ef`) keeping the header and the lines whose PID
/// column is one of `pids`.
pub fn table(pids: &[i32], ps_args: &[String]) -> Result<String, Error> {
    let args: Vec<String> = if ps_args.is_empty() {
        vec!["-ef".into()]
    } else {
        ps_args.to_vec()
    };
    let out = std::process::Command::new("ps")
        .args(&args)
        .output()
        .map_err(|e| Error::os("run ps", &e))?;
    if !out.status.success() {
        return Err(Error::Failed(format!(
            "ps {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let column = header
        .split_whitespace()
        .position(|h| h == "PID")
        .ok_or_else(|| Error::Failed("ps output has no PID column".into()))?;
    let mut result = format!("{header}\n");
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(column)
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            result.push_str(line);
            result.push('\n');
        }
    }
    Ok(result)
}
