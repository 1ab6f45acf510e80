//! The DHCP server on an open segment: more clients than addresses, malformed and hostile
//! messages, REQUESTs naming another server, forged DECLINEs, a flood of DISCOVERs from
//! random MACs. Throughout, the inventory's nodes keep the addresses they hold, and a node
//! that asks for the first time gets one whenever the pool policy allows:
//!
//! - a MAC keeps its address while its lease runs (renewals and re-DISCOVERs get it again);
//! - a bound lease is never given to anyone else before it expires, whatever arrives: two
//!   machines with one address break both;
//! - unknown MACs share at most half the pool, less one address per PXE port of the
//!   inventory, and get new addresses at 32 at once then 4 a second; REQUESTs for an
//!   address never offered are NAKed, and a (forgeable) RELEASE ends no lease early, so
//!   floods of 1,000 MACs leave every node its address on the first DISCOVER;
//! - when the pool is exhausted, a node of the inventory takes over the oldest address that
//!   is only *offered* (not bound) to a MAC the inventory does not know; unknown MACs get
//!   nothing, and the operator reads one warning per 10 s, not one per DISCOVER;
//! - in ProxyDHCP mode, which keeps no leases, unknown MACs get 64 replies at once then 8
//!   a second, and the nodes are answered throughout.
#![cfg(feature = "host")]
// Test code: a panic is a test failure, so unwrap, expect, indexing and panic are fine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::autoconf::{parse_reply, udp_frame, ClientMessage, ServerReply};
use common::{log_capture, Harness, Options, CLIENT_MAC, DEPLOYING_NODE, SERVER_IP};
use ipxe_config::Inventory;
use ipxe_config_server::dhcp::{PROXY_STRANGER_BURST, PROXY_STRANGER_PER_SECOND};
use ipxe_config_server::DhcpSettings;
use smoltcp::time::Duration;
use smoltcp::wire::{DhcpMessageType, EthernetAddress, IpCidr, Ipv4Address, Ipv4Cidr};

/// The inventory's PXE MACs (nodes 1–6, 8–15 of `fixtures/inventory.json`).
fn known_macs() -> Vec<EthernetAddress> {
    [1u8, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15]
        .into_iter()
        .map(|n| EthernetAddress([0x52, 0x54, 0x00, 0x00, 0x00, n]))
        .collect()
}

/// A MAC the inventory does not know; `n` picks it, scrambled so the pool's hash probing
/// sees no pattern.
fn stranger(n: u32) -> EthernetAddress {
    let scrambled = n.wrapping_mul(0x9e37_79b9).rotate_left(7) ^ 0x5bd1_e995;
    let [high, _, _, low] = n.to_be_bytes();
    let [s0, s1, s2, s3] = scrambled.to_be_bytes();
    // Locally administered, unicast; distinct for every `n` below 2^24 (the scrambling is a bijection).
    EthernetAddress([0x02, high ^ s0, s1, s2, s3, low])
}

/// The appliance with a pool of `pool` addresses from 10.99.0.100.
fn appliance(test: &str, pool: u8) -> Harness {
    log_capture::start();
    let mut options = Options::new(test);
    let dhcp = options.settings.dhcp.as_mut().unwrap();
    dhcp.last = Ipv4Address::new(10, 99, 0, 100 + pool - 1);
    options.sizes.dhcp_leases = options.sizes.dhcp_leases.max(usize::from(pool));
    Harness::new(options)
}

/// Replies the appliance sent for what is on the wire now.
fn replies(h: &mut Harness) -> Vec<ServerReply> {
    h.poll_appliance();
    let mut found = Vec::new();
    while let Some(frame) = h.wire.to_client.pop() {
        if let Some(reply) = parse_reply(&frame) {
            found.push(reply);
        }
    }
    found
}

/// Sends `frame` and returns the replies to it.
fn ask(h: &mut Harness, frame: &[u8]) -> Vec<ServerReply> {
    h.wire.to_appliance.push(frame);
    replies(h)
}

