//! A read-only TFTP server (RFC 1350) for firmware that boots over PXE: it hands out
//! the iPXE binaries the DHCP server names, from the same [`FileSource`] as HTTP, with
//! the same path rules (no `..`, no dot-files, nothing outside the root).
//!
//! - Read requests only: a write request gets an "access violation" error.
//! - Options: `blksize` (RFC 2348, capped so a block fits one Ethernet frame),
//!   `tsize` and `timeout` (RFC 2349), `windowsize` (RFC 7440, capped by
//!   [`TftpSettings::max_window`] and the transfer socket's send buffer).
//! - Each transfer runs on a socket of its own bound to a fresh port (its transfer ID,
//!   as RFC 1350 asks); packets from any other endpoint to that port get an "unknown
//!   transfer ID" error and change nothing.
//! - Retransmission on timeout only, never on a duplicate ACK (see [`transfer`]);
//!   a transfer whose client stays silent through [`TftpSettings::max_retries`]
//!   retransmissions is dropped, so a silent client holds its slot a bounded time.
//! - At most as many transfers as there are transfer sockets, and
//!   [`TftpSettings::max_transfers_per_client`] per client address; a request beyond
//!   either gets a "busy" error.
//!
//! Panic contract: nothing here panics, whatever arrives on any of its ports.

pub mod packet;
pub mod transfer;

use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::udp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::IpEndpoint;

use crate::files::{FileHandle, FilePath, FileSource, OpenFiles};
use crate::log_budget::{LogBudget, Suppressed};
use crate::logging::Escaped;
use crate::storage::TftpStorage;
use packet::{AcceptedOptions, ClientPacket, ErrorCode, Mode, RequestedOptions};
use transfer::{Acked, Next, Progress};

/// The well-known TFTP port.
pub const TFTP_PORT: u16 = 69;

/// Largest block served: what fits one 1500-byte Ethernet frame (1500 − 20 IPv4 − 8 UDP
/// − 4 TFTP). Larger blocks would need IP fragmentation, which the stack does not do.
pub const MAX_BLOCK_SIZE: u16 = 1468;

/// A DATA packet of the largest block.
pub const MAX_DATA_PACKET: usize = MAX_BLOCK_SIZE as usize + packet::DATA_HEADER;

/// Most transfers one server runs at once (the transfer sockets beyond are unused).
pub const MAX_TRANSFERS: usize = 64;

/// Largest request datagram read; RFC 1350 requests fit 512 bytes, options included
/// in practice. Longer ones are dropped.
const MAX_REQUEST: usize = 600;

/// How soon a transfer whose send buffer was full tries again.
const BLOCKED_RETRY: Duration = Duration::from_millis(10);

/// Longest file name kept for the log line.
const LOGGED_NAME: usize = 128;

/// The TFTP server's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TftpSettings {
    /// UDP port of the requests ([`TFTP_PORT`]).
    pub port: u16,
    /// Largest block size granted; at most [`MAX_BLOCK_SIZE`] (and the device's MTU).
    pub max_block_size: u16,
    /// Largest window granted (RFC 7440).
    pub max_window: u16,
    /// Retransmission timeout when the client does not ask for one.
    pub timeout: Duration,
    /// Longest `timeout` a client may ask for, in seconds; a longer one is not
    /// acknowledged (RFC 2349 lets a server only take or leave the value).
    pub max_timeout_secs: u8,
    /// Retransmissions without an answer before a transfer is dropped.
    pub max_retries: u8,
    /// Concurrent transfers one client address may hold.
    pub max_transfers_per_client: usize,
}

impl TftpSettings {
    /// Port 69, blocks up to 1468 bytes, windows up to 8, a 1 s timeout (clients may
    /// ask up to 10 s), 5 retries, 4 transfers per client.
    pub const DEFAULT: TftpSettings = TftpSettings {
        port: TFTP_PORT,
        max_block_size: MAX_BLOCK_SIZE,
        max_window: 8,
        timeout: Duration::from_secs(1),
        max_timeout_secs: 10,
        max_retries: 5,
        max_transfers_per_client: 4,
    };
}

