//! Arbitrary bytes as the payload of one UDP datagram to port 67 (in valid Ethernet,
//! IPv4 and UDP headers, checksums right, so it reaches the DHCP code) at a real
//! `Appliance` over an in-memory link.
//!
//! Each input gets a fresh appliance (pool 10.99.0.100–199). The captured iPXE DISCOVER
//! (`fixtures/ipxe-dhcpdiscover.bin`) goes first and is offered an address A; then the
//! fuzzed datagram; then the captured DISCOVER again. Checked:
//!
//! - whatever the appliance sends is a DHCP reply (UDP 67 → 68, IPv4 and UDP checksums
//!   right, to the broadcast addresses) that parses as a BOOTREPLY OFFER, ACK or NAK with
//!   option 53, from 10.99.0.1, echoing the message's `xid`, `chaddr` and broadcast flag;
//!   an OFFER or ACK gives a pool address, the /24 mask, the one-hour lease and a script
//!   URL under `http://10.99.0.1/`;
//! - the reply is the one the message calls for, as the server's own parser reads it
//!   (`ClientMessage::parse`): nothing unless it is from iPXE or from UEFI HTTP Boot
//!   firmware of an architecture the boot-file map lists (TFTP is off); a DISCOVER gets an OFFER; a
//!   REQUEST for us (or for no server) gets an ACK for the address it asks for when that
//!   is in the pool and not A (unless it comes from A's holder), a NAK otherwise; a
//!   REQUEST for another server, RELEASE, DECLINE and INFORM get nothing;
//! - the captured DISCOVER is offered an address again, A itself unless the fuzzed
//!   datagram came from the same MAC;
//! - the appliance logged no error.

#![no_main]

mod common;

use ipxe_config_server::dhcp::bootfile::{boot_file_for, DEFAULT_BOOT_FILES};
use ipxe_config_server::dhcp::message::{ClientMessage, VendorClass};
use ipxe_config_server::{Appliance, ApplianceBuffers, ApplianceSettings, DhcpSettings, NoFiles};
use libfuzzer_sys::fuzz_target;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{
    DhcpMessageType, DhcpPacket, DhcpRepr, EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr, IpAddress,
    IpProtocol, Ipv4Address, Ipv4Packet, Ipv4Repr, UdpPacket, UdpRepr,
};

use common::{errors_logged, install_logger, wire};
use ipxe_config_testkit::inventory::shared_inventory;
use ipxe_config_testkit::net::{CONFIG, POOL_FIRST, POOL_LAST, SERVER_CIDR, SERVER_IP, SERVER_MAC};
use ipxe_config_testkit::phy::FRAME;

