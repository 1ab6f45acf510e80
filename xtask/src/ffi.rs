//! The C ABI of `ipxe-config-ffi`: header drift check and the C link test.
//!
//! `core/ffi/include/ipxe_config.h` is kept by hand. [`check_header`] reads the crate's
//! Rust source and the header as text and compares what both declare:
//!
//! - every `#[no_mangle] … extern "C" fn`: same set of names, and for each the same number
//!   of parameters with the same names in the same order;
//! - every `pub const IPXE_CONFIG_…` against the header's `#define IPXE_CONFIG_…`: same
//!   set of names, same integer values;
//! - every `#[repr(C)]` struct (`IpxeConfigSettings` ↔ `ipxe_config_settings`) against the
//!   header's `typedef struct`: same set of structs, same field names in the same order.
//!
//! It does **not** compare types (`size_t` vs `usize`, `int` vs `i32`, constness, return
//! types) or struct sizes: the C test asserts the struct sizes with `_Static_assert`,
//! the Rust tests assert the same sizes, and [`c_link_test`] compiles the header with
//! `-Wall -Werror` and runs real calls through it. The parsing expects rustfmt-formatted
//! Rust and the header's own plain C style; it is not a C or Rust parser.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cmd::{cargo, run, workspace_root};

const CRATE_SOURCE: &str = "core/ffi/src";
const HEADER: &str = "core/ffi/include/ipxe_config.h";
const C_TEST: &str = "core/ffi/tests/c/render_test.c";
const FIXTURE: &str = "fixtures/inventory.json";

/// What one side (Rust source or C header) declares.
#[derive(Debug, Default, PartialEq)]
struct Declarations {
    /// Function name → parameter names, in order.
    functions: BTreeMap<String, Vec<String>>,
    /// Constant name → value.
    constants: BTreeMap<String, i64>,
    /// C struct name → field names, in order.
    structs: BTreeMap<String, Vec<String>>,
}

/// Compares the hand-kept header with the Rust source of `ipxe-config-ffi`.
pub fn check_header() -> Result<(), String> {
    let root = workspace_root();
    let mut rust = Declarations::default();
    for path in rust_sources(&root.join(CRATE_SOURCE))? {
        let text = read(&path)?;
        parse_rust(&text, &mut rust).map_err(|error| format!("{}: {error}", path.display()))?;
    }
    let header_path = root.join(HEADER);
    let header = parse_header(&read(&header_path)?).map_err(|error| format!("{}: {error}", header_path.display()))?;
    let problems = compare(&rust, &header);
    if problems.is_empty() {
        println!(
            "{HEADER}: {} functions, {} constants, {} structs match the Rust source",
            rust.functions.len(),
            rust.constants.len(),
            rust.structs.len()
        );
        Ok(())
    } else {
        Err(format!("{HEADER} has drifted from {CRATE_SOURCE}:\n  {}", problems.join("\n  ")))
    }
}

/// Builds the static library, compiles the C test program against it with the system
/// `cc`, and runs it (with `fixtures/inventory.json` when that exists).
pub fn c_link_test() -> Result<(), String> {
    run(cargo().args(["build", "-p", "ipxe-config-ffi", "--release"]))?;
    let root = workspace_root();
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| if dir.is_absolute() { dir } else { root.join(dir) })
        .unwrap_or_else(|| root.join("target"));
    let library = target_dir.join("release").join("libipxe_config_ffi.a");
    if !library.is_file() {
        return Err(format!("{} was not built", library.display()));
    }
    let out_dir = target_dir.join("ffi-test");
    fs::create_dir_all(&out_dir).map_err(|error| format!("cannot create {}: {error}", out_dir.display()))?;
    let program = out_dir.join("render_test");
    let mut compile = Command::new("cc");
    compile
        .current_dir(&root)
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-I"])
        .arg(root.join("core/ffi/include"))
        .arg(root.join(C_TEST))
        .arg(&library)
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(&program);
    run(&mut compile)?;
    let mut test = Command::new(&program);
    test.current_dir(&root);
    let fixture = root.join(FIXTURE);
    if fixture.is_file() {
        test.arg(fixture);
    }
    run(&mut test)
}

fn read(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|error| format!("cannot read {}: {error}", path.display()))
}

