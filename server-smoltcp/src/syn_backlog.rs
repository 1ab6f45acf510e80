//! Connection attempts that arrive while every HTTP socket is busy: held, then replayed.
//!
//! smoltcp answers a SYN that no socket accepts with a reset, and iPXE takes a reset as
//! "Connection refused" and fails the boot. In a boot storm more clients connect at once
//! than the pool has sockets, so most of them failed although a socket was free a moment
//! later. Merely dropping the SYN (as Linux does when its accept queue is full) is not
//! enough either: iPXE's retransmission timer has no jitter, so a storm retransmits in
//! waves (0.25, 0.75, 1.75, 3.75, 7.75 s, then it gives up), sockets freed between waves
//! sit idle, and only a few pool-fuls of clients get in.
//!
//! So, like a kernel's SYN queue: while no socket listens, [`SynGate`] stands between the
//! interface and the device for one received frame at a time. A TCP SYN (without ACK) to
//! the HTTP port of the appliance itself (its MAC and one of its addresses: on a raw
//! socket the appliance sees every SYN on the segment, and those to other hosts must not
//! take the backlog from its own clients) goes into the [`SynBacklog`] (one entry per client address and port, so
//! a retransmission replaces its original) and reaches smoltcp as an empty frame, which it
//! ignores; every other frame passes unchanged. As soon as a socket listens again, the
//! oldest held SYN is fed to the interface through [`Replay`] as if it had just arrived,
//! and the waiting client gets its SYN-ACK at once. A SYN that finds the backlog full is
//! dropped, and the client's retransmission tries again.
//!
//! A received frame can be read only once, so passing it through the gate means copying
//! it into the gate's buffer. On a device with a larger MTU, a frame that does not fit
//! reaches smoltcp empty (dropped, and resent by its TCP sender); the gate only runs while
//! every socket is busy, and what a boot server's clients send then (SYNs, requests,
//! ACKs) fits.
//!
//! Panic contract: nothing here panics, whatever arrives.

use smoltcp::phy::{self, Device, DeviceCapabilities};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{
    EthernetAddress, EthernetFrame, EthernetProtocol, IpAddress, IpProtocol, Ipv4Packet, Ipv6Packet, TcpPacket,
};

/// Bytes of the gate's frame buffer: a whole Ethernet frame without FCS.
pub(crate) const GATE_FRAME: usize = 1514;

/// Connection attempts held at most. Each wave of retransmissions admits the pool plus
/// this many clients, so this is what a synchronized storm can hold: 512 (~57 KiB) for the
/// host binary, a few on firmware, which serves a few clients.
#[cfg(feature = "host")]
pub(crate) const SYN_BACKLOG: usize = 512;
#[cfg(not(feature = "host"))]
pub(crate) const SYN_BACKLOG: usize = 32;

/// Longest SYN frame held: Ethernet, IPv4 and TCP headers with 40 bytes of TCP options
/// (iPXE's SYN is 78 bytes).
const HELD_SYN: usize = 96;

/// A SYN held this long after its client's first one is dropped: iPXE gives up on a
/// connection about 16 s after its first SYN.
const MAX_AGE: Duration = Duration::from_secs(15);

/// One held SYN.
#[derive(Clone, Copy)]
struct Held {
    frame: [u8; HELD_SYN],
    len: usize,
    arrived: Instant,
}

impl Held {
    const EMPTY: Held = Held { frame: [0; HELD_SYN], len: 0, arrived: Instant::ZERO };

    fn bytes(&self) -> &[u8] {
        self.frame.get(..self.len).unwrap_or_default()
    }
}

/// SYNs waiting for a socket, oldest first.
pub(crate) struct SynBacklog {
    /// A ring: `count` entries from `first`.
    held: [Held; SYN_BACKLOG],
    first: usize,
    count: usize,
}

/// What became of a SYN offered to the backlog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hold {
    /// Held (or it replaced its client's earlier SYN).
    Held,
    /// The backlog is full or the frame too long: dropped.
    Dropped,
}

impl SynBacklog {
    // The appliance is set up once, at start-up; on a host the ~57 KiB live in the
    // binary's main frame, on firmware the backlog is small.
    #[allow(clippy::large_stack_arrays)]
    pub(crate) const EMPTY: SynBacklog = SynBacklog { held: [Held::EMPTY; SYN_BACKLOG], first: 0, count: 0 };

    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn slot(&self, nth: usize) -> usize {
        (self.first + nth) % SYN_BACKLOG
    }