impl Default for TftpSettings {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A transfer in progress.
struct Active {
    client: IpEndpoint,
    file: FileHandle,
    /// The file's length.
    len: u64,
    /// Where the file's read position is, so sequential blocks need no seek; `None`
    /// when unknown (after a failed send).
    position: Option<u64>,
    /// The send buffer was full at the last try (a window still queued): try again
    /// then, not at once, so a transfer that cannot send never makes the poll loop spin.
    blocked_until: Option<Instant>,
    progress: Progress,
    options: AcceptedOptions,
    started: Instant,
    /// The client has acknowledged something: it receives at the address it gave.
    answered: bool,
    name: heapless::Vec<u8, LOGGED_NAME>,
}

struct Slot {
    socket: SocketHandle,
    /// The port its socket is bound to while `active`.
    port: u16,
    active: Option<Active>,
}

/// The request socket and the transfer sockets.
pub(crate) struct TftpServer {
    listen: SocketHandle,
    slots: heapless::Vec<Slot, MAX_TRANSFERS>,
    settings: TftpSettings,
    /// Largest block this link carries.
    block_cap: u16,
    /// State of the generator that picks transfer ports: unpredictable ones, so nobody
    /// who saw one transfer's port can forge ACKs to the next (from a victim's address,
    /// each would send a whole window there).
    port_state: u64,
    /// Refusals are logged at a bounded rate: port 69 is open to anyone.
    refusal_log: LogBudget,
}

/// First port handed to a transfer; ports run up to 65535 and wrap around to here.
const FIRST_TRANSFER_PORT: u16 = 49152;

impl TftpServer {
    /// Adds the request socket and one socket per transfer share of `storage`.
    /// `ip_mtu` is the device's; `seed` varies the first transfer port.
    pub(crate) fn new<'a>(
        sockets: &mut SocketSet<'a>,
        storage: TftpStorage<'a>,
        settings: TftpSettings,
        ip_mtu: usize,
        seed: u64,
    ) -> Self {
        let TftpStorage { listen, transfers, rx_meta, rx_payload, tx_meta, tx_payload } = storage;
        let mut socket = udp::Socket::new(
            udp::PacketBuffer::new(listen.rx_meta, listen.rx_payload),
            udp::PacketBuffer::new(listen.tx_meta, listen.tx_payload),
        );
        // Cannot fail: the port was checked to be non-zero.
        let _ = socket.bind(settings.port);
        let listen = sockets.add(socket);
        let count = transfers.min(MAX_TRANSFERS);
        let mut slots = heapless::Vec::new();
        if count > 0 {
            let share = |len: usize| (len / count).max(1);
            let (rx_meta_share, rx_share) = (share(rx_meta.len()), share(rx_payload.len()));
            let (tx_meta_share, tx_share) = (share(tx_meta.len()), share(tx_payload.len()));
            let parts = rx_meta
                .chunks_exact_mut(rx_meta_share)
                .zip(rx_payload.chunks_exact_mut(rx_share))
                .zip(tx_meta.chunks_exact_mut(tx_meta_share))
                .zip(tx_payload.chunks_exact_mut(tx_share))
                .take(count);
            for (((rx_meta, rx), tx_meta), tx) in parts {
                let socket = udp::Socket::new(udp::PacketBuffer::new(rx_meta, rx), udp::PacketBuffer::new(tx_meta, tx));
                let _ = slots.push(Slot { socket: sockets.add(socket), port: 0, active: None });
            }
        }
        let link_cap = ip_mtu.saturating_sub(20 + 8 + packet::DATA_HEADER);
        let block_cap = u16::try_from(link_cap).unwrap_or(u16::MAX).min(settings.max_block_size).min(MAX_BLOCK_SIZE);
        TftpServer {
            listen,
            slots,
            settings,
            block_cap: block_cap.max(8),
            port_state: seed | 1,
            refusal_log: LogBudget::default(),
        }
    }

