//! C ABI for `ipxe-config`, so servers written in C (nginx modules, small daemons) link the
//! renderer as a static library. The C declarations are in `include/ipxe_config.h`.
//!
//! Nothing here allocates: the inventory is loaded into one block of caller memory
//! ([`ipxe_config_storage_size`] says how large; the header's `IPXE_CONFIG_STORAGE_BYTES`
//! says the same as a constant expression, for a static array), scripts are written into
//! a caller's buffer, and every string handed back is static.
//!
//! **Panics.** This crate uses std (so the static library carries std's runtime) but is
//! written so that nothing can panic: no `unwrap`, no panicking index, no unchecked
//! arithmetic (clippy denies all three), and the core crate is panic-free by the same
//! rules. There is no `catch_unwind`: the workspace's release profile is `panic = "abort"`,
//! where it would catch nothing, and a panic reaching an `extern "C"` function aborts the
//! process (Rust ≥ 1.81) instead of unwinding into C. So a bug would be a clean abort,
//! never undefined behaviour.
//!
//! **Threads.** [`ipxe_config_render`] only reads the storage, the handle and the
//! settings, so any number of threads may render from one loaded inventory at once.
//! Loading writes the storage: to reload while serving, load into a second storage and
//! swap handles.

// Tests use plain indexing, unwrap and panics: a failing test is meant to panic.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::arithmetic_side_effects, clippy::panic))]

mod message;
mod raw;
pub mod settings;
mod storage;

use core::ffi::{c_char, c_int, c_void, CStr};
use core::ptr;

use ipxe_config::{
    load, render, Extent, Inventory, LoadError, NodeRecord, PortRecord, Problem, Refusal, Rendered, Route, RouteError,
    ScriptKind,
};

use crate::message::write_c_string;
use crate::raw::{BadBuffer, BadPointer};
pub use crate::settings::{
    IpxeConfigSettings, IPXE_CONFIG_BOOT_MODE_BIOS, IPXE_CONFIG_BOOT_MODE_UEFI, IPXE_CONFIG_ENDING_EXIT,
    IPXE_CONFIG_ENDING_REBOOT, IPXE_CONFIG_ENDING_RETRY,
};
use crate::storage::{Capacities, CarveError};

/// Success.
pub const IPXE_CONFIG_OK: c_int = 0;
/// A required pointer is NULL or misaligned.
pub const IPXE_CONFIG_ERR_BAD_POINTER: c_int = -1;
/// A length is larger than `PTRDIFF_MAX`, or the capacities overflow the address space.
pub const IPXE_CONFIG_ERR_BAD_LENGTH: c_int = -2;
/// The storage block is smaller than the capacities need (see `ipxe_config_storage_size`).
pub const IPXE_CONFIG_ERR_STORAGE_TOO_SMALL: c_int = -3;
/// The inventory was rejected (malformed JSON, unsafe or missing value, duplicate, …);
/// the error message names the node and the field.
pub const IPXE_CONFIG_ERR_INVENTORY_INVALID: c_int = -4;
/// The inventory does not fit the capacities given (the message names the limit).
pub const IPXE_CONFIG_ERR_INVENTORY_CAPACITY: c_int = -5;
/// The handle is not from a successful `ipxe_config_load`.
pub const IPXE_CONFIG_ERR_NOT_LOADED: c_int = -6;
/// A settings string is not UTF-8.
pub const IPXE_CONFIG_ERR_SETTINGS_NOT_UTF8: c_int = -7;
/// A settings value is invalid (unsafe for a script, or an enum out of range); see
/// `ipxe_config_settings_check`.
pub const IPXE_CONFIG_ERR_SETTINGS_INVALID: c_int = -8;
/// The request target is malformed: answer 400.
pub const IPXE_CONFIG_ERR_BAD_REQUEST: c_int = -9;
/// The request target names no resource: answer 404.
pub const IPXE_CONFIG_ERR_NOT_FOUND: c_int = -10;
/// The request target is too long: answer 414.
pub const IPXE_CONFIG_ERR_TARGET_TOO_LONG: c_int = -11;
/// The output buffer is too small; `*out_written` is the size needed.
pub const IPXE_CONFIG_ERR_BUFFER_TOO_SMALL: c_int = -12;

