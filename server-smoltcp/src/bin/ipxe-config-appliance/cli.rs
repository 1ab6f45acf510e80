//! Command-line options.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use clap::{Args, Parser, ValueEnum};

/// Serve iPXE boot scripts (and DHCP for iPXE clients) from an Ironic-shaped inventory,
/// on a TCP/IP stack of its own attached to a TAP device, a raw socket or QEMU.
#[derive(Debug, Parser)]
#[command(name = "ipxe-config-appliance", version)]
pub struct Cli {
    /// Inventory JSON (`{"nodes": […], "ports": […]}`, Ironic API shapes). Reloaded on
    /// SIGHUP, as soon as the file is closed after writing or renamed into place
    /// (inotify), and when its modification time changes. Or give `--ironic-url`.
    #[arg(long, value_name = "FILE", required_unless_present = "ironic_url", conflicts_with = "ironic_url")]
    pub inventory: Option<PathBuf>,

    #[command(flatten)]
    pub ironic: IronicArgs,

    #[command(flatten)]
    pub backend: BackendArgs,

    /// The appliance's address and prefix.
    #[arg(long, value_name = "ADDR/PREFIX", default_value = "10.99.0.1/24", value_parser = parse_cidr)]
    pub ip: (Ipv4Addr, u8),

    /// The appliance's MAC (default: a locally administered address).
    #[arg(long, value_name = "MAC", default_value = "02:69:70:78:65:01", value_parser = parse_mac)]
    pub mac: [u8; 6],

    /// Router handed to DHCP clients, and the appliance's own default route.
    #[arg(long, value_name = "ADDR")]
    pub gateway: Option<Ipv4Addr>,

    /// DHCP pool (default: .100–.199 of the subnet, or its upper half if smaller).
    #[arg(long, value_name = "FIRST-LAST", value_parser = parse_range, conflicts_with = "no_dhcp")]
    pub dhcp_range: Option<(Ipv4Addr, Ipv4Addr)>,

    /// Do not run the DHCP server (another server chains clients here).
    #[arg(long)]
    pub no_dhcp: bool,

    /// DHCP lease time.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    pub lease_seconds: u32,

    /// How DHCP replies name a known node in the script URL: by its UUID, or by the MAC
    /// iPXE reports (`?port_address=${mac}`, as an external DHCP server would).
    #[arg(long, value_enum, default_value = "node-uuid")]
    pub dhcp_script_key: ScriptKeyArg,

    /// Hand MACs the inventory does not know `/boot.ipxe` instead of the per-MAC URL.
    #[arg(long)]
    pub unknown_mac_chain: bool,

    #[command(flatten)]
    pub firmware: FirmwareArgs,

    /// Do not answer IPv6 router solicitations (iPXE then waits ~16 s per NIC).
    #[arg(long)]
    pub no_router_advertisements: bool,

    /// Base URL written into DHCP replies and chain scripts (default `http://<ip>`).
    #[arg(long, value_name = "URL")]
    pub api_url: Option<String>,

    /// Ironic API URL passed to the deploy ramdisk as `ipa-api-url=`.
    #[arg(long, value_name = "URL")]
    pub ipa_api_url: Option<String>,

    #[command(flatten)]
    pub defaults: NodeDefaults,

    /// How error scripts end after their pause.
    #[arg(long, value_enum, default_value = "reboot")]
    pub error_ending: ErrorEndingArg,

    /// Seconds an error script waits so the console can be read.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub error_pause: u16,

    /// Boot mode for nodes whose `boot_mode` is null.
    #[arg(long, value_enum, default_value = "uefi")]
    pub default_boot_mode: BootModeArg,

    /// Driver name for unknown MACs and `/boot.ipxe`; requests naming it are served
    /// whatever the node's driver.
    #[arg(long, value_name = "NAME", default_value = "any")]
    pub any_driver: String,

