//! Start-up and the serving loop.

use core::fmt::Write;

use ipxe_config::{BaseUrl, BootMode, ErrorEnding, Inventory, InventoryStorage, RenderConfig, ScriptFit};
use ipxe_config_server::dhcp::bootfile::{ArchBootFile, DEFAULT_BOOT_FILES};
use ipxe_config_server::{Appliance, ApplianceSettings, DhcpSettings, KnownMacUrl, TftpSettings};
use smoltcp::time::Duration;
use smoltcp::wire::{EthernetAddress, Ipv4Cidr};
use uefi::boot::{self, EventType, TimerTrigger, Tpl};
use uefi::proto::media::file::Directory;
use uefi::Status;

use crate::appliance::{take_memory, Memory, BOOT_FILE_SLOTS, CONNECTIONS, LEASES};
use crate::config::{self, DhcpChoice, Ending, FirmwareConfig};
use crate::esp::{self, EspFiles};
use crate::snp::{self, SnpDevice};
use crate::{clock, console};

/// After the last received frame the loop keeps polling without waiting this long: a
/// timer tick per poll (10 ms) cut artifact transfers from 19 MB/s to under 1 MB/s.
const SPIN_AFTER_FRAME: Duration = Duration::from_millis(200);
/// The longest wait when quiet: a frame that arrives meanwhile waits at most this long.
const IDLE_WAIT: Duration = Duration::from_millis(10);

/// The inventory served when the file is missing or broken: every node gets an error script.
const EMPTY_INVENTORY: &[u8] = br#"{"nodes": [], "ports": []}"#;

/// Runs the appliance; returns only if the image has no memory left to start with.
pub fn main() -> Status {
    console::install();
    let mhz = clock::calibrate();
    // Without this the firmware resets the machine 300 s after the application started.
    if let Err(error) = boot::set_watchdog_timer(0, 0x10000, None) {
        log::warn!(
            "cannot turn the firmware watchdog off ({:?}): the machine may reset after 5 minutes",
            error.status()
        );
    }
    log::info!("ipxe-config firmware {} starting (cycle counter {mhz} MHz)", env!("CARGO_PKG_VERSION"));
    let Some(memory) = take_memory() else { return Status::ABORTED };
    match start(memory) {
        Ok(never) => match never {},
        Err(message) => halt(message),
    }
}

/// A start-up failure, shown on the console until the machine is powered off.
struct Halt(heapless::String<320>);

fn halted(args: core::fmt::Arguments<'_>) -> Halt {
    let mut text = heapless::String::new();
    // Cut if longer: the start of the message names what failed.
    let _ = text.write_fmt(args);
    Halt(text)
}

fn halt(Halt(message): Halt) -> ! {
    log::error!("{message}");
    log::error!(
        "not serving; restart the machine once this is fixed (files are in {} on the boot volume)",
        esp::FOLDER
    );
    loop {
        boot::stall(core::time::Duration::from_secs(1));
    }
}

enum Never {}

