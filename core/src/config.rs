//! Settings that apply to every node, supplied by whoever runs the renderer.

use core::fmt;

use crate::safety::{self, UnsafeValue, ValueKind};
use crate::state::BootMode;

/// How an error script ends, after printing its reason and pausing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorEnding {
    /// `chain --replace` the same URL again: the node picks up a state change by itself.
    Retry,
    /// `exit 1`: a calling script or the firmware's boot order moves on.
    Exit,
    /// `reboot`.
    Reboot,
}

impl ErrorEnding {
    /// Parses `retry`, `exit` or `reboot`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "retry" => Some(Self::Retry),
            "exit" => Some(Self::Exit),
            "reboot" => Some(Self::Reboot),
            _ => None,
        }
    }
}

/// Ironic's default `[pxe]kernel_append_params` (`conf/pxe.py`).
pub const IRONIC_APPEND_PARAMS: &str = "nofb vga=normal";

/// One architecture's default images (Ironic's `[conductor]deploy_kernel_by_arch`,
/// `deploy_ramdisk_by_arch`, `rescue_kernel_by_arch`, `rescue_ramdisk_by_arch`, keyed by
/// `properties.cpu_arch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ArchImages<'c> {
    /// The `properties.cpu_arch` these are for (`aarch64`).
    pub arch: &'c str,
    /// `deploy_kernel_by_arch[arch]`.
    pub deploy_kernel: Option<&'c str>,
    /// `deploy_ramdisk_by_arch[arch]`.
    pub deploy_ramdisk: Option<&'c str>,
    /// `rescue_kernel_by_arch[arch]`.
    pub rescue_kernel: Option<&'c str>,
    /// `rescue_ramdisk_by_arch[arch]`.
    pub rescue_ramdisk: Option<&'c str>,
}

impl<'c> ArchImages<'c> {
    /// No images for `arch` yet.
    pub const fn new(arch: &'c str) -> Self {
        ArchImages { arch, deploy_kernel: None, deploy_ramdisk: None, rescue_kernel: None, rescue_ramdisk: None }
    }
}

/// Settings for all nodes. Every text value is checked by [`RenderConfig::validate`] with the
/// same rules as inventory values.
#[derive(Debug, Clone, Copy)]
pub struct RenderConfig<'c> {
    /// Base URL of this server (`http://10.99.0.1`), written into chain and retry scripts.
    /// `None` writes `http://${next-server}` (the DHCP server's next-server): older iPXE
    /// builds do not resolve relative URLs in `chain`.
    pub base_url: Option<&'c str>,
    /// Ironic API URL for the deploy ramdisk (`ipa-api-url=`), added unless the node's
    /// append parameters already carry one.
    pub ipa_api_url: Option<&'c str>,
    /// Deploy kernel for nodes without `driver_info.deploy_kernel`.
    pub deploy_kernel: Option<&'c str>,
    /// Deploy ramdisk for nodes without `driver_info.deploy_ramdisk`.
    pub deploy_ramdisk: Option<&'c str>,
    /// Rescue kernel for nodes without `driver_info.rescue_kernel`.
    pub rescue_kernel: Option<&'c str>,
    /// Rescue ramdisk for nodes without `driver_info.rescue_ramdisk`.
    pub rescue_ramdisk: Option<&'c str>,
    /// Default images by `properties.cpu_arch` (Ironic's `[conductor]*_by_arch`), a
    /// small table the caller owns (a `static`, or an array on its stack): a node with no
    /// complete `driver_info` pair boots its arch's pair when both halves are set, else
    /// the single configured pair.
    pub by_arch: &'c [ArchImages<'c>],
    /// Ironic's `[pxe]kernel_append_params`: the kernel parameters of nodes whose
    /// `instance_info` and `driver_info` have no `kernel_append_params`, and what
    /// `%default%` in theirs stands for. Ironic's default is `nofb vga=normal`.
    pub append_params: Option<&'c str>,
    /// Ironic's `[DEFAULT]debug`: `ipa-debug=1` on every ramdisk's kernel line unless its
    /// parameters already mention `ipa-debug` (Ironic's `build_extra_pxe_options`).
    pub ipa_debug: bool,
    /// Ironic's `[deploy]http_url`, where the conductor serves its cached copy of every
    /// image as `<http_url>/<node uuid>/<label>` (`deploy_kernel`, `ramdisk`, `boot_iso`,
    /// …). Image references that are not http(s) URLs (Glance UUIDs, `file://`) are
    /// written as that copy; without it such a node gets an error script naming the field.
    pub ironic_http_url: Option<&'c str>,
    /// Boot mode for nodes for which none is found (Ironic's `[deploy]default_boot_mode`,
    /// UEFI by default).
    pub boot_mode: BootMode,
    /// How many times a failed kernel/initrd fetch is retried (Ironic: 10).
    pub retries: u16,
    /// `--timeout` for image fetches, in milliseconds; `None` leaves iPXE's default.
    pub fetch_timeout_ms: Option<u32>,
    /// Seconds an error script waits so the console can be read.
    pub error_pause_seconds: u16,
    /// What an error script does after its pause.
    pub error_ending: ErrorEnding,
    /// Driver name written into `/boot.ipxe` and into URLs for MACs the server does not
    /// know; a request naming it is served whatever the node's driver.
    pub any_driver: &'c str,
    /// What a machine no node owns is sent to (Ironic's `[pxe]ipxe_fallback_script`),
    /// e.g. a discovery or inspection ramdisk's script: a URL (`http://…`), or a path
    /// on this server (`/inspect.ipxe`, `inspect.ipxe`), which is written after
    /// [`RenderConfig::base_url`]. `/boot.ipxe` chains it when no NIC is known, and so does the
    /// answer for an unknown MAC or UUID; `None` keeps the error script's ending.
    pub unknown_node_fallback: Option<&'c str>,
}