    /// Script for machines no node owns (Ironic's `ipxe_fallback_script`), e.g. a
    /// discovery ramdisk's: a URL, or a path on this server (`inspector.ipxe`). Chained
    /// by `/boot.ipxe` when no NIC is known, and by the answer for an unknown MAC or UUID.
    #[arg(long, value_name = "URL-OR-PATH")]
    pub unknown_node_fallback: Option<String>,

    /// Serve other paths (kernels, initrds) from this directory.
    #[arg(long, value_name = "DIR")]
    pub http_root: Option<PathBuf>,

    /// HTTP port.
    #[arg(long, default_value_t = 80)]
    pub http_port: u16,

    /// Serve Prometheus metrics at `http://ADDR:PORT/metrics` on a host socket (not the
    /// appliance's own stack; off unless given). Bind it to a management address.
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics_listen: Option<std::net::SocketAddr>,

    #[command(flatten)]
    pub limits: LimitArgs,

    #[command(flatten)]
    pub capacity: CapacityArgs,
}

/// Booting firmware that is not iPXE: PXE ROMs over TFTP, UEFI HTTP Boot.
#[derive(Debug, Args)]
pub struct FirmwareArgs {
    /// The iPXE binary (a path under --http-root) handed to firmware whose DHCP client
    /// architecture (option 93) is ARCH: over TFTP to PXE ROMs, over HTTP to UEFI HTTP
    /// Boot. Repeatable; adds to or replaces the defaults 0=undionly.kpxe,
    /// 7=snponly.efi, 9=snponly.efi, 11=arm64/snponly.efi, 16=snponly.efi,
    /// 19=arm64/snponly.efi. `ARCH=` (no file) leaves that architecture unanswered.
    #[arg(long, value_name = "ARCH=FILE", value_parser = parse_boot_file)]
    pub boot_file: Vec<(u16, String)>,

    /// ProxyDHCP: the site's DHCP server hands out addresses; answer PXE, HTTP Boot and
    /// iPXE clients with boot information only (no address), on ports 67 and 4011.
    #[arg(long, conflicts_with_all = ["no_dhcp", "dhcp_range"])]
    pub proxy_dhcp: bool,

    /// Do not run the TFTP server (PXE firmware is then left to another server).
    #[arg(long)]
    pub no_tftp: bool,

    /// Concurrent TFTP transfers.
    #[arg(long, value_name = "COUNT", default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub tftp_transfers: u64,

    /// Most blocks a TFTP transfer has in flight (RFC 7440 windowsize granted).
    #[arg(long, value_name = "BLOCKS", default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub tftp_window: u64,
}

