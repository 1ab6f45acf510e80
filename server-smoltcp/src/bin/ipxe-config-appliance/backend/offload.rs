//! TCP checksum offload through a `virtio_net_hdr` before each frame (`PACKET_VNET_HDR`
//! on a packet socket, `IFF_VNET_HDR` on a TAP device).
//!
//! Summing every payload byte was the largest user-space cost of sending an artifact
//! (a fifth of the appliance's time at a 64 KiB MTU), and the receiving kernel summed
//! them again to verify. With the header, smoltcp leaves the TCP checksum out, this
//! module puts the pseudo-header's sum in its place and asks the kernel to finish it
//! (`VIRTIO_NET_HDR_F_NEEDS_CSUM`): on a veth or TAP the frame is then delivered as
//! "checksum partial", which the receiving stack trusts without summing anything; on a
//! real NIC the NIC (or the kernel, for one without offload) fills it in.

/// Bytes of the legacy `struct virtio_net_hdr` (no `num_buffers`): what both
/// `PACKET_VNET_HDR` and a TAP's default `TUNSETVNETHDRSZ` use.
pub const VNET_HEADER: usize = 10;

/// `VIRTIO_NET_HDR_F_NEEDS_CSUM`: checksum `csum_start..` into `csum_start + csum_offset`.
const NEEDS_CHECKSUM: u8 = 1;

/// Where the checksum field sits in a TCP header.
const TCP_CHECKSUM_OFFSET: usize = 16;

const ETHERNET_HEADER: usize = 14;
const ETHERTYPE_IPV4: [u8; 2] = [0x08, 0x00];
const ETHERTYPE_IPV6: [u8; 2] = [0x86, 0xdd];
const TCP: u8 = 6;

/// Fills `header` for `frame`: for a TCP segment, its pseudo-header sum goes into the
/// checksum field and the header asks for the rest; any other frame goes as it is
/// (smoltcp computed its checksums).
pub fn prepare(header: &mut [u8; VNET_HEADER], frame: &mut [u8]) {
    *header = [0; VNET_HEADER];
    let Some((segment_start, pseudo_sum)) = tcp_segment(frame) else { return };
    let Some(field) = frame.get_mut(segment_start + TCP_CHECKSUM_OFFSET..segment_start + TCP_CHECKSUM_OFFSET + 2)
    else {
        return;
    };
    field.copy_from_slice(&fold(pseudo_sum).to_be_bytes());
    let (Ok(start), Ok(offset)) = (u16::try_from(segment_start), u16::try_from(TCP_CHECKSUM_OFFSET)) else { return };
    header[0] = NEEDS_CHECKSUM;
    // Legacy virtio headers are in the host's byte order (the kernel reads them so).
    header[6..8].copy_from_slice(&start.to_ne_bytes());
    header[8..10].copy_from_slice(&offset.to_ne_bytes());
}

/// Where the TCP segment of an IPv4 or IPv6 frame starts and the unfolded sum of its
/// pseudo-header; `None` for any other frame.
fn tcp_segment(frame: &[u8]) -> Option<(usize, u32)> {
    let ethertype = frame.get(12..14)?;
    let ip = frame.get(ETHERNET_HEADER..)?;
    if ethertype == ETHERTYPE_IPV4 {
        let header_len = usize::from(ip.first()? & 0x0f) * 4;
        let total_len = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
        if *ip.get(9)? != TCP || header_len < 20 || total_len < header_len + 20 {
            return None;
        }
        let segment_len = u32::try_from(total_len - header_len).ok()?;
        let sum = sum_words(ip.get(12..20)?) + u32::from(TCP) + segment_len;
        Some((ETHERNET_HEADER + header_len, sum))
    } else if ethertype == ETHERTYPE_IPV6 {
        // smoltcp puts no extension header before TCP.
        let payload_len = u32::from(u16::from_be_bytes([*ip.get(4)?, *ip.get(5)?]));
        if *ip.get(6)? != TCP || payload_len < 20 {
            return None;
        }
        let sum = sum_words(ip.get(8..40)?) + u32::from(TCP) + payload_len;
        Some((ETHERNET_HEADER + 40, sum))
    } else {
        None
    }
}

/// The ones' complement sum of big-endian 16-bit words (an even number of bytes, at most
/// 32 here, so it cannot overflow).
fn sum_words(bytes: &[u8]) -> u32 {
    bytes
        .chunks_exact(2)
        .map(|pair| if let [high, low] = *pair { u32::from(u16::from_be_bytes([high, low])) } else { 0 })
        .sum()
}

/// A sum folded to 16 bits, not complemented: what a "checksum partial" field holds.
fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    u16::try_from(sum).unwrap_or(0xffff)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)] // reason: test code, where a panic is a failure
mod tests {
    use smoltcp::phy::ChecksumCapabilities;
    use smoltcp::wire::{
        EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr, IpAddress, IpProtocol, Ipv4Address, Ipv4Packet,
        Ipv4Repr, Ipv6Address, Ipv6Packet, Ipv6Repr, TcpControl, TcpPacket, TcpRepr, TcpSeqNumber,
    };

    use super::*;