    /// Holds `frame` (a SYN), replacing an earlier one from the same client address and
    /// port, which keeps its place in the queue.
    pub(crate) fn hold(&mut self, frame: &[u8], now: Instant) -> Hold {
        if frame.len() > HELD_SYN {
            return Hold::Dropped;
        }
        let source = client(frame);
        let earlier = (0..self.count)
            .map(|nth| self.slot(nth))
            .find(|&index| self.held.get(index).is_some_and(|held| client(held.bytes()) == source));
        let index = match earlier {
            Some(index) => index,
            None if self.count < SYN_BACKLOG => {
                let index = self.slot(self.count);
                self.count += 1;
                if let Some(held) = self.held.get_mut(index) {
                    held.arrived = now;
                }
                index
            }
            None => return Hold::Dropped,
        };
        let Some(held) = self.held.get_mut(index) else { return Hold::Dropped };
        let Some(room) = held.frame.get_mut(..frame.len()) else { return Hold::Dropped };
        room.copy_from_slice(frame);
        held.len = frame.len();
        Hold::Held
    }

    /// Takes the oldest SYN that is not too old, copied into `out`; its length.
    pub(crate) fn take_oldest(&mut self, now: Instant, out: &mut [u8]) -> Option<usize> {
        while self.count > 0 {
            let held = *self.held.get(self.first)?;
            self.first = (self.first + 1) % SYN_BACKLOG;
            self.count -= 1;
            if now < held.arrived + MAX_AGE {
                let room = out.get_mut(..held.len)?;
                room.copy_from_slice(held.bytes());
                return Some(held.len);
            }
        }
        None
    }
}

/// What the gate needs of a TCP segment in an Ethernet frame, read through smoltcp's
/// checked views: a frame they refuse (truncated, an IPv4 header under 20 bytes, a length
/// field pointing past the frame) is no SYN to hold and passes to the interface, which
/// drops it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    to_mac: EthernetAddress,
    from: IpAddress,
    to: IpAddress,
    from_port: u16,
    to_port: u16,
    syn: bool,
    ack: bool,
}

impl Segment {
    /// The TCP segment `frame` carries over IPv4 or IPv6. IPv6 extension headers are not
    /// walked: no TCP client puts one in front of a SYN, and such a frame goes to the
    /// interface like any other.
    fn parse(frame: &[u8]) -> Option<Segment> {
        let ethernet = EthernetFrame::new_checked(frame).ok()?;
        let (from, to, tcp) = match ethernet.ethertype() {
            EthernetProtocol::Ipv4 => {
                let ip = Ipv4Packet::new_checked(ethernet.payload()).ok()?;
                if ip.next_header() != IpProtocol::Tcp {
                    return None;
                }
                (IpAddress::Ipv4(ip.src_addr()), IpAddress::Ipv4(ip.dst_addr()), ip.payload())
            }
            EthernetProtocol::Ipv6 => {
                let ip = Ipv6Packet::new_checked(ethernet.payload()).ok()?;
                if ip.next_header() != IpProtocol::Tcp {
                    return None;
                }
                (IpAddress::Ipv6(ip.src_addr()), IpAddress::Ipv6(ip.dst_addr()), ip.payload())
            }
            _ => return None,
        };
        let tcp = TcpPacket::new_checked(tcp).ok()?;
        Some(Segment {
            to_mac: ethernet.dst_addr(),
            from,
            to,
            from_port: tcp.src_port(),
            to_port: tcp.dst_port(),
            syn: tcp.syn(),
            ack: tcp.ack(),
        })
    }
}

/// The client's address and port: a retransmission has the same.
fn client(frame: &[u8]) -> Option<(IpAddress, u16)> {
    Segment::parse(frame).map(|segment| (segment.from, segment.from_port))
}

/// The appliance's own addresses: which frames are meant for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Destination {
    pub mac: [u8; 6],
    pub ipv4: [u8; 4],
    /// Its IPv6 link-local address, when it has one.
    pub ipv6: Option<[u8; 16]>,
    pub port: u16,
}

impl Destination {
    /// Whether the segment is addressed to the appliance's MAC and to one of its addresses.
    fn addresses(&self, segment: &Segment) -> bool {
        if segment.to_mac.0 != self.mac {
            return false;
        }
        match segment.to {
            IpAddress::Ipv4(to) => to.octets() == self.ipv4,
            IpAddress::Ipv6(to) => self.ipv6 == Some(to.octets()),
        }
    }
}

