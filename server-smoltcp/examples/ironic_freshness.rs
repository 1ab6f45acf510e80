//! Measures how soon a provision-state change made through Ironic's API is served by a
//! running `ipxe-config-appliance --ironic-url …`: `cargo xtask bench` starts a real
//! Ironic with enrolled nodes and the appliance (`--qemu-dgram SOCKET`), then runs this.
//!
//! For each change: read a node's script (by its MAC, as iPXE asks), move the node in
//! Ironic (`manage` from `available`, `provide` from `manageable`), and from the moment
//! the API call returned, ask for the script every 2 ms until it shows the new state.
//! Meanwhile a second thread reads the node from Ironic's API every 5 ms, to tell
//! Ironic's own (asynchronous) transition time from the appliance's lag behind it.
//! Prints `freshness changes=N p50_ms=… p99_ms=… max_ms=… lag_p50_ms=… lag_p99_ms=…`:
//! from the API call's return to the served script, and from the API first showing the
//! new state to the served script.
//!
//! Usage: `ironic_freshness APPLIANCE_SOCKET IRONIC_URL USER PASSWORD NODES_FILE CHANGES`,
//! where NODES_FILE has a `uuid mac` line per node.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)] // reason: a measuring tool; a panic is a failed run

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use base64::Engine as _;
use ipxe_config_testkit::dgram::Dgram;
use ipxe_config_testkit::http::take_response;
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet, SocketStorage};
use smoltcp::socket::tcp;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, Ipv4Address, Ipv4Cidr};

/// A client stack on the appliance's segment.
struct Client {
    device: Dgram,
    iface: Interface,
    sockets: SocketSet<'static>,
    handle: SocketHandle,
    epoch: Instant,
    port: u16,
}

fn now(epoch: Instant) -> smoltcp::time::Instant {
    smoltcp::time::Instant::from_micros(i64::try_from(epoch.elapsed().as_micros()).unwrap())
}

impl Client {
    fn new(appliance: &str, own: &std::path::Path) -> Self {
        let _ = std::fs::remove_file(own);
        let socket = UnixDatagram::bind(own).unwrap();
        socket.connect(appliance).unwrap();
        socket.set_nonblocking(true).unwrap();
        let mut device = Dgram(socket);
        let epoch = Instant::now();
        let mac = EthernetAddress([0x02, 0x00, 0x00, 0x00, 0x00, 0x99]);
        let mut iface = Interface::new(Config::new(HardwareAddress::Ethernet(mac)), &mut device, now(epoch));
        iface.update_ip_addrs(|addresses| {
            addresses.push(IpCidr::Ipv4(Ipv4Cidr::new(Ipv4Address::new(10, 99, 0, 50), 24))).unwrap();
        });
        let storage: &'static mut [SocketStorage<'static>] = Box::leak(vec![SocketStorage::EMPTY].into_boxed_slice());
        let mut sockets = SocketSet::new(storage);
        let rx = tcp::SocketBuffer::new(&mut Box::leak(vec![0u8; 65536].into_boxed_slice())[..]);
        let tx = tcp::SocketBuffer::new(&mut Box::leak(vec![0u8; 4096].into_boxed_slice())[..]);
        let handle = sockets.add(tcp::Socket::new(rx, tx));
        Client { device, iface, sockets, handle, epoch, port: 40000 }
    }

    /// The script at `target`, or `None` after 5 s.
    fn script(&mut self, target: &str) -> Option<String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        self.port = if self.port >= 60000 { 40000 } else { self.port + 1 };
        let server = (IpAddress::Ipv4(Ipv4Address::new(10, 99, 0, 1)), 80);
        self.sockets.get_mut::<tcp::Socket>(self.handle).abort();
        self.iface.poll(now(self.epoch), &mut self.device, &mut self.sockets);
        let socket = self.sockets.get_mut::<tcp::Socket>(self.handle);
        socket.connect(self.iface.context(), server, self.port).unwrap();
        let request = format!("GET {target} HTTP/1.1\r\nHost: 10.99.0.1\r\nUser-Agent: iPXE/1.21.1\r\n\r\n");
        let (mut sent, mut received) = (false, Vec::new());
        while Instant::now() < deadline {
            self.iface.poll(now(self.epoch), &mut self.device, &mut self.sockets);
            let socket = self.sockets.get_mut::<tcp::Socket>(self.handle);
            if socket.may_send() && !sent {
                socket.send_slice(request.as_bytes()).unwrap();
                sent = true;
            }
            while socket.can_recv() {
                socket
                    .recv(|bytes| {
                        received.extend_from_slice(bytes);
                        (bytes.len(), ())
                    })
                    .unwrap();
            }
            if let Some(response) = take_response(&mut received, false) {
                socket.close();
                self.iface.poll(now(self.epoch), &mut self.device, &mut self.sockets);
                return Some(response.text().to_owned());
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        None
    }
}

