//! `ipxe-config-appliance`: the appliance on a Linux host.
//!
//! Start-up loads the inventory (a file, or a first sync with Ironic's API), opens the
//! network backend and allocates every buffer once; the loop then polls the appliance,
//! waits for a frame with `poll(2)` for as long as smoltcp allows, swaps in inventories
//! that a reload or the Ironic sync thread finished, and exits cleanly on SIGINT/SIGTERM.

mod backend;
mod cli;
mod ironic;
mod log;
mod metrics;
mod reload;
mod signals;
mod watch;

use std::process::ExitCode;
use std::sync::OnceLock;

use clap::Parser;
use ipxe_config::{BaseUrl, BootMode, ErrorEnding, RenderConfig};
use ipxe_config_server::buffers::{PACKET_BYTES, PACKET_SLOTS};
use ipxe_config_server::host::{leak_buffers, DirectoryFiles};
use ipxe_config_server::http::response::HEAD_RESERVE;
use ipxe_config_server::{
    Appliance, ApplianceCapacity, ApplianceSettings, DhcpSettings, FileSource, HttpLimits, KnownMacUrl, NoFiles,
    TftpSettings,
};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, Ipv4Cidr};

use cli::{BootModeArg, Cli, ErrorEndingArg};
use ironic::worker::{SyncStats, Update};
use reload::{InventoryFile, InventoryLimits, Loaded};

const DAY_MS: u64 = 86_400_000;

/// How often the inventory file's modification time is checked.
const RELOAD_CHECK: Duration = Duration::from_secs(1);

/// Microseconds since start-up, the appliance's clock.
fn clock() -> Instant {
    static START: OnceLock<std::time::Instant> = OnceLock::new();
    let elapsed = START.get_or_init(std::time::Instant::now).elapsed();
    Instant::from_micros(i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX))
}

