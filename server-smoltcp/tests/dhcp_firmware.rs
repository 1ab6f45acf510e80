//! DHCP for firmware that is not iPXE, and ProxyDHCP: a PXE ROM's DISCOVER (option 60
//! `PXEClient`, option 93) gets the iPXE binary of its architecture and this server as
//! next-server; HTTP Boot gets `HTTPClient` and a URL; an architecture the map lacks gets
//! nothing; in ProxyDHCP mode, boot information without an address on ports 67 and 4011.
//! Also: the appliance answers ping.
#![cfg(feature = "host")]
// Test code: a panic is a test failure, so unwrap, expect, indexing and panic are fine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::autoconf::udp_frame;
use common::{Harness, Options, CLIENT_IP, CLIENT_MAC, SERVER_IP, SERVER_MAC};
use ipxe_config_server::dhcp::bootfile::ArchBootFile;
use ipxe_config_server::{DhcpSettings, TftpSettings};
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    DhcpMessageType, DhcpOption, DhcpPacket, DhcpRepr, EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr,
    Icmpv4Packet, Icmpv4Repr, IpProtocol, Ipv4Address, Ipv4Packet, Ipv4Repr, UdpPacket,
};

const FIRMWARE_MAC: EthernetAddress = EthernetAddress([0x52, 0x54, 0x00, 0xaa, 0x00, 0x01]);

/// A firmware DHCP message: `class` in option 60, `arch` in option 93, no option 77.
fn firmware_message(
    kind: DhcpMessageType,
    xid: u32,
    class: &[u8],
    arch: Option<u16>,
    client_ip: Ipv4Address,
) -> Vec<u8> {
    let arch_bytes = arch.map(u16::to_be_bytes);
    let mut options = vec![DhcpOption { kind: 60, data: class }];
    if let Some(bytes) = &arch_bytes {
        options.push(DhcpOption { kind: 93, data: bytes });
    }
    let repr = DhcpRepr {
        message_type: kind,
        transaction_id: xid,
        secs: 0,
        client_hardware_address: FIRMWARE_MAC,
        client_ip,
        your_ip: Ipv4Address::UNSPECIFIED,
        server_ip: Ipv4Address::UNSPECIFIED,
        router: None,
        subnet_mask: None,
        relay_agent_ip: Ipv4Address::UNSPECIFIED,
        broadcast: false,
        requested_ip: None,
        client_identifier: None,
        server_identifier: None,
        parameter_request_list: Some(&[1, 3, 60, 66, 67]),
        dns_servers: None,
        max_size: Some(1472),
        lease_duration: None,
        renew_duration: None,
        rebind_duration: None,
        additional_options: &options,
    };
    let mut payload = vec![0u8; repr.buffer_len()];
    repr.emit(&mut DhcpPacket::new_unchecked(&mut payload[..])).unwrap();
    payload
}

fn discover(class: &[u8], arch: Option<u16>) -> Vec<u8> {
    let payload = firmware_message(DhcpMessageType::Discover, 0x1234, class, arch, Ipv4Address::UNSPECIFIED);
    udp_frame(FIRMWARE_MAC, Ipv4Address::UNSPECIFIED, Ipv4Address::BROADCAST, 68, 67, &payload)
}

/// A DHCP reply read off the wire.
#[derive(Debug)]
struct Reply {
    ip_dst: Ipv4Address,
    ports: (u16, u16),
    kind: DhcpMessageType,
    your_ip: Ipv4Address,
    next_server: Ipv4Address,
    server_id: Option<Ipv4Address>,
    subnet_mask: Option<Ipv4Address>,
    lease: Option<u32>,
    vendor_class: Option<Vec<u8>>,
    bootfile: Option<String>,
    file_field: String,
}

/// Every DHCP reply the appliance sends for `frame`.
fn ask(h: &mut Harness, frame: &[u8]) -> Vec<Reply> {
    h.wire.to_appliance.push(frame);
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
        let dhcp = DhcpPacket::new_checked(udp.payload()).unwrap();
        let repr = DhcpRepr::parse(&dhcp).unwrap();
        let option = |kind: u8| dhcp.options().find(|o| o.kind == kind).map(|o| o.data.to_vec());
        let file = &udp.payload()[108..236];
        replies.push(Reply {
            ip_dst: ip.dst_addr(),
            ports: (udp.src_port(), udp.dst_port()),
            kind: repr.message_type,
            your_ip: repr.your_ip,
            next_server: repr.server_ip,
            server_id: repr.server_identifier,
            subnet_mask: repr.subnet_mask,
            lease: repr.lease_duration,
            vendor_class: option(60),
            bootfile: option(67).map(|data| String::from_utf8(data).unwrap()),
            file_field: String::from_utf8(file[..file.iter().position(|&b| b == 0).unwrap()].to_vec()).unwrap(),
        });
    }
    replies
}

