//! TFTP packets (RFC 1350) and option negotiation (RFC 2347): parsing what a client
//! sends, writing what the server sends.
//!
//! Panic contract: [`ClientPacket::parse`] never panics, whatever the bytes; the writers
//! return `None` rather than overrun the buffer they are given.

/// Opcodes.
pub mod opcode {
    /// Read request.
    pub const RRQ: u16 = 1;
    /// Write request.
    pub const WRQ: u16 = 2;
    /// Data block.
    pub const DATA: u16 = 3;
    /// Acknowledgement.
    pub const ACK: u16 = 4;
    /// Error.
    pub const ERROR: u16 = 5;
    /// Option acknowledgement (RFC 2347).
    pub const OACK: u16 = 6;
}

/// Error codes (RFC 1350, RFC 2347).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum ErrorCode {
    /// Not defined, see the message.
    Undefined = 0,
    /// File not found.
    FileNotFound = 1,
    /// Access violation.
    AccessViolation = 2,
    /// Illegal TFTP operation.
    IllegalOperation = 4,
    /// Unknown transfer ID.
    UnknownTransferId = 5,
    /// Option negotiation refused (RFC 2347).
    OptionsRefused = 8,
}

/// Bytes of a DATA packet's header (opcode, block number).
pub const DATA_HEADER: usize = 4;

/// The default block size, without the `blksize` option.
pub const DEFAULT_BLOCK_SIZE: u16 = 512;

/// Smallest and largest block sizes RFC 2348 allows.
pub const BLOCK_SIZE_RANGE: core::ops::RangeInclusive<u16> = 8..=65464;

/// Timeouts RFC 2349 allows, in seconds.
pub const TIMEOUT_RANGE: core::ops::RangeInclusive<u8> = 1..=255;

/// Window sizes RFC 7440 allows.
pub const WINDOW_RANGE: core::ops::RangeInclusive<u16> = 1..=65535;

/// Options a read request asked for; `None` where the client did not ask (or asked
/// for a value outside its RFC's range, which is ignored as an unknown option would be).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestedOptions {
    /// `blksize` (RFC 2348).
    pub block_size: Option<u16>,
    /// `timeout` in seconds (RFC 2349).
    pub timeout: Option<u8>,
    /// `tsize` was present (RFC 2349; a read request sends 0).
    pub transfer_size: bool,
    /// `windowsize` (RFC 7440).
    pub window: Option<u16>,
}

/// The transfer mode of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `octet`: bytes as they are.
    Octet,
    /// `netascii` (or the obsolete `mail`): not served.
    Other,
}

/// What a client sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientPacket<'p> {
    /// A read request.
    Read {
        /// The file name, as sent (not yet checked).
        filename: &'p [u8],
        /// Its mode.
        mode: Mode,
        /// The options it asked for.
        options: RequestedOptions,
    },
    /// A write request: refused.
    Write,
    /// An acknowledgement of a block (0 acknowledges the OACK).
    Ack(u16),
    /// The client ends the transfer.
    Error {
        /// Its code.
        code: u16,
        /// Its message, as sent.
        message: &'p [u8],
    },
    /// Anything else a server does not expect from a client (DATA, OACK, unknown opcodes).
    Unexpected,
}

impl<'p> ClientPacket<'p> {
    /// Parses a datagram; `None` if it is not even a TFTP packet (shorter than an opcode,
    /// or a request whose strings are not NUL-terminated).
    pub fn parse(datagram: &'p [u8]) -> Option<Self> {
        let (&[high, low], rest) = datagram.split_first_chunk::<2>()?;
        match u16::from_be_bytes([high, low]) {
            opcode::RRQ => parse_read(rest),
            opcode::WRQ => Some(ClientPacket::Write),
            opcode::ACK => {
                let &[high, low] = rest.first_chunk::<2>()?;
                Some(ClientPacket::Ack(u16::from_be_bytes([high, low])))
            }
            opcode::ERROR => {
                let &[high, low] = rest.first_chunk::<2>()?;
                let message = rest.get(2..).unwrap_or_default();
                let message = message.split(|&b| b == 0).next().unwrap_or_default();
                Some(ClientPacket::Error { code: u16::from_be_bytes([high, low]), message })
            }
            _ => Some(ClientPacket::Unexpected),
        }
    }
}