/// DISCOVER then REQUEST, as iPXE does; the address bound, if any.
fn bind(h: &mut Harness, mac: EthernetAddress, xid: u32) -> Option<Ipv4Address> {
    let offer = ask(h, &ClientMessage::discover(mac, xid).frame()).into_iter().find(|r| r.chaddr == mac)?;
    assert_eq!(offer.kind, DhcpMessageType::Offer);
    let ack = ask(h, &ClientMessage::request(mac, xid, offer.your_ip, SERVER_IP).frame());
    let ack = ack.into_iter().find(|r| r.chaddr == mac).expect("an answer to the REQUEST");
    (ack.kind == DhcpMessageType::Ack).then_some(ack.your_ip)
}

/// A renewal (RENEWING: `ciaddr` set, no server id): the address ACKed, or `None`.
fn renew(h: &mut Harness, mac: EthernetAddress, address: Ipv4Address) -> Option<Ipv4Address> {
    let message = ClientMessage {
        kind: DhcpMessageType::Request,
        client_ip: address,
        requested_ip: None,
        server_id: None,
        ..ClientMessage::discover(mac, 0x7e7e_0000)
    };
    let reply = ask(h, &message.frame()).into_iter().find(|r| r.chaddr == mac)?;
    (reply.kind == DhcpMessageType::Ack).then_some(reply.your_ip)
}

/// Binds every known node; their addresses, in [`known_macs`] order.
fn bind_known(h: &mut Harness) -> Vec<Ipv4Address> {
    known_macs().into_iter().zip(0x1000..).map(|(mac, xid)| bind(h, mac, xid).expect("bound")).collect()
}

/// Every known node still holds its address: a renewal is ACKed with it, and a fresh
/// DISCOVER is offered it again.
fn assert_known_leases_stable(h: &mut Harness, addresses: &[Ipv4Address]) {
    for (mac, &address) in known_macs().into_iter().zip(addresses) {
        assert_eq!(renew(h, mac, address), Some(address), "renewal of {mac}");
        let offer = ask(h, &ClientMessage::discover(mac, 0x2222).frame());
        let offer = offer.iter().find(|r| r.chaddr == mac).expect("an offer");
        assert_eq!(offer.your_ip, address, "{mac} offered another address");
    }
}

/// Node 1 boots as iPXE would: its lease, then the script its URL names.
fn assert_node_boots(h: &mut Harness, address: Ipv4Address) {
    let offer = ask(h, &ClientMessage::discover(CLIENT_MAC, 0x600d).frame());
    let offer = offer.into_iter().find(|r| r.chaddr == CLIENT_MAC).expect("node 1 gets an offer");
    assert_eq!(offer.your_ip, address);
    let url = offer.bootfile.expect("option 67");
    assert_eq!(url, format!("http://10.99.0.1/v1/drivers/ipmi/vendor_passthru/ipxe_config?node_uuid={DEPLOYING_NODE}"));
    h.client.update_ip_addrs(|addresses| {
        addresses.clear();
        addresses.push(IpCidr::Ipv4(Ipv4Cidr::new(address, 24))).unwrap();
    });
    h.connect(0);
    let script = h.get(0, url.strip_prefix("http://10.99.0.1").unwrap());
    assert_eq!(script.status, 200);
    assert!(script.text().contains(&format!("for node {DEPLOYING_NODE} ")), "{}", script.text());
}

fn warnings(lines: &[(log::Level, String)], containing: &str) -> usize {
    lines.iter().filter(|(level, line)| *level == log::Level::Warn && line.contains(containing)).count()
}

/// Twice as many strangers as addresses bind what they can: the pool runs dry with a
/// clear warning, no panic; the nodes bound before keep their addresses.
#[test]
fn pool_exhaustion_keeps_existing_leases() {
    let mut h = appliance("dhcp_exhaustion", 24);
    let known = bind_known(&mut h);
    let mut bound = 0;
    let mut refused = 0;
    for n in 0..20 {
        match bind(&mut h, stranger(n), 0x3000 + n) {
            Some(_) => bound += 1,
            None => refused += 1,
        }
    }
    // 24 addresses less the 14 nodes: 10 strangers fit, the others get no offer.
    assert_eq!((bound, refused), (10, 10));
    let lines = log_capture::take();
    assert!(warnings(&lines, "dhcp pool exhausted") >= 1, "the operator is told: {lines:#?}");
    assert_known_leases_stable(&mut h, &known);
    assert_node_boots(&mut h, known[0]);
}

