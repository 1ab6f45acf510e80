//! DHCP messages: what a client asked (parsed with smoltcp's `DhcpRepr` plus the options
//! it does not keep), and the reply, emitted with `DhcpRepr::emit` plus the boot options.
//!
//! Panic contract: [`ClientMessage::parse`] never panics, whatever the bytes;
//! [`Reply::emit`] writes into a buffer of [`Reply::buffer_len`] bytes and never panics.

use smoltcp::socket::udp;
use smoltcp::wire::{
    DhcpMessageType, DhcpOption, DhcpPacket, DhcpRepr, EthernetAddress, IpAddress, IpEndpoint, Ipv4Address,
};

/// DHCP option numbers smoltcp has no name for.
mod option {
    /// Bootfile name: the URL iPXE chains to.
    pub const BOOTFILE_NAME: u8 = 67;
    /// User class: iPXE sends `iPXE`.
    pub const USER_CLASS: u8 = 77;
    /// Vendor class: `PXEClient:Arch:…` from a PXE ROM, `HTTPClient:Arch:…` from UEFI
    /// HTTP Boot.
    pub const VENDOR_CLASS: u8 = 60;
    /// Client system architecture (RFC 4578; IANA's "Processor Architecture Types").
    pub const CLIENT_ARCH: u8 = 93;
    /// iPXE's encapsulated options.
    pub const IPXE_ENCAPSULATED: u8 = 175;
    /// Inside 175: skip waiting for ProxyDHCP offers.
    pub const IPXE_NO_PXEDHCP: u8 = 176;
}

/// The `file` field of the BOOTP header: 128 bytes, NUL-terminated.
const BOOTP_FILE: core::ops::Range<usize> = 108..236;

/// What a client sent, kept by value so the socket can be written while it is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientMessage {
    /// DHCP message type.
    pub kind: DhcpMessageType,
    /// Transaction id, echoed in the reply.
    pub transaction_id: u32,
    /// Seconds since the client started, echoed.
    pub secs: u16,
    /// `chaddr`.
    pub mac: EthernetAddress,
    /// `ciaddr` (set when renewing).
    pub client_ip: Ipv4Address,
    /// Option 50.
    pub requested_ip: Option<Ipv4Address>,
    /// Option 54: the server the client chose.
    pub server_id: Option<Ipv4Address>,
    /// Whether the client asked for a broadcast reply.
    pub broadcast: bool,
    /// Option 77 says `iPXE`.
    pub ipxe: bool,
    /// What option 60 says the client is.
    pub vendor: VendorClass,
    /// Option 93: the client's architecture (its first entry).
    pub arch: Option<u16>,
}

/// What option 60 says a client is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VendorClass {
    /// No option 60, or another vendor's.
    Other,
    /// `PXEClient…`: a PXE ROM (or iPXE, which says so too).
    PxeClient,
    /// `HTTPClient…`: UEFI HTTP Boot.
    HttpClient,
}

/// Option 60 of a reply to a PXE client (PXE 2.1, 2.2.5: the server is PXE-aware).
pub const PXE_CLIENT_CLASS: &[u8] = b"PXEClient";
/// Option 60 of a reply to an HTTP Boot client: UEFI 2.x, 24.7.2 requires it.
pub const HTTP_CLIENT_CLASS: &[u8] = b"HTTPClient";