fn parse_read(body: &[u8]) -> Option<ClientPacket<'_>> {
    // Every string is NUL-terminated, the last one included.
    let body = body.strip_suffix(&[0])?;
    let mut strings = body.split(|&b| b == 0);
    let filename = strings.next()?;
    let mode = strings.next()?;
    let mode = if mode.eq_ignore_ascii_case(b"octet") { Mode::Octet } else { Mode::Other };
    let mut options = RequestedOptions::default();
    while let (Some(name), Some(value)) = (strings.next(), strings.next()) {
        let number = parse_number(value);
        if name.eq_ignore_ascii_case(b"blksize") {
            options.block_size = number.and_then(|n| u16::try_from(n).ok()).filter(|n| BLOCK_SIZE_RANGE.contains(n));
        } else if name.eq_ignore_ascii_case(b"timeout") {
            options.timeout = number.and_then(|n| u8::try_from(n).ok()).filter(|n| TIMEOUT_RANGE.contains(n));
        } else if name.eq_ignore_ascii_case(b"tsize") {
            // A read request carries 0; any number is taken as asking for the size.
            options.transfer_size = number.is_some();
        } else if name.eq_ignore_ascii_case(b"windowsize") {
            options.window = number.and_then(|n| u16::try_from(n).ok()).filter(|n| WINDOW_RANGE.contains(n));
        }
    }
    if filename.is_empty() {
        return None;
    }
    Some(ClientPacket::Read { filename, mode, options })
}

/// A decimal number of at most 10 digits; `None` for anything else.
fn parse_number(text: &[u8]) -> Option<u64> {
    if text.is_empty() || text.len() > 10 {
        return None;
    }
    text.iter().try_fold(0u64, |n, &b| b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0')))
}

/// The options a server acknowledges, with the values it took.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AcceptedOptions {
    /// `blksize`.
    pub block_size: Option<u16>,
    /// `timeout`.
    pub timeout: Option<u8>,
    /// `tsize`: the file's length.
    pub transfer_size: Option<u64>,
    /// `windowsize`.
    pub window: Option<u16>,
}

impl AcceptedOptions {
    /// Whether there is anything to acknowledge (else no OACK is sent, RFC 2347).
    pub fn any(&self) -> bool {
        self.block_size.is_some() || self.timeout.is_some() || self.transfer_size.is_some() || self.window.is_some()
    }
}

/// Longest OACK [`write_oack`] writes: the opcode and four options with 20-digit values.
pub const MAX_OACK: usize = 2 + 4 * (11 + 21);

/// A cursor writing into a datagram buffer.
struct Writer<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) -> Option<()> {
        let end = self.len.checked_add(bytes.len())?;
        self.buf.get_mut(self.len..end)?.copy_from_slice(bytes);
        self.len = end;
        Some(())
    }

    fn put_number(&mut self, mut value: u64) -> Option<()> {
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        loop {
            start -= 1;
            // `value % 10` is below 10, so the cast cannot truncate.
            #[allow(clippy::cast_possible_truncation)]
            let digit = (value % 10) as u8;
            *digits.get_mut(start)? = b'0' + digit;
            value /= 10;
            if value == 0 || start == 0 {
                break;
            }
        }
        self.put(digits.get(start..)?)?;
        self.put(&[0])
    }
}

/// Writes an OACK for `options` into `buf`; its length, or `None` if `buf` is too small.
pub fn write_oack(buf: &mut [u8], options: &AcceptedOptions) -> Option<usize> {
    let mut w = Writer { buf, len: 0 };
    w.put(&opcode::OACK.to_be_bytes())?;
    if let Some(size) = options.block_size {
        w.put(b"blksize\0")?;
        w.put_number(u64::from(size))?;
    }
    if let Some(timeout) = options.timeout {
        w.put(b"timeout\0")?;
        w.put_number(u64::from(timeout))?;
    }
    if let Some(size) = options.transfer_size {
        w.put(b"tsize\0")?;
        w.put_number(size)?;
    }
    if let Some(window) = options.window {
        w.put(b"windowsize\0")?;
        w.put_number(u64::from(window))?;
    }
    Some(w.len)
}

