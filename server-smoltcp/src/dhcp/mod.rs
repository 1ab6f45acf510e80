//! A DHCP server for iPXE clients on UDP port 67, which also hands firmware its iPXE.
//!
//! Clients whose user class (option 77) says `iPXE` get the script URL. Firmware gets
//! the iPXE binary its architecture (option 93) runs, from
//! [`DhcpSettings::boot_files`]: a PXE ROM (option 60 `PXEClient`) its file name, to
//! fetch over TFTP from this server (`siaddr`), when the TFTP server runs; UEFI HTTP Boot
//! (option 60 `HTTPClient`) the file's URL on this server's HTTP server, with option 60
//! `HTTPClient` as UEFI requires. An architecture the map does not list is logged and
//! left unanswered, never handed a binary it cannot run; so is any other client.
//! DISCOVER gets an OFFER, REQUEST an ACK, or a NAK for an address this server cannot
//! give; a REQUEST naming another server frees our offer to a stranger. Every reply carries the script
//! URL (option 67 and the BOOTP `file` field) and option 175/176 so iPXE does not wait
//! for ProxyDHCP, and goes to the broadcast address: the client has no address yet.
//!
//! The segment is open, and DHCP is unauthenticated, so the pool is shared out so that the
//! inventory's nodes — what the appliance is for — always find an address:
//!
//! - MACs the inventory does not know ("strangers") together hold at most
//!   [`stranger_share`] of the pool (leaving one address per PXE port of the inventory, and
//!   never more than half), and are granted new addresses at a bounded rate
//!   ([`STRANGER_BURST`], then [`STRANGER_PER_SECOND`]); beyond either they get no answer.
//! - A REQUEST naming this server (SELECTING) is ACKed only for the address this server
//!   offered that MAC, or the lease it holds; anything else is NAKed. A REQUEST claiming an
//!   address without a server id (INIT-REBOOT, RENEWING after a restart emptied the table)
//!   is a new binding like a DISCOVER's, admitted by the same rules.
//! - A bound lease is never handed to another MAC before it expires, and a RELEASE (which
//!   anyone can forge with a victim's MAC and address) does not end it early: the address
//!   stays its holder's until the lease would have run out.
//!
//! Panic contract: nothing here panics, whatever arrives on port 67.

pub mod bootfile;
pub mod lease;
pub mod message;
pub(crate) mod proxy;

pub use proxy::{PROXY_STRANGER_BURST, PROXY_STRANGER_PER_SECOND};

use ipxe_config::{Inventory, PortAddress, RenderConfig};
use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::udp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{
    DhcpMessageType, EthernetAddress, IpAddress, IpEndpoint, Ipv4Address, Ipv4Cidr, DHCP_CLIENT_PORT, DHCP_SERVER_PORT,
};

pub use lease::Lease;

use crate::log_budget::{LogBudget, Suppressed};
use crate::logging::Escaped;
use crate::settings::DhcpSettings;
use bootfile::{boot_file_for, bootfile, http_boot_url, BootTarget, Bootfile};
use lease::LeaseTable;
use message::{ClientMessage, Reply, VendorClass, HTTP_CLIENT_CLASS};

/// What `message`'s client is to be answered with; `None` (logged for a DISCOVER)
/// for a client this server does not boot.
///
/// Why a client is left unanswered is logged for DISCOVERs only, within `log`'s budget: a
/// flood of them must not turn into a flood of lines.
pub(crate) fn answer_for(
    settings: &DhcpSettings,
    tftp: bool,
    message: &ClientMessage,
    log: &mut LogBudget,
    now: Instant,
) -> Option<Answer> {
    if message.ipxe {
        return Some(Answer::Script);
    }
    let mut admitted = || (message.kind == DhcpMessageType::Discover).then(|| log.admit(now)).flatten().map(Suppressed);
    let shown = PortAddress(message.mac.0);
    let firmware = match message.vendor {
        VendorClass::PxeClient if tftp => "PXE",
        VendorClass::PxeClient => {
            if let Some(more) = admitted() {
                log_info!("dhcp ignoring mac={shown} (PXE firmware): the TFTP server is off{more}");
            }
            return None;
        }
        VendorClass::HttpClient => "HTTP Boot",
        VendorClass::Other => {
            if let Some(more) = admitted() {
                log_info!("dhcp ignoring mac={shown}: neither iPXE nor PXE or HTTP Boot firmware{more}");
            }
            return None;
        }
    };
    let Some(arch) = message.arch else {
        if let Some(more) = admitted() {
            log_info!("dhcp ignoring mac={shown} ({firmware} firmware): no client architecture (option 93){more}");
        }
        return None;
    };
    let Some(file) = boot_file_for(settings.boot_files, arch) else {
        if let Some(more) = admitted() {
            log_warn!(
                "dhcp ignoring mac={shown} ({firmware} firmware): no boot file for architecture {arch} \
                 (give one with --boot-file {arch}=FILE){more}"
            );
        }
        return None;
    };
    Some(match message.vendor {
        VendorClass::HttpClient => Answer::Http { arch, file },
        _ => Answer::Tftp { arch, file },
    })
}

