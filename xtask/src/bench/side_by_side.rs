//! The appliance against nginx, side by side in one run: real nginx from Debian (one
//! worker, `sendfile`) on a veth, the appliance on `--raw-socket` over a veth and on
//! `--tap`, each link of the same MTU ([`LINK_MTU`]), serving the same artifact and the
//! same script bytes to the same clients (`wrk` from Debian, one thread, in a namespace of
//! their own). nginx runs once more on a veth of 1500 bytes, and each ratio is to the
//! faster of its two links. Rounds interleave the servers so a noisy neighbour on this
//! shared machine slows all of them alike; each figure is the median of the rounds, with
//! their range.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::links::{
    ensure_tools, output_of, Links, Server, LINK_MTU, NGINX_1500_ADDRESS, NGINX_ADDRESS, RAW_ADDRESS, RAW_INTERFACE,
    TAP_ADDRESS, TAP_INTERFACE,
};
use super::{Budget, Figure};
use crate::cmd::{self, cargo, workspace_root};

/// The node whose deploy script is fetched (fixtures/inventory.json).
const SCRIPT_TARGET: &str =
    "/v1/drivers/ipmi/vendor_passthru/ipxe_config?node_uuid=00000001-0000-4000-8000-000000000001";
/// The artifact: 64 MiB, the size (8 MiB in a quick run).
const ARTIFACT: &str = "/deploy.initramfs";
/// nginx serves the appliance's script bytes from this file.
const NGINX_SCRIPT: &str = "/deploy.ipxe";

/// How long and how often: many short rounds rather than a few long ones, so a burst of
/// load from a neighbour spoils a round or two and not the median.
struct Plan {
    rounds: usize,
    artifact_bytes: usize,
    /// Each artifact run's length.
    file_seconds: u32,
    /// Each script run's length.
    script_seconds: u32,
}

const FULL: Plan = Plan { rounds: 7, artifact_bytes: 64 << 20, file_seconds: 2, script_seconds: 1 };
const QUICK: Plan = Plan { rounds: 1, artifact_bytes: 8 << 20, file_seconds: 1, script_seconds: 1 };

/// One server under test.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Nginx,
    Nginx1500,
    Raw,
    Tap,
}

impl Target {
    const ALL: [Target; 4] = [Target::Nginx, Target::Nginx1500, Target::Raw, Target::Tap];

    /// Which of the started servers (nginx, the raw-socket appliance, the TAP one) it is.
    fn server(self) -> usize {
        match self {
            Target::Nginx | Target::Nginx1500 => 0,
            Target::Raw => 1,
            Target::Tap => 2,
        }
    }

    fn is_appliance(self) -> bool {
        matches!(self, Target::Raw | Target::Tap)
    }

    /// nginx on a veth with `sendfile` (of the bench's MTU, and of 1500 bytes); the
    /// appliance on `--raw-socket` over a veth; the appliance on `--tap`.
    fn label(self) -> &'static str {
        match self {
            Target::Nginx => "nginx",
            Target::Nginx1500 => "nginx at MTU 1500",
            Target::Raw => "raw-socket",
            Target::Tap => "tap",
        }
    }

    fn address(self) -> &'static str {
        match self {
            Target::Nginx => NGINX_ADDRESS,
            Target::Nginx1500 => NGINX_1500_ADDRESS,
            Target::Raw => RAW_ADDRESS,
            Target::Tap => TAP_ADDRESS,
        }
    }

    fn script_path(self) -> &'static str {
        if !self.is_appliance() {
            NGINX_SCRIPT
        } else {
            SCRIPT_TARGET
        }
    }
}

/// What is measured of each server.
#[derive(Clone, Copy)]
enum Test {
    /// The artifact, over and over, to one client: MB/s.
    OneClient,
    /// The artifact to eight clients at once: MB/s together.
    EightClients,
    /// The script, eight clients on keep-alive connections: requests/s.
    ScriptsKeepAlive,
    /// The script, eight clients each opening a connection per request: requests/s.
    ScriptsNewConnection,
}

impl Test {
    const ALL: [Test; 4] = [Test::OneClient, Test::EightClients, Test::ScriptsKeepAlive, Test::ScriptsNewConnection];

    fn label(self, artifact_bytes: usize) -> String {
        let mib = artifact_bytes >> 20;
        match self {
            Test::OneClient => format!("vs nginx: {mib} MiB, 1 client"),
            Test::EightClients => format!("vs nginx: {mib} MiB, 8 clients together"),
            Test::ScriptsKeepAlive => "vs nginx: scripts, keep-alive".into(),
            Test::ScriptsNewConnection => "vs nginx: scripts, new connection each".into(),
        }
    }