    /// Takes new requests, answers ACKs, retransmits what timed out and sends what the
    /// windows allow; `true` if anything was received or sent.
    pub(crate) fn poll<F: FileSource>(
        &mut self,
        sockets: &mut SocketSet<'_>,
        now: Instant,
        files: &mut OpenFiles<'_, F>,
    ) -> bool {
        // Transfers first: a client that ends one (OVMF asks for the size, then aborts)
        // and asks again from the same port in the same poll starts a new one.
        let mut progress = false;
        for index in 0..self.slots.len() {
            progress |= self.serve_slot(index, sockets, now, files);
        }
        self.close_drained(sockets);
        // A new transfer sends its first packet on the next poll, which `true` asks for.
        progress | self.take_requests(sockets, now, files)
    }

    /// When [`TftpServer::poll`] must run next: now while a window has room to send,
    /// else the earliest retransmission deadline.
    pub(crate) fn poll_at(&self) -> Option<Instant> {
        self.slots
            .iter()
            .filter_map(|slot| slot.active.as_ref())
            .map(|active| match (active.progress.next(), active.blocked_until) {
                (Some(_), Some(retry)) => retry.min(active.progress.deadline()),
                (Some(_), None) => Instant::ZERO,
                (None, _) => active.progress.deadline(),
            })
            .min()
    }

    fn take_requests<F: FileSource>(
        &mut self,
        sockets: &mut SocketSet<'_>,
        now: Instant,
        files: &mut OpenFiles<'_, F>,
    ) -> bool {
        let mut progress = false;
        let mut datagram = [0u8; MAX_REQUEST];
        loop {
            let received = sockets.get_mut::<udp::Socket>(self.listen).recv_slice(&mut datagram);
            let (len, meta) = match received {
                Ok(got) => got,
                Err(udp::RecvError::Truncated) => continue,
                Err(udp::RecvError::Exhausted) => break,
            };
            progress = true;
            let client = meta.endpoint;
            match ClientPacket::parse(datagram.get(..len).unwrap_or_default()) {
                Some(ClientPacket::Read { filename, mode, options }) => {
                    if let Err((code, message)) = self.start(sockets, now, files, client, filename, mode, options) {
                        if let Some(suppressed) = self.refusal_log.admit(now) {
                            log_info!(
                                "tftp refused client={} file={}: {message}{}",
                                client.addr,
                                Escaped(filename.get(..LOGGED_NAME.min(filename.len())).unwrap_or_default()),
                                Suppressed(suppressed)
                            );
                        }
                        send_error(sockets.get_mut::<udp::Socket>(self.listen), client, code, message);
                    }
                }
                Some(ClientPacket::Write) => {
                    if let Some(suppressed) = self.refusal_log.admit(now) {
                        log_info!("tftp refused write request from client={}{}", client.addr, Suppressed(suppressed));
                    }
                    let message = "this server only sends files";
                    send_error(
                        sockets.get_mut::<udp::Socket>(self.listen),
                        client,
                        ErrorCode::AccessViolation,
                        message,
                    );
                }
                // ACKs and errors belong on a transfer's port; nothing to say to them here.
                _ => {}
            }
        }
        progress
    }

