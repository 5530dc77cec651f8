//! The Apache role: what `<VirtualHost>`, `DocumentRoot`, `<Directory>` and friends turn into.
//!
//! - [`server`]: listeners and connections (hyper), request limits, graceful stop.
//! - [`site`]: the immutable snapshot a request is served from (configuration, MIME table,
//!   open logs); a reload swaps it atomically and in-flight requests keep the old one.
//! - [`vhost`]: Apache's virtual host selection (address, then `Host`).
//! - [`urlpath`]: decode once, normalise, refuse what leaves the tree.
//! - [`mapping`]: URL -> file (`Alias`, `DocumentRoot`), redirects, symlink rules.
//! - [`perdir`]: merging `<Directory>`, `<Files>`, `<Location>` in Apache's order.
//! - [`authz`]: evaluation of `Require` rules.
//! - [`request`]: the pipeline of one request, from vhost to handler to log line; the
//!   handlers themselves live in [`crate::handlers`].
//! - [`errors`]: Spanish error pages and `ErrorDocument`.
//! - [`log`]: access log formats and the error log.
//! - [`wire`]: the bytes under hyper: Apache's checks of a request head, HTTP/0.9 and
//!   HTTP/1.0 answers as Apache writes them.
//! - [`explain`]: `lab explain URL`, the same pipeline told in words.

pub mod authz;
pub mod errors;
pub mod explain;
pub mod handoff;
pub mod head;
pub mod htaccess;
mod lean;
pub mod log;
pub mod mapping;
pub mod perdir;
pub mod remoteip;
pub mod request;
pub mod server;
pub mod site;
pub mod urlpath;
pub mod vhost;
pub mod wire;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full};

pub use server::HttpRole;

/// The body of every response the lab sends.
pub type Body = BoxBody<Bytes, std::io::Error>;

/// A body from bytes in memory.
pub fn full(data: impl Into<Bytes>) -> Body {
    Full::new(data.into())
        .map_err(|never| match never {})
        .boxed()
}

/// An empty body.
pub fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed()
}
