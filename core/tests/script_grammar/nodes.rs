//! Generated inventories for the property and fuzz tests: nodes described with arbitrary
//! text in every string field, their JSON, what the loader must answer (worked out from
//! iPXE's grammar in [`super::ipxe`] plus the design's stated policy, not from the crate's
//! own checks), a harmless twin of each node, and the check that every route renders the
//! twin's commands.

use std::fmt::Write as _;

use ipxe_config::route::DriverName;
use ipxe_config::{render, HeapInventoryBuffers, InventoryCapacity, ProvisionState, RenderConfig, Route, ScriptKind};

use super::ipxe;
use super::shape::{self, Substitution};

/// Provision states Ironic reports (bootable and not), spelled its way, for generated
/// nodes; `active` twice, as most of a fleet is.
pub const STATES: [&str; 20] = [
    "deploying",
    "wait call-back",
    "deploy hold",
    "cleaning",
    "clean wait",
    "clean hold",
    "inspecting",
    "inspect wait",
    "servicing",
    "service wait",
    "service hold",
    "rescuing",
    "rescue wait",
    "rescue",
    "active",
    "active",
    "available",
    "manageable",
    "deploy failed",
    "enroll",
];

/// A JSON string member: left out, `null`, or a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Text {
    /// The key is not in the object.
    Absent,
    /// `null`.
    Null,
    /// A string, written with JSON escapes as needed.
    Value(String),
}

/// How a value is placed in a script: one token, or space-separated words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// URLs, names: exactly one token.
    Token,
    /// Kernel parameters, provision states: words.
    Words,
}

/// The string fields of the three `*_info` objects, in the order the JSON writes them.
pub const TEXT_FIELDS: [(&str, &str, Kind); 8] = [
    ("driver_info", "deploy_kernel", Kind::Token),
    ("driver_info", "deploy_ramdisk", Kind::Token),
    ("driver_info", "rescue_kernel", Kind::Token),
    ("driver_info", "rescue_ramdisk", Kind::Token),
    ("driver_info", "kernel_append_params", Kind::Words),
    ("instance_info", "kernel", Kind::Token),
    ("instance_info", "ramdisk", Kind::Token),
    ("instance_info", "kernel_append_params", Kind::Words),
];

/// One node and its ports.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    /// The UUID; [`check_inventory`] makes it unique by overwriting its last byte.
    pub uuid: u128,
    /// Whether `uuid` comes last in the object (errors must still name the node by it).
    pub uuid_last: bool,
    /// `driver`.
    pub driver: Text,
    /// `provision_state`.
    pub provision_state: Text,
    /// `deploy_interface`.
    pub deploy_interface: Text,
    /// `boot_mode`.
    pub boot_mode: Text,
    /// `instance_info.image_type`.
    pub image_type: Text,
    /// `driver_internal_info.is_whole_disk_image`.
    pub is_whole_disk_image: Option<bool>,
    /// The [`TEXT_FIELDS`], in order.
    pub texts: [Text; 8],
    /// Written into fields the loader ignores (`name`, `driver_info.ipmi_password`).
    pub ignored: String,
    /// The node's ports; [`check_inventory`] makes their addresses unique.
    pub ports: Vec<PortSpec>,
}

/// A port of a node.
#[derive(Debug, Clone)]
pub struct PortSpec {
    /// The MAC.
    pub address: [u8; 6],
    /// `pxe_enabled`, left out when `None`.
    pub pxe_enabled: Option<bool>,
}

/// How strings are escaped in the JSON: every document means the same either way.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonStyle {
    /// `/` as `\/`, as PHP and some Python encoders write it.
    pub escape_slash: bool,
    /// Non-ASCII as `\uXXXX`, as Python's `json.dumps` writes it by default: characters
    /// outside the Basic Multilingual Plane as surrogate pairs.
    pub escape_non_ascii: bool,
}

const MASKED: &str = "******";
const LONGEST_STRING: usize = 4096;

