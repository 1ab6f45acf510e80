//! `cargo xtask ironic-source`: the appliance's Ironic client against a real Ironic 39
//! served over TLS by Ironic itself (a CA and a leaf certificate made with openssl):
//!
//! - with `--ironic-ca` the appliance syncs, and its metrics page says so;
//! - with the system's roots it refuses the certificate and says so once;
//! - with a wrong password Ironic answers 401, said once, however often it retries;
//! - then `--ironic-auth keystone` against a real Keystone (`keystone_checks`).
//!
//! Each appliance and Ironic are stopped by their own IDs on every path.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use super::server::{Ironic, IronicDir, PASSWORD, USER};
use crate::cmd::{cargo, run, workspace_root};

/// One appliance process on a unix datagram socket (nothing talks to it but its log).
pub(super) struct Appliance {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Drop for Appliance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Appliance {
    pub(super) fn start(dir: &Path, name: &str, args: &[String]) -> Result<Self, String> {
        let binary = workspace_root().join("target/debug/ipxe-config-appliance");
        let mut all = vec!["--ironic-retry-ms".to_string(), "200".to_string()];
        all.extend_from_slice(args);
        Self::spawn(&binary, &dir.join(format!("{name}.sock")), &all, None)
    }

    /// `binary` on the unix datagram socket `socket`, no DHCP, with `args`; its log is
    /// collected, and also written to `log` when given.
    pub(super) fn spawn(binary: &Path, socket: &Path, args: &[String], log: Option<PathBuf>) -> Result<Self, String> {
        let _ = fs::remove_file(socket);
        let mut child = Command::new(binary)
            .arg("--qemu-dgram")
            .arg(socket)
            .arg("--no-dhcp")
            .args(args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start the appliance: {e}"))?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let lines: Arc<Mutex<Vec<String>>> = Arc::default();
        let collected = Arc::clone(&lines);
        std::thread::spawn(move || {
            let mut log = log.and_then(|path| fs::File::create(path).ok());
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(log) = &mut log {
                    let _ = std::io::Write::write_all(log, format!("{line}\n").as_bytes());
                }
                if let Ok(mut lines) = collected.lock() {
                    lines.push(line);
                }
            }
        });
        Ok(Appliance { child, lines })
    }

    pub(super) fn count(&self, wanted: &str) -> usize {
        self.lines.lock().map(|lines| lines.iter().filter(|l| l.contains(wanted)).count()).unwrap_or(0)
    }

    pub(super) fn log(&self) -> String {
        self.lines.lock().map(|lines| lines.join("\n")).unwrap_or_default()
    }

