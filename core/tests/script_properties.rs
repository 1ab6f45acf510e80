//! Property: whatever text an inventory carries, every script rendered from an inventory the
//! loader accepts runs exactly the commands the state table intends, and every value the
//! loader refuses is reported naming its node and field.
//!
//! Nodes are generated with hostile text in every string field (`||`, `&&`, `;`, `#`, `${`,
//! quotes, backslashes, tabs, CR/LF, NUL, Unicode spaces and controls, words of exactly the
//! console width, very long strings). For each inventory, what the loader must answer is
//! worked out from iPXE's grammar (`script_grammar::ipxe`), and each accepted node's scripts
//! (by UUID, by every port, with the any-driver, its own driver and another one, plus
//! `/boot.ipxe` and unknown nodes) are compared with those of a twin whose values are
//! harmless markers (`script_grammar::shape`).

mod script_grammar;

use std::collections::BTreeMap;

use ipxe_config::{BootMode, ErrorEnding, RenderConfig};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use script_grammar::nodes::{check_inventory, JsonStyle, Kind, NodeSpec, PortSpec, Text, STATES};

/// Fragments a script must not be bent by: every separator, comment and expansion
/// character, quoting, whitespace and control characters, and Unicode look-alikes.
fn hostile_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("||"),
        Just("&&"),
        Just(";"),
        Just("#"),
        Just("${"),
        Just("}"),
        Just("${mac}"),
        Just("${net0/ip}"),
        Just("\""),
        Just("'"),
        Just("\\"),
        Just("\t"),
        Just("\r"),
        Just("\n"),
        Just("\r\n"),
        Just("\0"),
        Just("\u{b}"),
        Just("\u{c}"),
        Just("\u{1b}[2J"),
        Just("\u{7f}"),
        Just("\u{85}"),
        Just("\u{a0}"),
        Just("\u{2028}"),
        Just("\u{3000}"),
    ]
    .prop_map(str::to_string)
}

/// Fragments the loader may accept but that try the renderer: separators and `#` inside
/// words, lone `$`/`{`/`}`, option-like words, Unicode, and runs that land a word exactly on
/// the console width so the next characters start a line of their own. No spaces: see
/// [`words_piece`].
fn tricky_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-z0-9=:/._-]{1,12}",
        1 => Just("a||b".to_string()),
        1 => Just("x#y".to_string()),
        1 => Just("$".to_string()),
        1 => Just("{".to_string()),
        1 => Just("}{".to_string()),
        1 => Just("-x".to_string()),
        1 => Just("-n".to_string()),
        1 => Just("--help".to_string()),
        1 => Just("é".to_string()),
        1 => Just("日本".to_string()),
        1 => Just("😀".to_string()),
        1 => Just("%3A%00".to_string()),
        1 => Just("******".to_string()),
        2 => (1usize..200).prop_map(|n| "x".repeat(n)),
        2 => (prop_oneof![Just(72usize), Just(144)], prop_oneof![Just("&&"), Just("||"), Just(";"), Just("#x"), Just("-x")])
            .prop_map(|(n, tail)| format!("{}{tail}", "x".repeat(n))),
        1 => prop_oneof![Just(4095usize), Just(4096), Just(4097)].prop_map(|n| "u".repeat(n)),
        1 => "[^\\p{C}\\p{White_Space}\"'\\\\]{1,8}",
    ]
}

/// [`tricky_piece`]s and spaces, for fields that hold words.
fn words_piece() -> impl Strategy<Value = String> {
    prop_oneof![4 => tricky_piece(), 1 => Just(" ".to_string()), 1 => Just("  ".to_string()), 1 => Just("$ {x}".to_string())]
}

fn text_from(pieces: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    vec(pieces, 1..6).prop_map(|pieces| pieces.concat())
}

/// A string field: mostly legal-but-tricky text, rarely hostile (so that most inventories
/// load and get rendered), sometimes absent.
fn text(kind: Kind) -> impl Strategy<Value = Text> {
    // Legal-but-tricky: kept within the limits the loader states, so that hostile values
    // come only from the rarer branches below and most inventories load.
    let legal = match kind {
        Kind::Token => text_from(tricky_piece()).prop_map(|text| within_limits(text.trim_start_matches('-'))).boxed(),
        Kind::Words => text_from(words_piece()).prop_map(|text| within_limits(&text)).boxed(),
    };
    prop_oneof![
        20 => Just(Text::Absent),
        10 => Just(Text::Null),
        5 => Just(Text::Value(String::new())),
        30 => "[a-z]{1,10}".prop_map(|path| Text::Value(format!("http://10.99.0.1/images/{path}"))),
        60 => legal.prop_map(Text::Value),
        1 => text_from(prop_oneof![2 => words_piece(), 1 => hostile_piece()]).prop_map(Text::Value),
        1 => any::<String>().prop_map(Text::Value),
    ]
}