/// Ironic's API as the inventory source.
#[derive(Debug, Args)]
pub struct IronicArgs {
    /// Take the inventory from Ironic's API at URL (`http://ironic:6385`): a full sync
    /// at start-up and every `--ironic-full-sync-seconds`, and a poll for changed nodes
    /// every `--ironic-poll-ms`, in a background thread.
    #[arg(long, value_name = "URL")]
    pub ironic_url: Option<String>,
    /// How to authenticate to Ironic.
    #[arg(long, value_enum, default_value = "none", requires = "ironic_url")]
    pub ironic_auth: AuthArg,
    /// User for `--ironic-auth http-basic`.
    #[arg(long, value_name = "NAME", required_if_eq("ironic_auth", "http-basic"))]
    pub ironic_user: Option<String>,
    /// File holding the password for `--ironic-auth http-basic` (one line).
    #[arg(long, value_name = "FILE", required_if_eq("ironic_auth", "http-basic"))]
    pub ironic_password_file: Option<PathBuf>,
    /// Keystone's URL for `--ironic-auth keystone` (`https://keystone:5000`, with or
    /// without `/v3`).
    #[arg(long, value_name = "URL", required_if_eq("ironic_auth", "keystone"))]
    pub keystone_url: Option<String>,
    /// Application credential ID (with `--keystone-application-credential-secret-file`).
    #[arg(long, value_name = "ID", conflicts_with = "keystone_username")]
    pub keystone_application_credential_id: Option<String>,
    /// File holding the application credential's secret.
    #[arg(long, value_name = "FILE", requires = "keystone_application_credential_id")]
    pub keystone_application_credential_secret_file: Option<PathBuf>,
    /// Keystone user, for a password token (with `--keystone-password-file` and
    /// `--keystone-project`).
    #[arg(long, value_name = "NAME")]
    pub keystone_username: Option<String>,
    /// File holding the Keystone user's password.
    #[arg(long, value_name = "FILE", requires = "keystone_username")]
    pub keystone_password_file: Option<PathBuf>,
    /// Project the password token is scoped to.
    #[arg(long, value_name = "NAME", requires = "keystone_username")]
    pub keystone_project: Option<String>,
    /// Domain of the Keystone user.
    #[arg(long, value_name = "NAME", default_value = "Default")]
    pub keystone_user_domain: String,
    /// Domain of the Keystone project.
    #[arg(long, value_name = "NAME", default_value = "Default")]
    pub keystone_project_domain: String,
    /// Trust only the PEM certificates in FILE for Ironic's and Keystone's TLS (default:
    /// the system's roots).
    #[arg(long, value_name = "FILE", requires = "ironic_url")]
    pub ironic_ca: Option<PathBuf>,
    /// Serve only the nodes of this conductor group.
    #[arg(long, value_name = "NAME", requires = "ironic_url")]
    pub conductor_group: Option<String>,
    /// Serve only the nodes of this shard.
    #[arg(long, value_name = "NAME", requires = "ironic_url")]
    pub shard: Option<String>,
    /// Between polls for changed nodes: a change made in Ironic reaches requests within
    /// about this long (plus one request's time).
    #[arg(long, value_name = "MS", default_value_t = 250, value_parser = clap::value_parser!(u64).range(10..))]
    pub ironic_poll_ms: u64,
    /// Between full syncs (the only way to see deleted nodes and ports, and changed ports).
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub ironic_full_sync_seconds: u64,
    /// Between attempts while Ironic is unreachable.
    #[arg(long, value_name = "MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..))]
    pub ironic_retry_ms: u64,
    /// Longest wait for one answer of Ironic's (or Keystone's).
    #[arg(long, value_name = "MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub ironic_timeout_ms: u64,
    /// Records per page of a full sync.
    #[arg(long, value_name = "COUNT", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub ironic_page_size: u64,
}

/// `--ironic-auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthArg {
    /// No credentials (Ironic's `auth_strategy = noauth`).
    None,
    /// HTTP basic (`auth_strategy = http_basic`): `--ironic-user`, `--ironic-password-file`.
    HttpBasic,
    /// A Keystone v3 token: `--keystone-url` and an application credential or a password.
    Keystone,
}

/// Exactly one network backend.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct BackendArgs {
    /// Attach to (or create) the TAP device NAME.
    #[arg(long, value_name = "NAME")]
    pub tap: Option<String>,

    /// Send and receive raw Ethernet frames on the host interface IFACE (promiscuous).
    #[arg(long, value_name = "IFACE")]
    pub raw_socket: Option<String>,

    /// An inherited AF_UNIX SOCK_DGRAM descriptor carrying one Ethernet frame per
    /// datagram (the other end given to QEMU `-netdev dgram,local.type=fd`).
    #[arg(long, value_name = "FD")]
    pub qemu_dgram_fd: Option<i32>,

    /// Bind a unix datagram socket at PATH; frames go back to whoever sent the last one
    /// (QEMU `-netdev dgram,…,remote.type=unix,remote.path=PATH`).
    #[arg(long, value_name = "PATH")]
    pub qemu_dgram: Option<PathBuf>,
}