    #[allow(clippy::too_many_arguments)] // reason: the request's parts, each used once
    fn start<F: FileSource>(
        &mut self,
        sockets: &mut SocketSet<'_>,
        now: Instant,
        files: &mut OpenFiles<'_, F>,
        client: IpEndpoint,
        filename: &[u8],
        mode: Mode,
        requested: RequestedOptions,
    ) -> Result<(), (ErrorCode, &'static str)> {
        // A retransmitted request of a transfer already running: its own timer resends.
        if self.slots.iter().filter_map(|slot| slot.active.as_ref()).any(|active| active.client == client) {
            return Ok(());
        }
        if mode != Mode::Octet {
            return Err((ErrorCode::IllegalOperation, "only octet mode is served"));
        }
        let name = core::str::from_utf8(filename).map_err(|_| (ErrorCode::AccessViolation, "file name not UTF-8"))?;
        // Firmware often asks for `/snponly.efi`: names are relative to the root anyway.
        let path = FilePath::relative(name.strip_prefix('/').unwrap_or(name))
            .map_err(|_| (ErrorCode::AccessViolation, "not a plain file name under the file root"))?;
        let held = self.slots.iter().filter_map(|slot| slot.active.as_ref()).filter(|a| a.client.addr == client.addr);
        // Never more than half the slots to one address, so one client cannot hold them all.
        let per_client = self.settings.max_transfers_per_client.min((self.slots.len() / 2).max(1));
        if held.count() >= per_client {
            return Err((ErrorCode::Undefined, "too many transfers from this client, try again later"));
        }
        let index = match self.slots.iter().position(|slot| slot.active.is_none()) {
            Some(index) => index,
            None => self.evict_unproven(now, files).ok_or((ErrorCode::Undefined, "server busy, try again later"))?,
        };
        let opened = files.open(&path).map_err(|error| match error {
            crate::FileError::NotFound => (ErrorCode::FileNotFound, "file not found"),
            crate::FileError::Busy => (ErrorCode::Undefined, "server busy, try again later"),
            crate::FileError::Io => (ErrorCode::Undefined, "I/O error"),
        })?;
        let port = self.free_port();
        let (settings, block_cap) = (self.settings, self.block_cap);
        let Some(slot) = self.slots.get_mut(index) else {
            files.close(opened.handle);
            return Err((ErrorCode::Undefined, "server busy, try again later"));
        };
        let socket = sockets.get_mut::<udp::Socket>(slot.socket);
        socket.close();
        if socket.bind(port).is_err() {
            files.close(opened.handle);
            return Err((ErrorCode::Undefined, "no transfer port"));
        }
        slot.port = port;
        let (options, block_size, window, timeout) = negotiate(&settings, block_cap, &requested, opened.len, socket);
        let progress = Progress::new(opened.len, block_size, window, timeout, options.any(), now);
        let mut logged = heapless::Vec::new();
        let _ = logged.extend_from_slice(filename.get(..LOGGED_NAME.min(filename.len())).unwrap_or_default());
        log_info!(
            "tftp read client={}:{} file={} bytes={} blksize={block_size} windowsize={window}",
            client.addr,
            client.port,
            Escaped(&logged),
            opened.len
        );
        slot.active = Some(Active {
            client,
            file: opened.handle,
            len: opened.len,
            position: Some(0),
            blocked_until: None,
            progress,
            options,
            started: now,
            answered: false,
            name: logged,
        });
        Ok(())
    }

    /// Closes the sockets of ended transfers whose last packet has gone out.
    fn close_drained(&mut self, sockets: &mut SocketSet<'_>) {
        for slot in self.slots.iter_mut().filter(|slot| slot.active.is_none() && slot.port != 0) {
            let socket = sockets.get_mut::<udp::Socket>(slot.socket);
            if socket.send_queue() == 0 {
                socket.close();
                slot.port = 0;
            }
        }
    }

    /// A port in 49152–65535 no transfer socket is bound to, drawn at random.
    fn free_port(&mut self) -> u16 {
        loop {
            // xorshift64: cheap, and unpredictable enough for a port that lives seconds.
            self.port_state ^= self.port_state << 13;
            self.port_state ^= self.port_state >> 7;
            self.port_state ^= self.port_state << 17;
            // Truncation intended: 14 bits of the state pick the port.
            #[allow(clippy::cast_possible_truncation)]
            let port = FIRST_TRANSFER_PORT + ((self.port_state >> 32) as u16 & 0x3fff);
            // `port` is 0 only for a slot whose socket is closed.
            if port != self.settings.port && !self.slots.iter().any(|slot| slot.port == port) {
                return port;
            }
        }
    }

    /// With every slot taken, frees one whose client has not acknowledged a single
    /// packet within a timeout: a request from a forged address, or from a client that
    /// went away, must not keep a real one waiting for all the retransmissions.
    fn evict_unproven<F: FileSource>(&mut self, now: Instant, files: &mut OpenFiles<'_, F>) -> Option<usize> {
        let index = self.slots.iter().position(|slot| {
            slot.active.as_ref().is_some_and(|active| !active.answered && now >= active.started + self.settings.timeout)
        })?;
        let slot = self.slots.get_mut(index)?;
        if let Some(active) = slot.active.take() {
            log_info!(
                "tftp transfer dropped client={} file={}: never acknowledged, and its slot is wanted",
                active.client.addr,
                Escaped(&active.name)
            );
            files.close(active.file);
        }
        Some(index)
    }

