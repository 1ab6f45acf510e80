//! Rendering a node's iPXE script into a caller's buffer or an `embedded_io::Write`.
//!
//! The scripts follow what Ironic's `ipxe_config.template` runs for the same inputs (the
//! deploy path with its bounded, linearly backing-off retry loop; the partition and
//! ramdisk instance paths; local boot), so a node boots the same whether Ironic or this
//! server answers. Every value written is re-checked here even though the loader already
//! checked it: a value that would change the script's commands turns the answer into an
//! error script instead.

use core::ffi::CStr;
use core::fmt;

use uuid::Uuid;

use crate::config::{ArchImages, ErrorEnding, RenderConfig};
use crate::endpoint::{BaseUrl, Endpoint, NodeParam};
use crate::inventory::{Inventory, Node};
use crate::io_sink::IoSink;
use crate::mac::PortAddress;
use crate::quarantine::{NodeField, Quarantine, QuarantineProblem, MAX_KERNEL_CMDLINE, MAX_KERNEL_WORDS};
use crate::route::{DriverName, NodeKey, Route};
use crate::safety::{self, ValueKind};
use crate::state::{BootMode, BootPath};
use crate::writer::{BufferTooSmall, ScriptWriter, Sink};

/// Which script was rendered (for logs and metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptKind {
    /// Deploy ramdisk (deploying, cleaning, inspecting, servicing).
    DeployRamdisk,
    /// Rescue ramdisk.
    RescueRamdisk,
    /// The instance's own kernel and ramdisk (partition image). No longer rendered:
    /// Ironic 39 removed netboot and boots partition images from the local disk; kept
    /// so the C ABI's codes stay stable.
    InstanceKernel,
    /// The instance booted as a ramdisk, or its `boot_iso` (`deploy_interface: ramdisk`).
    InstanceRamdisk,
    /// Boot from the local disk.
    LocalDisk,
    /// An error script explaining why the node cannot boot.
    Error,
    /// The `/boot.ipxe` chain script.
    Chain,
}

impl ScriptKind {
    /// A short lower-case name.
    ///
    /// ```
    /// use ipxe_config::ScriptKind;
    /// assert_eq!(ScriptKind::InstanceRamdisk.as_str(), "instance-ramdisk");
    /// ```
    pub fn as_str(self) -> &'static str {
        // Every name is ASCII, so the conversion cannot fail.
        self.as_c_str().to_str().unwrap_or_default()
    }

    /// [`ScriptKind::as_str`] NUL-terminated, for C callers; the one place the names live.
    ///
    /// ```
    /// use ipxe_config::ScriptKind;
    /// assert_eq!(ScriptKind::LocalDisk.as_c_str(), c"local-disk");
    /// ```
    pub fn as_c_str(self) -> &'static CStr {
        match self {
            Self::DeployRamdisk => c"deploy",
            Self::RescueRamdisk => c"rescue",
            Self::InstanceKernel => c"instance",
            Self::InstanceRamdisk => c"instance-ramdisk",
            Self::LocalDisk => c"local-disk",
            Self::Error => c"error",
            Self::Chain => c"chain",
        }
    }
}

impl fmt::Display for ScriptKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a node got an error script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal<'a> {
    /// No node has this UUID.
    UnknownNode(Uuid),
    /// No node has a PXE-enabled port with this MAC.
    UnknownAddress(PortAddress),
    /// The request's driver is not the node's.
    DriverMismatch {
        /// The node's driver.
        node_driver: &'a str,
    },
    /// The provision state has nothing to boot.
    UnbootableState,
    /// An image URL (or other value) the script needs is absent and has no default.
    Missing(&'static str),
    /// A value failed the renderer's own safety check.
    UnsafeValue(&'static str),
    /// The node was quarantined at load (see [`crate::quarantine`]).
    Quarantined(Quarantine),
    /// The node's `boot_interface` is not `ipxe` or `http-ipxe`: Ironic writes such a
    /// node no iPXE script (PXELINUX/GRUB for `pxe`, nothing for virtual media).
    BootInterface(&'a str),
    /// An image reference iPXE cannot fetch (a Glance UUID, `file://`) and no
    /// [`RenderConfig::ironic_http_url`] to boot Ironic's cached copy from.
    NotFetchable(&'static str),
}

impl Refusal<'_> {
    /// What went wrong without the details (no UUID, MAC, driver or field), as a static
    /// NUL-terminated text: for C callers and for labels that must not grow with input.
    ///
    /// ```
    /// use ipxe_config::Refusal;
    /// assert_eq!(Refusal::UnbootableState.summary(), c"unbootable provision state");
    /// assert_eq!(Refusal::Missing("deploy_kernel").summary(), c"a value the script needs is missing");
    /// ```
    pub fn summary(&self) -> &'static CStr {
        match self {
            Self::UnknownNode(_) => c"unknown node",
            Self::UnknownAddress(_) => c"unknown port address",
            Self::DriverMismatch { .. } => c"driver mismatch",
            Self::UnbootableState => c"unbootable provision state",
            Self::Missing(_) => c"a value the script needs is missing",
            Self::UnsafeValue(_) => c"a value would change the script's commands",
            Self::Quarantined(_) => c"node quarantined at load",
            Self::BootInterface(_) => c"boot interface without iPXE scripts",
            Self::NotFetchable(_) => c"an image reference is not an http(s) URL",
        }
    }
}

impl fmt::Display for Refusal<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownNode(uuid) => write!(f, "unknown node {uuid}"),
            Self::UnknownAddress(address) => write!(f, "unknown port address {address}"),
            Self::DriverMismatch { node_driver } => {
                write!(f, "driver mismatch (node has {node_driver})")
            }
            Self::UnbootableState => f.write_str("unbootable provision state"),
            Self::Missing(field) => write!(f, "missing {field}"),
            Self::UnsafeValue(field) => write!(f, "unsafe value in {field}"),
            Self::Quarantined(cause) => write!(f, "quarantined: {cause}"),
            Self::BootInterface(interface) => write!(f, "boot interface {interface} has no iPXE script"),
            Self::NotFetchable(field) => write!(f, "{field} is not an http(s) URL"),
        }
    }
}

