//! The server stack of the lab. Each role is usable alone (and from tests).
//!
//! - [`workspace`]: the student workspace (`lab.toml`, Debian-shaped tree, path and port rules).
//! - [`config`]: Apache configuration: lexer and parser with spans, includes and conditionals,
//!   typed model with validation, Spanish diagnostics.
//! - [`http`]: the Apache role: listeners, virtual host selection, URL mapping, static files,
//!   autoindex, `mod_status`, access and error logs.
//! - [`memcached`]: the memcached role (text and meta protocols, sharded LRU store),
//!   configured from `etc/memcached.conf`.
//! - [`wsgi`]: mod_wsgi: embedded CPython (pyo3), daemon process groups, venv checks.
//! - [`fastcgi`]: FastCGI record codec, CGI response heads and the client side of a request.
//! - [`handlers`]: what answers a request once Apache's phases chose it: static files,
//!   autoindex, `server-status`, WSGI, CGI.
//! - [`scriptcache`]: the script cache (like OPcache) and the `apcu` user cache for Python.
//! - [`bench`]: the load generator of `lab bench` (keep-alive connections, HDR histogram).
//! - [`a2`]: Debian's `a2ensite`/`a2enmod`/`a2enconf` and their `dis` forms.
//! - [`explainer`]: the whole answer of `lab explain` (Apache and proxy), as text or JSON.
//! - [`report`]: the `apache2ctl -S`-style virtual host table and the port mappings.
//! - [`supervisor`]: starts, reloads and stops the roles; the control socket in `run/`.
//! - [`util`]: small shared helpers.
//! - `fuzzing`: the entry points of the fuzz targets and of their property tests.

pub mod a2;
pub mod bench;
pub mod config;
pub mod cores;
pub mod explainer;
pub mod fastcgi;
#[doc(hidden)]
pub mod fuzzing;
pub mod handlers;
pub mod http;
pub mod memcached;
pub mod php;
pub mod proxy;
pub mod report;
pub mod scriptcache;
pub mod supervisor;
pub mod util;
pub mod workspace;
pub mod wsgi;