/// Defaults for nodes that lack a value.
#[derive(Debug, Args)]
pub struct NodeDefaults {
    /// Deploy kernel for nodes without `driver_info.deploy_kernel`.
    #[arg(long, value_name = "URL")]
    pub deploy_kernel: Option<String>,
    /// Deploy ramdisk for nodes without `driver_info.deploy_ramdisk`.
    #[arg(long, value_name = "URL")]
    pub deploy_ramdisk: Option<String>,
    /// Rescue kernel for nodes without `driver_info.rescue_kernel`.
    #[arg(long, value_name = "URL")]
    pub rescue_kernel: Option<String>,
    /// Rescue ramdisk for nodes without `driver_info.rescue_ramdisk`.
    #[arg(long, value_name = "URL")]
    pub rescue_ramdisk: Option<String>,
    /// Ironic's `[pxe]kernel_append_params`: for nodes without `kernel_append_params`
    /// in `instance_info` or `driver_info`, and what `%default%` in theirs stands for.
    /// `""` for none.
    #[arg(long, value_name = "PARAMS", default_value = ipxe_config::config::IRONIC_APPEND_PARAMS)]
    pub kernel_append_params: String,
    /// Ironic's `[DEFAULT]debug`: add `ipa-debug=1` to ramdisk kernel lines that do not
    /// mention `ipa-debug`.
    #[arg(long)]
    pub ipa_debug: bool,
    /// Ironic's `[deploy]http_url`: image references that are not http(s) URLs (Glance
    /// UUIDs, `file://`) are booted from Ironic's copy, `URL/<node uuid>/<label>`.
    /// Without it such nodes get an error script.
    #[arg(long, value_name = "URL")]
    pub ironic_http_url: Option<String>,
    /// Deploy kernel for nodes whose `properties.cpu_arch` is ARCH (Ironic's
    /// `[conductor]deploy_kernel_by_arch`); repeatable.
    #[arg(long, value_name = "ARCH=URL", value_parser = parse_arch_url)]
    pub deploy_kernel_by_arch: Vec<(String, String)>,
    /// Deploy ramdisk by `properties.cpu_arch` (`[conductor]deploy_ramdisk_by_arch`).
    #[arg(long, value_name = "ARCH=URL", value_parser = parse_arch_url)]
    pub deploy_ramdisk_by_arch: Vec<(String, String)>,
    /// Rescue kernel by `properties.cpu_arch` (`[conductor]rescue_kernel_by_arch`).
    #[arg(long, value_name = "ARCH=URL", value_parser = parse_arch_url)]
    pub rescue_kernel_by_arch: Vec<(String, String)>,
    /// Rescue ramdisk by `properties.cpu_arch` (`[conductor]rescue_ramdisk_by_arch`).
    #[arg(long, value_name = "ARCH=URL", value_parser = parse_arch_url)]
    pub rescue_ramdisk_by_arch: Vec<(String, String)>,
    /// Retries of a failed kernel/initrd fetch.
    #[arg(long, default_value_t = 10)]
    pub retries: u16,
    /// `--timeout` for image fetches.
    #[arg(long, value_name = "MS")]
    pub fetch_timeout_ms: Option<u32>,
}

/// HTTP limits.
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Concurrent HTTP connections (the socket pool's size).
    #[arg(long, default_value_t = 32)]
    pub max_connections: usize,
    /// Close connections idle (or not reading) this long.
    #[arg(long, value_name = "MS", default_value_t = 30_000)]
    pub idle_timeout_ms: u64,
    /// A request head must arrive within this long (`408`).
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    pub request_deadline_ms: u64,
    /// Connections one client address may hold (a NAT in front of many clients may need more).
    #[arg(long, value_name = "COUNT", default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections_per_client: u64,
    /// When clients wait for a socket, a response sending less than this many bytes per
    /// second may be reset to make room (never without such pressure).
    #[arg(long, value_name = "BYTES", default_value_t = 16_384)]
    pub min_send_rate: u64,
    /// Reset a connection we closed whose peer never closes its side (FIN-WAIT-2).
    #[arg(long, value_name = "MS", default_value_t = 2_000)]
    pub closing_timeout_ms: u64,
    /// Longest request head (`431`).
    #[arg(long, value_name = "BYTES", default_value_t = 4096)]
    pub max_header_bytes: usize,
    /// Longest request target (`414`); at most 1024, the router's own limit.
    #[arg(long, value_name = "BYTES", default_value_t = 1024)]
    pub max_target_bytes: usize,
    /// TCP receive buffer per connection.
    #[arg(long, value_name = "BYTES", default_value_t = 8192)]
    pub tcp_rx_bytes: usize,
    /// TCP send buffer per connection (the most in flight per client). 512 KiB keeps eight
    /// full segments in flight on a link with a 64 KiB MTU; at 64 KiB one segment would
    /// wait for its ACK before the next could go.
    #[arg(long, value_name = "BYTES", default_value_t = 524_288)]
    pub tcp_tx_bytes: usize,
    /// Response buffer per connection: the longest script plus 256 bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 16384)]
    pub response_bytes: usize,
}