/// What [`render`] produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rendered<'a> {
    /// Bytes written at the start of the buffer.
    pub len: usize,
    /// Which script.
    pub kind: ScriptKind,
    /// The node the script is for, if one was found.
    pub node: Option<Uuid>,
    /// The node's provision state, if one was found.
    pub state: Option<&'a str>,
    /// Why the node got an error script.
    pub refusal: Option<Refusal<'a>>,
}

/// Renders the script answering `route` into `out`.
///
/// A node that cannot be booted still gets a script (an error script, see
/// [`Rendered::refusal`]): iPXE only runs 2xx bodies, and its console is where an
/// operator looks. The only error is a buffer too small for the whole script.
///
/// # Errors
/// [`BufferTooSmall`] with the size needed; nothing partial is returned as success.
pub fn render<'a>(
    inventory: &Inventory<'a>,
    config: &RenderConfig<'a>,
    route: &Route,
    out: &mut [u8],
) -> Result<Rendered<'a>, BufferTooSmall> {
    let mut w = ScriptWriter::new(out);
    let script = script(&mut w, inventory, config, route);
    let len = w.finish()?;
    Ok(script.rendered(len))
}

/// Renders the script answering `route` into an [`embedded_io::Write`] (a socket, a
/// UART, a file), as [`render`] does into a slice; [`Rendered::len`] is the bytes
/// written. `out` is not flushed.
///
/// ```
/// use ipxe_config::{render, render_to, RenderConfig, Inventory, Route};
/// let route = Route::parse(b"/boot.ipxe").unwrap();
/// let mut buf = [0u8; 2048];
/// let mut sink: &mut [u8] = &mut [0u8; 2048];
/// let streamed = render_to(&Inventory::EMPTY, &RenderConfig::DEFAULT, &route, &mut sink).unwrap();
/// let sliced = render(&Inventory::EMPTY, &RenderConfig::DEFAULT, &route, &mut buf).unwrap();
/// assert_eq!(streamed, sliced);
/// ```
///
/// # Errors
/// The first error of `out`, after which nothing more is written; a sink that is full
/// reports it as an error (as `&mut [u8]` does), so nothing is truncated silently.
pub fn render_to<'a, W: embedded_io::Write>(
    inventory: &Inventory<'a>,
    config: &RenderConfig<'a>,
    route: &Route,
    out: &mut W,
) -> Result<Rendered<'a>, W::Error> {
    let mut w = IoSink::new(out);
    let script = script(&mut w, inventory, config, route);
    let len = w.finish()?;
    Ok(script.rendered(len))
}

/// What was written, before its length is known.
struct Script<'a> {
    kind: ScriptKind,
    node: Option<Node<'a>>,
    refusal: Option<Refusal<'a>>,
}

impl<'a> Script<'a> {
    fn rendered(self, len: usize) -> Rendered<'a> {
        let Script { kind, node, refusal } = self;
        Rendered { len, kind, node: node.map(|n| n.uuid()), state: node.map(|n| n.provision_state_text()), refusal }
    }
}

fn script<'a>(w: &mut impl Sink, inventory: &Inventory<'a>, config: &RenderConfig<'a>, route: &Route) -> Script<'a> {
    let (kind, node, refusal) = match route {
        Route::ChainScript => {
            chain_script(w, config);
            (ScriptKind::Chain, None, None)
        }
        Route::NodeScript { driver, key } => {
            let found = match key {
                NodeKey::Uuid(uuid) => inventory.node_by_uuid(uuid),
                NodeKey::Address(address) => inventory.node_by_address(address),
            };
            match found {
                None => {
                    let refusal = match key {
                        NodeKey::Uuid(uuid) => Refusal::UnknownNode(*uuid),
                        NodeKey::Address(address) => Refusal::UnknownAddress(*address),
                    };
                    error_script(w, config, route, None, refusal);
                    (ScriptKind::Error, None, Some(refusal))
                }
                Some(node) if node.quarantine().is_some() => {
                    // Whatever the state or driver: nothing of the node but its UUID is kept.
                    let refusal = node.quarantine().map_or(Refusal::UnbootableState, Refusal::Quarantined);
                    error_script(w, config, route, Some(&node), refusal);
                    (ScriptKind::Error, Some(node), Some(refusal))
                }
                Some(node) => {
                    let requested = driver.as_str();
                    let outcome = identity_checked(&node).and_then(|()| {
                        if requested != config.any_driver && requested != node.driver() {
                            Err(Refusal::DriverMismatch { node_driver: node.driver() })
                        } else {
                            plan(&node, config, node.provision_state().boot_path())
                        }
                    });
                    match outcome {
                        Ok(Plan::Kernel(boot)) => {
                            kernel_script(w, config, &node, &boot);
                            (boot.kind, Some(node), None)
                        }
                        Ok(Plan::LocalDisk(mode)) => {
                            local_disk_script(w, &node, mode);
                            (ScriptKind::LocalDisk, Some(node), None)
                        }
                        Ok(Plan::Sanboot(iso)) => {
                            sanboot_script(w, config, &node, iso);
                            (ScriptKind::InstanceRamdisk, Some(node), None)
                        }
                        Err(refusal) => {
                            error_script(w, config, route, Some(&node), refusal);
                            (ScriptKind::Error, Some(node), Some(refusal))
                        }
                    }
                }
            }
        }
    };
    Script { kind, node, refusal }
}