fn start(memory: Memory) -> Result<Never, Halt> {
    let Memory {
        appliance: buffers,
        nodes,
        ports,
        strings,
        string_index,
        nic,
        inventory_file,
        config_file,
        script,
        base_url,
        boot_files,
    } = memory;
    let mut volume = boot::get_image_file_system(boot::image_handle()).map_err(|error| {
        halted(format_args!("cannot open the volume this image was loaded from: {:?}", error.status()))
    })?;
    let mut root: Directory = volume
        .open_volume()
        .map_err(|error| halted(format_args!("cannot open the volume's root folder: {:?}", error.status())))?;

    let text = esp::read_whole(&mut root, esp::CONFIG_FILE, config_file)
        .map_err(|error| halted(format_args!("{}: {error}", esp::CONFIG_FILE)))?;
    let config = config::parse(text).map_err(|error| halted(format_args!("{}: {error}", esp::CONFIG_FILE)))?;
    let (address, port) = (config.ip.0, config.http_port);
    let _ = write!(base_url, "{}", BaseUrl::Server { address, port });
    let render = render_config(&config, base_url.as_str());
    render.validate().map_err(|error| halted(format_args!("{}: {error}", esp::CONFIG_FILE)))?;

    let (mut device, nic) = snp::open(nic, config.nic_mac).map_err(|error| halted(format_args!("{error}")))?;
    let boot_files = boot_file_map(&config, boot_files);
    let settings = settings(&config, EthernetAddress(nic.mac), boot_files)?;
    log::info!(
        "nic mac={} filters={:#x} ({} handles connected)",
        ipxe_config::PortAddress(nic.mac),
        nic.filters,
        nic.handles_connected
    );

    let fit = ScriptFit { config: &render, scratch: script };
    let loaded = esp::read_whole(&mut root, esp::INVENTORY_FILE, inventory_file)
        .map_err(|error| halted(format_args!("{error}")))
        .and_then(|json| {
            let storage = InventoryStorage { nodes, ports, strings, string_index };
            ipxe_config::load_fitted(json, storage, fit)
                .map(|inventory| inventory.extent())
                .map_err(|error| halted(format_args!("{error}")))
        });
    let extent = match loaded {
        Ok(extent) => extent,
        Err(Halt(why)) => {
            // Not fatal: the appliance still answers DHCP and hands every node a script
            // saying it is unknown, which is what the operator then sees on the node too.
            log::error!("inventory {}: {why}", esp::INVENTORY_FILE);
            log::error!("inventory {}: not loaded, serving error scripts until it is fixed", esp::INVENTORY_FILE);
            let storage = InventoryStorage { nodes, ports, strings, string_index };
            ipxe_config::load(EMPTY_INVENTORY, storage)
                .map(|inventory| inventory.extent())
                .map_err(|error| halted(format_args!("the empty inventory: {error}")))?
        }
    };
    let inventory: Inventory<'_> = Inventory::view(nodes, ports, strings, extent);
    log::info!(
        "inventory {}: {} nodes, {} PXE ports, {} string bytes, {} quarantined",
        esp::INVENTORY_FILE,
        inventory.node_count(),
        inventory.port_count(),
        inventory.string_bytes(),
        inventory.quarantined_count()
    );
    for (uuid, why) in inventory.quarantined() {
        log::warn!("node {uuid} quarantined: {why}");
    }

    if settings.dhcp.is_some() {
        check_boot_files(&mut root, boot_files, settings.tftp.is_some());
    }
    let (storage, files) = buffers.split(EspFiles::new(root));
    let mut appliance = Appliance::new(settings, storage, files, &mut device, clock::now())
        .map_err(|error| halted(format_args!("cannot start: {error}")))?;
    let dhcp = settings.dhcp.map(|dhcp| (dhcp.first, dhcp.last));
    match dhcp {
        Some((first, last)) => log::info!(
            "ready ip={} mac={} backend=uefi-snp http_port={} dhcp={first}-{last} tftp={} connections={CONNECTIONS}",
            settings.ip,
            ipxe_config::PortAddress(settings.mac.0),
            settings.http_port,
            on_off(settings.tftp.is_some())
        ),
        None => log::info!(
            "ready ip={} mac={} backend=uefi-snp http_port={} dhcp=off tftp={} connections={CONNECTIONS}",
            settings.ip,
            ipxe_config::PortAddress(settings.mac.0),
            settings.http_port,
            on_off(settings.tftp.is_some())
        ),
    }
    // The volume's protocol stays open for the artifacts' file handles.
    serve(&mut appliance, &mut device, &inventory, &render, &volume)
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

/// The architecture map in its static slots: the file's `boot_file` lines first (the
/// first entry for an architecture wins), then the library's defaults.
fn boot_file_map(
    config: &FirmwareConfig<'static>,
    slots: &'static mut [ArchBootFile; BOOT_FILE_SLOTS],
) -> &'static [ArchBootFile] {
    let entries = config
        .boot_files
        .as_slice()
        .iter()
        .map(|&(arch, file)| ArchBootFile { arch, file })
        .chain(DEFAULT_BOOT_FILES.iter().copied());
    let mut len = 0;
    for (slot, entry) in slots.iter_mut().zip(entries) {
        *slot = entry;
        len += 1;
    }
    let slots: &'static [ArchBootFile] = slots;
    slots.get(..len).unwrap_or_default()
}

/// Warns, at start-up rather than when a machine fails to boot, about each boot file
/// the map names that is not in the artifacts folder; one line per architecture that
/// the map answers.
fn check_boot_files(root: &mut Directory, map: &[ArchBootFile], tftp: bool) {
    for (index, entry) in map.iter().enumerate() {
        let first_for_arch = map.iter().position(|other| other.arch == entry.arch) == Some(index);
        if !first_for_arch || entry.file.is_empty() {
            continue;
        }
        if esp::artifact_exists(root, entry.file) {
            log::info!("boot file arch={} file={}", entry.arch, entry.file);
        } else {
            log::warn!(
                "boot file arch={} file={} is not in {}: firmware of that architecture will not boot",
                entry.arch,
                entry.file,
                esp::ARTIFACTS_FOLDER
            );
        }
    }
    if !tftp {
        log::info!("tftp off (tftp = off): PXE firmware gets no boot file from this appliance, HTTP Boot still does");
    }
}

