//! Structured inventories: one to three nodes whose every string field is built from
//! hostile fragments (`||`, `&&`, `;`, `#`, `${`, quotes, backslashes, control and Unicode
//! characters, console-width runs, 4 KiB strings). `check_inventory` from the property
//! tests (`core/tests/script_grammar`) decides what the loader must answer from iPXE's
//! grammar, and compares every script rendered for an accepted inventory with a twin's
//! whose values are harmless markers: same lines, commands, terminators and labels.

#![no_main]

#[path = "../../core/tests/script_grammar/mod.rs"]
mod script_grammar;

use arbitrary::Arbitrary;
use ipxe_config::{BootMode, ErrorEnding, RenderConfig};
use libfuzzer_sys::fuzz_target;
use script_grammar::nodes::{check_inventory, JsonStyle, NodeSpec, PortSpec, Text, STATES};

const FRAGMENTS: [&str; 40] = [
    "||",
    "&&",
    ";",
    "#",
    "${",
    "}",
    "${mac}",
    "\"",
    "'",
    "\\",
    "\t",
    "\r",
    "\n",
    "\r\n",
    "\0",
    "\u{b}",
    "\u{1b}[2J",
    "\u{7f}",
    "\u{85}",
    "\u{a0}",
    "\u{2028}",
    " ",
    "  ",
    "-",
    "-x",
    "--name=",
    "$",
    "{",
    "é",
    "日本",
    "😀",
    "%3A",
    "******",
    "http://10.99.0.1/images/",
    "ipa-api-url=",
    "a||b",
    "x#y",
    "console=ttyS0",
    ":",
    "/",
];

#[derive(Arbitrary, Debug)]
enum Piece {
    Fragment(u8),
    /// `x` repeated: 72 and 144 put the next character at the start of a console line.
    Run(u8),
    /// `u` repeated up to 4200 times, around the loader's 4096-byte limit.
    Long(u16),
    Free(String),
}

#[derive(Arbitrary, Debug)]
enum FuzzText {
    Absent,
    Null,
    Empty,
    Pieces(Vec<Piece>),
}

impl FuzzText {
    fn text(&self) -> Text {
        match self {
            Self::Absent => Text::Absent,
            Self::Null => Text::Null,
            Self::Empty => Text::Value(String::new()),
            Self::Pieces(pieces) => Text::Value(
                pieces
                    .iter()
                    .take(8)
                    .map(|piece| match piece {
                        Piece::Fragment(index) => FRAGMENTS[usize::from(*index) % FRAGMENTS.len()].to_string(),
                        Piece::Run(length) => "x".repeat(usize::from(*length)),
                        Piece::Long(length) => "u".repeat(usize::from(*length) % 4200),
                        Piece::Free(text) => text.clone(),
                    })
                    .collect(),
            ),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Choice {
    First,
    Second,
    Null,
    Absent,
    Other(FuzzText),
}

impl Choice {
    fn text(&self, first: &str, second: &str) -> Text {
        match self {
            Self::First => Text::Value(first.into()),
            Self::Second => Text::Value(second.into()),
            Self::Null => Text::Null,
            Self::Absent => Text::Absent,
            Self::Other(text) => text.text(),
        }
    }
}

#[derive(Arbitrary, Debug)]
struct FuzzNode {
    uuid: u128,
    uuid_last: bool,
    driver: Choice,
    state: Result<u8, FuzzText>,
    deploy_interface: Choice,
    boot_mode: Choice,
    image_type: Choice,
    is_whole_disk_image: Option<bool>,
    texts: [FuzzText; 9],
    ports: Vec<([u8; 6], Option<bool>)>,
}

#[derive(Arbitrary, Debug)]
struct Input {
    nodes: Vec<FuzzNode>,
    escape_slash: bool,
    escape_non_ascii: bool,
    config: u8,
}

fn config(bits: u8) -> RenderConfig<'static> {
    let bit = |n: u8| bits & (1 << n) != 0;
    let images = bit(2);
    RenderConfig {
        base_url: bit(0).then_some("http://10.99.0.1"),
        ipa_api_url: bit(1).then_some("http://10.99.0.1:6385"),
        deploy_kernel: images.then_some("http://10.99.0.1/ipa.kernel"),
        deploy_ramdisk: images.then_some("http://10.99.0.1/ipa.initramfs"),
        rescue_kernel: images.then_some("http://10.99.0.1/ipa.kernel"),
        rescue_ramdisk: images.then_some("http://10.99.0.1/ipa.initramfs"),
        append_params: bit(3).then_some("console=ttyS0 ipa-debug=1"),
        boot_mode: if bit(4) { BootMode::Bios } else { BootMode::Uefi },
        error_ending: match (bits >> 5) % 3 {
            0 => ErrorEnding::Retry,
            1 => ErrorEnding::Exit,
            _ => ErrorEnding::Reboot,
        },
        fetch_timeout_ms: bit(7).then_some(60_000),
        ..RenderConfig::DEFAULT
    }
}

fuzz_target!(|input: Input| {
    let nodes: Vec<NodeSpec> = input
        .nodes
        .iter()
        .take(3)
        .map(|node| NodeSpec {
            uuid: node.uuid,
            uuid_last: node.uuid_last,
            driver: node.driver.text("ipmi", "redfish"),
            provision_state: match &node.state {
                Ok(index) => Text::Value(STATES[usize::from(*index) % STATES.len()].into()),
                Err(text) => text.text(),
            },
            deploy_interface: node.deploy_interface.text("direct", "ramdisk"),
            boot_mode: node.boot_mode.text("bios", "uefi"),
            image_type: node.image_type.text("partition", "whole-disk"),
            is_whole_disk_image: node.is_whole_disk_image,
            texts: std::array::from_fn(|index| node.texts[index].text()),
            ignored: "||".into(),
            ports: node.ports.iter().take(3).map(|&(address, pxe_enabled)| PortSpec { address, pxe_enabled }).collect(),
        })
        .collect();
    if nodes.is_empty() {
        return;
    }
    let style = JsonStyle { escape_slash: input.escape_slash, escape_non_ascii: input.escape_non_ascii };
    if let Err(problem) = check_inventory(&nodes, style, &config(input.config)) {
        panic!("{problem}");
    }
});