/// Whether `frame` carries a TCP SYN (no ACK) to the appliance's HTTP port.
fn is_syn_to(frame: &[u8], to: &Destination) -> bool {
    Segment::parse(frame)
        .is_some_and(|segment| to.addresses(&segment) && segment.to_port == to.port && segment.syn && !segment.ack)
}

/// A device that holds SYNs to the appliance's HTTP port in a backlog and passes
/// everything else.
pub(crate) struct SynGate<'g, D: ?Sized> {
    device: &'g mut D,
    frame: &'g mut [u8; GATE_FRAME],
    backlog: &'g mut SynBacklog,
    to: Destination,
    now: Instant,
    /// SYNs held, and dropped because the backlog was full.
    pub(crate) held: u32,
    pub(crate) dropped: u32,
}

impl<'g, D: Device + ?Sized> SynGate<'g, D> {
    pub(crate) fn new(
        device: &'g mut D,
        frame: &'g mut [u8; GATE_FRAME],
        backlog: &'g mut SynBacklog,
        to: Destination,
        now: Instant,
    ) -> Self {
        SynGate { device, frame, backlog, to, now, held: 0, dropped: 0 }
    }
}

impl<D: Device + ?Sized> Device for SynGate<'_, D> {
    type RxToken<'a>
        = Passed<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = D::TxToken<'a>
    where
        Self: 'a;

    fn receive(&mut self, timestamp: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let (rx, tx) = self.device.receive(timestamp)?;
        let (to, now) = (self.to, self.now);
        let frame = &mut *self.frame;
        let backlog = &mut *self.backlog;
        let (len, hold) = phy::RxToken::consume(rx, |bytes| {
            if is_syn_to(bytes, &to) {
                return (0, Some(backlog.hold(bytes, now)));
            }
            match frame.get_mut(..bytes.len()) {
                Some(room) => {
                    room.copy_from_slice(bytes);
                    (bytes.len(), None)
                }
                None => (0, None),
            }
        });
        match hold {
            Some(Hold::Held) => self.held += 1,
            Some(Hold::Dropped) => self.dropped += 1,
            None => {}
        }
        Some((Passed { frame: self.frame.get(..len).unwrap_or_default() }, tx))
    }

    fn transmit(&mut self, timestamp: Instant) -> Option<Self::TxToken<'_>> {
        self.device.transmit(timestamp)
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.device.capabilities()
    }
}

/// A device that delivers one held frame, then nothing; replies go out on the real device.
pub(crate) struct Replay<'r, D: ?Sized> {
    device: &'r mut D,
    frame: Option<&'r [u8]>,
}

impl<'r, D: Device + ?Sized> Replay<'r, D> {
    pub(crate) fn new(device: &'r mut D, frame: &'r [u8]) -> Self {
        Replay { device, frame: Some(frame) }
    }
}

impl<D: Device + ?Sized> Device for Replay<'_, D> {
    type RxToken<'a>
        = Passed<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = D::TxToken<'a>
    where
        Self: 'a;

    fn receive(&mut self, timestamp: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let frame = self.frame.take()?;
        let tx = self.device.transmit(timestamp)?;
        Some((Passed { frame }, tx))
    }

    fn transmit(&mut self, timestamp: Instant) -> Option<Self::TxToken<'_>> {
        self.device.transmit(timestamp)
    }

    fn capabilities(&self) -> DeviceCapabilities {
        self.device.capabilities()
    }
}

/// A frame the gate let through (empty for a SYN it held), or a replayed one.
pub(crate) struct Passed<'a> {
    frame: &'a [u8],
}

impl phy::RxToken for Passed<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.frame)
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)] // reason: test code, where a panic is a failure
mod tests {
    use super::*;

    const US: Destination = Destination {
        mac: [0x02, 0x69, 0x70, 0x78, 0x65, 0x01],
        ipv4: [10, 99, 0, 1],
        ipv6: Some([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x69, 0x70, 0xff, 0xfe, 0x78, 0x65, 0x01]),
        port: 80,
    };

    fn to(port: u16) -> Destination {
        Destination { port, ..US }
    }

    const TCP_SYN: u8 = 0x02;
    const TCP_ACK: u8 = 0x10;

    /// Writes a 20-byte TCP header from `source_port` to `port` with `flags`.
    fn tcp_header(bytes: &mut [u8], flags: u8, port: u16, source_port: u16) {
        let mut tcp = TcpPacket::new_unchecked(bytes);
        tcp.set_src_port(source_port);
        tcp.set_dst_port(port);
        tcp.set_header_len(20);
        tcp.set_syn(flags & TCP_SYN != 0);
        tcp.set_ack(flags & TCP_ACK != 0);
    }

