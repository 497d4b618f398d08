//! `linux.netDevices` (config-linux.md "Network Devices"): host network devices moved into
//! the container's network namespace, renamed when asked (a `%d` template lets the kernel
//! pick a free name), with their permanent addresses of global scope kept and set up.
//!
//! The move and the rename are one RTM_NEWLINK (IFLA_NET_NS_FD with IFLA_IFNAME), made by
//! `create` once the init's network namespace exists; the addresses and the "up" are set from
//! a child that entered that namespace (the runtime itself never changes namespace). Nothing
//! moves the device back: "The runtime MUST NOT attempt to move the interface out of the
//! namespace before deletion"; when the namespace goes, the kernel returns a physical device
//! to the initial namespace and destroys a virtual one.
//!
//! Netlink messages are built and parsed by the `netlink-packet-route` crate, sent over a
//! plain `netlink-sys` socket (no async runtime in a runtime that forks).

use std::collections::HashMap;
use std::os::fd::{AsRawFd, BorrowedFd};

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL,
    NLM_F_REQUEST,
};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope,
};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

/// IFNAMSIZ - 1: the longest interface name.
const MAX_NAME: usize = 15;

/// One device to move: its name on the host and in the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub host: String,
    pub container: String,
}

/// The moves `linux.netDevices` asks for, each name checked (the error is (JSON path, why)).
pub fn plan(
    devices: &HashMap<String, oci_spec::runtime::LinuxNetDevice>,
) -> Result<Vec<Move>, (String, String)> {
    let mut moves: Vec<Move> = devices
        .iter()
        .map(|(host, d)| Move {
            host: host.clone(),
            container: d.name().clone().unwrap_or_else(|| host.clone()),
        })
        .collect();
    moves.sort_by(|a, b| a.host.cmp(&b.host));
    for m in &moves {
        for (name, field) in [(&m.host, String::new()), (&m.container, ".name".into())] {
            let bad = name.is_empty()
                || name.len() > MAX_NAME
                || name == "."
                || name == ".."
                || name
                    .chars()
                    .any(|c| c == '/' || c == ':' || c.is_whitespace());
            if bad {
                return Err((
                    format!("linux.netDevices.{}{field}", m.host),
                    format!("{name:?} is not a network interface name (1 to {MAX_NAME} bytes, no '/', ':' or space)"),
                ));
            }
        }
    }
    Ok(moves)
}

/// A route netlink socket in the caller's network namespace.
struct Rtnl {
    sock: Socket,
    seq: u32,
}

impl Rtnl {
    fn open() -> Result<Rtnl, String> {
        let mut sock = Socket::new(NETLINK_ROUTE).map_err(|e| format!("netlink socket: {e}"))?;
        sock.bind_auto().map_err(|e| format!("netlink bind: {e}"))?;
        sock.connect(&SocketAddr::new(0, 0))
            .map_err(|e| format!("netlink connect: {e}"))?;
        Ok(Rtnl { sock, seq: 0 })
    }

    /// Sends one request and returns the messages of the answer (a dump's parts, or nothing
    /// for an acknowledged change); a netlink error is returned as the errno's text.
    fn request(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<Vec<RouteNetlinkMessage>, std::io::Error> {
        self.seq += 1;
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | flags;
        header.sequence_number = self.seq;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(msg));
        packet.finalize();
        let mut buf = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut buf);
        self.sock.send(&buf, 0)?;
        let mut out = Vec::new();
        loop {
            let (data, _) = self.sock.recv_from_full()?;
            let mut offset = 0;
            while offset < data.len() {
                let reply = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&data[offset..])
                    .map_err(|e| std::io::Error::other(e.to_string()))?;
                let len = reply.header.length as usize;
                if len == 0 {
                    return Err(std::io::Error::other("netlink: empty message"));
                }
                offset += len;
                if reply.header.sequence_number != self.seq {
                    continue;
                }
                match reply.payload {
                    NetlinkPayload::Done(_) => return Ok(out),
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            None => Ok(out),
                            Some(code) => Err(std::io::Error::from_raw_os_error(-code.get())),
                        }
                    }
                    NetlinkPayload::InnerMessage(m) => out.push(m),
                    _ => {}
                }
            }
            if flags & NLM_F_DUMP != NLM_F_DUMP && flags & NLM_F_ACK == 0 {
                return Ok(out);
            }
        }
    }

    fn links(&mut self) -> Result<Vec<LinkMessage>, std::io::Error> {
        let replies = self.request(
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
            NLM_F_DUMP,
        )?;
        Ok(replies
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(l),
                _ => None,
            })
            .collect())
    }

    fn link_named(&mut self, name: &str) -> Result<Option<LinkMessage>, std::io::Error> {
        Ok(self
            .links()?
            .into_iter()
            .find(|l| link_name(l).as_deref() == Some(name)))
    }

    fn addresses(&mut self, index: u32) -> Result<Vec<AddressMessage>, std::io::Error> {
        let replies = self.request(
            RouteNetlinkMessage::GetAddress(AddressMessage::default()),
            NLM_F_DUMP,
        )?;
        Ok(replies
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewAddress(a) if a.header.index == index => Some(a),
                _ => None,
            })
            .collect())
    }

    fn change_link(&mut self, link: LinkMessage) -> Result<(), std::io::Error> {
        self.request(RouteNetlinkMessage::SetLink(link), NLM_F_ACK)
            .map(drop)
    }
}

