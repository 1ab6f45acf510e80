//! The local-disk stand-in: a one-sector disk whose boot code says "you booted from the
//! local disk" on COM1 and then ends QEMU.
//!
//! Nodes that are `active` with a whole-disk image are told by their script to boot
//! from the local disk (`sanboot --drive 0x80` on BIOS). Installing a real OS would be
//! slow and prove nothing more, so the disk holds 512 bytes of hand-assembled 16-bit
//! code: the BIOS loads it at 0000:7C00 and jumps to it; it writes [`MARKER`] to the
//! serial port and then writes 0x10 to QEMU's `isa-debug-exit` device
//! (`-device isa-debug-exit,iobase=0xf4,iosize=0x04`), which makes QEMU exit with
//! status `(0x10 << 1) | 1` = [`EXIT_STATUS`]. That status cannot come from a normal
//! power-off (0) or a crash, so a scenario knows exactly where the boot ended.

/// Written to COM1 by the boot sector.
pub const MARKER: &str = "IPXE-CONFIG-LOCAL-DISK";
/// QEMU's exit status after the boot sector writes to the debug-exit port.
pub const EXIT_STATUS: i32 = (DEBUG_EXIT_VALUE << 1) | 1;

/// The byte written to the debug-exit port.
const DEBUG_EXIT_VALUE: i32 = 0x10;
/// Where the BIOS loads a boot sector.
const LOAD_ADDRESS: u16 = 0x7C00;
/// The boot code; the two bytes at [`MESSAGE_ADDRESS_AT`] are filled in by [`image`]
/// with the address of the message that follows the code.
///
/// ```text
/// 7C00  FA           cli                 ; no interrupts: nothing here handles them
/// 7C01  FC           cld                 ; lodsb counts upwards
/// 7C02  31 C0        xor  ax, ax
/// 7C04  8E D8        mov  ds, ax         ; ds = 0, so [si] is a linear address
/// 7C06  BE lo hi     mov  si, message
/// 7C09  AC     next: lodsb               ; al = [si++]
/// 7C0A  84 C0        test al, al
/// 7C0C  74 12        jz   done           ; NUL ends the message (7C0E + 12 = 7C20)
/// 7C0E  88 C4        mov  ah, al         ; keep the character while polling
/// 7C10  BA FD 03     mov  dx, 0x3FD      ; COM1 line status register
/// 7C13  EC     wait: in   al, dx
/// 7C14  A8 20        test al, 0x20       ; transmit holding register empty?
/// 7C16  74 FB        jz   wait           ; (7C18 - 5 = 7C13)
/// 7C18  88 E0        mov  al, ah
/// 7C1A  BA F8 03     mov  dx, 0x3F8      ; COM1 data register
/// 7C1D  EE           out  dx, al
/// 7C1E  EB E9        jmp  next           ; (7C20 - 0x17 = 7C09)
/// 7C20  B0 10  done: mov  al, 0x10       ; DEBUG_EXIT_VALUE
/// 7C22  E6 F4        out  0xF4, al       ; isa-debug-exit: QEMU exits with 33
/// 7C24  F4     halt: hlt                 ; only reached without isa-debug-exit
/// 7C25  EB FD        jmp  halt           ; (7C27 - 3 = 7C24)
/// 7C27               message: CR LF MARKER CR LF NUL
/// ```
///
/// Polling the line status costs nothing under QEMU and keeps the code correct on a
/// UART that is still busy with the BIOS's own output.
const CODE: [u8; 0x27] = [
    0xFA, // cli
    0xFC, // cld
    0x31, 0xC0, // xor ax, ax
    0x8E, 0xD8, // mov ds, ax
    0xBE, 0x00, 0x00, // mov si, message (patched)
    0xAC, // next: lodsb
    0x84, 0xC0, // test al, al
    0x74, 0x12, // jz done
    0x88, 0xC4, // mov ah, al
    0xBA, 0xFD, 0x03, // mov dx, 0x3FD
    0xEC, // wait: in al, dx
    0xA8, 0x20, // test al, 0x20
    0x74, 0xFB, // jz wait
    0x88, 0xE0, // mov al, ah
    0xBA, 0xF8, 0x03, // mov dx, 0x3F8
    0xEE, // out dx, al
    0xEB, 0xE9, // jmp next
    0xB0, 0x10, // done: mov al, 0x10
    0xE6, 0xF4, // out 0xF4, al
    0xF4, // halt: hlt
    0xEB, 0xFD, // jmp halt
];
/// Offset in [`CODE`] of the 16-bit immediate of `mov si, message`.
const MESSAGE_ADDRESS_AT: usize = 7;