/// What the node should boot, with every value it needs already checked.
enum Plan<'a> {
    Kernel(KernelBoot<'a>),
    LocalDisk(BootMode),
    /// `sanboot` of the instance's `boot_iso` (a ramdisk deploy).
    Sanboot(Image<'a>),
}

/// The kernel line's fixed parameters, which differ per path.
#[derive(Clone, Copy)]
enum KernelParams {
    /// The Ironic Python Agent (deploy and rescue): `selinux=0 troubleshoot=0 text`.
    Agent,
    /// An instance that is itself a ramdisk: `root=/dev/ram0 text`.
    Ramdisk,
}

/// An image the script fetches: a URL as the inventory gives it, or Ironic's cached copy
/// of a reference iPXE cannot fetch. Ironic always boots its copy
/// (`<[deploy]http_url>/<node uuid>/<label>`, `pxe_utils.get_image_info`); for http(s)
/// references ours fetches the original, which is the same image.
#[derive(Clone, Copy)]
enum Image<'a> {
    Url(&'a str),
    IronicCopy { http_url: &'a str, label: &'static str },
}

/// What follows the append parameters for the ramdisk (`build_agent_options`, or the
/// inspection dict of `prepare_managed_inspection`).
#[derive(Clone, Copy)]
enum RamdiskParams<'a> {
    None,
    ApiUrl(&'a str),
    /// The API URL the callback is built from.
    InspectionCallback(&'a str),
}

/// The kernel parameters Ironic chose (`drivers/utils.get_kernel_append_params`).
#[derive(Clone, Copy)]
struct Append<'a> {
    /// `instance_info`'s, else `driver_info`'s, else the configured ones; `Some("")`
    /// appends nothing.
    text: Option<&'a str>,
    /// What `%default%` in a node's parameters stands for; `None` when `text` is the
    /// configured value itself (Ironic returns it unreplaced).
    default: Option<&'a str>,
    /// What the parameters, `%default%` replaced, already say for themselves.
    mentions: Mentions,
}

/// The agent options a node's kernel parameters already carry, found in one pass (each
/// is a substring test in Ironic: `'ipa-debug' not in params` and the like).
#[derive(Clone, Copy, Default)]
#[allow(clippy::struct_excessive_bools, reason = "independent findings, one per option Ironic looks for")]
struct Mentions {
    ipa_debug: bool,
    api_url: bool,
    inspection_callback: bool,
    default_placeholder: bool,
}

impl Mentions {
    fn of(text: &str) -> Self {
        let mut found = Mentions::default();
        let bytes = text.as_bytes();
        for (at, &byte) in bytes.iter().enumerate() {
            if byte != b'i' && byte != b'%' {
                continue;
            }
            let tail = bytes.get(at..).unwrap_or_default();
            if let Some(option) = tail.strip_prefix(b"ipa-") {
                found.ipa_debug |= option.starts_with(b"debug");
                found.api_url |= option.starts_with(b"api-url=");
                found.inspection_callback |= option.starts_with(b"inspection-callback-url=");
            }
            found.default_placeholder |= tail.starts_with(DEFAULT_PLACEHOLDER.as_bytes());
        }
        found
    }

    fn or(self, other: Mentions) -> Self {
        Mentions {
            ipa_debug: self.ipa_debug || other.ipa_debug,
            api_url: self.api_url || other.api_url,
            inspection_callback: self.inspection_callback || other.inspection_callback,
            default_placeholder: self.default_placeholder || other.default_placeholder,
        }
    }
}

/// The placeholder Ironic replaces with `[pxe]kernel_append_params`.
const DEFAULT_PLACEHOLDER: &str = "%default%";

impl<'a> Append<'a> {
    fn of(node: &Node<'a>, config: &RenderConfig<'a>) -> Result<Self, Refusal<'a>> {
        let default = optional(config.append_params, "append_params", ValueKind::Words)?;
        // For every boot, the deploy ramdisk included: instance_info before driver_info.
        for (own, field) in [
            (node.instance_append(), "instance_info.kernel_append_params"),
            (node.deploy_append(), "driver_info.kernel_append_params"),
        ] {
            if let Some(own) = own {
                if !own.is_empty() {
                    checked(own, field, ValueKind::Words)?;
                }
                let default = default.unwrap_or("");
                let mut mentions = Mentions::of(own);
                if mentions.default_placeholder {
                    mentions = mentions.or(Mentions::of(default));
                }
                return Ok(Append { text: Some(own), default: Some(default), mentions });
            }
        }
        Ok(Append { text: default, default: None, mentions: default.map(Mentions::of).unwrap_or_default() })
    }
}

struct KernelBoot<'a> {
    kind: ScriptKind,
    /// For console messages: "deploy ramdisk", "instance ramdisk", …
    what: &'static str,
    kernel: Image<'a>,
    ramdisk: Image<'a>,
    /// The name the initrd is loaded under; UEFI kernels find their initrd by it.
    initrd_name: &'static str,
    params: KernelParams,
    append: Append<'a>,
    /// ` ipa-debug=1` after the parameters (Ironic's `[DEFAULT]debug`).
    ipa_debug: bool,
    ramdisk_params: RamdiskParams<'a>,
    /// `instance_info.ramdisk_kernel_arguments` (the template's `ramdisk_opts`).
    ramdisk_args: Option<&'a str>,
    /// Ironic's `boot_ramdisk` section retries forever (`|| goto boot_ramdisk`); its
    /// agent section gives up after `attempts` and powers off.
    retry_forever: bool,
}

/// Checks one value the script will carry.
fn checked<'a>(value: &'a str, field: &'static str, kind: ValueKind) -> Result<&'a str, Refusal<'static>> {
    safety::check(value, kind).map(|()| value).map_err(|_| Refusal::UnsafeValue(field))
}

