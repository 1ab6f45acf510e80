//! Router advertisements that tell iPXE there is no IPv6 router here.
//!
//! After DHCP, iPXE solicits a router and, unanswered, keeps trying for ~16 s before it
//! finishes configuring the NIC. An advertisement with router lifetime 0 and the M and O
//! flags clear ("not a default router; no DHCPv6 for addresses or other settings") ends
//! that wait at once. smoltcp itself ignores solicitations, so a raw ICMPv6 socket sees
//! them and the advertisement is built with `NdiscRepr` and sent to all nodes (ff02::1).
//!
//! Panic contract: nothing here panics, whatever arrives.

use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::socket::raw;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{
    EthernetAddress, Icmpv6Packet, Icmpv6Repr, IpProtocol, Ipv6Address, Ipv6Packet, Ipv6Repr, NdiscRepr,
    NdiscRouterFlags, IPV6_HEADER_LEN, IPV6_LINK_LOCAL_ALL_NODES,
};

/// Neighbour discovery messages must carry hop limit 255 (RFC 4861 §6.1), proving they
/// were not forwarded.
const NDISC_HOP_LIMIT: u8 = 255;

/// The link-local address derived from a MAC (modified EUI-64, RFC 4291 appendix A).
///
/// ```
/// use ipxe_config_server::router_advert::link_local;
/// use smoltcp::wire::{EthernetAddress, Ipv6Address};
/// let address = link_local(EthernetAddress([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]));
/// assert_eq!(address, "fe80::5054:ff:fe12:3456".parse::<Ipv6Address>().unwrap());
/// ```
pub fn link_local(mac: EthernetAddress) -> Ipv6Address {
    let m = mac.0;
    // The universal/local bit is inverted; ff:fe goes in the middle.
    Ipv6Address::from([0xfe, 0x80, 0, 0, 0, 0, 0, 0, m[0] ^ 0x02, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]])
}

/// Answers router solicitations.
pub(crate) struct RouterAdvertiser {
    handle: SocketHandle,
    mac: EthernetAddress,
    source: Ipv6Address,
    /// A solicitation arrived that has not been answered yet.
    pending: bool,
    last_sent: Option<Instant>,
}

/// Several solicitations in a burst (iPXE retransmits) get one advertisement.
const MIN_INTERVAL: Duration = Duration::from_millis(100);

impl RouterAdvertiser {
    pub(crate) fn new(handle: SocketHandle, mac: EthernetAddress) -> Self {
        RouterAdvertiser { handle, mac, source: link_local(mac), pending: false, last_sent: None }
    }

    /// Reads solicitations and sends an advertisement; `true` if anything happened.
    pub(crate) fn poll(&mut self, sockets: &mut SocketSet<'_>, now: Instant) -> bool {
        let socket = sockets.get_mut::<raw::Socket>(self.handle);
        let mut progress = false;
        while let Ok(packet) = socket.recv() {
            progress = true;
            if let Some(from) = router_solicitation(packet) {
                log_debug!("ipv6 router solicitation from {from}");
                self.pending = true;
            }
        }
        let quiet = self.last_sent.is_none_or(|sent| now >= sent + MIN_INTERVAL);
        if self.pending && quiet && socket.can_send() {
            let advert = self.advertisement();
            let icmp_len = advert.buffer_len();
            let ip = Ipv6Repr {
                src_addr: self.source,
                dst_addr: IPV6_LINK_LOCAL_ALL_NODES,
                next_header: IpProtocol::Icmpv6,
                payload_len: icmp_len,
                hop_limit: NDISC_HOP_LIMIT,
            };
            if let Ok(buf) = socket.send(IPV6_HEADER_LEN + icmp_len) {
                let mut packet = Ipv6Packet::new_unchecked(&mut *buf);
                ip.emit(&mut packet);
                if let Some(payload) = buf.get_mut(IPV6_HEADER_LEN..) {
                    advert.emit(
                        &self.source,
                        &IPV6_LINK_LOCAL_ALL_NODES,
                        &mut Icmpv6Packet::new_unchecked(payload),
                        &ChecksumCapabilities::default(),
                    );
                }
                log_info!("ipv6 router advertisement sent (lifetime 0, no DHCPv6)");
                self.pending = false;
                self.last_sent = Some(now);
                progress = true;
            }
        }
        progress
    }

    /// When a deferred advertisement is due.
    pub(crate) fn poll_at(&self) -> Option<Instant> {
        if !self.pending {
            return None;
        }
        Some(self.last_sent.map_or(Instant::ZERO, |sent| sent + MIN_INTERVAL))
    }

    fn advertisement(&self) -> Icmpv6Repr<'static> {
        Icmpv6Repr::Ndisc(NdiscRepr::RouterAdvert {
            hop_limit: 0,
            flags: NdiscRouterFlags::empty(),
            router_lifetime: Duration::ZERO,
            reachable_time: Duration::ZERO,
            retrans_time: Duration::ZERO,
            lladdr: Some(self.mac.into()),
            mtu: None,
            prefix_info: None,
        })
    }
}

/// The source of a valid router solicitation in a raw IPv6 packet.
fn router_solicitation(packet: &[u8]) -> Option<Ipv6Address> {
    let ip = Ipv6Packet::new_checked(packet).ok()?;
    let repr = Ipv6Repr::parse(&ip).ok()?;
    if repr.next_header != IpProtocol::Icmpv6 || repr.hop_limit != NDISC_HOP_LIMIT {
        return None;
    }
    let icmp = Icmpv6Packet::new_checked(ip.payload()).ok()?;
    let parsed = Icmpv6Repr::parse(&repr.src_addr, &repr.dst_addr, &icmp, &ChecksumCapabilities::default()).ok()?;
    matches!(parsed, Icmpv6Repr::Ndisc(NdiscRepr::RouterSolicit { .. })).then_some(repr.src_addr)
}