/// No script was rendered.
pub const IPXE_CONFIG_SCRIPT_NONE: i32 = 0;
/// Deploy ramdisk.
pub const IPXE_CONFIG_SCRIPT_DEPLOY: i32 = 1;
/// Rescue ramdisk.
pub const IPXE_CONFIG_SCRIPT_RESCUE: i32 = 2;
/// The instance's kernel and ramdisk (partition image).
pub const IPXE_CONFIG_SCRIPT_INSTANCE: i32 = 3;
/// The instance booted as a ramdisk.
pub const IPXE_CONFIG_SCRIPT_INSTANCE_RAMDISK: i32 = 4;
/// Boot from the local disk.
pub const IPXE_CONFIG_SCRIPT_LOCAL_DISK: i32 = 5;
/// An error script: still answered with 200, as iPXE runs only 2xx bodies; log a warning.
pub const IPXE_CONFIG_SCRIPT_ERROR: i32 = 6;
/// The `/boot.ipxe` chain script.
pub const IPXE_CONFIG_SCRIPT_CHAIN: i32 = 7;

/// Not an error script.
pub const IPXE_CONFIG_REFUSAL_NONE: i32 = 0;
/// No node has the requested UUID.
pub const IPXE_CONFIG_REFUSAL_UNKNOWN_NODE: i32 = 1;
/// No node has a PXE-enabled port with the requested MAC.
pub const IPXE_CONFIG_REFUSAL_UNKNOWN_ADDRESS: i32 = 2;
/// The request names another driver than the node's.
pub const IPXE_CONFIG_REFUSAL_DRIVER_MISMATCH: i32 = 3;
/// The node's provision state has nothing to boot.
pub const IPXE_CONFIG_REFUSAL_UNBOOTABLE_STATE: i32 = 4;
/// An image URL the script needs is absent and has no default.
pub const IPXE_CONFIG_REFUSAL_MISSING_VALUE: i32 = 5;
/// A value failed the renderer's own safety check.
pub const IPXE_CONFIG_REFUSAL_UNSAFE_VALUE: i32 = 6;
/// The node was quarantined at load (an unsafe or unrenderable value); a new code, so
/// callers built against older headers see an unknown refusal, never a wrong one.
pub const IPXE_CONFIG_REFUSAL_QUARANTINED: i32 = 7;
/// The node's `boot_interface` is not `ipxe` or `http-ipxe` (Ironic gives it no iPXE script).
pub const IPXE_CONFIG_REFUSAL_BOOT_INTERFACE: i32 = 8;
/// An image reference is not an http(s) URL and no `ironic_http_url` is set.
pub const IPXE_CONFIG_REFUSAL_NOT_FETCHABLE: i32 = 9;

/// Marks a handle filled by a successful load ("ipxc").
const LOADED: usize = 0x6970_7863;

/// A loaded inventory (`ipxe_config_inventory` in C): where it lies in the caller's
/// storage. Fixed-size so C can keep it by value; only this library writes it. The
/// counts may be read (for logs); the handle is valid while the storage is unchanged.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IpxeConfigInventory {
    /// Private: the node records.
    nodes: *const c_void,
    /// Private: the PXE-enabled port records.
    ports: *const c_void,
    /// Private: the string pool.
    strings: *const c_void,
    /// Nodes loaded.
    pub node_count: usize,
    /// PXE-enabled ports loaded.
    pub port_count: usize,
    /// Bytes of the string pool in use.
    pub string_bytes: usize,
    /// Private: marks a handle filled by a successful load.
    magic: usize,
}

impl IpxeConfigInventory {
    const EMPTY: Self = Self {
        nodes: ptr::null(),
        ports: ptr::null(),
        strings: ptr::null(),
        node_count: 0,
        port_count: 0,
        string_bytes: 0,
        magic: 0,
    };

