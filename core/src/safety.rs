//! What a value may contain before it is written into an iPXE script.
//!
//! iPXE splits a script line into whitespace-separated tokens, treats the tokens `||`,
//! `&&` and `;` as command separators, a token starting with `#` as a comment, expands
//! `${…}` from its settings anywhere in a line, and ends a command at a line break; a
//! line ending in `\` continues on the next. A value carrying any of these could add,
//! drop or reorder commands (the class of bug behind Ironic's script injection
//! advisories), so the loader rejects it and the renderer checks again. A URL also stands
//! where iPXE's commands still read options (`kernel <url> …`), so it may not start with `-`.
//!
//! Quotes in kernel parameters (`dyndbg="file drivers/net/* +p"`, which Ironic passes on)
//! are accepted in [`ValueKind::Words`] values, because iPXE has no quoting: `split_command`
//! in `src/core/exec.c` splits at `isspace` and nothing else, the same in the Debian build
//! (1.0.0+git-20190125.36a4c85) and in current iPXE (checked at 0ab2277c4), and
//! `expand_settings` (`src/core/settings.c`) only looks for `${`. So `dyndbg="file`,
//! `drivers/net/*` and `+p"` are three ordinary words, each checked here for `||`, `&&`,
//! `;`, `#…` and `${` like any other, and `kernel` joins its words back with single spaces
//! (`concat_args`, `src/hci/commands/image_cmd.c`) into the command line Linux then parses,
//! quotes included (a run of spaces inside the quotes becomes one). A backslash is ordinary
//! too except at the end of a script line, where `process_script` (`src/image/script.c`)
//! joins the next line to it: a word ending in `\` is refused wherever it stands, so no
//! value can end a line with one. Single-token values (URLs, names) still refuse quotes
//! and backslashes: none needs them.

use core::fmt;

/// Where a value goes in a script, which decides whether spaces are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// A single token: URLs, UUIDs, names. No whitespace at all.
    Token,
    /// Space-separated words: kernel parameters, provision states.
    Words,
}

/// Why a value would change a script's commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnsafeValue {
    /// CR or LF: would end the command and start another.
    LineBreak,
    /// A NUL byte.
    Nul,
    /// Another control character (tab, escape, DEL, …).
    ControlCharacter,
    /// `${`: iPXE would expand a setting here.
    SettingExpansion,
    /// A `||`, `&&` or `;` token: a command separator.
    CommandSeparator,
    /// A token starting with `#`: iPXE would drop the rest of the line.
    Comment,
    /// A quote or backslash in a single-token value, or a word ending in a backslash
    /// (iPXE joins the next line to a line ending in one).
    Quoting,
    /// Whitespace inside a single-token value such as a URL.
    Whitespace,
    /// A single-token value starting with `-`: URLs stand where iPXE's commands still read
    /// options (`kernel -x …`, `initrd --name n -x`), so it would be taken for one.
    OptionLike,
    /// The empty string.
    Empty,
}

impl fmt::Display for UnsafeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::LineBreak => "contains a line break",
            Self::Nul => "contains a NUL byte",
            Self::ControlCharacter => "contains a control character",
            Self::SettingExpansion => "contains `${`, which iPXE would expand",
            Self::CommandSeparator => "contains a command separator (`||`, `&&` or `;`)",
            Self::Comment => "contains a word starting with `#`, which iPXE reads as a comment",
            Self::Quoting => {
                "contains a quote or backslash where iPXE would misread it (in a URL or name, or ending a word)"
            }
            Self::Whitespace => "contains whitespace",
            Self::OptionLike => "starts with `-`, which iPXE would read as an option",
            Self::Empty => "is empty",
        })
    }
}

impl core::error::Error for UnsafeValue {}