    /// Ethernet + IPv4 (20-byte header) + TCP from `source_port` to the appliance's
    /// `port` with `flags`.
    fn ipv4_tcp(flags: u8, port: u16, source_port: u16) -> [u8; 54] {
        let mut frame = [0u8; 54];
        let mut ethernet = EthernetFrame::new_unchecked(&mut frame[..]);
        ethernet.set_dst_addr(EthernetAddress(US.mac));
        ethernet.set_ethertype(EthernetProtocol::Ipv4);
        let mut ip = Ipv4Packet::new_unchecked(ethernet.payload_mut());
        ip.set_version(4);
        ip.set_header_len(20);
        ip.set_total_len(40);
        ip.set_next_header(IpProtocol::Tcp);
        ip.set_src_addr([10, 99, 0, 50].into());
        ip.set_dst_addr(US.ipv4.into());
        tcp_header(ip.payload_mut(), flags, port, source_port);
        frame
    }

    #[test]
    fn only_a_bare_syn_to_the_port_is_held() {
        assert!(is_syn_to(&ipv4_tcp(TCP_SYN, 80, 1), &to(80)));
        assert!(!is_syn_to(&ipv4_tcp(TCP_SYN | TCP_ACK, 80, 1), &to(80)));
        assert!(!is_syn_to(&ipv4_tcp(TCP_ACK, 80, 1), &to(80)));
        assert!(!is_syn_to(&ipv4_tcp(TCP_SYN, 8080, 1), &to(80)));
        let mut udp = ipv4_tcp(TCP_SYN, 80, 1);
        Ipv4Packet::new_unchecked(&mut udp[14..]).set_next_header(IpProtocol::Udp);
        assert!(!is_syn_to(&udp, &to(80)));
        assert!(is_syn_to(&ipv6_syn(), &to(80)));
    }

    /// Ethernet + IPv6 + a SYN to the appliance's link-local address, port 80.
    fn ipv6_syn() -> [u8; 74] {
        let mut frame = [0u8; 74];
        let mut ethernet = EthernetFrame::new_unchecked(&mut frame[..]);
        ethernet.set_dst_addr(EthernetAddress(US.mac));
        ethernet.set_ethertype(EthernetProtocol::Ipv6);
        let mut ip = Ipv6Packet::new_unchecked(ethernet.payload_mut());
        ip.set_version(6);
        ip.set_payload_len(20);
        ip.set_next_header(IpProtocol::Tcp);
        ip.set_src_addr([0xfe80, 0, 0, 0, 0, 0, 0, 0x50].into());
        ip.set_dst_addr(US.ipv6.unwrap().into());
        tcp_header(ip.payload_mut(), TCP_SYN, 80, 1);
        frame
    }

    /// A SYN the views refuse is no SYN: it passes the gate, and the interface drops it.
    #[test]
    fn a_malformed_syn_is_not_held() {
        let syn = ipv4_tcp(TCP_SYN, 80, 1);
        // Cut anywhere (the IPv4 total length says 40 bytes follow the Ethernet header).
        for short in 0..syn.len() {
            assert!(!is_syn_to(&syn[..short], &to(80)), "{short} bytes");
        }
        let v6 = ipv6_syn();
        for short in 0..v6.len() {
            assert!(!is_syn_to(&v6[..short], &to(80)), "IPv6, {short} bytes");
        }

        // An IPv4 header length under 20 bytes (IHL < 5) used to put the TCP header inside
        // the IP header; one past the frame's end, or past the total length, is refused too.
        for header_len in [0, 4, 16, 44, 60] {
            let mut frame = syn;
            Ipv4Packet::new_unchecked(&mut frame[14..]).set_header_len(header_len);
            assert!(!is_syn_to(&frame, &to(80)), "IPv4 header of {header_len} bytes");
        }
        for total_len in [0, 19, 39, 41, 1500] {
            let mut frame = syn;
            Ipv4Packet::new_unchecked(&mut frame[14..]).set_total_len(total_len);
            assert!(!is_syn_to(&frame, &to(80)), "IPv4 total length {total_len}");
        }
        let mut frame = v6;
        Ipv6Packet::new_unchecked(&mut frame[14..]).set_payload_len(21);
        assert!(!is_syn_to(&frame, &to(80)), "IPv6 payload length past the frame");

        // A TCP data offset under 20 bytes, or past the segment.
        for header_len in [0, 16, 24, 60] {
            let mut frame = syn;
            TcpPacket::new_unchecked(&mut frame[34..]).set_header_len(header_len);
            assert!(!is_syn_to(&frame, &to(80)), "TCP header of {header_len} bytes");
        }

        // Not IP at all: an ARP frame whose bytes would otherwise read as a SYN.
        let mut arp = syn;
        EthernetFrame::new_unchecked(&mut arp[..]).set_ethertype(EthernetProtocol::Arp);
        assert!(!is_syn_to(&arp, &to(80)));
    }

