//! The C ABI driven from Rust the way a C caller drives it: raw pointers, odd storage
//! addresses, NULLs, short buffers.

use core::ffi::c_char;
use core::ptr;
use std::ffi::CStr;

use super::*;

const UUID: &str = "1be26c0b-03f2-4d2e-ae87-c02d7f33c123";

const INVENTORY: &[u8] = br#"{
  "nodes": [{
    "uuid": "1be26c0b-03f2-4d2e-ae87-c02d7f33c123",
    "driver": "ipmi", "deploy_interface": "direct", "provision_state": "deploying",
    "boot_mode": "bios",
    "driver_info": {
      "deploy_kernel": "http:\/\/10.99.0.1\/images\/ipa.kernel",
      "deploy_ramdisk": "http://10.99.0.1/images/ipa.initramfs",
      "kernel_append_params": "console=ttyS0"
    }
  }, {
    "uuid": "5d0a3bf4-8cbb-4a58-9d0b-2a8f2e0f7f10",
    "driver": "ipmi", "provision_state": "available"
  }],
  "ports": [
    {"address": "52:54:00:12:34:56", "node_uuid": "1be26c0b-03f2-4d2e-ae87-c02d7f33c123", "pxe_enabled": true},
    {"address": "52:54:00:12:34:57", "node_uuid": "5d0a3bf4-8cbb-4a58-9d0b-2a8f2e0f7f10"}
  ]
}"#;

const BY_MAC: &[u8] = b"/v1/drivers/ipmi/vendor_passthru/ipxe_config?port_address=52%3A54%3A00%3A12%3A34%3A56";

/// Caller memory for one inventory, at `offset` bytes past an 8-aligned start.
struct Memory {
    words: Vec<u64>,
    offset: usize,
    len: usize,
}

impl Memory {
    fn new(offset: usize, len: usize) -> Self {
        Self { words: vec![0xdead_beef_dead_beef; len / 8 + 2], offset, len }
    }

    fn base(&mut self) -> *mut c_void {
        self.words.as_mut_ptr().cast::<u8>().wrapping_add(self.offset).cast()
    }
}

struct Loaded {
    code: c_int,
    handle: IpxeConfigInventory,
    message: String,
}

fn load_into(memory: &mut Memory, capacities: (usize, usize, usize), json: &[u8]) -> Loaded {
    let mut handle = IpxeConfigInventory::EMPTY;
    let mut message = [0x55 as c_char; 160];
    let (nodes, ports, strings) = capacities;
    // SAFETY: `memory` is writable for `len` bytes past its base and outlives the use of
    // the handle in each test; the other pointers are to locals.
    let code = unsafe {
        ipxe_config_load(
            memory.base(),
            memory.len,
            nodes,
            ports,
            strings,
            json.as_ptr(),
            json.len(),
            &raw mut handle,
            message.as_mut_ptr(),
            message.len(),
        )
    };
    // SAFETY: the library NUL-terminates within the buffer whenever its length is > 0.
    let message = unsafe { CStr::from_ptr(message.as_ptr()) };
    Loaded { code, handle, message: message.to_str().unwrap().to_owned() }
}

const CAPACITIES: (usize, usize, usize) = (4, 4, 1024);

fn loaded(offset: usize) -> (Memory, IpxeConfigInventory) {
    let size = ipxe_config_storage_size(CAPACITIES.0, CAPACITIES.1, CAPACITIES.2);
    let mut memory = Memory::new(offset, size);
    let loaded = load_into(&mut memory, CAPACITIES, INVENTORY);
    assert_eq!(loaded.code, IPXE_CONFIG_OK, "{}", loaded.message);
    assert_eq!(loaded.message, "");
    (memory, loaded.handle)
}

struct Answer {
    code: c_int,
    written: usize,
    info: IpxeConfigResult,
    script: String,
}

fn render_target(handle: &IpxeConfigInventory, settings: &IpxeConfigSettings, target: &[u8], out_len: usize) -> Answer {
    let mut out = vec![0xaau8; out_len];
    let mut written = usize::MAX;
    let mut info = IpxeConfigResult::EMPTY;
    // SAFETY: every pointer is to a live local of the stated length.
    let code = unsafe {
        ipxe_config_render(
            handle,
            settings,
            target.as_ptr(),
            target.len(),
            out.as_mut_ptr(),
            out.len(),
            &raw mut written,
            &raw mut info,
        )
    };
    let script =
        if code == IPXE_CONFIG_OK { String::from_utf8(out[..written].to_vec()).unwrap() } else { String::new() };
    Answer { code, written, info, script }
}

