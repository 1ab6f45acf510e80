//! What requests mean: the applications behind the HTTP transport's
//! [`Handler`](crate::http::Handler) seam.
//!
//! [`IpxeService`] answers the iPXE endpoints from the core router and renderer, serves
//! boot artifacts from the file source, and writes the access log. Another service (a
//! metrics page, a TFTP server sharing the same files) sits beside it as a module of its
//! own; the transport does not change.

mod access_log;
pub mod counts;
pub mod ipxe;

pub use counts::{Answered, RequestCounts};
pub use ipxe::IpxeService;