fn main() -> ExitCode {
    // Kept for the process's life: the sync thread renders with settings borrowed from it.
    let cli: &'static Cli = Box::leak(Box::new(Cli::parse()));
    log::install();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            ::log::error!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// The node defaults and script settings from the command line.
fn config<'a>(cli: &'a Cli, base_url: &'a str) -> Result<RenderConfig<'a>, String> {
    let defaults = &cli.defaults;
    let config = RenderConfig {
        base_url: Some(cli.api_url.as_deref().unwrap_or(base_url)),
        ipa_api_url: cli.ipa_api_url.as_deref(),
        deploy_kernel: defaults.deploy_kernel.as_deref(),
        deploy_ramdisk: defaults.deploy_ramdisk.as_deref(),
        rescue_kernel: defaults.rescue_kernel.as_deref(),
        rescue_ramdisk: defaults.rescue_ramdisk.as_deref(),
        // Built once at start-up and kept for the process's life, as the Cli is.
        by_arch: cli::by_arch(defaults).leak(),
        append_params: Some(defaults.kernel_append_params.as_str()).filter(|params| !params.is_empty()),
        ipa_debug: defaults.ipa_debug,
        ironic_http_url: defaults.ironic_http_url.as_deref(),
        boot_mode: match cli.default_boot_mode {
            BootModeArg::Bios => BootMode::Bios,
            BootModeArg::Uefi => BootMode::Uefi,
        },
        retries: defaults.retries,
        fetch_timeout_ms: defaults.fetch_timeout_ms,
        error_pause_seconds: cli.error_pause,
        error_ending: match cli.error_ending {
            ErrorEndingArg::Retry => ErrorEnding::Retry,
            ErrorEndingArg::Exit => ErrorEnding::Exit,
            ErrorEndingArg::Reboot => ErrorEnding::Reboot,
        },
        any_driver: &cli.any_driver,
        unknown_node_fallback: cli.unknown_node_fallback.as_deref(),
    };
    config.validate().map_err(|error| format!("invalid setting: {error}"))?;
    Ok(config)
}

fn settings(cli: &Cli) -> Result<ApplianceSettings, String> {
    let (address, prefix) = cli.ip;
    let ip = Ipv4Cidr::new(address, prefix);
    let mut settings = ApplianceSettings::new(EthernetAddress(cli.mac), ip);
    settings.gateway = cli.gateway;
    settings.http_port = cli.http_port;
    settings.router_advertisements = !cli.no_router_advertisements;
    settings.clock = Some(clock);
    settings.random_seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| u64::try_from(since.as_nanos() & u128::from(u64::MAX)).unwrap_or(0))
        ^ u64::from(std::process::id());
    let limits = &cli.limits;
    if limits.max_target_bytes > ipxe_config::route::MAX_TARGET {
        // The router refuses longer targets whatever the HTTP layer lets through.
        return Err(format!(
            "--max-target-bytes {} is larger than the {} bytes a request target can have",
            limits.max_target_bytes,
            ipxe_config::route::MAX_TARGET
        ));
    }
    settings.http = HttpLimits {
        max_header_bytes: limits.max_header_bytes,
        max_target_bytes: limits.max_target_bytes,
        // Capped at a day: timestamps are i64 microseconds, and longer is meaningless.
        idle_timeout: Duration::from_millis(limits.idle_timeout_ms.min(DAY_MS)),
        request_deadline: Duration::from_millis(limits.request_deadline_ms.min(DAY_MS)),
        max_connections_per_client: usize::try_from(limits.max_connections_per_client).unwrap_or(usize::MAX),
        // Measured over the default one-second window.
        send_progress_bytes: limits.min_send_rate,
        closing_timeout: Duration::from_millis(limits.closing_timeout_ms.min(DAY_MS)),
        ..HttpLimits::DEFAULT
    };
    if !cli.no_dhcp {
        let mut dhcp = if cli.firmware.proxy_dhcp {
            DhcpSettings::proxy()
        } else {
            let (first, last) = match cli.dhcp_range {
                Some(range) => range,
                None => cli::default_range(address, prefix)
                    .ok_or("the subnet is too small for a DHCP pool; give --dhcp-range or --no-dhcp")?,
            };
            DhcpSettings::new(first, last)
        };
        dhcp.lease_seconds = cli.lease_seconds;
        dhcp.router = cli.gateway;
        dhcp.unknown_mac_chain = cli.unknown_mac_chain;
        dhcp.known_mac_url = match cli.dhcp_script_key {
            cli::ScriptKeyArg::NodeUuid => KnownMacUrl::NodeUuid,
            cli::ScriptKeyArg::PortAddress => KnownMacUrl::PortAddress,
        };
        dhcp.boot_files = cli::boot_files(&cli.firmware.boot_file);
        settings.dhcp = Some(dhcp);
    }
    if !cli.firmware.no_tftp {
        let window = u16::try_from(cli.firmware.tftp_window).unwrap_or(u16::MAX);
        settings.tftp = Some(TftpSettings { max_window: window, ..TftpSettings::DEFAULT });
    }
    Ok(settings)
}

/// Most addresses a DHCP pool may hold: a /16's worth. Each takes a lease slot, allocated
/// at start-up.
const MAX_DHCP_POOL: u64 = 65_536;