fn text(pointer: *const c_char) -> &'static str {
    // SAFETY: the library returns static NUL-terminated strings.
    unsafe { CStr::from_ptr(pointer) }.to_str().unwrap()
}

#[test]
fn renders_from_storage_at_odd_addresses() {
    let settings = IpxeConfigSettings::defaults();
    for offset in [0, 1, 3, 5, 7] {
        let (_memory, handle) = loaded(offset);
        assert_eq!((handle.node_count, handle.port_count), (2, 2));

        let answer = render_target(&handle, &settings, BY_MAC, 4096);
        assert_eq!(answer.code, IPXE_CONFIG_OK);
        assert_eq!(answer.info.http_status, 200);
        assert_eq!(answer.info.script_kind, IPXE_CONFIG_SCRIPT_DEPLOY);
        assert_eq!(answer.info.has_node, 1);
        assert_eq!(uuid_text(answer.info.node_uuid), UUID, "the node's UUID comes back");
        assert!(answer.script.starts_with("#!ipxe\n"), "{}", answer.script);
        assert!(answer
            .script
            .contains("kernel http://10.99.0.1/images/ipa.kernel selinux=0 troubleshoot=0 text console=ttyS0"));
        assert!(answer.script.contains("initrd --name deploy_ramdisk http://10.99.0.1/images/ipa.initramfs"));
        assert_eq!(answer.written, answer.script.len());
    }
}

fn uuid_text(bytes: [u8; 16]) -> String {
    ipxe_config::Uuid::from_bytes(bytes).to_string()
}

#[test]
fn error_scripts_and_route_errors() {
    let (_memory, handle) = loaded(1);
    let settings = IpxeConfigSettings::defaults();

    let unknown = render_target(
        &handle,
        &settings,
        b"/v1/drivers/ipmi/vendor_passthru/ipxe_config?node_uuid=00000000-0000-4000-8000-000000000000",
        4096,
    );
    assert_eq!(unknown.code, IPXE_CONFIG_OK);
    assert_eq!(unknown.info.http_status, 200);
    assert_eq!(unknown.info.script_kind, IPXE_CONFIG_SCRIPT_ERROR);
    assert_eq!(unknown.info.refusal, IPXE_CONFIG_REFUSAL_UNKNOWN_NODE);
    assert_eq!(unknown.info.has_node, 0);
    assert_eq!(text(unknown.info.reason), "unknown node");
    assert!(unknown.script.starts_with("#!ipxe\n"));
    assert!(unknown.script.contains("reboot\n"));

    let unbootable = render_target(
        &handle,
        &settings,
        b"/v1/drivers/ipmi/vendor_passthru/ipxe_config?port_address=525400123457",
        4096,
    );
    assert_eq!(unbootable.info.refusal, IPXE_CONFIG_REFUSAL_UNBOOTABLE_STATE);
    assert_eq!(unbootable.info.has_node, 1);

    let cases: [(&[u8], c_int, u32); 3] = [
        (b"/etc/passwd", IPXE_CONFIG_ERR_NOT_FOUND, 404),
        (b"/v1/drivers/ipmi/vendor_passthru/ipxe_config?node_uuid=nope", IPXE_CONFIG_ERR_BAD_REQUEST, 400),
        (&[b'/'; 2000], IPXE_CONFIG_ERR_TARGET_TOO_LONG, 414),
    ];
    for (target, code, status) in cases {
        let answer = render_target(&handle, &settings, target, 4096);
        assert_eq!(answer.code, code);
        assert_eq!(answer.info.http_status, status);
        assert_eq!(answer.written, 0);
        assert_eq!(answer.info.script_kind, IPXE_CONFIG_SCRIPT_NONE);
        assert!(!text(answer.info.reason).is_empty());
    }

    let chain = render_target(&handle, &settings, b"/boot.ipxe", 4096);
    assert_eq!(chain.info.script_kind, IPXE_CONFIG_SCRIPT_CHAIN);
}