/// Checks that `value` can be written into a script as `kind` without changing its commands.
///
/// ```
/// use ipxe_config::safety::{check, UnsafeValue, ValueKind};
/// assert_eq!(check("console=ttyS0 quiet", ValueKind::Words), Ok(()));
/// assert_eq!(check("x || shell", ValueKind::Words), Err(UnsafeValue::CommandSeparator));
/// assert_eq!(check("http://a/b c", ValueKind::Token), Err(UnsafeValue::Whitespace));
/// ```
pub fn check(value: &str, kind: ValueKind) -> Result<(), UnsafeValue> {
    // This runs for every value of every rendered script. Nearly every byte of a real
    // value is ordinary, so the scan skips ahead with one table lookup per byte and only
    // the rare bytes that can matter are looked at closely; Unicode checks are deferred.
    let bytes = value.as_bytes();
    if bytes.is_empty() {
        return Err(UnsafeValue::Empty);
    }
    let mut expansion = false;
    let mut word_problem = None;
    let mut non_ascii = false;
    let mut position = 0;
    while let Some(offset) = bytes.get(position..).and_then(|rest| rest.iter().position(|&b| NOTABLE[usize::from(b)])) {
        let at = position + offset;
        position = at + 1;
        let Some(&byte) = bytes.get(at) else { break };
        let word_start = at == 0 || bytes.get(at - 1) == Some(&b' ');
        match byte {
            b'\r' | b'\n' => return Err(UnsafeValue::LineBreak),
            0 => return Err(UnsafeValue::Nul),
            b' ' if kind == ValueKind::Token => return Err(UnsafeValue::Whitespace),
            b'"' | b'\'' | b'\\' if kind == ValueKind::Token => return Err(UnsafeValue::Quoting),
            b'\\' if matches!(bytes.get(at + 1), None | Some(b' ')) => return Err(UnsafeValue::Quoting),
            0x01..=0x1f | 0x7f => return Err(UnsafeValue::ControlCharacter),
            b'{' if at > 0 && bytes.get(at - 1) == Some(&b'$') => expansion = true,
            b'|' | b'&' | b';' | b'#' if word_start && word_problem.is_none() => {
                let word = bytes.get(at..).unwrap_or_default();
                let end = word.iter().position(|&b| b == b' ').unwrap_or(word.len());
                word_problem = word_check(word.get(..end));
            }
            0x80.. => non_ascii = true,
            _ => {}
        }
    }
    if non_ascii && value.chars().any(|c| c.is_control() || (c.is_whitespace() && c != ' ')) {
        return Err(UnsafeValue::ControlCharacter);
    }
    if expansion {
        return Err(UnsafeValue::SettingExpansion);
    }
    if kind == ValueKind::Token && bytes.first() == Some(&b'-') {
        return Err(UnsafeValue::OptionLike);
    }
    match word_problem {
        Some(problem) => Err(problem),
        None => Ok(()),
    }
}

/// The bytes [`check`] must look at: controls, space, quotes, backslash, `{` (of `${`),
/// the first bytes of the separator and comment words, and non-ASCII.
static NOTABLE: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte: u8 = 0;
    loop {
        table[byte as usize] = byte < 0x20
            || byte >= 0x7f
            || matches!(byte, b' ' | b'"' | b'\'' | b'\\' | b'{' | b'|' | b'&' | b';' | b'#');
        if byte == u8::MAX {
            break;
        }
        byte += 1;
    }
    table
};