    /// Well-formed SYNs in less common shapes are still held.
    #[test]
    fn a_syn_with_ip_options_or_ethernet_padding_is_held() {
        // Padded to Ethernet's 60-byte minimum: the IPv4 total length says where TCP ends.
        let mut padded = [0u8; 60];
        padded[..54].copy_from_slice(&ipv4_tcp(TCP_SYN, 80, 1));
        assert!(is_syn_to(&padded, &to(80)));

        // A 24-byte IPv4 header (one word of options).
        let mut options = [0u8; 58];
        let mut ethernet = EthernetFrame::new_unchecked(&mut options[..]);
        ethernet.set_dst_addr(EthernetAddress(US.mac));
        ethernet.set_ethertype(EthernetProtocol::Ipv4);
        let mut ip = Ipv4Packet::new_unchecked(ethernet.payload_mut());
        ip.set_version(4);
        ip.set_header_len(24);
        ip.set_total_len(44);
        ip.set_next_header(IpProtocol::Tcp);
        ip.set_dst_addr(US.ipv4.into());
        tcp_header(&mut ip.into_inner()[24..], TCP_SYN, 80, 1);
        assert!(is_syn_to(&options, &to(80)));
    }

    /// Extension headers are not walked (no TCP client sends a SYN behind one): such a
    /// frame passes to the interface.
    #[test]
    fn an_ipv6_syn_behind_an_extension_header_is_not_held() {
        let mut frame = [0u8; 82];
        let mut ethernet = EthernetFrame::new_unchecked(&mut frame[..]);
        ethernet.set_dst_addr(EthernetAddress(US.mac));
        ethernet.set_ethertype(EthernetProtocol::Ipv6);
        let mut ip = Ipv6Packet::new_unchecked(ethernet.payload_mut());
        ip.set_version(6);
        ip.set_payload_len(28);
        ip.set_next_header(IpProtocol::HopByHop);
        ip.set_dst_addr(US.ipv6.unwrap().into());
        let payload = ip.payload_mut();
        // An empty hop-by-hop header (8 bytes: next header TCP, length 0, PadN) then TCP.
        payload[..8].copy_from_slice(&[6, 0, 1, 4, 0, 0, 0, 0]);
        tcp_header(&mut payload[8..], TCP_SYN, 80, 1);
        assert!(!is_syn_to(&frame, &to(80)));
    }

    /// A malformed frame goes through the gate whole and is not counted.
    #[test]
    fn the_gate_passes_a_malformed_frame_whole() {
        let mut malformed = ipv4_tcp(TCP_SYN, 80, 1);
        Ipv4Packet::new_unchecked(&mut malformed[14..]).set_header_len(16);
        let mut backlog = SynBacklog::EMPTY;
        let mut frame = [0u8; GATE_FRAME];
        let mut device = Frames(&[&malformed]);
        let now = Instant::from_secs(1);
        let mut gate = SynGate::new(&mut device, &mut frame, &mut backlog, US, now);
        let (rx, _) = gate.receive(now).unwrap();
        assert_eq!(phy::RxToken::consume(rx, <[u8]>::to_vec), malformed.to_vec());
        assert_eq!((gate.held, gate.dropped), (0, 0));
        assert!(backlog.is_empty());
    }