/// At most 4096 bytes (the loader's longest string), cut at a character boundary.
fn within_limits(text: &str) -> String {
    let mut end = text.len().min(4096);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

fn one_of(words: &'static [&'static str]) -> impl Strategy<Value = Text> {
    proptest::sample::select(words).prop_map(|word| Text::Value(word.to_string()))
}

fn node() -> impl Strategy<Value = NodeSpec> {
    let driver = prop_oneof![
        6 => one_of(&["ipmi", "redfish", "any", "other-driver"]),
        3 => text_from(tricky_piece()).prop_map(|text| Text::Value(within_limits(text.trim_start_matches('-')))),
        1 => text(Kind::Token),
    ];
    let state = prop_oneof![
        8 => proptest::sample::select(&STATES[..]).prop_map(|s| Text::Value(s.into())),
        4 => Just(Text::Value("active".into())),
        2 => text_from(words_piece()).prop_map(|text| Text::Value(within_limits(&text))),
        1 => text(Kind::Words),
    ];
    let deploy_interface =
        prop_oneof![2 => one_of(&["direct", "ramdisk"]), 1 => Just(Text::Absent), 1 => text(Kind::Words)];
    let boot_mode = prop_oneof![20 => one_of(&["bios", "uefi"]), 10 => Just(Text::Null), 1 => text(Kind::Token)];
    let image_type =
        prop_oneof![20 => one_of(&["partition", "whole-disk"]), 10 => Just(Text::Absent), 1 => text(Kind::Token)];
    let (token, words) = (|| text(Kind::Token), || text(Kind::Words));
    let texts = (token(), token(), token(), token(), words(), token(), token(), words())
        .prop_map(|(a, b, c, d, e, f, g, h)| [a, b, c, d, e, f, g, h]);
    let ports = vec((any::<[u8; 6]>(), proptest::option::of(any::<bool>())), 0..3)
        .prop_map(|ports| ports.into_iter().map(|(address, pxe_enabled)| PortSpec { address, pxe_enabled }).collect());
    (
        (any::<u128>(), any::<bool>(), driver, state, deploy_interface, boot_mode, image_type),
        (proptest::option::of(any::<bool>()), texts, text_from(hostile_piece()), ports),
    )
        .prop_map(
            |(
                (uuid, uuid_last, driver, provision_state, deploy_interface, boot_mode, image_type),
                (is_whole_disk_image, texts, ignored, ports),
            )| NodeSpec {
                uuid,
                uuid_last,
                driver,
                provision_state,
                deploy_interface,
                boot_mode,
                image_type,
                is_whole_disk_image,
                texts,
                ignored,
                ports,
            },
        )
}

fn config() -> impl Strategy<Value = RenderConfig<'static>> {
    let url = |u: &'static str| proptest::option::of(Just(u));
    (
        url("http://10.99.0.1"),
        url("http://10.99.0.1:6385"),
        proptest::option::of(Just(("http://10.99.0.1/ipa.kernel", "http://10.99.0.1/ipa.initramfs"))),
        proptest::option::of(Just("console=ttyS0 ipa-debug=1")),
        prop_oneof![Just(BootMode::Bios), Just(BootMode::Uefi)],
        prop_oneof![Just(ErrorEnding::Retry), Just(ErrorEnding::Exit), Just(ErrorEnding::Reboot)],
        proptest::option::of(Just(60_000u32)),
        0u16..12,
        // With it, image references that are not URLs boot Ironic's copies.
        proptest::option::of(Just("http://10.99.0.1:8080")),
    )
        .prop_map(
            |(
                base_url,
                ipa_api_url,
                images,
                append_params,
                boot_mode,
                error_ending,
                fetch_timeout_ms,
                pause,
                ironic_http_url,
            )| RenderConfig {
                ironic_http_url,
                base_url,
                ipa_api_url,
                deploy_kernel: images.map(|(kernel, _)| kernel),
                deploy_ramdisk: images.map(|(_, ramdisk)| ramdisk),
                rescue_kernel: images.map(|(kernel, _)| kernel),
                rescue_ramdisk: images.map(|(_, ramdisk)| ramdisk),
                append_params,
                boot_mode,
                fetch_timeout_ms,
                error_pause_seconds: pause,
                error_ending,
                ..RenderConfig::DEFAULT
            },
        )
}