fn render_config<'c>(config: &FirmwareConfig<'c>, base_url: &'c str) -> RenderConfig<'c> {
    RenderConfig {
        base_url: Some(config.api_url.unwrap_or(base_url)),
        ipa_api_url: config.ipa_api_url,
        deploy_kernel: config.deploy_kernel,
        deploy_ramdisk: config.deploy_ramdisk,
        rescue_kernel: config.rescue_kernel,
        rescue_ramdisk: config.rescue_ramdisk,
        append_params: config.kernel_append_params,
        boot_mode: if config.boot_mode_uefi { BootMode::Uefi } else { BootMode::Bios },
        error_pause_seconds: config.error_pause_seconds,
        error_ending: match config.error_ending {
            Ending::Retry => ErrorEnding::Retry,
            Ending::Exit => ErrorEnding::Exit,
            Ending::Reboot => ErrorEnding::Reboot,
        },
        ..RenderConfig::DEFAULT
    }
}

fn settings(
    config: &FirmwareConfig<'_>,
    mac: EthernetAddress,
    boot_files: &'static [ArchBootFile],
) -> Result<ApplianceSettings, Halt> {
    let (address, prefix) = config.ip;
    let mut settings = ApplianceSettings::new(mac, Ipv4Cidr::new(address, prefix));
    settings.gateway = config.gateway;
    settings.http_port = config.http_port;
    settings.router_advertisements = config.router_advertisements;
    settings.clock = Some(clock::now);
    // The defaults (2 transfers of a 4-block window) are what the static buffers hold.
    settings.tftp = config.tftp.then_some(TftpSettings::DEFAULT);
    // Varies per boot: the counter's low bits at this point, mixed with the MAC.
    let mac_bits = mac.0.iter().fold(0u64, |bits, byte| bits << 8 | u64::from(*byte));
    settings.random_seed = (clock::now().total_micros().unsigned_abs()).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ mac_bits;
    let range = match config.dhcp {
        DhcpChoice::Off => None,
        DhcpChoice::Range(first, last) => Some((first, last)),
        DhcpChoice::Default => Some(config::default_range(address, prefix).ok_or_else(|| {
            halted(format_args!(
                "{}: the subnet /{prefix} is too small for the default DHCP pool; set dhcp_range or dhcp = off",
                esp::CONFIG_FILE
            ))
        })?),
    };
    if let Some((first, last)) = range {
        let pool = u64::from(u32::from(last)).saturating_sub(u64::from(u32::from(first))) + 1;
        if pool > LEASES as u64 {
            return Err(halted(format_args!(
                "{}: dhcp_range {first}-{last} holds {pool} addresses; this image has {LEASES} lease slots",
                esp::CONFIG_FILE
            )));
        }
        let mut dhcp = DhcpSettings::new(first, last);
        dhcp.router = config.gateway;
        dhcp.unknown_mac_chain = config.unknown_mac_chain;
        dhcp.boot_files = boot_files;
        dhcp.known_mac_url =
            if config.script_key_port_address { KnownMacUrl::PortAddress } else { KnownMacUrl::NodeUuid };
        settings.dhcp = Some(dhcp);
    }
    Ok(settings)
}

/// Polls forever: busy while frames arrive, then waiting on a timer between polls.
fn serve(
    appliance: &mut Appliance<'static, EspFiles>,
    device: &mut SnpDevice,
    inventory: &Inventory<'_>,
    render: &RenderConfig<'_>,
    _volume: &boot::ScopedProtocol<uefi::proto::media::fs::SimpleFileSystem>,
) -> Result<Never, Halt> {
    // SAFETY: a plain timer event with no notification function; it is never closed.
    #[allow(unsafe_code)]
    let timer = unsafe { boot::create_event(EventType::TIMER, Tpl::CALLBACK, None, None) }.ok();
    let mut seen = device.received();
    let mut last_frame = clock::now();
    loop {
        let now = clock::now();
        appliance.poll(now, device, inventory, render);
        if device.received() != seen {
            seen = device.received();
            last_frame = now;
        }
        if now - last_frame < SPIN_AFTER_FRAME {
            continue;
        }
        let delay = appliance.poll_delay(clock::now()).map_or(IDLE_WAIT, |delay| delay.min(IDLE_WAIT));
        if delay == Duration::ZERO {
            continue;
        }
        let wait = core::time::Duration::from_micros(delay.total_micros());
        let waited = timer.as_ref().is_some_and(|timer| {
            boot::set_timer(timer, TimerTrigger::Relative(wait)).is_ok()
                && boot::wait_for_event(core::slice::from_ref(timer)).is_ok()
        });
        if !waited {
            boot::stall(wait);
        }
    }
}
