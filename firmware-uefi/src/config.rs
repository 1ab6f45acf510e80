//! `\ipxe-config\appliance.conf`: the appliance's addresses and the script defaults, one
//! `key = value` per line; `#` starts a comment at the start of a line or after a space
//! or tab, so a value may hold one (`api_url = http://host/#x` stays whole). Every value is a slice of the file's
//! bytes, so the parsed settings borrow the buffer the file was read into and nothing is
//! copied or allocated.
//!
//! An unknown key, a bad value, a key given twice (all but `boot_file`) or `dhcp = off`
//! beside a `dhcp_range` is refused with its line number: a typo or a forgotten line must
//! not start an appliance with a different address or DHCP range than the operator meant.

use core::fmt;
use core::net::Ipv4Addr;

/// What the file says; `None` and the defaults where a key is absent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)] // reason: one per yes/no key of the file, read once
pub struct FirmwareConfig<'c> {
    /// The appliance's address and prefix length (`ip = 10.99.0.1/24`), required.
    pub ip: (Ipv4Addr, u8),
    /// A default route for the appliance itself.
    pub gateway: Option<Ipv4Addr>,
    /// HTTP port (`http_port`, 80).
    pub http_port: u16,
    /// DHCP pool (`dhcp_range = first-last`), or `None` for `dhcp = off`; absent, the
    /// pool is `.100`–`.199` of a /24 (the host binary's default).
    pub dhcp: DhcpChoice,
    /// `dhcp_script_key = port-address` (default `node-uuid`).
    pub script_key_port_address: bool,
    /// `unknown_mac_chain = yes`: unknown MACs get `/boot.ipxe`.
    pub unknown_mac_chain: bool,
    /// `router_advertisements = no` turns them off.
    pub router_advertisements: bool,
    /// `api_url`: the base of script URLs (default `http://<ip>[:port]`).
    pub api_url: Option<&'c str>,
    /// `ipa_api_url`.
    pub ipa_api_url: Option<&'c str>,
    /// `deploy_kernel`, `deploy_ramdisk`, `rescue_kernel`, `rescue_ramdisk`.
    pub deploy_kernel: Option<&'c str>,
    /// See [`Self::deploy_kernel`].
    pub deploy_ramdisk: Option<&'c str>,
    /// See [`Self::deploy_kernel`].
    pub rescue_kernel: Option<&'c str>,
    /// See [`Self::deploy_kernel`].
    pub rescue_ramdisk: Option<&'c str>,
    /// `kernel_append_params`.
    pub kernel_append_params: Option<&'c str>,
    /// `boot_mode = uefi` (default `bios`) for nodes that name none.
    pub boot_mode_uefi: bool,
    /// `error_pause` seconds before an error script's ending (default 10).
    pub error_pause_seconds: u16,
    /// `error_ending = retry|exit|reboot` (default `reboot`).
    pub error_ending: Ending,
    /// `tftp = off` turns the TFTP server off (default on: the machines a firmware
    /// appliance boots mostly have PXE ROMs, not iPXE).
    pub tftp: bool,
    /// `boot_file = ARCH=FILE` lines, in file order; they go before the library's
    /// default architecture map, so they win.
    pub boot_files: BootFiles<'c>,
    /// `nic_mac`: serve on the NIC with this MAC (default: the first NIC found).
    pub nic_mac: Option<[u8; 6]>,
}

impl FirmwareConfig<'_> {
    /// Every key's default; `ip` has none, and `parse` refuses a file without it.
    const DEFAULTS: FirmwareConfig<'static> = FirmwareConfig {
        ip: (Ipv4Addr::UNSPECIFIED, 0),
        gateway: None,
        http_port: 80,
        dhcp: DhcpChoice::Default,
        script_key_port_address: false,
        unknown_mac_chain: false,
        router_advertisements: true,
        api_url: None,
        ipa_api_url: None,
        deploy_kernel: None,
        deploy_ramdisk: None,
        rescue_kernel: None,
        rescue_ramdisk: None,
        kernel_append_params: None,
        boot_mode_uefi: false,
        error_pause_seconds: 10,
        error_ending: Ending::Reboot,
        tftp: true,
        boot_files: BootFiles::EMPTY,
        nic_mac: None,
    };
}

/// Most `boot_file` lines a file may hold: more than every architecture RFC 4578 and
/// IANA name that iPXE builds for.
pub const MAX_BOOT_FILES: usize = 16;

