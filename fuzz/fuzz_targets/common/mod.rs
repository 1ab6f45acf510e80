//! What the server's fuzz targets share: the fixture inventory, loaded once; an
//! in-memory Ethernet link whose two ends are `phy::Device`s; and a logger that formats
//! every log line the appliance writes and counts the errors among them.
//!
//! Each target builds a fresh appliance per input over this link, so no state (sockets,
//! leases, ARP entries) carries from one input to the next and every crash replays alone.

use std::collections::VecDeque;
use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use ipxe_config::{load, Config, Inventory, InventoryStorage, NodeRecord, PortRecord};
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, Ipv4Address};

/// The appliance's addresses, as in the server's tests.
pub const SERVER_IP: Ipv4Address = Ipv4Address::new(10, 99, 0, 1);
pub const SERVER_MAC: EthernetAddress = EthernetAddress([0x02, 0x69, 0x70, 0x78, 0x65, 0x01]);

/// Largest Ethernet frame carried (no FCS).
pub const FRAME: usize = 1514;

/// The configuration every input is served with.
pub const CONFIG: Config<'static> = Config { base_url: Some("http://10.99.0.1"), ..Config::DEFAULT };

/// `fixtures/inventory.json`, loaded on first use into storage that lives for the run.
pub fn inventory() -> &'static Inventory<'static> {
    static INVENTORY: OnceLock<Inventory<'static>> = OnceLock::new();
    INVENTORY.get_or_init(|| {
        let memory: &'static mut InventoryMemory =
            Box::leak(Box::new(InventoryMemory { nodes: [NodeRecord::EMPTY; 64], string_index: [0; 1024] }));
        let storage = InventoryStorage {
            nodes: &mut memory.nodes,
            ports: Vec::leak(vec![PortRecord::EMPTY; 64]),
            strings: Vec::leak(vec![0; 64 * 1024]),
            string_index: &mut memory.string_index,
        };
        match load(include_bytes!("../../../fixtures/inventory.json"), storage) {
            Ok(inventory) => inventory,
            Err(error) => panic!("fixtures/inventory.json does not load: {error}"),
        }
    })
}

/// The node table and the string index in one allocation that starts with the nodes,
/// which the loaded inventory points at: `LeakSanitizer` then sees the index reachable
/// too (leaked on its own, with nothing pointing at it after loading, it was reported).
#[repr(C)]
struct InventoryMemory {
    nodes: [NodeRecord; 64],
    string_index: [u32; 1024],
}

/// Frames in flight, one queue each way. Nothing is dropped or reordered: the targets
/// test the appliance, not loss recovery.
#[derive(Default)]
pub struct Wire {
    /// From the client (or the injected frames) to the appliance.
    pub to_appliance: VecDeque<Vec<u8>>,
    /// From the appliance.
    pub from_appliance: VecDeque<Vec<u8>>,
    /// Frames sent either way so far: a poll that changed it moved something.
    pub sent: u64,
}

impl Wire {
    /// The appliance's end.
    pub fn appliance_end(&mut self) -> End<'_> {
        End { rx: &mut self.to_appliance, tx: &mut self.from_appliance, sent: &mut self.sent }
    }

    /// The client's end.
    #[allow(dead_code, reason = "the DHCP target has no client interface; it queues frames itself")]
    pub fn client_end(&mut self) -> End<'_> {
        End { rx: &mut self.from_appliance, tx: &mut self.to_appliance, sent: &mut self.sent }
    }
}

/// One end of the [`Wire`]: receives from one queue, sends into the other.
pub struct End<'w> {
    rx: &'w mut VecDeque<Vec<u8>>,
    tx: &'w mut VecDeque<Vec<u8>>,
    sent: &'w mut u64,
}

impl Device for End<'_> {
    type RxToken<'a>
        = RxToken
    where
        Self: 'a;
    type TxToken<'a>
        = TxToken<'a>
    where
        Self: 'a;

    fn receive(&mut self, _timestamp: Instant) -> Option<(RxToken, TxToken<'_>)> {
        let frame = self.rx.pop_front()?;
        Some((RxToken { frame }, TxToken { queue: self.tx, sent: self.sent }))
    }

    fn transmit(&mut self, _timestamp: Instant) -> Option<TxToken<'_>> {
        Some(TxToken { queue: self.tx, sent: self.sent })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut capabilities = DeviceCapabilities::default();
        capabilities.medium = Medium::Ethernet;
        capabilities.max_transmission_unit = FRAME;
        capabilities
    }
}

pub struct RxToken {
    frame: Vec<u8>,
}

impl phy::RxToken for RxToken {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.frame)
    }
}

pub struct TxToken<'a> {
    queue: &'a mut VecDeque<Vec<u8>>,
    sent: &'a mut u64,
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        assert!(len <= FRAME, "a frame of {len} bytes, over the MTU");
        let mut frame = vec![0u8; len];
        let result = f(&mut frame);
        self.queue.push_back(frame);
        *self.sent += 1;
        result
    }
}

/// Error-level log lines so far. The appliance logs an error only for a configuration
/// it cannot serve (a script larger than its buffer, a DHCP URL over 255 bytes), never
/// for what a client sends, so any error during a run is a finding.
pub fn errors_logged() -> usize {
    ERRORS.load(Ordering::Relaxed)
}

static ERRORS: AtomicUsize = AtomicUsize::new(0);

/// Installs the logger (once): every line is formatted, so the `Display` code of access
/// lines (escaped request targets, MACs) runs on fuzzed bytes, then dropped; errors are
/// printed and counted.
pub fn install_logger() {
    static LOGGER: Formatting = Formatting;
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        if log::set_logger(&LOGGER).is_ok() {
            log::set_max_level(log::LevelFilter::Trace);
        }
    });
}

struct Formatting;

/// Counts what is written and keeps nothing.
struct Discard(usize);

impl fmt::Write for Discard {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.0 += text.len();
        Ok(())
    }
}

impl log::Log for Formatting {
    fn enabled(&self, _metadata: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let mut sink = Discard(0);
        let _ = write!(sink, "{}", record.args());
        if record.level() == log::Level::Error {
            ERRORS.fetch_add(1, Ordering::Relaxed);
            eprintln!("appliance logged an error: {}", record.args());
        }
    }

    fn flush(&self) {}
}
