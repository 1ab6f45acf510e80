//! Prometheus text metrics on an address the operator picks (`--metrics-listen`), on a
//! std TCP listener of the host, never on the public script port: the script endpoint
//! is unauthenticated, and what is served there is the provisioning network's business.
//!
//! The loop publishes a snapshot about once a second; a thread answers `GET /metrics`
//! from the latest one, so a slow scraper never touches the smoltcp loop.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ipxe_config_server::service::RequestCounts;

use crate::ironic::worker::SyncStats;

/// What the loop knows, as of its last publication.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    pub requests: RequestCounts,
    pub leases: usize,
    pub nodes: usize,
    pub ports: usize,
    pub quarantined: usize,
}

/// The shared state: the loop's snapshot and, in Ironic mode, the sync thread's figures.
#[derive(Clone)]
pub struct Metrics {
    snapshot: Arc<Mutex<Snapshot>>,
    sync: Option<Arc<SyncStats>>,
}

impl Metrics {
    /// Metrics of the sync thread's `sync` figures, if the inventory comes from Ironic.
    pub fn new(sync: Option<Arc<SyncStats>>) -> Self {
        Metrics { snapshot: Arc::default(), sync }
    }

    /// Replaces the snapshot.
    pub fn publish(&self, snapshot: Snapshot) {
        if let Ok(mut current) = self.snapshot.lock() {
            *current = snapshot;
        }
    }

    /// The page, in Prometheus's text format 0.0.4.
    pub fn render(&self) -> String {
        let snapshot = self.snapshot.lock().map(|s| s.clone()).unwrap_or_default();
        let mut page = String::new();
        let mut gauge = |name: &str, help: &str, kind: &str, value: String| {
            let _ = write!(page, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n");
        };
        gauge(
            "ipxe_config_inventory_nodes",
            "Nodes in the inventory being served.",
            "gauge",
            snapshot.nodes.to_string(),
        );
        gauge(
            "ipxe_config_inventory_pxe_ports",
            "PXE-enabled ports in the inventory.",
            "gauge",
            snapshot.ports.to_string(),
        );
        gauge(
            "ipxe_config_inventory_quarantined_nodes",
            "Nodes quarantined at load (answered with an error script).",
            "gauge",
            snapshot.quarantined.to_string(),
        );
        gauge(
            "ipxe_config_dhcp_leases_bound",
            "DHCP leases bound and unexpired.",
            "gauge",
            snapshot.leases.to_string(),
        );
        if let Some(sync) = &self.sync {
            // -1 before the first good sync (start-up waits for it, so only briefly).
            let age = sync.age_seconds().map_or("-1".to_owned(), |age| format!("{age:.3}"));
            gauge("ipxe_config_ironic_sync_age_seconds", "Seconds since the last good sync with Ironic.", "gauge", age);
            #[allow(clippy::cast_precision_loss)] // reason: microseconds of one sync, far below 2^52
            let duration = sync.full_sync_micros.load(Ordering::Relaxed) as f64 / 1e6;
            gauge(
                "ipxe_config_ironic_full_sync_duration_seconds",
                "How long the last full sync with Ironic took.",
                "gauge",
                format!("{duration:.6}"),
            );
            let outage = u8::from(sync.in_outage.load(Ordering::Relaxed));
            gauge("ipxe_config_ironic_unreachable", "1 while syncs with Ironic fail.", "gauge", outage.to_string());
            let requests = sync.requests.load(Ordering::Relaxed);
            gauge(
                "ipxe_config_ironic_requests_total",
                "Requests sent to Ironic's API.",
                "counter",
                requests.to_string(),
            );
            let failures = sync.failures.load(Ordering::Relaxed);
            gauge(
                "ipxe_config_ironic_sync_failures_total",
                "Syncs with Ironic that failed.",
                "counter",
                failures.to_string(),
            );
        }
        let _ = write!(
            page,
            "# HELP ipxe_config_http_requests_total HTTP requests answered, by what was answered and status class.\n\
             # TYPE ipxe_config_http_requests_total counter\n"
        );
        for (answered, class, count) in snapshot.requests.iter() {
            let _ = writeln!(
                page,
                "ipxe_config_http_requests_total{{answer=\"{}\",status=\"{class}\"}} {count}",
                answered.label()
            );
        }
        page
    }
}

/// Binds `address` and serves the page on a thread.
pub fn serve(address: SocketAddr, metrics: Metrics) -> std::io::Result<()> {
    let listener = TcpListener::bind(address)?;
    ::log::info!("metrics on http://{}/metrics", listener.local_addr()?);
    std::thread::Builder::new().name("metrics".into()).spawn(move || {
        for stream in listener.incoming().flatten() {
            // One scraper at a time is plenty; a stuck one is cut off by the timeouts.
            let _ = answer(stream, &metrics);
        }
    })?;
    Ok(())
}

fn answer(mut stream: TcpStream, metrics: &Metrics) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    let mut head = Vec::new();
    let mut buffer = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = stream.read(&mut buffer)?;
        if read == 0 || head.len() > 8192 {
            return Ok(());
        }
        head.extend_from_slice(buffer.get(..read).unwrap_or_default());
    }
    let line = head.split(|b| *b == b'\r').next().unwrap_or_default();
    let (status, body) = if line.starts_with(b"GET /metrics ") || line.starts_with(b"GET /metrics?") {
        ("200 OK", metrics.render())
    } else {
        ("404 Not Found", "only /metrics here\n".to_owned())
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // reason: test code, where a panic is a failure
mod tests {
    use super::*;
    use ipxe_config::ScriptKind;
    use ipxe_config_server::service::Answered;

    #[test]
    fn the_page_has_every_family_and_labelled_counts() {
        let metrics = Metrics::new(Some(Arc::new(SyncStats::default())));
        let mut requests = RequestCounts::default();
        requests.count(Answered::Script(ScriptKind::DeployRamdisk), 200);
        metrics.publish(Snapshot { requests, leases: 3, nodes: 10, ports: 12, quarantined: 1 });
        let page = metrics.render();
        for wanted in [
            "ipxe_config_inventory_nodes 10\n",
            "ipxe_config_inventory_pxe_ports 12\n",
            "ipxe_config_inventory_quarantined_nodes 1\n",
            "ipxe_config_dhcp_leases_bound 3\n",
            "ipxe_config_ironic_sync_age_seconds -1\n",
            "ipxe_config_http_requests_total{answer=\"deploy\",status=\"2xx\"} 1\n",
        ] {
            assert!(page.contains(wanted), "{wanted:?} missing from:\n{page}");
        }
    }

    #[test]
    fn served_over_tcp_and_only_at_metrics() {
        let metrics = Metrics::new(None);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        drop(listener);
        serve(address, metrics).unwrap();
        let fetch = |path: &str| {
            let mut stream = TcpStream::connect(address).unwrap();
            stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()).unwrap();
            let mut text = String::new();
            stream.read_to_string(&mut text).unwrap();
            text
        };
        let page = fetch("/metrics");
        assert!(page.starts_with("HTTP/1.1 200 OK"), "{page}");
        assert!(page.contains("ipxe_config_inventory_nodes 0"), "{page}");
        assert!(!page.contains("ironic"), "no Ironic figures in file mode: {page}");
        assert!(fetch("/").starts_with("HTTP/1.1 404"));
    }
}
