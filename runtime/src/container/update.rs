//! runc's `update`: change the resources of a created, running or paused container by
//! writing its cgroup (config-linux.md "Control groups"; the values are a `LinuxResources`
//! object, as containerd's shim sends with `update --resources -`). Device rules are not
//! changed (runc's update leaves them too). As runc does, the update is then laid over the
//! resources saved in the state, so that they stay what the cgroup was set to.

use oci_spec::runtime::LinuxResources;
use serde_json::{json, Map, Value};
use std::path::Path;

use super::Error;
use crate::state::{Container, Status};

/// runc's update flags, parsed; each one set overrides the same field of `--resources`.
#[derive(Debug, Default, Clone)]
pub struct Flags {
    pub blkio_weight: Option<u16>,
    pub cpu_period: Option<u64>,
    pub cpu_quota: Option<i64>,
    pub cpu_share: Option<u64>,
    pub cpu_rt_period: Option<u64>,
    pub cpu_rt_runtime: Option<i64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    pub memory: Option<i64>,
    pub memory_reservation: Option<i64>,
    pub memory_swap: Option<i64>,
    pub kernel_memory: Option<i64>,
    pub kernel_memory_tcp: Option<i64>,
    pub pids_limit: Option<i64>,
}

/// The resources to apply: `json` (a `LinuxResources` object; `None` for none) with `flags`
/// laid over it. Errors name `source` (the file, or "stdin") and the JSON problem.
pub fn resources(
    json: Option<&[u8]>,
    source: &str,
    flags: &Flags,
) -> Result<LinuxResources, Error> {
    let mut doc: Value = match json {
        Some(bytes) => serde_json::from_slice(bytes)
            .map_err(|e| Error::Failed(format!("--resources {source}: {e}")))?,
        None => Value::Object(Map::new()),
    };
    let Some(obj) = doc.as_object_mut() else {
        return Err(Error::Failed(format!(
            "--resources {source}: not a JSON object"
        )));
    };
    let mut set = |section: &str, key: &str, value: Value| {
        let entry = obj
            .entry(section)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(map) = entry.as_object_mut() {
            map.insert(key.into(), value);
        }
    };
    let f = flags;
    let fields: [(&str, &str, Option<Value>); 14] = [
        ("blockIO", "weight", f.blkio_weight.map(|v| json!(v))),
        ("cpu", "period", f.cpu_period.map(|v| json!(v))),
        ("cpu", "quota", f.cpu_quota.map(|v| json!(v))),
        ("cpu", "shares", f.cpu_share.map(|v| json!(v))),
        ("cpu", "realtimePeriod", f.cpu_rt_period.map(|v| json!(v))),
        ("cpu", "realtimeRuntime", f.cpu_rt_runtime.map(|v| json!(v))),
        ("cpu", "cpus", f.cpuset_cpus.clone().map(Value::from)),
        ("cpu", "mems", f.cpuset_mems.clone().map(Value::from)),
        ("memory", "limit", f.memory.map(|v| json!(v))),
        (
            "memory",
            "reservation",
            f.memory_reservation.map(|v| json!(v)),
        ),
        ("memory", "swap", f.memory_swap.map(|v| json!(v))),
        ("memory", "kernel", f.kernel_memory.map(|v| json!(v))),
        ("memory", "kernelTCP", f.kernel_memory_tcp.map(|v| json!(v))),
        ("pids", "limit", f.pids_limit.map(|v| json!(v))),
    ];
    for (section, key, value) in fields {
        if let Some(value) = value {
            set(section, key, value);
        }
    }
    serde_json::from_value(doc).map_err(|e| Error::Failed(format!("--resources {source}: {e}")))
}

/// Writes `resources` (without device rules) to the cgroup of container `id`, which must be
/// created, running or paused. As at create, a field the host cannot apply is refused by
/// name before anything is written (config.md "Valid values").
pub fn update(root: &Path, id: &str, resources: &LinuxResources) -> Result<(), Error> {
    crate::id::validate(id)?;
    let mut container = Container::load_locked(root, id)?;
    let status = container.status();
    if !matches!(status, Status::Created | Status::Running | Status::Paused) {
        return Err(Error::WrongState {
            op: "update",
            id: id.to_string(),
            status,
        });
    }
    let mut resources = resources.clone();
    resources.set_devices(None);
    let cgroup = crate::cgroups::manager(
        container.state.cgroups_path.as_deref(),
        id,
        container.state.systemd_cgroup,
    )?;
    cgroup.set(&resources)?;
    container.state.resources = Some(lay_over(container.state.resources.as_ref(), &resources)?);
    container.save()?;
    Ok(())
}

