//! Entry points for the fuzz targets (`fuzz/` with cargo-fuzz) and for the property tests
//! that run the same targets under `cargo test` (`tests/fuzz_targets.rs`).
//!
//! Each target takes arbitrary bytes, feeds them to one parser or codec of the lab and checks
//! what must hold whatever the input: no panic, bounded memory, and the target's own
//! invariants (a decoded record encodes back to the same bytes, a cleaned URL never climbs
//! above its root...). A broken invariant panics, which is what the fuzzer reports.
//!
//! Targets that read files (the Apache loader, memcached.conf, the php-fpm pools) write the
//! input into a workspace made once by [`Targets::new`] and load it from there, exactly as
//! `lab configtest` would.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::BytesMut;

use crate::config::diagnostic::render;
use crate::workspace::Workspace;

/// The names of the targets, as `fuzz/fuzz_targets/<name>.rs` and `fuzz/regressions/<name>/`.
pub const TARGETS: &[&str] = &[
    "apache_config",
    "memcached_conf",
    "memcached_session",
    "fastcgi_records",
    "url_path",
    "vcl",
    "php_ini",
    "php_fpm_pool",
    "htaccess",
    "varnishlog_query",
];

/// Input larger than this is cut: a configuration file of more than 64 KiB says nothing a
/// smaller one cannot, and it keeps every execution fast.
const MAX_INPUT: usize = 64 * 1024;

/// The site every URL target maps through: aliases with and without a trailing slash, a
/// regex alias with a capture, a script alias.
const URL_SITE: &str = "<VirtualHost *:80>
    ServerName fuzz.localhost
    DocumentRoot /var/www/html
    Alias /static/ /var/www/static/
    Alias /docs /usr/share/doc
    AliasMatch ^/img/(.*)\\.png$ /var/www/images/$1.png
    ScriptAlias /cgi-bin/ /usr/lib/cgi-bin/
</VirtualHost>
";

/// A workspace for the targets that read files, and the configuration the URL target maps
/// with.
pub struct Targets {
    ws: Workspace,
    url_config: crate::config::ServerConfig,
    site: PathBuf,
    memcached: PathBuf,
    pool: PathBuf,
}

fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(&data[..data.len().min(MAX_INPUT)])
}

/// Runs target `name` on one input with a workspace made once per fuzzing process (under the
/// system's temporary directory): the whole body of every `fuzz/fuzz_targets/<name>.rs`.
pub fn run_in_process(name: &str, data: &[u8]) -> bool {
    static SHARED: std::sync::OnceLock<Targets> = std::sync::OnceLock::new();
    let targets = SHARED.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("lab-fuzz-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Targets::new(&dir).expect("the fuzz workspace")
    });
    targets.run(name, data)
}

impl Targets {
    /// Creates a fresh workspace in `dir` (which must be empty or absent).
    pub fn new(dir: &Path) -> Result<Targets, String> {
        let ws = crate::workspace::init(dir, Some("fuzz")).map_err(|e| e.to_string())?;
        let site = ws.root.join("etc/apache2/sites-available/000-default.conf");
        for d in [
            "var/www/static",
            "var/www/images",
            "usr/share/doc",
            "usr/lib/cgi-bin",
        ] {
            std::fs::create_dir_all(ws.root.join(d)).map_err(|e| e.to_string())?;
        }
        std::fs::write(&site, URL_SITE).map_err(|e| e.to_string())?;
        let url_config = crate::config::load(&ws)
            .map_err(|d| render(&d, Some(&ws.root)))?
            .config;
        let memcached = ws.root.join(crate::memcached::config::CONF_PATH);
        let pool = ws.root.join("etc/php/8.2/fpm/pool.d/www.conf");
        Ok(Targets {
            ws,
            url_config,
            site,
            memcached,
            pool,
        })
    }

