//! Configuring a NIC by hand, as iPXE does it: DHCP client messages with iPXE's options
//! (user class `iPXE`, PXE vendor class, client identifier, parameter list) and an IPv6
//! router solicitation, built as whole Ethernet frames; the server's replies read back.

use ipxe_config_server::router_advert::link_local;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    DhcpMessageType, DhcpOption, DhcpPacket, DhcpRepr, EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr,
    Icmpv6Message, Icmpv6Packet, Icmpv6Repr, IpAddress, IpProtocol, Ipv4Address, Ipv4Packet, Ipv4Repr, Ipv6Packet,
    Ipv6Repr, NdiscRepr, UdpPacket, UdpRepr, IPV6_LINK_LOCAL_ALL_ROUTERS,
};

/// What iPXE 1.0.0 puts in option 55.
const PARAMETER_REQUEST_LIST: &[u8] = &[1, 3, 6, 7, 12, 15, 17, 26, 43, 60, 66, 67, 119, 128, 129, 130, 131, 175, 203];

/// A client message to build.
#[derive(Debug, Clone, Copy)]
pub struct ClientMessage {
    pub kind: DhcpMessageType,
    pub mac: EthernetAddress,
    pub xid: u32,
    /// `ciaddr` (renewing).
    pub client_ip: Ipv4Address,
    /// Option 50.
    pub requested_ip: Option<Ipv4Address>,
    /// Option 54.
    pub server_id: Option<Ipv4Address>,
    /// Option 77 = `iPXE`.
    pub ipxe: bool,
}

impl ClientMessage {
    pub fn discover(mac: EthernetAddress, xid: u32) -> Self {
        ClientMessage {
            kind: DhcpMessageType::Discover,
            mac,
            xid,
            client_ip: Ipv4Address::UNSPECIFIED,
            requested_ip: None,
            server_id: None,
            ipxe: true,
        }
    }

    pub fn request(mac: EthernetAddress, xid: u32, requested: Ipv4Address, server: Ipv4Address) -> Self {
        ClientMessage {
            kind: DhcpMessageType::Request,
            requested_ip: Some(requested),
            server_id: Some(server),
            ..Self::discover(mac, xid)
        }
    }