/// The node's driver and provision state go into comments, `echo` lines and log text of
/// every script: checked here too, as the loader did, because an inventory can also be a
/// view over storage someone else wrote (the C ABI, [`Inventory::view`]).
fn identity_checked(node: &Node<'_>) -> Result<(), Refusal<'static>> {
    checked(node.driver(), "driver", ValueKind::Token)?;
    checked(node.provision_state_text(), "provision_state", ValueKind::Words).map(|_| ())
}

/// `value` if it may appear in a script, else a placeholder that says it was withheld.
fn printable(value: &str, kind: ValueKind) -> &str {
    if safety::check(value, kind).is_ok() {
        value
    } else {
        "(withheld: not printable)"
    }
}

fn optional<'a>(
    value: Option<&'a str>,
    field: &'static str,
    kind: ValueKind,
) -> Result<Option<&'a str>, Refusal<'static>> {
    value.map(|v| checked(v, field, kind)).transpose()
}

/// Whether iPXE fetches `reference` itself; anything else goes through Ironic's copy.
fn is_http_url(reference: &str) -> bool {
    let scheme = |prefix: &str| reference.get(..prefix.len()).is_some_and(|s| s.eq_ignore_ascii_case(prefix));
    scheme("http://") || scheme("https://")
}

/// The API URL as Ironic's `get_ironic_api_url` gives it: trailing `/` stripped.
fn api_url(url: &str) -> &str {
    url.trim_end_matches('/')
}

/// A required image: `reference` (from `field`) as a URL iPXE fetches, or Ironic's copy
/// of it under `label`. Never a bare UUID or `file://` path on a kernel line.
fn image<'a>(
    reference: Option<&'a str>,
    field: &'static str,
    label: &'static str,
    config: &RenderConfig<'a>,
) -> Result<Image<'a>, Refusal<'static>> {
    let reference = checked(reference.ok_or(Refusal::Missing(field))?, field, ValueKind::Token)?;
    if is_http_url(reference) {
        return Ok(Image::Url(reference));
    }
    match config.ironic_http_url {
        Some(http_url) => {
            let http_url = checked(http_url, "ironic_http_url", ValueKind::Token)?;
            Ok(Image::IronicCopy { http_url: http_url.trim_end_matches('/'), label })
        }
        None => Err(Refusal::NotFetchable(field)),
    }
}

/// The agent's kernel and ramdisk references, as Ironic's
/// `drivers/utils.get_agent_kernel_ramdisk` picks them: the node's `driver_info` pair
/// when both are set (a half pair is ignored, as Ironic does with a warning), else the
/// `*_by_arch` pair for `properties.cpu_arch` when both are set, else the configured
/// pair. Each reference comes with the field to name if it is missing or unfetchable.
type Reference<'a> = (Option<&'a str>, &'static str);

fn agent_pair<'a>(
    node: (Option<&'a str>, Option<&'a str>),
    node_fields: (&'static str, &'static str),
    arch_pair: Option<(Option<&'a str>, Option<&'a str>)>,
    defaults: (Option<&'a str>, Option<&'a str>),
    default_fields: (&'static str, &'static str),
) -> (Reference<'a>, Reference<'a>) {
    if let (Some(kernel), Some(ramdisk)) = node {
        return ((Some(kernel), node_fields.0), (Some(ramdisk), node_fields.1));
    }
    // A half arch pair is ignored too (_get_kernel_ramdisk_by_arch).
    if let Some((Some(kernel), Some(ramdisk))) = arch_pair {
        return ((Some(kernel), default_fields.0), (Some(ramdisk), default_fields.1));
    }
    // Missing altogether: name the node's field, which is where an operator sets one.
    let field = |value: Option<&str>, given, missing| if value.is_some() { given } else { missing };
    (
        (defaults.0, field(defaults.0, default_fields.0, node_fields.0)),
        (defaults.1, field(defaults.1, default_fields.1, node_fields.1)),
    )
}