    /// Views the inventory again.
    ///
    /// # Safety
    /// A handle marked loaded must come from `ipxe_config_load`, and its storage must be
    /// unchanged and not written during `'a`.
    unsafe fn view<'a>(&self) -> Option<Inventory<'a>> {
        if self.magic != LOADED || self.nodes.is_null() || self.ports.is_null() || self.strings.is_null() {
            return None;
        }
        // SAFETY: `ipxe_config_load` set these pointers to the start of regions it carved
        // and initialised, each holding at least the counted elements (aligned, in one
        // block); the caller keeps them unchanged for `'a`.
        let (nodes, ports, strings) = unsafe {
            (
                core::slice::from_raw_parts(self.nodes.cast::<NodeRecord>(), self.node_count),
                core::slice::from_raw_parts(self.ports.cast::<PortRecord>(), self.port_count),
                core::slice::from_raw_parts(self.strings.cast::<u8>(), self.string_bytes),
            )
        };
        let extent = Extent { nodes: self.node_count, ports: self.port_count, string_bytes: self.string_bytes };
        Some(Inventory::view(nodes, ports, strings, extent))
    }
}

/// What `ipxe_config_render` did (`ipxe_config_result` in C).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IpxeConfigResult {
    /// Static NUL-terminated text: for a route error the response body's reason, for an
    /// error script why the node got it, otherwise `""`. Never NULL after a call.
    pub reason: *const c_char,
    /// 200 when a script was written; 400, 404 or 414 for a route error; 0 when the call
    /// itself failed (bad argument, settings, handle or buffer).
    pub http_status: u32,
    /// `IPXE_CONFIG_SCRIPT_*`.
    pub script_kind: i32,
    /// `IPXE_CONFIG_REFUSAL_*`, for error scripts.
    pub refusal: i32,
    /// 1 when `node_uuid` holds the UUID of the node the script is for, else 0.
    pub has_node: u32,
    /// The node's UUID, 16 bytes in RFC 4122 order.
    pub node_uuid: [u8; 16],
}

impl IpxeConfigResult {
    const EMPTY: Self = Self {
        reason: c"".as_ptr(),
        http_status: 0,
        script_kind: IPXE_CONFIG_SCRIPT_NONE,
        refusal: IPXE_CONFIG_REFUSAL_NONE,
        has_node: 0,
        node_uuid: [0; 16],
    };

    fn rendered(rendered: &Rendered<'_>) -> Self {
        let (refusal, reason) = rendered.refusal.map_or((IPXE_CONFIG_REFUSAL_NONE, c""), refusal_code);
        Self {
            reason: reason.as_ptr(),
            http_status: 200,
            script_kind: script_kind_code(rendered.kind),
            refusal,
            has_node: u32::from(rendered.node.is_some()),
            node_uuid: rendered.node.map(|uuid| *uuid.as_bytes()).unwrap_or_default(),
        }
    }

    fn route_error(error: RouteError) -> Self {
        Self { reason: error.reason_c_str().as_ptr(), http_status: u32::from(error.status()), ..Self::EMPTY }
    }
}

/// Bytes one node slot takes in an inventory storage block (for
/// `IPXE_CONFIG_STORAGE_BYTES`).
pub const IPXE_CONFIG_NODE_SLOT_BYTES: usize = 80;
/// Bytes one PXE port slot takes in an inventory storage block.
pub const IPXE_CONFIG_PORT_SLOT_BYTES: usize = 28;
/// Distinct strings a node may add to the string pool; the string index has two
/// 4-byte slots per string the block can hold.
pub const IPXE_CONFIG_STRINGS_PER_NODE: usize = 15;
/// Pool bytes the smallest pooled string takes (a 2-byte length and one byte): the
/// string index holds at most one string per this many pool bytes.
pub const IPXE_CONFIG_MIN_STRING_BYTES: usize = 3;
/// Padding a block may need to align its regions, whatever its own alignment.
pub const IPXE_CONFIG_STORAGE_SLACK_BYTES: usize = 9;