    fn serve_slot<F: FileSource>(
        &mut self,
        index: usize,
        sockets: &mut SocketSet<'_>,
        now: Instant,
        files: &mut OpenFiles<'_, F>,
    ) -> bool {
        let max_retries = self.settings.max_retries;
        let Some(slot) = self.slots.get_mut(index) else { return false };
        let handle = slot.socket;
        let Some(active) = &mut slot.active else { return false };
        let socket = sockets.get_mut::<udp::Socket>(handle);
        let mut progress = false;
        let mut ended: Option<Ending> = None;
        let mut strangers = 0u8;
        // ACKs are 4 bytes, but a client's ERROR carries a message: one too long for
        // the buffer would be dropped, and the transfer left to run out its retries.
        let mut datagram = [0u8; 516];
        loop {
            let (len, meta) = match socket.recv_slice(&mut datagram) {
                Ok(got) => got,
                Err(udp::RecvError::Truncated) => {
                    progress = true;
                    continue;
                }
                Err(udp::RecvError::Exhausted) => break,
            };
            progress = true;
            if meta.endpoint != active.client {
                // RFC 1350: answer a stranger with an error, and go on. At most a few
                // per poll, so a flood cannot fill the send buffer the transfer needs.
                if strangers < 2 {
                    strangers += 1;
                    send_error(socket, meta.endpoint, ErrorCode::UnknownTransferId, "unknown transfer ID");
                }
                continue;
            }
            match ClientPacket::parse(datagram.get(..len).unwrap_or_default()) {
                Some(ClientPacket::Ack(block)) => match active.progress.ack(block, now) {
                    Acked::Complete => {
                        ended = Some(Ending::Complete);
                        break;
                    }
                    Acked::Progress => active.answered = true,
                    Acked::Ignored => {}
                },
                Some(ClientPacket::Error { code, message }) => {
                    log_info!(
                        "tftp transfer ended by client={} file={} code={code}: {}",
                        active.client.addr,
                        Escaped(&active.name),
                        Escaped(message)
                    );
                    ended = Some(Ending::Silent);
                    break;
                }
                _ => {}
            }
        }
        if ended.is_none() && now >= active.started + time_allowed(active.len) {
            // A client that ACKs just often enough never times out; a slot is for a boot.
            log_warn!(
                "tftp transfer dropped client={} file={}: slower than {} bytes/s",
                active.client.addr,
                Escaped(&active.name),
                MIN_TRANSFER_RATE
            );
            ended = Some(Ending::Silent);
        }
        if ended.is_none() && now >= active.progress.deadline() && !active.progress.timed_out(now, max_retries) {
            log_warn!(
                "tftp transfer dropped client={} file={}: no answer after {max_retries} retransmissions",
                active.client.addr,
                Escaped(&active.name)
            );
            ended = Some(Ending::Silent);
        }
        if ended.is_none() {
            if let Ok(sent) = send_window(active, socket, files, now) {
                progress |= sent;
            } else {
                send_error(socket, active.client, ErrorCode::Undefined, "I/O error");
                ended = Some(Ending::Silent);
            }
        }
        if let Some(ending) = ended {
            if ending == Ending::Complete {
                let millis = (now - active.started).total_millis();
                log_info!(
                    "tftp sent client={} file={} bytes={} ms={millis}",
                    active.client.addr,
                    Escaped(&active.name),
                    active.len
                );
            }
            files.close(active.file);
            slot.active = None;
            // An ERROR still queued (a file that could not be read) goes out first:
            // closing drops what the socket holds. `close_drained` closes it once sent.
            if socket.send_queue() == 0 {
                socket.close();
                slot.port = 0;
            }
        }
        progress
    }
}

/// The slowest a transfer may go, on average: a tenth of what TFTP over a LAN gives with
/// 512-byte blocks and no window, so only a client that stalls on purpose is cut off.
const MIN_TRANSFER_RATE: u64 = 32 * 1024;