fn plan<'a>(node: &Node<'a>, config: &RenderConfig<'a>, path: BootPath) -> Result<Plan<'a>, Refusal<'a>> {
    // Only iPXEBoot and iPXEHttpBoot write iPXE configs (pxe_utils.is_ipxe_enabled);
    // absent or null is served as iPXE, this server's reason to exist.
    if let Some(interface) = node.boot_interface() {
        if !matches!(interface, "ipxe" | "http-ipxe") {
            return Err(Refusal::BootInterface(interface));
        }
    }
    let append = Append::of(node, config)?;
    let ipa_debug = config.ipa_debug && !append.mentions.ipa_debug;
    let api = optional(config.ipa_api_url, "ipa_api_url", ValueKind::Token)?.map(api_url);
    let agent = |kind, what, pair: (Reference<'a>, Reference<'a>), labels: (&'static str, &'static str)| {
        let ((kernel, kernel_field), (ramdisk, ramdisk_field)) = pair;
        let ramdisk_params = match (path, api) {
            // prepare_managed_inspection: the callback URL and, without fast track, no
            // ipa-api-url. An operator-given callback wins, as ipa-api-url does.
            (BootPath::InspectRamdisk, Some(api)) if !append.mentions.inspection_callback => {
                RamdiskParams::InspectionCallback(api)
            }
            (BootPath::InspectRamdisk, _) => RamdiskParams::None,
            // An operator-given ipa-api-url wins (a kept difference: Ironic adds its own).
            (_, Some(api)) if !append.mentions.api_url => RamdiskParams::ApiUrl(api),
            _ => RamdiskParams::None,
        };
        Ok(Plan::Kernel(KernelBoot {
            kind,
            what,
            kernel: image(kernel, kernel_field, labels.0, config)?,
            ramdisk: image(ramdisk, ramdisk_field, labels.1, config)?,
            initrd_name: labels.1,
            params: KernelParams::Agent,
            append,
            ipa_debug,
            ramdisk_params,
            ramdisk_args: None,
            retry_forever: false,
        }))
    };
    let arch: Option<&ArchImages<'a>> =
        node.cpu_arch().and_then(|arch| config.by_arch.iter().find(|images| images.arch == arch));
    match path {
        BootPath::DeployRamdisk | BootPath::InspectRamdisk => agent(
            ScriptKind::DeployRamdisk,
            "deploy ramdisk",
            agent_pair(
                (node.deploy_kernel(), node.deploy_ramdisk()),
                ("driver_info.deploy_kernel", "driver_info.deploy_ramdisk"),
                arch.map(|images| (images.deploy_kernel, images.deploy_ramdisk)),
                (config.deploy_kernel, config.deploy_ramdisk),
                ("deploy_kernel", "deploy_ramdisk"),
            ),
            ("deploy_kernel", "deploy_ramdisk"),
        ),
        BootPath::RescueRamdisk => agent(
            ScriptKind::RescueRamdisk,
            "rescue ramdisk",
            agent_pair(
                (node.rescue_kernel(), node.rescue_ramdisk()),
                ("driver_info.rescue_kernel", "driver_info.rescue_ramdisk"),
                arch.map(|images| (images.rescue_kernel, images.rescue_ramdisk)),
                (config.rescue_kernel, config.rescue_ramdisk),
                ("rescue_kernel", "rescue_ramdisk"),
            ),
            ("rescue_kernel", "rescue_ramdisk"),
        ),
        // Ironic 39's get_boot_option is only kickstart, ramdisk or local: netboot is
        // gone, so every active instance but a ramdisk deploy boots from its disk.
        BootPath::Instance if !node.ramdisk_deploy() => Ok(Plan::LocalDisk(node.boot_mode().or(config.boot_mode))),
        BootPath::Instance => {
            // The template's boot_ramdisk: boot_iso wins over kernel and ramdisk.
            if node.boot_iso().is_some() {
                return Ok(Plan::Sanboot(image(node.boot_iso(), "instance_info.boot_iso", "boot_iso", config)?));
            }
            Ok(Plan::Kernel(KernelBoot {
                kind: ScriptKind::InstanceRamdisk,
                what: "instance ramdisk",
                kernel: image(node.instance_kernel(), "instance_info.kernel", "kernel", config)?,
                ramdisk: image(node.instance_ramdisk(), "instance_info.ramdisk", "ramdisk", config)?,
                initrd_name: "ramdisk",
                params: KernelParams::Ramdisk,
                append,
                ipa_debug,
                ramdisk_params: RamdiskParams::None,
                ramdisk_args: optional(
                    node.ramdisk_kernel_arguments(),
                    "instance_info.ramdisk_kernel_arguments",
                    ValueKind::Words,
                )?,
                retry_forever: true,
            }))
        }
        BootPath::Unbootable => Err(Refusal::UnbootableState),
    }
}

/// Why `node` cannot be served within `scratch.len()` bytes or within iPXE's bounds on a
/// kernel line, checked for every path its provision state could take (the state can
/// change between loads when it comes from Ironic): `None` if it can. Loading calls this
/// for [`load_fitted`](crate::load_fitted); error scripts are sized for too, with the
/// longest request target a route can have.
pub(crate) fn unfit(node: &Node<'_>, config: &RenderConfig<'_>, scratch: &mut [u8]) -> Option<Quarantine> {
    let too_large = Quarantine { field: NodeField::Script, problem: QuarantineProblem::ScriptTooLarge };
    for path in [BootPath::DeployRamdisk, BootPath::InspectRamdisk, BootPath::RescueRamdisk, BootPath::Instance] {
        let mut w = ScriptWriter::new(scratch);
        match plan(node, config, path) {
            Ok(Plan::Kernel(boot)) => kernel_script(&mut w, config, node, &boot),
            Ok(Plan::LocalDisk(mode)) => local_disk_script(&mut w, node, mode),
            Ok(Plan::Sanboot(iso)) => sanboot_script(&mut w, config, node, iso),
            Err(refusal) => {
                let route = longest_route(node);
                error_script(&mut w, config, &route, Some(node), refusal);
            }
        }
        let Ok(len) = w.finish() else { return Some(too_large) };
        let script = scratch.get(..len).unwrap_or_default();
        if let Some(problem) = kernel_line_problem(script) {
            // instance_info's parameters are on every kernel line when given.
            let field = match path {
                BootPath::Instance if node.ramdisk_kernel_arguments().is_some() => NodeField::RamdiskKernelArguments,
                _ if node.instance_append().is_some() => NodeField::InstanceAppend,
                _ if node.deploy_append().is_some() => NodeField::DeployAppend,
                // Nothing of the node's own: long image URLs or the configured parameters
                // made the line, so the script as a whole is named.
                _ => NodeField::Script,
            };
            return Some(Quarantine { field, problem });
        }
    }
    None
}

/// A request for `node` with the longest driver name a route takes, so an error script
/// that retries the request URL is sized for the worst case.
fn longest_route(node: &Node<'_>) -> Route {
    const LONGEST: [u8; crate::route::MAX_DRIVER] = [b'd'; crate::route::MAX_DRIVER];
    match core::str::from_utf8(&LONGEST).ok().and_then(DriverName::new) {
        Some(driver) => Route::NodeScript { driver, key: NodeKey::Uuid(node.uuid()) },
        None => Route::ChainScript,
    }
}