#[test]
fn too_small_output_reports_the_size_needed() {
    let (_memory, handle) = loaded(3);
    let settings = IpxeConfigSettings::defaults();
    let full = render_target(&handle, &settings, BY_MAC, 4096);
    let short = render_target(&handle, &settings, BY_MAC, full.written - 1);
    assert_eq!(short.code, IPXE_CONFIG_ERR_BUFFER_TOO_SMALL);
    assert_eq!(short.written, full.written);
    assert_eq!(short.info.http_status, 0);
    let exact = render_target(&handle, &settings, BY_MAC, full.written);
    assert_eq!(exact.code, IPXE_CONFIG_OK);
    assert_eq!(exact.script, full.script);

    // A size query: NULL output with length 0.
    let mut written = 0;
    // SAFETY: the pointers are to live locals; `out` is NULL with length 0.
    let code = unsafe {
        ipxe_config_render(
            &raw const handle,
            &raw const settings,
            BY_MAC.as_ptr(),
            BY_MAC.len(),
            ptr::null_mut(),
            0,
            &raw mut written,
            ptr::null_mut(),
        )
    };
    assert_eq!(code, IPXE_CONFIG_ERR_BUFFER_TOO_SMALL);
    assert_eq!(written, full.written);
}

#[test]
fn too_small_storage_is_an_error_code_with_a_message() {
    let size = ipxe_config_storage_size(4, 4, 1024);
    let mut memory = Memory::new(1, size / 2);
    let refused = load_into(&mut memory, CAPACITIES, INVENTORY);
    assert_eq!(refused.code, IPXE_CONFIG_ERR_STORAGE_TOO_SMALL);
    assert!(refused.message.starts_with("storage too small"), "{}", refused.message);
    assert_eq!(refused.handle.magic, 0, "the handle stays unloaded");
    assert_eq!(ipxe_config_storage_size(usize::MAX, 0, 0), 0);
}

#[test]
fn rejected_inventories_name_node_and_field() {
    // An unsafe value quarantines its node; the load succeeds and counts it.
    let json = br#"{"nodes": [{"uuid": "1be26c0b-03f2-4d2e-ae87-c02d7f33c123",
        "driver": "ipmi", "provision_state": "deploying",
        "driver_info": {"deploy_kernel": "http://x/k\nshell"}}], "ports": []}"#;
    let mut memory = Memory::new(0, ipxe_config_storage_size(4, 4, 1024));
    let quarantined = load_into(&mut memory, CAPACITIES, json);
    assert_eq!(quarantined.code, IPXE_CONFIG_OK, "{}", quarantined.message);
    // SAFETY: the handle was just filled by a successful load into `memory`.
    assert_eq!(unsafe { ipxe_config_quarantined_count(&raw const quarantined.handle) }, 1);
    // SAFETY: NULL is allowed.
    assert_eq!(unsafe { ipxe_config_quarantined_count(core::ptr::null()) }, 0);

    let refused = load_into(&mut memory, CAPACITIES, br#"{"nodes": [{"uuid": "x"}]}"#);
    assert_eq!(refused.code, IPXE_CONFIG_ERR_INVENTORY_INVALID);
    assert_eq!(refused.message, "node #0 (no uuid read): uuid: not a UUID");

    let over = load_into(&mut memory, (1, 4, 1024), INVENTORY);
    assert_eq!(over.code, IPXE_CONFIG_ERR_INVENTORY_CAPACITY);
    assert_eq!(over.message, "inventory: more than 1 nodes (node capacity)");
}

#[test]
fn error_message_is_cut_and_terminated_within_its_length() {
    let mut memory = Memory::new(0, 8);
    let mut handle = IpxeConfigInventory::EMPTY;
    let mut message = [0x55 as c_char; 12];
    let json = b"{}";
    // SAFETY: `message` has 12 bytes; only the first 8 are offered.
    let code = unsafe {
        ipxe_config_load(
            memory.base(),
            memory.len,
            1,
            1,
            16,
            json.as_ptr(),
            json.len(),
            &raw mut handle,
            message.as_mut_ptr(),
            8,
        )
    };
    assert_eq!(code, IPXE_CONFIG_ERR_STORAGE_TOO_SMALL);
    let bytes: Vec<u8> = message.iter().map(|c| u8::from_ne_bytes(c.to_ne_bytes())).collect();
    assert_eq!(&bytes[..8], b"storage\0");
    assert_eq!(&bytes[8..], [0x55; 4], "nothing past error_message_len");
}

