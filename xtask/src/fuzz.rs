//! `cargo xtask fuzz`: runs every cargo-fuzz target in `fuzz/` for a fixed time and
//! reports how many inputs each one executed.
//!
//! Each target runs as `cargo +nightly fuzz run <target> <scratch> corpus/<target> --
//! -max_total_time=N` from `fuzz/` (through `rustup run nightly`, which works whatever
//! toolchain the calling cargo pinned). libFuzzer reads the checked-in seeds but writes
//! what it finds into a scratch corpus under `fuzz/target/`, so the seeds stay as
//! reviewed. A crash (any non-zero exit) fails the run, naming the target, the input
//! libFuzzer saved under `fuzz/artifacts/<target>/` and the full log.

use std::fmt;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::cmd::{describe, workspace_root};

/// The fuzz targets, in the order they run: the core's, then the server's (one TCP
/// stream of HTTP requests, one DHCP datagram, TFTP datagrams, each at a whole appliance).
pub fn targets() -> &'static [&'static str] {
    &["route", "inventory", "render", "http_request", "dhcp_packet", "tftp_packet"]
}

/// What one target did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRun {
    /// The target's name.
    pub target: String,
    /// Inputs executed (libFuzzer's `#N DONE` / `stat::number_of_executed_units`).
    pub executions: u64,
    /// libFuzzer's average executions per second.
    pub executions_per_second: u64,
    /// Coverage points reached (`cov:` of the final line), when printed.
    pub coverage: Option<u64>,
    /// Where the full libFuzzer output is.
    pub log: PathBuf,
}

/// Every target's run, in [`targets`] order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuzzReport {
    /// Seconds each target was given.
    pub seconds_per_target: u64,
    /// One entry per target.
    pub runs: Vec<TargetRun>,
}

impl fmt::Display for FuzzReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "fuzzing, {} s per target:", self.seconds_per_target)?;
        writeln!(f, "  {:<12} {:>12} {:>10} {:>8}", "target", "executions", "exec/s", "cov")?;
        for run in &self.runs {
            let coverage = run.coverage.map_or_else(|| "-".to_string(), |c| c.to_string());
            writeln!(
                f,
                "  {:<12} {:>12} {:>10} {:>8}",
                run.target, run.executions, run.executions_per_second, coverage
            )?;
        }
        Ok(())
    }
}

/// Installs cargo-fuzz if it is missing, builds the targets, then runs each one for
/// `seconds_per_target` seconds. Fails on the first crash, naming the target and the
/// saved input.
pub fn run(seconds_per_target: u64) -> Result<FuzzReport, String> {
    let fuzz_dir = workspace_root().join("fuzz");
    if !fuzz_dir.join("Cargo.toml").is_file() {
        return Err(format!("no fuzz crate at {}", fuzz_dir.display()));
    }
    ensure_nightly()?;
    ensure_cargo_fuzz()?;
    let mut build = nightly_cargo(&fuzz_dir);
    build.args(["fuzz", "build"]);
    crate::cmd::run(&mut build).map_err(|error| format!("building the fuzz targets: {error}"))?;

    let logs = fuzz_dir.join("target/fuzz-logs");
    fs::create_dir_all(&logs).map_err(|error| format!("creating {}: {error}", logs.display()))?;
    let mut runs = Vec::new();
    for target in targets() {
        runs.push(run_target(&fuzz_dir, &logs, target, seconds_per_target)?);
    }
    Ok(FuzzReport { seconds_per_target, runs })
}

fn run_target(fuzz_dir: &Path, logs: &Path, target: &str, seconds: u64) -> Result<TargetRun, String> {
    let scratch = fuzz_dir.join("target/fuzz-corpus").join(target);
    fs::create_dir_all(&scratch).map_err(|error| format!("creating {}: {error}", scratch.display()))?;
    let seeds = fuzz_dir.join("corpus").join(target);
    let log_path = logs.join(format!("{target}.log"));
    let log = File::create(&log_path).map_err(|error| format!("creating {}: {error}", log_path.display()))?;
    let log_err = log.try_clone().map_err(|error| format!("{}: {error}", log_path.display()))?;

    let mut command = nightly_cargo(fuzz_dir);
    command.args(["fuzz", "run", target]).arg(&scratch);
    if seeds.is_dir() {
        command.arg(&seeds);
    }
    command.arg("--").arg(format!("-max_total_time={seconds}")).arg("-print_final_stats=1");
    command.stdout(Stdio::from(log)).stderr(Stdio::from(log_err));
    println!("$ {}  (output in {})", describe(&command), log_path.display());
    let status = command.status().map_err(|error| format!("cannot start `{}`: {error}", describe(&command)))?;
    let output = fs::read_to_string(&log_path).map_err(|error| format!("reading {}: {error}", log_path.display()))?;
    if !status.success() {
        let artifact = artifact_path(&output)
            .map_or_else(|| "no input saved (see the log)".to_string(), |path| format!("input saved as {path}"));
        return Err(format!(
            "fuzz target `{target}` failed ({status}): {artifact}; log: {}; reproduce with `cd fuzz && cargo +nightly fuzz run {target} <input>`",
            log_path.display()
        ));
    }
    let figures = parse_stats(&output)
        .ok_or_else(|| format!("fuzz target `{target}`: no final statistics in {}", log_path.display()))?;
    Ok(TargetRun {
        target: target.to_string(),
        executions: figures.executions,
        executions_per_second: figures.executions_per_second,
        coverage: figures.coverage,
        log: log_path,
    })
}

/// The figures of a libFuzzer run's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Stats {
    executions: u64,
    executions_per_second: u64,
    coverage: Option<u64>,
}