/// Whether a rendered script's `kernel` line goes past iPXE's bounds: the words after
/// the kernel URI (up to the `||` that ends the command) and their joined length.
fn kernel_line_problem(script: &[u8]) -> Option<QuarantineProblem> {
    for line in script.split(|&b| b == b'\n') {
        let Some(rest) = line.strip_prefix(b"kernel ") else { continue };
        let mut words = rest.split(|&b| b == b' ').filter(|w| !w.is_empty());
        // Options, then the URI.
        for word in words.by_ref() {
            if !word.starts_with(b"-") && !word.iter().all(u8::is_ascii_digit) {
                break;
            }
        }
        let (mut count, mut bytes) = (0usize, 0usize);
        for word in words.take_while(|w| !matches!(*w, b"||" | b"&&" | b";")) {
            bytes += word.len() + usize::from(count > 0);
            count += 1;
        }
        if count > MAX_KERNEL_WORDS {
            return Some(QuarantineProblem::TooManyWords);
        }
        if bytes > MAX_KERNEL_CMDLINE {
            return Some(QuarantineProblem::LineTooLong);
        }
    }
    None
}

fn kernel_script(w: &mut impl Sink, config: &RenderConfig<'_>, node: &Node<'_>, boot: &KernelBoot<'_>) {
    // Plain appends rather than `format_args!`: this is the hot path of a boot storm and
    // the formatting machinery costs more than the copying.
    script_header(w, config, node, boot.what);
    w.text(":fetch\nimgfree\nkernel ");
    fetch_timeout(w, config);
    write_image(w, node, boot.kernel);
    match boot.params {
        KernelParams::Agent => w.text(" selinux=0 troubleshoot=0 text"),
        KernelParams::Ramdisk => w.text(" root=/dev/ram0 text"),
    }
    write_append(w, &boot.append);
    if boot.ipa_debug {
        w.text(" ipa-debug=1");
    }
    match boot.ramdisk_params {
        RamdiskParams::None => {}
        RamdiskParams::ApiUrl(url) => {
            w.text(" ipa-api-url=");
            w.text(url);
        }
        RamdiskParams::InspectionCallback(url) => {
            // inspect_utils.get_inspection_callback: no second /v1 when the URL has one.
            w.text(" ipa-inspection-callback-url=");
            w.text(url);
            w.text(if url.ends_with("/v1") { "/continue_inspection" } else { "/v1/continue_inspection" });
        }
    }
    if let Some(args) = boot.ramdisk_args.filter(|a| !a.is_empty()) {
        w.text(" ");
        w.text(args);
    }
    if matches!(boot.params, KernelParams::Agent) {
        // iPXE expands ${mac} to the booting NIC's MAC: the agent's BOOTIF.
        w.text(" BOOTIF=${mac}");
    }
    w.text(" initrd=");
    w.text(boot.initrd_name);
    w.text(" || goto retry\ninitrd --name ");
    w.text(boot.initrd_name);
    w.text(" ");
    fetch_timeout(w, config);
    write_image(w, node, boot.ramdisk);
    w.text(" || goto retry\nboot\n\n");
    if boot.retry_forever {
        retry_forever(w, boot.what);
        return;
    }
    // Ironic's loop: give up after `attempts`, sleeping one second longer each time.
    w.text(":retry\niseq ${i} ${attempts} && goto give_up ||\ninc i\necho Fetching the ");
    w.text(boot.what);
    w.text(" failed, retrying in ${i} seconds.\nsleep ${i}\ngoto fetch\n\n:give_up\necho Could not fetch the ");
    w.text(boot.what);
    w.text(" after ${attempts} attempts.\necho Powering off in 30 seconds.\nsleep 30\n");
    // Some iPXE builds (Debian's among them) have no `poweroff`; reboot instead.
    w.text("poweroff ||\nreboot\n");
}

fn script_header(w: &mut impl Sink, config: &RenderConfig<'_>, node: &Node<'_>, what: &str) {
    w.text("#!ipxe\n# ipxe-config: ");
    w.text(what);
    w.text(" for node ");
    w.uuid(&node.uuid());
    w.text(" (provision state: ");
    w.text(node.provision_state_text());
    w.text(")\n\nset attempts:int32 ");
    w.number(u32::from(config.retries));
    w.text("\nset i:int32 0\n\n");
}

/// The loop of Ironic's `boot_ramdisk` section, which never gives up: an active
/// instance has nothing else to boot. Ours backs off one second more each time, up to
/// `attempts` seconds, instead of hammering the server.
fn retry_forever(w: &mut impl Sink, what: &str) {
    w.text(":retry\niseq ${i} ${attempts} || inc i\necho Fetching the ");
    w.text(what);
    w.text(" failed, retrying in ${i} seconds.\nsleep ${i}\ngoto fetch\n");
}

/// A ramdisk deploy's `boot_iso`: the template's `sanboot <boot_iso_url>`.
fn sanboot_script(w: &mut impl Sink, config: &RenderConfig<'_>, node: &Node<'_>, iso: Image<'_>) {
    script_header(w, config, node, "instance ISO");
    w.text(":fetch\nimgfree\nsanboot ");
    write_image(w, node, iso);
    w.text(" || goto retry\n\n");
    retry_forever(w, "instance ISO");
}

fn write_image(w: &mut impl Sink, node: &Node<'_>, image: Image<'_>) {
    match image {
        Image::Url(url) => w.text(url),
        Image::IronicCopy { http_url, label } => {
            w.text(http_url);
            w.text("/");
            w.uuid(&node.uuid());
            w.text("/");
            w.text(label);
        }
    }
}

/// The parameters, ` `-prefixed, `%default%` replaced as Ironic's `str.replace` does
/// (every occurrence); nothing for `""`.
fn write_append(w: &mut impl Sink, append: &Append<'_>) {
    let Some(text) = append.text.filter(|t| !t.is_empty()) else { return };
    w.text(" ");
    match append.default {
        Some(default) if append.mentions.default_placeholder => {
            for (index, piece) in text.split(DEFAULT_PLACEHOLDER).enumerate() {
                if index > 0 {
                    w.text(default);
                }
                w.text(piece);
            }
        }
        _ => w.text(text),
    }
}

