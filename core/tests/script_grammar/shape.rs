//! Does a rendered script run the commands the state table intends? It is compared with a
//! reference render of the same node kind whose values are distinct, harmless markers: the
//! two must have the same lines, labels, command names and terminators, and each argument
//! must be the reference's with every marker replaced by the real value (split where iPXE
//! would split it). Runs of plain `echo` lines are compared as one block of words, because
//! the renderer wraps console text at a width (and shortens longer words to `...`), so long
//! values take more lines.

use std::fmt::Write as _;

use super::ipxe::{self, Command, Line, Script, Terminator};

/// A value the reference render carries as `marker` and the real render as `value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Substitution {
    /// The reference's value; unique, and found nowhere in the scripts' fixed text.
    pub marker: String,
    /// The real value.
    pub value: String,
}

/// Replaces every marker in `text`; the flag says whether any was there.
fn substitute(text: &str, substitutions: &[Substitution]) -> (String, bool) {
    let mut out = text.to_string();
    let mut any = false;
    for substitution in substitutions {
        if out.contains(&substitution.marker) {
            any = true;
            out = out.replace(&substitution.marker, &substitution.value);
        }
    }
    (out, any)
}

/// A line, or a run of plain `echo` lines (no label, comment or terminator).
enum Unit<'s> {
    Line(&'s Line),
    Echo(Vec<&'s Line>),
}

fn is_plain_echo(line: &Line) -> bool {
    line.label.is_none()
        && line.comment.is_none()
        && matches!(line.commands.as_slice(), [command] if command.name() == Some("echo") && command.terminator == Terminator::End)
}

fn units(script: &Script) -> Vec<Unit<'_>> {
    let mut units = Vec::new();
    for line in &script.lines {
        if is_plain_echo(line) {
            if let Some(Unit::Echo(run)) = units.last_mut() {
                run.push(line);
                continue;
            }
            units.push(Unit::Echo(vec![line]));
        } else {
            units.push(Unit::Line(line));
        }
    }
    units
}