impl RenderConfig<'static> {
    /// The defaults: Ironic's retry count, kernel parameters and boot mode (UEFI), a
    /// 10-second error pause then reboot.
    pub const DEFAULT: RenderConfig<'static> = RenderConfig {
        base_url: None,
        ipa_api_url: None,
        deploy_kernel: None,
        deploy_ramdisk: None,
        rescue_kernel: None,
        rescue_ramdisk: None,
        by_arch: &[],
        append_params: Some(IRONIC_APPEND_PARAMS),
        ipa_debug: false,
        ironic_http_url: None,
        boot_mode: BootMode::Uefi,
        retries: 10,
        fetch_timeout_ms: None,
        error_pause_seconds: 10,
        error_ending: ErrorEnding::Reboot,
        any_driver: "any",
        unknown_node_fallback: None,
    };
}

impl Default for RenderConfig<'static> {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A configuration value that cannot be written into a script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigError {
    /// The setting's name.
    pub setting: &'static str,
    /// What is wrong with it.
    pub reason: UnsafeValue,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.setting, self.reason)
    }
}

impl core::error::Error for ConfigError {}

impl RenderConfig<'_> {
    /// Checks every text setting as the loader checks inventory values.
    ///
    /// ```
    /// use ipxe_config::RenderConfig;
    /// let config = RenderConfig { append_params: Some("quiet\nshell"), ..RenderConfig::DEFAULT };
    /// assert_eq!(config.validate().unwrap_err().to_string(), "append_params: contains a line break");
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        let token = ValueKind::Token;
        let settings = [
            ("base_url", self.base_url, token),
            ("ipa_api_url", self.ipa_api_url, token),
            ("deploy_kernel", self.deploy_kernel, token),
            ("deploy_ramdisk", self.deploy_ramdisk, token),
            ("rescue_kernel", self.rescue_kernel, token),
            ("rescue_ramdisk", self.rescue_ramdisk, token),
            ("append_params", self.append_params, ValueKind::Words),
            ("ironic_http_url", self.ironic_http_url, token),
            ("any_driver", Some(self.any_driver), token),
            ("unknown_node_fallback", self.unknown_node_fallback, token),
        ];
        for (setting, value, kind) in settings {
            if let Some(value) = value {
                safety::check(value, kind).map_err(|reason| ConfigError { setting, reason })?;
            }
        }
        for images in self.by_arch {
            let values = [
                ("by_arch.arch", Some(images.arch)),
                ("deploy_kernel_by_arch", images.deploy_kernel),
                ("deploy_ramdisk_by_arch", images.deploy_ramdisk),
                ("rescue_kernel_by_arch", images.rescue_kernel),
                ("rescue_ramdisk_by_arch", images.rescue_ramdisk),
            ];
            for (setting, value) in values {
                if let Some(value) = value {
                    safety::check(value, token).map_err(|reason| ConfigError { setting, reason })?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fallback_is_checked_like_a_url() {
        for (fallback, reason) in [
            ("inspector.ipxe || shell", UnsafeValue::Whitespace),
            ("http://x/${root-path}", UnsafeValue::SettingExpansion),
            ("--autofree", UnsafeValue::OptionLike),
            ("", UnsafeValue::Empty),
        ] {
            let config = RenderConfig { unknown_node_fallback: Some(fallback), ..RenderConfig::DEFAULT };
            assert_eq!(
                config.validate(),
                Err(ConfigError { setting: "unknown_node_fallback", reason }),
                "{fallback:?}"
            );
        }
        for fallback in ["inspector.ipxe", "/ipxe/inspector.ipxe", "https://10.0.0.1/inspect.ipxe"] {
            assert_eq!(
                RenderConfig { unknown_node_fallback: Some(fallback), ..RenderConfig::DEFAULT }.validate(),
                Ok(())
            );
        }
    }
}