    /// Runs target `name` on `data`; `false` when there is no such target.
    pub fn run(&self, name: &str, data: &[u8]) -> bool {
        match name {
            "apache_config" => self.apache_config(data),
            "memcached_conf" => self.memcached_conf(data),
            "memcached_session" => memcached_session(data),
            "fastcgi_records" => fastcgi_records(data),
            "url_path" => self.url_path(data),
            "vcl" => vcl(data),
            "php_ini" => php_ini(data),
            "php_fpm_pool" => self.php_fpm_pool(data),
            "htaccess" => self.htaccess(data),
            "varnishlog_query" => varnishlog_query(data),
            _ => return false,
        }
        true
    }

    /// The input as the enabled site (first byte even) or as `apache2.conf` itself (odd),
    /// loaded and validated like `lab configtest`; the diagnostics are rendered too.
    pub fn apache_config(&self, data: &[u8]) {
        let (target, body) = match data.split_first() {
            Some((b, rest)) if b % 2 == 1 => (self.ws.apache_dir().join("apache2.conf"), rest),
            Some((_, rest)) => (self.site.clone(), rest),
            None => (self.site.clone(), data),
        };
        let saved = std::fs::read(&target).ok();
        if std::fs::write(&target, text(body).as_bytes()).is_err() {
            return;
        }
        let result = crate::config::load(&self.ws);
        if let Some(saved) = saved {
            let _ = std::fs::write(&target, saved);
        }
        match result {
            Ok(loaded) => {
                let _ = render(&loaded.warnings, Some(&self.ws.root));
                let _ = crate::report::vhost_table(&loaded.config);
            }
            Err(diags) => {
                assert!(
                    diags.iter().any(|d| d.is_error()),
                    "a refused configuration names at least one error"
                );
                let _ = render(&diags, Some(&self.ws.root));
            }
        }
    }

    /// The input as `etc/memcached.conf`, through the loader `lab start` uses.
    pub fn memcached_conf(&self, data: &[u8]) {
        if std::fs::write(&self.memcached, text(data).as_bytes()).is_err() {
            return;
        }
        match crate::memcached::config::load(&self.ws) {
            Ok(loaded) => {
                let c = &loaded.config;
                assert!(c.threads >= 1, "memcached needs at least one thread");
                let _ = c.listens(&Arc::new(PathBuf::from("memcached.conf")));
                let _ = render(&loaded.warnings, Some(&self.ws.root));
            }
            Err(diags) => {
                let _ = render(&diags, Some(&self.ws.root));
            }
        }
    }

    /// The input as the `www` pool of php-fpm (`pool.d/www.conf`), loaded with `php-fpm.conf`
    /// and the generated configuration written out as `lab start` would.
    pub fn php_fpm_pool(&self, data: &[u8]) {
        let saved = std::fs::read(&self.pool).ok();
        if std::fs::write(&self.pool, text(data).as_bytes()).is_err() {
            return;
        }
        let result = crate::php::fpm::load(&self.ws);
        if let Some(saved) = saved {
            let _ = std::fs::write(&self.pool, saved);
        }
        match result {
            Ok(Some(loaded)) => {
                let _ = loaded.config.generate();
                let _ = render(&loaded.warnings, Some(&self.ws.root));
            }
            Ok(None) => {}
            Err(diags) => {
                let _ = render(&diags, Some(&self.ws.root));
            }
        }
    }

    /// The input as a `.htaccess` file: the first byte is the `AllowOverride` mask it is read
    /// under (its top bit adds an `AllowOverrideList` of two directives, the next one limits
    /// `Options` to `Options=Indexes`), the rest the file's
    /// text. A refused file names its reason, as the 500's error-log line does.
    pub fn htaccess(&self, data: &[u8]) {
        use crate::http::htaccess::{parse, Override};
        let (allowed, body) = match data.split_first() {
            Some((b, rest)) => (b & Override::ALL, rest),
            None => (Override::ALL, data),
        };
        let list: Vec<String> = match data.first() {
            Some(b) if b & 0x80 != 0 => vec!["Redirect".into(), "Header".into()],
            _ => Vec::new(),
        };
        let opts = match data.first() {
            Some(b) if b & 0x40 != 0 => crate::config::model::OptionSet::INDEXES,
            _ => crate::config::model::OptionSet::EVERY,
        };
        let file = self.ws.root.join("var/www/html/.htaccess");
        if let Err(e) = parse(&self.url_config, &file, &text(body), (allowed, opts), &list) {
            assert!(!e.reason.is_empty(), "a refused .htaccess says why");
        }
    }

