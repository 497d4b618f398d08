//! runc's `list`: every container under the state root, as runc's table or JSON.

use super::Error;
use crate::state::{Container, Status};
use serde::Serialize;
use std::path::Path;

/// One row (runc's `list --format json` fields).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub oci_version: String,
    pub id: String,
    pub pid: i32,
    pub status: Status,
    pub bundle: String,
    pub rootfs: String,
    pub created: String,
    pub owner: String,
}

/// The containers in `root`, sorted by id. A missing root is an empty list; a directory
/// without a readable state (a create in progress) is skipped.
pub fn list(root: &Path) -> Result<Vec<Entry>, Error> {
    let dir = match std::fs::read_dir(root) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::os(root.display(), &e)),
    };
    let mut out = Vec::new();
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(id) = name.to_str() else { continue };
        if crate::id::validate(id).is_err() {
            continue;
        }
        let Ok(c) = Container::load(root, id) else {
            continue;
        };
        let status = c.status();
        let public = c.public(status);
        out.push(Entry {
            oci_version: c.state.oci_version.clone(),
            id: c.state.id.clone(),
            pid: public.pid.unwrap_or(0),
            status,
            bundle: c.state.bundle.display().to_string(),
            rootfs: c.state.rootfs.display().to_string(),
            created: c.state.created.clone(),
            owner: public.owner,
        });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// runc's table: `ID PID STATUS BUNDLE CREATED OWNER`, columns padded by the widest cell.
pub fn table(entries: &[Entry]) -> String {
    let mut rows = vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from)];
    for e in entries {
        rows.push([
            e.id.clone(),
            e.pid.to_string(),
            e.status.to_string(),
            e.bundle.clone(),
            e.created.clone(),
            e.owner.clone(),
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                if i == 5 {
                    cell.clone()
                } else {
                    format!("{cell:<w$}", w = widths[i] + 3)
                }
            })
            .collect();
        out.push_str(line.concat().trim_end());
        out.push('\n');
    }
    out
}