/// The pool is full: half offered to strangers while the inventory was empty (they may
/// hold half the pool then), half bound to nodes of the inventory loaded since. A node
/// asking for the first time still gets an address, taken from the oldest stranger's
/// offer; that stranger's REQUEST is then refused.
#[test]
fn inventory_nodes_take_precedence_over_offers_to_strangers() {
    let mut h = appliance("dhcp_precedence", 8);
    let fleet = std::mem::replace(&mut h.inventory, Inventory::EMPTY);
    let offers: Vec<(EthernetAddress, Ipv4Address)> = (0..4)
        .map(|n| {
            let mac = stranger(n);
            let offer = ask(&mut h, &ClientMessage::discover(mac, 0x4000 + n).frame());
            h.now += Duration::from_millis(10);
            (mac, offer[0].your_ip)
        })
        .collect();
    assert!(ask(&mut h, &ClientMessage::discover(stranger(99), 0x4999).frame()).is_empty(), "strangers' share");
    h.inventory = fleet;
    for (mac, xid) in known_macs().into_iter().skip(1).take(4).zip(0x4100..) {
        bind(&mut h, mac, xid).expect("a node binds a free address");
    }
    let address = bind(&mut h, CLIENT_MAC, 0x600d).expect("node 1 gets an address although the pool is exhausted");
    let (displaced, _) = *offers.iter().find(|(_, offered)| *offered == address).expect("a stranger's offer was taken");
    assert_eq!(displaced, offers[0].0, "the oldest offer goes first");
    let nak = ask(&mut h, &ClientMessage::request(displaced, 0x4000, address, SERVER_IP).frame());
    assert_eq!(nak[0].kind, DhcpMessageType::Nak, "the displaced stranger cannot bind the node's address");
    // Bound leases are never taken over: with every address bound, a new node waits for
    // one to expire.
    let mut h = appliance("dhcp_precedence_bound", 8);
    let fleet = std::mem::replace(&mut h.inventory, Inventory::EMPTY);
    for n in 0..4 {
        bind(&mut h, stranger(n), 0x5000 + n).expect("a stranger binds");
    }
    h.inventory = fleet;
    for (mac, xid) in known_macs().into_iter().skip(1).take(4).zip(0x5100..) {
        bind(&mut h, mac, xid).expect("a node binds a free address");
    }
    assert!(ask(&mut h, &ClientMessage::discover(CLIENT_MAC, 0x600d).frame()).is_empty());
    h.now += Duration::from_secs(3601);
    assert!(bind(&mut h, CLIENT_MAC, 0x600d).is_some(), "an expired lease is reused");
}

/// A REQUEST naming another server (the client took another offer) frees our *offer*,
/// never a lease the MAC holds; a forged one for a bound node changes nothing.
#[test]
fn requests_naming_another_server_free_offers_only() {
    let mut h = appliance("dhcp_other_server", 32);
    let known = bind_known(&mut h);
    let other = Ipv4Address::new(10, 99, 0, 2);
    for (mac, address) in known_macs().into_iter().zip(&known) {
        let forged = ClientMessage::request(mac, 0x6666, *address, other);
        assert!(ask(&mut h, &forged.frame()).is_empty(), "no reply to a REQUEST for another server");
    }
    // Had the leases been freed, strangers would now be handed the nodes' addresses.
    for n in 0..18 {
        if let Some(address) = bind(&mut h, stranger(n), 0x7000 + n) {
            assert!(!known.contains(&address), "{address} given away while its node holds it");
        }
    }
    assert_known_leases_stable(&mut h, &known);
    // An offer the client turned down is freed for others: with no inventory, strangers
    // may hold one of these two addresses, so the second is only offered if the first
    // offer was freed.
    let mut h = appliance("dhcp_other_server_offer", 2);
    h.inventory = Inventory::EMPTY;
    let mac = stranger(1);
    let offer = ask(&mut h, &ClientMessage::discover(mac, 1).frame())[0].your_ip;
    assert!(ask(&mut h, &ClientMessage::request(mac, 1, offer, other).frame()).is_empty());
    let next = ask(&mut h, &ClientMessage::discover(stranger(2), 2).frame());
    assert_eq!(next.len(), 1, "the declined offer's address is free again");
}

