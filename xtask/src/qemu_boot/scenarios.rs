//! The boot scenarios: one node of `fixtures/inventory.json` each, and what must be seen.

use super::guest::Firmware;
use super::initrd::Tag;

/// What proves a scenario booted the right thing.
#[derive(Clone, Copy, Debug)]
pub enum Expect {
    /// The initrd with this tag ran, and its `/proc/cmdline` holds every token.
    Initrd { tag: Tag, cmdline: &'static [&'static str] },
    /// The local-disk stand-in ran (QEMU exits with the debug-exit status).
    LocalDisk,
    /// iPXE printed every one of these lines (an error script), then the guest rebooted.
    Console(&'static [&'static str]),
    /// The deploy initrd ran, the inventory was rewritten to `active` and reloaded, and
    /// after the guest's reboot it booted from its local disk.
    DeployThenLocalDisk,
    /// `/boot.ipxe` found the node on a later NIC, whose local-disk script returned
    /// (`sanboot` of a disk with no boot signature fails, then `exit 0`); the chain script
    /// then ended too, and the firmware booted its next device (a floppy with the local
    /// disk's marker code). No script was asked for any of `unasked`, the NICs after it.
    ChainReturnsToFirmware { unasked: &'static [&'static str] },
    /// Firmware scenarios without a client (no MACs; the appliance VM has no NIC either):
    /// the appliance's console shows every one of these lines.
    ApplianceConsole(&'static [&'static str]),
    /// The inventory comes from a real Ironic's API: its deploy ramdisk boots, the node
    /// is moved to a ramdisk `active` in Ironic, Ironic is stopped, and the next boot is
    /// the instance ramdisk all the same (see `ironic_live`).
    IronicLive,
}

/// How the guest reaches the appliance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Network {
    /// A socketpair per NIC; the appliance answers DHCP itself. No root needed.
    Socketpair,
    /// TAP devices on a bridge in a network namespace, DHCP from dnsmasq configured with
    /// `ipxe-scripts/dnsmasq.conf`, the appliance with `--no-dhcp`. Needs root.
    DnsmasqBridge,
    /// The appliance is the UEFI image (`cargo xtask firmware-image`) booted by OVMF in a
    /// second VM on the guest's socketpair; it answers DHCP itself. The scenario's
    /// `appliance_args` are extra `appliance.conf` lines.
    FirmwareVm(FirmwareAppliance),
    /// The same bridge with dnsmasq as the site's DHCP server, addresses only (no boot
    /// options at all), and the appliance beside it with `--proxy-dhcp`. Needs root.
    ProxyDhcp,
}

impl Network {
    /// Whether the scenario runs in a network namespace of its own.
    pub fn in_namespace(self) -> bool {
        !matches!(self, Network::Socketpair | Network::FirmwareVm(_))
    }
}

/// The firmware appliance's VM: the inventory on its image, and its NICs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FirmwareAppliance {
    pub inventory: FirmwareInventory,
    /// A second NIC, unwired, comes first on the PCI bus: the appliance must pick the one
    /// `nic_mac` names rather than the first it finds.
    pub decoy_nic_first: bool,
}

impl FirmwareAppliance {
    /// The fixture inventory, one NIC.
    pub const FIXTURE: Self = FirmwareAppliance { inventory: FirmwareInventory::Fixture, decoy_nic_first: false };
}

/// The inventory on the firmware image's ESP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirmwareInventory {
    /// `fixtures/inventory.json` as it is.
    Fixture,
    /// The fixture with its second node renamed to the first's UUID: the load fails,
    /// naming that node and the `uuid` field.
    Broken,
}

/// The UUID [`FirmwareInventory::Broken`] gives a second node.
pub const DUPLICATED_NODE: &str = "00000001-0000-4000-8000-000000000001";

#[derive(Clone, Copy, Debug)]
pub struct Scenario {
    pub name: &'static str,
    pub firmware: Firmware,
    /// The guest's NICs; the first is wired to the appliance.
    pub macs: &'static [&'static str],
    /// Extra appliance arguments.
    pub appliance_args: &'static [&'static str],
    pub expect: Expect,
    /// A log line the appliance must print (the lookup kind, say).
    pub appliance_log: Option<&'static str>,
    pub network: Network,
}

/// The node the lifecycle scenario deploys, then turns active.
pub const LIFECYCLE_NODE: &str = "0000000a-0000-4000-8000-00000000000a";

/// Error scripts pause 1 s here instead of 10: the text is on the console either way.
const FAST_ERRORS: &[&str] = &["--error-pause", "1"];
/// The same for the firmware appliance, as an `appliance.conf` line.
const FIRMWARE_FAST_ERRORS: &[&str] = &["error_pause = 1"];

pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "deploy-mac",
        firmware: Firmware::Bios,
        macs: &["52:54:00:00:00:01"],
        appliance_args: &["--dhcp-script-key", "port-address"],
        expect: Expect::Initrd {
            tag: Tag::Deploy,
            cmdline: &["BOOTIF=52:54:00:00:00:01", "ipxe-config-node=deploy-mac", "console=ttyS0", "panic=-1"],
        },
        network: Network::Socketpair,
        appliance_log: Some("lookup=mac"),
    },
    Scenario {
        name: "deploy-uuid",
        firmware: Firmware::Bios,
        macs: &["52:54:00:00:00:02"],
        appliance_args: &[],
        expect: Expect::Initrd {
            tag: Tag::Deploy,
            cmdline: &["BOOTIF=52:54:00:00:00:02", "ipxe-config-node=deploy-uuid"],
        },
        network: Network::Socketpair,
        appliance_log: Some("lookup=uuid"),
    },
    // Ironic 39 has no netboot, so an active partition image boots from disk (the
    // active-local scenario proves that); the instance kernel that still boots over the
    // network is a ramdisk deploy's, with instance_info's parameters.
    Scenario {
        name: "active-ramdisk",
        firmware: Firmware::Bios,
        macs: &["52:54:00:00:00:0b"],
        appliance_args: &[],
        expect: Expect::Initrd {
            tag: Tag::Instance,
            cmdline: &["root=/dev/ram0", "ipxe-config-node=active-ramdisk", "initrd=ramdisk"],
        },
        network: Network::Socketpair,
        appliance_log: Some("script=instance-ramdisk"),
    },
    Scenario {
        name: "active-local",
        firmware: Firmware::Bios,
        macs: &["52:54:00:00:00:04"],
        appliance_args: &[],
        expect: Expect::LocalDisk,
        network: Network::Socketpair,
        appliance_log: Some("script=local-disk"),
    },
    Scenario {
        name: "rescue",
        firmware: Firmware::Bios,
        macs: &["52:54:00:00:00:05"],
        appliance_args: &[],
        expect: Expect::Initrd { tag: Tag::Rescue, cmdline: &["BOOTIF=52:54:00:00:00:05", "ipxe-config-node=rescue"] },
        network: Network::Socketpair,
        appliance_log: Some("script=rescue"),
    },
    Scenario {
        name: "error-state",
        firmware: Firmware::Bios,
        macs: &["52:54:00:00:00:06"],
        appliance_args: FAST_ERRORS,
        expect: Expect::Console(&[
            "The node is in provision state available, which has nothing to boot.",
            "node: 00000006-0000-4000-8000-000000000006",
        ]),
        network: Network::Socketpair,
        appliance_log: Some("script=error"),
    },
    Scenario {
        name: "unknown-mac",
        firmware: Firmware::Bios,
        macs: &["52:54:00:00:00:77"],
        appliance_args: FAST_ERRORS,
        expect: Expect::Console(&["No node has a PXE-enabled port with MAC 52:54:00:00:00:77."]),
        network: Network::Socketpair,
        appliance_log: Some("script=error"),
    },
    Scenario {
        name: "chain-multi-nic",
        firmware: Firmware::Bios,
        macs: &["52:54:00:00:00:07", "52:54:00:00:00:08"],
        appliance_args: &["--unknown-mac-chain"],
        expect: Expect::Initrd { tag: Tag::Deploy, cmdline: &["ipxe-config-node=chain-multi-nic"] },
        network: Network::Socketpair,
        appliance_log: Some("lookup=chain"),
    },
    Scenario {
        name: "chain-local-disk",
        firmware: Firmware::Bios,
        // Unknown, the active-local node (BIOS, whole disk), unknown.
        macs: &["52:54:00:00:00:71", "52:54:00:00:00:04", "52:54:00:00:00:72"],
        appliance_args: &["--unknown-mac-chain"],
        expect: Expect::ChainReturnsToFirmware { unasked: &["52:54:00:00:00:72"] },
        network: Network::Socketpair,
        appliance_log: Some("script=local-disk"),
    },
    Scenario {
        name: "deploy-uefi",
        firmware: Firmware::Uefi,
        macs: &["52:54:00:00:00:09"],
        appliance_args: &[],
        expect: Expect::Initrd {
            tag: Tag::Deploy,
            cmdline: &["BOOTIF=52:54:00:00:00:09", "ipxe-config-node=deploy-uefi", "initrd=deploy_ramdisk"],
        },
        network: Network::Socketpair,
        appliance_log: Some("lookup=uuid"),
    },
    // OVMF's own PXE client (no iPXE ROM): DHCP and TFTP of snponly.efi from the
    // appliance, then that iPXE DHCPs again and fetches the node's script.
    Scenario {
        name: "uefi-pxe",
        firmware: Firmware::UefiPxe,
        macs: &["52:54:00:00:00:09"],
        appliance_args: &[],
        expect: Expect::Initrd {
            tag: Tag::Deploy,
            cmdline: &["BOOTIF=52:54:00:00:00:09", "ipxe-config-node=deploy-uefi", "initrd=deploy_ramdisk"],
        },
        network: Network::Socketpair,
        appliance_log: Some("tftp sent"),
    },
    // OVMF's UEFI HTTP Boot (PXE off): snponly.efi over HTTP from the appliance.
    Scenario {
        name: "uefi-http-boot",
        firmware: Firmware::UefiHttpBoot,
        macs: &["52:54:00:00:00:09"],
        appliance_args: &[],
        expect: Expect::Initrd {
            tag: Tag::Deploy,
            cmdline: &["BOOTIF=52:54:00:00:00:09", "ipxe-config-node=deploy-uefi", "initrd=deploy_ramdisk"],
        },
        network: Network::Socketpair,
        appliance_log: Some("firmware=http-boot arch=16 file=http://10.99.0.1/snponly.efi"),
    },
    Scenario {
        name: "lifecycle",
        firmware: Firmware::Bios,
        macs: &["52:54:00:00:00:0a"],
        appliance_args: &[],
        expect: Expect::DeployThenLocalDisk,
        network: Network::Socketpair,
        appliance_log: Some("script=local-disk"),
    },
    // ProxyDHCP next to a site DHCP server that knows nothing of booting: a BIOS
    // machine's iPXE ROM, then OVMF's own PXE client, get their boot information from
    // the appliance (ports 67 and 4011) and their addresses from dnsmasq.
    Scenario {
        name: "proxy-dhcp",
        firmware: Firmware::Bios,
        macs: &["52:54:00:00:00:0f"],
        appliance_args: &["--proxy-dhcp"],
        expect: Expect::Initrd {
            tag: Tag::Deploy,
            cmdline: &["BOOTIF=52:54:00:00:00:0f", "ipxe-config-node=dnsmasq-chain"],
        },
        network: Network::ProxyDhcp,
        appliance_log: Some("dhcp proxy-offer mac=52:54:00:00:00:0f to=255.255.255.255 client=ipxe"),
    },
    Scenario {
        name: "proxy-dhcp-uefi-pxe",
        firmware: Firmware::UefiPxe,
        macs: &["52:54:00:00:00:09"],
        appliance_args: &["--proxy-dhcp"],
        expect: Expect::Initrd {
            tag: Tag::Deploy,
            cmdline: &["BOOTIF=52:54:00:00:00:09", "ipxe-config-node=deploy-uefi", "initrd=deploy_ramdisk"],
        },
        network: Network::ProxyDhcp,
        appliance_log: Some("dhcp proxy-ack mac=52:54:00:00:00:09"),
    },
    Scenario {
        name: "ironic-live",
        firmware: Firmware::Bios,
        macs: &[super::ironic_live::MAC],
        appliance_args: &[],
        expect: Expect::IronicLive,
        network: Network::Socketpair,
        // Checked by ironic_live itself, for the boot during the outage.
        appliance_log: None,
    },
    Scenario {
        name: "dnsmasq-chain",
        firmware: Firmware::Bios,
        macs: &["52:54:00:00:00:0f"],
        appliance_args: &[],
        expect: Expect::Initrd {
            tag: Tag::Deploy,
            cmdline: &["BOOTIF=52:54:00:00:00:0f", "ipxe-config-node=dnsmasq-chain"],
        },
        network: Network::DnsmasqBridge,
        appliance_log: Some("lookup=mac"),
    },
    // The appliance as a UEFI application in its own VM (OVMF, VirtioNetDxe's SNP), the
    // client a second VM on the same socketpair.
    Scenario {
        name: "firmware-deploy",
        firmware: Firmware::Bios,
        macs: &["52:54:00:00:00:01"],
        appliance_args: &["dhcp_script_key = port-address"],
        expect: Expect::Initrd {
            tag: Tag::Deploy,
            cmdline: &["BOOTIF=52:54:00:00:00:01", "ipxe-config-node=deploy-mac", "console=ttyS0"],
        },
        network: Network::FirmwareVm(FirmwareAppliance::FIXTURE),
        appliance_log: Some("lookup=mac"),
    },
    Scenario {
        name: "firmware-active-local",
        firmware: Firmware::Bios,
        macs: &["52:54:00:00:00:04"],
        appliance_args: &[],
        expect: Expect::LocalDisk,
        network: Network::FirmwareVm(FirmwareAppliance::FIXTURE),
        appliance_log: Some("script=local-disk"),
    },
    // A machine with two NICs, the unwired one first: `nic_mac` picks the wired one.
    Scenario {
        name: "firmware-nic-choice",
        firmware: Firmware::Bios,
        macs: &["52:54:00:00:00:04"],
        appliance_args: &["nic_mac = 52:54:00:99:00:01"],
        expect: Expect::LocalDisk,
        network: Network::FirmwareVm(FirmwareAppliance { inventory: FirmwareInventory::Fixture, decoy_nic_first: true }),
        appliance_log: Some("nic mac=52:54:00:99:00:01 "),
    },
    // A broken inventory: the appliance's console names the node and field, and it goes
    // on serving, so the node is told it is unknown rather than timing out.
    Scenario {
        name: "firmware-error",
        firmware: Firmware::Bios,
        macs: &["52:54:00:00:00:06"],
        appliance_args: FIRMWARE_FAST_ERRORS,
        expect: Expect::Console(&["No node has a PXE-enabled port with MAC 52:54:00:00:00:06."]),
        network: Network::FirmwareVm(FirmwareAppliance { inventory: FirmwareInventory::Broken, decoy_nic_first: false }),
        appliance_log: Some(
            "inventory \\ipxe-config\\inventory.json: node 00000001-0000-4000-8000-000000000001: uuid: a second node has this uuid",
        ),
    },
    Scenario {
        name: "firmware-uefi-client",
        firmware: Firmware::Uefi,
        macs: &["52:54:00:00:00:09"],
        appliance_args: &[],
        expect: Expect::Initrd {
            tag: Tag::Deploy,
            cmdline: &["BOOTIF=52:54:00:00:00:09", "ipxe-config-node=deploy-uefi", "initrd=deploy_ramdisk"],
        },
        network: Network::FirmwareVm(FirmwareAppliance::FIXTURE),
        appliance_log: Some("lookup=uuid"),
    },
    // OVMF's own PXE client (no iPXE ROM) against the firmware appliance: its DHCP names
    // snponly.efi for arch 7, its TFTP server sends it from the image's artifacts, and
    // that iPXE then DHCPs again and fetches the node's script.
    Scenario {
        name: "firmware-uefi-pxe",
        firmware: Firmware::UefiPxe,
        macs: &["52:54:00:00:00:09"],
        appliance_args: &[],
        expect: Expect::Initrd {
            tag: Tag::Deploy,
            cmdline: &["BOOTIF=52:54:00:00:00:09", "ipxe-config-node=deploy-uefi", "initrd=deploy_ramdisk"],
        },
        network: Network::FirmwareVm(FirmwareAppliance::FIXTURE),
        appliance_log: Some("tftp sent client=10.99.0."),
    },
    // OVMF's UEFI HTTP Boot (PXE off) against the firmware appliance: snponly.efi over
    // HTTP from the image's artifacts.
    Scenario {
        name: "firmware-uefi-http-boot",
        firmware: Firmware::UefiHttpBoot,
        macs: &["52:54:00:00:00:09"],
        appliance_args: &[],
        expect: Expect::Initrd {
            tag: Tag::Deploy,
            cmdline: &["BOOTIF=52:54:00:00:00:09", "ipxe-config-node=deploy-uefi", "initrd=deploy_ramdisk"],
        },
        network: Network::FirmwareVm(FirmwareAppliance::FIXTURE),
        appliance_log: Some("firmware=http-boot arch=16 file=http://10.99.0.1/snponly.efi"),
    },
    // No NIC at all: the appliance says what it looked for and stops, cleanly.
    Scenario {
        name: "firmware-no-nic",
        firmware: Firmware::Uefi,
        macs: &[],
        appliance_args: &[],
        expect: Expect::ApplianceConsole(&[
            "ERROR no network interface: no handle has the Simple Network Protocol (EFI_SIMPLE_NETWORK_PROTOCOL)",
            "ERROR not serving; restart the machine once this is fixed",
        ]),
        network: Network::FirmwareVm(FirmwareAppliance::FIXTURE),
        appliance_log: None,
    },
    // `nic_mac` names a NIC the machine does not have: the console lists those it has.
    Scenario {
        name: "firmware-nic-missing",
        firmware: Firmware::Uefi,
        macs: &[],
        appliance_args: &["nic_mac = 52:54:00:99:00:09"],
        expect: Expect::ApplianceConsole(&[
            "ERROR no network interface has mac=52:54:00:99:00:09 (nic_mac in appliance.conf); the NICs found: 52:54:00:99:00:02",
            "ERROR not serving; restart the machine once this is fixed",
        ]),
        network: Network::FirmwareVm(FirmwareAppliance { inventory: FirmwareInventory::Fixture, decoy_nic_first: true }),
        appliance_log: None,
    },
];
