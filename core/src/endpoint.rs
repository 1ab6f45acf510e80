//! The URLs this server hands out: where it is reached ([`BaseUrl`]) and the per-node
//! script endpoint ([`Endpoint`]), written in one place so the router, the renderer and
//! the DHCP server cannot drift apart.
//!
//! The path is the public contract of DESIGN.md. [`driver_segment`] is the inverse of
//! [`Endpoint::write`] for the path; the router parses the query.
//!
//! Panic contract: nothing here panics; emitting into a short buffer is an error carrying
//! the size needed.

use core::fmt;
use core::net::Ipv4Addr;

use uuid::Uuid;

use crate::mac::PortAddress;
use crate::route::NodeKey;
use crate::writer::{BufferTooSmall, ScriptWriter};

/// The path of the standalone chain script.
pub const CHAIN_SCRIPT_PATH: &str = "/boot.ipxe";

/// Everything under this path is the Ironic API's namespace and so the router's to answer.
pub const API_PREFIX: &str = "/v1/";

/// The endpoint path before `{driver}`.
const PATH_PREFIX: &str = "/v1/drivers/";
/// The endpoint path after `{driver}`.
const PATH_SUFFIX: &str = "/vendor_passthru/ipxe_config";

/// The query parameter naming a node by UUID.
pub const NODE_UUID: &str = "node_uuid";
/// The query parameter naming a node by one of its MACs.
pub const PORT_ADDRESS: &str = "port_address";

/// The iPXE setting holding the booting NIC's MAC, which iPXE expands in a URL before
/// fetching it.
pub const MAC_SETTING: &str = "${mac}";

/// The `{driver}` segment of an endpoint path, still percent-encoded; `None` if `path`
/// is not the endpoint.
///
/// ```
/// use ipxe_config::endpoint::driver_segment;
/// assert_eq!(driver_segment(b"/v1/drivers/ipmi/vendor_passthru/ipxe_config"), Some(&b"ipmi"[..]));
/// assert_eq!(driver_segment(b"/v1/drivers/a/b/vendor_passthru/ipxe_config"), None);
/// assert_eq!(driver_segment(b"/v1/nodes"), None);
/// ```
pub fn driver_segment(path: &[u8]) -> Option<&[u8]> {
    path.strip_prefix(PATH_PREFIX.as_bytes())
        .and_then(|rest| rest.strip_suffix(PATH_SUFFIX.as_bytes()))
        .filter(|driver| !driver.contains(&b'/'))
}

/// How an endpoint URL names the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeParam<'a> {
    /// `node_uuid=<uuid>`, hyphenated lower case.
    Uuid(Uuid),
    /// `port_address=<mac>`, lower case with colons.
    Address(PortAddress),
    /// `port_address=<setting>` with an iPXE setting ([`MAC_SETTING`],
    /// `${net${nic}/mac}`) that iPXE expands before fetching: for scripts and DHCP
    /// replies written before the MAC is known. The setting is written as given.
    AddressSetting(&'a str),
}

impl From<NodeKey> for NodeParam<'_> {
    fn from(key: NodeKey) -> Self {
        match key {
            NodeKey::Uuid(uuid) => Self::Uuid(uuid),
            NodeKey::Address(address) => Self::Address(address),
        }
    }
}

/// The script endpoint's path and query, `/v1/drivers/{driver}/vendor_passthru/ipxe_config?…`.
///
/// The driver is written as given: callers pass a name the router accepts
/// ([`DriverName`](crate::route::DriverName)) or one checked as a script token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint<'a> {
    /// `{driver}` in the path.
    pub driver: &'a str,
    /// The node parameter.
    pub node: NodeParam<'a>,
}

impl<'a> Endpoint<'a> {
    /// An endpoint for `driver` naming the node by `node`.
    pub fn new(driver: &'a str, node: impl Into<NodeParam<'a>>) -> Self {
        Self { driver, node: node.into() }
    }

    /// Writes the path and query.
    ///
    /// ```
    /// use ipxe_config::endpoint::{Endpoint, NodeParam, MAC_SETTING};
    /// let mut url = heapless::String::<128>::new();
    /// Endpoint::new("ipmi", NodeParam::AddressSetting(MAC_SETTING)).write(&mut url).unwrap();
    /// assert_eq!(url, "/v1/drivers/ipmi/vendor_passthru/ipxe_config?port_address=${mac}");
    /// ```
    ///
    /// # Errors
    /// Only those of `out`.
    pub fn write(&self, out: &mut impl fmt::Write) -> fmt::Result {
        out.write_str(PATH_PREFIX)?;
        out.write_str(self.driver)?;
        out.write_str(PATH_SUFFIX)?;
        out.write_str("?")?;
        match self.node {
            NodeParam::Uuid(uuid) => {
                out.write_str(NODE_UUID)?;
                out.write_str("=")?;
                let mut text = Uuid::encode_buffer();
                out.write_str(uuid.hyphenated().encode_lower(&mut text))
            }
            NodeParam::Address(address) => {
                out.write_str(PORT_ADDRESS)?;
                out.write_str("=")?;
                write!(out, "{address}")
            }
            NodeParam::AddressSetting(setting) => {
                out.write_str(PORT_ADDRESS)?;
                out.write_str("=")?;
                out.write_str(setting)
            }
        }
    }