/// A REQUEST naming another server, forged in a node's name between our OFFER and the
/// node's own REQUEST, does not cost the node its boot: its REQUEST is still ACKed.
#[test]
fn a_forged_request_for_another_server_cannot_stall_a_node() {
    let mut h = appliance("dhcp_forged_other_server", 32);
    let other = Ipv4Address::new(10, 99, 0, 2);
    for (mac, xid) in known_macs().into_iter().zip(0x4000..) {
        let offer = ask(&mut h, &ClientMessage::discover(mac, xid).frame());
        let offer = offer.into_iter().find(|r| r.chaddr == mac).expect("an offer");
        assert!(ask(&mut h, &ClientMessage::request(mac, xid, offer.your_ip, other).frame()).is_empty());
        let ack = ask(&mut h, &ClientMessage::request(mac, xid, offer.your_ip, SERVER_IP).frame());
        let ack = ack.into_iter().find(|r| r.chaddr == mac).expect("an answer to the node's REQUEST");
        assert_eq!((ack.kind, ack.your_ip), (DhcpMessageType::Ack, offer.your_ip), "{mac}");
    }
}

/// A DECLINE ("this address is in use") only counts from the client the address was
/// given to; a forged one naming a node's address leaves the node's lease alone.
#[test]
fn forged_declines_do_not_take_addresses_away() {
    let mut h = appliance("dhcp_decline", 32);
    let known = bind_known(&mut h);
    for (n, address) in (0..).zip(&known) {
        let forged = ClientMessage {
            kind: DhcpMessageType::Decline,
            requested_ip: Some(*address),
            server_id: Some(SERVER_IP),
            ..ClientMessage::discover(stranger(n), 0x8000)
        };
        assert!(ask(&mut h, &forged.frame()).is_empty());
    }
    assert_known_leases_stable(&mut h, &known);
    // The holder's own DECLINE does take the address out of the pool.
    let mac = stranger(500);
    let address = bind(&mut h, mac, 0x8500).unwrap();
    let decline = ClientMessage {
        kind: DhcpMessageType::Decline,
        requested_ip: Some(address),
        server_id: Some(SERVER_IP),
        ..ClientMessage::discover(mac, 0x8500)
    };
    assert!(ask(&mut h, &decline.frame()).is_empty());
    let again = ask(&mut h, &ClientMessage::discover(mac, 0x8501).frame());
    assert_ne!(again[0].your_ip, address, "a declined address is not offered again at once");
    assert!(warnings(&log_capture::take(), "dhcp decline") >= 1);
}