// The header carries these as literals, for a C macro to size a static block with; the
// build fails if they stop describing the layout `storage` carves.
const _: () = {
    assert!(IPXE_CONFIG_NODE_SLOT_BYTES == size_of::<NodeRecord>());
    assert!(IPXE_CONFIG_PORT_SLOT_BYTES == size_of::<PortRecord>());
    assert!(IPXE_CONFIG_STRINGS_PER_NODE == ipxe_config::buffers::STRINGS_PER_NODE);
    assert!(IPXE_CONFIG_STORAGE_SLACK_BYTES == storage::SLACK_BYTES);
    // A pool-bound index: one string per IPXE_CONFIG_MIN_STRING_BYTES, two slots each.
    let pool_bound = ipxe_config::InventoryCapacity::new(1_000_000, 0, 3000).string_index_slots();
    assert!(matches!(pool_bound, Some(slots) if slots == 2 * 3000 / IPXE_CONFIG_MIN_STRING_BYTES));
};

/// Bytes of storage `ipxe_config_load` needs for these capacities, whatever the
/// storage's alignment (any pointer will do); 0 if they overflow the address space.
/// `string_bytes` bounds the string pool; the JSON document's length is always enough.
/// `IPXE_CONFIG_STORAGE_BYTES` is the same figure as a constant expression, for a
/// static block.
#[no_mangle]
pub extern "C" fn ipxe_config_storage_size(max_nodes: usize, max_ports: usize, string_bytes: usize) -> usize {
    storage::required_size(Capacities { nodes: max_nodes, ports: max_ports, string_bytes }).unwrap_or(0)
}

/// Loads an Ironic-shaped JSON inventory into `storage` and fills `*out_handle`.
///
/// The JSON is not kept. On failure `*out_handle` is left unloaded and `error_message`
/// (if not NULL) receives the reason (`node 1be2…: driver_info.deploy_kernel: contains a
/// line break`), NUL-terminated and cut to `error_message_len`.
///
/// # Safety
/// `storage` must be writable for `storage_len` bytes and used by nothing else while the
/// handle is in use; `json` readable for `json_len` bytes; `out_handle` writable;
/// `error_message`, if not NULL, writable for `error_message_len` bytes. None may overlap.
#[no_mangle]
#[allow(clippy::too_many_arguments)] // The C signature, fixed by the header.
pub unsafe extern "C" fn ipxe_config_load(
    storage: *mut c_void,
    storage_len: usize,
    max_nodes: usize,
    max_ports: usize,
    string_bytes: usize,
    json: *const u8,
    json_len: usize,
    out_handle: *mut IpxeConfigInventory,
    error_message: *mut c_char,
    error_message_len: usize,
) -> c_int {
    // SAFETY: the caller's contract for `error_message`. A missing message buffer is not
    // an error: the code alone still says what failed.
    let message = unsafe { raw::output(error_message.cast(), error_message_len) }.unwrap_or_default();
    let mut fail = |code: c_int, text: &dyn core::fmt::Display| {
        write_c_string(message, text);
        code
    };
    // SAFETY: the caller's contract for `out_handle`.
    if unsafe { raw::put(out_handle, IpxeConfigInventory::EMPTY) }.is_err() {
        return fail(IPXE_CONFIG_ERR_BAD_POINTER, &"out_handle is NULL or misaligned");
    }
    if storage.is_null() {
        return fail(IPXE_CONFIG_ERR_BAD_POINTER, &"storage is NULL");
    }
    if isize::try_from(storage_len).is_err() {
        return fail(IPXE_CONFIG_ERR_BAD_LENGTH, &"storage_len is larger than PTRDIFF_MAX");
    }
    // SAFETY: the caller's contract for `json`.
    let json = match unsafe { raw::input(json, json_len) } {
        Ok(json) => json,
        Err(BadBuffer::Pointer) => return fail(IPXE_CONFIG_ERR_BAD_POINTER, &"json is NULL"),
        Err(BadBuffer::Length) => return fail(IPXE_CONFIG_ERR_BAD_LENGTH, &"json_len is larger than PTRDIFF_MAX"),
    };
    let capacities = Capacities { nodes: max_nodes, ports: max_ports, string_bytes };
    // SAFETY: `storage` is non-null (checked) and, by the caller's contract, writable for
    // `storage_len` bytes and used by nothing else.
    let carved = match unsafe { storage::carve(storage.cast(), storage_len, capacities) } {
        Ok(carved) => carved,
        Err(CarveError::Overflow) => {
            return fail(IPXE_CONFIG_ERR_BAD_LENGTH, &"the capacities overflow the address space")
        }
        Err(CarveError::TooSmall { needed }) => {
            let text = format_args!(
                "storage too small: {storage_len} bytes given, {needed} needed at this \
                 address (ipxe_config_storage_size gives {})",
                ipxe_config_storage_size(max_nodes, max_ports, string_bytes)
            );
            return fail(IPXE_CONFIG_ERR_STORAGE_TOO_SMALL, &text);
        }
    };
    let extent = match load(json, carved.storage) {
        Ok(inventory) => inventory.extent(),
        Err(error) => return fail(load_error_code(&error), &error),
    };
    let handle = IpxeConfigInventory {
        nodes: carved.nodes.cast(),
        ports: carved.ports.cast(),
        strings: carved.strings.cast(),
        node_count: extent.nodes,
        port_count: extent.ports,
        string_bytes: extent.string_bytes,
        magic: LOADED,
    };
    // SAFETY: as for the first write; checked there.
    match unsafe { raw::put(out_handle, handle) } {
        Ok(()) => IPXE_CONFIG_OK,
        Err(BadPointer) => IPXE_CONFIG_ERR_BAD_POINTER,
    }
}