fn state_in(script: &str) -> Option<&str> {
    let rest = script.split("provision state ").nth(1)?;
    rest.split(',').next()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, socket, url, user, password, nodes_file, changes] = args.as_slice() else {
        panic!("usage: ironic_freshness APPLIANCE_SOCKET IRONIC_URL USER PASSWORD NODES_FILE CHANGES");
    };
    let changes: usize = changes.parse().unwrap();
    let nodes: Vec<(String, String)> = std::fs::read_to_string(nodes_file)
        .unwrap()
        .lines()
        .filter_map(|line| line.split_once(' ').map(|(u, m)| (u.to_owned(), m.to_owned())))
        .collect();
    assert!(!nodes.is_empty(), "no nodes in {nodes_file}");
    let own = std::env::temp_dir().join(format!("ironic-freshness-{}.sock", std::process::id()));
    let mut client = Client::new(socket, &own);
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let authorization =
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")));
    let (mut latencies, mut lags) = (Vec::new(), Vec::new());
    // Spread over the fleet: each change hits another node.
    let stride = (nodes.len() / changes.max(1)).max(1);
    for change in 0..changes {
        let (uuid, mac) = &nodes[(change * stride + change / nodes.len().max(1)) % nodes.len()];
        let target = format!("/v1/drivers/any/vendor_passthru/ipxe_config?port_address={}", mac.replace(':', "%3A"));
        let before = client.script(&target).expect("a script before the change");
        let (verb, after) = match state_in(&before) {
            Some("available") => ("manage", "manageable"),
            Some("manageable") => ("provide", "available"),
            other => panic!("node {uuid} is {other:?}; the bench moves only available and manageable nodes"),
        };
        let response = agent
            .put(&format!("{url}/v1/nodes/{uuid}/states/provision"))
            .header("X-OpenStack-Ironic-API-Version", "1.82")
            .header("Authorization", &authorization)
            .header("Content-Type", "application/json")
            .send(format!("{{\"target\": \"{verb}\"}}").as_bytes())
            .unwrap();
        assert_eq!(response.status().as_u16(), 202, "{verb} {uuid}");
        let asked = Instant::now();
        let watcher = {
            let (agent, url, uuid, authorization) = (agent.clone(), url.clone(), uuid.clone(), authorization.clone());
            std::thread::spawn(move || loop {
                let mut response = agent
                    .get(&format!("{url}/v1/nodes/{uuid}?fields=provision_state"))
                    .header("X-OpenStack-Ironic-API-Version", "1.82")
                    .header("Authorization", &authorization)
                    .call()
                    .unwrap();
                let body = response.body_mut().read_to_string().unwrap();
                if body.contains(&format!("\"provision_state\": \"{after}\"")) {
                    return Instant::now();
                }
                assert!(asked.elapsed() < Duration::from_secs(30), "Ironic never showed {uuid} {after}");
                std::thread::sleep(Duration::from_millis(5));
            })
        };
        loop {
            let script = client.script(&target).expect("a script after the change");
            if state_in(&script) == Some(after) {
                let served = Instant::now();
                latencies.push(served - asked);
                let in_api = watcher.join().unwrap();
                lags.push(served.saturating_duration_since(in_api));
                break;
            }
            assert!(asked.elapsed() < Duration::from_secs(30), "node {uuid} still not {after} after 30 s");
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    let _ = std::fs::remove_file(&own);
    latencies.sort();
    lags.sort();
    // Nearest rank: the value below which `percent` of the sorted values lie.
    let at = |values: &[Duration], percent: usize| {
        let index = ((values.len() - 1) * percent + 50) / 100;
        values[index.min(values.len() - 1)].as_secs_f64() * 1000.0
    };
    println!(
        "freshness changes={} p50_ms={:.1} p99_ms={:.1} max_ms={:.1} lag_p50_ms={:.1} lag_p99_ms={:.1}",
        latencies.len(),
        at(&latencies, 50),
        at(&latencies, 99),
        at(&latencies, 100),
        at(&lags, 50),
        at(&lags, 99),
    );
}