/// Reads `#N DONE cov: C … exec/s: E …` (printed when `-max_total_time` ends the run),
/// and the `stat::` lines of `-print_final_stats=1`, which win when both are there.
fn parse_stats(output: &str) -> Option<Stats> {
    let mut stats: Option<Stats> = None;
    for line in output.lines() {
        let mut words = line.split_whitespace();
        if let (Some(count), Some("DONE")) = (words.next(), words.next()) {
            if let Some(executions) = count.strip_prefix('#').and_then(|n| n.parse().ok()) {
                let entry = stats.get_or_insert_with(Stats::default);
                entry.executions = executions;
                entry.executions_per_second = field_after(line, "exec/s:").unwrap_or(0);
                entry.coverage = field_after(line, "cov:");
            }
        } else if let Some(value) = stat(line, "stat::number_of_executed_units:") {
            stats.get_or_insert_with(Stats::default).executions = value;
        } else if let Some(value) = stat(line, "stat::average_exec_per_sec:") {
            stats.get_or_insert_with(Stats::default).executions_per_second = value;
        }
    }
    stats
}

fn stat(line: &str, name: &str) -> Option<u64> {
    line.trim().strip_prefix(name)?.trim().parse().ok()
}

/// The number after `label` on a libFuzzer status line (`cov: 1993`).
fn field_after(line: &str, label: &str) -> Option<u64> {
    let mut words = line.split_whitespace();
    words.find(|word| *word == label)?;
    words.next()?.parse().ok()
}

/// Where libFuzzer saved the crashing input (`Test unit written to <path>`).
fn artifact_path(output: &str) -> Option<String> {
    output.lines().rev().find_map(|line| {
        let path = line.split_once("Test unit written to ")?.1.trim();
        (!path.is_empty()).then(|| path.to_string())
    })
}

/// `cargo` of the nightly toolchain, whatever `rust-toolchain.toml` or `$CARGO` say; run
/// from `dir`.
fn nightly_cargo(dir: &Path) -> Command {
    let mut command = Command::new("rustup");
    command.args(["run", "nightly", "cargo"]).current_dir(dir);
    // Set by the cargo running xtask; they would point the child at the pinned toolchain.
    for variable in ["CARGO", "RUSTC", "RUSTDOC", "RUSTUP_TOOLCHAIN", "CARGO_MANIFEST_DIR"] {
        command.env_remove(variable);
    }
    command
}

fn ensure_nightly() -> Result<(), String> {
    let found = Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if found {
        Ok(())
    } else {
        Err("fuzzing needs the nightly toolchain: `rustup toolchain install nightly --profile minimal`".into())
    }
}

fn ensure_cargo_fuzz() -> Result<(), String> {
    let installed = nightly_cargo(&workspace_root())
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if installed {
        return Ok(());
    }
    let mut install = crate::cmd::cargo();
    install.args(["install", "cargo-fuzz", "--locked"]);
    crate::cmd::run(&mut install).map_err(|error| format!("installing cargo-fuzz: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const END_OF_RUN: &str = "\
INFO: Running with entropic power schedule (0xFF, 100).
#2	INITED cov: 77 ft: 78 corp: 1/1b exec/s: 0 rss: 31Mb
#1048576	pulse  cov: 492 ft: 1070 corp: 380/19Kb lim: 4096 exec/s: 99864 rss: 460Mb
#2147013	DONE   cov: 492 ft: 1072 corp: 383/19Kb lim: 4096 exec/s: 102238 rss: 467Mb
###### Recommended dictionary. ######
\"..\" # Uses: 3023
###### End of recommended dictionary. ######
Done 2147013 runs in 21 second(s)
stat::number_of_executed_units: 2147013
stat::average_exec_per_sec:     102238
stat::new_units_added:          1834
";

    #[test]
    fn reads_the_final_line_and_stats() {
        assert_eq!(
            parse_stats(END_OF_RUN),
            Some(Stats { executions: 2_147_013, executions_per_second: 102_238, coverage: Some(492) })
        );
        let only_done = "#194440\tDONE   cov: 1993 ft: 7265 corp: 982/1270Kb lim: 4112 exec/s: 6272 rss: 513Mb\n";
        assert_eq!(
            parse_stats(only_done),
            Some(Stats { executions: 194_440, executions_per_second: 6272, coverage: Some(1993) })
        );
        assert_eq!(parse_stats("INFO: Seed: 1\n"), None);
    }

    #[test]
    fn every_target_is_a_binary_of_the_fuzz_crate() {
        let manifest = fs::read_to_string(workspace_root().join("fuzz/Cargo.toml")).unwrap();
        let mut binaries = Vec::new();
        let mut in_bin = false;
        for line in manifest.lines().map(str::trim) {
            if line.starts_with('[') {
                in_bin = line == "[[bin]]";
            } else if let Some(name) = line.strip_prefix("name = \"").and_then(|rest| rest.strip_suffix('"')) {
                if in_bin {
                    binaries.push(name);
                }
            }
        }
        binaries.sort_unstable();
        let mut listed = targets().to_vec();
        listed.sort_unstable();
        assert_eq!(listed, binaries, "targets() and the [[bin]]s of fuzz/Cargo.toml differ");
    }

    #[test]
    fn finds_the_crashing_input() {
        let crash = "\
==1234== ERROR: libFuzzer: deadly signal
MS: 1 ChangeBit-; base unit: 0000
artifact_prefix='/work/main/fuzz/artifacts/route/'; Test unit written to /work/main/fuzz/artifacts/route/crash-da39a3ee
Base64: AA==
";
        assert_eq!(artifact_path(crash).as_deref(), Some("/work/main/fuzz/artifacts/route/crash-da39a3ee"));
        assert_eq!(artifact_path(END_OF_RUN), None);
    }
}