fn write_json_string(out: &mut String, text: &str, style: JsonStyle) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' if style.escape_slash => out.push_str("\\/"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 || (style.escape_non_ascii && !c.is_ascii()) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_member(out: &mut String, key: &str, text: &Text, style: JsonStyle) {
    let value = match text {
        Text::Absent => return,
        Text::Null => None,
        Text::Value(value) => Some(value),
    };
    if !out.ends_with('{') {
        out.push_str(", ");
    }
    write_json_string(out, key, style);
    out.push_str(": ");
    match value {
        Some(value) => write_json_string(out, value, style),
        None => out.push_str("null"),
    }
}

fn uuid_text(uuid: u128) -> String {
    ipxe_config::Uuid::from_u128(uuid).hyphenated().to_string()
}

fn mac_text(address: [u8; 6]) -> String {
    address.iter().map(|octet| format!("{octet:02x}")).collect::<Vec<_>>().join(":")
}

/// The inventory document for `nodes`.
pub fn inventory_json(nodes: &[NodeSpec], style: JsonStyle) -> String {
    let mut out = String::from("{\"nodes\": [");
    for (index, node) in nodes.iter().enumerate() {
        if index > 0 {
            out.push_str(", ");
        }
        out.push('{');
        let uuid = Text::Value(uuid_text(node.uuid));
        if !node.uuid_last {
            write_member(&mut out, "uuid", &uuid, style);
        }
        write_member(&mut out, "name", &Text::Value(node.ignored.clone()), style);
        write_member(&mut out, "driver", &node.driver, style);
        write_member(&mut out, "deploy_interface", &node.deploy_interface, style);
        write_member(&mut out, "provision_state", &node.provision_state, style);
        write_member(&mut out, "boot_mode", &node.boot_mode, style);
        for section in ["driver_info", "instance_info", "driver_internal_info"] {
            out.push_str(", \"");
            out.push_str(section);
            out.push_str("\": {");
            match section {
                "driver_info" => write_member(&mut out, "ipmi_password", &Text::Value(node.ignored.clone()), style),
                "instance_info" => write_member(&mut out, "image_type", &node.image_type, style),
                _ => {
                    if let Some(flag) = node.is_whole_disk_image {
                        out.push_str(if flag {
                            "\"is_whole_disk_image\": true"
                        } else {
                            "\"is_whole_disk_image\": false"
                        });
                    }
                    // Ironic 39 boots no instance kernel, so the root it would name is never
                    // read: whatever it holds must not stop the node.
                    write_member(&mut out, "root_uuid_or_disk_id", &Text::Value(node.ignored.clone()), style);
                }
            }
            for ((field_section, key, _), text) in TEXT_FIELDS.iter().zip(&node.texts) {
                if *field_section == section {
                    write_member(&mut out, key, text, style);
                }
            }
            out.push('}');
        }
        if node.uuid_last {
            write_member(&mut out, "uuid", &uuid, style);
        }
        out.push('}');
    }
    out.push_str("], \"ports\": [");
    let ports = nodes.iter().flat_map(|node| node.ports.iter().map(move |port| (node.uuid, port)));
    for (index, (uuid, port)) in ports.enumerate() {
        if index > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{{\"address\": \"{}\", \"node_uuid\": \"{}\"", mac_text(port.address), uuid_text(uuid));
        if let Some(flag) = port.pxe_enabled {
            let _ = write!(out, ", \"pxe_enabled\": {flag}");
        }
        out.push('}');
    }
    out.push_str("]}");
    out
}

/// What the loader must make of a string field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Left out, `null`, empty or masked: no value.
    Absent,
    /// Stored as is.
    Accepted(String),
    /// Refused, naming the field.
    Rejected,
}