/// Checks `actual` against `reference` (see the module docs). The error names the first
/// difference, with both lines.
pub fn compare(reference: &Script, actual: &Script, substitutions: &[Substitution]) -> Result<(), String> {
    let expected = units(reference);
    let found = units(actual);
    // Lines first, so a value that splits an echo run (by starting a comment or adding a
    // terminator) is reported as that line rather than as different echo text.
    for (index, pair) in expected.iter().zip(&found).enumerate() {
        match pair {
            (Unit::Line(r), Unit::Line(a)) => compare_line(r, a, substitutions)?,
            (Unit::Echo(_), Unit::Echo(_)) => {}
            (r, a) => {
                return Err(format!("unit {index}: expected {}\n  found {}", describe(r), describe(a)));
            }
        }
    }
    if expected.len() != found.len() {
        let extra = |units: &[Unit<'_>]| units.get(expected.len().min(found.len())).map(describe);
        return Err(format!(
            "{} units expected, {} found; first unmatched: expected {:?}, found {:?}",
            expected.len(),
            found.len(),
            extra(&expected),
            extra(&found)
        ));
    }
    for pair in expected.iter().zip(&found) {
        if let (Unit::Echo(r), Unit::Echo(a)) = pair {
            compare_echo(r, a, substitutions)?;
        }
    }
    Ok(())
}

fn describe(unit: &Unit<'_>) -> String {
    match unit {
        Unit::Line(line) => format!("line {line}"),
        Unit::Echo(lines) => {
            format!(
                "echo block of {} lines starting {}",
                lines.len(),
                lines.first().map(ToString::to_string).unwrap_or_default()
            )
        }
    }
}

fn compare_line(reference: &Line, actual: &Line, substitutions: &[Substitution]) -> Result<(), String> {
    let context = || format!("\n  reference: {reference}\n  rendered:  {actual}");
    let label = reference.label.as_deref().map(|label| substitute(label, substitutions).0);
    if label != actual.label {
        return Err(format!("label differs{}", context()));
    }
    let comment = reference.comment.as_deref().map(|comment| substitute(comment, substitutions).0);
    if comment != actual.comment {
        return Err(format!("comment differs (a value starting a comment?){}", context()));
    }
    if reference.commands.len() != actual.commands.len() {
        return Err(format!(
            "{} commands expected, {} found (a value adding a terminator?){}",
            reference.commands.len(),
            actual.commands.len(),
            context()
        ));
    }
    for (r, a) in reference.commands.iter().zip(&actual.commands) {
        if r.terminator != a.terminator {
            return Err(format!("terminator {} expected, {} found{}", r.terminator, a.terminator, context()));
        }
        // Each expected token, with the reference token it came from if a value is in it.
        let mut expected: Vec<(String, Option<&str>)> = Vec::new();
        for token in &r.tokens {
            let (text, derived) = substitute(token, substitutions);
            if derived {
                expected.extend(ipxe::split_tokens(&text).into_iter().map(|t| (t.to_string(), Some(token.as_str()))));
            } else {
                expected.push((text, None));
            }
        }
        let texts: Vec<&str> = expected.iter().map(|(text, _)| text.as_str()).collect();
        if texts != a.tokens {
            return Err(format!("tokens differ: expected {texts:?}{}", context()));
        }
        if a.name() != r.name() {
            return Err(format!("command name differs (a value as the command name?){}", context()));
        }
        let name = a.name().unwrap_or_default().to_string();
        let options = a.option_args(|option| ipxe::option_takes_argument(&name, option));
        for (position, (text, source)) in expected.iter().enumerate() {
            let Some(source) = source else { continue };
            value_token_check(text, source).map_err(|problem| format!("{problem}{}", context()))?;
            // Position 0 is the name; arguments 1..=options are read as options.
            if (1..=options).contains(&position) {
                return Err(format!("a value is read as an option by `{name}`: {text:?}{}", context()));
            }
        }
    }
    Ok(())
}

/// A token carrying a value may hold no `${` beyond those of the reference token it stands
/// for (`http://${next-server}/…/<driver>/…` keeps its one), and may not end in a backslash
/// (iPXE would join the next line to a line ending in one). Quotes are ordinary to iPXE.
fn value_token_check(token: &str, source: &str) -> Result<(), String> {
    if token.matches("${").count() > source.matches("${").count() {
        return Err(format!("a value carries `${{`, which iPXE would expand: {token:?}"));
    }
    if token.ends_with('\\') && !source.ends_with('\\') {
        return Err(format!("a value ends a word with a backslash: {token:?}"));
    }
    Ok(())
}

/// The renderer's console width for `echo` text: longer words are shortened to it,
/// ending in `...`.
const ECHO_WIDTH: usize = 72;

/// Echo lines: the same words once wrapping is undone (a word longer than a line shortened
/// to `...`), nothing read as an option (a leading `--` ends `echo`'s options and is not
/// printed), and every line narrower than the 80-column console.
fn compare_echo(reference: &[&Line], actual: &[&Line], substitutions: &[Substitution]) -> Result<(), String> {
    let show = |lines: &[&Line]| {
        lines.iter().fold(String::new(), |mut out, line| {
            let _ = write!(out, "\n    {line}");
            out
        })
    };
    let context = || format!("\n  reference:{}\n  rendered:{}", show(reference), show(actual));
    let mut expected = Vec::new();
    for line in reference {
        for arg in line.commands.iter().flat_map(Command::args) {
            let (text, _) = substitute(arg, substitutions);
            for word in ipxe::split_tokens(&text) {
                expected.push(if word.chars().count() > ECHO_WIDTH {
                    format!("{}...", word.chars().take(ECHO_WIDTH - 3).collect::<String>())
                } else {
                    word.to_string()
                });
            }
        }
    }
    let mut printed = Vec::new();
    for line in actual {
        let Some(command) = line.commands.first() else { continue };
        let options = command.option_args(|_| false);
        if options > 0 && command.args().first().map(String::as_str) != Some("--") {
            return Err(format!("an echo line starts with an option (iPXE's echo fails or drops it){}", context()));
        }
        let words = &command.args()[options..];
        let width = words.join(" ").chars().count();
        if width >= 80 {
            return Err(format!("echo line of {width} columns is as wide as the console{}", context()));
        }
        printed.extend(words.iter().cloned());
    }
    if expected != printed {
        let at = expected.iter().zip(&printed).position(|(e, p)| e != p).unwrap_or(expected.len().min(printed.len()));
        return Err(format!(
            "echo text differs at word {at}: expected {:?}, printed {:?}{}",
            expected.get(at),
            printed.get(at),
            context()
        ));
    }
    let reference_words: Vec<&String> =
        reference.iter().flat_map(|line| line.commands.iter().flat_map(Command::args)).collect();
    for word in &printed {
        if !reference_words.contains(&word) {
            value_token_check(word, "").map_err(|problem| format!("{problem}{}", context()))?;
        }
    }
    Ok(())
}

/// Command lines the renderer writes, by command names and terminators (`iseq && goto ||`
/// ends in an empty command). Any other line is a changed script.
const LINE_PATTERNS: [&str; 23] = [
    "set",
    "imgfree",
    "kernel || goto",
    "initrd || goto",
    "boot",
    "iseq && goto || ",
    "inc",
    "echo",
    "sleep",
    "goto",
    "poweroff || ",
    "reboot",
    "sanboot || exit",
    "sanboot || goto",
    "iseq || inc",
    "exit",
    "isset || goto",
    "isset && exit || ",
    "chain && exit || ",
    "chain || ",
    "chain",
    "clear",
    "",
];

/// Labels the renderer writes.
const LABELS: [&str; 5] = ["fetch", "retry", "give_up", "next_nic", "no_known_nic"];

/// Settings the renderer's scripts expand.
const EXPANSIONS: [&str; 7] = ["mac", "i", "attempts", "nic", "net${nic}/mac", "next-server", "ipxe_config_chain"];

fn line_pattern(line: &Line) -> String {
    let mut pattern = String::new();
    for command in &line.commands {
        pattern.push_str(command.name().unwrap_or_default());
        if command.terminator != Terminator::End {
            let _ = write!(pattern, " {} ", command.terminator);
        }
    }
    pattern
}

/// Checks a script that has no reference to compare with (one rendered from arbitrary
/// JSON): every line is one the templates write, every label and `goto` target is the
/// templates', comments stand only on the first two lines, only the templates' settings
/// are expanded, and no `echo` line starts with an option.
pub fn check_vocabulary(script: &Script) -> Result<(), String> {
    for (index, line) in script.lines.iter().enumerate() {
        let problem = |what: &str| Err(format!("line {}: {what}: {line}", line.number));
        let pattern = line_pattern(line);
        if !LINE_PATTERNS.contains(&pattern.as_str()) {
            return problem(&format!("commands `{pattern}` are not the renderer's"));
        }
        if line.comment.is_some() && (index > 1 || line.commands.iter().any(|c| c.name().is_some())) {
            return problem("a comment where the renderer writes none");
        }
        if let Some(label) = &line.label {
            if !LABELS.contains(&label.as_str()) {
                return problem("a label the renderer does not write");
            }
        }
        for command in &line.commands {
            if command.name() == Some("goto") && !command.args().iter().all(|target| LABELS.contains(&target.as_str()))
            {
                return problem("a goto to a label the renderer does not write");
            }
            if command.name() == Some("echo")
                && command.option_args(|_| false) > 0
                && command.args().first().map(String::as_str) != Some("--")
            {
                return problem("an echo line starting with an option");
            }
            for token in &command.tokens {
                if let Some(name) =
                    ipxe::expansions(token).into_iter().find(|name| !EXPANSIONS.contains(&name.as_str()))
                {
                    return problem(&format!("expands `{name}`, a setting the renderer does not use"));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_golden_script_is_in_the_vocabulary() {
        let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/golden");
        let mut seen = 0;
        for entry in std::fs::read_dir(&golden).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let script = ipxe::parse(&text);
            if let Err(problem) = check_vocabulary(&script) {
                panic!("{}: {problem}", path.display());
            }
            assert!(compare(&script, &script, &[]).is_ok());
            seen += 1;
        }
        assert!(seen >= 10, "{seen} golden scripts");
    }

    #[test]
    fn vocabulary_refuses_injected_commands() {
        for text in [
            "#!ipxe\necho && reboot\n",
            "#!ipxe\necho a #b\n",
            "#!ipxe\necho -x\n",
            "#!ipxe\nshell\n",
            "#!ipxe\ngoto elsewhere\n",
            "#!ipxe\nkernel ${root-path}\n",
            "#!ipxe\n:fetch\n:evil\n",
        ] {
            assert!(check_vocabulary(&ipxe::parse(text)).is_err(), "{text:?}");
        }
        assert!(check_vocabulary(&ipxe::parse("#!ipxe\necho -- -x\n")).is_ok());
    }
}