    fn segment(payload: &[u8]) -> TcpRepr<'_> {
        TcpRepr {
            src_port: 80,
            dst_port: 40_000,
            control: TcpControl::Psh,
            seq_number: TcpSeqNumber(12_345),
            ack_number: Some(TcpSeqNumber(678)),
            window_len: 512,
            window_scale: None,
            max_seg_size: None,
            sack_permitted: false,
            sack_ranges: [None, None, None],
            timestamp: None,
            payload,
        }
    }

    fn no_tcp_checksum() -> ChecksumCapabilities {
        let mut checksums = ChecksumCapabilities::default();
        checksums.tcp = smoltcp::phy::Checksum::None;
        checksums
    }

    /// What the kernel (or a NIC) does with a NEEDS_CSUM header: sums from `csum_start`
    /// to the end, complements, and stores the result at `csum_start + csum_offset`.
    fn finish_checksum(header: &[u8; VNET_HEADER], frame: &mut [u8]) {
        assert_eq!(header[0], NEEDS_CHECKSUM);
        let start = usize::from(u16::from_ne_bytes([header[6], header[7]]));
        let offset = usize::from(u16::from_ne_bytes([header[8], header[9]]));
        let mut bytes = frame[start..].to_vec();
        if bytes.len() % 2 == 1 {
            bytes.push(0);
        }
        let sum = !fold(sum_words(&bytes));
        frame[start + offset..start + offset + 2].copy_from_slice(&sum.to_be_bytes());
    }

    fn ethernet(ethertype: EthernetProtocol) -> EthernetRepr {
        EthernetRepr {
            src_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
            dst_addr: EthernetAddress([2, 0, 0, 0, 0, 2]),
            ethertype,
        }
    }

    #[test]
    fn an_ipv4_segment_checksummed_by_the_kernel_verifies() {
        // An odd length, so the last byte is summed alone.
        let payload: Vec<u8> = (0..1001u32).map(|i| (i * 7 % 251) as u8).collect();
        let (src, dst) = (Ipv4Address::new(10, 77, 1, 1), Ipv4Address::new(10, 77, 1, 2));
        let tcp = segment(&payload);
        let ip = Ipv4Repr {
            src_addr: src,
            dst_addr: dst,
            next_header: IpProtocol::Tcp,
            payload_len: tcp.buffer_len(),
            hop_limit: 64,
        };
        let mut frame = vec![0u8; 14 + ip.buffer_len() + tcp.buffer_len()];
        ethernet(EthernetProtocol::Ipv4).emit(&mut EthernetFrame::new_unchecked(&mut frame[..]));
        ip.emit(&mut Ipv4Packet::new_unchecked(&mut frame[14..]), &ChecksumCapabilities::default());
        tcp.emit(
            &mut TcpPacket::new_unchecked(&mut frame[34..]),
            &IpAddress::Ipv4(src),
            &IpAddress::Ipv4(dst),
            &no_tcp_checksum(),
        );
        let mut header = [0xff; VNET_HEADER];
        prepare(&mut header, &mut frame);
        assert_eq!(u16::from_ne_bytes([header[6], header[7]]), 34, "csum_start: after the Ethernet and IPv4 headers");
        assert!(!TcpPacket::new_checked(&frame[34..])
            .unwrap()
            .verify_checksum(&IpAddress::Ipv4(src), &IpAddress::Ipv4(dst)));
        finish_checksum(&header, &mut frame);
        assert!(TcpPacket::new_checked(&frame[34..])
            .unwrap()
            .verify_checksum(&IpAddress::Ipv4(src), &IpAddress::Ipv4(dst)));
    }

    #[test]
    fn an_ipv6_segment_checksummed_by_the_kernel_verifies() {
        let payload = [0xa5u8; 1440];
        let src = Ipv6Address::new(0xfe80, 0, 0, 0, 0x69, 0x70ff, 0xfe78, 0x6501);
        let dst = Ipv6Address::new(0xfe80, 0, 0, 0, 0, 0, 0, 2);
        let tcp = segment(&payload);
        let ip = Ipv6Repr {
            src_addr: src,
            dst_addr: dst,
            next_header: IpProtocol::Tcp,
            payload_len: tcp.buffer_len(),
            hop_limit: 64,
        };
        let mut frame = vec![0u8; 14 + ip.buffer_len() + tcp.buffer_len()];
        ethernet(EthernetProtocol::Ipv6).emit(&mut EthernetFrame::new_unchecked(&mut frame[..]));
        ip.emit(&mut Ipv6Packet::new_unchecked(&mut frame[14..]));
        tcp.emit(
            &mut TcpPacket::new_unchecked(&mut frame[54..]),
            &IpAddress::Ipv6(src),
            &IpAddress::Ipv6(dst),
            &no_tcp_checksum(),
        );
        let mut header = [0; VNET_HEADER];
        prepare(&mut header, &mut frame);
        finish_checksum(&header, &mut frame);
        assert!(TcpPacket::new_checked(&frame[54..])
            .unwrap()
            .verify_checksum(&IpAddress::Ipv6(src), &IpAddress::Ipv6(dst)));
    }

    #[test]
    fn other_frames_go_without_a_request() {
        let mut arp = vec![0u8; 60];
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        let mut header = [0xff; VNET_HEADER];
        prepare(&mut header, &mut arp);
        assert_eq!(header, [0; VNET_HEADER]);
        let mut truncated = vec![0u8; 20];
        truncated[12..14].copy_from_slice(&ETHERTYPE_IPV4);
        prepare(&mut header, &mut truncated);
        assert_eq!(header, [0; VNET_HEADER]);
    }
}