fn rust_sources(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = fs::read_dir(dir).map_err(|error| format!("cannot list {}: {error}", dir.display()))?;
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry.map_err(|error| format!("cannot list {}: {error}", dir.display()))?.path();
        if path.extension().is_some_and(|ext| ext == "rs") {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths)
}

fn compare(rust: &Declarations, header: &Declarations) -> Vec<String> {
    let mut problems = Vec::new();
    compare_maps("function", &rust.functions, &header.functions, &mut problems, |name, ours, theirs| {
        if ours.len() != theirs.len() {
            format!("function {name}: {} parameters in Rust, {} in the header", ours.len(), theirs.len())
        } else {
            format!("function {name}: parameters ({}) in Rust, ({}) in the header", ours.join(", "), theirs.join(", "))
        }
    });
    compare_maps("constant", &rust.constants, &header.constants, &mut problems, |name, ours, theirs| {
        format!("constant {name}: {ours} in Rust, {theirs} in the header")
    });
    compare_maps("struct", &rust.structs, &header.structs, &mut problems, |name, ours, theirs| {
        format!("struct {name}: fields ({}) in Rust, ({}) in the header", ours.join(", "), theirs.join(", "))
    });
    problems
}

fn compare_maps<V: PartialEq>(
    what: &str,
    rust: &BTreeMap<String, V>,
    header: &BTreeMap<String, V>,
    problems: &mut Vec<String>,
    differ: impl Fn(&str, &V, &V) -> String,
) {
    for (name, ours) in rust {
        match header.get(name) {
            None => problems.push(format!("{what} {name} is in Rust but not in the header")),
            Some(theirs) if theirs != ours => problems.push(differ(name, ours, theirs)),
            Some(_) => {}
        }
    }
    for name in header.keys().filter(|name| !rust.contains_key(*name)) {
        problems.push(format!("{what} {name} is in the header but not in Rust"));
    }
}

/// Reads exported functions, `IPXE_CONFIG_*` constants and `#[repr(C)]` structs from one
/// rustfmt-formatted file. Test code (from the first `#[cfg(test)]`) is ignored.
fn parse_rust(text: &str, into: &mut Declarations) -> Result<(), String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    let lines: Vec<&str> = code.lines().map(str::trim).collect();
    for (index, line) in lines.iter().enumerate() {
        if *line == "#[no_mangle]" || *line == "#[unsafe(no_mangle)]" {
            let rest = lines[index + 1..].join("\n");
            let (name, params) = rust_function(&rest)
                .ok_or_else(|| format!("no extern \"C\" fn after #[no_mangle] (line {})", index + 1))?;
            into.functions.insert(name, params);
        } else if *line == "#[repr(C)]" {
            let rest = lines[index + 1..].join("\n");
            let (name, fields) =
                rust_struct(&rest).ok_or_else(|| format!("no struct after #[repr(C)] (line {})", index + 1))?;
            into.structs.insert(name, fields);
        } else if let Some(constant) = line.strip_prefix("pub const IPXE_CONFIG_") {
            let (name, value) =
                rust_constant(constant).ok_or_else(|| format!("unreadable constant (line {}): {line}", index + 1))?;
            into.constants.insert(format!("IPXE_CONFIG_{name}"), value);
        }
    }
    Ok(())
}

/// `pub [unsafe] extern "C" fn name(a: T, b: U) -> R` (attributes and docs before it
/// skipped) → the name and parameter names.
fn rust_function(text: &str) -> Option<(String, Vec<String>)> {
    let signature = text.split_once("extern \"C\" fn ")?.1;
    let (name, rest) = signature.split_once('(')?;
    let params = inside_parentheses(rest)?;
    let names = split_top_level(params)
        .iter()
        .map(|param| param.split(':').next().unwrap_or_default().trim().to_string())
        .collect();
    Some((name.trim().to_string(), names))
}