fn link_name(l: &LinkMessage) -> Option<String> {
    l.attributes.iter().find_map(|a| match a {
        LinkAttribute::IfName(n) => Some(n.clone()),
        _ => None,
    })
}

fn link_mac(l: &LinkMessage) -> Option<Vec<u8>> {
    l.attributes.iter().find_map(|a| match a {
        LinkAttribute::Address(mac) => Some(mac.clone()),
        _ => None,
    })
}

/// config-linux.md: "all permanent IP addresses (IFA_F_PERMANENT flag) of any family with
/// global scope (RT_SCOPE_UNIVERSE value)".
fn is_kept(a: &AddressMessage) -> bool {
    let permanent = a.header.flags.contains(AddressHeaderFlags::Permanent)
        || a.attributes.iter().any(|attr| {
            matches!(attr, AddressAttribute::Flags(f) if f.contains(AddressFlags::Permanent))
        });
    permanent && a.header.scope == AddressScope::Universe
}

/// What a moved device was, to find it again on the other side.
#[derive(Debug)]
struct Moved {
    index: u32,
    mac: Option<Vec<u8>>,
    addresses: Vec<AddressMessage>,
}

/// Moves every device into the network namespace `netns` (an fd on it), with its permanent
/// global addresses, and sets it up. Errors name the device.
///
/// All of it runs in a child holding two netlink sockets: one opened in the runtime's
/// namespace, then, after setns, one in the container's (a socket stays in the namespace it
/// was made in). So the target name is checked to be free before anything moves (config-linux.md
/// "The runtime MUST check if moving the network interface to the container namespace is
/// possible": the kernel would rename after the move, and a failure then would lose the
/// device with the namespace).
pub fn move_into(moves: &[Move], netns: BorrowedFd<'_>) -> Result<(), String> {
    if moves.is_empty() {
        return Ok(());
    }
    let (read, write) = nix::unistd::pipe().map_err(|e| format!("pipe: {e}"))?;
    // SAFETY: ocirun is single-threaded, so the child may run arbitrary code after fork.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            drop(read);
            let code = match move_from_child(moves, netns) {
                Ok(()) => 0,
                Err(msg) => {
                    let _ = nix::unistd::write(&write, msg.as_bytes());
                    1
                }
            };
            crate::process::fork::exit_child(code)
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => {
            drop(write);
            let mut msg = Vec::new();
            let _ = std::io::Read::read_to_end(&mut std::fs::File::from(read), &mut msg);
            match nix::sys::wait::waitpid(child, None) {
                Ok(nix::sys::wait::WaitStatus::Exited(_, 0)) => Ok(()),
                _ if !msg.is_empty() => Err(String::from_utf8_lossy(&msg).into_owned()),
                _ => Err("linux.netDevices: moving the devices failed".into()),
            }
        }
        Err(e) => Err(format!("fork: {}", crate::errno_text_raw(e as i32))),
    }
}