/// The appliance's buffer sizes from the command line.
fn appliance_capacity(cli: &Cli, settings: &ApplianceSettings) -> Result<ApplianceCapacity, String> {
    let limits = &cli.limits;
    let pool = match settings.dhcp {
        Some(dhcp) if dhcp.proxy => 0,
        Some(dhcp) => {
            // In u64: 0.0.0.0-255.255.255.255 holds 2^32 addresses, one more than a u32 counts.
            let pool = u64::from(u32::from(dhcp.last)).saturating_sub(u64::from(u32::from(dhcp.first))) + 1;
            if pool > MAX_DHCP_POOL {
                return Err(format!(
                    "DHCP range {}-{} holds {pool} addresses; at most {MAX_DHCP_POOL} (a /16) are supported",
                    dhcp.first, dhcp.last
                ));
            }
            usize::try_from(pool).map_err(|_| format!("DHCP range of {pool} addresses does not fit in memory"))?
        }
        None => 0,
    };
    let proxy = settings.dhcp.is_some_and(|dhcp| dhcp.proxy);
    Ok(ApplianceCapacity {
        connections: limits.max_connections,
        // A socket's receive buffer must hold a whole request head.
        tcp_rx_bytes: limits.tcp_rx_bytes.max(limits.max_header_bytes),
        tcp_tx_bytes: limits.tcp_tx_bytes,
        response_bytes: limits.response_bytes,
        request_scratch_bytes: limits.max_header_bytes,
        // One slot per pool address.
        dhcp_leases: pool,
        tftp_transfers: if settings.tftp.is_some() {
            usize::try_from(cli.firmware.tftp_transfers).unwrap_or(1)
        } else {
            0
        },
        tftp_window_blocks: usize::try_from(cli.firmware.tftp_window).unwrap_or(1),
        // ProxyDHCP's ports 67 and 4011 share the DHCP socket's buffers.
        packet_bytes: if proxy { 2 * PACKET_BYTES } else { PACKET_BYTES },
        packet_slots: if proxy { 2 * PACKET_SLOTS } else { PACKET_SLOTS },
    })
}

/// Where inventories come from after start-up.
enum Source {
    /// The `--inventory` file, reloaded when it changes or on SIGHUP; `watched` carries
    /// what the inotify thread loaded.
    File { file: InventoryFile, watched: Option<std::sync::mpsc::Receiver<watch::FileUpdate>> },
    /// The Ironic sync thread's finished inventories.
    Ironic { updates: std::sync::mpsc::Receiver<Update>, stats: std::sync::Arc<SyncStats> },
}

fn run(cli: &'static Cli) -> Result<(), String> {
    signals::install().map_err(|error| format!("cannot install signal handlers: {error}"))?;
    let limits = InventoryLimits {
        nodes: cli.capacity.max_nodes,
        ports: cli.capacity.max_ports,
        string_bytes: cli.capacity.string_pool_bytes,
    };
    let base_url: &'static str = BaseUrl::Server { address: cli.ip.0, port: cli.http_port }.to_string().leak();
    let config = config(cli, base_url)?;
    let settings = settings(cli)?;
    // A script must fit the body area of a connection's response buffer.
    let script_bytes = cli.limits.response_bytes.saturating_sub(HEAD_RESERVE);
    let (mut current, mut source) = match (&cli.inventory, &cli.ironic.ironic_url) {
        (Some(path), _) => {
            let (file, loaded) = InventoryFile::open(path, limits, &config, script_bytes)
                .map_err(|error| format!("inventory {}: {error}", path.display()))?;
            {
                let inventory = loaded.inventory();
                ::log::info!(
                    "inventory {}: {} nodes, {} PXE ports, {} string bytes{}",
                    path.display(),
                    inventory.node_count(),
                    inventory.port_count(),
                    inventory.string_bytes(),
                    reload::quarantine_report(&inventory)
                );
            }
            let watched = match watch::watch(path, limits, config, script_bytes) {
                Ok(updates) => Some(updates),
                Err(error) => {
                    ::log::warn!("cannot watch {} with inotify ({error}); checking it every second", path.display());
                    None
                }
            };
            (loaded, Source::File { file, watched })
        }
        (None, Some(url)) => {
            let build = Box::new(move |json: &[u8]| Loaded::from_json(json, limits, &config, script_bytes));
            let started = ironic::setup::start(url, &cli.ironic, build)?;
            log_synced(&started.first, &started.report);
            (started.first, Source::Ironic { updates: started.updates, stats: started.stats })
        }
        (None, None) => return Err("give --inventory or --ironic-url".into()),
    };
    let metrics = match cli.metrics_listen {
        Some(address) => {
            let sync = match &source {
                Source::Ironic { stats, .. } => Some(std::sync::Arc::clone(stats)),
                Source::File { .. } => None,
            };
            let metrics = metrics::Metrics::new(sync);
            metrics::serve(address, metrics.clone()).map_err(|error| format!("--metrics-listen {address}: {error}"))?;
            Some(metrics)
        }
        None => None,
    };
    let (mut device, backend_name) =
        backend::open(&cli.backend).map_err(|error| format!("cannot open the network backend: {error}"))?;
    let buffers = appliance_capacity(cli, &settings)?;
    match &cli.http_root {
        Some(root) => {
            let files =
                DirectoryFiles::open(root).map_err(|error| format!("--http-root {}: {error}", root.display()))?;
            serve(
                settings,
                buffers,
                files,
                &mut device,
                backend_name,
                &config,
                &mut current,
                &mut source,
                metrics.as_ref(),
            )
        }
        None => serve(
            settings,
            buffers,
            NoFiles,
            &mut device,
            backend_name,
            &config,
            &mut current,
            &mut source,
            metrics.as_ref(),
        ),
    }
}