/// Malformed messages (truncated options, lengths past the end, option overload, bad
/// hardware types, wrong opcodes, garbage) get no reply and change nothing.
#[test]
fn malformed_messages_are_ignored() {
    let mut h = appliance("dhcp_malformed", 32);
    let known = bind_known(&mut h);
    let discover = ClientMessage::discover(stranger(1), 0x9000).payload();
    let options_start = 240;
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    for cut in [0, 100, 236, 239, 240, 241, 243] {
        cases.push(("truncated", discover[..cut].to_vec()));
    }
    // Every option's length byte pushed past the end of the message.
    let mut past_end = discover.clone();
    past_end[options_start + 1] = 0xff;
    cases.push(("length past the end", past_end));
    // A user class whose length runs past the end is no user class: not iPXE.
    let mut class_past_end = discover[..options_start].to_vec();
    class_past_end.extend_from_slice(&[53, 1, 1, 77, 200, b'i', b'P', b'X', b'E']);
    cases.push(("user class past the end", class_past_end));
    // Option overload (52 = 3): the message type lives in `file`/`sname`, which this
    // server does not read (iPXE never overloads); without a type the message is ignored.
    let mut overload = discover[..options_start].to_vec();
    overload[108..111].copy_from_slice(&[53, 1, 1]);
    overload.extend_from_slice(&[52, 1, 3, 77, 4, b'i', b'P', b'X', b'E', 255]);
    cases.push(("option overload", overload));
    let mut no_type = discover[..options_start].to_vec();
    no_type.extend_from_slice(&[77, 4, b'i', b'P', b'X', b'E', 255]);
    cases.push(("no message type", no_type));
    let mut empty_type = discover[..options_start].to_vec();
    empty_type.extend_from_slice(&[53, 0, 77, 4, b'i', b'P', b'X', b'E', 255]);
    cases.push(("empty message type", empty_type));
    let mut bad_magic = discover.clone();
    bad_magic[236] ^= 0xff;
    cases.push(("bad magic cookie", bad_magic));
    for (hardware_type, hardware_len) in [(1u8, 16u8), (1, 0), (6, 6), (0, 6)] {
        let mut odd = discover.clone();
        odd[1] = hardware_type;
        odd[2] = hardware_len;
        cases.push(("odd hardware type or length", odd));
    }
    let mut reply_opcode = discover.clone();
    reply_opcode[0] = 2;
    cases.push(("BOOTREPLY opcode", reply_opcode));
    let mut bad_client_id = discover.clone();
    let client_id = discover.windows(3).position(|w| w == [61, 7, 1]).unwrap();
    bad_client_id[client_id + 2] = 6;
    cases.push(("client id of another hardware type", bad_client_id));
    cases.push(("garbage", ipxe_config_testkit::files::pseudo_random_bytes(548, 7).to_vec()));
    cases.push(("zeros", vec![0; 548]));
    cases.push(("empty", Vec::new()));
    for (what, payload) in &cases {
        let frame = udp_frame(stranger(1), Ipv4Address::UNSPECIFIED, Ipv4Address::BROADCAST, 68, 67, payload);
        let answered = ask(&mut h, &frame);
        assert!(answered.is_empty(), "{what}: answered {answered:?}");
    }
    // Odd but readable: the last of repeated message types counts (here a REQUEST for no
    // address, NAKed); no END option. Whatever the answer, the nodes' leases are untouched.
    let mut repeated = discover[..options_start].to_vec();
    repeated.extend_from_slice(&[53, 1, 1, 53, 1, 3, 77, 4, b'i', b'P', b'X', b'E', 255]);
    let mut no_end = discover.clone();
    no_end.pop();
    for payload in [repeated, no_end] {
        let frame = udp_frame(stranger(2), Ipv4Address::UNSPECIFIED, Ipv4Address::BROADCAST, 68, 67, &payload);
        for reply in ask(&mut h, &frame) {
            assert!(!known.contains(&reply.your_ip), "{reply:?}");
        }
    }
    // Well-formed but odd: the iPXE user class in RFC 3004's list form, options after
    // padding, a broadcast chaddr. Answered, and no harm done.
    let mut listed = discover[..options_start].to_vec();
    listed.extend_from_slice(&[0, 0, 53, 1, 1, 0, 77, 10, 4, b'g', b'P', b'X', b'E', 4, b'i', b'P', b'X', b'E', 255]);
    listed[28..34].copy_from_slice(&[0xff; 6]);
    let frame = udp_frame(stranger(1), Ipv4Address::UNSPECIFIED, Ipv4Address::BROADCAST, 68, 67, &listed);
    let answered = ask(&mut h, &frame);
    assert_eq!(answered.len(), 1);
    assert!(!known.contains(&answered[0].your_ip));
    assert_known_leases_stable(&mut h, &known);
    assert_node_boots(&mut h, known[0]);
}