/// A real DISCOVER from iPXE, as a whole Ethernet frame.
const CAPTURED_DISCOVER: &[u8] = include_bytes!("../../fixtures/ipxe-dhcpdiscover.bin");
/// Its `chaddr`.
const CAPTURED_MAC: EthernetAddress = EthernetAddress([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
/// Where the fuzzed datagram comes from on the link.
const SENDER_MAC: EthernetAddress = EthernetAddress([0x02, 0x00, 0x00, 0x00, 0x00, 0x42]);

const LEASE_SECONDS: u32 = 3600;

/// One small connection (DHCP is what is fuzzed) and a lease per pool address.
type Buffers<'a> = ApplianceBuffers<'a, NoFiles, 1, 256, 256, 512, 100>;

/// Ethernet, IPv4 and UDP headers in front of the payload.
const HEADERS: usize = 14 + 20 + 8;

fuzz_target!(|payload: &[u8]| {
    install_logger();
    // Longer does not fit one frame.
    exchange(&payload[..payload.len().min(FRAME - HEADERS)]);
});

fn exchange(payload: &[u8]) {
    let errors_before = errors_logged();
    // Fresh buffers on the stack each input: nothing is allocated, and a `static` would
    // not do, as `split` lends buffers out for their whole life (once).
    let mut buffers = Buffers::new();
    let (storage, files) = buffers.split(NoFiles);
    let mut settings = ApplianceSettings::new(SERVER_MAC, SERVER_CIDR);
    settings.router_advertisements = false;
    settings.dhcp = Some(DhcpSettings { lease_seconds: LEASE_SECONDS, ..DhcpSettings::new(POOL_FIRST, POOL_LAST) });
    let mut now = Instant::from_secs(1);
    let mut wire = wire();
    let inventory = shared_inventory();
    let mut appliance = match Appliance::new(settings, storage, files, &mut wire.appliance_end(), now) {
        Ok(appliance) => appliance,
        Err(error) => panic!("appliance set-up: {error}"),
    };
    let mut ask = |frame: &[u8]| -> Vec<Vec<u8>> {
        wire.to_appliance.push(frame);
        now += Duration::from_millis(1);
        appliance.poll(now, &mut wire.appliance_end(), &inventory, &CONFIG);
        assert_eq!(wire.dropped(), 0, "the test link dropped a frame: give it more slots");
        std::iter::from_fn(|| wire.to_client.pop()).collect()
    };

    let Some(captured) = ClientMessage::parse(&CAPTURED_DISCOVER[HEADERS..]) else {
        panic!("the captured DISCOVER does not parse")
    };
    let held = match ask(CAPTURED_DISCOVER).as_slice() {
        [frame] => check_reply(frame, &captured, DhcpMessageType::Offer),
        other => panic!("{} frames in answer to the captured DISCOVER", other.len()),
    };

    let frames = ask(&udp_frame(payload));
    let message = ClientMessage::parse(payload);
    let expected = message.and_then(|message| expected_reply(&message, held));
    match (frames.as_slice(), expected) {
        ([], None) => {}
        ([frame], Some(kind)) => {
            let Some(message) = message else { unreachable!("a reply is only expected to a message") };
            let given = check_reply(frame, &message, kind);
            if kind == DhcpMessageType::Ack {
                assert_eq!(Some(given), asked_for(&message), "ACK for another address than asked for");
            }
        }
        (frames, expected) => {
            panic!("{} frames in answer to {message:?}, expected {expected:?}: {:02x?}", frames.len(), frames.first())
        }
    }

    let again = match ask(CAPTURED_DISCOVER).as_slice() {
        [frame] => check_reply(frame, &captured, DhcpMessageType::Offer),
        other => panic!("{} frames in answer to the captured DISCOVER after {message:?}", other.len()),
    };
    if message.is_none_or(|message| message.mac != CAPTURED_MAC) {
        assert_eq!(again, held, "another MAC's message moved the captured client's offer: {message:?}");
    }
    assert_eq!(errors_logged(), errors_before, "the appliance logged an error (printed above)");
}

/// The address a REQUEST asks for: option 50, else `ciaddr` (renewing).
fn asked_for(message: &ClientMessage) -> Option<Ipv4Address> {
    message.requested_ip.or((!message.client_ip.is_unspecified()).then_some(message.client_ip))
}

fn in_pool(address: Ipv4Address) -> bool {
    (u32::from(POOL_FIRST)..=u32::from(POOL_LAST)).contains(&u32::from(address))
}

/// What the server must answer `message` with, when the captured client holds an offer
/// of `held` and nothing else is taken.
fn expected_reply(message: &ClientMessage, held: Ipv4Address) -> Option<DhcpMessageType> {
    // iPXE gets its script; UEFI HTTP Boot firmware the iPXE binary for its architecture
    // when the map has one. PXE firmware needs the TFTP server, which is off here.
    let http_boot = message.vendor == VendorClass::HttpClient
        && message.arch.is_some_and(|arch| boot_file_for(DEFAULT_BOOT_FILES, arch).is_some());
    if !message.ipxe && !http_boot {
        return None;
    }
    match message.kind {
        DhcpMessageType::Discover => Some(DhcpMessageType::Offer),
        DhcpMessageType::Request if message.server_id.is_none_or(|id| id == SERVER_IP) => {
            // Naming this server (SELECTING) answers an offer: only the captured client's,
            // for its address. Without a server id a MAC claims a lease: granted for an
            // address of the pool nobody holds, and only to a MAC holding nothing (the
            // captured client holds its offer).
            let grantable = asked_for(message).is_some_and(|address| {
                let own = message.mac == CAPTURED_MAC && address == held;
                let claim =
                    message.server_id.is_none() && message.mac != CAPTURED_MAC && in_pool(address) && address != held;
                own || claim
            });
            Some(if grantable { DhcpMessageType::Ack } else { DhcpMessageType::Nak })
        }
        _ => None,
    }
}

/// Checks `frame` is a `kind` reply to `message`; returns the address it gives.
fn check_reply(frame: &[u8], message: &ClientMessage, kind: DhcpMessageType) -> Ipv4Address {
    let shown = || format!("{kind:?} to {message:?}: {frame:02x?}");
    let Ok(ethernet) = EthernetFrame::new_checked(frame) else { panic!("short Ethernet frame, {}", shown()) };
    assert_eq!(ethernet.ethertype(), EthernetProtocol::Ipv4, "not IPv4, {}", shown());
    assert_eq!(ethernet.src_addr(), SERVER_MAC, "{}", shown());
    assert_eq!(ethernet.dst_addr(), EthernetAddress::BROADCAST, "{}", shown());
    let Ok(ip) = Ipv4Packet::new_checked(ethernet.payload()) else { panic!("bad IPv4 packet, {}", shown()) };
    assert!(ip.verify_checksum(), "IPv4 checksum, {}", shown());
    assert_eq!((ip.src_addr(), ip.dst_addr()), (SERVER_IP, Ipv4Address::BROADCAST), "{}", shown());
    assert_eq!(ip.next_header(), IpProtocol::Udp, "{}", shown());
    let Ok(udp) = UdpPacket::new_checked(ip.payload()) else { panic!("bad UDP datagram, {}", shown()) };
    let (source, destination) = (IpAddress::Ipv4(ip.src_addr()), IpAddress::Ipv4(ip.dst_addr()));
    assert!(udp.verify_checksum(&source, &destination), "UDP checksum, {}", shown());
    assert_eq!((udp.src_port(), udp.dst_port()), (67, 68), "{}", shown());
    let Ok(dhcp) = DhcpPacket::new_checked(udp.payload()) else { panic!("short DHCP message, {}", shown()) };
    assert_eq!(dhcp.opcode(), smoltcp::wire::DhcpOpCode::Reply, "not a BOOTREPLY, {}", shown());
    assert!(dhcp.options().any(|option| option.kind == 53), "no option 53, {}", shown());
    let repr = match DhcpRepr::parse(&dhcp) {
        Ok(repr) => repr,
        Err(error) => panic!("reply does not parse ({error}), {}", shown()),
    };
    assert_eq!(repr.message_type, kind, "{}", shown());
    assert_eq!(repr.transaction_id, message.transaction_id, "xid, {}", shown());
    assert_eq!(repr.client_hardware_address, message.mac, "chaddr, {}", shown());
    assert_eq!(repr.broadcast, message.broadcast, "broadcast flag, {}", shown());
    assert_eq!(repr.server_identifier, Some(SERVER_IP), "server identifier, {}", shown());
    if kind == DhcpMessageType::Nak {
        return repr.your_ip;
    }
    assert!(in_pool(repr.your_ip), "{} is outside the pool, {}", repr.your_ip, shown());
    assert_eq!(repr.subnet_mask, Some(Ipv4Address::new(255, 255, 255, 0)), "{}", shown());
    assert_eq!(repr.lease_duration, Some(LEASE_SECONDS), "{}", shown());
    let url = dhcp.options().find(|option| option.kind == 67).map(|option| option.data);
    assert!(url.is_some_and(|url| url.starts_with(b"http://10.99.0.1/")), "script URL {url:?}, {}", shown());
    repr.your_ip
}

/// `payload` from 0.0.0.0:68 to 255.255.255.255:67, as a client without an address sends.
fn udp_frame(payload: &[u8]) -> Vec<u8> {
    let ip = Ipv4Repr {
        src_addr: Ipv4Address::UNSPECIFIED,
        dst_addr: Ipv4Address::BROADCAST,
        next_header: IpProtocol::Udp,
        payload_len: 8 + payload.len(),
        hop_limit: 64,
    };
    let ethernet =
        EthernetRepr { src_addr: SENDER_MAC, dst_addr: EthernetAddress::BROADCAST, ethertype: EthernetProtocol::Ipv4 };
    let mut frame = vec![0u8; HEADERS + payload.len()];
    ethernet.emit(&mut EthernetFrame::new_unchecked(&mut frame[..]));
    let checksums = ChecksumCapabilities::default();
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut frame[14..]), &checksums);
    UdpRepr { src_port: 68, dst_port: 67 }.emit(
        &mut UdpPacket::new_unchecked(&mut frame[34..]),
        &IpAddress::Ipv4(ip.src_addr),
        &IpAddress::Ipv4(ip.dst_addr),
        payload.len(),
        |room| room.copy_from_slice(payload),
        &checksums,
    );
    frame
}