fn load_error_code(error: &LoadError) -> c_int {
    match error.problem {
        Problem::Capacity(_) => IPXE_CONFIG_ERR_INVENTORY_CAPACITY,
        _ => IPXE_CONFIG_ERR_INVENTORY_INVALID,
    }
}

/// Number of nodes the inventory holds quarantined: loaded with their UUID only, because
/// a value was unsafe or unrenderable; every request for one gets an error script naming
/// the field. 0 for a NULL or unloaded handle. For a load report beside `node_count`.
///
/// # Safety
/// `inventory`, if not NULL, must be a handle as for `ipxe_config_render`, its storage
/// unchanged since it was loaded.
#[no_mangle]
pub unsafe extern "C" fn ipxe_config_quarantined_count(inventory: *const IpxeConfigInventory) -> usize {
    // SAFETY: the caller's contract for `inventory`.
    let Ok(handle) = (unsafe { raw::borrow(inventory) }) else { return 0 };
    // SAFETY: the caller's contract for the inventory's storage.
    unsafe { handle.view() }.map_or(0, |inventory| inventory.quarantined_count())
}

/// Fills `*settings` with the defaults (Ironic's 10 retries, UEFI, a 10-second error
/// pause then reboot, `any_driver` "any"). Does nothing if `settings` is NULL.
///
/// # Safety
/// `settings`, if not NULL, must be writable.
#[no_mangle]
pub unsafe extern "C" fn ipxe_config_settings_default(settings: *mut IpxeConfigSettings) {
    // SAFETY: the caller's contract. A NULL pointer is refused by `put` and ignored here:
    // there is no return value to report it.
    let _ = unsafe { raw::put(settings, IpxeConfigSettings::defaults()) };
}