    /// The DHCP payload (BOOTP header and options).
    pub fn payload(&self) -> Vec<u8> {
        let options = [
            DhcpOption { kind: 60, data: b"PXEClient:Arch:00000:UNDI:002001" },
            DhcpOption { kind: 77, data: b"iPXE" },
            DhcpOption { kind: 93, data: &[0, 0] },
            DhcpOption { kind: 94, data: &[1, 2, 1] },
            DhcpOption { kind: 175, data: &[177, 5, 1, 0x10, 0xec, 0x81, 0x39] },
        ];
        let extra: &[DhcpOption<'_>] = if self.ipxe { &options } else { &options[..1] };
        let repr = DhcpRepr {
            message_type: self.kind,
            transaction_id: self.xid,
            secs: 0,
            client_hardware_address: self.mac,
            client_ip: self.client_ip,
            your_ip: Ipv4Address::UNSPECIFIED,
            server_ip: Ipv4Address::UNSPECIFIED,
            router: None,
            subnet_mask: None,
            relay_agent_ip: Ipv4Address::UNSPECIFIED,
            broadcast: false,
            requested_ip: self.requested_ip,
            client_identifier: Some(self.mac),
            server_identifier: self.server_id,
            parameter_request_list: Some(PARAMETER_REQUEST_LIST),
            dns_servers: None,
            max_size: Some(1472),
            lease_duration: None,
            renew_duration: None,
            rebind_duration: None,
            additional_options: extra,
        };
        let mut payload = vec![0u8; repr.buffer_len()];
        repr.emit(&mut DhcpPacket::new_unchecked(&mut payload[..])).unwrap();
        payload
    }

    /// The whole frame, broadcast from port 68 to 67.
    pub fn frame(&self) -> Vec<u8> {
        udp_frame(self.mac, self.client_ip, Ipv4Address::BROADCAST, 68, 67, &self.payload())
    }
}

/// An Ethernet + IPv4 + UDP frame around `payload`, with correct checksums, broadcast at
/// the Ethernet layer.
pub fn udp_frame(
    src_mac: EthernetAddress,
    src_ip: Ipv4Address,
    dst_ip: Ipv4Address,
    src_port: u16,
    dst_port: u16,
    payload: &[u8],
) -> Vec<u8> {
    let udp_repr = UdpRepr { src_port, dst_port };
    let ip_repr = Ipv4Repr {
        src_addr: src_ip,
        dst_addr: dst_ip,
        next_header: IpProtocol::Udp,
        payload_len: 8 + payload.len(),
        hop_limit: 64,
    };
    let eth_repr =
        EthernetRepr { src_addr: src_mac, dst_addr: EthernetAddress::BROADCAST, ethertype: EthernetProtocol::Ipv4 };
    let mut frame = vec![0u8; 14 + 20 + 8 + payload.len()];
    eth_repr.emit(&mut EthernetFrame::new_unchecked(&mut frame[..]));
    let caps = ChecksumCapabilities::default();
    ip_repr.emit(&mut Ipv4Packet::new_unchecked(&mut frame[14..]), &caps);
    udp_repr.emit(
        &mut UdpPacket::new_unchecked(&mut frame[34..]),
        &IpAddress::Ipv4(src_ip),
        &IpAddress::Ipv4(dst_ip),
        payload.len(),
        |room| room.copy_from_slice(payload),
        &caps,
    );
    frame
}

/// A server reply as a client reads it.
#[derive(Debug, Clone)]
pub struct ServerReply {
    pub eth_dst: EthernetAddress,
    pub kind: DhcpMessageType,
    pub xid: u32,
    pub chaddr: EthernetAddress,
    pub your_ip: Ipv4Address,
    pub server_id: Option<Ipv4Address>,
    pub subnet_mask: Option<Ipv4Address>,
    pub lease: Option<u32>,
    /// Option 67.
    pub bootfile: Option<String>,
}

/// Reads a DHCP reply (UDP 67 → 68) out of a frame; `None` for any other frame. Checks
/// the UDP checksum: a client would drop a reply that fails it.
pub fn parse_reply(frame: &[u8]) -> Option<ServerReply> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    if eth.ethertype() != EthernetProtocol::Ipv4 {
        return None;
    }
    let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
    if ip.next_header() != IpProtocol::Udp {
        return None;
    }
    let udp = UdpPacket::new_checked(ip.payload()).ok()?;
    if (udp.src_port(), udp.dst_port()) != (67, 68) {
        return None;
    }
    assert!(
        udp.verify_checksum(&IpAddress::Ipv4(ip.src_addr()), &IpAddress::Ipv4(ip.dst_addr())),
        "DHCP reply with a bad UDP checksum"
    );
    let dhcp = DhcpPacket::new_checked(udp.payload()).ok()?;
    let repr = DhcpRepr::parse(&dhcp).ok()?;
    let bootfile = dhcp
        .options()
        .find(|option| option.kind == 67)
        .map(|option| String::from_utf8(option.data.to_vec()).expect("option 67 is text"));
    Some(ServerReply {
        eth_dst: eth.dst_addr(),
        kind: repr.message_type,
        xid: repr.transaction_id,
        chaddr: repr.client_hardware_address,
        your_ip: repr.your_ip,
        server_id: repr.server_identifier,
        subnet_mask: repr.subnet_mask,
        lease: repr.lease_duration,
        bootfile,
    })
}

/// The router solicitation iPXE sends right after its DISCOVER: from its link-local
/// address to all routers (ff02::2), hop limit 255, with its MAC as the source option.
pub fn router_solicitation(mac: EthernetAddress) -> Vec<u8> {
    let source = link_local(mac);
    let icmp = Icmpv6Repr::Ndisc(NdiscRepr::RouterSolicit { lladdr: Some(mac.into()) });
    let ip = Ipv6Repr {
        src_addr: source,
        dst_addr: IPV6_LINK_LOCAL_ALL_ROUTERS,
        next_header: IpProtocol::Icmpv6,
        payload_len: icmp.buffer_len(),
        hop_limit: 255,
    };
    let eth = EthernetRepr {
        src_addr: mac,
        dst_addr: EthernetAddress([0x33, 0x33, 0, 0, 0, 2]),
        ethertype: EthernetProtocol::Ipv6,
    };
    let mut frame = vec![0u8; 14 + 40 + icmp.buffer_len()];
    eth.emit(&mut EthernetFrame::new_unchecked(&mut frame[..]));
    ip.emit(&mut Ipv6Packet::new_unchecked(&mut frame[14..]));
    icmp.emit(
        &source,
        &IPV6_LINK_LOCAL_ALL_ROUTERS,
        &mut Icmpv6Packet::new_unchecked(&mut frame[54..]),
        &ChecksumCapabilities::default(),
    );
    frame
}

/// Whether `frame` is an ICMPv6 router advertisement.
pub fn is_router_advertisement(frame: &[u8]) -> bool {
    let Ok(ethernet) = EthernetFrame::new_checked(frame) else { return false };
    if ethernet.ethertype() != EthernetProtocol::Ipv6 {
        return false;
    }
    let Ok(ip) = Ipv6Packet::new_checked(ethernet.payload()) else { return false };
    ip.next_header() == IpProtocol::Icmpv6
        && Icmpv6Packet::new_checked(ip.payload()).is_ok_and(|icmp| icmp.msg_type() == Icmpv6Message::RouterAdvert)
}