fn style() -> impl Strategy<Value = JsonStyle> {
    (any::<bool>(), any::<bool>())
        .prop_map(|(escape_slash, escape_non_ascii)| JsonStyle { escape_slash, escape_non_ascii })
}

/// 256 generated inventories of one to three nodes; a failure is shrunk to a small one
/// and reported with the document, both scripts and the first differing line.
#[test]
fn every_accepted_inventory_renders_the_intended_commands() {
    let mut runner =
        TestRunner::new(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() });
    let counts = std::cell::RefCell::new(BTreeMap::<String, usize>::new());
    let result = runner.run(&(vec(node(), 1..=3), style(), config()), |(nodes, style, config)| {
        let outcome = check_inventory(&nodes, style, &config).map_err(TestCaseError::fail)?;
        let mut counts = counts.borrow_mut();
        *counts.entry(if outcome.accepted { "inventory accepted" } else { "inventory refused" }.into()).or_default() +=
            1;
        if let Some(field) = outcome.refused_field {
            *counts.entry(format!("refused at {field}")).or_default() += 1;
        }
        for kind in outcome.kinds {
            *counts.entry(format!("script {kind}")).or_default() += 1;
        }
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
    // The generator must reach both loader answers and every kind of script, or the
    // property says little.
    let counts = counts.into_inner();
    eprintln!("coverage: {counts:?}");
    for key in [
        "inventory accepted",
        "inventory refused",
        "script deploy",
        "script rescue",
        // No `script instance`: Ironic 39 boots partition images from disk (no netboot).
        "script instance-ramdisk",
        "script local-disk",
        "script error",
        "script chain",
    ] {
        assert!(counts.get(key).copied().unwrap_or(0) >= 3, "generator rarely reaches {key}: {counts:?}");
    }
}

fn plain_node(driver: &str, provision_state: &str, texts: [Text; 8]) -> NodeSpec {
    NodeSpec {
        uuid: 0x1be2_6c0b_03f2_4d2e_ae87_c02d_7f33_c100,
        uuid_last: false,
        driver: Text::Value(driver.into()),
        provision_state: Text::Value(provision_state.into()),
        deploy_interface: Text::Absent,
        boot_mode: Text::Value("bios".into()),
        image_type: Text::Absent,
        is_whole_disk_image: None,
        texts,
        ignored: String::new(),
        ports: vec![PortSpec { address: [0x52, 0x54, 0, 0, 0, 0], pxe_enabled: Some(true) }],
    }
}

/// Found by the property above: the error script's console text is wrapped at 72
/// columns and a longer word used to be cut into pieces, so a 72-character run followed by
/// `&&` put a bare `&&` at the start of an `echo` line, and iPXE ran the next word as a
/// command: provision state `xxx…x&& reboot` rendered `echo && reboot`.
#[test]
fn words_cut_at_the_console_width_do_not_become_commands() {
    let run = "x".repeat(72);
    for (driver, state) in [
        ("ipmi".to_string(), format!("{run}&& reboot")),
        ("ipmi".to_string(), format!("{run}; reboot")),
        ("ipmi".to_string(), format!("{run}#x")),
        (format!("{run}#x"), "deploying".to_string()),
        (format!("{run}-x"), "deploying".to_string()),
    ] {
        let node = plain_node(&driver, &state, std::array::from_fn(|_| Text::Absent));
        if let Err(problem) = check_inventory(&[node], JsonStyle::default(), &RenderConfig::DEFAULT) {
            panic!("driver {driver:?}, provision state {state:?}: {problem}");
        }
    }
}

/// Found by the property above: a word starting with `-` that wraps to the start of an
/// `echo` line is read by iPXE's `echo` as an option; an unknown one makes `echo` fail,
/// which ends the script before its pause and ending.
#[test]
fn words_wrapped_to_a_line_start_are_not_read_as_options() {
    for length in 40..72 {
        let state = format!("{} -x", "y".repeat(length));
        let node = plain_node("ipmi", &state, std::array::from_fn(|_| Text::Absent));
        if let Err(problem) = check_inventory(&[node], JsonStyle::default(), &RenderConfig::DEFAULT) {
            panic!("provision state {state:?}: {problem}");
        }
    }
}

/// Found by the property above: a URL starting with `-` stood where `kernel` and
/// `initrd` still read options (`kernel -x selinux=0 …`); the loader now refuses it.
#[test]
fn option_like_urls_are_refused_naming_node_and_field() {
    let mut texts: [Text; 8] = std::array::from_fn(|_| Text::Absent);
    texts[1] = Text::Value("--name=x".into());
    let node = plain_node("ipmi", "deploying", texts);
    let outcome =
        check_inventory(&[node], JsonStyle::default(), &RenderConfig::DEFAULT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(outcome.refused_field, Some("driver_info.deploy_ramdisk"));
}

fn load_str(json: &str) -> Result<(), String> {
    let mut buffers = ipxe_config::InventoryBuffers::<2, 2, 256>::new();
    buffers.load(json.as_bytes()).map(|_| ()).map_err(|error| error.to_string())
}

/// Python's `json.dumps` (and so Ironic's API) writes characters outside the Basic
/// Multilingual Plane as surrogate-pair escapes; serde-json-core's own unescaper refuses
/// them, so the loader decodes strings itself. An emoji must neither break loading nor
/// be mangled.
#[test]
fn surrogate_pair_escapes_load_in_ignored_and_used_fields() {
    let escaped = r#"{"nodes": [{"uuid": "1be26c0b-03f2-4d2e-ae87-c02d7f33c100", "driver": "ipmi",
        "provision_state": "active", "description": "rack 4 \ud83d\ude00",
        "driver_info": {"kernel_append_params": "motd=\ud83d\ude00"}}], "ports": []}"#;
    assert_eq!(load_str(escaped), Ok(()));
    let lone = escaped.replace(r"\ude00", "x");
    let message = load_str(&lone).unwrap_err();
    assert!(message.contains("expected valid JSON string escapes"), "{message}");
}