    fn unit(self) -> &'static str {
        match self {
            Test::OneClient | Test::EightClients => "MB/s",
            Test::ScriptsKeepAlive | Test::ScriptsNewConnection => "req/s",
        }
    }
}

/// Measures and returns the side-by-side figures with their budgets.
pub fn figures(quick: bool) -> Result<Vec<Figure>, String> {
    let plan = if quick { QUICK } else { FULL };
    ensure_tools()?;
    cmd::run(cargo().args([
        "build",
        "--quiet",
        "--release",
        "-p",
        "ipxe-config-server",
        "--bin",
        "ipxe-config-appliance",
    ]))?;
    let appliance = workspace_root().join("target/release/ipxe-config-appliance");
    let scratch = workspace_root().join("target/bench/side-by-side");
    let root = prepare_root(&scratch, plan.artifact_bytes)?;
    let links = Links::create()?;
    // Declared after `links`, so they are killed before the namespaces go.
    let servers = start_servers(&links, &appliance, &scratch, &root)?;
    // The same bytes from nginx as from the appliance.
    let script = curl(&links, &format!("http://{RAW_ADDRESS}{SCRIPT_TARGET}"))?;
    if !script.starts_with("#!ipxe") {
        return Err(format!("the appliance's script does not start with #!ipxe: {script:.80}"));
    }
    fs::write(root.join(NGINX_SCRIPT.trim_start_matches('/')), &script)
        .map_err(|e| format!("{}: {e}", root.display()))?;
    for target in Target::ALL {
        let fetched = curl(&links, &format!("http://{}{}", target.address(), target.script_path()))?;
        if fetched != script {
            return Err(format!("{} served different script bytes", target.label()));
        }
    }
    // results[test][target]: one measurement per round.
    let mut results = vec![vec![Vec::new(); Target::ALL.len()]; Test::ALL.len()];
    for round in 0..plan.rounds {
        println!("side by side: round {} of {}", round + 1, plan.rounds);
        for (test_index, test) in Test::ALL.into_iter().enumerate() {
            for (target_index, target) in Target::ALL.into_iter().enumerate() {
                let server = servers.get(target.server()).ok_or("a server is missing")?;
                let seconds = match test {
                    Test::OneClient | Test::EightClients => plan.file_seconds,
                    Test::ScriptsKeepAlive | Test::ScriptsNewConnection => plan.script_seconds,
                };
                let measured = measure(&links, target, test, seconds, server.pid())?;
                results[test_index][target_index].push(measured);
            }
        }
    }
    drop(servers);
    drop(links);
    Ok(side_by_side_figures(&results, plan.artifact_bytes))
}

/// The servers' shared document root, with the artifact in it.
fn prepare_root(scratch: &Path, artifact_bytes: usize) -> Result<PathBuf, String> {
    let root = scratch.join("root");
    fs::create_dir_all(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    // Bytes that do not compress or repeat in any short period, the same every run.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut artifact = Vec::with_capacity(artifact_bytes);
    while artifact.len() < artifact_bytes {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        artifact.extend_from_slice(&state.to_le_bytes());
    }
    artifact.truncate(artifact_bytes);
    let path = root.join(ARTIFACT.trim_start_matches('/'));
    fs::write(&path, &artifact).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(root)
}

fn start_servers(links: &Links, appliance: &Path, scratch: &Path, root: &Path) -> Result<Vec<Server>, String> {
    let conf = scratch.join("nginx.conf");
    fs::write(&conf, nginx_conf(scratch, root)).map_err(|e| format!("{}: {e}", conf.display()))?;
    let mut nginx = Links::command(&links.servers, "nginx");
    nginx.arg("-p").arg(scratch).arg("-c").arg(&conf);
    let mut servers = vec![Server::start("nginx", nginx, None)?];
    let inventory = workspace_root().join("fixtures/inventory.json");
    for (namespace, backend, interface, address) in [
        (&links.servers, "--raw-socket", RAW_INTERFACE, RAW_ADDRESS),
        (&links.clients, "--tap", TAP_INTERFACE, TAP_ADDRESS),
    ] {
        let mut command = Links::command(namespace, &appliance.to_string_lossy());
        command
            .args([backend, interface, "--ip", &format!("{address}/24"), "--no-dhcp", "--inventory"])
            .arg(&inventory)
            .arg("--http-root")
            .arg(root)
            .env("RUST_LOG", "warn");
        servers.push(Server::start("appliance", command, Some("ready ip="))?);
    }
    wait_until_serving(links, NGINX_ADDRESS)?;
    wait_until_serving(links, NGINX_1500_ADDRESS)?;
    Ok(servers)
}

/// One nginx worker, no master, `sendfile`; every path under the scratch directory.
fn nginx_conf(scratch: &Path, root: &Path) -> String {
    let s = scratch.display();
    format!(
        "worker_processes 1;\ndaemon off;\nmaster_process off;\npid {s}/nginx.pid;\nerror_log {s}/nginx-error.log;\n\
         events {{ worker_connections 1024; }}\n\
         http {{\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n  keepalive_requests 100000000;\n\
         \x20 client_body_temp_path {s}/client-body;\n  proxy_temp_path {s}/proxy;\n  fastcgi_temp_path {s}/fastcgi;\n\
         \x20 uwsgi_temp_path {s}/uwsgi;\n  scgi_temp_path {s}/scgi;\n  default_type application/octet-stream;\n\
         \x20 server {{ listen {NGINX_ADDRESS}:80; listen {NGINX_1500_ADDRESS}:80; root {}; }}\n}}\n",
        root.display()
    )
}

fn wait_until_serving(links: &Links, address: &str) -> Result<(), String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match curl(links, &format!("http://{address}{ARTIFACT}")) {
            Ok(_) => return Ok(()),
            Err(error) if std::time::Instant::now() >= deadline => return Err(format!("nginx never served: {error}")),
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(100)),
        }
    }
}