/// What a client is answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// iPXE: the script URL.
    Script,
    /// PXE firmware: this iPXE binary over TFTP.
    Tftp { arch: u16, file: &'static str },
    /// UEFI HTTP Boot: this iPXE binary over HTTP.
    Http { arch: u16, file: &'static str },
}

/// How long an offered address is held for the client's REQUEST.
const OFFER_HOLD: Duration = Duration::from_secs(60);

/// How often, at most, pool exhaustion is logged: a flood of DISCOVERs from random MACs
/// would otherwise write one line per packet.
const EXHAUSTED_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// New addresses strangers may be granted at once: a rack of unenrolled machines (or
/// enrolled ones booting from a NIC the inventory does not list) powering on together.
pub const STRANGER_BURST: u32 = 32;

/// New addresses strangers may be granted per second once the burst is spent.
pub const STRANGER_PER_SECOND: u32 = 4;

/// How many addresses strangers may hold at once, out of `usable` addresses, when the
/// inventory has `pxe_ports` PXE-enabled ports: every port keeps one address to itself,
/// and strangers never hold more than half the pool, so an inventory that grows (or a
/// pool smaller than the inventory) still leaves the nodes room.
///
/// ```
/// use ipxe_config_server::dhcp::stranger_share;
/// assert_eq!(stranger_share(100, 14), 50);
/// assert_eq!(stranger_share(24, 14), 10);
/// assert_eq!(stranger_share(8, 14), 0);
/// ```
pub fn stranger_share(usable: usize, pxe_ports: usize) -> usize {
    usable.saturating_sub(pxe_ports).min(usable / 2)
}

/// The DHCP server's socket, pool and settings.
pub(crate) struct DhcpServer<'a> {
    handle: SocketHandle,
    leases: LeaseTable<'a>,
    settings: DhcpSettings,
    server: Ipv4Cidr,
    http_port: u16,
    /// The TFTP server runs, so PXE firmware can be answered.
    tftp: bool,
    /// DISCOVERs left unanswered for want of an address, warned of every
    /// [`EXHAUSTED_LOG_INTERVAL`].
    unanswered: CountedWarning,
    /// New bindings strangers may still be granted now.
    stranger_budget: TokenBucket,
    /// Lines saying why a client is left unanswered.
    ignored_log: LogBudget,
}

impl<'a> DhcpServer<'a> {
    /// Binds the socket to port 67 and sets up the pool.
    pub(crate) fn new(
        handle: SocketHandle,
        sockets: &mut SocketSet<'a>,
        leases: &'a mut [Lease],
        settings: DhcpSettings,
        server: Ipv4Cidr,
        http_port: u16,
        tftp: bool,
    ) -> Self {
        // Cannot fail: the port is non-zero and the socket new.
        let _ = sockets.get_mut::<udp::Socket>(handle).bind(DHCP_SERVER_PORT);
        let mut reserved = [server.address(); 2];
        if let Some(router) = settings.router {
            reserved[1] = router;
        }
        let leases = LeaseTable::new(leases, settings.first, settings.last, &reserved);
        DhcpServer {
            handle,
            leases,
            settings,
            server,
            http_port,
            tftp,
            ignored_log: LogBudget::default(),
            unanswered: CountedWarning::default(),
            stranger_budget: TokenBucket::full(STRANGER_BURST, STRANGER_PER_SECOND),
        }
    }

