//! The TFTP server against a client on a second real smoltcp stack: whole transfers with
//! each option, the refusals, and a hostile or lossy client (duplicate ACKs, lost ACKs,
//! strangers on a transfer's port, a silent client holding a slot).
#![cfg(feature = "host")]
// Test code: a panic is a test failure, so unwrap, expect, indexing and panic are fine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{scratch_dir, shared_inventory, CLIENT_IP, CLIENT_MAC, SERVER_IP};
use ipxe_config::{Inventory, RenderConfig};
use ipxe_config_server::host::{leak_buffers, DirectoryFiles};
use ipxe_config_server::tftp::packet::opcode;
use ipxe_config_server::{Appliance, ApplianceCapacity, TftpSettings};
use ipxe_config_testkit::link::Wire;
use smoltcp::iface::{Config as InterfaceConfig, Interface, SocketHandle, SocketSet, SocketStorage};
use smoltcp::socket::udp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr, IpEndpoint, Ipv4Cidr};

/// First client port; socket `i` is bound to `CLIENT_PORT + i`.
const CLIENT_PORT: u16 = 3000;
/// The address of the client's last socket: a second machine, as the server sees it.
const OTHER_CLIENT_IP: smoltcp::wire::Ipv4Address = smoltcp::wire::Ipv4Address::new(10, 99, 0, 51);
/// The socket sending from [`OTHER_CLIENT_IP`].
const OTHER: usize = 3;

struct Tftp {
    wire: Wire,
    appliance: Appliance<'static, DirectoryFiles>,
    client: Interface,
    sockets: SocketSet<'static>,
    udp: Vec<SocketHandle>,
    now: Instant,
    inventory: Inventory<'static>,
    config: RenderConfig<'static>,
    files: std::path::PathBuf,
}

impl Tftp {
    fn new(test: &str, transfers: usize) -> Self {
        let files = scratch_dir(test);
        let mut wire = Wire::new(512);
        let now = Instant::from_secs(1);
        let mut settings = ipxe_config_testkit::net::settings();
        settings.tftp = Some(TftpSettings::DEFAULT);
        let capacity =
            ApplianceCapacity { tftp_transfers: transfers, tftp_window_blocks: 8, ..ApplianceCapacity::DEFAULT };
        let (storage, open) = leak_buffers(&capacity, DirectoryFiles::open(&files).unwrap());
        let appliance = Appliance::new(settings, storage, open, &mut wire.appliance_end(), now).unwrap();
        let mut config = InterfaceConfig::new(HardwareAddress::Ethernet(CLIENT_MAC));
        config.random_seed = 3;
        let mut client = Interface::new(config, &mut wire.client_end(), now);
        client.update_ip_addrs(|addresses| {
            addresses.push(IpCidr::Ipv4(Ipv4Cidr::new(CLIENT_IP, 24))).unwrap();
            addresses.push(IpCidr::Ipv4(Ipv4Cidr::new(OTHER_CLIENT_IP, 24))).unwrap();
        });
        let storage: &'static mut [SocketStorage<'static>] = Box::leak((0..4).map(|_| SocketStorage::EMPTY).collect());
        let mut sockets = SocketSet::new(storage);
        let udp = (0..4u16)
            .map(|i| {
                let buffer = || {
                    udp::PacketBuffer::new(
                        Vec::leak(vec![udp::PacketMetadata::EMPTY; 256]),
                        Vec::leak(vec![0u8; 256 * 1600]),
                    )
                };
                let mut socket = udp::Socket::new(buffer(), buffer());
                let address = (usize::from(i) == OTHER).then_some(IpAddress::Ipv4(OTHER_CLIENT_IP));
                socket.bind(smoltcp::wire::IpListenEndpoint { addr: address, port: CLIENT_PORT + i }).unwrap();
                sockets.add(socket)
            })
            .collect();
        Tftp {
            wire,
            appliance,
            client,
            sockets,
            udp,
            now,
            inventory: shared_inventory(),
            config: ipxe_config_testkit::net::CONFIG,
            files,
        }
    }

    fn write_file(&self, name: &str, contents: &[u8]) {
        let path = self.files.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    /// Polls both sides and advances the clock by 1 ms.
    fn step(&mut self) {
        self.appliance.poll(self.now, &mut self.wire.appliance_end(), &self.inventory, &self.config);
        self.client.poll(self.now, &mut self.wire.client_end(), &mut self.sockets);
        self.now += Duration::from_millis(1);
    }

    fn send(&mut self, socket: usize, to_port: u16, bytes: &[u8]) {
        let to = IpEndpoint::new(IpAddress::Ipv4(SERVER_IP), to_port);
        self.sockets.get_mut::<udp::Socket>(self.udp[socket]).send_slice(bytes, to).unwrap();
    }

    /// Steps `steps` times, collecting what socket `socket` received, with the sender's port.
    fn receive(&mut self, socket: usize, steps: usize) -> Vec<(Vec<u8>, u16)> {
        let mut got = Vec::new();
        for _ in 0..steps {
            self.step();
            let udp = self.sockets.get_mut::<udp::Socket>(self.udp[socket]);
            while let Ok((payload, meta)) = udp.recv() {
                got.push((payload.to_vec(), meta.endpoint.port));
            }
        }
        got
    }

    /// Steps until socket `socket` receives a datagram (at most `steps` steps).
    fn next(&mut self, socket: usize, steps: usize) -> Option<(Vec<u8>, u16)> {
        for _ in 0..steps {
            self.step();
            let udp = self.sockets.get_mut::<udp::Socket>(self.udp[socket]);
            if let Ok((payload, meta)) = udp.recv() {
                return Some((payload.to_vec(), meta.endpoint.port));
            }
        }
        None
    }
}