impl ClientMessage {
    /// Parses a client's BOOTREQUEST; `None` for anything else.
    pub fn parse(payload: &[u8]) -> Option<Self> {
        let packet = DhcpPacket::new_checked(payload).ok()?;
        let repr = DhcpRepr::parse(&packet).ok()?;
        let mut ipxe = false;
        let mut vendor = VendorClass::Other;
        let mut arch = None;
        for option in packet.options() {
            match option.kind {
                option::USER_CLASS => ipxe = is_ipxe_user_class(option.data),
                option::VENDOR_CLASS if option.data.starts_with(PXE_CLIENT_CLASS) => vendor = VendorClass::PxeClient,
                option::VENDOR_CLASS if option.data.starts_with(HTTP_CLIENT_CLASS) => vendor = VendorClass::HttpClient,
                option::CLIENT_ARCH => {
                    arch = option.data.first_chunk::<2>().map(|&[high, low]| u16::from_be_bytes([high, low]));
                }
                _ => {}
            }
        }
        let kind = repr.message_type;
        if !matches!(
            kind,
            DhcpMessageType::Discover
                | DhcpMessageType::Request
                | DhcpMessageType::Decline
                | DhcpMessageType::Release
                | DhcpMessageType::Inform
        ) {
            return None;
        }
        Some(ClientMessage {
            kind,
            transaction_id: repr.transaction_id,
            secs: repr.secs,
            mac: repr.client_hardware_address,
            client_ip: repr.client_ip,
            requested_ip: repr.requested_ip,
            server_id: repr.server_identifier,
            broadcast: repr.broadcast,
            ipxe,
            vendor,
            arch,
        })
    }
}

/// iPXE sends option 77 as the bare string `iPXE`; RFC 3004 clients send a list of
/// length-prefixed classes. Either form counts.
fn is_ipxe_user_class(data: &[u8]) -> bool {
    if data == b"iPXE" {
        return true;
    }
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let len = usize::from(len);
        let Some(class) = tail.get(..len) else { return false };
        if class == b"iPXE" {
            return true;
        }
        rest = tail.get(len..).unwrap_or_default();
    }
    false
}

/// A reply to one client message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply<'u> {
    /// `Offer`, `Ack` or `Nak`.
    pub kind: DhcpMessageType,
    /// The message answered.
    pub to: ClientMessage,
    /// The address given (`yiaddr`); unspecified for a NAK.
    pub your_ip: Ipv4Address,
    /// The server's address: server identifier and `siaddr`.
    pub server_ip: Ipv4Address,
    /// Subnet mask.
    pub subnet_mask: Ipv4Address,
    /// Router option.
    pub router: Option<Ipv4Address>,
    /// Lease time in seconds.
    pub lease_seconds: u32,
    /// The script URL, or the firmware's boot file (option 67 and the BOOTP `file` field).
    pub bootfile: &'u str,
    /// Option 60 to send (`PXEClient`, `HTTPClient`), for firmware clients.
    pub vendor_class: Option<&'static [u8]>,
    /// Option 175 for iPXE (skip the ProxyDHCP wait); firmware clients do not read it.
    pub ipxe_options: bool,
    /// A ProxyDHCP reply: boot information only, no address (`yiaddr` 0), no mask,
    /// router or lease time; the site's DHCP server gives those.
    pub proxy: bool,
}

/// Option 175 carrying sub-option 176 = 1: iPXE then skips its ~3 s ProxyDHCP wait.
const NO_PXEDHCP: [u8; 3] = [option::IPXE_NO_PXEDHCP, 1, 1];