fn fetch_timeout(w: &mut impl Sink, config: &RenderConfig<'_>) {
    if let Some(timeout) = config.fetch_timeout_ms {
        w.text("--timeout ");
        w.number(timeout);
        w.text(" ");
    }
}

fn local_disk_script(w: &mut impl Sink, node: &Node<'_>, mode: BootMode) {
    let uuid = node.uuid();
    w.fmt(format_args!("#!ipxe\n# ipxe-config: local disk for node {uuid}\n\n"));
    w.fmt(format_args!("echo Booting node {uuid} from its local disk.\n"));
    if mode == BootMode::Bios {
        w.text("sanboot --no-describe --drive 0x80 || exit 0\n");
    } else {
        // UEFI: leaving iPXE hands control back to the firmware's boot order.
        w.text("exit 0\n");
    }
}

/// The iPXE setting `/boot.ipxe` sets while it tries NICs, so an error script for an
/// unknown MAC returns to it instead of ending the boot.
const CHAIN_SETTING: &str = "ipxe_config_chain";

fn error_script(
    w: &mut impl Sink,
    config: &RenderConfig<'_>,
    route: &Route,
    node: Option<&Node<'_>>,
    refusal: Refusal<'_>,
) {
    w.fmt(format_args!("#!ipxe\n# ipxe-config: error script ({refusal})\n\necho\n"));
    let mut echo = EchoLines::new(w);
    echo.fmt(format_args!("ipxe-config cannot boot this machine."));
    echo.line();
    match (refusal, node) {
        (Refusal::UnknownNode(uuid), _) => {
            echo.fmt(format_args!("No node with UUID {uuid} is in this server's inventory."));
        }
        (Refusal::UnknownAddress(address), _) => {
            echo.fmt(format_args!("No node has a PXE-enabled port with MAC {address}."));
        }
        (Refusal::DriverMismatch { node_driver }, _) => {
            let requested = match route {
                Route::NodeScript { driver, .. } => driver.as_str(),
                Route::ChainScript => "",
            };
            echo.fmt(format_args!("The node uses driver {node_driver}, but the request names driver {requested}."));
        }
        (Refusal::UnbootableState, Some(node)) => {
            echo.fmt(format_args!(
                "The node is in provision state {}, which has nothing to boot.",
                printable(node.provision_state_text(), ValueKind::Words)
            ));
            if node.provision_state() == crate::state::ProvisionState::Rescue {
                // Ironic's AgentRescue.clean_up deletes the config once rescue is done.
                echo.line();
                echo.fmt(format_args!(
                    "Rescue has finished: Ironic keeps no boot config for a rescued node. Unrescue it to boot it again."
                ));
            }
        }
        (Refusal::BootInterface(interface), _) => {
            echo.fmt(format_args!(
                "The node's boot interface is {}; Ironic gives only ipxe and http-ipxe nodes an iPXE script.",
                printable(interface, ValueKind::Token)
            ));
        }
        (Refusal::NotFetchable(field), _) => {
            echo.fmt(format_args!(
                "The node's {field} is not an http(s) URL (a Glance image or file://), and this server has no Ironic http_url to boot Ironic's copy of it from."
            ));
        }
        (Refusal::Missing(field), _) => {
            echo.fmt(format_args!("The node has no {field}, and this server has no default for it."));
        }
        (Refusal::UnsafeValue(field), _) => {
            echo.fmt(format_args!("The node's {field} would change this script's commands; refused."));
        }
        (Refusal::Quarantined(cause), _) => {
            echo.fmt(format_args!("The node is quarantined: its {} {}.", cause.field.path(), cause.problem));
            echo.line();
            echo.fmt(format_args!("Fix the value in the inventory; the rest of the fleet boots."));
        }
        (Refusal::UnbootableState, None) => echo.fmt(format_args!("The node cannot be booted.")),
    }
    echo.line();
    if let Some(node) = node {
        echo.fmt(format_args!("node: {}", node.uuid()));
        echo.line();
        // A quarantined node has no provision state stored.
        if !matches!(refusal, Refusal::Quarantined(_)) {
            echo.fmt(format_args!("provision state: {}", printable(node.provision_state_text(), ValueKind::Words)));
            echo.line();
        }
    }
    let w = echo.into_inner();
    if matches!(refusal, Refusal::UnknownAddress(_)) {
        w.fmt(format_args!("isset ${{{CHAIN_SETTING}}} && exit 1 ||\n"));
    }
    if matches!(refusal, Refusal::UnknownAddress(_) | Refusal::UnknownNode(_)) {
        unknown_node_fallback(w, config);
    }
    ending(w, config, route);
}

/// The configured pause and ending of an error script.
fn ending(w: &mut impl Sink, config: &RenderConfig<'_>, route: &Route) {
    let pause = config.error_pause_seconds;
    let sentence = match config.error_ending {
        ErrorEnding::Retry => "Asking the server again",
        ErrorEnding::Exit => "Returning to the firmware",
        ErrorEnding::Reboot => "Rebooting",
    };
    if pause > 0 {
        w.fmt(format_args!("echo {sentence} in {pause} seconds.\nsleep {pause}\n"));
    } else {
        w.fmt(format_args!("echo {sentence}.\n"));
    }
    match config.error_ending {
        ErrorEnding::Retry => {
            w.text("chain --replace --autofree ");
            base_url(w, config);
            let _ = route.write_target(w);
            w.text("\n");
        }
        ErrorEnding::Exit => w.text("exit 1\n"),
        ErrorEnding::Reboot => w.text("reboot\n"),
    }
}