/// Whether `value` can stand in a script line as `kind` without changing its commands,
/// by iPXE's grammar (a probe line must keep one command, no comment, no expansion, and
/// the value exactly the tokens a space-split gives), plus DESIGN.md's policy: no control
/// or non-space whitespace characters (Unicode included), no quotes or backslashes in a
/// single-token value, no word ending in a backslash (iPXE would join the next line), and
/// no space at all in a single-token value. Quotes in words are ordinary to iPXE.
pub fn script_safe(value: &str, kind: Kind) -> bool {
    let policy = !value.chars().any(|c| c.is_control() || (c.is_whitespace() && c != ' '));
    if !policy {
        return false;
    }
    if kind == Kind::Token && value.contains(['"', '\'', '\\']) {
        return false;
    }
    if value.split(' ').any(|word| word.ends_with('\\')) {
        return false;
    }
    // A token value holds no space at all, not even a harmless trailing one; and it stands
    // where iPXE's getopt still reads options (`kernel <url>`, `initrd --name n <url>`), so
    // it must not start with `-` (rule 9).
    if kind == Kind::Token && (value.contains(' ') || value.starts_with('-')) {
        return false;
    }
    let words: Vec<&str> = value.split(' ').filter(|word| !word.is_empty()).collect();
    let probe = ipxe::parse(&format!("kernel x {value} y\n"));
    let [line] = probe.lines.as_slice() else { return false };
    let [command] = line.commands.as_slice() else { return false };
    let mut expected = vec!["kernel", "x"];
    expected.extend(&words);
    expected.push("y");
    line.label.is_none()
        && line.comment.is_none()
        && command.tokens == expected
        && command.tokens.iter().all(|token| ipxe::expansions(token).is_empty() && !token.contains("${"))
}

/// The loader's answer for one string field.
pub fn verdict(text: &Text, kind: Kind) -> Verdict {
    match text {
        Text::Absent | Text::Null => Verdict::Absent,
        Text::Value(value) if value.is_empty() || value == MASKED => Verdict::Absent,
        Text::Value(value) if value.len() > LONGEST_STRING || !script_safe(value, kind) => Verdict::Rejected,
        Text::Value(value) => Verdict::Accepted(value.clone()),
    }
}

fn enum_ok(text: &Text, allowed: &[&str]) -> bool {
    match text {
        Text::Absent | Text::Null => true,
        Text::Value(value) => allowed.contains(&value.as_str()),
    }
}

/// The field the loader must name for this node, if it must refuse it: the first bad
/// field in document order, else the first missing required one.
pub fn expected_problem(node: &NodeSpec) -> Option<&'static str> {
    let mut checks: Vec<(&'static str, bool)> = vec![
        ("driver", verdict(&node.driver, Kind::Token) == Verdict::Rejected),
        ("provision_state", verdict(&node.provision_state, Kind::Words) == Verdict::Rejected),
        ("boot_mode", !enum_ok(&node.boot_mode, &["bios", "uefi"])),
    ];
    let dotted = [
        "driver_info.deploy_kernel",
        "driver_info.deploy_ramdisk",
        "driver_info.rescue_kernel",
        "driver_info.rescue_ramdisk",
        "driver_info.kernel_append_params",
        "instance_info.kernel",
        "instance_info.ramdisk",
        "instance_info.kernel_append_params",
    ];
    for (index, ((_, _, kind), text)) in TEXT_FIELDS.iter().zip(&node.texts).enumerate() {
        if index == 5 {
            checks.push(("instance_info.image_type", !enum_ok(&node.image_type, &["partition", "whole-disk"])));
        }
        // Values that go on the kernel line must also stay within iPXE's bounds for it.
        let past_bounds = |value: &str| {
            matches!(index, 4 | 7 | 8)
                && (value.split(' ').filter(|w| !w.is_empty()).count() > ipxe_config::quarantine::MAX_KERNEL_WORDS
                    || value.len() > ipxe_config::quarantine::MAX_KERNEL_CMDLINE)
        };
        let bad = match verdict(text, *kind) {
            Verdict::Rejected => true,
            Verdict::Accepted(value) => past_bounds(&value),
            Verdict::Absent => false,
        };
        checks.push((dotted[index], bad));
    }
    checks.push(("driver", verdict(&node.driver, Kind::Token) == Verdict::Absent));
    checks.push(("provision_state", verdict(&node.provision_state, Kind::Words) == Verdict::Absent));
    checks.into_iter().find(|(_, bad)| *bad).map(|(field, _)| field)
}

