//! FastCGI (the protocol php-fpm and the lab's WSGI daemon workers speak), both sides.
//!
//! - [`record`]: the record codec: 8-byte headers, name-value pairs, BEGIN/END bodies,
//!   reading and writing records on any tokio stream.
//! - [`cgi`]: the CGI-style response head a responder writes on STDOUT (`Status:` and
//!   headers, then a blank line).
//! - [`pool`]: connections to one backend, kept and bounded by its size (`FCGI_KEEP_CONN`).
//! - [`client`]: one request as a client (the web server side): params, streamed STDIN,
//!   STDOUT as a stream of events.

pub mod cgi;
pub mod client;
pub mod pool;
pub mod record;

pub use record::{Record, RecordType};
