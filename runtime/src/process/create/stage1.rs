//! Stage-1: the first child of `ocirun create`. It waits to be placed in the cgroup, joins the
//! namespaces given by path (user first), creates the new ones (config-linux.md
//! "Namespaces") — a new user namespace first, while the parent writes its id maps — then
//! forks the init, which is the first process of the new pid and time namespaces.

use super::Context;
use crate::namespaces;
use crate::process::channel::{Channel, Msg};
use crate::process::fork::{first_child, Stage};
use nix::unistd::{Gid, Uid};
use oci_spec::runtime::LinuxNamespaceType;

/// Runs in the forked child; never returns.
pub fn run(ctx: &Context, chan: Channel) -> ! {
    first_child(
        ctx.lock_fd,
        chan,
        Stage::Init,
        |chan| setup(ctx, chan),
        |chan| super::init::run(ctx, chan),
    )
}

/// Everything before the init is forked.
fn setup(ctx: &Context, chan: &Channel) -> Result<(), String> {
    chan.expect(Msg::CgroupReady).map_err(|e| e.to_string())?;
    for (typ, fd) in &ctx.namespaces.join {
        namespaces::join(*typ, fd).map_err(|e| e.to_string())?;
    }
    if ctx.namespaces.creates(LinuxNamespaceType::User) {
        namespaces::unshare(namespaces::clone_flag(LinuxNamespaceType::User))
            .map_err(|e| e.to_string())?;
        chan.send(&Msg::UserNsCreated).map_err(|e| e.to_string())?;
        chan.expect(Msg::MappingsWritten)
            .map_err(|e| e.to_string())?;
        become_root_if_mapped(ctx)?;
    }
    namespaces::unshare(ctx.namespaces.unshare_flags()).map_err(|e| e.to_string())?;
    if ctx.namespaces.creates(LinuxNamespaceType::Time) {
        if let Some(linux) = ctx.spec.linux() {
            namespaces::write_time_offsets(linux).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// In a new user namespace, switch to the container's uid/gid 0 when it is mapped, so that
/// files the init creates belong to the container's root.
fn become_root_if_mapped(ctx: &Context) -> Result<(), String> {
    let Some(linux) = ctx.spec.linux() else {
        return Ok(());
    };
    let maps_zero = |m: &Option<Vec<oci_spec::runtime::LinuxIdMapping>>| {
        m.iter().flatten().any(|m| m.container_id() == 0)
    };
    if maps_zero(linux.gid_mappings()) {
        nix::unistd::setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0)).map_err(
            |e| {
                format!(
                    "setgid 0 in user namespace: {}",
                    crate::errno_text_raw(e as i32)
                )
            },
        )?;
    }
    if maps_zero(linux.uid_mappings()) {
        nix::unistd::setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0)).map_err(
            |e| {
                format!(
                    "setuid 0 in user namespace: {}",
                    crate::errno_text_raw(e as i32)
                )
            },
        )?;
    }
    Ok(())
}