/// How long a transfer of `len` bytes may take: [`MIN_TRANSFER_RATE`], after a minute's
/// grace for the retransmissions of a lossy start.
fn time_allowed(len: u64) -> Duration {
    Duration::from_secs(60 + len / MIN_TRANSFER_RATE)
}

/// Queues an ERROR packet; a full send buffer drops it (the client retries or times out).
fn send_error(socket: &mut udp::Socket<'_>, to: IpEndpoint, code: ErrorCode, message: &str) {
    let mut buf = [0u8; 96];
    if let Some(len) = packet::write_error(&mut buf, code, message) {
        let _ = socket.send_slice(buf.get(..len).unwrap_or_default(), to);
    }
}

/// The options granted, and the block size, window and timeout they give.
fn negotiate(
    settings: &TftpSettings,
    block_cap: u16,
    requested: &RequestedOptions,
    len: u64,
    socket: &udp::Socket<'_>,
) -> (AcceptedOptions, u16, u16, Duration) {
    let block_size = requested.block_size.map(|asked| asked.min(block_cap));
    let size = block_size.unwrap_or(packet::DEFAULT_BLOCK_SIZE);
    // As many blocks as the socket queues at once.
    let room = socket.payload_send_capacity() / (usize::from(size) + packet::DATA_HEADER);
    let room = u16::try_from(room.min(socket.packet_send_capacity())).unwrap_or(u16::MAX);
    let window = requested.window.map(|asked| asked.min(settings.max_window).min(room).max(1));
    let timeout = requested.timeout.filter(|&secs| secs <= settings.max_timeout_secs);
    let options =
        AcceptedOptions { block_size, timeout, transfer_size: requested.transfer_size.then_some(len), window };
    let timeout = timeout.map_or(settings.timeout, |secs| Duration::from_secs(u64::from(secs)));
    (options, size, window.unwrap_or(1), timeout)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Complete,
    Silent,
}

/// Queues what the window allows; `Ok(true)` if anything was queued, `Err` if the file
/// could not be read (logged).
fn send_window<F: FileSource>(
    active: &mut Active,
    socket: &mut udp::Socket<'_>,
    files: &mut OpenFiles<'_, F>,
    now: Instant,
) -> Result<bool, ()> {
    active.blocked_until = None;
    let mut sent = false;
    let mut block = [0u8; MAX_DATA_PACKET];
    while let Some(next) = active.progress.next() {
        let len = match next {
            Next::OptionAck => {
                let Some(len) = packet::write_oack(&mut block, &active.options) else { break };
                len
            }
            Next::Block { offset, len, wire } => {
                if read_block(active, files, offset, block.get_mut(packet::DATA_HEADER..packet::DATA_HEADER + len))
                    .is_err()
                {
                    log_error!(
                        "tftp read error client={} file={} offset={offset}",
                        active.client.addr,
                        Escaped(&active.name)
                    );
                    return Err(());
                }
                let _ = packet::write_data_header(&mut block, wire);
                packet::DATA_HEADER + len
            }
        };
        if socket.send_slice(block.get(..len).unwrap_or_default(), active.client).is_err() {
            // Full: the rest goes out on a later poll; the block is read again.
            active.position = None;
            active.blocked_until = Some(now + BLOCKED_RETRY);
            break;
        }
        active.progress.sent();
        sent = true;
    }
    Ok(sent)
}

/// Reads `buf.len()` bytes at `offset` of the transfer's file.
fn read_block<F: FileSource>(
    active: &mut Active,
    files: &mut OpenFiles<'_, F>,
    offset: u64,
    buf: Option<&mut [u8]>,
) -> Result<(), crate::FileError> {
    let buf = buf.ok_or(crate::FileError::Io)?;
    if active.position != Some(offset) {
        files.seek(active.file, offset)?;
    }
    active.position = None;
    let mut filled = 0;
    while filled < buf.len() {
        let read = files.read(active.file, buf.get_mut(filled..).unwrap_or_default())?;
        if read == 0 {
            // The file shrank under the transfer.
            return Err(crate::FileError::Io);
        }
        filled += read;
    }
    active.position = Some(offset + buf.len() as u64);
    Ok(())
}