/// The `boot_file` lines: (architecture, file under the artifacts folder; empty: that
/// architecture gets no answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootFiles<'c> {
    entries: [(u16, &'c str); MAX_BOOT_FILES],
    len: usize,
}

impl<'c> BootFiles<'c> {
    const EMPTY: Self = BootFiles { entries: [(0, ""); MAX_BOOT_FILES], len: 0 };

    /// The entries, in file order.
    pub fn as_slice(&self) -> &[(u16, &'c str)] {
        self.entries.get(..self.len).unwrap_or_default()
    }

    fn push(&mut self, entry: (u16, &'c str)) -> Result<(), &'static str> {
        let slot = self.entries.get_mut(self.len).ok_or("more than 16 boot_file lines")?;
        *slot = entry;
        self.len += 1;
        Ok(())
    }
}

/// Longest boot file name: option 67 holds 255 bytes, and HTTP Boot's is a URL.
const MAX_BOOT_FILE_NAME: usize = 200;

/// `ARCH=FILE` with the host binary's `--boot-file` rules: a leading `/` is dropped; the
/// file is a plain relative path (no empty, `.`-leading or `..` segment) of URL-safe
/// characters, since it goes into option 67 and, for HTTP Boot, into a URL unescaped.
fn parse_boot_file(value: &str) -> Result<(u16, &str), &'static str> {
    let (arch, file) = value.split_once('=').ok_or("expected ARCH=FILE (7=snponly.efi) or ARCH= for none")?;
    let arch = arch.trim().parse().map_err(|_| "the architecture is a number from 0 to 65535 (DHCP option 93)")?;
    let file = file.trim();
    let file = file.strip_prefix('/').unwrap_or(file);
    let plain_segment = |segment: &str| {
        !segment.is_empty()
            && !segment.starts_with('.')
            && segment.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~+".contains(&b))
    };
    if !file.is_empty() && (file.len() > MAX_BOOT_FILE_NAME || !file.split('/').all(plain_segment)) {
        return Err("the file is a plain path under the artifacts folder (letters, digits, - . _ ~ / +; no segment starting with a dot), at most 200 bytes");
    }
    Ok((arch, file))
}

/// The DHCP server's pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DhcpChoice {
    /// `dhcp = off`.
    Off,
    /// The default pool of the subnet.
    Default,
    /// `dhcp_range = first-last`.
    Range(Ipv4Addr, Ipv4Addr),
}

/// How an error script ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Ask again.
    Retry,
    /// Return to the firmware.
    Exit,
    /// Reboot the node.
    Reboot,
}

/// Why the file was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigError<'c> {
    /// 1-based line number (0: the file as a whole).
    pub line: usize,
    /// The key, if the line had one.
    pub key: &'c str,
    /// What is wrong.
    pub problem: &'static str,
}

impl fmt::Display for ConfigError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            return write!(f, "{}", self.problem);
        }
        if self.key.is_empty() {
            write!(f, "line {}: {}", self.line, self.problem)
        } else {
            // Escaped: the key came from the file, and a log line must stay one line.
            write!(f, "line {}: {}: {}", self.line, self.key.escape_debug(), self.problem)
        }
    }
}

fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "yes" | "on" | "true" | "1" => Some(true),
        "no" | "off" | "false" | "0" => Some(false),
        _ => None,
    }
}

fn parse_cidr(value: &str) -> Option<(Ipv4Addr, u8)> {
    let (address, prefix) = value.split_once('/')?;
    let prefix: u8 = prefix.parse().ok()?;
    (prefix <= 32).then_some(())?;
    Some((address.parse().ok()?, prefix))
}

/// Room for every key `parse` knows but `boot_file` (20); a test holds them to it.
const KEYS: usize = 24;

/// `dhcp = off` beside a `dhcp_range`: which one the operator meant is not ours to guess.
const CONTRADICTION: &str = "dhcp = off and a dhcp_range contradict each other; keep one";

/// The line before its comment: `#` at its start or after a space or tab.
fn without_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    let start = bytes
        .iter()
        .enumerate()
        .find(|&(at, &byte)| byte == b'#' && (at == 0 || matches!(bytes.get(at - 1), Some(b' ' | b'\t'))))
        .map_or(line.len(), |(at, _)| at);
    line.get(..start).unwrap_or(line)
}