fn log_synced(loaded: &Loaded, report: &str) {
    let inventory = loaded.inventory();
    ::log::info!(
        "inventory synced from Ironic ({report}): {} nodes, {} PXE ports{}",
        inventory.node_count(),
        inventory.port_count(),
        reload::quarantine_report(&inventory)
    );
}

#[allow(clippy::too_many_arguments)] // reason: the start-up values, each used once; a struct would only rename them
fn serve<F: FileSource<File: 'static>>(
    settings: ApplianceSettings,
    capacity: ApplianceCapacity,
    files: F,
    device: &mut backend::FrameDevice,
    backend_name: &str,
    config: &RenderConfig<'_>,
    current: &mut Loaded,
    source: &mut Source,
    metrics: Option<&metrics::Metrics>,
) -> Result<(), String> {
    let (storage, files) = leak_buffers(&capacity, files);
    let mut appliance =
        Appliance::new(settings, storage, files, device, clock()).map_err(|error| format!("cannot start: {error}"))?;
    let dhcp = match settings.dhcp {
        Some(dhcp) if dhcp.proxy => "proxy".to_owned(),
        Some(dhcp) => format!("{}-{}", dhcp.first, dhcp.last),
        None => "off".to_owned(),
    };
    ::log::info!(
        "ready ip={} mac={} backend={} http_port={} dhcp={} tftp={} connections={} buffers={} bytes",
        settings.ip,
        ipxe_config::PortAddress(settings.mac.0),
        backend_name,
        settings.http_port,
        dhcp,
        if settings.tftp.is_some() { "on" } else { "off" },
        capacity.connections,
        capacity.total_bytes()
    );
    // A line on stderr whatever RUST_LOG says: scripts and tests wait for it.
    eprintln!("ready ip={} backend={}", settings.ip.address(), backend_name);
    let mut next_check = clock() + RELOAD_CHECK;
    while !signals::stop_requested() {
        let now = clock();
        let hangup = signals::take_reload();
        match source {
            Source::File { file, watched } => {
                // Before the poll, so a request that woke the loop sees the new file.
                while let Some(update) = watched.as_ref().and_then(|updates| updates.try_recv().ok()) {
                    file.watched(update.modified);
                    swap(file, current, update.loaded, "file replaced");
                }
                if hangup || (now >= next_check && file.changed_on_disk()) {
                    reload(file, current, config, hangup);
                }
            }
            Source::Ironic { updates, stats } => {
                // Before the poll, so a request that woke the loop sees the newest sync.
                while let Ok(update) = updates.try_recv() {
                    *current = update.loaded;
                    log_synced(current, &update.report);
                }
                if hangup {
                    let age = stats.age_seconds().map_or("none yet".to_owned(), |age| format!("{age:.1} s ago"));
                    ::log::info!("SIGHUP: the inventory follows Ironic (last good sync {age}), nothing to reload");
                }
            }
        }
        if now >= next_check {
            next_check = now + RELOAD_CHECK;
            if let Some(metrics) = metrics {
                let inventory = current.inventory();
                metrics.publish(metrics::Snapshot {
                    requests: appliance.request_counts().clone(),
                    leases: appliance.leases_bound(now),
                    nodes: inventory.node_count(),
                    ports: inventory.port_count(),
                    quarantined: inventory.quarantined_count(),
                });
            }
        }
        appliance.poll(now, device, &current.inventory(), config);
        if let Some(error) = device.failure() {
            return Err(format!("network link failed: {error}"));
        }
        let delay = appliance.poll_delay(clock()).map_or(RELOAD_CHECK, |delay| delay.min(RELOAD_CHECK));
        if delay > Duration::ZERO {
            device.wait(Some(delay));
        }
    }
    ::log::info!("stopping on signal");
    Ok(())
}