/// What is wrong with one space-separated word, if anything.
fn word_check(word: Option<&[u8]>) -> Option<UnsafeValue> {
    match word? {
        b"||" | b"&&" | b";" => Some(UnsafeValue::CommandSeparator),
        [b'#', ..] => Some(UnsafeValue::Comment),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use proptest::prelude::*;

    /// The rules read one byte at a time, without [`check`]'s skipping: the oracle the
    /// fast scan is compared with.
    fn check_byte_by_byte(value: &str, kind: ValueKind) -> Result<(), UnsafeValue> {
        let bytes = value.as_bytes();
        if bytes.is_empty() {
            return Err(UnsafeValue::Empty);
        }
        let (mut expansion, mut non_ascii, mut word_problem) = (false, false, None);
        for (at, &byte) in bytes.iter().enumerate() {
            let next = bytes.get(at + 1).copied();
            match byte {
                b'\r' | b'\n' => return Err(UnsafeValue::LineBreak),
                0 => return Err(UnsafeValue::Nul),
                b' ' if kind == ValueKind::Token => return Err(UnsafeValue::Whitespace),
                b'"' | b'\'' | b'\\' if kind == ValueKind::Token => return Err(UnsafeValue::Quoting),
                b'\\' if matches!(next, None | Some(b' ')) => return Err(UnsafeValue::Quoting),
                0x01..=0x1f | 0x7f => return Err(UnsafeValue::ControlCharacter),
                b'{' if at > 0 && bytes[at - 1] == b'$' => expansion = true,
                0x80.. => non_ascii = true,
                _ => {}
            }
        }
        for word in value.split(' ') {
            word_problem = word_problem.or_else(|| word_check(Some(word.as_bytes())));
        }
        if non_ascii && value.chars().any(|c| c.is_control() || (c.is_whitespace() && c != ' ')) {
            return Err(UnsafeValue::ControlCharacter);
        }
        if expansion {
            return Err(UnsafeValue::SettingExpansion);
        }
        if kind == ValueKind::Token && bytes[0] == b'-' {
            return Err(UnsafeValue::OptionLike);
        }
        word_problem.map_or(Ok(()), Err)
    }

    /// Mostly ordinary bytes, so the rare ones are not always hidden behind an earlier error.
    fn values() -> impl Strategy<Value = std::string::String> {
        let piece = prop_oneof![
            8 => "[a-z0-9=:/.,-]",
            4 => "[ |&;#$\\\\{}]",
            1 => "[\"'\t\n\r\u{0}\u{7f}\u{85}é\u{2028}]",
            2 => prop::sample::select(&[" || ", " && ", " ; ", "#", " #x", "${x}", "\\ ", "|&", "-"][..])
                .prop_map(std::string::String::from),
        ];
        proptest::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]
        #[test]
        fn the_fast_scan_agrees_with_the_byte_by_byte_rules(value in values(), words in any::<bool>()) {
            let kind = if words { ValueKind::Words } else { ValueKind::Token };
            prop_assert_eq!(check(&value, kind), check_byte_by_byte(&value, kind), "{:?}", value);
        }
    }

    #[test]
    fn accepts_real_ironic_values() {
        for value in [
            "http://10.99.0.1/images/ipa.kernel",
            "http://swift:8080/v1/AUTH_x/c/o?temp_url_sig=ab&temp_url_expires=1",
            "https://[fd00::1]:8443/x;type=i",
        ] {
            assert_eq!(check(value, ValueKind::Token), Ok(()), "{value}");
        }
        for value in [
            "ipa-debug=1 console=ttyS0,115200n8 nofb",
            "wait call-back",
            "dyndbg=\"file drivers/net/* +p\" quiet",
            "x='a b' c\\d",
        ] {
            assert_eq!(check(value, ValueKind::Words), Ok(()), "{value}");
        }
    }

    #[test]
    fn rejects_what_would_change_commands() {
        let cases = [
            ("a\nshell", UnsafeValue::LineBreak),
            ("a\rshell", UnsafeValue::LineBreak),
            ("a\0", UnsafeValue::Nul),
            ("a\tb", UnsafeValue::ControlCharacter),
            ("a\u{1b}[2J", UnsafeValue::ControlCharacter),
            ("a\u{85}b", UnsafeValue::ControlCharacter),
            ("x ${root-path}", UnsafeValue::SettingExpansion),
            ("x && shell", UnsafeValue::CommandSeparator),
            ("x ; shell", UnsafeValue::CommandSeparator),
            ("x #rest", UnsafeValue::Comment),
            ("dyndbg=\"a || shell\"", UnsafeValue::CommandSeparator),
            ("x=\"a #b\"", UnsafeValue::Comment),
            ("x a\\", UnsafeValue::Quoting),
            ("x a\\ b", UnsafeValue::Quoting),
            ("", UnsafeValue::Empty),
        ];
        for (value, expected) in cases {
            assert_eq!(check(value, ValueKind::Words), Err(expected), "{value:?}");
        }
        assert_eq!(check("http://a/\"b", ValueKind::Token), Err(UnsafeValue::Quoting));
        assert_eq!(check("http://a/b\\c", ValueKind::Token), Err(UnsafeValue::Quoting));
        assert_eq!(check("-n", ValueKind::Token), Err(UnsafeValue::OptionLike));
        assert_eq!(check("--name=x", ValueKind::Token), Err(UnsafeValue::OptionLike));
        assert_eq!(check("panic=-1 -v", ValueKind::Words), Ok(()), "words never stand in an option position");
    }
}