/// `update` laid over `saved`: the fields `update` sets replace the saved ones (objects
/// field by field, lists whole), the others stay.
fn lay_over(
    saved: Option<&LinuxResources>,
    update: &LinuxResources,
) -> Result<LinuxResources, Error> {
    let fail = |e: serde_json::Error| Error::Failed(format!("save updated resources: {e}"));
    let mut merged = match saved {
        Some(r) => serde_json::to_value(r).map_err(fail)?,
        None => Value::Object(Map::new()),
    };
    merge_value(&mut merged, serde_json::to_value(update).map_err(fail)?);
    serde_json::from_value(merged).map_err(fail)
}

fn merge_value(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(base), Value::Object(over)) => {
            for (key, value) in over {
                if !value.is_null() {
                    merge_value(base.entry(key).or_insert(Value::Null), value);
                }
            }
        }
        (base, over) => *base = over,
    }
}

/// A size as runc's flags take it (docker's RAMInBytes): bytes with an optional `k`, `m`,
/// `g`, `t` or `p` suffix (powers of 1024, an optional trailing `b`, any case), or `-1` for
/// unlimited.
pub fn parse_size(text: &str) -> Result<i64, String> {
    let t = text.trim().to_ascii_lowercase();
    if t == "-1" {
        return Ok(-1);
    }
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (digits, shift) = match t.char_indices().last() {
        Some((i, 'k')) => (&t[..i], 10),
        Some((i, 'm')) => (&t[..i], 20),
        Some((i, 'g')) => (&t[..i], 30),
        Some((i, 't')) => (&t[..i], 40),
        Some((i, 'p')) => (&t[..i], 50),
        _ => (t, 0),
    };
    let bad = || format!("invalid size \"{text}\"");
    let n: i64 = digits.trim().parse().map_err(|_| bad())?;
    if n < 0 {
        return Err(bad());
    }
    n.checked_mul(1 << shift).ok_or_else(bad)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64m"), Ok(64 << 20));
        assert_eq!(parse_size("128MB"), Ok(128 << 20));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("-1"), Ok(-1));
        assert_eq!(parse_size("1x"), Err("invalid size \"1x\"".into()));
        assert!(parse_size("-5").is_err());
    }

    #[test]
    fn flags_override_the_json() {
        let json = br#"{"memory": {"limit": 1, "swap": 2}, "pids": {"limit": 3}}"#;
        let flags = Flags {
            memory: Some(64 << 20),
            cpu_quota: Some(5000),
            ..Flags::default()
        };
        let r = resources(Some(json), "stdin", &flags).unwrap();
        let m = r.memory().as_ref().unwrap();
        assert_eq!((m.limit(), m.swap()), (Some(64 << 20), Some(2)));
        assert_eq!(r.cpu().as_ref().unwrap().quota(), Some(5000));
        assert_eq!(r.pids().as_ref().unwrap().limit(), 3);
        let err = resources(Some(b"[1]"), "stdin", &flags).unwrap_err();
        assert_eq!(err.to_string(), "--resources stdin: not a JSON object");
        let err = resources(
            Some(b"{\"pids\": {\"limit\": \"x\"}}"),
            "r.json",
            &Flags::default(),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("--resources r.json: "), "{err}");
    }

    #[test]
    fn an_update_is_laid_over_the_saved_resources() {
        let saved: LinuxResources = serde_json::from_value(json!({
            "devices": [{"allow": false, "access": "rwm"}],
            "memory": {"limit": 100, "swap": 200},
            "cpu": {"cpus": "0-1"}
        }))
        .unwrap();
        let update: LinuxResources =
            serde_json::from_value(json!({"memory": {"limit": 150}, "cpu": {"cpus": "1"}}))
                .unwrap();
        let merged = serde_json::to_value(lay_over(Some(&saved), &update).unwrap()).unwrap();
        assert_eq!(merged["memory"], json!({"limit": 150, "swap": 200}));
        assert_eq!(merged["cpu"], json!({"cpus": "1"}));
        assert_eq!(merged["devices"][0]["access"], "rwm");
        let fresh = serde_json::to_value(lay_over(None, &update).unwrap()).unwrap();
        assert_eq!(fresh, serde_json::to_value(&update).unwrap());
    }
}
