//! iPXE's script grammar, written from reading `src/image/script.c`, `src/core/exec.c`,
//! `src/core/settings.c` (`expand_settings`), `src/core/getopt.c` and `src/core/ctype.c`
//! of ipxe/ipxe at 0ab2277 (August 2026). The rules, in the order iPXE applies them:
//!
//! 1. A script is cut into lines at `\n`. One `\r` at the end of a line is dropped. A line
//!    that then ends in `\` continues on the next one: the backslash and the line break
//!    vanish, nothing is put in their place.
//! 2. After leading whitespace, a line starting with `:` carries a label, which runs to the
//!    next whitespace; the rest of the line is still a command (`:retry echo x` runs `echo`).
//! 3. Whitespace is iPXE's own `isspace`: space, `\t`, `\n`, `\v`, `\f`, `\r`, nothing else
//!    (no Unicode spaces; iPXE reads bytes). The command part is split into tokens at runs
//!    of it, before anything is expanded.
//! 4. The tokens `||`, `&&` and `;` (whole tokens only: `a||b` is one ordinary token) end a
//!    command; the next one runs on failure, on success, or always.
//! 5. A token starting with `#` starts a comment: it and every token after it on the line
//!    are dropped, terminators included, so nothing after it on that line runs. `#!ipxe` is
//!    therefore just a comment line.
//! 6. An empty command (an empty line, or nothing after a trailing `||`) does nothing and
//!    succeeds.
//! 7. `${name}` is expanded after the split, one token at a time: iPXE repeatedly takes the
//!    first `}` that follows a `${`, pairs it with the last `${` before it, and substitutes,
//!    so nesting works from the inside out (`${net${nic}/mac}`). A `${` with no `}` after it
//!    stays literal. An expanded value cannot add tokens or terminators.
//! 8. There is no quoting: `"` and `'` are ordinary characters and `\` matters only at the
//!    end of a line (rule 1). No released iPXE has shell-style quoting; the renderer's
//!    refusal of quotes and backslashes in values is defence in depth, not an iPXE rule.
//! 9. Commands read options with iPXE's `getopt`: option parsing stops at the first argument
//!    that does not start with `-`; `--` ends it explicitly; an option that takes an
//!    argument takes the rest of its own token or, failing that, the next token unless that
//!    one starts with `-`. An unknown option makes the command fail, and a failing command
//!    (without `||`) ends the whole script.

use std::fmt;

/// A parsed script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// Logical lines (continuations joined), in order.
    pub lines: Vec<Line>,
}

/// One logical line: an optional label, then one or more commands, then maybe a comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// 1-based number of the physical line this logical line starts on.
    pub number: usize,
    /// The label (`:fetch` gives `fetch`).
    pub label: Option<String>,
    /// The commands, in order. Always at least one; an empty line is one empty command.
    pub commands: Vec<Command>,
    /// The comment, from its `#` to the end of the line, if the line has one.
    pub comment: Option<String>,
}

/// One command: its tokens (name first) and what ends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// Name and arguments, unexpanded.
    pub tokens: Vec<String>,
    /// What follows the command.
    pub terminator: Terminator,
}

/// What ends a command, and so whether the next one on the line runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Terminator {
    /// End of the line (or a comment): nothing more runs on this line.
    End,
    /// `||`: the next command runs if this one failed.
    OnFailure,
    /// `&&`: the next command runs if this one succeeded.
    OnSuccess,
    /// `;`: the next command runs regardless.
    Always,
}

impl Terminator {
    fn from_token(token: &str) -> Option<Self> {
        match token {
            "||" => Some(Self::OnFailure),
            "&&" => Some(Self::OnSuccess),
            ";" => Some(Self::Always),
            _ => None,
        }
    }
}

impl fmt::Display for Terminator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::End => "<end>",
            Self::OnFailure => "||",
            Self::OnSuccess => "&&",
            Self::Always => ";",
        })
    }
}

impl Command {
    /// The command name, or `None` for an empty command.
    pub fn name(&self) -> Option<&str> {
        self.tokens.first().map(String::as_str)
    }

    /// The arguments after the name.
    pub fn args(&self) -> &[String] {
        self.tokens.get(1..).unwrap_or_default()
    }

    /// How many leading arguments iPXE's `getopt` reads as options or option arguments
    /// (rule 9). `takes_argument` tells whether an option (`-n`, `--name`) takes one.
    pub fn option_args(&self, takes_argument: impl Fn(&str) -> bool) -> usize {
        let args = self.args();
        let mut at = 0;
        while let Some(arg) = args.get(at) {
            if !arg.starts_with('-') {
                break;
            }
            at += 1;
            if arg == "--" {
                break;
            }
            let wants_next = if let Some(long) = arg.strip_prefix("--") {
                !long.contains('=') && takes_argument(&format!("--{long}"))
            } else {
                // A cluster of short options: the first one that takes an argument takes
                // the rest of the token, or the next token if this one ends there.
                let letters: Vec<char> = arg.chars().skip(1).collect();
                letters
                    .iter()
                    .position(|letter| takes_argument(&format!("-{letter}")))
                    .is_some_and(|position| position + 1 == letters.len())
            };
            if wants_next && args.get(at).is_some_and(|next| !next.starts_with('-')) {
                at += 1;
            }
        }
        at
    }
}