    /// Answers every queued client message; `true` if any was taken off the socket.
    ///
    /// A message is only taken off once its reply is queued: when the send buffer is full
    /// (a burst of DISCOVERs from a boot storm), the rest wait in the receive buffer for
    /// the next call, after the interface has sent the replies before them. Taking them
    /// off and dropping the replies instead cost each of those clients a retransmission,
    /// and iPXE gives up DHCP after four of those.
    pub(crate) fn poll(
        &mut self,
        sockets: &mut SocketSet<'a>,
        now: Instant,
        inventory: &Inventory<'_>,
        config: &RenderConfig<'_>,
    ) -> bool {
        let socket = sockets.get_mut::<udp::Socket>(self.handle);
        let mut progress = false;
        while let Ok((payload, _meta)) = socket.peek() {
            if let Some(message) = ClientMessage::parse(payload) {
                if self.answer(socket, &message, now, inventory, config) == Queued::NoRoom {
                    break;
                }
            }
            let _ = socket.recv();
            progress = true;
        }
        progress
    }

    /// Whether messages wait that the last [`DhcpServer::poll`] could not answer yet.
    /// Leases bound now.
    pub(crate) fn bound_leases(&self, now: Instant) -> usize {
        self.leases.bound(now)
    }

    pub(crate) fn backlogged(&self, sockets: &SocketSet<'a>) -> bool {
        sockets.get::<udp::Socket>(self.handle).can_recv()
    }

    fn answer(
        &mut self,
        socket: &mut udp::Socket<'_>,
        message: &ClientMessage,
        now: Instant,
        inventory: &Inventory<'_>,
        config: &RenderConfig<'_>,
    ) -> Queued {
        let mac = message.mac;
        // Logged as iPXE and Ironic spell MACs: lower case with colons.
        let shown = PortAddress(mac.0);
        let Some(boot) = answer_for(&self.settings, self.tftp, message, &mut self.ignored_log, now) else {
            return Queued::Done;
        };
        let ours = self.server.address();
        let stranger = inventory.node_by_address(&shown).is_none();
        match message.kind {
            DhcpMessageType::Discover => {
                let held = self.leases.holding(mac, now);
                let chosen = match held {
                    Some(index) => Some((index, false)),
                    None => self.address_for_newcomer(mac, stranger, now, inventory),
                };
                let Some((index, taken_over)) = chosen else { return Queued::Done };
                let address = self.leases.address(index);
                let queued = self.reply(socket, DhcpMessageType::Offer, message, boot, address, inventory, config);
                if queued == Queued::Sent {
                    if taken_over {
                        log_info!("dhcp pool exhausted: mac={shown} of the inventory takes {address}, offered to an unknown MAC");
                    }
                    if held.is_none() && stranger {
                        self.stranger_budget.spend();
                    }
                    self.leases.offer(index, mac, now, OFFER_HOLD, stranger);
                }
                queued
            }
            DhcpMessageType::Request => {
                if message.server_id.is_some_and(|id| id != ours) {
                    // The client took another server's offer: ours is free again. Only a
                    // stranger's, though: anyone can send this REQUEST in a node's name
                    // between our OFFER and the node's own REQUEST, and freeing the node's
                    // offer then gets its REQUEST a NAK, again and again. A node's offer
                    // is its own address anyway; it lapses after `OFFER_HOLD`.
                    if stranger {
                        self.leases.release_offer(mac);
                    }
                    return Queued::Done;
                }
                let requested =
                    message.requested_ip.or((!message.client_ip.is_unspecified()).then_some(message.client_ip));
                let held = requested.and_then(|address| self.leases.held_by(address, mac, now));
                // SELECTING (our server id) answers our OFFER: nothing else was offered to
                // this MAC, so nothing else may be bound to it (RFC 2131 4.3.2: NAK an
                // incorrect address). Without a server id the client claims a lease this
                // table may have forgotten (a restart): a new binding, admitted like one,
                // but only for a MAC holding nothing else, so one MAC (an inventory node's,
                // spoofed) holds one address at a time; a client asking for another than
                // its own is NAKed and starts over with a DISCOVER (RFC 2131 4.3.2).
                let claimed = match (held, message.server_id, requested) {
                    (None, None, Some(address)) if self.leases.holding(mac, now).is_none() => self
                        .leases
                        .grantable(address, mac, now)
                        .filter(|_| !stranger || self.admit_stranger(now, inventory).is_ok()),
                    _ => None,
                };
                if let (Some(index), Some(address)) = (held.or(claimed), requested) {
                    let queued = self.reply(socket, DhcpMessageType::Ack, message, boot, address, inventory, config);
                    if queued == Queued::Sent {
                        if claimed.is_some() && stranger {
                            self.stranger_budget.spend();
                        }
                        let lease = Duration::from_secs(u64::from(self.settings.lease_seconds));
                        self.leases.bind(index, mac, now, lease, stranger);
                    }
                    queued
                } else {
                    let unspecified = Ipv4Address::UNSPECIFIED;
                    let queued =
                        self.reply(socket, DhcpMessageType::Nak, message, boot, unspecified, inventory, config);
                    if queued == Queued::Sent {
                        log_info!(
                            "dhcp nak mac={shown} requested={}",
                            requested.map_or(Ipv4Address::UNSPECIFIED, |a| a)
                        );
                    }
                    queued
                }
            }
            DhcpMessageType::Release if message.server_id.is_none_or(|id| id == ours) => {
                // Anyone can send a RELEASE with a victim's MAC and address, and the victim
                // keeps using its address all the same: so the lease runs on, and only its
                // holder can have the address until then.
                let address = message.client_ip;
                if self.leases.held_by(address, mac, now).is_some() {
                    log_info!("dhcp release mac={shown} ip={address}: kept for it until its lease ends");
                } else {
                    log_info!("dhcp ignoring release mac={shown} ip={address}: not the address's holder");
                }
                Queued::Done
            }
            DhcpMessageType::Decline if message.server_id.is_none_or(|id| id == ours) => {
                if let Some(address) = message.requested_ip {
                    let hold = Duration::from_secs(u64::from(self.settings.lease_seconds));
                    if self.leases.decline(address, mac, now, hold) {
                        log_warn!("dhcp decline mac={shown} ip={address}: address in use on the link");
                    } else {
                        log_info!("dhcp ignoring decline mac={shown} ip={address}: not the address's holder");
                    }
                }
                Queued::Done
            }
            _ => Queued::Done,
        }
    }

