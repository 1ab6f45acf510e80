//! Ironic's REST API as the tests drive it (what an operator's client would send).

use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

/// The microversion the tests speak (Ironic 39 knows up to 1.115).
const MICROVERSION: &str = "1.82";

pub struct Api {
    agent: ureq::Agent,
    base: String,
    /// The credential header: HTTP basic, or a Keystone token.
    authorization: (&'static str, String),
}

fn tls(ca: Option<&[u8]>) -> ureq::tls::TlsConfig {
    let builder = ureq::tls::TlsConfig::builder();
    match ca {
        Some(pem) => {
            let certs: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(cert)) => Some(cert),
                    _ => None,
                })
                .collect();
            builder.root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(certs))).build()
        }
        None => builder.build(),
    }
}

impl Api {
    /// A client of `base`; over TLS it trusts only the PEM certificates `ca`.
    pub fn new(base: &str, user: &str, password: &str, ca: Option<&[u8]>) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .tls_config(tls(ca))
            .build()
            .into();
        let authorization =
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")));
        Api { agent, base: base.to_owned(), authorization: ("Authorization", authorization) }
    }

    /// A client of a plain-HTTP `base` that sends a Keystone token as `X-Auth-Token`.
    pub fn with_token(base: &str, token: &str) -> Self {
        let mut api = Api::new(base, "", "", None);
        api.authorization = ("X-Auth-Token", token.to_owned());
        api
    }

    /// Whether `GET /` answers at all (it needs no credentials).
    pub fn root_answers(&self) -> bool {
        let agent = &self.agent;
        agent
            .get(&format!("{}/", self.base))
            .config()
            .timeout_global(Some(Duration::from_millis(500)))
            .build()
            .call()
            .is_ok()
    }

    fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(&url)
            .header("X-OpenStack-Ironic-API-Version", MICROVERSION)
            .header(self.authorization.0, &self.authorization.1)
            .header("Content-Type", "application/json")
            .body(body.map(Value::to_string).unwrap_or_default())
            .map_err(|e| e.to_string())?;
        let mut response = self.agent.run(request).map_err(|e| format!("{method} {url}: {e}"))?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().map_err(|e| format!("{method} {url}: {e}"))?;
        if !(200..300).contains(&status) {
            return Err(format!("{method} {path}: HTTP {status}: {text}"));
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| format!("{method} {path}: {e}: {text}"))
    }

    pub fn get(&self, path: &str) -> Result<Value, String> {
        self.send("GET", path, None)
    }

    pub fn post(&self, path: &str, body: &Value) -> Result<Value, String> {
        self.send("POST", path, Some(body))
    }

    /// A JSON patch of a node.
    pub fn patch_node(&self, uuid: &str, ops: &Value) -> Result<Value, String> {
        self.send("PATCH", &format!("/v1/nodes/{uuid}"), Some(ops))
    }

    /// `PUT /v1/nodes/{uuid}/states/provision` with `{"target": …}`.
    pub fn provision(&self, uuid: &str, target: &str) -> Result<(), String> {
        self.send("PUT", &format!("/v1/nodes/{uuid}/states/provision"), Some(&json!({ "target": target }))).map(drop)
    }

    /// Enrolls a node and its PXE port; returns the node's UUID.
    pub fn enroll(&self, node: &Value, mac: &str) -> Result<String, String> {
        let created = self.post("/v1/nodes", node)?;
        let uuid = created["uuid"].as_str().ok_or("POST /v1/nodes answered without a uuid")?.to_owned();
        self.post("/v1/ports", &json!({"address": mac, "node_uuid": uuid, "pxe_enabled": true}))?;
        Ok(uuid)
    }

    /// The node's provision state.
    pub fn provision_state(&self, uuid: &str) -> Result<(String, Value), String> {
        let node = self.get(&format!("/v1/nodes/{uuid}?fields=provision_state,last_error"))?;
        Ok((node["provision_state"].as_str().unwrap_or("null").to_owned(), node["last_error"].clone()))
    }

    /// Waits until the node reaches `state`; a `… failed` state ends the wait at once.
    pub fn wait_for_state(&self, uuid: &str, state: &str, timeout: Duration) -> Result<Duration, String> {
        let started = Instant::now();
        loop {
            let (now, last_error) = self.provision_state(uuid)?;
            if now == state {
                return Ok(started.elapsed());
            }
            if now.ends_with("failed") || started.elapsed() > timeout {
                return Err(format!("node {uuid} is {now}, not {state} (last_error: {last_error})"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