/// Checks settings once, e.g. at start-up, with a message naming the bad setting
/// (`append_params: contains a line break`). `ipxe_config_render` checks them again.
///
/// # Safety
/// `settings` must point to an initialised struct whose non-NULL strings are
/// NUL-terminated; `error_message`, if not NULL, writable for `error_message_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn ipxe_config_settings_check(
    settings: *const IpxeConfigSettings,
    error_message: *mut c_char,
    error_message_len: usize,
) -> c_int {
    // SAFETY: the caller's contract for `error_message`.
    let message = unsafe { raw::output(error_message.cast(), error_message_len) }.unwrap_or_default();
    // SAFETY: the caller's contract for `settings`.
    let Ok(settings) = (unsafe { raw::borrow(settings) }) else {
        write_c_string(message, "settings is NULL or misaligned");
        return IPXE_CONFIG_ERR_BAD_POINTER;
    };
    // SAFETY: the caller's contract for the strings in `settings`.
    match unsafe { settings.to_config() } {
        Ok(_) => IPXE_CONFIG_OK,
        Err(error) => {
            write_c_string(message, error);
            settings_error_code(error)
        }
    }
}

fn settings_error_code(error: settings::SettingsError) -> c_int {
    match error {
        settings::SettingsError::NotUtf8(_) => IPXE_CONFIG_ERR_SETTINGS_NOT_UTF8,
        _ => IPXE_CONFIG_ERR_SETTINGS_INVALID,
    }
}

/// Renders the answer to a request target (`/v1/drivers/…?port_address=…`, or
/// `/boot.ipxe`) into `out`.
///
/// Success: `*out_written` bytes of script, `info->http_status` 200. A route error returns
/// its code with `info->http_status` 400, 404 or 414 and `info->reason` as the body. A
/// too-small `out` returns `IPXE_CONFIG_ERR_BUFFER_TOO_SMALL` with `*out_written` the size
/// needed (`out` may be NULL with `out_len` 0 to ask for it); its contents are then
/// unspecified. `info` may be NULL. A script's Content-Type is `text/plain`.
///
/// # Safety
/// `inventory` and `settings` must point to initialised structs (the settings' non-NULL
/// strings NUL-terminated), the inventory's storage unchanged since it was loaded;
/// `target` readable for `target_len` bytes; `out` writable for `out_len` bytes;
/// `out_written` and `info` (if not NULL) writable. `out` must not overlap the others.
#[no_mangle]
#[allow(clippy::too_many_arguments)] // The C signature, fixed by the header.
pub unsafe extern "C" fn ipxe_config_render(
    inventory: *const IpxeConfigInventory,
    settings: *const IpxeConfigSettings,
    target: *const u8,
    target_len: usize,
    out: *mut u8,
    out_len: usize,
    out_written: *mut usize,
    info: *mut IpxeConfigResult,
) -> c_int {
    // SAFETY: the caller's contract for `out_written`.
    if unsafe { raw::put(out_written, 0) }.is_err() {
        return IPXE_CONFIG_ERR_BAD_POINTER;
    }
    if !info.is_null() {
        // SAFETY: the caller's contract for `info`.
        if unsafe { raw::put(info, IpxeConfigResult::EMPTY) }.is_err() {
            return IPXE_CONFIG_ERR_BAD_POINTER;
        }
    }
    // SAFETY: forwarded from this function's contract.
    let (code, written, result) = unsafe { render_answer(inventory, settings, target, target_len, out, out_len) };
    // SAFETY: both were checked writable above; a failure cannot happen the second time.
    unsafe {
        let _ = raw::put(out_written, written);
        if !info.is_null() {
            let _ = raw::put(info, result);
        }
    }
    code
}