/// `pub struct IpxeConfigThing { … }` → `ipxe_config_thing` and its field names.
fn rust_struct(text: &str) -> Option<(String, Vec<String>)> {
    let after = text.split_once("struct ")?.1;
    let (name, body) = after.split_once('{')?;
    let body = body.split_once('}')?.0;
    let fields = body
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("//") && !line.starts_with("#["))
        .filter_map(|line| {
            let declaration = line.strip_prefix("pub ").unwrap_or(line);
            let declaration = declaration.strip_prefix("pub(crate) ").unwrap_or(declaration);
            declaration.split_once(':').map(|(field, _)| field.trim().to_string())
        })
        .collect();
    Some((snake_case(name.trim()), fields))
}

/// `OK: c_int = 0;` → ("OK", 0).
fn rust_constant(text: &str) -> Option<(String, i64)> {
    let (name, rest) = text.split_once(':')?;
    let value = rest.split_once('=')?.1.trim().strip_suffix(';')?;
    Some((name.trim().to_string(), integer(value)?))
}

fn snake_case(camel: &str) -> String {
    let mut snake = String::new();
    for (index, character) in camel.chars().enumerate() {
        if character.is_ascii_uppercase() {
            if index > 0 {
                snake.push('_');
            }
            snake.push(character.to_ascii_lowercase());
        } else {
            snake.push(character);
        }
    }
    snake
}

