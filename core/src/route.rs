//! Request targets (path + query) parsed into typed routes, and written back out.
//!
//! The public contract (DESIGN.md): the script [`Endpoint`] with exactly one of
//! `node_uuid` / `port_address`, and `GET /boot.ipxe`.

use core::ffi::CStr;
use core::fmt;

use uuid::Uuid;

use crate::endpoint::{self, Endpoint, CHAIN_SCRIPT_PATH};
use crate::mac::PortAddress;
use crate::percent;

/// Longest request target accepted, in bytes; longer ones are `414 URI Too Long`.
pub const MAX_TARGET: usize = 1024;

/// Longest driver name, in bytes.
pub const MAX_DRIVER: usize = 64;

/// A driver name from the request path: 1–64 of `A-Z a-z 0-9 _ - .`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverName(heapless::String<MAX_DRIVER>);

impl DriverName {
    /// Validates a decoded driver name.
    ///
    /// ```
    /// use ipxe_config::route::DriverName;
    /// assert!(DriverName::new("redfish").is_some());
    /// assert!(DriverName::new("../etc").is_none());
    /// ```
    pub fn new(text: &str) -> Option<Self> {
        let valid = !text.is_empty()
            && text != "."
            && text != ".."
            && text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !valid {
            return None;
        }
        heapless::String::try_from(text).ok().map(Self)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How the node is named in the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKey {
    /// `node_uuid=…` ("Neutron mode": the DHCP server knew the node).
    Uuid(Uuid),
    /// `port_address=…`: one of the node's NIC MACs.
    Address(PortAddress),
}

/// A request the renderer answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The per-node script endpoint.
    NodeScript {
        /// `{driver}` from the path.
        driver: DriverName,
        /// The node, by UUID or MAC.
        key: NodeKey,
    },
    /// `/boot.ipxe`: the standalone chain script.
    ChainScript,
}

/// Why a request target is not a route; [`RouteError::status`] gives the HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteError {
    /// Longer than [`MAX_TARGET`].
    TargetTooLong,
    /// No such path.
    NotFound,
    /// A `%` escape that is not two hex digits.
    BadEscape,
    /// The driver segment is not a valid driver name.
    InvalidDriver,
    /// Neither `node_uuid` nor `port_address`.
    MissingParameter,
    /// Both `node_uuid` and `port_address`.
    BothParameters,
    /// A parameter given twice.
    RepeatedParameter,
    /// A parameter this endpoint does not take.
    UnknownParameter,
    /// A parameter with an empty value.
    EmptyValue,
    /// `node_uuid` is not a UUID.
    InvalidUuid,
    /// `port_address` is not a MAC address.
    InvalidPortAddress,
}

impl RouteError {
    /// The HTTP status for this error: 404, 414 or 400.
    pub fn status(self) -> u16 {
        match self {
            Self::TargetTooLong => 414,
            Self::NotFound => 404,
            _ => 400,
        }
    }

    /// A short reason for the response body.
    ///
    /// ```
    /// use ipxe_config::RouteError;
    /// assert_eq!(RouteError::NotFound.reason(), "no such resource");
    /// ```
    pub fn reason(self) -> &'static str {
        // Every reason is ASCII, so the conversion cannot fail.
        self.reason_c_str().to_str().unwrap_or_default()
    }

    /// [`RouteError::reason`] NUL-terminated, for C callers; the one place the texts live.
    ///
    /// ```
    /// use ipxe_config::RouteError;
    /// assert_eq!(RouteError::TargetTooLong.reason_c_str(), c"request target too long");
    /// ```
    pub fn reason_c_str(self) -> &'static CStr {
        match self {
            Self::TargetTooLong => c"request target too long",
            Self::NotFound => c"no such resource",
            Self::BadEscape => c"malformed percent-escape in the request target",
            Self::InvalidDriver => c"invalid driver name in the path",
            Self::MissingParameter => c"give node_uuid or port_address",
            Self::BothParameters => c"give node_uuid or port_address, not both",
            Self::RepeatedParameter => c"a query parameter is repeated",
            Self::UnknownParameter => c"unknown query parameter (only node_uuid or port_address)",
            Self::EmptyValue => c"a query parameter has an empty value",
            Self::InvalidUuid => c"node_uuid is not a UUID",
            Self::InvalidPortAddress => c"port_address is not a MAC address",
        }
    }
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

impl core::error::Error for RouteError {}