fn harness(test: &str, tune: impl FnOnce(&mut Options)) -> Harness {
    let mut options = Options::new(test);
    options.settings.tftp = Some(TftpSettings::DEFAULT);
    tune(&mut options);
    Harness::new(options)
}

#[test]
fn pxe_firmware_gets_the_ipxe_binary_of_its_architecture() {
    let mut h = harness("fw-pxe", |_| {});
    for (arch, file) in [(0, "undionly.kpxe"), (7, "snponly.efi"), (9, "snponly.efi"), (11, "arm64/snponly.efi")] {
        let replies = ask(&mut h, &discover(b"PXEClient:Arch:00000:UNDI:002001", Some(arch)));
        let [offer] = replies.as_slice() else { panic!("arch {arch}: {replies:?}") };
        assert_eq!(offer.kind, DhcpMessageType::Offer);
        assert_eq!((offer.ip_dst, offer.ports), (Ipv4Address::BROADCAST, (67, 68)));
        assert!(!offer.your_ip.is_unspecified(), "an address: this server gives them");
        assert_eq!(offer.next_server, SERVER_IP, "TFTP from here");
        assert_eq!(offer.bootfile.as_deref(), Some(file), "arch {arch}");
        assert_eq!(offer.file_field, file);
        // `PXEClient` without option 43 would send the client to port 4011 first.
        assert_eq!(offer.vendor_class, None);
    }
}

#[test]
fn http_boot_gets_http_client_and_a_url_on_this_server() {
    let mut h = harness("fw-http", |_| {});
    let replies = ask(&mut h, &discover(b"HTTPClient:Arch:00016:UNDI:003000", Some(16)));
    let [offer] = replies.as_slice() else { panic!("{replies:?}") };
    assert_eq!(offer.vendor_class.as_deref(), Some(&b"HTTPClient"[..]));
    assert_eq!(offer.bootfile.as_deref(), Some("http://10.99.0.1/snponly.efi"));
    assert!(!offer.your_ip.is_unspecified());
}

#[test]
fn firmware_the_map_cannot_boot_gets_nothing() {
    let map: &'static [ArchBootFile] =
        Box::leak(Box::new([ArchBootFile { arch: 7, file: "ipxe.efi" }, ArchBootFile { arch: 0, file: "" }]));
    let mut h = harness("fw-unknown", |options| {
        options.settings.dhcp = Some(DhcpSettings { boot_files: map, ..options.settings.dhcp.unwrap() });
    });
    let pxe = b"PXEClient:Arch:00000:UNDI:002001";
    for (class, arch) in [
        (&pxe[..], Some(6)),                  // x86 UEFI: not in this map
        (&pxe[..], Some(0)),                  // listed with no file
        (&pxe[..], None),                     // no option 93
        (b"HTTPClient:Arch:00016", Some(16)), // the map has no HTTP entry
        (b"MSFT 5.0", Some(7)),               // not firmware booting
    ] {
        assert!(ask(&mut h, &discover(class, arch)).is_empty(), "{:?} arch {arch:?}", String::from_utf8_lossy(class));
    }
    let replies = ask(&mut h, &discover(pxe, Some(7)));
    assert_eq!(replies[0].bootfile.as_deref(), Some("ipxe.efi"), "the map's own entry");
    // Without the TFTP server PXE firmware is left alone.
    let mut h = harness("fw-no-tftp", |options| options.settings.tftp = None);
    assert!(ask(&mut h, &discover(pxe, Some(7))).is_empty());
}

