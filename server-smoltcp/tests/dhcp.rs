//! The DHCP server answering the exact DISCOVER real iPXE sends (captured from QEMU into
//! `fixtures/ipxe-dhcpdiscover.bin`), then a REQUEST built from it, then the script the
//! offered URL names, fetched by a real smoltcp client.
#![cfg(feature = "host")]
// Test code: a panic is a test failure, so unwrap, expect, indexing and panic are fine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{shared_fixture, Harness, Options, CLIENT_MAC, DEPLOYING_NODE};
use smoltcp::iface::Interface;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    DhcpMessageType, DhcpOption, DhcpPacket, DhcpRepr, EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr,
    IpAddress, IpCidr, IpProtocol, Ipv4Address, Ipv4Cidr, Ipv4Packet, Ipv4Repr, UdpPacket, UdpRepr,
};

/// The MAC in the captured DISCOVER; not in the inventory.
const CAPTURED_MAC: EthernetAddress = EthernetAddress([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);

fn captured_discover() -> Vec<u8> {
    std::fs::read(shared_fixture("ipxe-dhcpdiscover.bin")).expect("fixtures/ipxe-dhcpdiscover.bin")
}

/// A DHCP reply as seen on the wire.
#[derive(Debug)]
struct Reply {
    eth_dst: EthernetAddress,
    ip_src: Ipv4Address,
    ip_dst: Ipv4Address,
    ports: (u16, u16),
    kind: DhcpMessageType,
    xid: u32,
    your_ip: Ipv4Address,
    next_server: Ipv4Address,
    server_id: Option<Ipv4Address>,
    subnet_mask: Option<Ipv4Address>,
    router: Option<Ipv4Address>,
    lease: Option<u32>,
    bootfile: Option<String>,
    file_field: String,
    no_pxedhcp: bool,
}

fn replies(h: &mut Harness) -> Vec<Reply> {
    h.poll_appliance();
    let mut replies = Vec::new();
    while let Some(frame) = h.wire.to_client.pop() {
        let eth = EthernetFrame::new_checked(&frame[..]).unwrap();
        if eth.ethertype() != EthernetProtocol::Ipv4 {
            continue;
        }
        let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
        if ip.next_header() != IpProtocol::Udp {
            continue;
        }
        let udp = UdpPacket::new_checked(ip.payload()).unwrap();
        assert!(udp.verify_checksum(&IpAddress::Ipv4(ip.src_addr()), &IpAddress::Ipv4(ip.dst_addr())));
        let dhcp = DhcpPacket::new_checked(udp.payload()).unwrap();
        let repr = DhcpRepr::parse(&dhcp).unwrap();
        let mut bootfile = None;
        let mut no_pxedhcp = false;
        for option in dhcp.options() {
            match option.kind {
                67 => bootfile = Some(String::from_utf8(option.data.to_vec()).unwrap()),
                175 => no_pxedhcp = option.data.windows(3).any(|w| w == [176, 1, 1]),
                _ => {}
            }
        }
        let file = &udp.payload()[108..236];
        let file_field = String::from_utf8(file[..file.iter().position(|&b| b == 0).unwrap()].to_vec()).unwrap();
        replies.push(Reply {
            eth_dst: eth.dst_addr(),
            ip_src: ip.src_addr(),
            ip_dst: ip.dst_addr(),
            ports: (udp.src_port(), udp.dst_port()),
            kind: repr.message_type,
            xid: repr.transaction_id,
            your_ip: repr.your_ip,
            next_server: repr.server_ip,
            server_id: repr.server_identifier,
            subnet_mask: repr.subnet_mask,
            router: repr.router,
            lease: repr.lease_duration,
            bootfile,
            file_field,
            no_pxedhcp,
        });
    }
    replies
}

fn one_reply(h: &mut Harness) -> Reply {
    let mut all = replies(h);
    assert_eq!(all.len(), 1, "{all:?}");
    all.remove(0)
}

/// A client message derived from the captured DISCOVER: same options (user class,
/// vendor class, option 175, …), with the changes `edit` makes.
fn client_frame(edit: impl FnOnce(&mut DhcpRepr<'_>, &mut Vec<DhcpOption<'_>>)) -> Vec<u8> {
    let captured = captured_discover();
    let eth = EthernetFrame::new_checked(&captured[..]).unwrap();
    let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
    let udp = UdpPacket::new_checked(ip.payload()).unwrap();
    let dhcp = DhcpPacket::new_checked(udp.payload()).unwrap();
    let mut repr = DhcpRepr::parse(&dhcp).unwrap();
    // Options DhcpRepr does not carry itself go along as they were.
    let mut extra: Vec<DhcpOption<'_>> =
        dhcp.options().filter(|o| ![53, 50, 54, 55, 57, 61].contains(&o.kind)).collect();
    edit(&mut repr, &mut extra);
    repr.additional_options = &extra;
    let dhcp_len = repr.buffer_len();
    let udp_repr = UdpRepr { src_port: 68, dst_port: 67 };
    let ip_repr = Ipv4Repr {
        src_addr: Ipv4Address::UNSPECIFIED,
        dst_addr: Ipv4Address::BROADCAST,
        next_header: IpProtocol::Udp,
        payload_len: 8 + dhcp_len,
        hop_limit: 64,
    };
    let eth_repr = EthernetRepr {
        src_addr: repr.client_hardware_address,
        dst_addr: EthernetAddress::BROADCAST,
        ethertype: EthernetProtocol::Ipv4,
    };
    let mut frame = vec![0u8; 14 + 20 + 8 + dhcp_len];
    let mut eth_out = EthernetFrame::new_unchecked(&mut frame[..]);
    eth_repr.emit(&mut eth_out);
    let caps = ChecksumCapabilities::default();
    let mut ip_out = Ipv4Packet::new_unchecked(&mut frame[14..]);
    ip_repr.emit(&mut ip_out, &caps);
    let mut udp_out = UdpPacket::new_unchecked(&mut frame[34..]);
    udp_repr.emit(
        &mut udp_out,
        &IpAddress::Ipv4(ip_repr.src_addr),
        &IpAddress::Ipv4(ip_repr.dst_addr),
        dhcp_len,
        |payload| repr.emit(&mut DhcpPacket::new_unchecked(payload)).unwrap(),
        &caps,
    );
    frame
}

fn request_frame(mac: EthernetAddress, requested: Ipv4Address, server: Ipv4Address) -> Vec<u8> {
    client_frame(|repr, _| {
        repr.message_type = DhcpMessageType::Request;
        repr.client_hardware_address = mac;
        repr.client_identifier = Some(mac);
        repr.requested_ip = Some(requested);
        repr.server_identifier = Some(server);
    })
}

fn discover_from(mac: EthernetAddress) -> Vec<u8> {
    client_frame(|repr, _| {
        repr.client_hardware_address = mac;
        repr.client_identifier = Some(mac);
    })
}

/// Fetches `url` (an `http://10.99.0.1/…` URL) from `address` as iPXE would.
fn fetch(h: &mut Harness, address: Ipv4Address, url: &str) -> common::Response {
    set_client_address(&mut h.client, address);
    let target = url.strip_prefix("http://10.99.0.1").expect("URL on the appliance");
    h.connect(0);
    h.get(0, target)
}

fn set_client_address(client: &mut Interface, address: Ipv4Address) {
    client.update_ip_addrs(|addresses| {
        addresses.clear();
        addresses.push(IpCidr::Ipv4(Ipv4Cidr::new(address, 24))).unwrap();
    });
}

#[test]
fn captured_ipxe_discover_gets_offer_then_ack_then_its_script() {
    let mut h = Harness::new(Options::new("dhcp_captured"));
    h.wire.to_appliance.push(&captured_discover());
    let offer = one_reply(&mut h);
    assert_eq!(offer.kind, DhcpMessageType::Offer);
    // The client has no address yet: broadcast, from the server's port to the client's.
    assert_eq!(offer.eth_dst, EthernetAddress::BROADCAST);
    assert_eq!((offer.ip_src, offer.ip_dst), (common::SERVER_IP, Ipv4Address::BROADCAST));
    assert_eq!(offer.ports, (67, 68));
    let discover = captured_discover();
    let xid = u32::from_be_bytes(discover[46..50].try_into().unwrap());
    assert_eq!(offer.xid, xid);
    let pool = u32::from(Ipv4Address::new(10, 99, 0, 100))..=u32::from(Ipv4Address::new(10, 99, 0, 199));
    assert!(pool.contains(&u32::from(offer.your_ip)), "{}", offer.your_ip);
    assert_eq!(offer.next_server, common::SERVER_IP);
    assert_eq!(offer.server_id, Some(common::SERVER_IP));
    assert_eq!(offer.subnet_mask, Some(Ipv4Address::new(255, 255, 255, 0)));
    assert_eq!(offer.router, None);
    assert_eq!(offer.lease, Some(3600));
    assert!(offer.no_pxedhcp, "option 175 with 176 = 1");
    let url = "http://10.99.0.1/v1/drivers/any/vendor_passthru/ipxe_config?port_address=${mac}";
    assert_eq!(offer.bootfile.as_deref(), Some(url));
    assert_eq!(offer.file_field, url);

    h.wire.to_appliance.push(&request_frame(CAPTURED_MAC, offer.your_ip, common::SERVER_IP));
    let ack = one_reply(&mut h);
    assert_eq!(ack.kind, DhcpMessageType::Ack);
    assert_eq!(ack.your_ip, offer.your_ip);
    assert_eq!(ack.bootfile.as_deref(), Some(url));
    assert!(ack.no_pxedhcp);

    // iPXE expands ${mac} percent-encoded inside a URL.
    let expanded = url.replace("${mac}", "52%3A54%3A00%3A12%3A34%3A56");
    let script = fetch(&mut h, ack.your_ip, &expanded);
    assert_eq!(script.status, 200);
    assert!(script.text().starts_with("#!ipxe\n"));
    assert!(!script.text().contains("\nkernel "), "an unknown MAC cannot boot: {}", script.text());
}

#[test]
fn known_mac_gets_its_node_url_and_deploy_script() {
    let mut options = Options::new("dhcp_known");
    options.settings.dhcp.as_mut().unwrap().router = Some(Ipv4Address::new(10, 99, 0, 254));
    let mut h = Harness::new(options);
    h.wire.to_appliance.push(&discover_from(CLIENT_MAC));
    let offer = one_reply(&mut h);
    let url = format!("http://10.99.0.1/v1/drivers/ipmi/vendor_passthru/ipxe_config?node_uuid={DEPLOYING_NODE}");
    assert_eq!(offer.bootfile.as_deref(), Some(url.as_str()));
    assert_eq!(offer.router, Some(Ipv4Address::new(10, 99, 0, 254)));
    h.wire.to_appliance.push(&request_frame(CLIENT_MAC, offer.your_ip, common::SERVER_IP));
    let ack = one_reply(&mut h);
    assert_eq!((ack.kind, ack.your_ip), (DhcpMessageType::Ack, offer.your_ip));
    let script = fetch(&mut h, ack.your_ip, &url);
    assert_eq!(script.status, 200);
    assert!(script.text().contains("kernel http://10.99.0.1/vmlinuz"), "{}", script.text());
}

#[test]
fn port_address_mode_names_known_nodes_by_the_mac_ipxe_reports() {
    let mut options = Options::new("dhcp_known_by_mac");
    options.settings.dhcp.as_mut().unwrap().known_mac_url = ipxe_config_server::KnownMacUrl::PortAddress;
    let mut h = Harness::new(options);
    h.wire.to_appliance.push(&discover_from(CLIENT_MAC));
    let offer = one_reply(&mut h);
    assert_eq!(
        offer.bootfile.as_deref(),
        Some("http://10.99.0.1/v1/drivers/ipmi/vendor_passthru/ipxe_config?port_address=${mac}")
    );
}

#[test]
fn a_mac_keeps_its_address_and_others_get_their_own() {
    let mut h = Harness::new(Options::new("dhcp_stable"));
    h.wire.to_appliance.push(&captured_discover());
    let first = one_reply(&mut h);
    h.wire.to_appliance.push(&captured_discover());
    let again = one_reply(&mut h);
    assert_eq!(first.your_ip, again.your_ip);
    h.wire.to_appliance.push(&discover_from(CLIENT_MAC));
    let other = one_reply(&mut h);
    assert_ne!(other.your_ip, first.your_ip);
}

#[test]
fn request_for_an_address_not_ours_to_give_is_naked() {
    let mut h = Harness::new(Options::new("dhcp_nak"));
    h.wire.to_appliance.push(&request_frame(CAPTURED_MAC, Ipv4Address::new(192, 168, 1, 7), common::SERVER_IP));
    let nak = one_reply(&mut h);
    assert_eq!(nak.kind, DhcpMessageType::Nak);
    assert_eq!(nak.your_ip, Ipv4Address::UNSPECIFIED);
    assert_eq!(nak.server_id, Some(common::SERVER_IP));
    assert_eq!(nak.eth_dst, EthernetAddress::BROADCAST);
    // An address another client holds is refused too.
    h.wire.to_appliance.push(&discover_from(CLIENT_MAC));
    let taken = one_reply(&mut h).your_ip;
    h.wire.to_appliance.push(&request_frame(CLIENT_MAC, taken, common::SERVER_IP));
    assert_eq!(one_reply(&mut h).kind, DhcpMessageType::Ack);
    h.wire.to_appliance.push(&request_frame(CAPTURED_MAC, taken, common::SERVER_IP));
    assert_eq!(one_reply(&mut h).kind, DhcpMessageType::Nak);
}

#[test]
fn request_naming_another_server_is_left_alone() {
    let mut h = Harness::new(Options::new("dhcp_other_server"));
    h.wire.to_appliance.push(&captured_discover());
    let offer = one_reply(&mut h);
    h.wire.to_appliance.push(&request_frame(CAPTURED_MAC, offer.your_ip, Ipv4Address::new(10, 99, 0, 2)));
    assert!(replies(&mut h).is_empty());
}

#[test]
fn pxe_firmware_without_the_ipxe_user_class_is_ignored() {
    let mut h = Harness::new(Options::new("dhcp_pxe_rom"));
    h.wire.to_appliance.push(&client_frame(|_, extra| extra.retain(|option| option.kind != 77)));
    assert!(replies(&mut h).is_empty());
}

#[test]
fn unknown_mac_chain_mode_hands_out_the_chain_script() {
    let mut options = Options::new("dhcp_chain");
    options.settings.dhcp.as_mut().unwrap().unknown_mac_chain = true;
    let mut h = Harness::new(options);
    h.wire.to_appliance.push(&captured_discover());
    let offer = one_reply(&mut h);
    assert_eq!(offer.bootfile.as_deref(), Some("http://10.99.0.1/boot.ipxe"));
}

#[test]
fn dhcp_can_be_switched_off() {
    let mut options = Options::new("dhcp_off");
    options.settings.dhcp = None;
    let mut h = Harness::new(options);
    h.wire.to_appliance.push(&captured_discover());
    assert!(replies(&mut h).is_empty());
}