impl Route {
    /// Parses an origin-form (`/path?query`) or absolute-form (`http://host/path?query`)
    /// request target.
    ///
    /// ```
    /// use ipxe_config::route::{NodeKey, Route, RouteError};
    /// let route = Route::parse(
    ///     b"/v1/drivers/ipmi/vendor_passthru/ipxe_config?port_address=52%3A54%3A00%3A12%3A34%3A56",
    /// ).unwrap();
    /// assert!(matches!(route, Route::NodeScript { key: NodeKey::Address(_), .. }));
    /// assert_eq!(Route::parse(b"/boot.ipxe"), Ok(Route::ChainScript));
    /// assert_eq!(Route::parse(b"/etc/passwd"), Err(RouteError::NotFound));
    /// ```
    pub fn parse(target: &[u8]) -> Result<Route, RouteError> {
        if target.len() > MAX_TARGET {
            return Err(RouteError::TargetTooLong);
        }
        let (path, query) = split_target(target);
        if path == CHAIN_SCRIPT_PATH.as_bytes() {
            return match query {
                None | Some(b"") => Ok(Route::ChainScript),
                Some(_) => Err(RouteError::UnknownParameter),
            };
        }
        let driver = endpoint::driver_segment(path).ok_or(RouteError::NotFound)?;
        let mut decoded = [0u8; MAX_DRIVER];
        let driver = percent::decode(driver, &mut decoded).map_err(|_| RouteError::InvalidDriver)?;
        let driver = core::str::from_utf8(driver).ok().and_then(DriverName::new).ok_or(RouteError::InvalidDriver)?;
        let key = parse_query(query.unwrap_or_default())?;
        Ok(Route::NodeScript { driver, key })
    }

    /// Writes the canonical target (`/v1/drivers/…?node_uuid=…`, MAC lower case with colons).
    ///
    /// # Errors
    /// Only those of `out`.
    pub fn write_target(&self, out: &mut impl fmt::Write) -> fmt::Result {
        match self {
            Route::ChainScript => out.write_str(CHAIN_SCRIPT_PATH),
            Route::NodeScript { driver, key } => Endpoint::new(driver.as_str(), *key).write(out),
        }
    }

    /// Whether `target` is this router's to answer, with a route or a [`RouteError`]:
    /// `/boot.ipxe`, and every path under `/v1/` (the Ironic API's namespace, so a
    /// mistyped endpoint gets the router's 404 rather than a file lookup). A server
    /// answers other targets itself, e.g. from files.
    ///
    /// ```
    /// use ipxe_config::Route;
    /// assert!(Route::owns(b"/boot.ipxe"));
    /// assert!(Route::owns(b"http://10.99.0.1/v1/nodes"));
    /// assert!(!Route::owns(b"/ipxe.efi"));
    /// assert!(!Route::owns(b"/v1"));
    /// ```
    pub fn owns(target: &[u8]) -> bool {
        let (path, _query) = split_target(target);
        path == CHAIN_SCRIPT_PATH.as_bytes() || path.starts_with(endpoint::API_PREFIX.as_bytes())
    }
}

/// Splits a request target into path and query, dropping the scheme and authority of
/// the absolute form (`http://host/path?query`, RFC 9112 §3.2.2): only the path matters
/// here. The HTTP server uses the same split for files, so both agree on every target.
///
/// ```
/// use ipxe_config::route::split_target;
/// assert_eq!(split_target(b"/a/b?c=d"), (&b"/a/b"[..], Some(&b"c=d"[..])));
/// assert_eq!(split_target(b"http://10.0.0.1:8080/k"), (&b"/k"[..], None));
/// assert_eq!(split_target(b"HTTP://host"), (&b"/"[..], None));
/// ```
pub fn split_target(target: &[u8]) -> (&[u8], Option<&[u8]>) {
    let scheme_len = [&b"http://"[..], b"https://"]
        .iter()
        .find(|scheme| target.get(..scheme.len()).is_some_and(|start| start.eq_ignore_ascii_case(scheme)))
        .map(|scheme| scheme.len());
    let rest = match scheme_len {
        Some(len) => {
            let after = target.get(len..).unwrap_or_default();
            match after.iter().position(|&b| b == b'/' || b == b'?') {
                Some(at) => after.get(at..).unwrap_or_default(),
                None => b"/",
            }
        }
        None => target,
    };
    match rest.iter().position(|&b| b == b'?') {
        Some(at) => (rest.get(..at).unwrap_or_default(), rest.get(at + 1..)),
        None => (rest, None),
    }
}