fn rrq(name: &str, options: &[(&str, &str)]) -> Vec<u8> {
    let mut packet = vec![0, 1];
    for part in [name, "octet"].into_iter().chain(options.iter().flat_map(|(k, v)| [*k, *v])) {
        packet.extend_from_slice(part.as_bytes());
        packet.push(0);
    }
    packet
}

fn ack(block: u16) -> Vec<u8> {
    let mut packet = vec![0, 4];
    packet.extend_from_slice(&block.to_be_bytes());
    packet
}

fn opcode_of(packet: &[u8]) -> u16 {
    u16::from_be_bytes([packet[0], packet[1]])
}

fn block_of(packet: &[u8]) -> u16 {
    u16::from_be_bytes([packet[2], packet[3]])
}

/// The code and message of an ERROR packet.
fn error_of(packet: &[u8]) -> (u16, String) {
    assert_eq!(opcode_of(packet), opcode::ERROR, "{packet:?}");
    let message = &packet[4..packet.len() - 1];
    (block_of(packet), String::from_utf8(message.to_vec()).unwrap())
}

/// The options of an OACK, as name/value pairs.
fn oack_options(packet: &[u8]) -> Vec<(String, String)> {
    assert_eq!(opcode_of(packet), opcode::OACK, "{packet:?}");
    let strings: Vec<String> =
        packet[2..packet.len() - 1].split(|&b| b == 0).map(|s| String::from_utf8(s.to_vec()).unwrap()).collect();
    strings.chunks(2).map(|pair| (pair[0].clone(), pair[1].clone())).collect()
}

fn pseudo_random(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_u32;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state.to_le_bytes()[0]
        })
        .collect()
}

/// Downloads `name` as a well-behaved windowed client: ACKs the last block of each
/// window (or the last block received when the window stops short). Returns the bytes.
fn download(t: &mut Tftp, socket: usize, first: (Vec<u8>, u16), block_size: usize, window: usize) -> Vec<u8> {
    let (mut packet, port) = first;
    let mut data = Vec::new();
    let mut expected: u16 = 1;
    if opcode_of(&packet) == opcode::OACK {
        t.send(socket, port, &ack(0));
        packet = t.next(socket, 100).expect("block 1").0;
    }
    let mut in_window = 0;
    loop {
        assert_eq!(opcode_of(&packet), opcode::DATA, "{packet:?}");
        assert_eq!(block_of(&packet), expected, "blocks in order on a lossless link");
        let payload = &packet[4..];
        data.extend_from_slice(payload);
        in_window += 1;
        let last = payload.len() < block_size;
        if last || in_window == window {
            t.send(socket, port, &ack(expected));
            in_window = 0;
        }
        if last {
            break;
        }
        expected = expected.wrapping_add(1);
        packet = t.next(socket, 100).unwrap_or_else(|| panic!("block {expected}")).0;
    }
    // The final ACK ends the transfer: nothing more comes.
    assert!(t.receive(socket, 50).is_empty());
    data
}