/// The body of [`ipxe_config_render`]: its return code, `*out_written` and `*info`.
///
/// # Safety
/// As [`ipxe_config_render`].
unsafe fn render_answer(
    inventory: *const IpxeConfigInventory,
    settings: *const IpxeConfigSettings,
    target: *const u8,
    target_len: usize,
    out: *mut u8,
    out_len: usize,
) -> (c_int, usize, IpxeConfigResult) {
    let failed = |code| (code, 0, IpxeConfigResult::EMPTY);
    // SAFETY: the caller's contract for `inventory`.
    let Ok(handle) = (unsafe { raw::borrow(inventory) }) else {
        return failed(IPXE_CONFIG_ERR_BAD_POINTER);
    };
    // SAFETY: the caller's contract for `settings`.
    let Ok(settings) = (unsafe { raw::borrow(settings) }) else {
        return failed(IPXE_CONFIG_ERR_BAD_POINTER);
    };
    // SAFETY: the caller's contract for the inventory's storage.
    let Some(inventory) = (unsafe { handle.view() }) else {
        return failed(IPXE_CONFIG_ERR_NOT_LOADED);
    };
    // SAFETY: the caller's contract for the strings in `settings`.
    let config = match unsafe { settings.to_config() } {
        Ok(config) => config,
        Err(error) => return failed(settings_error_code(error)),
    };
    // SAFETY: the caller's contract for `target`.
    let target = match unsafe { raw::input(target, target_len) } {
        Ok(target) => target,
        Err(BadBuffer::Pointer) => return failed(IPXE_CONFIG_ERR_BAD_POINTER),
        Err(BadBuffer::Length) => return failed(IPXE_CONFIG_ERR_BAD_LENGTH),
    };
    let route = match Route::parse(target) {
        Ok(route) => route,
        Err(error) => return (route_error_code(error), 0, IpxeConfigResult::route_error(error)),
    };
    // SAFETY: the caller's contract for `out`.
    let out = match unsafe { raw::output(out, out_len) } {
        Ok(out) => out,
        Err(BadBuffer::Pointer) => return failed(IPXE_CONFIG_ERR_BAD_POINTER),
        Err(BadBuffer::Length) => return failed(IPXE_CONFIG_ERR_BAD_LENGTH),
    };
    match render(&inventory, &config, &route, out) {
        Ok(rendered) => (IPXE_CONFIG_OK, rendered.len, IpxeConfigResult::rendered(&rendered)),
        Err(too_small) => (IPXE_CONFIG_ERR_BUFFER_TOO_SMALL, too_small.needed, IpxeConfigResult::EMPTY),
    }
}

fn route_error_code(error: RouteError) -> c_int {
    match error.status() {
        404 => IPXE_CONFIG_ERR_NOT_FOUND,
        414 => IPXE_CONFIG_ERR_TARGET_TOO_LONG,
        _ => IPXE_CONFIG_ERR_BAD_REQUEST,
    }
}

fn refusal_code(refusal: Refusal<'_>) -> (i32, &'static CStr) {
    let code = match refusal {
        Refusal::UnknownNode(_) => IPXE_CONFIG_REFUSAL_UNKNOWN_NODE,
        Refusal::UnknownAddress(_) => IPXE_CONFIG_REFUSAL_UNKNOWN_ADDRESS,
        Refusal::DriverMismatch { .. } => IPXE_CONFIG_REFUSAL_DRIVER_MISMATCH,
        Refusal::UnbootableState => IPXE_CONFIG_REFUSAL_UNBOOTABLE_STATE,
        Refusal::Missing(_) => IPXE_CONFIG_REFUSAL_MISSING_VALUE,
        Refusal::UnsafeValue(_) => IPXE_CONFIG_REFUSAL_UNSAFE_VALUE,
        Refusal::Quarantined(_) => IPXE_CONFIG_REFUSAL_QUARANTINED,
        Refusal::BootInterface(_) => IPXE_CONFIG_REFUSAL_BOOT_INTERFACE,
        Refusal::NotFetchable(_) => IPXE_CONFIG_REFUSAL_NOT_FETCHABLE,
    };
    (code, refusal.summary())
}