fn reload(file: &mut InventoryFile, current: &mut Loaded, config: &RenderConfig<'_>, hangup: bool) {
    let why = if hangup { "SIGHUP" } else { "file changed" };
    let loaded = file.reload(config);
    swap(file, current, loaded, why);
}

/// Swaps a loaded file in, or keeps the current inventory and says why not.
fn swap(file: &InventoryFile, current: &mut Loaded, loaded: Result<Loaded, reload::ReloadError>, why: &str) {
    match loaded {
        Ok(loaded) => {
            *current = loaded;
            let inventory = current.inventory();
            ::log::info!(
                "inventory reloaded ({why}): {} nodes, {} PXE ports{}",
                inventory.node_count(),
                inventory.port_count(),
                reload::quarantine_report(&inventory)
            );
        }
        Err(error) => {
            ::log::error!(
                "inventory {} not reloaded ({why}), keeping the previous one: {error}",
                file.path().display()
            );
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // reason: test code, where a panic is a failure
mod tests {
    use super::*;

    fn cli(extra: &[&str]) -> Cli {
        let base = ["ipxe-config-appliance", "--inventory", "inventory.json", "--tap", "tap0"];
        Cli::try_parse_from(base.iter().chain(extra)).unwrap()
    }

    /// The lease table's size for these options, or why they are refused.
    fn leases(extra: &[&str]) -> Result<usize, String> {
        let cli = cli(extra);
        let settings = settings(&cli)?;
        appliance_capacity(&cli, &settings).map(|capacity| capacity.dhcp_leases)
    }

    #[test]
    fn a_dhcp_range_of_the_whole_address_space_is_refused_cleanly() {
        let error = leases(&["--ip", "10.0.0.1/0", "--dhcp-range", "0.0.0.0-255.255.255.255"]).unwrap_err();
        assert!(error.contains("4294967296 addresses"), "{error}");
    }

    #[test]
    fn dhcp_pools_up_to_a_slash_16_get_a_lease_slot_each() {
        assert_eq!(leases(&["--ip", "10.0.0.1/8", "--dhcp-range", "10.1.0.0-10.1.255.255"]), Ok(65_536));
        assert!(leases(&["--ip", "10.0.0.1/8", "--dhcp-range", "10.1.0.0-10.2.0.0"]).is_err());
        assert_eq!(leases(&["--no-dhcp"]), Ok(0));
        assert_eq!(leases(&[]), Ok(100), "the default pool, .100-.199");
    }

    #[test]
    fn max_target_bytes_beyond_the_router_limit_is_refused() {
        assert!(settings(&cli(&["--max-target-bytes", "1024"])).is_ok());
        let error = settings(&cli(&["--max-target-bytes", "1025"])).unwrap_err();
        assert!(error.contains("--max-target-bytes 1025"), "{error}");
    }
}