/// The harmless twin of an accepted node (same kind, same presence of every value, each
/// value a unique marker) and the substitutions from the twin's values to the node's.
pub fn twin(node: &NodeSpec, index: usize) -> (NodeSpec, Vec<Substitution>) {
    let mut substitutions = Vec::new();
    let mut mark = |real: &Text, kind: Kind, marker: String| -> Text {
        match verdict(real, kind) {
            Verdict::Accepted(value) => {
                substitutions.push(Substitution { marker: marker.clone(), value });
                Text::Value(marker)
            }
            _ => real.clone(),
        }
    };
    let driver = mark(&node.driver, Kind::Token, format!("refdriver{index}-zq"));
    let provision_state = match verdict(&node.provision_state, Kind::Words) {
        Verdict::Accepted(state) if ProvisionState::from_ironic(&state) != ProvisionState::Other => {
            node.provision_state.clone()
        }
        _ => mark(&node.provision_state, Kind::Words, format!("«n{index}.provision_state»")),
    };
    let mut texts = node.texts.clone();
    for (slot, ((section, key, kind), real)) in texts.iter_mut().zip(TEXT_FIELDS.iter().zip(&node.texts)) {
        let mut marker = format!("«n{index}.{section}.{key}»");
        // The renderer leaves out its own ipa-api-url when the node's parameters carry one.
        if let Verdict::Accepted(value) = verdict(real, *kind) {
            if value.split(' ').any(|word| word.starts_with("ipa-api-url=")) {
                marker = format!("ipa-api-url={marker}");
            }
            // Images that are http(s) URLs are fetched as they are; anything else is
            // Ironic's copy or an error, so the twin's marker keeps the scheme's verdict.
            let is_image = matches!(
                *key,
                "deploy_kernel" | "deploy_ramdisk" | "rescue_kernel" | "rescue_ramdisk" | "kernel" | "ramdisk"
            );
            let lower = value.to_ascii_lowercase();
            if is_image && (lower.starts_with("http://") || lower.starts_with("https://")) {
                marker = format!("http://{marker}");
            }
        }
        *slot = mark(real, *kind, marker);
    }
    let twin = NodeSpec {
        uuid: node.uuid,
        uuid_last: node.uuid_last,
        driver,
        provision_state,
        deploy_interface: match &node.deploy_interface {
            Text::Value(value) if value == "ramdisk" => Text::Value("ramdisk".into()),
            _ => Text::Absent,
        },
        boot_mode: node.boot_mode.clone(),
        image_type: node.image_type.clone(),
        is_whole_disk_image: node.is_whole_disk_image,
        texts,
        ignored: "x".into(),
        ports: node.ports.clone(),
    };
    (twin, substitutions)
}

/// What one generated inventory did, for coverage counts.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    /// Whether the loader accepted it.
    pub accepted: bool,
    /// The field the loader named, if it refused the inventory.
    pub refused_field: Option<&'static str>,
    /// Every script rendered, by kind.
    pub kinds: Vec<ScriptKind>,
}

/// Heap inventory buffers sized for `json`: the pool can never be the limit.
struct Storage(HeapInventoryBuffers);

impl Storage {
    fn for_document(json: &str, nodes: usize, ports: usize) -> Self {
        let capacity = InventoryCapacity::new(nodes.max(1), ports.max(1), json.len() + 64);
        Self(HeapInventoryBuffers::new(capacity).unwrap_or_else(|| panic!("{capacity:?} overflows")))
    }

    fn load(&mut self, json: &str) -> Result<ipxe_config::Inventory<'_>, ipxe_config::LoadError> {
        self.0.load(json.as_bytes())
    }
}

