//! HTTP to Ironic's API: one `ureq` agent (rustls; the platform's roots or `--ironic-ca`),
//! the pinned microversion, and the credentials of the chosen auth mode.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;
use ureq::tls::{Certificate, RootCerts, TlsConfig};

use super::keystone::Keystone;

/// The API version every request pins: 1.82 is the first with `shard`; every field the
/// renderer reads (`boot_mode` since 1.75) is shown at it.
pub const MICROVERSION: &str = "1.82";

/// Largest response body read: a page of 1,000 nodes with large `driver_internal_info`
/// stays far below it; a hostile or broken server cannot make the appliance hold more.
const MAX_BODY: u64 = 64 << 20;

/// How the appliance proves who it is to Ironic.
#[derive(Clone)]
pub enum Auth {
    /// No credentials (Ironic's `auth_strategy = noauth`).
    None,
    /// HTTP basic (`auth_strategy = http_basic`): the `Authorization` header's value.
    Basic(String),
    /// A Keystone v3 token, fetched, cached and renewed by [`Keystone`].
    Keystone(Box<Keystone>),
}

impl Auth {
    /// HTTP basic credentials for `user` and `password`.
    pub fn basic(user: &str, password: &str) -> Self {
        let pair = format!("{user}:{password}");
        Auth::Basic(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair)))
    }
}

/// Why a request gave no usable answer. Each is an outage for degraded mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// No HTTP answer: refused, reset, timed out, TLS failed.
    Transport(String),
    /// An HTTP answer other than 200.
    Status { status: u16, path: String },
    /// A 200 whose body is not the JSON expected.
    Body(String),
    /// Keystone refused or failed to give a token.
    Token(String),
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transport(error) => write!(f, "no answer: {error}"),
            Self::Status { status, path } => write!(f, "HTTP {status} for {path}"),
            Self::Body(error) => write!(f, "invalid answer: {error}"),
            Self::Token(error) => write!(f, "no Keystone token: {error}"),
        }
    }
}

/// An HTTP agent that trusts the platform's roots, or only the PEM certificates `ca`.
pub fn agent(ca: Option<&[u8]>, timeout: Duration) -> Result<ureq::Agent, String> {
    let roots = match ca {
        None => RootCerts::PlatformVerifier,
        Some(pem) => {
            let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(cert)) => Some(Ok(cert)),
                    Ok(_) => None,
                    Err(error) => Some(Err(error)),
                })
                .collect::<Result<_, _>>()
                .map_err(|error| format!("not PEM: {error}"))?;
            if certs.is_empty() {
                return Err("no certificate in it".into());
            }
            RootCerts::Specific(Arc::new(certs))
        }
    };
    let config = ureq::Agent::config_builder()
        .tls_config(TlsConfig::builder().root_certs(roots).build())
        .timeout_global(Some(timeout))
        // Statuses are ours to judge (a 401 renews a Keystone token).
        .http_status_as_error(false)
        // The API never redirects; following one would send credentials elsewhere.
        .max_redirects(0)
        .build();
    Ok(config.into())
}

/// Ironic's API at one base URL.
#[derive(Clone)]
pub struct IronicClient {
    agent: ureq::Agent,
    /// `https://ironic.example:6385`, without a trailing slash.
    base: String,
    auth: Auth,
    /// Requests sent to Ironic so far (Keystone's not counted).
    pub requests: u64,
}

impl IronicClient {
    /// A client of the API at `base` (with or without `/` at the end).
    pub fn new(agent: ureq::Agent, base: &str, auth: Auth) -> Self {
        IronicClient { agent, base: base.trim_end_matches('/').to_owned(), auth, requests: 0 }
    }

    /// `GET base + path_and_query`, its 200 body parsed as JSON. With Keystone a 401
    /// renews the token and retries once.
    pub fn get_json(&mut self, path_and_query: &str) -> Result<Value, FetchError> {
        let url = format!("{}{path_and_query}", self.base);
        let mut renewed = false;
        loop {
            let mut request = self
                .agent
                .get(&url)
                .header("X-OpenStack-Ironic-API-Version", MICROVERSION)
                .header("Accept", "application/json");
            match &mut self.auth {
                Auth::None => {}
                Auth::Basic(header) => request = request.header("Authorization", header.as_str()),
                Auth::Keystone(keystone) => {
                    let token = keystone.token(&self.agent).map_err(FetchError::Token)?;
                    request = request.header("X-Auth-Token", token);
                }
            }
            self.requests += 1;
            let mut response = request.call().map_err(|error| FetchError::Transport(error.to_string()))?;
            let status = response.status().as_u16();
            if status == 401 && !renewed {
                if let Auth::Keystone(keystone) = &mut self.auth {
                    // The token expired or was revoked: one fresh one, one retry.
                    keystone.forget();
                    renewed = true;
                    continue;
                }
            }
            if status != 200 {
                return Err(FetchError::Status { status, path: path_only(path_and_query).to_owned() });
            }
            let body = response
                .body_mut()
                .with_config()
                .limit(MAX_BODY)
                .read_to_vec()
                .map_err(|error| FetchError::Transport(error.to_string()))?;
            return serde_json::from_slice(&body).map_err(|error| FetchError::Body(error.to_string()));
        }
    }
}

/// The path of `path_and_query`, for messages (the query may be long).
fn path_only(path_and_query: &str) -> &str {
    path_and_query.split('?').next().unwrap_or(path_and_query)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)] // reason: test code, where a panic is a failure
mod tests {
    use super::*;

    #[test]
    fn basic_auth_header_is_rfc_7617() {
        // The example of RFC 7617 section 2.
        let Auth::Basic(header) = Auth::basic("Aladdin", "open sesame") else { panic!("not basic") };
        assert_eq!(header, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        assert!(agent(Some(b"not a pem"), Duration::from_secs(1)).unwrap_err().contains("no certificate"));
        assert!(agent(None, Duration::from_secs(1)).is_ok());
    }
}