/// Parses the file's bytes.
pub fn parse(bytes: &[u8]) -> Result<FirmwareConfig<'_>, ConfigError<'_>> {
    let text =
        core::str::from_utf8(bytes).map_err(|_| ConfigError { line: 0, key: "", problem: "the file is not UTF-8" })?;
    let mut ip = None;
    let mut config = FirmwareConfig::DEFAULTS;
    let mut seen = [""; KEYS];
    let mut seen_count = 0;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let content = without_comment(raw).trim();
        if content.is_empty() {
            continue;
        }
        let Some((key, value)) = content.split_once('=') else {
            return Err(ConfigError { line, key: "", problem: "expected key = value" });
        };
        let (key, value) = (key.trim(), value.trim());
        let bad = |problem| ConfigError { line, key, problem };
        if key != "boot_file" {
            if seen.get(..seen_count).unwrap_or_default().contains(&key) {
                return Err(bad("given twice; every key but boot_file appears at most once"));
            }
            // An unknown key is refused below at its first line, so `seen` holds known ones.
            let slot = seen.get_mut(seen_count).ok_or(bad("more keys than the parser knows"))?;
            *slot = key;
            seen_count += 1;
        }
        let text_value = || (!value.is_empty()).then_some(value);
        match key {
            "ip" => ip = Some(parse_cidr(value).ok_or(bad("expected an IPv4 address and prefix (10.99.0.1/24)"))?),
            "gateway" => config.gateway = Some(value.parse().map_err(|_| bad("expected an IPv4 address"))?),
            "http_port" => {
                config.http_port =
                    value.parse().ok().filter(|port| *port != 0).ok_or(bad("expected a port from 1 to 65535"))?;
            }
            "dhcp" => {
                if !parse_bool(value).ok_or(bad("expected on or off"))? {
                    if matches!(config.dhcp, DhcpChoice::Range(..)) {
                        return Err(bad(CONTRADICTION));
                    }
                    config.dhcp = DhcpChoice::Off;
                }
            }
            "dhcp_range" => {
                let range = value
                    .split_once('-')
                    .and_then(|(first, last)| Some((first.trim().parse().ok()?, last.trim().parse().ok()?)));
                let (first, last) = range.ok_or(bad("expected first-last (10.99.0.100-10.99.0.199)"))?;
                if config.dhcp == DhcpChoice::Off {
                    return Err(bad(CONTRADICTION));
                }
                config.dhcp = DhcpChoice::Range(first, last);
            }
            "dhcp_script_key" => {
                config.script_key_port_address = match value {
                    "node-uuid" => false,
                    "port-address" => true,
                    _ => return Err(bad("expected node-uuid or port-address")),
                };
            }
            "unknown_mac_chain" => config.unknown_mac_chain = parse_bool(value).ok_or(bad("expected yes or no"))?,
            "router_advertisements" => {
                config.router_advertisements = parse_bool(value).ok_or(bad("expected yes or no"))?;
            }
            "api_url" => config.api_url = text_value(),
            "ipa_api_url" => config.ipa_api_url = text_value(),
            "deploy_kernel" => config.deploy_kernel = text_value(),
            "deploy_ramdisk" => config.deploy_ramdisk = text_value(),
            "rescue_kernel" => config.rescue_kernel = text_value(),
            "rescue_ramdisk" => config.rescue_ramdisk = text_value(),
            "kernel_append_params" => config.kernel_append_params = text_value(),
            "boot_mode" => {
                config.boot_mode_uefi = match value {
                    "bios" => false,
                    "uefi" => true,
                    _ => return Err(bad("expected bios or uefi")),
                };
            }
            "error_pause" => config.error_pause_seconds = value.parse().map_err(|_| bad("expected seconds"))?,
            "error_ending" => {
                config.error_ending = match value {
                    "retry" => Ending::Retry,
                    "exit" => Ending::Exit,
                    "reboot" => Ending::Reboot,
                    _ => return Err(bad("expected retry, exit or reboot")),
                };
            }
            "tftp" => config.tftp = parse_bool(value).ok_or(bad("expected on or off"))?,
            "nic_mac" => {
                let mac = ipxe_config::PortAddress::parse(value.as_bytes())
                    .map_err(|_| bad("expected a MAC address (52:54:00:99:00:01)"))?;
                config.nic_mac = Some(mac.0);
            }
            "boot_file" => config.boot_files.push(parse_boot_file(value).map_err(bad)?).map_err(bad)?,
            _ => return Err(bad("unknown key")),
        }
    }
    config.ip = ip.ok_or(ConfigError { line: 0, key: "", problem: "no ip = line (the appliance's address)" })?;
    Ok(config)
}