/// Renders, growing the buffer once if the first one is too small.
fn render_text(
    inventory: &ipxe_config::Inventory<'_>,
    config: &RenderConfig<'_>,
    route: &Route,
) -> (ipxe_config::Rendered<'static>, String) {
    let mut out = vec![0u8; 16 * 1024];
    let rendered = match render(inventory, config, route, &mut out) {
        Ok(rendered) => rendered,
        Err(too_small) => {
            out = vec![0u8; too_small.needed];
            match render(inventory, config, route, &mut out) {
                Ok(rendered) => rendered,
                Err(again) => panic!("render asked for {} bytes, then for {}", too_small.needed, again.needed),
            }
        }
    };
    let text = String::from_utf8(out[..rendered.len].to_vec()).unwrap_or_else(|e| panic!("script is not UTF-8: {e}"));
    // Only the kind and the refusal's variant are compared; drop the borrows.
    let summary = ipxe_config::Rendered {
        len: rendered.len,
        kind: rendered.kind,
        node: rendered.node,
        state: None,
        refusal: rendered.refusal.map(|refusal| match refusal {
            ipxe_config::Refusal::DriverMismatch { .. } => ipxe_config::Refusal::DriverMismatch { node_driver: "" },
            ipxe_config::Refusal::UnknownNode(uuid) => ipxe_config::Refusal::UnknownNode(uuid),
            ipxe_config::Refusal::UnknownAddress(address) => ipxe_config::Refusal::UnknownAddress(address),
            ipxe_config::Refusal::UnbootableState => ipxe_config::Refusal::UnbootableState,
            ipxe_config::Refusal::Missing(field) => ipxe_config::Refusal::Missing(field),
            ipxe_config::Refusal::UnsafeValue(field) => ipxe_config::Refusal::UnsafeValue(field),
            ipxe_config::Refusal::Quarantined(cause) => ipxe_config::Refusal::Quarantined(cause),
            ipxe_config::Refusal::BootInterface(_) => ipxe_config::Refusal::BootInterface(""),
            ipxe_config::Refusal::NotFetchable(field) => ipxe_config::Refusal::NotFetchable(field),
        }),
    };
    (summary, text)
}

/// Request targets for `node` and the same requests for its twin: by UUID and by each port,
/// naming the any-driver, the node's own driver (when it is a valid path segment) and
/// another driver.
fn routes(node: &NodeSpec, twin: &NodeSpec, config: &RenderConfig<'_>) -> Vec<(String, String)> {
    let driver = |spec: &NodeSpec| match verdict(&spec.driver, Kind::Token) {
        Verdict::Accepted(driver) if DriverName::new(&driver).is_some() => Some(driver),
        _ => None,
    };
    let own = driver(node);
    let other = if own.as_deref() == Some("other-driver") { "other-driver-2" } else { "other-driver" };
    let mut drivers =
        vec![(config.any_driver.to_string(), config.any_driver.to_string()), (other.into(), other.into())];
    if let (Some(own), Some(twin_own)) = (own, driver(twin)) {
        drivers.push((own, twin_own));
    }
    let endpoint = |driver: &str, query: String| format!("/v1/drivers/{driver}/vendor_passthru/ipxe_config?{query}");
    let mut targets = Vec::new();
    for (real, reference) in &drivers {
        let query = format!("node_uuid={}", uuid_text(node.uuid));
        targets.push((endpoint(real, query.clone()), endpoint(reference, query)));
        for port in &node.ports {
            // iPXE's own spelling of `${mac}` in a URL.
            let query = format!("port_address={}", mac_text(port.address).replace(':', "%3A"));
            targets.push((endpoint(real, query.clone()), endpoint(reference, query)));
        }
    }
    targets
}

