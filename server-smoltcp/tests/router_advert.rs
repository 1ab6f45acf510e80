//! Router advertisements in answer to the router solicitation real iPXE sends (captured
//! from QEMU into `tests/fixtures/ipxe-router-solicit.bin`).
#![cfg(feature = "host")]
// Test code: a panic is a test failure, so unwrap, expect, indexing and panic are fine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{own_fixture, Harness, Options, SERVER_MAC};
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    EthernetAddress, EthernetFrame, EthernetProtocol, Icmpv6Packet, Icmpv6Repr, IpProtocol, Ipv6Address, Ipv6Packet,
    NdiscRepr, NdiscRouterFlags, RawHardwareAddress, IPV6_LINK_LOCAL_ALL_NODES,
};

fn adverts(h: &mut Harness) -> Vec<(EthernetAddress, Ipv6Address, Ipv6Address, u8, Vec<u8>)> {
    h.poll_appliance();
    let mut found = Vec::new();
    while let Some(frame) = h.wire.to_client.pop() {
        let eth = EthernetFrame::new_checked(&frame[..]).unwrap();
        if eth.ethertype() != EthernetProtocol::Ipv6 {
            continue;
        }
        let ip = Ipv6Packet::new_checked(eth.payload()).unwrap();
        if ip.next_header() != IpProtocol::Icmpv6 {
            continue;
        }
        let icmp = Icmpv6Packet::new_checked(ip.payload()).unwrap();
        if u8::from(icmp.msg_type()) == 134 {
            found.push((eth.dst_addr(), ip.src_addr(), ip.dst_addr(), ip.hop_limit(), ip.payload().to_vec()));
        }
    }
    found
}

#[test]
fn captured_router_solicitation_gets_a_no_router_advertisement() {
    let mut h = Harness::new(Options::new("router_advert"));
    let solicit = std::fs::read(own_fixture("ipxe-router-solicit.bin")).unwrap();
    h.wire.to_appliance.push(&solicit);
    let found = adverts(&mut h);
    assert_eq!(found.len(), 1, "one advertisement");
    let (eth_dst, src, dst, hop_limit, icmp) = &found[0];
    assert_eq!(*eth_dst, EthernetAddress([0x33, 0x33, 0, 0, 0, 1]));
    assert_eq!(*src, "fe80::69:70ff:fe78:6501".parse::<Ipv6Address>().unwrap());
    assert_eq!(*dst, IPV6_LINK_LOCAL_ALL_NODES);
    assert_eq!(*hop_limit, 255);
    let packet = Icmpv6Packet::new_checked(&icmp[..]).unwrap();
    let repr = Icmpv6Repr::parse(src, dst, &packet, &ChecksumCapabilities::default()).expect("valid checksum");
    let Icmpv6Repr::Ndisc(NdiscRepr::RouterAdvert { router_lifetime, flags, lladdr, prefix_info, .. }) = repr else {
        panic!("{repr:?}");
    };
    assert_eq!(router_lifetime.total_millis(), 0, "not a default router");
    assert_eq!(flags, NdiscRouterFlags::empty(), "M=0, O=0: no DHCPv6");
    assert_eq!(lladdr, Some(RawHardwareAddress::from(SERVER_MAC)));
    assert!(prefix_info.is_none());
    // A retransmitted solicitation right after is covered by the same advertisement…
    h.wire.to_appliance.push(&solicit);
    assert!(adverts(&mut h).is_empty());
    // …and answered once the minimum interval passed.
    h.now += smoltcp::time::Duration::from_millis(150);
    assert_eq!(adverts(&mut h).len(), 1);
}

#[test]
fn advertisements_can_be_switched_off() {
    let mut options = Options::new("router_advert_off");
    options.settings.router_advertisements = false;
    let mut h = Harness::new(options);
    h.wire.to_appliance.push(&std::fs::read(own_fixture("ipxe-router-solicit.bin")).unwrap());
    assert!(adverts(&mut h).is_empty());
}