    /// The input as a request target: cleaned like every request path, then mapped through
    /// the aliases of [`URL_SITE`]. Whatever comes in, the cleaned path is absolute and has no
    /// `.`, `..`, empty or NUL segment, and the mapped file lies under the root it was mapped
    /// from.
    pub fn url_path(&self, data: &[u8]) {
        let raw = text(data);
        let path = raw.split('?').next().unwrap_or("");
        let Ok(clean) = crate::http::urlpath::clean(path) else {
            return;
        };
        assert!(clean.starts_with('/'), "cleaned path {clean:?} is absolute");
        assert!(!clean.contains('\0'), "cleaned path {clean:?} has no NUL");
        let inner = clean.trim_end_matches('/');
        for seg in inner.split('/').skip(1) {
            assert!(
                !seg.is_empty() && seg != "." && seg != "..",
                "cleaned path {clean:?} has a segment {seg:?}"
            );
        }
        let _ = crate::http::urlpath::encode(&clean);
        let config = &self.url_config;
        let host = config
            .vhosts
            .first()
            .map(|v| &v.host)
            .unwrap_or(&config.main);
        let mapped = crate::http::mapping::map(config, host, &clean);
        let normal = crate::workspace::normalize(&mapped.path);
        let root = crate::workspace::normalize(&mapped.root);
        assert!(
            normal.starts_with(&root),
            "{clean:?} mapped to {} outside its root {}",
            mapped.path.display(),
            mapped.root.display()
        );
        assert!(
            normal.starts_with(&self.ws.root),
            "{clean:?} mapped to {} outside the workspace",
            mapped.path.display()
        );
    }
}

/// The input as a stream of bytes from a memcached client, cut into pieces whose sizes come
/// from the first byte, through one session. Replies stay proportional to the input (no
/// command makes the server buffer what the client did not send) and the session never
/// panics.
pub fn memcached_session(data: &[u8]) {
    use crate::memcached::clock::Clock;
    use crate::memcached::config::MemcachedConfig;
    use crate::memcached::session::{Flow, Session, Shared};
    use crate::memcached::store::{Store, StoreSettings};

    let Some((&cut, data)) = data.split_first() else {
        return;
    };
    let mut config = MemcachedConfig::defaults(PathBuf::from("/dev/null"));
    config.memory_limit = 1 << 20;
    config.item_size_max = 64 << 10;
    config.threads = 1;
    let store = Store::new(
        StoreSettings {
            memory_limit: config.memory_limit,
            item_size_max: config.item_size_max,
            evictions: true,
            shards: 1,
        },
        Clock::new(),
    );
    let shared = Arc::new(Shared::new(store, config, None));
    let mut session = Session::new(shared, 1);
    let piece = usize::from(cut % 64) + 1;
    let mut input = BytesMut::new();
    let mut out = Vec::new();
    for chunk in data[..data.len().min(MAX_INPUT)].chunks(piece) {
        input.extend_from_slice(chunk);
        let flow = session.process(&mut input, &mut out);
        assert!(
            input.capacity() <= 4 * MAX_INPUT + (1 << 20),
            "the session buffers {} bytes for {} bytes of input",
            input.capacity(),
            data.len()
        );
        if flow == Flow::Close {
            break;
        }
        out.clear();
    }
}