/// Writes an ERROR packet; its length, or `None` if `buf` is too small.
pub fn write_error(buf: &mut [u8], code: ErrorCode, message: &str) -> Option<usize> {
    let mut w = Writer { buf, len: 0 };
    w.put(&opcode::ERROR.to_be_bytes())?;
    w.put(&(code as u16).to_be_bytes())?;
    w.put(message.as_bytes())?;
    w.put(&[0])?;
    Some(w.len)
}

/// Bytes of an ERROR packet carrying `message`.
pub fn error_len(message: &str) -> usize {
    5 + message.len()
}

/// Writes a DATA packet's header for wire block `block`.
pub fn write_data_header(buf: &mut [u8], block: u16) -> Option<()> {
    let mut w = Writer { buf, len: 0 };
    w.put(&opcode::DATA.to_be_bytes())?;
    w.put(&block.to_be_bytes())
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)] // reason: test code, where a panic is a failure
mod tests {
    use super::*;

    #[test]
    fn a_read_request_with_every_option() {
        let packet = b"\0\x01snponly.efi\0octet\0BLKSIZE\x001468\0tsize\x000\0windowsize\x004\0timeout\x003\0";
        let Some(ClientPacket::Read { filename, mode, options }) = ClientPacket::parse(packet) else { panic!() };
        assert_eq!(filename, b"snponly.efi");
        assert_eq!(mode, Mode::Octet);
        assert_eq!(
            options,
            RequestedOptions { block_size: Some(1468), timeout: Some(3), transfer_size: true, window: Some(4) }
        );
    }

    #[test]
    fn out_of_range_options_are_ignored() {
        let packet = b"\0\x01f\0netascii\0blksize\x007\0timeout\x000\0windowsize\x0070000\0tsize\0x\0";
        let Some(ClientPacket::Read { mode, options, .. }) = ClientPacket::parse(packet) else { panic!() };
        assert_eq!(mode, Mode::Other);
        assert_eq!(options, RequestedOptions::default());
        let huge = b"\0\x01f\0octet\0blksize\x0099999999999999999999\0";
        let Some(ClientPacket::Read { options, .. }) = ClientPacket::parse(huge) else { panic!() };
        assert_eq!(options.block_size, None);
    }

    #[test]
    fn malformed_requests_are_not_packets() {
        for bad in [&b""[..], b"\0", b"\0\x01", b"\0\x01file", b"\0\x01file\0", b"\0\x01\0octet\0", b"\0\x04\0"] {
            assert_eq!(ClientPacket::parse(bad), None, "{bad:?}");
        }
        assert_eq!(ClientPacket::parse(b"\0\x02f\0octet\0"), Some(ClientPacket::Write));
        assert_eq!(ClientPacket::parse(b"\0\x03\0\x01data"), Some(ClientPacket::Unexpected));
        assert_eq!(ClientPacket::parse(b"\0\x04\xff\xfe"), Some(ClientPacket::Ack(0xfffe)));
        assert_eq!(ClientPacket::parse(b"\0\x05\0\x08no\0junk"), Some(ClientPacket::Error { code: 8, message: b"no" }));
    }

    #[test]
    fn oack_and_error_round_trip() {
        let mut buf = [0u8; MAX_OACK];
        let options =
            AcceptedOptions { block_size: Some(1468), timeout: None, transfer_size: Some(u64::MAX), window: Some(4) };
        let len = write_oack(&mut buf, &options).unwrap();
        assert_eq!(&buf[..len], b"\0\x06blksize\x001468\0tsize\x0018446744073709551615\0windowsize\x004\0");
        assert_eq!(write_oack(&mut [0u8; 10], &options), None);
        let len = write_error(&mut buf, ErrorCode::FileNotFound, "no such file").unwrap();
        assert_eq!(&buf[..len], b"\0\x05\0\x01no such file\0");
        assert_eq!(len, error_len("no such file"));
    }
}