    /// Writes the path and query at the start of `buf`, returning its length.
    ///
    /// ```
    /// use ipxe_config::endpoint::{Endpoint, NodeParam};
    /// use ipxe_config::Uuid;
    /// let endpoint = Endpoint::new("any", NodeParam::Uuid(Uuid::nil()));
    /// let mut buf = [0u8; 128];
    /// let len = endpoint.emit(&mut buf).unwrap();
    /// assert_eq!(len, endpoint.buffer_len());
    /// assert!(buf[..len].ends_with(b"?node_uuid=00000000-0000-0000-0000-000000000000"));
    /// assert_eq!(endpoint.emit(&mut buf[..10]).unwrap_err().needed, len);
    /// ```
    ///
    /// # Errors
    /// [`BufferTooSmall`] with the length needed; nothing partial is returned as success.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
        emit(buf, |w| self.write(w))
    }

    /// The length [`Endpoint::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        buffer_len(|w| self.write(w))
    }
}

impl fmt::Display for Endpoint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f)
    }
}

/// Where this server is reached: the scheme and authority every URL it hands out starts
/// with. Paths are written after it and start with `/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseUrl<'a> {
    /// A configured base URL ([`RenderConfig::base_url`](crate::RenderConfig::base_url)); a trailing
    /// `/` is dropped so the path after it does not double it.
    Given(&'a str),
    /// `http://<address>`, with `:<port>` unless it is 80.
    Server {
        /// The server's address.
        address: Ipv4Addr,
        /// Its HTTP port.
        port: u16,
    },
    /// `http://${next-server}`: iPXE expands the DHCP server's next-server, which is where
    /// PXE setups usually serve from. Older iPXE builds do not resolve relative URLs in
    /// `chain`, so a base is always written.
    NextServer,
}

impl BaseUrl<'_> {
    /// Writes the base URL.
    ///
    /// ```
    /// use core::net::Ipv4Addr;
    /// use ipxe_config::endpoint::BaseUrl;
    /// let server = |port| BaseUrl::Server { address: Ipv4Addr::new(10, 99, 0, 1), port };
    /// assert_eq!(server(80).to_string(), "http://10.99.0.1");
    /// assert_eq!(server(8080).to_string(), "http://10.99.0.1:8080");
    /// assert_eq!(BaseUrl::Given("http://boot.example/").to_string(), "http://boot.example");
    /// assert_eq!(BaseUrl::NextServer.to_string(), "http://${next-server}");
    /// ```
    ///
    /// # Errors
    /// Only those of `out`.
    pub fn write(&self, out: &mut impl fmt::Write) -> fmt::Result {
        match *self {
            BaseUrl::Given(base) => out.write_str(base.trim_end_matches('/')),
            BaseUrl::Server { address, port: 80 } => write!(out, "http://{address}"),
            BaseUrl::Server { address, port } => write!(out, "http://{address}:{port}"),
            BaseUrl::NextServer => out.write_str("http://${next-server}"),
        }
    }

    /// Writes the base URL at the start of `buf`, returning its length.
    ///
    /// # Errors
    /// [`BufferTooSmall`] with the length needed.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
        emit(buf, |w| self.write(w))
    }

    /// The length [`BaseUrl::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        buffer_len(|w| self.write(w))
    }
}

impl fmt::Display for BaseUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f)
    }
}

fn emit(buf: &mut [u8], write: impl FnOnce(&mut ScriptWriter<'_>) -> fmt::Result) -> Result<usize, BufferTooSmall> {
    let mut w = ScriptWriter::new(buf);
    // A `ScriptWriter` never fails; it counts past the end, which `finish` reports.
    let _ = write(&mut w);
    w.finish()
}

fn buffer_len(write: impl FnOnce(&mut ScriptWriter<'_>) -> fmt::Result) -> usize {
    let mut w = ScriptWriter::new(&mut []);
    let _ = write(&mut w);
    w.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_each_node_parameter() {
        let mac = PortAddress([0x52, 0x54, 0, 0x12, 0x34, 0xab]);
        let uuid = Uuid::from_u128(0x1be2_6c0b_03f2_4d2e_ae87_c02d_7f33_c123);
        let cases: [(NodeParam<'_>, &str); 3] = [
            (NodeParam::Uuid(uuid), "node_uuid=1be26c0b-03f2-4d2e-ae87-c02d7f33c123"),
            (NodeParam::Address(mac), "port_address=52:54:00:12:34:ab"),
            (NodeParam::AddressSetting("${net${nic}/mac}"), "port_address=${net${nic}/mac}"),
        ];
        for (node, query) in cases {
            let endpoint = Endpoint::new("redfish", node);
            let mut buf = [0u8; 128];
            let len = endpoint.emit(&mut buf).unwrap();
            let mut expected = heapless::String::<128>::new();
            fmt::Write::write_fmt(
                &mut expected,
                format_args!("/v1/drivers/redfish/vendor_passthru/ipxe_config?{query}"),
            )
            .unwrap();
            assert_eq!(&buf[..len], expected.as_bytes());
            assert_eq!(endpoint.buffer_len(), len);
            assert_eq!(driver_segment(&buf[..len - query.len() - 1]), Some(&b"redfish"[..]));
        }
    }

    #[test]
    fn base_url_reports_the_size_it_needs() {
        let base = BaseUrl::Server { address: Ipv4Addr::new(192, 168, 100, 200), port: 65535 };
        assert_eq!(base.buffer_len(), "http://192.168.100.200:65535".len());
        let mut short = [0u8; 8];
        assert_eq!(base.emit(&mut short), Err(BufferTooSmall { needed: base.buffer_len() }));
    }
}
