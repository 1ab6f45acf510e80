//! Arbitrary datagrams at the TFTP server of a real `Appliance`, from a stranger on the
//! link, in the middle of a well-behaved client's transfer.
//!
//! Each input gets a fresh appliance serving one 3000-byte file. The client asks for it
//! (512-byte blocks) and gets block 1 from the transfer's port P. Then the input, cut
//! into up to eight datagrams (`[target, length, bytes…]`, `target` even: port 69, odd:
//! P), goes out from another UDP port of the same address. Checked:
//!
//! - whatever the stranger gets is a TFTP DATA, OACK or ERROR packet, and from port 69
//!   only ERRORs (a valid request is answered from a transfer port of its own);
//! - the stranger's datagrams to P change nothing: the client's transfer then runs to
//!   its end and the bytes are the file's;
//! - the appliance logged no error.

#![no_main]

mod common;

use ipxe_config_server::{Appliance, ApplianceBuffers, ApplianceSettings, TftpSettings};
use ipxe_config_testkit::files::StaticFiles;
use ipxe_config_testkit::inventory::shared_inventory;
use ipxe_config_testkit::link::Wire;
use ipxe_config_testkit::net::{CLIENT_IP, CLIENT_MAC, CONFIG, SERVER_CIDR, SERVER_IP, SERVER_MAC};
use libfuzzer_sys::fuzz_target;
use smoltcp::iface::{Config as InterfaceConfig, Interface, SocketHandle, SocketSet, SocketStorage};
use smoltcp::socket::udp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr, IpEndpoint, Ipv4Cidr};

use common::{errors_logged, install_logger, wire};

/// One small connection (TFTP is what is fuzzed), no leases.
type Buffers<'a> = ApplianceBuffers<'a, StaticFiles, 1, 256, 256, 512, 0>;

const FILE_LEN: usize = 3000;
static CONTENTS: [u8; FILE_LEN] = {
    let mut bytes = [0u8; FILE_LEN];
    let mut i = 0;
    while i < FILE_LEN {
        bytes[i] = (i * 7 % 251) as u8;
        i += 1;
    }
    bytes
};
static FILES: [(&str, &[u8]); 1] = [("f", &CONTENTS)];

const CLIENT_PORT: u16 = 3000;
const STRANGER_PORT: u16 = 3001;

fuzz_target!(|input: &[u8]| {
    install_logger();
    exchange(input);
});

struct Link<'a> {
    wire: Wire,
    appliance: Appliance<'a, StaticFiles>,
    client: Interface,
    sockets: SocketSet<'a>,
    now: Instant,
}

impl Link<'_> {
    fn step(&mut self) {
        let inventory = shared_inventory();
        self.appliance.poll(self.now, &mut self.wire.appliance_end(), &inventory, &CONFIG);
        self.client.poll(self.now, &mut self.wire.client_end(), &mut self.sockets);
        self.now += Duration::from_millis(1);
    }

    fn send(&mut self, handle: SocketHandle, port: u16, bytes: &[u8]) {
        let to = IpEndpoint::new(IpAddress::Ipv4(SERVER_IP), port);
        // A datagram too large for the client's buffer is one the link would not carry.
        let _ = self.sockets.get_mut::<udp::Socket>(handle).send_slice(bytes, to);
    }

    /// What `handle` received within `steps` steps.
    fn receive(&mut self, handle: SocketHandle, steps: usize) -> Vec<(Vec<u8>, u16)> {
        let mut got = Vec::new();
        for _ in 0..steps {
            self.step();
            while let Ok((payload, meta)) = self.sockets.get_mut::<udp::Socket>(handle).recv() {
                got.push((payload.to_vec(), meta.endpoint.port));
            }
        }
        got
    }
}

/// Datagrams each client socket queues each way.
const SLOTS: usize = 16;

/// One way of a client socket's buffers, on the caller's stack (nothing leaks per input).
struct Way {
    meta: [udp::PacketMetadata; SLOTS],
    bytes: [u8; SLOTS * 1600],
}

impl Way {
    fn new() -> Self {
        Way { meta: [udp::PacketMetadata::EMPTY; SLOTS], bytes: [0; SLOTS * 1600] }
    }
}

