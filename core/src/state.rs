//! Ironic's provision states and node attributes that choose which script a node gets.

/// What the renderer should boot, decided by a node's `provision_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootPath {
    /// The deploy ramdisk (Ironic Python Agent): deploying, cleaning, servicing.
    DeployRamdisk,
    /// The deploy ramdisk for inspection: it reports to
    /// `ipa-inspection-callback-url=<API>/v1/continue_inspection` and gets no
    /// `ipa-api-url` (Ironic's `prepare_managed_inspection`, without fast track).
    InspectRamdisk,
    /// The rescue ramdisk.
    RescueRamdisk,
    /// The provisioned instance: its ramdisk (`deploy_interface: ramdisk`) or its local disk.
    Instance,
    /// Nothing can be booted in this state; the node gets an error script.
    Unbootable,
}

/// The provision states Ironic reports, spelled as its API spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProvisionState {
    /// `deploying`
    Deploying,
    /// `wait call-back`: the deploy ramdisk is expected to call back.
    WaitCallBack,
    /// `deploy hold`
    DeployHold,
    /// `cleaning`
    Cleaning,
    /// `clean wait`
    CleanWait,
    /// `clean hold`
    CleanHold,
    /// `inspecting`
    Inspecting,
    /// `inspect wait`
    InspectWait,
    /// `servicing`
    Servicing,
    /// `service wait`
    ServiceWait,
    /// `service hold`
    ServiceHold,
    /// `rescuing`
    Rescuing,
    /// `rescue wait`
    RescueWait,
    /// `rescue`
    Rescue,
    /// `active`
    Active,
    /// Any other state (`available`, `manageable`, `deploy failed`, …) or an unknown string.
    Other,
}

impl ProvisionState {
    /// Maps Ironic's spelling to a state; unknown strings become [`ProvisionState::Other`].
    ///
    /// ```
    /// use ipxe_config::ProvisionState;
    /// assert_eq!(ProvisionState::from_ironic("wait call-back"), ProvisionState::WaitCallBack);
    /// assert_eq!(ProvisionState::from_ironic("available"), ProvisionState::Other);
    /// ```
    pub fn from_ironic(text: &str) -> Self {
        match text {
            "deploying" => Self::Deploying,
            "wait call-back" => Self::WaitCallBack,
            "deploy hold" => Self::DeployHold,
            "cleaning" => Self::Cleaning,
            "clean wait" => Self::CleanWait,
            "clean hold" => Self::CleanHold,
            "inspecting" => Self::Inspecting,
            "inspect wait" => Self::InspectWait,
            "servicing" => Self::Servicing,
            "service wait" => Self::ServiceWait,
            "service hold" => Self::ServiceHold,
            "rescuing" => Self::Rescuing,
            "rescue wait" => Self::RescueWait,
            "rescue" => Self::Rescue,
            "active" => Self::Active,
            _ => Self::Other,
        }
    }

    /// The script family for this state (the DESIGN.md state table).
    pub fn boot_path(self) -> BootPath {
        match self {
            Self::Deploying
            | Self::WaitCallBack
            | Self::DeployHold
            | Self::Cleaning
            | Self::CleanWait
            | Self::CleanHold
            | Self::Servicing
            | Self::ServiceWait
            | Self::ServiceHold => BootPath::DeployRamdisk,
            Self::Inspecting | Self::InspectWait => BootPath::InspectRamdisk,
            Self::Rescuing | Self::RescueWait => BootPath::RescueRamdisk,
            Self::Active => BootPath::Instance,
            // `rescue` (finished): Ironic's AgentRescue.clean_up -> clean_up_ramdisk has
            // deleted the node's config, so Ironic serves it nothing; the rescue ramdisk
            // runs from memory and is not booted again.
            Self::Rescue | Self::Other => BootPath::Unbootable,
        }
    }
}

/// Firmware boot mode; decides how "boot from local disk" is spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum BootMode {
    /// Not given by the inventory (`null` is common in real Ironic output): the
    /// configured default applies. A loaded node's mode is resolved as Ironic's
    /// `boot_mode_utils.get_boot_mode` does (see [`Node::boot_mode`](crate::Node::boot_mode)).
    #[default]
    Unset,
    /// Legacy BIOS.
    Bios,
    /// UEFI.
    Uefi,
}

impl BootMode {
    /// Parses Ironic's `bios` / `uefi`, in any case (Ironic lower-cases capabilities).
    ///
    /// ```
    /// use ipxe_config::BootMode;
    /// assert_eq!(BootMode::from_ironic("UEFI"), Some(BootMode::Uefi));
    /// assert_eq!(BootMode::from_ironic("efi"), None);
    /// ```
    pub fn from_ironic(text: &str) -> Option<Self> {
        if text.eq_ignore_ascii_case("bios") {
            Some(Self::Bios)
        } else if text.eq_ignore_ascii_case("uefi") {
            Some(Self::Uefi)
        } else {
            None
        }
    }

    /// This mode, or `default` when unset.
    #[must_use]
    pub fn or(self, default: BootMode) -> BootMode {
        if self == Self::Unset {
            default
        } else {
            self
        }
    }
}

/// The kind of image deployed on an active node (`instance_info.image_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum ImageType {
    /// Not given.
    #[default]
    Unset,
    /// A partition image (booted from the local disk once active, as Ironic 39 does).
    Partition,
    /// A whole-disk image: the node boots from its local disk.
    WholeDisk,
}

impl ImageType {
    /// Parses Ironic's `partition` / `whole-disk`.
    pub fn from_ironic(text: &str) -> Option<Self> {
        match text {
            "partition" => Some(Self::Partition),
            "whole-disk" => Some(Self::WholeDisk),
            _ => None,
        }
    }
}
