//! Quarantine: a node whose values cannot become a safe, bootable script loads anyway,
//! keeping only its UUID (so lookups by UUID or MAC still find it) and a two-byte cause.
//! Every request for it gets an error script naming the field and the reason, and the
//! rest of the fleet boots: one node's typo must not stop 9,999 others.
//!
//! The limits below are what real iPXE can take on one command line; a node whose
//! rendered kernel line goes past them is quarantined at load instead of failing in
//! the machine's firmware.

use core::fmt;

use crate::safety::UnsafeValue;

/// Every node field the loader reads, as a one-byte id: the field a quarantine cause
/// names. Adding a field to the loader means adding a variant here and its JSON path in
/// [`NodeField::path`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum NodeField {
    /// `uuid`
    Uuid,
    /// `driver`
    Driver,
    /// `provision_state`
    ProvisionState,
    /// `deploy_interface`
    DeployInterface,
    /// `boot_mode`
    BootMode,
    /// `boot_interface`
    BootInterface,
    /// `properties.cpu_arch`
    CpuArch,
    /// `properties.capabilities` (`"k:v,k:v"`, or an object)
    PropertiesCapabilities,
    /// `instance_info.capabilities` (an object, or one as a JSON string)
    InstanceCapabilities,
    /// `instance_info.deploy_boot_mode`
    InstanceDeployBootMode,
    /// `instance_info.ramdisk_kernel_arguments`
    RamdiskKernelArguments,
    /// `instance_info.boot_iso`
    BootIso,
    /// `driver_internal_info.deploy_boot_mode`
    InternalDeployBootMode,
    /// `driver_info.deploy_kernel`
    DeployKernel,
    /// `driver_info.deploy_ramdisk`
    DeployRamdisk,
    /// `driver_info.rescue_kernel`
    RescueKernel,
    /// `driver_info.rescue_ramdisk`
    RescueRamdisk,
    /// `driver_info.kernel_append_params`
    DeployAppend,
    /// `instance_info.kernel`
    InstanceKernel,
    /// `instance_info.ramdisk`
    InstanceRamdisk,
    /// `instance_info.kernel_append_params`
    InstanceAppend,
    /// `instance_info.image_type`
    ImageType,
    /// `driver_internal_info.is_whole_disk_image`
    WholeDiskImage,
    /// The rendered script as a whole (no single field is to blame).
    Script,
}

impl NodeField {
    /// The field's JSON path, dotted, as load errors and error scripts name it.
    ///
    /// ```
    /// use ipxe_config::quarantine::NodeField;
    /// assert_eq!(NodeField::DeployAppend.path(), "driver_info.kernel_append_params");
    /// ```
    pub fn path(self) -> &'static str {
        match self {
            Self::Uuid => "uuid",
            Self::Driver => "driver",
            Self::ProvisionState => "provision_state",
            Self::DeployInterface => "deploy_interface",
            Self::BootMode => "boot_mode",
            Self::BootInterface => "boot_interface",
            Self::CpuArch => "properties.cpu_arch",
            Self::PropertiesCapabilities => "properties.capabilities",
            Self::InstanceCapabilities => "instance_info.capabilities",
            Self::InstanceDeployBootMode => "instance_info.deploy_boot_mode",
            Self::RamdiskKernelArguments => "instance_info.ramdisk_kernel_arguments",
            Self::BootIso => "instance_info.boot_iso",
            Self::InternalDeployBootMode => "driver_internal_info.deploy_boot_mode",
            Self::DeployKernel => "driver_info.deploy_kernel",
            Self::DeployRamdisk => "driver_info.deploy_ramdisk",
            Self::RescueKernel => "driver_info.rescue_kernel",
            Self::RescueRamdisk => "driver_info.rescue_ramdisk",
            Self::DeployAppend => "driver_info.kernel_append_params",
            Self::InstanceKernel => "instance_info.kernel",
            Self::InstanceRamdisk => "instance_info.ramdisk",
            Self::InstanceAppend => "instance_info.kernel_append_params",
            Self::ImageType => "instance_info.image_type",
            Self::WholeDiskImage => "driver_internal_info.is_whole_disk_image",
            Self::Script => "script",
        }
    }

    /// Bit of this field in a per-object "already seen" set (repeated keys); below
    /// the section bits, which start at 27.
    pub(crate) fn bit(self) -> u32 {
        1 << (self as u8)
    }
}