/// Inventory capacity.
#[derive(Debug, Args)]
pub struct CapacityArgs {
    /// Node slots.
    #[arg(long, default_value_t = 4096)]
    pub max_nodes: usize,
    /// PXE-enabled port slots.
    #[arg(long, default_value_t = 16384)]
    pub max_ports: usize,
    /// String pool bytes (default: the inventory file's length, always enough).
    #[arg(long, value_name = "BYTES")]
    pub string_pool_bytes: Option<usize>,
}

/// `--dhcp-script-key`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ScriptKeyArg {
    /// `?node_uuid=<uuid>`.
    NodeUuid,
    /// `?port_address=${mac}`.
    PortAddress,
}

/// `--error-ending`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ErrorEndingArg {
    /// Chain the same URL again.
    Retry,
    /// `exit 1`.
    Exit,
    /// `reboot`.
    Reboot,
}

/// `--default-boot-mode`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum BootModeArg {
    /// Legacy BIOS.
    Bios,
    /// UEFI.
    Uefi,
}

fn parse_cidr(text: &str) -> Result<(Ipv4Addr, u8), String> {
    let (address, prefix) = text.split_once('/').ok_or("expected ADDR/PREFIX, e.g. 10.99.0.1/24")?;
    let address: Ipv4Addr = address.parse().map_err(|e| format!("{address}: {e}"))?;
    let prefix: u8 = prefix.parse().map_err(|e| format!("{prefix}: {e}"))?;
    if prefix > 32 {
        return Err("prefix longer than 32".into());
    }
    Ok((address, prefix))
}

fn parse_mac(text: &str) -> Result<[u8; 6], String> {
    ipxe_config::PortAddress::parse(text.as_bytes()).map(|address| address.0).map_err(|e| e.to_string())
}

fn parse_arch_url(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((arch, url)) if !arch.is_empty() && !url.is_empty() => Ok((arch.to_owned(), url.to_owned())),
        _ => Err("expected ARCH=URL, e.g. aarch64=http://10.99.0.1/ipa-aarch64.kernel".into()),
    }
}

/// The `--*-by-arch` lists as one table, an entry per architecture.
pub fn by_arch(defaults: &NodeDefaults) -> Vec<ipxe_config::config::ArchImages<'_>> {
    let mut table: Vec<ipxe_config::config::ArchImages<'_>> = Vec::new();
    let lists = [
        &defaults.deploy_kernel_by_arch,
        &defaults.deploy_ramdisk_by_arch,
        &defaults.rescue_kernel_by_arch,
        &defaults.rescue_ramdisk_by_arch,
    ];
    for (which, list) in lists.into_iter().enumerate() {
        for (arch, url) in list {
            let index = table.iter().position(|images| images.arch == arch.as_str()).unwrap_or_else(|| {
                table.push(ipxe_config::config::ArchImages::new(arch));
                table.len() - 1
            });
            if let Some(images) = table.get_mut(index) {
                let slot = match which {
                    0 => &mut images.deploy_kernel,
                    1 => &mut images.deploy_ramdisk,
                    2 => &mut images.rescue_kernel,
                    _ => &mut images.rescue_ramdisk,
                };
                *slot = Some(url.as_str());
            }
        }
    }
    table
}