/// The 512-byte disk image: code, message, zeros, and the 0x55 0xAA boot signature the
/// BIOS checks before it will jump to a boot sector.
pub fn image() -> Vec<u8> {
    let mut sector = vec![0u8; 512];
    sector[..CODE.len()].copy_from_slice(&CODE);
    let message_offset = CODE.len();
    // CODE is 0x27 bytes long, so this is 0x7C27 and cannot overflow.
    let message_address = LOAD_ADDRESS + message_offset as u16;
    sector[MESSAGE_ADDRESS_AT..MESSAGE_ADDRESS_AT + 2].copy_from_slice(&message_address.to_le_bytes());
    let message = format!("\r\n{MARKER}\r\n\0");
    sector[message_offset..message_offset + message.len()].copy_from_slice(message.as_bytes());
    // The partition table (0x1BE..0x1FE) stays empty: nothing reads it.
    sector[510] = 0x55;
    sector[511] = 0xAA;
    sector
}

/// Bytes of a 3.5" 1.44 MB floppy; QEMU picks the drive geometry from the image size.
const FLOPPY_BYTES: usize = 1_474_560;

/// A 1.44 MB floppy whose boot sector is [`image`]: the BIOS loads a floppy's first sector
/// the way it loads a disk's, so the same code reports [`MARKER`] from a boot device that
/// comes after the hard disk (SeaBIOS boots only one hard disk, drive 0x80).
pub fn floppy_image() -> Vec<u8> {
    let mut floppy = image();
    floppy.resize(FLOPPY_BYTES, 0);
    floppy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floppy_starts_with_the_boot_sector() {
        let floppy = floppy_image();
        assert_eq!(floppy.len(), FLOPPY_BYTES);
        assert_eq!(&floppy[..512], image().as_slice());
    }

    #[test]
    fn sector_has_boot_signature() {
        let sector = image();
        assert_eq!(sector.len(), 512);
        assert_eq!(&sector[510..], &[0x55, 0xAA]);
    }

    #[test]
    fn message_pointer_points_at_nul_terminated_marker() {
        let sector = image();
        let address = u16::from_le_bytes([sector[MESSAGE_ADDRESS_AT], sector[MESSAGE_ADDRESS_AT + 1]]);
        let offset = usize::from(address - LOAD_ADDRESS);
        assert_eq!(offset, CODE.len());
        let expected = format!("\r\n{MARKER}\r\n\0");
        assert_eq!(&sector[offset..offset + expected.len()], expected.as_bytes());
        assert!(offset + expected.len() <= 0x1BE, "message runs into the partition table");
    }

    #[test]
    fn exit_status_matches_qemu_formula() {
        assert_eq!(EXIT_STATUS, 33);
        assert_eq!(i32::from(CODE[0x21]), DEBUG_EXIT_VALUE); // mov al, 0x10
        assert_eq!(CODE[0x23], 0xF4); // out 0xF4, al
    }

    /// The relative jumps documented in CODE land where the listing says.
    #[test]
    fn jump_targets_match_listing() {
        let target = |at: usize| (at as i64 + 2 + i64::from(CODE[at + 1] as i8)) as usize;
        assert_eq!(target(0x0C), 0x20); // jz done
        assert_eq!(target(0x16), 0x13); // jz wait
        assert_eq!(target(0x1E), 0x09); // jmp next
        assert_eq!(target(0x25), 0x24); // jmp halt
        assert_eq!(CODE[0x09], 0xAC); // next: lodsb
        assert_eq!(CODE[0x13], 0xEC); // wait: in al, dx
        assert_eq!(CODE[0x20], 0xB0); // done: mov al, …
        assert_eq!(CODE[0x24], 0xF4); // halt: hlt
    }
}