#[test]
fn bad_load_arguments_are_error_codes() {
    let mut memory = Memory::new(0, ipxe_config_storage_size(4, 4, 1024));
    let base = memory.base();
    let len = memory.len;
    let json = INVENTORY.as_ptr();
    let mut handle = IpxeConfigInventory::EMPTY;
    let handle = &raw mut handle;
    let load = |storage, storage_len, max_nodes, json, handle| {
        // SAFETY: every pointer is NULL or to a live local of the stated length.
        unsafe {
            ipxe_config_load(
                storage,
                storage_len,
                max_nodes,
                4,
                1024,
                json,
                INVENTORY.len(),
                handle,
                ptr::null_mut(),
                99,
            )
        }
    };
    let cases: [(c_int, c_int); 5] = [
        (load(ptr::null_mut(), len, 4, json, handle), IPXE_CONFIG_ERR_BAD_POINTER),
        (load(base, len, 4, ptr::null(), handle), IPXE_CONFIG_ERR_BAD_POINTER),
        (load(base, len, 4, json, ptr::null_mut()), IPXE_CONFIG_ERR_BAD_POINTER),
        (load(base, usize::MAX, 4, json, handle), IPXE_CONFIG_ERR_BAD_LENGTH),
        (load(base, len, usize::MAX / 8, json, handle), IPXE_CONFIG_ERR_BAD_LENGTH),
    ];
    for (index, (code, expected)) in cases.into_iter().enumerate() {
        assert_eq!(code, expected, "case {index}");
    }
    assert_eq!(load(base, len, 4, json, handle), IPXE_CONFIG_OK);
}

#[test]
fn bad_render_arguments_are_error_codes() {
    let (_memory, loaded) = loaded(0);
    let never_loaded = IpxeConfigInventory::EMPTY;
    let defaults = IpxeConfigSettings::defaults();
    let settings = &raw const defaults;
    let (handle, unloaded) = (&raw const loaded, &raw const never_loaded);
    let mut out = [0u8; 64];
    let mut written = 0usize;
    let (target, o, w) = (BY_MAC.as_ptr(), out.as_mut_ptr(), &raw mut written);
    #[allow(clippy::cast_ptr_alignment)] // Misaligned on purpose.
    let misaligned = w.cast::<u8>().wrapping_add(1).cast::<usize>();
    let render = |handle, settings, target, out, written| {
        // SAFETY: every pointer is NULL, misaligned or to a live local of the stated length.
        unsafe { ipxe_config_render(handle, settings, target, BY_MAC.len(), out, 64, written, ptr::null_mut()) }
    };
    let cases: [(c_int, c_int); 7] = [
        (render(ptr::null(), settings, target, o, w), IPXE_CONFIG_ERR_BAD_POINTER),
        (render(handle, ptr::null(), target, o, w), IPXE_CONFIG_ERR_BAD_POINTER),
        (render(handle, settings, ptr::null(), o, w), IPXE_CONFIG_ERR_BAD_POINTER),
        (render(handle, settings, target, ptr::null_mut(), w), IPXE_CONFIG_ERR_BAD_POINTER),
        (render(handle, settings, target, o, ptr::null_mut()), IPXE_CONFIG_ERR_BAD_POINTER),
        (render(handle, settings, target, o, misaligned), IPXE_CONFIG_ERR_BAD_POINTER),
        (render(unloaded, settings, target, o, w), IPXE_CONFIG_ERR_NOT_LOADED),
    ];
    for (index, (code, expected)) in cases.into_iter().enumerate() {
        assert_eq!(code, expected, "case {index}");
    }
    // SAFETY: NULL is refused before any access.
    unsafe {
        ipxe_config_settings_default(ptr::null_mut());
        assert_eq!(ipxe_config_settings_check(ptr::null(), ptr::null_mut(), 0), IPXE_CONFIG_ERR_BAD_POINTER);
    }
}