fn parse_boot_file(text: &str) -> Result<(u16, String), String> {
    let (arch, file) = text.split_once('=').ok_or("expected ARCH=FILE, e.g. 7=snponly.efi")?;
    let arch: u16 = arch.trim().parse().map_err(|e| format!("architecture {arch:?}: {e} (a number, 0-65535)"))?;
    let file = file.strip_prefix('/').unwrap_or(file);
    if !file.is_empty() {
        // The name goes into option 67 and, for HTTP Boot, into a URL unescaped.
        let url_safe = file.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~/+".contains(&b));
        if ipxe_config_server::FilePath::relative(file).is_err() || !url_safe || file.len() > 200 {
            return Err(format!(
                "boot file {file:?}: a plain path under --http-root (letters, digits, - . _ ~ / +), at most 200 bytes"
            ));
        }
    }
    Ok((arch, file.to_owned()))
}

/// The architecture map: the `--boot-file` entries first (so they win), then the defaults.
pub fn boot_files(given: &[(u16, String)]) -> &'static [ipxe_config_server::dhcp::bootfile::ArchBootFile] {
    use ipxe_config_server::dhcp::bootfile::{ArchBootFile, DEFAULT_BOOT_FILES};
    let mut map: Vec<ArchBootFile> =
        given.iter().map(|(arch, file)| ArchBootFile { arch: *arch, file: String::leak(file.clone()) }).collect();
    map.extend_from_slice(DEFAULT_BOOT_FILES);
    // Built once at start-up and kept for the process's life.
    map.leak()
}

fn parse_range(text: &str) -> Result<(Ipv4Addr, Ipv4Addr), String> {
    let (first, last) = text.split_once('-').ok_or("expected FIRST-LAST")?;
    let first: Ipv4Addr = first.trim().parse().map_err(|e| format!("{first}: {e}"))?;
    let last: Ipv4Addr = last.trim().parse().map_err(|e| format!("{last}: {e}"))?;
    if u32::from(first) > u32::from(last) {
        return Err("the range is reversed".into());
    }
    Ok((first, last))
}

/// The default DHCP pool inside `address/prefix`.
pub fn default_range(address: Ipv4Addr, prefix: u8) -> Option<(Ipv4Addr, Ipv4Addr)> {
    if prefix > 30 {
        return None;
    }
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
    let network = u32::from(address) & mask;
    let broadcast = network | !mask;
    let hosts = broadcast - network - 1;
    let (first, last) =
        if hosts >= 200 { (network + 100, network + 199) } else { (network + hosts / 2 + 1, broadcast - 1) };
    Some((Ipv4Addr::from(first), Ipv4Addr::from(last)))
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)] // reason: test code, where a panic is a failure
mod tests {
    use super::*;

    #[test]
    fn default_ranges() {
        let a = Ipv4Addr::new(10, 99, 0, 1);
        assert_eq!(default_range(a, 24), Some((Ipv4Addr::new(10, 99, 0, 100), Ipv4Addr::new(10, 99, 0, 199))));
        assert_eq!(default_range(a, 28), Some((Ipv4Addr::new(10, 99, 0, 8), Ipv4Addr::new(10, 99, 0, 14))));
        assert_eq!(default_range(a, 31), None);
    }

    #[test]
    fn boot_files_override_the_defaults() {
        use ipxe_config_server::dhcp::bootfile::boot_file_for;
        let given = [parse_boot_file("7=ipxe.efi").unwrap(), parse_boot_file("0=").unwrap()];
        let map = boot_files(&given);
        assert_eq!(boot_file_for(map, 7), Some("ipxe.efi"));
        assert_eq!(boot_file_for(map, 0), None);
        assert_eq!(boot_file_for(map, 16), Some("snponly.efi"));
        for bad in ["x=a", "7", "7=../etc/passwd", "7=a b", "7=.hidden", "70000=a"] {
            assert!(parse_boot_file(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_boot_file("11=/arm64/snp.efi").unwrap(), (11, "arm64/snp.efi".to_owned()));
    }
}
