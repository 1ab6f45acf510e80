//! `ipxe_config_settings`: the C mirror of [`RenderConfig`], and its checked conversion.

use core::ffi::{c_char, CStr};
use core::fmt;

use ipxe_config::config::ConfigError;
use ipxe_config::{BootMode, ErrorEnding, RenderConfig};

use crate::raw;

/// `error_ending`: reboot (the default; zero so a zero-filled struct gets it).
pub const IPXE_CONFIG_ENDING_REBOOT: i32 = 0;
/// `error_ending`: `exit 1`, so a calling script or the firmware's boot order moves on.
pub const IPXE_CONFIG_ENDING_EXIT: i32 = 1;
/// `error_ending`: chain the same URL again, picking up a state change by itself.
pub const IPXE_CONFIG_ENDING_RETRY: i32 = 2;

/// `boot_mode`: UEFI, Ironic's own default (zero so a zero-filled struct gets it).
pub const IPXE_CONFIG_BOOT_MODE_UEFI: i32 = 0;
/// `boot_mode`: legacy BIOS.
pub const IPXE_CONFIG_BOOT_MODE_BIOS: i32 = 1;

/// Settings for all nodes (`ipxe_config_settings` in C), mirroring [`RenderConfig`].
///
/// Strings are NUL-terminated UTF-8; `NULL` or `""` means "not set" (for `any_driver`,
/// `NULL` means `"any"`). They are read on every call that takes the struct and never
/// kept. Start from `ipxe_config_settings_default`; an all-zero struct is also valid
/// (0 retries, no pause).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IpxeConfigSettings {
    /// This server, e.g. `"http://10.99.0.1"`, for chain and retry URLs; `NULL`:
    /// `http://${next-server}` ([`RenderConfig::base_url`]).
    pub base_url: *const c_char,
    /// `ipa-api-url=` for the deploy ramdisk ([`RenderConfig::ipa_api_url`]).
    pub ipa_api_url: *const c_char,
    /// Deploy kernel for nodes without `driver_info.deploy_kernel`.
    pub deploy_kernel: *const c_char,
    /// Deploy ramdisk for nodes without `driver_info.deploy_ramdisk`.
    pub deploy_ramdisk: *const c_char,
    /// Rescue kernel for nodes without `driver_info.rescue_kernel`.
    pub rescue_kernel: *const c_char,
    /// Rescue ramdisk for nodes without `driver_info.rescue_ramdisk`.
    pub rescue_ramdisk: *const c_char,
    /// Ironic's `[pxe]kernel_append_params` ([`RenderConfig::append_params`]): for nodes
    /// without `kernel_append_params`, and what `%default%` stands for. `NULL` or `""`:
    /// none; the defaults hold Ironic's `nofb vga=normal`.
    pub append_params: *const c_char,
    /// Driver name that matches every node ([`RenderConfig::any_driver`]); `NULL` means `"any"`.
    pub any_driver: *const c_char,
    /// Ironic's `[deploy]http_url` ([`RenderConfig::ironic_http_url`]): non-http(s) image
    /// references are booted from `<http_url>/<node uuid>/<label>`; `NULL`: such nodes
    /// get an error script.
    pub ironic_http_url: *const c_char,
    /// `--timeout` for image fetches, in milliseconds; 0 leaves iPXE's default.
    pub fetch_timeout_ms: u32,
    /// Retries of a failed kernel/initrd fetch (Ironic: 10).
    pub retries: u16,
    /// Seconds an error script waits so the console can be read.
    pub error_pause_seconds: u16,
    /// What an error script does after its pause: one of `IPXE_CONFIG_ENDING_*`.
    pub error_ending: i32,
    /// [`RenderConfig::boot_mode`] for nodes whose `boot_mode` is null: `IPXE_CONFIG_BOOT_MODE_*`.
    pub boot_mode: i32,
    /// Ironic's `[DEFAULT]debug` ([`RenderConfig::ipa_debug`]): non-zero adds `ipa-debug=1`.
    pub ipa_debug: i32,
    /// Script chained for machines no node owns, a URL or a path on this server
    /// ([`RenderConfig::unknown_node_fallback`]); `NULL`: the error script's ending.
    pub unknown_node_fallback: *const c_char,
}

const ANY_DRIVER: &CStr = c"any";
/// [`ipxe_config::config::IRONIC_APPEND_PARAMS`], NUL-terminated (a test checks they agree).
const IRONIC_APPEND_PARAMS: &CStr = c"nofb vga=normal";