fn udp_socket<'a>(port: u16, rx: &'a mut Way, tx: &'a mut Way) -> udp::Socket<'a> {
    let mut socket = udp::Socket::new(
        udp::PacketBuffer::new(&mut rx.meta[..], &mut rx.bytes[..]),
        udp::PacketBuffer::new(&mut tx.meta[..], &mut tx.bytes[..]),
    );
    if socket.bind(port).is_err() {
        panic!("cannot bind the client's port {port}");
    }
    socket
}

fn exchange(input: &[u8]) {
    let errors_before = errors_logged();
    let mut buffers = Buffers::new();
    let (storage, files) = buffers.split(StaticFiles::new(&FILES));
    let mut settings = ApplianceSettings::new(SERVER_MAC, SERVER_CIDR);
    settings.router_advertisements = false;
    settings.tftp = Some(TftpSettings::DEFAULT);
    let now = Instant::from_secs(1);
    let mut wire = wire();
    let appliance = match Appliance::new(settings, storage, files, &mut wire.appliance_end(), now) {
        Ok(appliance) => appliance,
        Err(error) => panic!("appliance set-up: {error}"),
    };
    let mut config = InterfaceConfig::new(HardwareAddress::Ethernet(CLIENT_MAC));
    config.random_seed = 1;
    let mut client = Interface::new(config, &mut wire.client_end(), now);
    client.update_ip_addrs(|addresses| {
        let _ = addresses.push(IpCidr::Ipv4(Ipv4Cidr::new(CLIENT_IP, 24)));
    });
    let mut ways = [Way::new(), Way::new(), Way::new(), Way::new()];
    let [ours_rx, ours_tx, stranger_rx, stranger_tx] = &mut ways;
    let mut storage = [SocketStorage::EMPTY, SocketStorage::EMPTY];
    let mut sockets = SocketSet::new(&mut storage[..]);
    let ours = sockets.add(udp_socket(CLIENT_PORT, ours_rx, ours_tx));
    let stranger = sockets.add(udp_socket(STRANGER_PORT, stranger_rx, stranger_tx));
    let mut link = Link { wire, appliance, client, sockets, now };

    link.send(ours, 69, b"\0\x01f\0octet\0");
    let first = link.receive(ours, 20);
    let [(block, port)] = first.as_slice() else { panic!("{} datagrams for the request", first.len()) };
    let port = *port;
    assert_eq!(&block[..4], b"\0\x03\0\x01", "block 1");
    let mut received = block[4..].to_vec();

    let mut rest = input;
    for _ in 0..8 {
        let Some((&[target, len], tail)) = rest.split_first_chunk::<2>() else { break };
        let len = usize::from(len).min(tail.len());
        let (datagram, tail) = tail.split_at(len);
        rest = tail;
        link.send(stranger, if target % 2 == 0 { 69 } else { port }, datagram);
    }
    for (packet, from) in link.receive(stranger, 20) {
        let opcode = packet.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]]));
        assert!(matches!(opcode, Some(3 | 5 | 6)), "not DATA, ERROR or OACK from port {from}: {packet:02x?}");
        if from == 69 {
            assert_eq!(opcode, Some(5), "port 69 sent more than an error: {packet:02x?}");
        }
    }
    // Nothing the stranger sent moved the transfer: the client finishes it.
    let mut expected: u16 = 1;
    loop {
        link.send(ours, port, &[0, 4, (expected >> 8) as u8, expected as u8]);
        if received.len() >= FILE_LEN && (received.len() % 512 != 0 || expected as usize > FILE_LEN / 512) {
            break;
        }
        expected += 1;
        let got = link.receive(ours, 20);
        let [(block, from)] = got.as_slice() else { panic!("{} datagrams for block {expected}", got.len()) };
        assert_eq!(*from, port);
        assert_eq!(&block[..4], &[0, 3, (expected >> 8) as u8, expected as u8], "block {expected}");
        received.extend_from_slice(&block[4..]);
    }
    assert!(received == CONTENTS, "the client received other bytes");
    assert!(link.receive(ours, 5).is_empty(), "data after the last ACK");
    assert_eq!(link.wire.dropped(), 0, "the test link dropped a frame: give it more slots");
    assert_eq!(errors_logged(), errors_before, "the appliance logged an error (printed above)");
}