fn parse_query(query: &[u8]) -> Result<NodeKey, RouteError> {
    let mut uuid = None;
    let mut address = None;
    for pair in query.split(|&b| b == b'&').filter(|pair| !pair.is_empty()) {
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(at) => (pair.get(..at).unwrap_or_default(), pair.get(at + 1..).unwrap_or_default()),
            None => (pair, &b""[..]),
        };
        let mut name_buf = [0u8; 16];
        let name = percent::decode(name, &mut name_buf).map_err(|_| RouteError::UnknownParameter)?;
        let slot = if name == endpoint::NODE_UUID.as_bytes() {
            &mut uuid
        } else if name == endpoint::PORT_ADDRESS.as_bytes() {
            &mut address
        } else {
            return Err(RouteError::UnknownParameter);
        };
        if slot.is_some() {
            return Err(RouteError::RepeatedParameter);
        }
        if value.is_empty() {
            return Err(RouteError::EmptyValue);
        }
        *slot = Some(value);
    }
    match (uuid, address) {
        (Some(_), Some(_)) => Err(RouteError::BothParameters),
        (None, None) => Err(RouteError::MissingParameter),
        (Some(value), None) => {
            let mut buf = [0u8; 64];
            let text = percent::decode(value, &mut buf).map_err(|_| RouteError::InvalidUuid)?;
            Uuid::try_parse_ascii(text).map(NodeKey::Uuid).map_err(|_| RouteError::InvalidUuid)
        }
        (None, Some(value)) => {
            PortAddress::parse(value).map(NodeKey::Address).map_err(|_| RouteError::InvalidPortAddress)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UUID: &str = "1be26c0b-03f2-4d2e-ae87-c02d7f33c123";

    fn endpoint(query: &str) -> heapless::String<256> {
        let mut text = heapless::String::new();
        fmt::Write::write_fmt(&mut text, format_args!("/v1/drivers/ipmi/vendor_passthru/ipxe_config?{query}")).unwrap();
        text
    }

    #[test]
    fn parses_both_keys_and_round_trips() {
        for query in ["node_uuid=1be26c0b-03f2-4d2e-ae87-c02d7f33c123", "port_address=52:54:00:12:34:56"] {
            let target = endpoint(query);
            let route = Route::parse(target.as_bytes()).unwrap();
            let mut written = heapless::String::<256>::new();
            route.write_target(&mut written).unwrap();
            assert_eq!(written, target);
        }
        let route = Route::parse(endpoint("port_address=52%3A54%3A00%3A12%3A34%3A56").as_bytes()).unwrap();
        let mut written = heapless::String::<256>::new();
        route.write_target(&mut written).unwrap();
        assert_eq!(written, endpoint("port_address=52:54:00:12:34:56"));
    }

    #[test]
    fn accepts_absolute_form_and_encoded_uuid() {
        let target = "HTTP://10.99.0.1:80/v1/drivers/ipmi/vendor_passthru/ipxe_config?node_uuid=1BE26C0B03F24D2EAE87C02D7F33C123";
        let route = Route::parse(target.as_bytes()).unwrap();
        assert_eq!(
            route,
            Route::NodeScript {
                driver: DriverName::new("ipmi").unwrap(),
                key: NodeKey::Uuid(Uuid::try_parse(UUID).unwrap())
            }
        );
    }

    #[test]
    fn every_malformed_request_has_its_own_error() {
        let long = [b'a'; MAX_TARGET + 1];
        assert_eq!(Route::parse(&long), Err(RouteError::TargetTooLong));
        let cases: [(&str, RouteError); 12] = [
            ("/", RouteError::NotFound),
            ("/v1/drivers/a/b/vendor_passthru/ipxe_config?node_uuid=x", RouteError::NotFound),
            ("/v1/drivers/%2e%2e/vendor_passthru/ipxe_config?node_uuid=x", RouteError::InvalidDriver),
            ("/v1/drivers/ip%zz/vendor_passthru/ipxe_config?node_uuid=x", RouteError::InvalidDriver),
            ("/boot.ipxe?x=1", RouteError::UnknownParameter),
            ("/v1/drivers/ipmi/vendor_passthru/ipxe_config", RouteError::MissingParameter),
            ("/v1/drivers/ipmi/vendor_passthru/ipxe_config?node_uuid=", RouteError::EmptyValue),
            ("/v1/drivers/ipmi/vendor_passthru/ipxe_config?foo=1", RouteError::UnknownParameter),
            (
                "/v1/drivers/ipmi/vendor_passthru/ipxe_config?port_address=525400123456&port_address=525400123456",
                RouteError::RepeatedParameter,
            ),
            (
                "/v1/drivers/ipmi/vendor_passthru/ipxe_config?port_address=525400123456&node_uuid=1be26c0b03f24d2eae87c02d7f33c123",
                RouteError::BothParameters,
            ),
            ("/v1/drivers/ipmi/vendor_passthru/ipxe_config?node_uuid=nope", RouteError::InvalidUuid),
            ("/v1/drivers/ipmi/vendor_passthru/ipxe_config?port_address=52:54", RouteError::InvalidPortAddress),
        ];
        for (target, expected) in cases {
            assert_eq!(Route::parse(target.as_bytes()), Err(expected), "{target}");
        }
        assert_eq!(RouteError::NotFound.status(), 404);
        assert_eq!(RouteError::EmptyValue.status(), 400);
        assert_eq!(RouteError::TargetTooLong.status(), 414);
    }
}