#[test]
fn a_windowed_transfer_with_every_option_is_byte_for_byte() {
    let mut t = Tftp::new("tftp-options", 2);
    let contents = pseudo_random(173_792);
    t.write_file("snponly.efi", &contents);
    let options = [("blksize", "65464"), ("tsize", "0"), ("windowsize", "4"), ("timeout", "3")];
    t.send(0, 69, &rrq("snponly.efi", &options));
    let (oack, port) = t.next(0, 100).expect("an OACK");
    assert_ne!(port, 69, "the transfer runs on a port of its own");
    assert_eq!(
        oack_options(&oack),
        [("blksize", "1468"), ("timeout", "3"), ("tsize", "173792"), ("windowsize", "4")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
    );
    let received = download(&mut t, 0, (oack, port), 1468, 4);
    assert_eq!(received.len(), contents.len());
    assert!(received == contents, "the bytes differ");
    assert_eq!(t.appliance.files_mut().open_count(), 0, "the file is closed");
}

#[test]
fn without_options_blocks_are_512_bytes_and_a_multiple_ends_empty() {
    let mut t = Tftp::new("tftp-plain", 2);
    let contents = pseudo_random(512 * 3);
    // A leading slash, as firmware often sends it, names the same file.
    t.write_file("boot/undionly.kpxe", &contents);
    t.send(1, 69, &rrq("/boot/undionly.kpxe", &[]));
    let first = t.next(1, 100).expect("block 1");
    assert_eq!(opcode_of(&first.0), opcode::DATA);
    assert_eq!(first.0.len(), 4 + 512);
    let received = download(&mut t, 1, first, 512, 1);
    assert!(received == contents);
}

#[test]
fn refusals_are_clean_errors() {
    let mut t = Tftp::new("tftp-refusals", 2);
    t.write_file("snponly.efi", b"x");
    t.write_file(".hidden", b"secret");
    let cases: [(Vec<u8>, u16); 7] = [
        (b"\0\x02snponly.efi\0octet\0".to_vec(), 2),
        (rrq("missing.efi", &[]), 1),
        (rrq("../snponly.efi", &[]), 2),
        (rrq("a/../../etc/passwd", &[]), 2),
        (rrq(".hidden", &[]), 2),
        (rrq("//snponly.efi", &[]), 2),
        (b"\0\x01snponly.efi\0netascii\0".to_vec(), 4),
    ];
    for (request, code) in cases {
        t.send(2, 69, &request);
        let (reply, port) = t.next(2, 100).unwrap_or_else(|| panic!("no answer to {request:?}"));
        assert_eq!(port, 69);
        assert_eq!(error_of(&reply).0, code, "{request:?}: {:?}", error_of(&reply));
    }
    // Garbage on port 69 gets nothing, and the server still serves.
    for garbage in [&b""[..], b"\0", b"\0\x01", b"\xff\xff\xff", b"\0\x01no-terminator"] {
        t.send(2, 69, garbage);
        assert!(t.receive(2, 5).is_empty(), "{garbage:?}");
    }
    t.send(2, 69, &rrq("snponly.efi", &[]));
    let (data, _) = t.next(2, 100).expect("block 1");
    assert_eq!(data, b"\0\x03\0\x01x");
}

#[test]
fn a_duplicate_ack_is_not_answered_with_more_data() {
    let mut t = Tftp::new("tftp-duplicate", 2);
    t.write_file("f", &pseudo_random(512 * 10));
    t.send(0, 69, &rrq("f", &[]));
    let (_, port) = t.next(0, 100).expect("block 1");
    t.send(0, port, &ack(1));
    let got = t.receive(0, 20);
    assert_eq!(got.len(), 1);
    assert_eq!(block_of(&got[0].0), 2);
    // The duplicate ACK 1 (a delayed copy): no second block 2, no block 3.
    t.send(0, port, &ack(1));
    t.send(0, port, &ack(1));
    assert!(t.receive(0, 20).is_empty(), "Sorcerer's Apprentice");
    t.send(0, port, &ack(2));
    let got = t.receive(0, 20);
    assert_eq!(got.iter().map(|(p, _)| block_of(p)).collect::<Vec<_>>(), [3]);
}

#[test]
fn a_lost_ack_brings_the_window_again_after_the_timeout() {
    let mut t = Tftp::new("tftp-loss", 2);
    t.write_file("f", &pseudo_random(1468 * 6 + 5));
    t.send(0, 69, &rrq("f", &[("blksize", "1468"), ("windowsize", "3")]));
    let (_, port) = t.next(0, 100).expect("OACK");
    t.send(0, port, &ack(0));
    let window: Vec<u16> = t.receive(0, 20).iter().map(|(p, _)| block_of(p)).collect();
    assert_eq!(window, [1, 2, 3]);
    // The client's ACK 3 is lost on the wire.
    t.send(0, port, &ack(3));
    t.client.poll(t.now, &mut t.wire.client_end(), &mut t.sockets);
    assert!(t.wire.to_appliance.pop().is_some(), "the ACK was on the wire");
    assert!(t.receive(0, 500).is_empty(), "nothing before the timeout");
    let again: Vec<u16> = t.receive(0, 600).iter().map(|(p, _)| block_of(p)).collect();
    assert_eq!(again, [1, 2, 3], "the whole window again, once, after 1 s");
    // A client that missed block 2 ACKs 1: the window restarts after it.
    t.send(0, port, &ack(1));
    let restarted: Vec<u16> = t.receive(0, 20).iter().map(|(p, _)| block_of(p)).collect();
    assert_eq!(restarted, [2, 3, 4]);
}

#[test]
fn a_stranger_on_a_transfer_port_gets_an_error_and_changes_nothing() {
    let mut t = Tftp::new("tftp-stranger", 2);
    t.write_file("f", &pseudo_random(2000));
    t.send(0, 69, &rrq("f", &[]));
    let first = t.next(0, 100).expect("block 1");
    let port = first.1;
    // Another port of the client (a different transfer ID) ACKs and errors the transfer.
    t.send(1, port, &ack(1));
    t.send(1, port, b"\0\x05\0\0stop\0");
    let (reply, from) = t.next(1, 100).expect("an error to the stranger");
    assert_eq!(from, port);
    assert_eq!(error_of(&reply).0, 5);
    assert!(t.receive(0, 20).is_empty(), "the stranger's ACK moved nothing");
    let received = download(&mut t, 0, first, 512, 1);
    assert_eq!(received.len(), 2000);
}

#[test]
fn a_silent_client_holds_its_slot_a_bounded_time() {
    let mut t = Tftp::new("tftp-silent", 1);
    t.write_file("f", &pseudo_random(4000));
    t.send(0, 69, &rrq("f", &[]));
    let (_, port) = t.next(0, 100).expect("block 1");
    // The only transfer slot is taken: another client is told to come back.
    t.send(OTHER, 69, &rrq("f", &[]));
    let (busy, _) = t.next(OTHER, 100).expect("busy");
    assert_eq!(error_of(&busy), (0, "server busy, try again later".to_owned()));
    // Block 1 is sent again once a second, five times, then the transfer is dropped.
    let resent = t.receive(0, 5_600);
    assert_eq!(resent.len(), 5, "{} retransmissions", resent.len());
    assert!(resent.iter().all(|(p, from)| block_of(p) == 1 && *from == port));
    assert!(t.receive(0, 1_000).is_empty());
    assert_eq!(t.appliance.files_mut().open_count(), 0);
    t.send(OTHER, 69, &rrq("f", &[]));
    let (data, _) = t.next(OTHER, 100).expect("served once the slot is free");
    assert_eq!(opcode_of(&data), opcode::DATA);
}

#[test]
fn a_client_aborting_after_the_oack_frees_the_transfer() {
    // OVMF asks for the size, aborts with error 8, then asks again from the next port.
    let mut t = Tftp::new("tftp-abort", 1);
    t.write_file("snponly.efi", &pseudo_random(3000));
    t.send(0, 69, &rrq("snponly.efi", &[("tsize", "0"), ("blksize", "1468")]));
    let (oack, port) = t.next(0, 100).expect("OACK");
    assert_eq!(oack_options(&oack)[1], ("tsize".to_owned(), "3000".to_owned()));
    t.send(0, port, b"\0\x05\0\x08User aborted the transfer\0");
    t.send(1, 69, &rrq("snponly.efi", &[("blksize", "1468")]));
    let first = t.next(1, 100).expect("a new transfer on the only slot");
    let received = download(&mut t, 1, first, 1468, 1);
    assert_eq!(received.len(), 3000);
}

#[test]
fn a_client_that_never_answers_arp_does_not_make_the_poll_loop_spin() {
    use common::autoconf::udp_frame;
    use smoltcp::wire::{EthernetAddress, Ipv4Address};
    let mut t = Tftp::new("tftp-no-arp", 2);
    t.write_file("f", &pseudo_random(1468 * 20));
    // A request from an address nobody answers ARP for (forged): its transfer can never
    // send, and retransmits on its timer only; the appliance never asks to be polled
    // again at once for it.
    let forged = udp_frame(
        EthernetAddress([0x02, 0, 0, 0, 0, 0x77]),
        Ipv4Address::new(10, 99, 0, 77),
        SERVER_IP,
        5000,
        69,
        &rrq("f", &[("blksize", "1468"), ("windowsize", "8")]),
    );
    t.wire.to_appliance.push(&forged);
    let end = t.now + Duration::from_millis(1900);
    let mut spinning = 0;
    while t.now < end {
        t.step();
        let past_timeout = t.now > Instant::from_secs(2) + Duration::from_millis(100);
        if past_timeout && t.appliance.poll_delay(t.now) == Some(Duration::ZERO) {
            spinning += 1;
        }
    }
    assert_eq!(spinning, 0, "polls after which the appliance asked to be polled again at once");
    // Meanwhile a real client is served.
    t.write_file("g", b"hello");
    t.send(0, 69, &rrq("g", &[]));
    let (data, _) = t.next(0, 100).expect("block 1");
    assert_eq!(data, b"\0\x03\0\x01hello");
}

#[test]
fn a_client_that_never_answers_gives_way_to_one_that_asks() {
    // A request from a forged address (or a client gone) takes the only slot; after a
    // timeout without a single ACK, the next client's request frees it and is served.
    let mut t = Tftp::new("tftp-unproven", 1);
    t.write_file("f", &pseudo_random(4000));
    t.send(0, 69, &rrq("f", &[]));
    t.next(0, 100).expect("block 1");
    t.send(OTHER, 69, &rrq("f", &[]));
    let (busy, _) = t.next(OTHER, 100).expect("busy while the first is young");
    assert_eq!(error_of(&busy), (0, "server busy, try again later".to_owned()));
    t.receive(0, 1_000);
    t.send(OTHER, 69, &rrq("f", &[]));
    let first = t.next(OTHER, 100).expect("served");
    assert_eq!(opcode_of(&first.0), opcode::DATA);
    assert_eq!(download(&mut t, OTHER, first, 512, 1), pseudo_random(4000));
}

#[test]
fn one_address_holds_at_most_half_the_slots() {
    let mut t = Tftp::new("tftp-per-client", 2);
    t.write_file("f", &pseudo_random(4000));
    t.send(0, 69, &rrq("f", &[]));
    t.next(0, 100).expect("block 1");
    t.send(1, 69, &rrq("f", &[]));
    let (refused, _) = t.next(1, 100).expect("refused");
    assert_eq!(error_of(&refused), (0, "too many transfers from this client, try again later".to_owned()));
    t.send(OTHER, 69, &rrq("f", &[]));
    let (data, _) = t.next(OTHER, 100).expect("another machine is served");
    assert_eq!(opcode_of(&data), opcode::DATA);
}

#[test]
fn transfer_ports_are_not_sequential() {
    let mut t = Tftp::new("tftp-ports", 4);
    t.write_file("f", &pseudo_random(100));
    let mut ports = Vec::new();
    for socket in 0..3 {
        // Each small file is sent whole in one block; ACK it so the slot frees.
        t.send(socket, 69, &rrq("f", &[]));
        let (_, port) = t.next(socket, 100).expect("block 1");
        t.send(socket, port, &[0, 4, 0, 1]);
        t.receive(socket, 10);
        ports.push(port);
    }
    let steps: Vec<i32> = ports.windows(2).map(|w| i32::from(w[1]) - i32::from(w[0])).collect();
    assert!(steps.iter().any(|step| *step != 1), "ports {ports:?} follow one another");
    assert!(ports.iter().all(|port| *port >= 49152));
}