/// The host binary's default pool: `.100`–`.199` of the appliance's /24 or larger subnet.
pub fn default_range(ip: Ipv4Addr, prefix: u8) -> Option<(Ipv4Addr, Ipv4Addr)> {
    if !(1..=24).contains(&prefix) {
        return None;
    }
    let base = u32::from(ip) & !0xff;
    Some((Ipv4Addr::from(base + 100), Ipv4Addr::from(base + 199)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_file_is_read() {
        let text = b"# the appliance\nip = 10.99.0.1/24\ndhcp_range = 10.99.0.100 - 10.99.0.150\n\
            api_url = http://10.99.0.1\nerror_pause = 1 # fast\nerror_ending = exit\nboot_mode = uefi\n\
            dhcp_script_key = port-address\nunknown_mac_chain = yes\n";
        let config = parse(text).unwrap();
        assert_eq!(config.ip, (Ipv4Addr::new(10, 99, 0, 1), 24));
        assert_eq!(config.dhcp, DhcpChoice::Range(Ipv4Addr::new(10, 99, 0, 100), Ipv4Addr::new(10, 99, 0, 150)));
        assert_eq!(config.api_url, Some("http://10.99.0.1"));
        assert_eq!((config.error_pause_seconds, config.error_ending), (1, Ending::Exit));
        assert!(config.boot_mode_uefi && config.script_key_port_address && config.unknown_mac_chain);
    }

    #[test]
    fn mistakes_name_their_line_and_key() {
        let error = parse(b"ip = 10.99.0.1/24\nhttp_prot = 8080\n").unwrap_err();
        assert_eq!((error.line, error.key, error.problem), (2, "http_prot", "unknown key"));
        assert_eq!(parse(b"ip = 10.99.0.1/33\n").unwrap_err().line, 1);
        assert_eq!(parse(b"ip = 10.99.0.1/24\nhttp_port = 0\n").unwrap_err().key, "http_port");
        assert_eq!(parse(b"gateway = 10.99.0.254\n").unwrap_err().problem, "no ip = line (the appliance's address)");
        assert!(parse(b"ip 10.99.0.1/24\n").unwrap_err().to_string().starts_with("line 1: "));
        assert!(parse(b"\xff").is_err());
    }

    #[test]
    fn a_hash_inside_a_value_is_not_a_comment() {
        let text = b"ip = 10.99.0.1/24 # the appliance\n# a whole line\n  # indented\n\
            api_url = http://10.99.0.1/#x\t# a comment after a tab\nkernel_append_params = a=#b #c\n";
        let config = parse(text).unwrap();
        assert_eq!(config.api_url, Some("http://10.99.0.1/#x"));
        assert_eq!(config.kernel_append_params, Some("a=#b"));
        assert_eq!(parse(b"#ip = 10.99.0.1/24\n").unwrap_err().line, 0, "a commented-out ip is no ip");
    }

    #[test]
    fn every_key_fits_the_repeat_check() {
        let text = "ip = 10.99.0.1/24\ngateway = 10.99.0.254\nhttp_port = 80\ndhcp = on\n\
            dhcp_range = 10.99.0.100-10.99.0.110\ndhcp_script_key = node-uuid\nunknown_mac_chain = no\n\
            router_advertisements = yes\napi_url = http://10.99.0.1\nipa_api_url = http://10.99.0.1:6385\n\
            deploy_kernel = k\ndeploy_ramdisk = r\nrescue_kernel = k\nrescue_ramdisk = r\n\
            kernel_append_params = a\nboot_mode = bios\nerror_pause = 1\nerror_ending = exit\ntftp = on\n\
            nic_mac = 52:54:00:99:00:01\nboot_file = 7=a.efi\n";
        assert!(text.lines().count() - 1 <= KEYS, "every key but boot_file has room in the repeat check");
        assert!(parse(text.as_bytes()).is_ok());
    }

    #[test]
    fn a_key_given_twice_is_refused_at_its_second_line() {
        let error = parse(b"ip = 10.99.0.1/24\nhttp_port = 80\n\nhttp_port = 8080\n").unwrap_err();
        assert_eq!((error.line, error.key), (4, "http_port"));
        assert!(error.problem.starts_with("given twice"), "{}", error.problem);
        assert_eq!(parse(b"ip = 10.99.0.1/24\nip = 10.98.0.1/24\n").unwrap_err().line, 2);
        // boot_file is a list.
        assert!(parse(b"ip = 10.99.0.1/24\nboot_file = 7=a.efi\nboot_file = 9=a.efi\n").is_ok());
    }

    #[test]
    fn dhcp_off_beside_a_range_is_refused() {
        for text in [
            &b"ip = 10.99.0.1/24\ndhcp = off\ndhcp_range = 10.99.0.100-10.99.0.110\n"[..],
            b"ip = 10.99.0.1/24\ndhcp_range = 10.99.0.100-10.99.0.110\ndhcp = off\n",
        ] {
            let error = parse(text).unwrap_err();
            assert_eq!((error.line, error.problem), (3, CONTRADICTION));
        }
        let on = parse(b"ip = 10.99.0.1/24\ndhcp = on\ndhcp_range = 10.99.0.100-10.99.0.110\n").unwrap();
        assert!(matches!(on.dhcp, DhcpChoice::Range(..)));
    }

    #[test]
    fn the_nic_may_be_chosen_by_its_mac() {
        assert_eq!(parse(b"ip = 10.99.0.1/24\n").unwrap().nic_mac, None);
        let config = parse(b"ip = 10.99.0.1/24\nnic_mac = 52:54:00:99:00:0A\n").unwrap();
        assert_eq!(config.nic_mac, Some([0x52, 0x54, 0, 0x99, 0, 0x0a]));
        let error = parse(b"ip = 10.99.0.1/24\nnic_mac = 52:54:00:99:00\n").unwrap_err();
        assert_eq!((error.line, error.key), (2, "nic_mac"));
    }

    #[test]
    fn tftp_is_on_unless_turned_off() {
        assert!(parse(b"ip = 10.99.0.1/24\n").unwrap().tftp);
        assert!(!parse(b"ip = 10.99.0.1/24\ntftp = off\n").unwrap().tftp);
        assert!(parse(b"ip = 10.99.0.1/24\ntftp = yes\n").unwrap().tftp);
        let error = parse(b"ip = 10.99.0.1/24\ntftp = maybe\n").unwrap_err();
        assert_eq!((error.line, error.key, error.problem), (2, "tftp", "expected on or off"));
    }

    #[test]
    fn boot_files_keep_their_order_and_may_name_none() {
        let text = b"ip = 10.99.0.1/24\nboot_file = 7=ipxe.efi\nboot_file = 0=\nboot_file = 11 = /arm64/snp.efi\n";
        let config = parse(text).unwrap();
        assert_eq!(config.boot_files.as_slice(), &[(7, "ipxe.efi"), (0, ""), (11, "arm64/snp.efi")]);
        assert!(parse(b"ip = 10.99.0.1/24\n").unwrap().boot_files.as_slice().is_empty());
    }

    #[test]
    fn bad_boot_files_name_their_line_and_key() {
        for (value, problem) in [
            ("snponly.efi", "expected ARCH=FILE"),
            ("x86=snponly.efi", "the architecture is a number"),
            ("65536=snponly.efi", "the architecture is a number"),
            ("7=../EFI/BOOT/BOOTX64.EFI", "the file is a plain path"),
            ("7=.hidden", "the file is a plain path"),
            ("7=a//b", "the file is a plain path"),
            ("7=snp only.efi", "the file is a plain path"),
            ("7=snp?.efi", "the file is a plain path"),
            ("7=a\\b", "the file is a plain path"),
        ] {
            let text = format!("ip = 10.99.0.1/24\n\nboot_file = {value}\n");
            let error = parse(text.as_bytes()).unwrap_err();
            assert_eq!((error.line, error.key), (3, "boot_file"), "{value}");
            assert!(error.problem.starts_with(problem), "{value}: {}", error.problem);
            assert!(error.to_string().starts_with("line 3: boot_file: "), "{error}");
        }
        let long = format!("ip = 10.99.0.1/24\nboot_file = 7={}\n", "a".repeat(201));
        assert_eq!(parse(long.as_bytes()).unwrap_err().key, "boot_file");
        let many: String = core::iter::once("ip = 10.99.0.1/24\n".to_owned())
            .chain((0..=MAX_BOOT_FILES).map(|arch| format!("boot_file = {arch}=snponly.efi\n")))
            .collect();
        let error = parse(many.as_bytes()).unwrap_err();
        assert_eq!((error.line, error.key, error.problem), (18, "boot_file", "more than 16 boot_file lines"));
    }

    #[test]
    fn the_default_pool_is_the_host_binarys() {
        let ip = Ipv4Addr::new(10, 99, 0, 1);
        assert_eq!(default_range(ip, 24), Some((Ipv4Addr::new(10, 99, 0, 100), Ipv4Addr::new(10, 99, 0, 199))));
        assert_eq!(default_range(ip, 30), None);
    }
}