/// Ten thousand DISCOVERs from random MACs, in bursts, with the nodes asking in between:
/// nodes bound before keep their addresses, a node new to DHCP still gets one, the
/// appliance answers what its buffers hold, and the log does not drown.
#[test]
fn discover_flood_from_random_macs() {
    let mut h = appliance("dhcp_flood", 40);
    let known = bind_known(&mut h);
    let late_node = known_macs()[13];
    // Give node 15's address back so it asks as a newcomer during the flood.
    let release = ClientMessage {
        kind: DhcpMessageType::Release,
        client_ip: known[13],
        server_id: Some(SERVER_IP),
        ..ClientMessage::discover(late_node, 0x9999)
    };
    assert!(ask(&mut h, &release.frame()).is_empty());
    log_capture::take();
    let mut offered_to_strangers = 0;
    let mut late_address = None;
    for burst in 0..100u32 {
        for n in 0..100 {
            h.wire.to_appliance.push(&ClientMessage::discover(stranger(burst * 100 + n), burst * 100 + n).frame());
        }
        offered_to_strangers += replies(&mut h).len();
        h.now += Duration::from_millis(100);
        if burst % 10 == 5 {
            // Nodes renew in the middle of the flood; the newcomer binds.
            for (mac, &address) in known_macs().into_iter().zip(&known).take(13) {
                assert_eq!(renew(&mut h, mac, address), Some(address), "{mac} mid-flood");
            }
            if late_address.is_none() {
                late_address = bind(&mut h, late_node, 0xabcd);
                assert!(late_address.is_some(), "a node new to DHCP is locked out by the flood");
            }
        }
    }
    // The pool had 40 - 14 = 26 free addresses; strangers never got more.
    assert!(offered_to_strangers <= 27, "{offered_to_strangers} offers to strangers");
    let lines = log_capture::take();
    let exhausted = warnings(&lines, "dhcp pool exhausted");
    assert!((1..=20).contains(&exhausted), "{exhausted} exhaustion warnings for ~10,000 unanswered DISCOVERs");
    let mut known = known;
    known[13] = late_address.unwrap();
    assert_known_leases_stable(&mut h, &known);
    assert_node_boots(&mut h, known[0]);
}

/// The three REQUESTs a client may send without a DISCOVER before it: SELECTING (naming
/// this server), INIT-REBOOT (no server id) and RENEWING (`ciaddr` set), for `address`.
fn unsolicited_request(mac: EthernetAddress, xid: u32, address: Ipv4Address, form: u32) -> ClientMessage {
    match form % 3 {
        0 => ClientMessage::request(mac, xid, address, SERVER_IP),
        1 => ClientMessage { server_id: None, ..ClientMessage::request(mac, xid, address, SERVER_IP) },
        _ => ClientMessage { kind: DhcpMessageType::Request, client_ip: address, ..ClientMessage::discover(mac, xid) },
    }
}

/// Every node of the inventory boots as iPXE would right after a flood: DISCOVER, and on
/// silence one retransmission 1 s later (iPXE's first DHCP timeout), then REQUEST. Panics
/// unless each node is ACKed within that one retry; returns the nodes' addresses, in
/// [`known_macs`] order.
fn assert_inventory_served_within_one_retry(h: &mut Harness, what: &str) -> Vec<Ipv4Address> {
    let started = h.now;
    let wall = std::time::Instant::now();
    let mut retried = 0;
    let mut addresses = Vec::new();
    for (mac, xid) in known_macs().into_iter().zip(0xb000..) {
        let mut address = bind(h, mac, xid);
        if address.is_none() {
            retried += 1;
            h.now += Duration::from_secs(1);
            address = bind(h, mac, xid);
        }
        let address = address.unwrap_or_else(|| panic!("{what}: node {mac} got no address within one retry"));
        assert!(!addresses.contains(&address), "{what}: {address} given to two nodes");
        addresses.push(address);
    }
    let took = h.now - started;
    eprintln!(
        "{what}: {} nodes bound, {retried} retried, virtual {} ms, wall {} ms",
        addresses.len(),
        took.total_millis(),
        wall.elapsed().as_millis()
    );
    addresses
}