#[test]
fn bad_settings_are_error_codes() {
    let (_memory, handle) = loaded(0);
    let defaults = IpxeConfigSettings::defaults();
    let bad_text = IpxeConfigSettings { append_params: c"quiet\nshell".as_ptr(), ..defaults };
    let not_utf8 = IpxeConfigSettings { base_url: c"http://\xff".as_ptr(), ..defaults };
    let bad_enum = IpxeConfigSettings { error_ending: 3, ..defaults };
    for (settings, code) in [
        (bad_text, IPXE_CONFIG_ERR_SETTINGS_INVALID),
        (not_utf8, IPXE_CONFIG_ERR_SETTINGS_NOT_UTF8),
        (bad_enum, IPXE_CONFIG_ERR_SETTINGS_INVALID),
    ] {
        assert_eq!(render_target(&handle, &settings, BY_MAC, 4096).code, code);
    }
    let mut message = [0 as c_char; 64];
    // SAFETY: pointers to live locals.
    let code = unsafe { ipxe_config_settings_check(&raw const bad_text, message.as_mut_ptr(), message.len()) };
    assert_eq!(code, IPXE_CONFIG_ERR_SETTINGS_INVALID);
    assert_eq!(text_of(&message), "append_params: contains a line break");
    // SAFETY: pointers to live locals.
    let code = unsafe { ipxe_config_settings_check(&raw const defaults, message.as_mut_ptr(), 64) };
    assert_eq!(code, IPXE_CONFIG_OK);

    let mut filled = IpxeConfigSettings { retries: 0, ..defaults };
    // SAFETY: pointer to a live local.
    unsafe { ipxe_config_settings_default(&raw mut filled) };
    assert_eq!(filled.retries, 10);
    assert_eq!(text(filled.any_driver), "any");
}

fn text_of(buffer: &[c_char]) -> String {
    let bytes: Vec<u8> = buffer.iter().map(|c| u8::from_ne_bytes(c.to_ne_bytes())).collect();
    CStr::from_bytes_until_nul(&bytes).unwrap().to_str().unwrap().to_owned()
}

const CODES: [c_int; 13] = [
    IPXE_CONFIG_OK,
    IPXE_CONFIG_ERR_BAD_POINTER,
    IPXE_CONFIG_ERR_BAD_LENGTH,
    IPXE_CONFIG_ERR_STORAGE_TOO_SMALL,
    IPXE_CONFIG_ERR_INVENTORY_INVALID,
    IPXE_CONFIG_ERR_INVENTORY_CAPACITY,
    IPXE_CONFIG_ERR_NOT_LOADED,
    IPXE_CONFIG_ERR_SETTINGS_NOT_UTF8,
    IPXE_CONFIG_ERR_SETTINGS_INVALID,
    IPXE_CONFIG_ERR_BAD_REQUEST,
    IPXE_CONFIG_ERR_NOT_FOUND,
    IPXE_CONFIG_ERR_TARGET_TOO_LONG,
    IPXE_CONFIG_ERR_BUFFER_TOO_SMALL,
];

#[test]
fn every_code_has_its_own_text() {
    let unknown = text(ipxe_config_strerror(1));
    assert_eq!(unknown, "unknown ipxe-config error code");
    assert_eq!(text(ipxe_config_strerror(c_int::MIN)), unknown);
    let mut seen = std::collections::HashSet::new();
    for code in CODES {
        let message = text(ipxe_config_strerror(code));
        assert_ne!(message, unknown, "code {code}");
        assert!(seen.insert(message), "code {code} shares its text");
    }
    let mut codes = CODES.to_vec();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), CODES.len(), "codes are distinct");
}

#[test]
fn script_kind_codes_round_trip() {
    for code in IPXE_CONFIG_SCRIPT_DEPLOY..=IPXE_CONFIG_SCRIPT_CHAIN {
        let kind = script_kind(code).unwrap();
        assert_eq!(script_kind_code(kind), code);
        assert_eq!(text(ipxe_config_script_kind_name(code)), kind.as_str());
    }
    assert_eq!(script_kind(IPXE_CONFIG_SCRIPT_NONE), None);
    assert_eq!(text(ipxe_config_script_kind_name(IPXE_CONFIG_SCRIPT_NONE)), "none");
    assert_eq!(text(ipxe_config_script_kind_name(99)), "unknown");
}

#[test]
fn struct_layouts_are_the_headers() {
    let word = core::mem::size_of::<usize>();
    assert_eq!(core::mem::size_of::<IpxeConfigInventory>(), 7 * word);
    assert_eq!(core::mem::size_of::<IpxeConfigResult>(), word + 32);
}