impl Reply<'_> {
    fn repr(&self) -> (DhcpRepr<'_>, [DhcpOption<'_>; 3], usize) {
        let nak = self.kind == DhcpMessageType::Nak;
        // A NAK and a ProxyDHCP reply carry no address and nothing about it.
        let no_address = nak || self.proxy;
        let unused = DhcpOption { kind: 0, data: &[] };
        let mut options = [DhcpOption { kind: option::BOOTFILE_NAME, data: self.bootfile.as_bytes() }, unused, unused];
        let mut used = 1;
        for extra in [
            self.vendor_class.map(|class| DhcpOption { kind: option::VENDOR_CLASS, data: class }),
            self.ipxe_options.then_some(DhcpOption { kind: option::IPXE_ENCAPSULATED, data: &NO_PXEDHCP }),
        ]
        .into_iter()
        .flatten()
        {
            if let Some(slot) = options.get_mut(used) {
                *slot = extra;
                used += 1;
            }
        }
        let repr = DhcpRepr {
            message_type: self.kind,
            transaction_id: self.to.transaction_id,
            secs: 0,
            client_hardware_address: self.to.mac,
            client_ip: Ipv4Address::UNSPECIFIED,
            your_ip: if no_address { Ipv4Address::UNSPECIFIED } else { self.your_ip },
            server_ip: if nak { Ipv4Address::UNSPECIFIED } else { self.server_ip },
            router: if no_address { None } else { self.router },
            subnet_mask: (!no_address).then_some(self.subnet_mask),
            relay_agent_ip: Ipv4Address::UNSPECIFIED,
            broadcast: self.to.broadcast,
            requested_ip: None,
            client_identifier: None,
            server_identifier: Some(self.server_ip),
            parameter_request_list: None,
            dns_servers: None,
            max_size: None,
            lease_duration: (!no_address).then_some(self.lease_seconds),
            renew_duration: None,
            rebind_duration: None,
            additional_options: &[],
        };
        (repr, options, if nak { 0 } else { used })
    }

    /// Bytes [`Reply::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        let (repr, options, used) = self.repr();
        let extra: usize = options.iter().take(used).map(|option| 2 + option.data.len()).sum();
        repr.buffer_len() + extra
    }

    /// Queues the reply on `socket` for `to`, sent from `server`: the one send of the
    /// address-giving server and of ProxyDHCP. The caller says what a failure means.
    pub(crate) fn send(
        &self,
        socket: &mut udp::Socket<'_>,
        to: IpEndpoint,
        server: Ipv4Address,
    ) -> Result<(), udp::SendError> {
        let metadata = udp::UdpMetadata {
            endpoint: to,
            local_address: Some(IpAddress::Ipv4(server)),
            meta: smoltcp::phy::PacketMeta::default(),
        };
        let buf = socket.send(self.buffer_len(), metadata)?;
        // Cannot fail: the buffer has the reply's length and the URL fits option 67.
        let _ = self.emit(buf);
        Ok(())
    }

    /// Writes the reply into `buf` (of [`Reply::buffer_len`] bytes or more); returns the
    /// length, or `None` if the buffer is too small or the URL too long for option 67.
    pub fn emit(&self, buf: &mut [u8]) -> Option<usize> {
        if self.bootfile.len() > usize::from(u8::MAX) {
            return None;
        }
        let len = self.buffer_len();
        let buf = buf.get_mut(..len)?;
        let (mut repr, options, used) = self.repr();
        let options = options.get(..used).unwrap_or_default();
        repr.additional_options = options;
        repr.emit(&mut DhcpPacket::new_unchecked(&mut *buf)).ok()?;
        if self.kind != DhcpMessageType::Nak {
            // PXE-era clients (and iPXE's fallback) read the BOOTP `file` field; smoltcp
            // zeroes it, so it is filled by hand when the URL fits with its NUL.
            let url = self.bootfile.as_bytes();
            if url.len() < BOOTP_FILE.len() {
                if let Some(room) = buf.get_mut(BOOTP_FILE.start..BOOTP_FILE.start + url.len()) {
                    room.copy_from_slice(url);
                }
            }
        }
        Some(len)
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)] // reason: test code, where a panic is a failure
mod tests {
    use super::*;

    #[test]
    fn user_class_forms() {
        assert!(is_ipxe_user_class(b"iPXE"));
        assert!(is_ipxe_user_class(b"\x03abc\x04iPXE"));
        assert!(!is_ipxe_user_class(b"\x09iPXE"));
        assert!(!is_ipxe_user_class(b"gPXE"));
    }

    #[test]
    fn garbage_is_not_a_message() {
        assert_eq!(ClientMessage::parse(&[]), None);
        assert_eq!(ClientMessage::parse(&[0xff; 300]), None);
    }
}