    /// The slot to offer a MAC that holds none, and whether it was taken from an offer
    /// to a stranger; `None` (counted and logged) when it gets none.
    fn address_for_newcomer(
        &mut self,
        mac: EthernetAddress,
        stranger: bool,
        now: Instant,
        inventory: &Inventory<'_>,
    ) -> Option<(usize, bool)> {
        let shown = PortAddress(mac.0);
        if stranger {
            if let Err(refused) = self.admit_stranger(now, inventory) {
                self.note_unanswered(shown, now, refused);
                return None;
            }
        }
        if let Some(index) = self.leases.choose(mac, now) {
            return Some((index, false));
        }
        // The appliance is there to boot the inventory's nodes: one of them may take an
        // address merely offered to a MAC nobody knows (strangers that took their share
        // before the inventory grew).
        let is_stranger = |other: EthernetAddress| inventory.node_by_address(&PortAddress(other.0)).is_none();
        let taken = if stranger { None } else { self.leases.stranger_offer(now, is_stranger) };
        if taken.is_none() {
            self.note_unanswered(shown, now, Unanswered::PoolExhausted);
        }
        taken.map(|index| (index, true))
    }

    /// Whether a stranger may be granted a new address now: within the strangers' share
    /// of the pool and the rate of new bindings.
    fn admit_stranger(&mut self, now: Instant, inventory: &Inventory<'_>) -> Result<(), Unanswered> {
        let share = stranger_share(self.leases.usable(), inventory.port_count());
        let held = self.leases.strangers_holding(now);
        if held >= share {
            return Err(Unanswered::StrangersShare { share });
        }
        if !self.stranger_budget.available(now) {
            return Err(Unanswered::RateLimited);
        }
        Ok(())
    }

    /// Counts a client left unanswered, and warns at most every
    /// [`EXHAUSTED_LOG_INTERVAL`].
    fn note_unanswered(&mut self, mac: PortAddress, now: Instant, why: Unanswered) {
        let Some(count) = self.unanswered.note(now, EXHAUSTED_LOG_INTERVAL) else { return };
        match why {
            Unanswered::PoolExhausted => log_warn!(
                "dhcp pool exhausted: no address for mac={mac} ({count} clients unanswered since the last warning); \
                 every address is bound or offered (offers are held {} s)",
                OFFER_HOLD.secs()
            ),
            Unanswered::StrangersShare { share } => log_warn!(
                "dhcp pool exhausted for unknown MACs: no address for mac={mac} ({count} clients unanswered since \
                 the last warning); MACs the inventory does not know hold their share, {share} of {} addresses, \
                 the rest is kept for the inventory's PXE ports",
                self.leases.usable()
            ),
            Unanswered::RateLimited => log_warn!(
                "dhcp rate limit: no address for unknown mac={mac} ({count} clients unanswered since the last \
                 warning); MACs the inventory does not know get {STRANGER_BURST} new addresses at once, then \
                 {STRANGER_PER_SECOND} a second"
            ),
        }
    }