/// What is wrong with a quarantined node's field, as a one-byte code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuarantineProblem {
    /// The value would change the script's commands.
    Unsafe(UnsafeValue),
    /// A required field (`driver`, `provision_state`) is absent or `null`.
    Missing,
    /// Not one of the values the field takes.
    InvalidValue,
    /// Longer than the string pool stores ([`MAX_STRING`](crate::pool::MAX_STRING)).
    TooLong,
    /// The kernel line would carry more than [`MAX_KERNEL_WORDS`] words.
    TooManyWords,
    /// The kernel command line would be longer than [`MAX_KERNEL_CMDLINE`] bytes.
    LineTooLong,
    /// A script for the node does not fit the server's response buffer.
    ScriptTooLarge,
}

impl fmt::Display for QuarantineProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unsafe(reason) => write!(f, "{reason}"),
            Self::Missing => f.write_str("missing"),
            Self::InvalidValue => f.write_str("not a value the field takes"),
            Self::TooLong => write!(f, "longer than {} bytes", crate::pool::MAX_STRING),
            Self::TooManyWords => {
                write!(f, "too many words: iPXE takes at most {MAX_KERNEL_WORDS} on a kernel line")
            }
            Self::LineTooLong => {
                write!(f, "kernel command line over {MAX_KERNEL_CMDLINE} bytes, which iPXE would cut short")
            }
            Self::ScriptTooLarge => f.write_str("the script is larger than the server's response buffer"),
        }
    }
}

/// Why a node is quarantined: which field, and what is wrong with it. Two bytes in the
/// node's record; the node's other values are not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quarantine {
    /// The field to blame.
    pub field: NodeField,
    /// What is wrong with it.
    pub problem: QuarantineProblem,
}

impl fmt::Display for Quarantine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field.path(), self.problem)
    }
}

// The bounds on one kernel line, from iPXE's source (read in both Debian's
// 1.0.0+git-20190125 and the 2026 tree; the code involved is unchanged between them):
//
// - `src/include/ipxe/parseopt.h`: a command descriptor's `max_args` is a `uint8_t`, and
//   `kernel`/`imgexec` (`src/hci/commands/image_cmd.c`) declare `MAX_ARGUMENTS` (0xff).
//   `reparse_options()` (`src/core/parseopt.c`) prints `Usage:` and fails with -ERANGE
//   when more non-option arguments follow: the URI plus at most 254 command-line words.
//   That is the `Usage:` on every retry seen with ~250 words (our fixed words added).
// - `system()` (`src/core/exec.c`) puts two pointer arrays on the stack, one entry per
//   token of the whole line (`all_tokens[count + 1]`) and one per token of the command
//   (`argv[argc + 1]`): 8 bytes a word on i386, 16 on x86_64, against the 4 KiB BIOS
//   stack (`src/arch/x86/core/stack.S`, 8 KiB on x86_64) shared with everything the
//   command then calls (`kernel` fetches the image over HTTP and TCP from that stack).
//   ~450 words are 3.6 KiB of pointers on i386: the hang seen with Debian's iPXE.
// - The command line the kernel gets is the words joined by spaces (`concat_args()`,
//   heap-allocated, no limit), but a bzImage takes at most its header's `cmdline_size`,
//   2047 bytes by default (`BZI_CMDLINE_SIZE` in `src/arch/x86/include/bzimage.h`), and
//   `bzimage_set_cmdline()` (`src/arch/x86/image/bzimage.c`) cuts the rest silently,
//   which would drop `BOOTIF=` and `initrd=` at the end of our line.
//
// With margin: 128 words (half the parser's limit; 1 KiB of stack pointers on i386, a
// quarter of its stack) and 1536 bytes (three quarters of the bzImage limit, leaving
// room for `${mac}` expanding to 17 characters and a kernel that reserves less).

/// Most words after the kernel URI on a rendered `kernel` line.
pub const MAX_KERNEL_WORDS: usize = 128;

/// Most bytes of the kernel command line (the words after the URI, joined by spaces).
pub const MAX_KERNEL_CMDLINE: usize = 1536;
