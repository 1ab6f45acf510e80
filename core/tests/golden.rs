//! Golden scripts: every state-table row, both boot modes, the error paths and
//! `/boot.ipxe`, rendered from `fixtures/inventory.json` and compared byte for byte with
//! `fixtures/golden/<case>.ipxe`. `UPDATE_GOLDEN=1 cargo test` rewrites them (review the diff).

mod common;

use ipxe_config::{render, render_to, Route};

#[test]
fn rendered_scripts_match_golden_files() {
    let storage = common::load_fixture("inventory.json");
    let inventory = storage.inventory();
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for case in common::golden_cases() {
        let route = Route::parse(case.target.as_bytes()).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let mut out = [0u8; 4096];
        let rendered = render(&inventory, &case.config, &route, &mut out).expect("fits in 4 KiB");
        let actual = std::str::from_utf8(&out[..rendered.len]).expect("scripts are UTF-8");
        assert!(actual.starts_with("#!ipxe\n"), "{}", case.name);
        for line in actual.lines().filter(|l| l.starts_with("echo ")) {
            assert!(line.len() - "echo ".len() < 80, "{}: console line too wide: {line}", case.name);
        }
        let path = common::fixture(&format!("golden/{}.ipxe", case.name));
        if update {
            std::fs::write(&path, actual).expect("golden file writable");
            continue;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_default();
        if expected != actual {
            let diff = similar::TextDiff::from_lines(expected.as_str(), actual);
            failures.push(format!(
                "--- {} (expected: {})\n{}",
                case.name,
                path.display(),
                diff.unified_diff().header("expected", "rendered")
            ));
        }
    }
    assert!(failures.is_empty(), "golden mismatches:\n{}", failures.join("\n"));
}

/// A quarantined node's error script (`fixtures/quarantine.json`: one node with an unsafe
/// `kernel_append_params` beside a healthy one), looked up by MAC.
#[test]
fn quarantined_node_error_script_matches_golden_file() {
    let storage = common::load_fixture("quarantine.json");
    let inventory = storage.inventory();
    assert_eq!(inventory.quarantined_count(), 1);
    let route = Route::parse(b"/v1/drivers/ipmi/vendor_passthru/ipxe_config?port_address=52:54:00:00:00:0f").unwrap();
    let mut out = [0u8; 4096];
    let rendered = render(&inventory, &common::GOLDEN_CONFIG, &route, &mut out).expect("fits in 4 KiB");
    let actual = std::str::from_utf8(&out[..rendered.len]).expect("scripts are UTF-8");
    for line in actual.lines().filter(|l| l.starts_with("echo ")) {
        assert!(line.len() - "echo ".len() < 80, "console line too wide: {line}");
    }
    let path = common::fixture("golden/error-quarantined.ipxe");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("golden file writable");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(expected, actual, "{}", path.display());
}

#[test]
fn a_short_buffer_gets_the_needed_size_not_a_truncated_script() {
    let storage = common::load_fixture("inventory.json");
    let inventory = storage.inventory();
    for case in common::golden_cases() {
        let route = Route::parse(case.target.as_bytes()).expect("valid target");
        let mut full = [0u8; 4096];
        let len = render(&inventory, &case.config, &route, &mut full).expect("fits").len;
        let mut short = vec![0u8; len - 1];
        let error = render(&inventory, &case.config, &route, &mut short).expect_err("must not fit");
        assert_eq!(error.needed, len, "{}", case.name);
        let mut exact = vec![0u8; len];
        assert_eq!(render(&inventory, &case.config, &route, &mut exact).expect("fits exactly").len, len);
        assert_eq!(exact, full[..len]);
    }
}

/// An `embedded_io::Write` that takes a few bytes per call, as a socket may, and fails
/// with `WriteZero` once `capacity` bytes are in.
struct Trickle {
    bytes: Vec<u8>,
    capacity: usize,
}

impl embedded_io::ErrorType for Trickle {
    type Error = embedded_io::ErrorKind;
}

impl embedded_io::Write for Trickle {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        let room = self.capacity - self.bytes.len();
        if room == 0 && !buf.is_empty() {
            return Err(embedded_io::ErrorKind::WriteZero);
        }
        let taken = buf.len().min(room).min(7);
        self.bytes.extend_from_slice(&buf[..taken]);
        Ok(taken)
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

#[test]
fn an_embedded_io_sink_gets_the_same_script_and_its_errors_propagate() {
    let storage = common::load_fixture("inventory.json");
    let inventory = storage.inventory();
    for case in common::golden_cases() {
        let route = Route::parse(case.target.as_bytes()).expect("valid target");
        let mut out = [0u8; 4096];
        let sliced = render(&inventory, &case.config, &route, &mut out).expect("fits");
        let mut sink = Trickle { bytes: Vec::new(), capacity: usize::MAX };
        let streamed = render_to(&inventory, &case.config, &route, &mut sink).expect("an unbounded sink");
        assert_eq!(streamed, sliced, "{}", case.name);
        assert_eq!(sink.bytes, out[..sliced.len], "{}", case.name);
        let mut full = Trickle { bytes: Vec::new(), capacity: sliced.len - 1 };
        let error = render_to(&inventory, &case.config, &route, &mut full).expect_err("must not fit");
        assert_eq!(error, embedded_io::ErrorKind::WriteZero, "{}", case.name);
        assert_eq!(full.bytes, out[..sliced.len - 1], "{}", case.name);
    }
}

#[test]
fn the_shipped_static_chain_script_is_what_the_server_renders() {
    // ipxe-scripts/boot.ipxe is for operators whose own DHCP/TFTP hands it out (or who
    // embed it into an iPXE build): it must not drift from /boot.ipxe with the defaults.
    let storage = common::load_fixture("inventory.json");
    let mut out = [0u8; 4096];
    let rendered =
        render(&storage.inventory(), &ipxe_config::RenderConfig::DEFAULT, &Route::ChainScript, &mut out).expect("fits");
    let actual = std::str::from_utf8(&out[..rendered.len]).expect("UTF-8");
    let path = common::fixture("../ipxe-scripts/boot.ipxe");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("writable");
    }
    let shipped = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(shipped, actual, "{} differs from the rendered chain script", path.display());
}