/// `url`'s body, fetched from the clients' namespace; an error for any status but 200.
fn curl(links: &Links, url: &str) -> Result<String, String> {
    let mut command = Links::command(&links.clients, "curl");
    command.args(["--silent", "--show-error", "--fail", "--max-time", "10", url]);
    output_of(&mut command)
}

/// What one `wrk` run gave: its rate, and the server's CPU time per GB moved (user and
/// system, which includes the receiving kernel's work done in the server's context).
#[derive(Clone, Copy)]
struct Measured {
    rate: f64,
    cpu_ms_per_gb: f64,
}

/// One figure of one server: `wrk` from the clients' namespace for `seconds`.
fn measure(links: &Links, target: Target, test: Test, seconds: u32, server_pid: u32) -> Result<Measured, String> {
    let (connections, path) = match test {
        Test::OneClient => (1, ARTIFACT),
        Test::EightClients => (8, ARTIFACT),
        Test::ScriptsKeepAlive | Test::ScriptsNewConnection => (8, target.script_path()),
    };
    let mut command: Command = Links::command(&links.clients, "wrk");
    command.args(["--threads", "1", "--connections", &connections.to_string(), "--duration", &format!("{seconds}s")]);
    if matches!(test, Test::ScriptsNewConnection) {
        command.args(["--header", "Connection: close"]);
    }
    command.arg(format!("http://{}{path}", target.address()));
    let cpu_before = cpu_ticks(server_pid)?;
    let report = output_of(&mut command)?;
    let cpu_ticks_used = cpu_ticks(server_pid)? - cpu_before;
    if report.contains("Non-2xx") {
        return Err(format!(
            "{}: answers other than 200 under `{}`:\n{report}",
            target.label(),
            cmd::describe(&command)
        ));
    }
    let unreadable = || format!("{}: cannot read wrk's report:\n{report}", target.label());
    let rate = match test {
        Test::OneClient | Test::EightClients => wrk_field(&report, "Transfer/sec:").map(|bytes| bytes / 1e6),
        Test::ScriptsKeepAlive | Test::ScriptsNewConnection => wrk_field(&report, "Requests/sec:"),
    }
    .ok_or_else(unreadable)?;
    // "  123 requests in 2.00s, 7.81GB read"
    let bytes = report
        .lines()
        .find_map(|line| line.trim().strip_suffix(" read")?.rsplit(' ').next().and_then(with_unit))
        .ok_or_else(unreadable)?;
    let cpu_ms = cpu_ticks_used * 1000.0 / clock_ticks_per_second();
    Ok(Measured { rate, cpu_ms_per_gb: if bytes > 0.0 { cpu_ms / (bytes / 1e9) } else { 0.0 } })
}

/// User plus system CPU time of process `pid` so far, in clock ticks (`/proc/PID/stat`).
fn cpu_ticks(pid: u32) -> Result<f64, String> {
    let path = format!("/proc/{pid}/stat");
    let stat = fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    // Fields after the command name (which may hold spaces) in parentheses: the state is
    // field 3, utime 14 and stime 15.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let tick = |index: usize| fields.get(index).and_then(|v| v.parse::<f64>().ok());
    match (tick(11), tick(12)) {
        (Some(user), Some(system)) => Ok(user + system),
        _ => Err(format!("{path}: no utime/stime")),
    }
}