    pub(super) fn wait_for(&mut self, wanted: &str, timeout: Duration) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.lines.lock().ok().and_then(|l| l.iter().find(|l| l.contains(wanted)).cloned()) {
                return Ok(line);
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("the appliance exited ({status}) before `{wanted}`:\n{}", self.log()));
            }
            if Instant::now() > deadline {
                return Err(format!("no `{wanted}` within {timeout:?}:\n{}", self.log()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A CA, and a leaf for 127.0.0.1 it signed: `(ca, chain, key)`.
fn certificates(dir: &Path) -> Result<(PathBuf, PathBuf, PathBuf), String> {
    let file = |name: &str| dir.join(name);
    let openssl = |args: &[&str]| run(Command::new("openssl").args(args).current_dir(dir).stdout(Stdio::null()));
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=ipxe-config test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ])?;
    openssl(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "ironic.key",
        "-out",
        "ironic.csr",
    ])?;
    fs::write(
        file("leaf.ext"),
        "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .map_err(|e| e.to_string())?;
    openssl(&[
        "x509",
        "-req",
        "-in",
        "ironic.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "leaf.ext",
        "-out",
        "ironic.pem",
    ])?;
    Ok((file("ca.pem"), file("ironic.pem"), file("ironic.key")))
}

pub(super) fn metrics_page(address: &str) -> Result<String, String> {
    let mut stream = TcpStream::connect(address).map_err(|e| format!("metrics {address}: {e}"))?;
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").map_err(|e| e.to_string())?;
    let mut page = String::new();
    stream.read_to_string(&mut page).map_err(|e| e.to_string())?;
    Ok(page)
}

pub fn run_checks() -> Result<(), String> {
    let dir = workspace_root().join("target/ironic-source");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    run(cargo().args(["build", "--quiet", "-p", "ipxe-config-server", "--bin", "ipxe-config-appliance"]))?;
    let (ca, chain, key) = certificates(&dir)?;
    let ironic = Ironic::start(IronicDir {
        root: dir.join("ironic"),
        http_root: dir.join("http-root"),
        database: dir.join("ironic/ironic.sqlite"),
        file_roots: vec![dir.clone()],
        tls: Some((chain, key, ca.clone())),
        keystone: None,
    })?;
    let api = ironic.api();
    api.enroll(
        &json!({"name": "tls-node", "driver": "fake-hardware", "boot_interface": "ipxe",
                "driver_info": {"deploy_kernel": "http://10.99.0.1/k", "deploy_ramdisk": "http://10.99.0.1/r"}}),
        "52:54:00:00:00:41",
    )?;
    let password = dir.join("password");
    fs::write(&password, format!("{PASSWORD}\n")).map_err(|e| e.to_string())?;
    let wrong = dir.join("wrong-password");
    fs::write(&wrong, "not-the-password\n").map_err(|e| e.to_string())?;
    let common = |password: &Path| -> Vec<String> {
        ["--ironic-url", &ironic.url(), "--ironic-auth", "http-basic", "--ironic-user", USER, "--ironic-password-file"]
            .iter()
            .map(|s| (*s).to_owned())
            .chain([password.display().to_string()])
            .collect()
    };

    // The CA given: synced, and the metrics page shows the node and a fresh sync.
    let metrics = format!("127.0.0.1:{}", free_port()?);
    let mut args = common(&password);
    args.extend(["--ironic-ca".to_owned(), ca.display().to_string(), "--metrics-listen".to_owned(), metrics.clone()]);
    let mut trusted = Appliance::start(&dir, "trusted", &args)?;
    trusted.wait_for("inventory synced from Ironic (full sync of 1 nodes", Duration::from_secs(30))?;
    trusted.wait_for("ready ip=", Duration::from_secs(10))?;
    std::thread::sleep(Duration::from_millis(1200));
    let page = metrics_page(&metrics)?;
    for wanted in
        ["ipxe_config_inventory_nodes 1\n", "ipxe_config_inventory_pxe_ports 1\n", "ipxe_config_ironic_unreachable 0\n"]
    {
        if !page.contains(wanted) {
            return Err(format!("the metrics page lacks {wanted:?}:\n{page}"));
        }
    }
    println!("ironic-source: TLS with --ironic-ca: synced; metrics page served");

    // The system's roots do not know the test CA: refused, said once.
    let mut untrusted = Appliance::start(&dir, "untrusted", &common(&password))?;
    let line = untrusted.wait_for("ironic: sync failed", Duration::from_secs(30))?;
    if !line.to_ascii_lowercase().contains("certificate") && !line.contains("UnknownIssuer") {
        return Err(format!("the TLS refusal does not name the certificate: {line}"));
    }
    std::thread::sleep(Duration::from_millis(1500));
    if untrusted.count("ironic: sync failed") != 1 || untrusted.count("inventory synced") != 0 {
        return Err(format!("without the CA: expected one refusal and no sync:\n{}", untrusted.log()));
    }
    println!("ironic-source: TLS with the system roots: refused ({line})");

    // A wrong password: 401, said once across retries.
    let mut refused = Appliance::start(&dir, "refused", &{
        let mut args = common(&wrong);
        args.extend(["--ironic-ca".to_owned(), ca.display().to_string()]);
        args
    })?;
    let line = refused.wait_for("ironic: sync failed", Duration::from_secs(30))?;
    if !line.contains("HTTP 401") {
        return Err(format!("a wrong password is not reported as 401: {line}"));
    }
    std::thread::sleep(Duration::from_millis(1500));
    if refused.count("ironic: sync failed") != 1 {
        return Err(format!("the 401 outage was logged more than once:\n{}", refused.log()));
    }
    println!("ironic-source: wrong password: {line}");
    drop((trusted, untrusted, refused));
    drop(ironic);
    super::keystone_checks::run(&dir)
}

pub(super) fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}