/// Ironic passes quoted kernel parameters on (`dyndbg="file drivers/net/* +p"`). iPXE has
/// no quoting, so it splits them at the spaces into ordinary words and `kernel` joins
/// them back with single spaces (see `safety.rs`): the rendered kernel line must tokenize
/// into exactly the value's words, in place, and every script of the node must still
/// run the intended commands.
#[test]
fn quoted_kernel_parameters_render_as_the_same_words() {
    let append = r#"dyndbg="file drivers/net/* +p" nofb x='a b' c\d"#;
    let mut texts: [Text; 8] = std::array::from_fn(|_| Text::Absent);
    texts[0] = Text::Value("http://10.99.0.1/ipa.kernel".into());
    texts[1] = Text::Value("http://10.99.0.1/ipa.initramfs".into());
    texts[4] = Text::Value(append.into());
    let node = plain_node("ipmi", "deploying", texts);
    let outcome =
        check_inventory(&[node], JsonStyle::default(), &RenderConfig::DEFAULT).unwrap_or_else(|e| panic!("{e}"));
    assert!(outcome.accepted, "refused: {:?}", outcome.refused_field);

    // As JSON: `\` and `"` escaped, nothing else in the value needs it.
    let escaped = format!("\"{}\"", append.replace('\\', "\\\\").replace('"', "\\\""));
    let json = format!(
        r#"{{"nodes": [{{"uuid": "1be26c0b-03f2-4d2e-ae87-c02d7f33c100", "driver": "ipmi", "provision_state": "deploying",
        "driver_info": {{"deploy_kernel": "http://10.99.0.1/ipa.kernel", "deploy_ramdisk": "http://10.99.0.1/ipa.initramfs",
        "kernel_append_params": {escaped}}}}}], "ports": []}}"#
    );
    let mut buffers = ipxe_config::InventoryBuffers::<2, 2, 512>::new();
    let inventory = buffers.load(json.as_bytes()).unwrap();
    let route = ipxe_config::Route::parse(
        b"/v1/drivers/ipmi/vendor_passthru/ipxe_config?node_uuid=1be26c0b-03f2-4d2e-ae87-c02d7f33c100",
    )
    .unwrap();
    let mut out = [0u8; 4096];
    let rendered = ipxe_config::render(&inventory, &RenderConfig::DEFAULT, &route, &mut out).unwrap();
    let text = std::str::from_utf8(&out[..rendered.len]).unwrap();
    let script = script_grammar::ipxe::parse(text);
    let kernel = script
        .lines
        .iter()
        .flat_map(|line| &line.commands)
        .find(|command| command.name() == Some("kernel"))
        .unwrap_or_else(|| panic!("no kernel line in\n{text}"));
    let words: Vec<&str> = append.split(' ').collect();
    let found =
        kernel.tokens.windows(words.len()).any(|window| window.iter().map(String::as_str).eq(words.iter().copied()));
    assert!(found, "the append words {words:?} are not in place in {:?}", kernel.tokens);
}