/// Loads `nodes` (made unique) and, if the loader must accept them, renders every route
/// of every node and of the server (`/boot.ipxe`, unknown UUID and MAC) and compares each
/// script with the twin inventory's. If the loader must refuse them, checks it names the
/// right node and field.
pub fn check_inventory(nodes: &[NodeSpec], style: JsonStyle, config: &RenderConfig<'_>) -> Result<Outcome, String> {
    let mut nodes = nodes.to_vec();
    for (index, node) in nodes.iter_mut().enumerate() {
        node.uuid = (node.uuid & !0xff) | index as u128;
        for (port_index, port) in node.ports.iter_mut().enumerate() {
            port.address[4] = u8::try_from(index).unwrap_or(u8::MAX);
            port.address[5] = u8::try_from(port_index).unwrap_or(u8::MAX);
        }
    }
    let json = inventory_json(&nodes, style);
    let port_count = nodes.iter().map(|node| node.ports.len()).sum();
    let mut storage = Storage::for_document(&json, nodes.len(), port_count);
    let expected = nodes.iter().find_map(|node| expected_problem(node).map(|field| (node.uuid, field)));
    let inventory = match storage.load(&json) {
        Err(error) => return Err(format!("an inventory of well-formed JSON was refused: {error}\n  document: {json}")),
        Ok(inventory) => inventory,
    };
    if let Some((_, field)) = expected {
        // A node whose values would change its script loads quarantined, naming the
        // field; every request for it gets an error script saying so.
        for node in &nodes {
            let uuid = ipxe_config::Uuid::from_u128(node.uuid);
            let quarantine = inventory.node_by_uuid(&uuid).and_then(|found| found.quarantine());
            match (expected_problem(node), quarantine) {
                (Some(expected), Some(cause)) if cause.field.path() == expected => {
                    let route = Route::parse(
                        format!("/v1/drivers/any/vendor_passthru/ipxe_config?node_uuid={uuid}").as_bytes(),
                    )
                    .map_err(|e| e.to_string())?;
                    let (rendered, text) = render_text(&inventory, config, &route);
                    if rendered.refusal != Some(ipxe_config::Refusal::Quarantined(cause)) || !text.contains(expected) {
                        return Err(format!("node {uuid}: quarantined, but rendered:\n{text}"));
                    }
                }
                (None, None) => {}
                (expected, cause) => {
                    return Err(format!(
                        "node {}: expected a quarantine for {expected:?}, found {cause:?}\n  document: {json}",
                        uuid_text(node.uuid)
                    ));
                }
            }
        }
        return Ok(Outcome { accepted: false, refused_field: Some(field), kinds: Vec::new() });
    }

    let mut twins = Vec::new();
    let mut substitutions = Vec::new();
    for (index, node) in nodes.iter().enumerate() {
        let (twin, node_substitutions) = twin(node, index);
        twins.push(twin);
        substitutions.push(node_substitutions);
    }
    let twin_json = inventory_json(&twins, JsonStyle::default());
    let mut twin_storage = Storage::for_document(&twin_json, twins.len(), port_count);
    let twin_inventory =
        twin_storage.load(&twin_json).map_err(|e| format!("twin refused: {e}\n  twin: {twin_json}"))?;

    let mut pairs: Vec<(String, String, &[Substitution])> = vec![
        ("/boot.ipxe".into(), "/boot.ipxe".into(), &[]),
        (
            "/v1/drivers/any/vendor_passthru/ipxe_config?node_uuid=ffffffff-ffff-4fff-bfff-ffffffffffff".into(),
            "/v1/drivers/any/vendor_passthru/ipxe_config?node_uuid=ffffffff-ffff-4fff-bfff-ffffffffffff".into(),
            &[],
        ),
        (
            "/v1/drivers/any/vendor_passthru/ipxe_config?port_address=02-00-00-00-ff-ff".into(),
            "/v1/drivers/any/vendor_passthru/ipxe_config?port_address=02-00-00-00-ff-ff".into(),
            &[],
        ),
    ];
    for ((node, twin), node_substitutions) in nodes.iter().zip(&twins).zip(&substitutions) {
        for (real, reference) in routes(node, twin, config) {
            pairs.push((real, reference, node_substitutions));
        }
    }

    let mut outcome = Outcome { accepted: true, refused_field: None, kinds: Vec::new() };
    for (target, twin_target, node_substitutions) in pairs {
        let route = Route::parse(target.as_bytes()).map_err(|e| format!("{target}: {e}"))?;
        let twin_route = Route::parse(twin_target.as_bytes()).map_err(|e| format!("{twin_target}: {e}"))?;
        let (rendered, text) = render_text(&inventory, config, &route);
        let (expected, twin_text) = render_text(&twin_inventory, config, &twin_route);
        let context =
            || format!("\n  target: {target}\n  document: {json}\n--- rendered:\n{text}--- reference:\n{twin_text}");
        if !text.starts_with("#!ipxe\n") || !ipxe::has_signature(text.as_bytes()) {
            return Err(format!("script does not start with #!ipxe{}", context()));
        }
        if (rendered.kind, rendered.refusal, rendered.node) != (expected.kind, expected.refusal, expected.node) {
            return Err(format!(
                "rendered {:?} ({:?}), the twin {:?} ({:?}){}",
                rendered.kind,
                rendered.refusal,
                expected.kind,
                expected.refusal,
                context()
            ));
        }
        let script = ipxe::parse(&text);
        shape::compare(&ipxe::parse(&twin_text), &script, node_substitutions)
            .and_then(|()| shape::check_vocabulary(&script))
            .map_err(|problem| format!("{problem}{}", context()))?;
        outcome.kinds.push(rendered.kind);
    }
    Ok(outcome)
}