/// The options taking an argument of the commands the renderer writes (from their
/// `OPTION_DESC` tables in `src/hci/commands/`).
pub fn option_takes_argument(command: &str, option: &str) -> bool {
    match command {
        "kernel" | "initrd" | "imgfetch" | "module" | "chain" | "imgexec" | "imgselect" | "imgload" => {
            matches!(option, "-n" | "--name" | "-t" | "--timeout")
        }
        "sanboot" | "sanhook" => {
            matches!(
                option,
                "-d" | "--drive" | "-f" | "--filename" | "-e" | "--extra" | "-l" | "--label" | "-u" | "--uuid"
            )
        }
        _ => false,
    }
}

/// Whether `byte` is whitespace to iPXE (`src/core/ctype.c`).
pub fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// Splits `text` into tokens at runs of iPXE whitespace (rule 3).
pub fn split_tokens(text: &str) -> Vec<&str> {
    // The whitespace bytes are ASCII, so splitting at them never cuts a UTF-8 sequence.
    text.split(|c: char| c.is_ascii() && is_space(c as u8)).filter(|token| !token.is_empty()).collect()
}

/// Whether the script starts with iPXE's signature (`#!ipxe` or `#!gpxe`, then whitespace).
pub fn has_signature(script: &[u8]) -> bool {
    matches!(script, [b'#', b'!', b'i' | b'g', b'p', b'x', b'e', space, ..] if is_space(*space))
}

/// Parses a script by iPXE's rules 1–6.
pub fn parse(script: &str) -> Script {
    let mut lines = Vec::new();
    let mut pending = String::new();
    let mut pending_start = None;
    // iPXE's loop: process fragments while the offset is inside the image, so a final
    // `\n` does not produce an extra empty line.
    let mut rest = script;
    let mut physical = 0;
    loop {
        physical += 1;
        let (fragment, next) = match rest.find('\n') {
            Some(at) => (&rest[..at], Some(&rest[at + 1..])),
            None => (rest, None),
        };
        pending.push_str(fragment);
        let start = *pending_start.get_or_insert(physical);
        if pending.ends_with('\r') {
            pending.pop();
        }
        let continued = pending.ends_with('\\');
        if continued {
            pending.pop();
        } else {
            lines.push(parse_line(start, &pending));
            pending.clear();
            pending_start = None;
        }
        match next {
            Some(next) if !next.is_empty() => rest = next,
            _ => break,
        }
    }
    Script { lines }
}

fn parse_line(number: usize, text: &str) -> Line {
    let trimmed = text.trim_start_matches(|c: char| c.is_ascii() && is_space(c as u8));
    let (label, command) = match trimmed.strip_prefix(':') {
        Some(labelled) => {
            let end = labelled.find(|c: char| c.is_ascii() && is_space(c as u8)).unwrap_or(labelled.len());
            // iPXE cuts the label off at its first whitespace byte and runs what follows.
            let command = labelled.get(end + 1..).unwrap_or_default();
            (Some(labelled[..end].to_string()), command)
        }
        None => (None, trimmed),
    };
    let (commands, comment) = split_commands(command);
    Line { number, label, commands, comment }
}

/// Rules 3–6 on one line's command part: what `system()` does with it.
fn split_commands(command: &str) -> (Vec<Command>, Option<String>) {
    let mut commands = Vec::new();
    let mut tokens = Vec::new();
    let mut comment = None;
    let mut offset = 0;
    for token in split_tokens(command) {
        let at = offset + command[offset..].find(token).unwrap_or(0);
        offset = at + token.len();
        if token.starts_with('#') {
            comment = Some(command[at..].to_string());
            break;
        }
        match Terminator::from_token(token) {
            Some(terminator) => commands.push(Command { tokens: std::mem::take(&mut tokens), terminator }),
            None => tokens.push(token.to_string()),
        }
    }
    commands.push(Command { tokens, terminator: Terminator::End });
    (commands, comment)
}