/// 1,000 REQUESTs from random MACs that never sent a DISCOVER, each for an address of the
/// pool in turn, in all three forms: none binds an address it was never offered, so the
/// inventory's nodes still find theirs.
#[test]
fn unsolicited_request_flood_leaves_the_inventory_its_addresses() {
    let mut h = appliance("dhcp_unsolicited_flood", 100);
    log_capture::start();
    let first = u32::from(Ipv4Address::new(10, 99, 0, 100));
    let mut acked = 0;
    for burst in 0..20u32 {
        for n in burst * 50..(burst + 1) * 50 {
            let address = Ipv4Address::from(first + n % 100);
            h.wire.to_appliance.push(&unsolicited_request(stranger(n), 0xc000 + n, address, n / 100).frame());
        }
        acked += replies(&mut h).iter().filter(|reply| reply.kind == DhcpMessageType::Ack).count();
        h.now += Duration::from_millis(10);
    }
    eprintln!("unsolicited REQUEST flood: {acked} of 1000 ACKed");
    // SELECTING REQUESTs for addresses never offered are all NAKed; those claiming a lease
    // (no server id) are new bindings, within the strangers' burst of 32.
    assert!(acked <= 32, "{acked} unsolicited REQUESTs ACKed");
    let addresses = assert_inventory_served_within_one_retry(&mut h, "after 1,000 unsolicited REQUESTs");
    assert_node_boots(&mut h, addresses[0]);
}

/// 1,000 random MACs each run DISCOVER, OFFER, REQUEST, ACK, 50 at a time: the unknown
/// MACs get their share of the pool and no more, and every node still gets an address.
#[test]
fn dora_flood_leaves_the_inventory_its_addresses() {
    let mut h = appliance("dhcp_dora_flood", 100);
    log_capture::start();
    let mut acked = 0;
    for burst in 0..20u32 {
        let macs: Vec<EthernetAddress> = (burst * 50..(burst + 1) * 50).map(stranger).collect();
        for (&mac, xid) in macs.iter().zip(burst * 50..) {
            h.wire.to_appliance.push(&ClientMessage::discover(mac, 0xd000 + xid).frame());
        }
        for offer in replies(&mut h) {
            h.wire
                .to_appliance
                .push(&ClientMessage::request(offer.chaddr, offer.xid, offer.your_ip, SERVER_IP).frame());
        }
        acked += replies(&mut h).iter().filter(|reply| reply.kind == DhcpMessageType::Ack).count();
        h.now += Duration::from_millis(10);
    }
    eprintln!("DORA flood: {acked} of 1000 unknown MACs bound");
    // The flood lasted 200 ms: the burst of 32 and the share of 50 of the 100 addresses
    // bound it, whichever came first.
    assert!((1..=32).contains(&acked), "{acked} strangers bound");
    let addresses = assert_inventory_served_within_one_retry(&mut h, "after a 1,000-MAC DORA flood");
    assert_node_boots(&mut h, addresses[0]);
    // Strangers are slowed, not shut out: a second later the next one is served.
    h.now += Duration::from_secs(1);
    assert!(bind(&mut h, stranger(5000), 0xd999).is_some(), "a stranger is served once the rate allows");
}

/// A RELEASE is unauthenticated: one forged with a node's MAC and address must not let
/// the address go to another machine while the node still uses it.
#[test]
fn forged_release_does_not_hand_the_victims_address_to_another_mac() {
    let mut h = appliance("dhcp_forged_release", 100);
    let victim = bind(&mut h, CLIENT_MAC, 0xe000).expect("node 1 binds");
    let forged = ClientMessage {
        kind: DhcpMessageType::Release,
        client_ip: victim,
        server_id: Some(SERVER_IP),
        ..ClientMessage::discover(CLIENT_MAC, 0xe001)
    };
    assert!(ask(&mut h, &forged.frame()).is_empty());
    h.now += Duration::from_secs(1);
    // Another MAC asks for the address outright, in each form a REQUEST can take.
    for form in 0..3 {
        let thief = stranger(0xe100 + form);
        for reply in ask(&mut h, &unsolicited_request(thief, 0xe100 + form, victim, form).frame()) {
            assert!(
                !(reply.kind == DhcpMessageType::Ack && reply.your_ip == victim),
                "{victim} ACKed to {thief} after a forged RELEASE (form {form})"
            );
        }
    }
    // Or just runs DORA, many of them, until the pool is full.
    for n in 0..100 {
        if let Some(address) = bind(&mut h, stranger(0xe200 + n), 0xe200 + n) {
            assert_ne!(address, victim, "{victim} bound to a second MAC after a forged RELEASE");
        }
    }
    assert_eq!(renew(&mut h, CLIENT_MAC, victim), Some(victim), "the victim keeps its address");
    assert_node_boots(&mut h, victim);
}