/// Chains the configured script for machines no node owns, if there is one. `--replace`
/// puts it in this script's place, so what it returns goes to whoever ran this one; if the
/// fetch fails, `chain` fails and the error script's own ending follows.
fn unknown_node_fallback(w: &mut impl Sink, config: &RenderConfig<'_>) {
    let Some(fallback) =
        config.unknown_node_fallback.and_then(|f| checked(f, "unknown_node_fallback", ValueKind::Token).ok())
    else {
        return;
    };
    w.text("echo Chaining the script for machines not in the inventory.\nchain --replace --autofree ");
    if fallback.contains("://") {
        w.text(fallback);
    } else {
        // A path on this server: Debian-era iPXE does not resolve relative URLs (below).
        base_url(w, config);
        if !fallback.starts_with('/') {
            w.text("/");
        }
        w.text(fallback);
    }
    w.text(" ||\n");
}

/// This server's base URL. iPXE builds of Debian's age do not resolve relative URLs in
/// `chain` ("Operation not supported", seen under QEMU), so without a configured base the
/// DHCP server's `next-server` is used, which is where PXE setups usually serve from.
fn base_url(w: &mut impl Sink, config: &RenderConfig<'_>) {
    let base = match config.base_url.and_then(|b| checked(b, "base_url", ValueKind::Token).ok()) {
        Some(base) => BaseUrl::Given(base),
        None => BaseUrl::NextServer,
    };
    let _ = base.write(w);
}

/// The setting holding NIC number `${nic}`'s MAC, which iPXE expands when it fetches.
const NIC_MAC_SETTING: &str = "${net${nic}/mac}";

fn chain_script(w: &mut impl Sink, config: &RenderConfig<'_>) {
    w.text("#!ipxe\n# ipxe-config: ask the server about each network interface in turn\n\n");
    w.fmt(format_args!("set {CHAIN_SETTING} 1\nset nic:int32 0\n:next_nic\n"));
    w.text("isset ${net${nic}/mac} || goto no_known_nic\n");
    w.text("echo ipxe-config: asking about net${nic} (${net${nic}/mac})\n");
    w.text("chain --autofree ");
    base_url(w, config);
    let driver = checked(config.any_driver, "any_driver", ValueKind::Token).unwrap_or("any");
    let _ = Endpoint::new(driver, NodeParam::AddressSetting(NIC_MAC_SETTING)).write(w);
    // iPXE's `chain` returns what the chained script returned (`script_exec` hands back
    // the status of the line that ended it, and `exit N` ends it with N: src/image/script.c,
    // src/core/exec.c `exit_exec`), and fails by itself when the fetch fails. A per-node
    // script returns only when it is done with this machine (`exit 0` for UEFI local disk,
    // or BIOS after a failed `sanboot`): then this script must end too, so the firmware
    // moves on to its disk. A failure (a fetch error, or the unknown-MAC script's `exit 1`)
    // means ask about the next NIC.
    w.text(" && exit 0 ||\ninc nic\ngoto next_nic\n\n");
    w.fmt(format_args!(":no_known_nic\nclear {CHAIN_SETTING}\necho\n"));
    w.text("echo ipxe-config cannot boot this machine.\n");
    w.text("echo None of its network interfaces is a PXE-enabled port of a known node.\n");
    unknown_node_fallback(w, config);
    ending(w, config, &Route::ChainScript);
}

/// Writes `echo` lines no wider than [`ECHO_WIDTH`] characters of text: the console wraps
/// at 80 columns and would split words mid-way. A word longer than a line is shortened,
/// ending in `...`, rather than cut into pieces: a piece could become a token of its own
/// such as `&&`, `||`, `;` or `#…`, which iPXE obeys wherever it stands (a provision state
/// `xxx…x&& reboot` once rendered `echo && reboot`).
struct EchoLines<'w, S> {
    w: &'w mut S,
    column: usize,
    /// The current word, up to [`ECHO_WIDTH`] characters of up to 4 bytes.
    word: heapless::String<{ 4 * ECHO_WIDTH }>,
    word_chars: usize,
    /// The current word is longer than a line; the rest of it is being dropped.
    shortened: bool,
}

const ECHO_WIDTH: usize = 72;

impl<'w, S: Sink> EchoLines<'w, S> {
    fn new(w: &'w mut S) -> Self {
        Self { w, column: 0, word: heapless::String::new(), word_chars: 0, shortened: false }
    }

    fn fmt(&mut self, args: fmt::Arguments<'_>) {
        let _ = fmt::Write::write_fmt(self, args);
    }

    fn flush_word(&mut self) {
        if self.word.is_empty() {
            return;
        }
        if self.shortened {
            while self.word_chars > ECHO_WIDTH - "...".len() {
                self.word.pop();
                self.word_chars -= 1;
            }
            let _ = self.word.push_str("...");
            self.word_chars += "...".len();
            self.shortened = false;
        }
        let len = self.word_chars;
        if self.column > 0 && self.column + 1 + len > ECHO_WIDTH {
            self.w.text("\n");
            self.column = 0;
        }
        if self.column == 0 {
            // iPXE's `echo` reads a leading `-word` as an option and fails on an unknown
            // one, which ends the script; `--` ends its options and is not printed.
            self.w.text(if self.word.starts_with('-') { "echo -- " } else { "echo " });
        } else {
            self.w.text(" ");
            self.column += 1;
        }
        self.w.text(&self.word);
        self.column += len;
        self.word.clear();
        self.word_chars = 0;
    }

    /// Ends the current line.
    fn line(&mut self) {
        self.flush_word();
        if self.column > 0 {
            self.w.text("\n");
            self.column = 0;
        }
    }

    fn into_inner(mut self) -> &'w mut S {
        self.line();
        self.w
    }
}

impl<S: Sink> fmt::Write for EchoLines<'_, S> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for character in text.chars() {
            if character == ' ' {
                self.flush_word();
            } else if self.word_chars == ECHO_WIDTH {
                self.shortened = true;
            } else if self.word.push(character).is_ok() {
                self.word_chars += 1;
            }
        }
        Ok(())
    }
}