/// The settings a token expands, in the order iPXE expands them (rule 7). An inner
/// expansion appears inside the outer name as `${inner}`: `${net${nic}/mac}` gives
/// `["nic", "net${nic}/mac"]`.
pub fn expansions(token: &str) -> Vec<String> {
    // Work on chars; each finished expansion becomes one private-use placeholder char
    // that maps back to its `${…}` text, so it is neither re-matched nor lost.
    const FIRST_PLACEHOLDER: u32 = 0xF_0000;
    let mut work: Vec<char> = token.chars().collect();
    let mut originals: Vec<String> = Vec::new();
    let mut names = Vec::new();
    let restore = |chars: &[char], originals: &[String]| -> String {
        chars
            .iter()
            .map(|&c| match (c as u32).checked_sub(FIRST_PLACEHOLDER) {
                Some(index) => originals.get(index as usize).cloned().unwrap_or_else(|| c.to_string()),
                None => c.to_string(),
            })
            .collect()
    };
    loop {
        // iPXE scans once: the latest `${` seen before the first `}` after any `${`.
        let mut start = None;
        let mut end = None;
        for at in 0..work.len() {
            if work[at] == '$' && work.get(at + 1) == Some(&'{') {
                start = Some(at);
            }
            if start.is_some() && work[at] == '}' {
                end = Some(at);
                break;
            }
        }
        let (Some(start), Some(end)) = (start, end) else {
            break;
        };
        let name = restore(&work[start + 2..end], &originals);
        let original = format!("${{{name}}}");
        names.push(name);
        let Some(placeholder) = u32::try_from(originals.len()).ok().and_then(|n| char::from_u32(FIRST_PLACEHOLDER + n))
        else {
            break;
        };
        originals.push(original);
        work.splice(start..=end, [placeholder]);
    }
    names
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:>3}:", self.number)?;
        if let Some(label) = &self.label {
            write!(f, " :{label}")?;
        }
        for command in &self.commands {
            write!(f, " [{}]", command.tokens.join(" "))?;
            if command.terminator != Terminator::End {
                write!(f, " {}", command.terminator)?;
            }
        }
        if let Some(comment) = &self.comment {
            write!(f, " {comment}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in &self.lines {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(line: &Line) -> Vec<(Vec<&str>, Terminator)> {
        line.commands.iter().map(|c| (c.tokens.iter().map(String::as_str).collect(), c.terminator)).collect()
    }

    #[test]
    fn terminators_comments_and_empty_commands() {
        let script = parse("iseq ${i} ${attempts} && goto give_up ||\necho a||b # c || d\n");
        assert_eq!(script.lines.len(), 2);
        assert_eq!(
            shape(&script.lines[0]),
            vec![
                (vec!["iseq", "${i}", "${attempts}"], Terminator::OnSuccess),
                (vec!["goto", "give_up"], Terminator::OnFailure),
                (vec![], Terminator::End),
            ]
        );
        assert_eq!(shape(&script.lines[1]), vec![(vec!["echo", "a||b"], Terminator::End)]);
        assert_eq!(script.lines[1].comment.as_deref(), Some("# c || d"));
    }

    #[test]
    fn labels_continuations_and_carriage_returns() {
        let script = parse("#!ipxe\r\n  :retry echo a \\\r\nb\t;\x0bsleep 1\n:end\n");
        assert_eq!(script.lines.len(), 3);
        assert_eq!(script.lines[0].comment.as_deref(), Some("#!ipxe"));
        let line = &script.lines[1];
        assert_eq!((line.number, line.label.as_deref()), (2, Some("retry")));
        assert_eq!(
            shape(line),
            vec![(vec!["echo", "a", "b"], Terminator::Always), (vec!["sleep", "1"], Terminator::End)]
        );
        assert_eq!((script.lines[2].number, script.lines[2].label.as_deref()), (4, Some("end")));
    }

    #[test]
    fn quotes_are_ordinary_and_unicode_spaces_are_not_spaces() {
        let script = parse("echo \"a b\" 'c\u{a0}d'\u{2028}e\n");
        assert_eq!(shape(&script.lines[0]), vec![(vec!["echo", "\"a", "b\"", "'c\u{a0}d'\u{2028}e"], Terminator::End)]);
    }

    #[test]
    fn expansions_nest_from_the_inside_and_unclosed_ones_stay_literal() {
        assert_eq!(expansions("BOOTIF=${mac}"), vec!["mac"]);
        assert_eq!(expansions("port_address=${net${nic}/mac}"), vec!["nic", "net${nic}/mac"]);
        assert_eq!(expansions("${a}${b}"), vec!["a", "b"]);
        assert!(expansions("a${b").is_empty());
        assert!(expansions("a}${").is_empty());
        assert_eq!(expansions("${${x}"), vec!["x"]);
    }

    #[test]
    fn options_stop_at_the_first_operand() {
        let command = |text: &str| parse(text).lines.remove(0).commands.remove(0);
        let takes = |c: &Command| {
            let name = c.name().unwrap_or_default().to_string();
            move |option: &str| option_takes_argument(&name, option)
        };
        let c = command("initrd --name ramdisk --timeout 5 http://x -n y");
        assert_eq!(c.option_args(takes(&c)), 4);
        let c = command("kernel -nfoo -a http://x");
        assert_eq!(c.option_args(takes(&c)), 2);
        let c = command("echo -- -x");
        assert_eq!(c.option_args(takes(&c)), 1);
        let c = command("echo -x y");
        assert_eq!(c.option_args(takes(&c)), 1);
        let c = command("sanboot --no-describe --drive 0x80");
        assert_eq!(c.option_args(takes(&c)), 3);
    }

    #[test]
    fn signature() {
        assert!(has_signature(b"#!ipxe\n"));
        assert!(has_signature(b"#!gpxe "));
        assert!(!has_signature(b"#!ipxe"));
        assert!(!has_signature(b"#!ipxe-"));
    }
}