fn move_from_child(moves: &[Move], netns: BorrowedFd<'_>) -> Result<(), String> {
    let mut host = Rtnl::open()?;
    nix::sched::setns(netns, nix::sched::CloneFlags::CLONE_NEWNET)
        .map_err(|e| format!("setns net: {}", crate::errno_text_raw(e as i32)))?;
    let mut inside = Rtnl::open()?;
    for m in moves {
        let at = format!("linux.netDevices.{}", m.host);
        let list = |e: std::io::Error| format!("{at}: list links: {}", crate::errno_text(&e));
        if !m.container.contains("%d") && inside.link_named(&m.container).map_err(list)?.is_some() {
            return Err(format!(
                "{at}: the container already has a device named {} (end the name with %d to let the kernel number it)",
                m.container
            ));
        }
        let link = host
            .link_named(&m.host)
            .map_err(list)?
            .ok_or_else(|| format!("{at}: no such network device on the host"))?;
        let index = link.header.index;
        let addresses = host
            .addresses(index)
            .map_err(|e| format!("{at}: list addresses: {}", crate::errno_text(&e)))?
            .into_iter()
            .filter(is_kept)
            .collect();
        let mut change = LinkMessage::default();
        change.header.index = index;
        change.attributes = vec![
            LinkAttribute::NetNsFd(netns.as_raw_fd()),
            LinkAttribute::IfName(m.container.clone()),
        ];
        host.change_link(change).map_err(|e| {
            format!(
                "{at}: move into the container's network namespace: {}",
                crate::errno_text(&e)
            )
        })?;
        let moved = Moved {
            index,
            mac: link_mac(&link),
            addresses,
        };
        configure(&mut inside, &at, &moved)?;
    }
    Ok(())
}

/// Addresses back and up, in the container's namespace.
fn configure(rtnl: &mut Rtnl, at: &str, m: &Moved) -> Result<(), String> {
    let links = rtnl
        .links()
        .map_err(|e| format!("{at}: list links: {}", crate::errno_text(&e)))?;
    // The kernel keeps the index when it is free in the new namespace; otherwise the device
    // is known by its hardware address.
    let same_mac = |l: &LinkMessage| {
        m.mac
            .as_ref()
            .is_none_or(|mac| link_mac(l).as_ref() == Some(mac))
    };
    let link = links
        .iter()
        .find(|l| l.header.index == m.index && same_mac(l))
        .or_else(|| links.iter().find(|l| m.mac.is_some() && same_mac(l)))
        .ok_or_else(|| format!("{at}: not found in the container's network namespace"))?;
    let index = link.header.index;
    for a in &m.addresses {
        let mut add = a.clone();
        add.header.index = index;
        add.attributes
            .retain(|attr| !matches!(attr, AddressAttribute::CacheInfo(_)));
        rtnl.request(
            RouteNetlinkMessage::NewAddress(add),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        )
        .map_err(|e| format!("{at}: add address: {}", crate::errno_text(&e)))?;
    }
    let mut up = LinkMessage::default();
    up.header.index = index;
    up.header.flags = LinkFlags::Up;
    up.header.change_mask = LinkFlags::Up;
    rtnl.change_link(up)
        .map_err(|e| format!("{at}: set up: {}", crate::errno_text(&e)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_default_to_the_hosts() {
        let devices: HashMap<String, oci_spec::runtime::LinuxNetDevice> =
            serde_json::from_value(serde_json::json!({"veth1": {}, "veth2": {"name": "eth%d"}}))
                .unwrap();
        assert_eq!(
            plan(&devices).unwrap(),
            vec![
                Move {
                    host: "veth1".into(),
                    container: "veth1".into()
                },
                Move {
                    host: "veth2".into(),
                    container: "eth%d".into()
                },
            ]
        );
        let bad: HashMap<String, oci_spec::runtime::LinuxNetDevice> =
            serde_json::from_value(serde_json::json!({"veth1": {"name": "a/b"}})).unwrap();
        assert_eq!(plan(&bad).unwrap_err().0, "linux.netDevices.veth1.name");
        let long: HashMap<String, oci_spec::runtime::LinuxNetDevice> =
            serde_json::from_value(serde_json::json!({"averyveryverylongname": {}})).unwrap();
        assert_eq!(
            plan(&long).unwrap_err().0,
            "linux.netDevices.averyveryverylongname"
        );
    }
}