fn script_kind_code(kind: ScriptKind) -> i32 {
    match kind {
        ScriptKind::DeployRamdisk => IPXE_CONFIG_SCRIPT_DEPLOY,
        ScriptKind::RescueRamdisk => IPXE_CONFIG_SCRIPT_RESCUE,
        ScriptKind::InstanceKernel => IPXE_CONFIG_SCRIPT_INSTANCE,
        ScriptKind::InstanceRamdisk => IPXE_CONFIG_SCRIPT_INSTANCE_RAMDISK,
        ScriptKind::LocalDisk => IPXE_CONFIG_SCRIPT_LOCAL_DISK,
        ScriptKind::Error => IPXE_CONFIG_SCRIPT_ERROR,
        ScriptKind::Chain => IPXE_CONFIG_SCRIPT_CHAIN,
    }
}

/// The inverse of [`script_kind_code`] (a test checks every code round-trips).
fn script_kind(code: c_int) -> Option<ScriptKind> {
    Some(match code {
        IPXE_CONFIG_SCRIPT_DEPLOY => ScriptKind::DeployRamdisk,
        IPXE_CONFIG_SCRIPT_RESCUE => ScriptKind::RescueRamdisk,
        IPXE_CONFIG_SCRIPT_INSTANCE => ScriptKind::InstanceKernel,
        IPXE_CONFIG_SCRIPT_INSTANCE_RAMDISK => ScriptKind::InstanceRamdisk,
        IPXE_CONFIG_SCRIPT_LOCAL_DISK => ScriptKind::LocalDisk,
        IPXE_CONFIG_SCRIPT_ERROR => ScriptKind::Error,
        IPXE_CONFIG_SCRIPT_CHAIN => ScriptKind::Chain,
        _ => return None,
    })
}

/// A static name for an `IPXE_CONFIG_SCRIPT_*` value (`"deploy"`, `"error"`, …; the same
/// words the Rust crate logs), `"none"` for `IPXE_CONFIG_SCRIPT_NONE`, `"unknown"` otherwise.
#[no_mangle]
pub extern "C" fn ipxe_config_script_kind_name(kind: c_int) -> *const c_char {
    let name = match script_kind(kind) {
        Some(kind) => kind.as_c_str(),
        None if kind == IPXE_CONFIG_SCRIPT_NONE => c"none",
        None => c"unknown",
    };
    name.as_ptr()
}

/// A static description of an `IPXE_CONFIG_*` return code; unknown codes get a generic
/// text, never NULL.
#[no_mangle]
pub extern "C" fn ipxe_config_strerror(code: c_int) -> *const c_char {
    strerror(code).as_ptr()
}

fn strerror(code: c_int) -> &'static CStr {
    match code {
        IPXE_CONFIG_OK => c"success",
        IPXE_CONFIG_ERR_BAD_POINTER => c"a required pointer is NULL or misaligned",
        IPXE_CONFIG_ERR_BAD_LENGTH => c"a length is larger than PTRDIFF_MAX or the capacities overflow",
        IPXE_CONFIG_ERR_STORAGE_TOO_SMALL => c"storage too small for the capacities (see ipxe_config_storage_size)",
        IPXE_CONFIG_ERR_INVENTORY_INVALID => c"inventory rejected (see the error message)",
        IPXE_CONFIG_ERR_INVENTORY_CAPACITY => c"inventory exceeds the storage capacities (see the error message)",
        IPXE_CONFIG_ERR_NOT_LOADED => c"inventory handle is not from a successful load",
        IPXE_CONFIG_ERR_SETTINGS_NOT_UTF8 => c"a settings string is not UTF-8",
        IPXE_CONFIG_ERR_SETTINGS_INVALID => c"a settings value is invalid (see ipxe_config_settings_check)",
        IPXE_CONFIG_ERR_BAD_REQUEST => c"malformed request target (HTTP 400)",
        IPXE_CONFIG_ERR_NOT_FOUND => c"no such resource (HTTP 404)",
        IPXE_CONFIG_ERR_TARGET_TOO_LONG => c"request target too long (HTTP 414)",
        IPXE_CONFIG_ERR_BUFFER_TOO_SMALL => c"output buffer too small (*out_written is the size needed)",
        _ => c"unknown ipxe-config error code",
    }
}

#[cfg(test)]
mod tests;