    /// A raw socket is promiscuous: SYNs between other hosts on the segment pass the gate
    /// untouched, whatever their port.
    #[test]
    fn a_syn_to_another_host_is_not_held() {
        let mut other_mac = ipv4_tcp(TCP_SYN, 80, 1);
        other_mac[5] = 0x02;
        assert!(!is_syn_to(&other_mac, &to(80)), "another MAC");
        let mut broadcast = ipv4_tcp(TCP_SYN, 80, 1);
        broadcast[..6].copy_from_slice(&[0xff; 6]);
        assert!(!is_syn_to(&broadcast, &to(80)), "broadcast");
        let mut other_ipv4 = ipv4_tcp(TCP_SYN, 80, 1);
        other_ipv4[33] = 2;
        assert!(!is_syn_to(&other_ipv4, &to(80)), "another IPv4 address behind our MAC");
        let mut other_ipv6 = ipv6_syn();
        other_ipv6[53] = 0x02;
        assert!(!is_syn_to(&other_ipv6, &to(80)), "another IPv6 address");
        assert!(!is_syn_to(&ipv6_syn(), &Destination { ipv6: None, ..US }), "no IPv6 address of ours");

        // Through the gate: the stranger's SYN reaches the interface, ours is held.
        let mut backlog = SynBacklog::EMPTY;
        let mut frame = [0u8; GATE_FRAME];
        let ours = ipv4_tcp(TCP_SYN, 80, 2);
        let mut device = Frames(&[&other_mac, &ours]);
        let now = Instant::from_secs(1);
        let mut gate = SynGate::new(&mut device, &mut frame, &mut backlog, US, now);
        let (rx, _) = gate.receive(now).unwrap();
        assert_eq!(phy::RxToken::consume(rx, <[u8]>::len), other_mac.len(), "passed whole");
        let (rx, _) = gate.receive(now).unwrap();
        assert_eq!(phy::RxToken::consume(rx, <[u8]>::len), 0, "held");
        assert_eq!((gate.held, gate.dropped), (1, 0));
        let mut out = [0u8; GATE_FRAME];
        assert_eq!(backlog.take_oldest(now, &mut out), Some(54));
        assert_eq!(out[35], 2, "the appliance's own client");
        assert!(backlog.is_empty());
    }

    /// Frames to receive, in order; transmitted frames vanish.
    struct Frames<'f>(&'f [&'f [u8]]);

    struct Rx<'f>(&'f [u8]);

    struct Tx;

    impl phy::RxToken for Rx<'_> {
        fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
            f(self.0)
        }
    }

    impl phy::TxToken for Tx {
        fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
            f(&mut [0; GATE_FRAME][..len])
        }
    }

    impl<'f> Device for Frames<'f> {
        type RxToken<'a>
            = Rx<'f>
        where
            Self: 'a;
        type TxToken<'a>
            = Tx
        where
            Self: 'a;

        fn receive(&mut self, _: Instant) -> Option<(Rx<'f>, Tx)> {
            let (first, rest) = self.0.split_first()?;
            self.0 = rest;
            Some((Rx(first), Tx))
        }

        fn transmit(&mut self, _: Instant) -> Option<Tx> {
            Some(Tx)
        }

        fn capabilities(&self) -> DeviceCapabilities {
            DeviceCapabilities::default()
        }
    }

    #[test]
    fn backlog_is_fifo_per_client_bounded_and_ages_out() {
        let now = Instant::from_secs(1);
        let mut backlog = SynBacklog::EMPTY;
        let mut out = [0u8; GATE_FRAME];
        assert_eq!(backlog.hold(&ipv4_tcp(TCP_SYN, 80, 1), now), Hold::Held);
        assert_eq!(backlog.hold(&ipv4_tcp(TCP_SYN, 80, 2), now), Hold::Held);
        // A retransmission replaces the original and keeps its place.
        let mut again = ipv4_tcp(TCP_SYN, 80, 1);
        again[40] = 0xee;
        assert_eq!(backlog.hold(&again, now + Duration::from_secs(1)), Hold::Held);
        assert_eq!(backlog.take_oldest(now, &mut out), Some(54));
        assert_eq!(&out[..54], &again[..]);
        assert_eq!(backlog.take_oldest(now, &mut out), Some(54));
        assert_eq!(out[35], 2);
        assert_eq!(backlog.take_oldest(now, &mut out), None);
        for port in 0..u16::try_from(SYN_BACKLOG).unwrap() {
            assert_eq!(backlog.hold(&ipv4_tcp(TCP_SYN, 80, 100 + port), now), Hold::Held);
        }
        assert_eq!(backlog.hold(&ipv4_tcp(TCP_SYN, 80, 1), now), Hold::Dropped, "full");
        assert_eq!(backlog.hold(&[0u8; HELD_SYN + 1], now), Hold::Dropped, "too long");
        assert_eq!(backlog.take_oldest(now + MAX_AGE, &mut out), None, "all too old");
        assert!(backlog.is_empty());
    }
}
