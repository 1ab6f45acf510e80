//! Reading a guest's serial console as plain text.
//!
//! SeaBIOS mirrors screen output to COM1 with ANSI cursor and colour sequences (iPXE
//! draws its banner and progress with them), and lines end in CR LF. Tests match
//! plain strings, so escape sequences and carriage returns are removed and backspaces
//! applied; everything else is kept, including the 80-column hard wraps iPXE's own text has.

use std::path::Path;

/// The console log as text, with escape sequences and control characters other than
/// newline and tab removed. A log not yet created reads as empty: QEMU creates it only
/// once it has started.
pub fn read_text(path: &Path) -> Result<String, String> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(strip_escapes(&bytes)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(error) => Err(format!("cannot read console log {}: {error}", path.display())),
    }
}

/// Removes ANSI/VT100 escape sequences, applies backspaces, and drops CR and the other
/// C0 controls except `\n` and `\t`.
pub fn strip_escapes(bytes: &[u8]) -> String {
    const ESC: u8 = 0x1B;
    const BEL: u8 = 0x07;
    const BACKSPACE: u8 = 0x08;
    let mut kept = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        at += 1;
        if byte == ESC {
            match bytes.get(at) {
                // CSI: ESC [ parameters (0x30–0x3F) intermediates (0x20–0x2F) final (0x40–0x7E).
                Some(b'[') => {
                    at += 1;
                    while at < bytes.len() && !(0x40..=0x7E).contains(&bytes[at]) {
                        at += 1;
                    }
                    at += 1;
                }
                // OSC: ESC ] … ended by BEL or ESC \.
                Some(b']') => {
                    at += 1;
                    while at < bytes.len() && bytes[at] != BEL && bytes[at] != ESC {
                        at += 1;
                    }
                    at += if bytes.get(at) == Some(&ESC) { 2 } else { 1 };
                }
                // Character-set selection: ESC ( B and the like.
                Some(b'(' | b')') => at += 2,
                // Any other two-byte sequence (ESC c, ESC 7, …).
                Some(_) => at += 1,
                None => {}
            }
        } else if byte == BACKSPACE {
            // iPXE erases its "Press Ctrl-B" prompt with BS SP BS; apply it as a
            // terminal would, within the current line, so the text reads as on screen.
            if kept.last().is_some_and(|last| *last != b'\n') {
                // Drop a whole UTF-8 character: continuation bytes, then its lead byte.
                while let Some(popped) = kept.pop() {
                    if popped & 0xC0 != 0x80 {
                        break;
                    }
                }
            }
        } else if byte == b'\n' || byte == b'\t' || byte >= 0x20 {
            kept.push(byte);
        }
    }
    String::from_utf8_lossy(&kept).into_owned()
}

/// The last `count` lines of `text`, for error messages.
pub fn tail(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_csi_osc_charset_and_cr() {
        let raw = b"\x1b[2J\x1b[1;1H\x1b[?25liPXE\x1b[0m ok\r\n\x1b]0;title\x07\x1b(Bnext\x1bc line\r\n";
        assert_eq!(strip_escapes(raw), "iPXE ok\nnext line\n");
    }

    #[test]
    fn backspaces_erase_within_the_line() {
        let raw = b"Press Ctrl-B...\x08 \x08\x08 \x08\x08 \x08net0\n\x08x\xc3\xa9\x08y";
        assert_eq!(strip_escapes(raw), "Press Ctrl-Bnet0\nxy");
    }

    #[test]
    fn truncated_sequence_at_end_is_dropped() {
        assert_eq!(strip_escapes(b"text\x1b[1;"), "text");
        assert_eq!(strip_escapes(b"text\x1b"), "text");
    }

    #[test]
    fn tail_keeps_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
    }
}