#[test]
fn proxy_dhcp_gives_boot_information_and_no_address() {
    let mut h = harness("fw-proxy", |options| {
        options.settings.dhcp = Some(DhcpSettings::proxy());
        options.sizes.packet_bytes *= 2;
        options.sizes.dhcp_leases = 0;
    });
    // Port 67: an OFFER with no address, mask or lease, and `PXEClient` so PXE clients
    // and iPXE take it for a ProxyDHCP offer.
    let replies = ask(&mut h, &discover(b"PXEClient:Arch:00007:UNDI:003000", Some(7)));
    let [offer] = replies.as_slice() else { panic!("{replies:?}") };
    assert_eq!(offer.kind, DhcpMessageType::Offer);
    assert_eq!(offer.your_ip, Ipv4Address::UNSPECIFIED);
    assert_eq!((offer.subnet_mask, offer.lease), (None, None));
    assert_eq!((offer.server_id, offer.next_server), (Some(SERVER_IP), SERVER_IP));
    assert_eq!(offer.vendor_class.as_deref(), Some(&b"PXEClient"[..]));
    assert_eq!(offer.bootfile.as_deref(), Some("snponly.efi"));
    // The REQUEST to the site's server on port 67 is not ours to answer.
    let request =
        firmware_message(DhcpMessageType::Request, 9, b"PXEClient:Arch:00007", Some(7), Ipv4Address::UNSPECIFIED);
    assert!(ask(&mut h, &udp_frame(FIRMWARE_MAC, Ipv4Address::UNSPECIFIED, Ipv4Address::BROADCAST, 68, 67, &request))
        .is_empty());
    // Port 4011: once the client has its address, an ACK goes back to it. Connect once so
    // each side knows the other's MAC.
    h.connect(0);
    let request = firmware_message(DhcpMessageType::Request, 10, b"PXEClient:Arch:00007", Some(7), CLIENT_IP);
    let replies = ask(&mut h, &udp_frame(CLIENT_MAC, CLIENT_IP, SERVER_IP, 68, 4011, &request));
    let [ack] = replies.as_slice() else { panic!("{replies:?}") };
    assert_eq!(ack.kind, DhcpMessageType::Ack);
    assert_eq!((ack.ip_dst, ack.ports), (CLIENT_IP, (4011, 68)));
    assert_eq!(ack.your_ip, Ipv4Address::UNSPECIFIED);
    assert_eq!(ack.bootfile.as_deref(), Some("snponly.efi"));
    // iPXE gets the script URL; HTTP Boot its URL with `HTTPClient`.
    let ipxe = common::autoconf::ClientMessage::discover(FIRMWARE_MAC, 11).frame();
    let replies = ask(&mut h, &ipxe);
    assert!(replies[0].bootfile.as_deref().unwrap().starts_with("http://10.99.0.1/v1/"), "{replies:?}");
    assert_eq!(replies[0].your_ip, Ipv4Address::UNSPECIFIED);
    let replies = ask(&mut h, &discover(b"HTTPClient:Arch:00016", Some(16)));
    assert_eq!(replies[0].vendor_class.as_deref(), Some(&b"HTTPClient"[..]));
    assert_eq!(replies[0].bootfile.as_deref(), Some("http://10.99.0.1/snponly.efi"));
}

#[test]
fn the_appliance_answers_ping() {
    let mut h = harness("fw-ping", |_| {});
    h.connect(0);
    let echo = Icmpv4Repr::EchoRequest { ident: 0x77, seq_no: 3, data: b"are you there" };
    let ip = Ipv4Repr {
        src_addr: CLIENT_IP,
        dst_addr: SERVER_IP,
        next_header: IpProtocol::Icmp,
        payload_len: echo.buffer_len(),
        hop_limit: 64,
    };
    let eth = EthernetRepr { src_addr: CLIENT_MAC, dst_addr: SERVER_MAC, ethertype: EthernetProtocol::Ipv4 };
    let mut frame = vec![0u8; 14 + 20 + echo.buffer_len()];
    let caps = ChecksumCapabilities::default();
    eth.emit(&mut EthernetFrame::new_unchecked(&mut frame[..]));
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut frame[14..]), &caps);
    echo.emit(&mut Icmpv4Packet::new_unchecked(&mut frame[34..]), &caps);
    h.wire.to_appliance.push(&frame);
    h.poll_appliance();
    let mut replied = false;
    while let Some(frame) = h.wire.to_client.pop() {
        let eth = EthernetFrame::new_checked(&frame[..]).unwrap();
        let Ok(ip) = Ipv4Packet::new_checked(eth.payload()) else { continue };
        if ip.next_header() == IpProtocol::Icmp && ip.dst_addr() == CLIENT_IP {
            let icmp = Icmpv4Packet::new_checked(ip.payload()).unwrap();
            let repr = Icmpv4Repr::parse(&icmp, &caps).unwrap();
            assert_eq!(repr, Icmpv4Repr::EchoReply { ident: 0x77, seq_no: 3, data: b"are you there" });
            replied = true;
        }
    }
    assert!(replied, "no echo reply");
}