    #[allow(clippy::too_many_arguments)] // reason: the reply's parts, each used once
    fn reply(
        &self,
        socket: &mut udp::Socket<'_>,
        kind: DhcpMessageType,
        message: &ClientMessage,
        boot: Answer,
        your_ip: Ipv4Address,
        inventory: &Inventory<'_>,
        config: &RenderConfig<'_>,
    ) -> Queued {
        let mac = message.mac;
        let shown = PortAddress(mac.0);
        let mut url = Bootfile::new();
        let (vendor_class, firmware) = match boot {
            Answer::Script => (None, None),
            // No option 60 for PXE: with `PXEClient` but no option 43, PXE clients take
            // the offer for a boot server's and ask it again on port 4011 (OVMF does).
            Answer::Tftp { arch, .. } => (None, Some(("pxe", arch))),
            Answer::Http { arch, .. } => (Some(HTTP_CLIENT_CLASS), Some(("http-boot", arch))),
        };
        let target = if kind == DhcpMessageType::Nak {
            None
        } else if let Answer::Tftp { file, .. } = boot {
            // A plain file name: checked to fit when the map was made, but a long one
            // is refused here too rather than cut.
            if url.push_str(file).is_err() {
                log_error!("dhcp no reply to mac={shown}: the boot file name is longer than 255 bytes");
                return Queued::Dropped;
            }
            Some(BootTarget::Chain)
        } else if let Answer::Http { file, .. } = boot {
            if http_boot_url(self.server.address(), self.http_port, file, &mut url).is_none() {
                log_error!("dhcp no reply to mac={shown}: the boot file URL is longer than 255 bytes");
                return Queued::Dropped;
            }
            Some(BootTarget::Chain)
        } else {
            let target =
                bootfile(inventory, config, self.server.address(), self.http_port, mac, &self.settings, &mut url);
            if target.is_none() {
                log_error!("dhcp no reply to mac={shown}: the script URL is longer than 255 bytes");
                return Queued::Dropped;
            }
            target
        };
        let reply = Reply {
            kind,
            to: *message,
            your_ip,
            server_ip: self.server.address(),
            subnet_mask: self.server.netmask(),
            router: self.settings.router,
            lease_seconds: self.settings.lease_seconds,
            bootfile: &url,
            vendor_class,
            ipxe_options: boot == Answer::Script,
            proxy: false,
        };
        let broadcast = IpEndpoint::new(IpAddress::Ipv4(Ipv4Address::BROADCAST), DHCP_CLIENT_PORT);
        match reply.send(socket, broadcast, self.server.address()) {
            Ok(()) => {}
            Err(udp::SendError::BufferFull) => return Queued::NoRoom,
            Err(udp::SendError::Unaddressable) => {
                log_warn!("dhcp reply to mac={shown} dropped: no route to the broadcast address");
                return Queued::Dropped;
            }
        }
        let verb = match kind {
            DhcpMessageType::Offer => "offer",
            DhcpMessageType::Ack => "ack",
            _ => return Queued::Sent,
        };
        let node = match target {
            Some(BootTarget::Node(uuid)) => Some(uuid),
            _ => None,
        };
        if let Some((firmware, arch)) = firmware {
            log_info!(
                "dhcp {verb} mac={shown} ip={your_ip} firmware={firmware} arch={arch} file={}",
                Escaped(url.as_bytes())
            );
            return Queued::Sent;
        }
        match node {
            // The URL carries the configured base and the node's driver: checked, but
            // escaped anyway like every other value a log line takes from outside.
            Some(uuid) => log_info!("dhcp {verb} mac={shown} ip={your_ip} node={uuid} url={}", Escaped(url.as_bytes())),
            None => log_info!("dhcp {verb} mac={shown} ip={your_ip} node=- url={}", Escaped(url.as_bytes())),
        }
        Queued::Sent
    }
}

/// What became of a client message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Queued {
    /// The reply is in the send buffer.
    Sent,
    /// Needs no reply, or cannot have one.
    Done,
    /// No reply because it could not be built (logged).
    Dropped,
    /// The reply does not fit the send buffer now; keep the message queued.
    NoRoom,
}