impl IpxeConfigSettings {
    /// The C defaults, equal to [`RenderConfig::DEFAULT`].
    pub fn defaults() -> Self {
        let config = RenderConfig::DEFAULT;
        Self {
            base_url: core::ptr::null(),
            ipa_api_url: core::ptr::null(),
            deploy_kernel: core::ptr::null(),
            deploy_ramdisk: core::ptr::null(),
            rescue_kernel: core::ptr::null(),
            rescue_ramdisk: core::ptr::null(),
            append_params: IRONIC_APPEND_PARAMS.as_ptr(),
            any_driver: ANY_DRIVER.as_ptr(),
            ironic_http_url: core::ptr::null(),
            fetch_timeout_ms: config.fetch_timeout_ms.unwrap_or(0),
            retries: config.retries,
            error_pause_seconds: config.error_pause_seconds,
            error_ending: match config.error_ending {
                ErrorEnding::Reboot => IPXE_CONFIG_ENDING_REBOOT,
                ErrorEnding::Exit => IPXE_CONFIG_ENDING_EXIT,
                ErrorEnding::Retry => IPXE_CONFIG_ENDING_RETRY,
            },
            boot_mode: match config.boot_mode {
                BootMode::Bios => IPXE_CONFIG_BOOT_MODE_BIOS,
                BootMode::Uefi | BootMode::Unset => IPXE_CONFIG_BOOT_MODE_UEFI,
            },
            ipa_debug: i32::from(config.ipa_debug),
            unknown_node_fallback: core::ptr::null(),
        }
    }

    /// The [`RenderConfig`] these settings describe, validated with [`RenderConfig::validate`].
    ///
    /// # Errors
    /// A string that is not UTF-8, an enum value outside its constants, or a value
    /// [`RenderConfig::validate`] refuses.
    ///
    /// # Safety
    /// Every non-null string pointer must point to a NUL-terminated string that stays
    /// valid and unchanged for `'a`.
    pub unsafe fn to_config<'a>(&self) -> Result<RenderConfig<'a>, SettingsError> {
        // SAFETY: forwarded from this function's contract, one pointer at a time.
        let text = |setting, pointer| unsafe { optional_text(setting, pointer) };
        let error_ending = match self.error_ending {
            IPXE_CONFIG_ENDING_REBOOT => ErrorEnding::Reboot,
            IPXE_CONFIG_ENDING_EXIT => ErrorEnding::Exit,
            IPXE_CONFIG_ENDING_RETRY => ErrorEnding::Retry,
            _ => return Err(SettingsError::OutOfRange("error_ending")),
        };
        let boot_mode = match self.boot_mode {
            IPXE_CONFIG_BOOT_MODE_UEFI => BootMode::Uefi,
            IPXE_CONFIG_BOOT_MODE_BIOS => BootMode::Bios,
            _ => return Err(SettingsError::OutOfRange("boot_mode")),
        };
        // SAFETY: as above.
        let any_driver = unsafe { raw::c_text(self.any_driver) }
            .map_err(|raw::NotUtf8| SettingsError::NotUtf8("any_driver"))?
            .unwrap_or("any");
        let config = RenderConfig {
            base_url: text("base_url", self.base_url)?,
            ipa_api_url: text("ipa_api_url", self.ipa_api_url)?,
            deploy_kernel: text("deploy_kernel", self.deploy_kernel)?,
            deploy_ramdisk: text("deploy_ramdisk", self.deploy_ramdisk)?,
            rescue_kernel: text("rescue_kernel", self.rescue_kernel)?,
            rescue_ramdisk: text("rescue_ramdisk", self.rescue_ramdisk)?,
            append_params: text("append_params", self.append_params)?,
            // Not in the C settings yet: C callers get the single configured pair.
            by_arch: &[],
            ipa_debug: self.ipa_debug != 0,
            ironic_http_url: text("ironic_http_url", self.ironic_http_url)?,
            boot_mode,
            retries: self.retries,
            fetch_timeout_ms: (self.fetch_timeout_ms != 0).then_some(self.fetch_timeout_ms),
            error_pause_seconds: self.error_pause_seconds,
            error_ending,
            any_driver,
            unknown_node_fallback: text("unknown_node_fallback", self.unknown_node_fallback)?,
        };
        config.validate().map_err(SettingsError::Unsafe)?;
        Ok(config)
    }
}

/// An optional text setting: `NULL` and `""` are unset.
///
/// # Safety
/// As [`raw::c_text`].
unsafe fn optional_text<'a>(setting: &'static str, pointer: *const c_char) -> Result<Option<&'a str>, SettingsError> {
    // SAFETY: forwarded from this function's contract.
    let text = unsafe { raw::c_text(pointer) }.map_err(|raw::NotUtf8| SettingsError::NotUtf8(setting))?;
    Ok(text.filter(|text| !text.is_empty()))
}