fn clock_ticks_per_second() -> f64 {
    #[allow(unsafe_code)] // reason: sysconf(3) has no preconditions
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

/// A number from wrk's summary, with its binary unit suffix (`1.23GB`) applied.
fn wrk_field(report: &str, key: &str) -> Option<f64> {
    with_unit(report.lines().find_map(|line| line.trim().strip_prefix(key))?.trim())
}

/// `1.23GB`, `512.00KB`, `98B` (wrk's units are binary) as a number of bytes.
fn with_unit(text: &str) -> Option<f64> {
    let (number, scale) = [("GB", 1024.0 * 1024.0 * 1024.0), ("MB", 1024.0 * 1024.0), ("KB", 1024.0), ("B", 1.0)]
        .into_iter()
        .find_map(|(suffix, scale)| text.strip_suffix(suffix).map(|number| (number, scale)))
        .unwrap_or((text, 1.0));
    number.parse::<f64>().ok().map(|value| value * scale)
}

/// Median and range of one server's rounds.
fn summarize(values: &[f64]) -> (f64, (f64, f64)) {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
    (median, (sorted.first().copied().unwrap_or(median), sorted.last().copied().unwrap_or(median)))
}

/// The targets: ≥ 1 GB/s and ≥ half of nginx for one client on either backend,
/// eight clients together no slower than one, scripts ≥ 1.5× nginx. A ratio is the
/// median of the rounds' own ratios: the two figures of a round were measured moments
/// apart, so a neighbour's load that comes and goes between rounds cancels out.
fn side_by_side_figures(results: &[Vec<Vec<Measured>>], artifact_bytes: usize) -> Vec<Figure> {
    let mut figures = Vec::new();
    let rates = |test: usize, target: usize| -> Vec<f64> { results[test][target].iter().map(|m| m.rate).collect() };
    // A round's ratio to nginx is to the faster of its two links in that round.
    let best_nginx =
        |test: usize| -> Vec<f64> { rates(test, 0).iter().zip(rates(test, 1)).map(|(a, b)| a.max(b)).collect() };
    let paired = |numerators: Vec<f64>, denominators: Vec<f64>| -> f64 {
        let ratios: Vec<f64> =
            numerators.iter().zip(denominators).map(|(a, b)| if b > 0.0 { a / b } else { 0.0 }).collect();
        summarize(&ratios).0
    };
    for (test_index, test) in Test::ALL.into_iter().enumerate() {
        for (target_index, target) in Target::ALL.into_iter().enumerate() {
            let (value, range) = summarize(&rates(test_index, target_index));
            let budget = match (test, target) {
                (Test::OneClient, Target::Raw | Target::Tap) => Some(Budget::AtLeast(1000.0)),
                _ => None,
            };
            figures.push(Figure {
                name: format!("{}: {}", test.label(artifact_bytes), target.label()),
                value,
                unit: test.unit(),
                spread: Some(range),
                budget,
            });
        }
        for (target_index, target) in Target::ALL.into_iter().enumerate().filter(|(_, t)| t.is_appliance()) {
            let budget = match test {
                Test::OneClient => Budget::AtLeast(0.5),
                Test::EightClients => continue,
                Test::ScriptsKeepAlive | Test::ScriptsNewConnection => Budget::AtLeast(1.5),
            };
            figures.push(ratio(
                format!("{}: {} / best nginx", test.label(artifact_bytes), target.label()),
                paired(rates(test_index, target_index), best_nginx(test_index)),
                budget,
            ));
        }
    }
    for (target_index, target) in Target::ALL.into_iter().enumerate().filter(|(_, t)| t.is_appliance()) {
        figures.push(ratio(
            format!("vs nginx: {}, 8 clients / 1", target.label()),
            paired(rates(1, target_index), rates(0, target_index)),
            Budget::AtLeast(1.0),
        ));
    }
    // What each server spent per GB: steadier than a rate on a shared machine, and with
    // eight clients it shows whether the server's own work per byte grows with them.
    for (test_index, clients) in [(0, 1), (1, 8)] {
        for (target_index, target) in Target::ALL.into_iter().enumerate() {
            let cpu: Vec<f64> = results[test_index][target_index].iter().map(|m| m.cpu_ms_per_gb).collect();
            let (value, range) = summarize(&cpu);
            figures.push(Figure {
                name: format!("vs nginx: server CPU per GB, {clients} client(s): {}", target.label()),
                value,
                unit: "ms",
                spread: Some(range),
                budget: None,
            });
        }
    }
    figures.push(Figure {
        name: "vs nginx: every link's MTU".into(),
        value: f64::from(LINK_MTU),
        unit: "B",
        spread: None,
        budget: None,
    });
    figures
}

fn ratio(name: String, value: f64, budget: Budget) -> Figure {
    Figure { name, value, unit: "×", spread: None, budget: Some(budget) }
}