/// Why a client got no address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unanswered {
    /// Every address is bound or offered.
    PoolExhausted,
    /// Strangers already hold `share` addresses.
    StrangersShare { share: usize },
    /// Strangers were granted new addresses too fast.
    RateLimited,
}

/// Events counted between warnings written at most once an interval: a flood must not
/// turn into a line per packet.
#[derive(Debug, Default)]
pub(crate) struct CountedWarning {
    count: u32,
    written: Option<Instant>,
}

impl CountedWarning {
    /// Counts one event; the count since the last warning when one is due now (the caller
    /// writes it), `None` while the last one is younger than `interval`.
    pub(crate) fn note(&mut self, now: Instant, interval: Duration) -> Option<u32> {
        self.count = self.count.saturating_add(1);
        if self.written.is_some_and(|at| now < at + interval) {
            return None;
        }
        let count = self.count;
        self.count = 0;
        self.written = Some(now);
        Some(count)
    }
}

/// A token bucket: new bindings for strangers (`STRANGER_BURST` tokens, refilled at
/// `STRANGER_PER_SECOND`), ProxyDHCP's replies to them; counted in thousandths so refills
/// need no fractions.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TokenBucket {
    milli_tokens: u64,
    refilled: Option<Instant>,
    /// Most tokens banked, and tokens earned per second.
    burst: u32,
    per_second: u32,
}

impl TokenBucket {
    /// A full bucket of `burst` tokens that earns `per_second`.
    pub(crate) fn full(burst: u32, per_second: u32) -> Self {
        TokenBucket { milli_tokens: Self::capacity(burst), refilled: None, burst, per_second }
    }

    fn capacity(burst: u32) -> u64 {
        u64::from(burst) * 1000
    }

    /// Refills for the time since the last call; whether a whole token is left.
    pub(crate) fn available(&mut self, now: Instant) -> bool {
        // A clock that steps back earns nothing (smoltcp's `Instant` difference is unsigned).
        match self.refilled {
            Some(at) if now < at => {}
            Some(at) => {
                let millis = (now - at).total_millis();
                let earned = millis.saturating_mul(u64::from(self.per_second));
                self.milli_tokens = self.milli_tokens.saturating_add(earned).min(Self::capacity(self.burst));
                // Only the whole milliseconds counted: the remainder is earned at a later
                // call. Moving to `now` would drop it, and a flood asking every few hundred
                // microseconds would then earn nothing at all.
                self.refilled = Some(at + Duration::from_millis(millis));
            }
            None => self.refilled = Some(now),
        }
        self.milli_tokens >= 1000
    }

    pub(crate) fn spend(&mut self) {
        self.milli_tokens = self.milli_tokens.saturating_sub(1000);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_allows_a_burst_then_its_rate() {
        let mut bucket = TokenBucket::full(STRANGER_BURST, STRANGER_PER_SECOND);
        let start = Instant::from_secs(10);
        for _ in 0..STRANGER_BURST {
            assert!(bucket.available(start));
            bucket.spend();
        }
        assert!(!bucket.available(start));
        assert!(!bucket.available(start + Duration::from_millis(249)));
        assert!(bucket.available(start + Duration::from_millis(250)), "one token per 1/{STRANGER_PER_SECOND} s");
        assert!(bucket.available(start + Duration::from_secs(3600)));
        for _ in 0..STRANGER_BURST {
            bucket.spend();
        }
        assert!(!bucket.available(start + Duration::from_secs(3600)), "never more than the burst banked");
        assert!(!bucket.available(start), "a clock stepping back earns nothing");
    }

    #[test]
    fn the_bucket_refills_when_asked_more_often_than_every_millisecond() {
        let mut bucket = TokenBucket::full(STRANGER_BURST, STRANGER_PER_SECOND);
        let start = Instant::from_secs(10);
        while bucket.available(start) {
            bucket.spend();
        }
        let mut granted = 0;
        for step in 1..=4000 {
            // Two seconds of asks 500 us apart.
            if bucket.available(start + Duration::from_micros(step * 500)) {
                bucket.spend();
                granted += 1;
            }
        }
        assert_eq!(granted, 2 * STRANGER_PER_SECOND, "the rate, whatever the asking pace");
    }

    #[test]
    fn strangers_leave_one_address_per_port_and_half_the_pool() {
        assert_eq!(stranger_share(100, 0), 50);
        assert_eq!(stranger_share(100, 60), 40);
        assert_eq!(stranger_share(100, 200), 0);
        assert_eq!(stranger_share(0, 0), 0);
    }
}