/// Why settings cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingsError {
    /// The named string is not UTF-8.
    NotUtf8(&'static str),
    /// The named enum field holds a value outside its `IPXE_CONFIG_*` constants.
    OutOfRange(&'static str),
    /// A value that would change a script's commands.
    Unsafe(ConfigError),
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotUtf8(setting) => write!(f, "{setting}: not UTF-8"),
            Self::OutOfRange(setting) => write!(f, "{setting}: not one of its constants"),
            Self::Unsafe(error) => write!(f, "{error}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_mirror_the_core_defaults() {
        let settings = IpxeConfigSettings::defaults();
        // SAFETY: the defaults hold only null pointers and a static C string.
        let config = unsafe { settings.to_config() }.unwrap();
        let core = RenderConfig::DEFAULT;
        assert_eq!(config.any_driver, core.any_driver);
        assert_eq!(config.retries, core.retries);
        assert_eq!(config.fetch_timeout_ms, core.fetch_timeout_ms);
        assert_eq!(config.error_pause_seconds, core.error_pause_seconds);
        assert_eq!(config.error_ending, core.error_ending);
        assert_eq!(config.boot_mode, core.boot_mode);
        assert_eq!(config.base_url, None);
        assert_eq!(config.append_params, core.append_params);
        assert_eq!(config.ipa_debug, core.ipa_debug);
        assert_eq!(config.ironic_http_url, core.ironic_http_url);
    }

    #[test]
    fn the_c_append_default_is_ironics() {
        assert_eq!(IRONIC_APPEND_PARAMS.to_str(), Ok(ipxe_config::config::IRONIC_APPEND_PARAMS));
    }

    #[test]
    fn zero_filled_settings_are_usable() {
        // SAFETY: all-zero is a valid bit pattern for this struct: null pointers and zeros.
        let zeroed: IpxeConfigSettings = unsafe { core::mem::zeroed() };
        // SAFETY: only null pointers.
        let config = unsafe { zeroed.to_config() }.unwrap();
        assert_eq!(config.any_driver, "any");
        assert_eq!(config.error_ending, ErrorEnding::Reboot);
        assert_eq!(config.boot_mode, BootMode::Uefi);
        assert_eq!(config.fetch_timeout_ms, None);
    }

    #[test]
    fn bad_values_are_named() {
        let check = |settings: IpxeConfigSettings| {
            // SAFETY: every pointer below is a static C string or a default.
            unsafe { settings.to_config() }.map(|_| ()).unwrap_err()
        };
        let defaults = IpxeConfigSettings::defaults();
        let error = check(IpxeConfigSettings { append_params: c"quiet\nshell".as_ptr(), ..defaults });
        assert_eq!(error.to_string(), "append_params: contains a line break");
        let error = check(IpxeConfigSettings { deploy_kernel: c"http://x/\xff".as_ptr(), ..defaults });
        assert_eq!(error, SettingsError::NotUtf8("deploy_kernel"));
        let error = check(IpxeConfigSettings { error_ending: 7, ..defaults });
        assert_eq!(error.to_string(), "error_ending: not one of its constants");
        let error = check(IpxeConfigSettings { boot_mode: -1, ..defaults });
        assert_eq!(error, SettingsError::OutOfRange("boot_mode"));
        let error = check(IpxeConfigSettings { any_driver: c"".as_ptr(), ..defaults });
        assert_eq!(error.to_string(), "any_driver: is empty");
        let error = check(IpxeConfigSettings { unknown_node_fallback: c"x || shell".as_ptr(), ..defaults });
        assert_eq!(error.to_string(), "unknown_node_fallback: contains whitespace");
    }

    #[test]
    fn the_fallback_reaches_the_config() {
        let settings =
            IpxeConfigSettings { unknown_node_fallback: c"inspector.ipxe".as_ptr(), ..IpxeConfigSettings::defaults() };
        // SAFETY: a static C string and defaults.
        let config = unsafe { settings.to_config() }.unwrap();
        assert_eq!(config.unknown_node_fallback, Some("inspector.ipxe"));
        // SAFETY: the defaults hold only null pointers and a static C string.
        let default = unsafe { IpxeConfigSettings::defaults().to_config() }.unwrap();
        assert_eq!(default.unknown_node_fallback, None);
    }

    #[test]
    fn layout_is_the_headers() {
        let pointer = core::mem::size_of::<*const c_char>();
        // Ten pointers, 20 bytes of numbers between them, padded to the pointer's alignment.
        assert_eq!(core::mem::size_of::<IpxeConfigSettings>(), (9 * pointer + 20).next_multiple_of(pointer) + pointer);
    }
}
