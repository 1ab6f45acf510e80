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

/// Settings for all nodes. Every text value is checked by [`Config::validate`] with the
/// same rules as inventory values.
#[derive(Debug, Clone, Copy)]
pub struct Config<'c> {
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
    /// Kernel parameters for nodes without `driver_info.kernel_append_params`.
    pub append_params: Option<&'c str>,
    /// Boot mode for nodes whose `boot_mode` is null (Ironic's own default is UEFI).
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
    /// [`Config::base_url`]. `/boot.ipxe` chains it when no NIC is known, and so does the
    /// answer for an unknown MAC or UUID; `None` keeps the error script's ending.
    pub unknown_node_fallback: Option<&'c str>,
}

impl Config<'static> {
    /// The defaults: Ironic's retry count, UEFI, a 10-second error pause then reboot.
    pub const DEFAULT: Config<'static> = Config {
        base_url: None,
        ipa_api_url: None,
        deploy_kernel: None,
        deploy_ramdisk: None,
        rescue_kernel: None,
        rescue_ramdisk: None,
        append_params: None,
        boot_mode: BootMode::Uefi,
        retries: 10,
        fetch_timeout_ms: None,
        error_pause_seconds: 10,
        error_ending: ErrorEnding::Reboot,
        any_driver: "any",
        unknown_node_fallback: None,
    };
}

impl Default for Config<'static> {
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

impl Config<'_> {
    /// Checks every text setting as the loader checks inventory values.
    ///
    /// ```
    /// use ipxe_config::Config;
    /// let config = Config { append_params: Some("quiet\nshell"), ..Config::DEFAULT };
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
            ("any_driver", Some(self.any_driver), token),
            ("unknown_node_fallback", self.unknown_node_fallback, token),
        ];
        for (setting, value, kind) in settings {
            if let Some(value) = value {
                safety::check(value, kind).map_err(|reason| ConfigError { setting, reason })?;
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
            let config = Config { unknown_node_fallback: Some(fallback), ..Config::DEFAULT };
            assert_eq!(
                config.validate(),
                Err(ConfigError { setting: "unknown_node_fallback", reason }),
                "{fallback:?}"
            );
        }
        for fallback in ["inspector.ipxe", "/ipxe/inspector.ipxe", "https://10.0.0.1/inspect.ipxe"] {
            assert_eq!(Config { unknown_node_fallback: Some(fallback), ..Config::DEFAULT }.validate(), Ok(()));
        }
    }
}
