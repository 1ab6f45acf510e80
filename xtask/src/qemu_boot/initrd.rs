//! The test initrds: a static busybox and an `/init` that reports which ramdisk booted
//! and with which kernel command line, then ends the guest.
//!
//! The boot scenarios cannot look inside the guest, so the guest says what it is on the
//! serial console: `IPXE-CONFIG-TAG=<tag>` names the ramdisk iPXE loaded (deploy,
//! instance or rescue, per the node's provision state), and `CMDLINE=<…>` carries
//! `/proc/cmdline`, so a test can check the `BOOTIF=`, `initrd=` and append parameters
//! the rendered script put on the kernel line.

use super::cpio::NewcArchive;

/// Which ramdisk this is; each provision-state family boots a different one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tag {
    /// The deploy ramdisk (deploying, cleaning, inspecting, servicing …).
    Deploy,
    /// The instance's own kernel and ramdisk (active nodes booted from the network).
    Instance,
    /// The rescue ramdisk.
    Rescue,
}

impl Tag {
    /// Every tag, for building them all.
    pub const ALL: [Tag; 3] = [Tag::Deploy, Tag::Instance, Tag::Rescue];

    /// The word printed after `IPXE-CONFIG-TAG=` and used in file names.
    pub fn as_str(self) -> &'static str {
        match self {
            Tag::Deploy => "deploy",
            Tag::Instance => "instance",
            Tag::Rescue => "rescue",
        }
    }

    /// The console line that proves this ramdisk's `/init` ran.
    pub fn console_line(self) -> String {
        format!("{TAG_PREFIX}{}", self.as_str())
    }
}

/// What `/init` does once it has reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// `poweroff -f`: with `-no-reboot`, QEMU exits 0, which ends a one-boot scenario.
    PowerOff,
    /// Pause, then `reboot -f`, so the guest comes back to the firmware and iPXE asks
    /// for its script again: the lifecycle test uses the pause to change the node's
    /// provision state before the next request.
    RebootAfterPause,
}

impl Ending {
    /// Both endings, for building every variant.
    pub const ALL: [Ending; 2] = [Ending::PowerOff, Ending::RebootAfterPause];
}

/// Printed before the tag; a test looks for `IPXE-CONFIG-TAG=deploy` and the like.
pub const TAG_PREFIX: &str = "IPXE-CONFIG-TAG=";
/// Printed before the contents of `/proc/cmdline`.
pub const CMDLINE_PREFIX: &str = "CMDLINE=";
/// Printed by the reboot variant just before it reboots.
pub const REBOOTING_LINE: &str = "IPXE-CONFIG-REBOOTING";
/// Seconds the reboot variant waits between reporting and rebooting.
pub const REBOOT_PAUSE_SECONDS: u32 = 3;

/// The `/init` shell script for one tag and ending.
pub fn init_script(tag: Tag, ending: Ending) -> String {
    // Applets are called through /bin/busybox explicitly: the archive has no applet
    // links, and whether `sh` finds applets by itself depends on busybox's build.
    let mut script = format!(
        "#!/bin/busybox sh\n\
         # ipxe-config qemu-boot test initrd ({tag})\n\
         /bin/busybox mount -t proc proc /proc\n\
         # Keep kernel messages from landing in the middle of the report lines.\n\
         echo 1 > /proc/sys/kernel/printk\n\
         echo\n\
         echo \"{TAG_PREFIX}{tag}\"\n\
         echo \"{CMDLINE_PREFIX}$(/bin/busybox cat /proc/cmdline)\"\n",
        tag = tag.as_str(),
    );
    match ending {
        Ending::PowerOff => script.push_str("/bin/busybox poweroff -f\n"),
        Ending::RebootAfterPause => script.push_str(&format!(
            "/bin/busybox sleep {REBOOT_PAUSE_SECONDS}\n\
             echo \"{REBOOTING_LINE}\"\n\
             /bin/busybox reboot -f\n"
        )),
    }
    // If poweroff or reboot ever returned, init exiting would panic the kernel and
    // leave QEMU running until the scenario's deadline; sleeping says so more plainly.
    script.push_str("echo 'IPXE-CONFIG-INIT-STUCK'\nwhile :; do /bin/busybox sleep 60; done\n");
    script
}

/// The whole initrd: directories, `/dev/console`, busybox and `/init`.
pub fn build(tag: Tag, ending: Ending, busybox: &[u8]) -> Result<Vec<u8>, String> {
    let mut archive = NewcArchive::new();
    for dir in ["bin", "dev", "proc", "sys"] {
        archive.directory(dir, 0o755)?;
    }
    // The kernel opens /dev/console for init's stdin/stdout/stderr before running it;
    // without the node, /init's output goes nowhere. (5, 1) is the console device.
    archive.char_device("dev/console", 0o600, 5, 1)?;
    archive.file("bin/busybox", 0o755, busybox)?;
    archive.file("init", 0o755, init_script(tag, ending).as_bytes())?;
    archive.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_off_script_reports_then_powers_off() {
        let script = init_script(Tag::Rescue, Ending::PowerOff);
        assert!(script.starts_with("#!/bin/busybox sh\n"));
        assert!(script.contains("echo \"IPXE-CONFIG-TAG=rescue\"\n"));
        assert!(script.contains("CMDLINE=$(/bin/busybox cat /proc/cmdline)"));
        assert!(script.contains("poweroff -f"));
        assert!(!script.contains("reboot"));
    }

    #[test]
    fn reboot_script_pauses_then_reboots() {
        let script = init_script(Tag::Deploy, Ending::RebootAfterPause);
        let tag = script.find("IPXE-CONFIG-TAG=deploy").expect("tag line");
        let pause = script.find("sleep 3").expect("pause");
        let reboot = script.find("reboot -f").expect("reboot");
        assert!(tag < pause && pause < reboot);
        assert!(!script.contains("poweroff"));
    }

    #[test]
    fn archive_holds_init_and_busybox() -> Result<(), String> {
        let archive = build(Tag::Instance, Ending::PowerOff, b"\x7fELF fake busybox")?;
        let has = |needle: &[u8]| archive.windows(needle.len()).any(|window| window == needle);
        assert!(has(b"bin/busybox\0"));
        assert!(has(b"dev/console\0"));
        assert!(has(b"\x7fELF fake busybox"));
        assert!(has(b"IPXE-CONFIG-TAG=instance"));
        Ok(())
    }
}