/// The input as FastCGI records: every record decoded from it encodes back to the same
/// header and content, name-value pairs decoded from a record's content encode back to the
/// same bytes, and a truncated stream is never a record.
pub fn fastcgi_records(data: &[u8]) {
    use crate::fastcgi::record::{
        decode, decode_pairs, encode, encode_pairs, parse_begin_request, parse_end_request,
        RecordType,
    };
    let mut buf = BytesMut::from(&data[..data.len().min(MAX_INPUT)]);
    let mut rounds = 0;
    loop {
        let before = buf.len();
        let record = match decode(&mut buf) {
            Ok(Some(r)) => r,
            Ok(None) | Err(_) => break,
        };
        rounds += 1;
        assert!(buf.len() < before, "decoding a record consumes bytes");
        if let Some(kind) = record.record_type() {
            let mut again = BytesMut::new();
            encode(&mut again, kind, record.request_id, &record.content);
            let back = decode(&mut again)
                .expect("a record the codec wrote decodes")
                .expect("a whole record");
            assert_eq!(back, record, "record round trip");
            assert!(again.is_empty(), "padding is consumed");
        }
        let _ = parse_begin_request(&record.content);
        let _ = parse_end_request(&record.content);
        if let Some(pairs) = decode_pairs(&record.content) {
            let encoded = encode_pairs(pairs.iter().map(|(n, v)| (n.as_slice(), v.as_slice())));
            let again = decode_pairs(&encoded).expect("encoded pairs decode");
            assert_eq!(again, pairs, "name-value pairs round trip");
        }
        if record.record_type() == Some(RecordType::Params) && rounds > 10_000 {
            break;
        }
    }
}

/// The input as a VCL program: lexed, parsed, merged with the builtin VCL and checked like
/// `lab configtest` does; the diagnostics are rendered.
pub fn vcl(data: &[u8]) {
    use crate::proxy::vcl::{check::check, parser};
    let file = Arc::new(PathBuf::from("etc/varnish/default.vcl"));
    let text = text(data);
    match parser::parse(&text, &file, false) {
        Ok(program) => {
            let builtin = parser::parse(
                crate::proxy::vcl::BUILTIN_VCL,
                &Arc::new(PathBuf::from("builtin.vcl")),
                true,
            )
            .expect("the builtin VCL parses");
            match parser::merge(program, builtin) {
                Ok(merged) => match check(&merged) {
                    Ok(w) | Err(w) => {
                        let _ = render(&w, None);
                    }
                },
                Err(diags) => {
                    let _ = render(&diags, None);
                }
            }
        }
        Err(diags) => {
            assert!(!diags.is_empty(), "a refused VCL says why");
            let _ = render(&diags, None);
        }
    }
}

/// The input as a `lab proxy log -q` query (varnishlog's query language): the first line is
/// the query, the lines after it are the records (`Tag value`) it is matched against.
pub fn varnishlog_query(data: &[u8]) {
    use crate::proxy::query::Query;
    let text = text(data);
    let (query, rest) = text.split_once('\n').unwrap_or((&text, ""));
    let Ok(q) = Query::parse(query) else {
        return;
    };
    let records: Vec<(&str, &str)> = rest
        .lines()
        .map(|l| l.split_once(' ').unwrap_or((l, "")))
        .collect();
    let _ = q.matches(&records);
}

/// The input as a `php.ini`: every entry keeps a span inside the text.
pub fn php_ini(data: &[u8]) {
    let file = Arc::new(PathBuf::from("etc/php/8.2/fpm/php.ini"));
    let text = text(data);
    let lines = text.lines().count().max(1) as u32;
    let (ini, diags) = crate::php::ini::parse(&file, &text);
    for e in &ini.entries {
        assert!(
            e.key_span.line >= 1 && e.key_span.line <= lines,
            "entry {:?} on line {} of {lines}",
            e.key,
            e.key_span.line
        );
        let _ = crate::php::ini::flag(&e.value);
    }
    let _ = render(&diags, None);
}