/// An integer literal as both languages write ours: `-12`, `(-12)`, `16_384`, `0x10`.
fn integer(text: &str) -> Option<i64> {
    let text = text.trim();
    let text = text.strip_prefix('(').and_then(|inner| inner.strip_suffix(')')).unwrap_or(text).trim().replace('_', "");
    let (negative, digits) = match text.strip_prefix('-') {
        Some(digits) => (true, digits.trim()),
        None => (false, text.as_str()),
    };
    let magnitude = match digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16).ok()?,
        None => digits.parse().ok()?,
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// The text up to the `)` matching an already-consumed `(`.
fn inside_parentheses(text: &str) -> Option<&str> {
    let mut depth = 0usize;
    for (at, character) in text.char_indices() {
        match character {
            '(' => depth += 1,
            ')' if depth == 0 => return text.get(..at),
            ')' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// Non-empty, trimmed pieces between top-level commas.
fn split_top_level(text: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    for character in text.chars() {
        match character {
            '(' | '[' | '<' => depth += 1,
            ')' | ']' | '>' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                pieces.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(character);
    }
    pieces.push(current);
    pieces
        .into_iter()
        .map(|piece| piece.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|piece| !piece.is_empty())
        .collect()
}

/// Reads `#define IPXE_CONFIG_*` integers, `typedef struct` field names and function
/// prototypes from the header.
fn parse_header(text: &str) -> Result<Declarations, String> {
    let mut declarations = Declarations::default();
    let code = strip_c_comments(text);
    let mut body = String::new();
    for line in code.lines() {
        let line = line.trim();
        if let Some(define) = line.strip_prefix("#define ") {
            let mut parts = define.splitn(2, char::is_whitespace);
            let name = parts.next().unwrap_or_default();
            let value = parts.next().unwrap_or_default();
            // An empty value is the include guard, not a constant.
            if name.starts_with("IPXE_CONFIG_") && !value.trim().is_empty() {
                let value = integer(value).ok_or_else(|| format!("#define {name}: not an integer: {value}"))?;
                declarations.constants.insert(name.to_string(), value);
            }
        } else if !line.starts_with('#') && line != "extern \"C\" {" && line != "}" {
            body.push_str(line);
            body.push('\n');
        }
    }
    let mut rest = body.as_str();
    while let Some((before, after)) = rest.split_once("typedef struct ") {
        collect_prototypes(before, &mut declarations)?;
        let (name, after) = after.split_once('{').ok_or("typedef struct without a body")?;
        let (fields, after) = after.split_once('}').ok_or("unclosed typedef struct")?;
        let field_names = fields
            .split(';')
            .map(str::trim)
            .filter(|field| !field.is_empty())
            .map(|field| last_identifier(field.split('[').next().unwrap_or_default()))
            .collect();
        declarations.structs.insert(name.trim().to_string(), field_names);
        rest = after.split_once(';').map_or("", |(_, after)| after);
    }
    collect_prototypes(rest, &mut declarations)?;
    Ok(declarations)
}

fn collect_prototypes(text: &str, into: &mut Declarations) -> Result<(), String> {
    for statement in text.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((head, rest)) = statement.split_once('(') else {
            return Err(format!("not a prototype: {statement}"));
        };
        let params = inside_parentheses(rest).ok_or_else(|| format!("unclosed parameter list: {statement}"))?;
        let pieces = split_top_level(params);
        let names =
            if pieces == ["void"] { Vec::new() } else { pieces.iter().map(|param| last_identifier(param)).collect() };
        into.functions.insert(last_identifier(head), names);
    }
    Ok(())
}

/// The last C identifier in a declaration (`const char *reason` → `reason`).
fn last_identifier(declaration: &str) -> String {
    let trimmed = declaration.trim_end_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '_'));
    let start = trimmed.rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map_or(0, |at| at + 1);
    trimmed[start..].to_string()
}

fn strip_c_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let block = rest.find("/*");
        let line = rest.find("//");
        match (block, line) {
            (Some(b), l) if l.is_none_or(|l| b < l) => {
                out.push_str(&rest[..b]);
                match rest[b + 2..].find("*/") {
                    Some(end) => rest = &rest[b + 2 + end + 2..],
                    None => return out,
                }
            }
            (_, Some(l)) => {
                out.push_str(&rest[..l]);
                rest = rest[l..].find('\n').map_or("", |end| &rest[l + end..]);
            }
            _ => {
                out.push_str(rest);
                return out;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUST: &str = r#"
/// Docs.
pub const IPXE_CONFIG_OK: c_int = 0;
pub const IPXE_CONFIG_ERR_X: c_int = -12;
pub const IPXE_CONFIG_BYTES: usize = 16_384;

#[repr(C)]
#[derive(Debug)]
pub struct IpxeConfigThing {
    /// Doc.
    pub reason: *const c_char,
    node_uuid: [u8; 16],
}

/// Docs.
#[no_mangle]
#[allow(clippy::too_many_arguments)] // Reason.
pub unsafe extern "C" fn ipxe_config_do(
    thing: *const IpxeConfigThing,
    out: *mut u8,
) -> c_int {
    0
}

#[no_mangle]
pub extern "C" fn ipxe_config_none() -> usize {
    0
}

#[cfg(test)]
mod tests {
    #[no_mangle]
    pub extern "C" fn test_only(a: u8) {}
}
"#;

    const HEADER: &str = r#"
/* A comment with ; and ( in it. */
#ifndef IPXE_CONFIG_H
#define IPXE_CONFIG_H
#define IPXE_CONFIG_OK (0)
#define IPXE_CONFIG_ERR_X (-12) /* twelve */
#define IPXE_CONFIG_BYTES (16384)
#ifdef __cplusplus
extern "C" {
#endif
typedef struct ipxe_config_thing {
    const char *reason; // why
    uint8_t node_uuid[16];
} ipxe_config_thing;

int ipxe_config_do(const ipxe_config_thing *thing,
                   uint8_t *out);
size_t ipxe_config_none(void);
#ifdef __cplusplus
}
#endif
"#;

    #[test]
    fn both_sides_read_the_same() {
        let mut rust = Declarations::default();
        parse_rust(RUST, &mut rust).unwrap();
        let header = parse_header(HEADER).unwrap();
        assert_eq!(rust, header);
        assert_eq!(rust.functions["ipxe_config_do"], ["thing", "out"]);
        assert!(rust.functions["ipxe_config_none"].is_empty());
        assert_eq!(rust.constants["IPXE_CONFIG_ERR_X"], -12);
        assert_eq!(rust.structs["ipxe_config_thing"], ["reason", "node_uuid"]);
        assert!(compare(&rust, &header).is_empty());
    }

    #[test]
    fn drift_is_reported() {
        let mut rust = Declarations::default();
        parse_rust(RUST, &mut rust).unwrap();
        let drifted = HEADER
            .replace("uint8_t *out)", "uint8_t *out, size_t out_len)")
            .replace("(-12)", "(-13)")
            .replace("size_t ipxe_config_none(void);", "")
            .replace("uint8_t node_uuid[16];", "uint32_t has_node;");
        let problems = compare(&rust, &parse_header(&drifted).unwrap());
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(problems[0].contains("2 parameters in Rust, 3 in the header"));
    }

    #[test]
    fn the_real_header_matches() {
        check_header().unwrap();
    }
}