/// One MAC claiming lease after lease without a server id (INIT-REBOOT, or RENEWING with
/// `ciaddr`) holds one address at a time: a spoofer using an inventory node's MAC (seen in
/// broadcast DHCP traffic, and exempt from the strangers' share) cannot bind the pool.
#[test]
fn one_mac_cannot_claim_many_leases() {
    let mut h = appliance("dhcp_one_mac_many", 100);
    let spoofed = known_macs()[0];
    let first = u32::from(Ipv4Address::new(10, 99, 0, 100));
    let mut acked = Vec::new();
    for n in 0..100u32 {
        let address = Ipv4Address::from(first + n);
        for reply in ask(&mut h, &unsolicited_request(spoofed, 0xd000 + n, address, 1 + n % 2).frame()) {
            if reply.kind == DhcpMessageType::Ack {
                acked.push(address);
            }
        }
        h.now += Duration::from_millis(10);
    }
    assert_eq!(acked.len(), 1, "one MAC was ACKed {} addresses: {acked:?}", acked.len());
    // The other nodes still get theirs; the spoofed node's own DORA gets the one it holds.
    let addresses = assert_inventory_served_within_one_retry(&mut h, "after one MAC claimed 100 leases");
    assert_eq!(addresses[0], acked[0]);
}

/// ProxyDHCP keeps no leases, so a flood of DISCOVERs from random MACs costs it no
/// memory; it must not turn into a broadcast flood or a log line per packet either. Ten
/// seconds of 1,000 DISCOVERs a second: unknown MACs get at most the burst and the rate,
/// every node of the inventory is answered whenever it asks, the operator reads one
/// warning per 10 s, and once the flood stops strangers are answered again.
#[test]
fn proxy_dhcp_discover_flood_from_random_macs() {
    log_capture::start();
    let mut options = Options::new("proxy_flood");
    options.settings.dhcp = Some(DhcpSettings::proxy());
    options.sizes.packet_bytes *= 2;
    options.sizes.dhcp_leases = 0;
    let mut h = Harness::new(options);
    log_capture::take();
    let mut to_strangers = 0;
    for burst in 0..100u32 {
        for n in 0..100 {
            h.wire.to_appliance.push(&ClientMessage::discover(stranger(burst * 100 + n), burst * 100 + n).frame());
        }
        to_strangers += replies(&mut h).len();
        if burst % 10 == 5 {
            for (xid, mac) in (0x7000..).zip(known_macs()) {
                let answered = ask(&mut h, &ClientMessage::discover(mac, xid).frame());
                assert_eq!(answered.len(), 1, "{mac} unanswered in burst {burst}");
            }
        }
        h.now += Duration::from_millis(100);
    }
    let allowed = PROXY_STRANGER_BURST + PROXY_STRANGER_PER_SECOND * 10;
    // The burst, then the rate for the nine seconds after the first burst at least.
    let refilled = PROXY_STRANGER_BURST + PROXY_STRANGER_PER_SECOND * 9;
    assert!((refilled as usize..=allowed as usize).contains(&to_strangers), "{to_strangers} replies to strangers");
    let lines = log_capture::take();
    let limited = warnings(&lines, "dhcp proxy rate limit");
    assert!((1..=2).contains(&limited), "{limited} rate-limit warnings for ~10,000 unanswered DISCOVERs");
    assert!(lines.len() <= allowed as usize + 200, "{} log lines", lines.len());
    h.now += Duration::from_secs(10);
    assert_eq!(ask(&mut h, &ClientMessage::discover(stranger(1 << 20), 1).frame()).len(), 1, "the budget refills");
}
