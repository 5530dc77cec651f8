//! One client connection's protocol state, without any I/O (so it is tested by feeding
//! bytes): it takes what arrived, answers every complete command into an output buffer
//! and keeps what is incomplete for later.
//!
//! Input that is not memcached's text protocol is treated as memcached 1.6.18 treats it
//! (`try_read_command_ascii` and `process_command_ascii` in its `proto_text.c`):
//! - more than 2048 bytes without a `\n` close the connection, unless they start like a
//!   multi-key `get `/`gets ` (those may be long);
//! - an unknown command whose last word starts with `HTTP/` (an HTTP request line sent to
//!   the port) closes the connection without an answer;
//! - a first byte 0x80 is the binary protocol, which the lab does not speak: it closes.
//!
//! A refused storage line does not swallow its data block (the block's lines get `ERROR`),
//! and a bad data chunk consumes exactly `bytes + 2` bytes, as in memcached.

use std::io::Write as _;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::{Buf, BytesMut};

use super::cmd::{
    self, admin, arith, keys, meta, retrieval, stats, storage, Env, ProtoError, ServerInfo,
};
use super::config::MemcachedConfig;
use super::store::Store;

/// Bytes without a `\n` after which memcached gives up on a line (unless it is a `get`).
pub const MAX_LINE: usize = 2048;
/// memcached's read buffer: a longer line cannot hold its `\n` in one read, so memcached
/// has closed the connection before seeing it (again, unless it is a `get`).
pub const READ_BUFFER: usize = 16384;
/// Longest multi-key `get`/`gets` line the lab keeps (memcached grows its buffer without
/// bound; the lab closes the connection beyond this).
pub const MAX_GET_LINE: usize = 16 * 1024 * 1024;

/// State shared by every connection of a server.
pub struct Shared {
    pub store: Store,
    pub config: MemcachedConfig,
    pub verbosity: AtomicU32,
    pub log: Option<Mutex<std::fs::File>>,
    pub curr_connections: AtomicU64,
    pub total_connections: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub cmd_flush: AtomicU64,
    pub cmd_meta: AtomicU64,
    pub bytes_read: AtomicU64,
    pub bytes_written: AtomicU64,
}

impl Shared {
    pub fn new(store: Store, config: MemcachedConfig, log: Option<std::fs::File>) -> Shared {
        Shared {
            store,
            verbosity: AtomicU32::new(config.verbosity),
            config,
            log: log.map(Mutex::new),
            curr_connections: AtomicU64::new(0),
            total_connections: AtomicU64::new(0),
            rejected_connections: AtomicU64::new(0),
            cmd_flush: AtomicU64::new(0),
            cmd_meta: AtomicU64::new(0),
            bytes_read: AtomicU64::new(0),
            bytes_written: AtomicU64::new(0),
        }
    }

    /// Writes a line to the log when the verbosity is at least `level`.
    pub fn log(&self, level: u32, line: impl FnOnce() -> String) {
        if self.verbosity.load(Ordering::Relaxed) < level {
            return;
        }
        if let Some(file) = &self.log {
            let mut f = file.lock().unwrap_or_else(|p| p.into_inner());
            let _ = writeln!(f, "{}", line());
        }
    }
}

impl ServerInfo for Shared {
    fn snapshot(&self) -> stats::ServerSnapshot {
        let r = |a: &AtomicU64| a.load(Ordering::Relaxed);
        stats::ServerSnapshot {
            pid: std::process::id(),
            uptime: self.store.clock.uptime(),
            time: self.store.clock.unix_now(),
            max_connections: u64::from(self.config.max_connections),
            curr_connections: r(&self.curr_connections),
            total_connections: r(&self.total_connections),
            rejected_connections: r(&self.rejected_connections),
            cmd_flush: r(&self.cmd_flush),
            cmd_meta: r(&self.cmd_meta),
            bytes_read: r(&self.bytes_read),
            bytes_written: r(&self.bytes_written),
            threads: self.config.threads as u64,
        }
    }

    fn settings(&self) -> stats::SettingsSnapshot {
        let c = &self.config;
        stats::SettingsSnapshot {
            maxbytes: c.memory_limit,
            maxconns: u64::from(c.max_connections),
            tcpport: c.port,
            inter: c
                .addrs
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(","),
            verbosity: self.verbosity.load(Ordering::Relaxed),
            evictions: !c.no_evictions,
            num_threads: c.threads as u64,
            item_size_max: c.item_size_max,
        }
    }

    fn set_verbosity(&self, level: u32) {
        self.verbosity.store(level, Ordering::Relaxed);
    }

    fn count_flush(&self) {
        self.cmd_flush.fetch_add(1, Ordering::Relaxed);
    }
}

/// Whether the connection goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Close,
}

enum State {
    /// Waiting for a command line.
    Line,
    /// Waiting for the data block of a storage command (`bytes + 2`).
    Data(storage::Storage),
    MetaData(meta::MetaSet),
    /// Dropping this many bytes (the data block of an item too large to store).
    Swallow(usize),
}

/// At most this much room is reserved ahead for a data block: the buffer grows with what
/// the client actually sends, never with what its command line claims.
const READ_AHEAD: usize = 64 << 10;

/// The protocol state of one connection.
pub struct Session {
    shared: Arc<Shared>,
    state: State,
    id: u64,
    /// The first byte has been seen (memcached picks the protocol from it).
    negotiated: bool,
}

impl Session {
    pub fn new(shared: Arc<Shared>, id: u64) -> Session {
        Session {
            shared,
            state: State::Line,
            id,
            negotiated: false,
        }
    }

    /// Consumes every complete command in `input`, appending replies to `out`.
    pub fn process(&mut self, input: &mut BytesMut, out: &mut Vec<u8>) -> Flow {
        loop {
            match std::mem::replace(&mut self.state, State::Line) {
                State::Swallow(n) => {
                    let take = n.min(input.len());
                    input.advance(take);
                    if take < n {
                        self.state = State::Swallow(n - take);
                        return Flow::Continue;
                    }
                }
                State::Data(cmd) => {
                    let need = cmd.bytes + 2;
                    if input.len() < need {
                        input.reserve((need - input.len()).min(READ_AHEAD));
                        self.state = State::Data(cmd);
                        return Flow::Continue;
                    }
                    let start = out.len();
                    if &input[cmd.bytes..need] == b"\r\n" {
                        let env = self.env();
                        let outcome = storage::apply(&cmd, &input[..cmd.bytes], &env);
                        storage::encode(outcome, cmd.noreply, out);
                        input.advance(need);
                    } else {
                        self.bad_chunk(input, need, out, cmd.noreply);
                    }
                    self.log_reply(start, out);
                }
                State::MetaData(ms) => {
                    let need = ms.bytes + 2;
                    if input.len() < need {
                        input.reserve((need - input.len()).min(READ_AHEAD));
                        self.state = State::MetaData(ms);
                        return Flow::Continue;
                    }
                    let start = out.len();
                    if &input[ms.bytes..need] == b"\r\n" {
                        let env = self.env();
                        meta::set(&ms, &input[..ms.bytes], &env, out);
                        input.advance(need);
                    } else {
                        self.bad_chunk(input, need, out, false);
                    }
                    self.log_reply(start, out);
                }
                State::Line => {
                    if !self.negotiated {
                        match input.first() {
                            None => return Flow::Continue,
                            Some(0x80) => return Flow::Close,
                            Some(_) => self.negotiated = true,
                        }
                    }
                    let Some(pos) = input.iter().position(|&b| b == b'\n') else {
                        if input.len() > MAX_LINE
                            && (!is_multiget(input) || input.len() > MAX_GET_LINE)
                        {
                            return Flow::Close;
                        }
                        return Flow::Continue;
                    };
                    if pos >= READ_BUFFER && !is_multiget(input) {
                        return Flow::Close;
                    }
                    let line = input.split_to(pos + 1);
                    let mut text = &line[..pos];
                    if text.len() > 1 && text.last() == Some(&b'\r') {
                        text = &text[..text.len() - 1];
                    }
                    self.shared.log(2, || {
                        format!("<{} {}", self.id, String::from_utf8_lossy(text))
                    });
                    let start = out.len();
                    let flow = self.command(text, out);
                    self.log_reply(start, out);
                    if flow == Flow::Close {
                        return Flow::Close;
                    }
                }
            }
        }
    }

    /// The data block did not end in `\r\n`: answer, and go on with what follows the
    /// `bytes + 2` bytes read as the block (memcached reads them as commands).
    fn bad_chunk(&mut self, input: &mut BytesMut, need: usize, out: &mut Vec<u8>, quiet: bool) {
        if !quiet {
            ProtoError::Client("bad data chunk").encode(out);
        }
        input.advance(need);
    }

    fn log_reply(&self, start: usize, out: &[u8]) {
        if out.len() > start {
            self.shared.log(2, || {
                let reply = &out[start..];
                let first = reply.split(|&b| b == b'\r').next().unwrap_or_default();
                format!(">{} {}", self.id, String::from_utf8_lossy(first))
            });
        }
    }

    fn env(&self) -> Env<'_> {
        Env {
            store: &self.shared.store,
            server: &*self.shared,
        }
    }

    /// Runs one command line.
    fn command(&mut self, line: &[u8], out: &mut Vec<u8>) -> Flow {
        let tokens = cmd::tokenize(line);
        let Some(&name) = tokens.first() else {
            out.extend_from_slice(cmd::ERROR);
            return Flow::Continue;
        };
        let shared = &*self.shared;
        let env = Env {
            store: &shared.store,
            server: shared,
        };
        // The state after this line (waiting for a data block, swallowing one).
        let mut next: Option<State> = None;
        let result: Result<(), ProtoError> = (|| {
            if let Some(mode) = storage::Mode::from_name(name) {
                match storage::parse(mode, &tokens) {
                    Ok(c) => {
                        if let Some(e) = storage::precheck(&c, &env) {
                            next = Some(State::Swallow(c.bytes + 2));
                            return Err(e);
                        }
                        next = Some(State::Data(c));
                    }
                    Err(e) => return Err(e),
                }
                return Ok(());
            }
            match name {
                b"get" | b"gets" | b"gat" | b"gats" => {
                    let g = retrieval::parse(name, &tokens)?;
                    let hits = retrieval::apply(&g, &env);
                    retrieval::encode(&hits, g.with_cas, out);
                }
                b"delete" => {
                    let d = keys::parse_delete(&tokens)?;
                    let done = keys::apply_delete(&d, &env);
                    keys::encode_delete(done, d.noreply, out);
                }
                b"touch" => {
                    let t = keys::parse_touch(&tokens)?;
                    let found = keys::apply_touch(&t, &env);
                    keys::encode_touch(found, t.noreply, out);
                }
                b"incr" | b"decr" => {
                    let a = arith::parse(name == b"incr", &tokens)?;
                    let outcome = arith::apply(&a, &env);
                    arith::encode(&outcome, a.noreply, out);
                }
                b"stats" => {
                    let s = stats::parse(&tokens)?;
                    let pairs = stats::apply(s, &env);
                    stats::encode(s, &pairs, out);
                }
                b"mn" => out.extend_from_slice(b"MN\r\n"),
                b"mg" | b"md" | b"ma" | b"me" | b"ms" => {
                    shared.cmd_meta.fetch_add(1, Ordering::Relaxed);
                    match name {
                        b"mg" => meta::get(&meta::parse(&tokens, meta::MG_FLAGS)?, &env, out)?,
                        b"md" => meta::delete(&meta::parse(&tokens, meta::MD_FLAGS)?, &env, out)?,
                        b"ma" => {
                            meta::arithmetic(&meta::parse(&tokens, meta::MA_FLAGS)?, &env, out)?
                        }
                        b"me" => meta::debug(&meta::parse(&tokens, b"b")?, &env, out),
                        _ => {
                            let ms = meta::parse_set(&tokens)?;
                            if let Some(e) = meta::precheck_set(&ms, &env) {
                                next = Some(State::Swallow(ms.bytes.saturating_add(2)));
                                return Err(e);
                            }
                            next = Some(State::MetaData(ms));
                        }
                    }
                }
                _ if is_http_request(name, &tokens) => return Err(QUIT),
                _ => {
                    let a = admin::parse(name, &tokens)?;
                    if !admin::apply_and_encode(&a, &env, out) {
                        return Err(QUIT);
                    }
                }
            }
            Ok(())
        })();
        if let Some(state) = next {
            self.state = state;
        }
        match result {
            Ok(()) => Flow::Continue,
            Err(e) if e == QUIT => Flow::Close,
            // With noreply memcached stays silent even about errors, except a wrong number
            // of tokens (the line was not understood at all).
            Err(e) if e != ProtoError::Error && takes_noreply(name) && cmd::noreply(&tokens) => {
                Flow::Continue
            }
            Err(e) => {
                e.encode(out);
                Flow::Continue
            }
        }
    }
}

/// Internal marker for `quit` (never sent).
const QUIT: ProtoError = ProtoError::Server("\0quit");

fn takes_noreply(name: &[u8]) -> bool {
    matches!(
        name,
        b"set"
            | b"add"
            | b"replace"
            | b"append"
            | b"prepend"
            | b"cas"
            | b"delete"
            | b"touch"
            | b"incr"
            | b"decr"
            | b"flush_all"
            | b"verbosity"
    )
}

/// Whether a line without its end yet may be a long multi-key get: memcached allows at most
/// 100 leading spaces and then `get ` or `gets ` (not `gat`/`gats`).
fn is_multiget(input: &[u8]) -> bool {
    let spaces = input.iter().take_while(|&&b| b == b' ').count();
    let rest = &input[spaces..];
    spaces <= 100 && (rest.starts_with(b"get ") || rest.starts_with(b"gets "))
}

/// An HTTP request line sent to memcached: an unknown command whose last word starts with
/// `HTTP/`. memcached dispatches on the first letter, so only names outside the letters it
/// knows (and outside its other commands) get this far.
fn is_http_request(name: &[u8], tokens: &[&[u8]]) -> bool {
    const OTHERS: &[&[u8]] = &[
        b"replace",
        b"prepend",
        b"bget",
        b"flush_all",
        b"version",
        b"quit",
        b"lru_crawler",
        b"watch",
        b"verbosity",
        b"lru",
    ];
    if name.len() < 2 {
        return false;
    }
    let by_letter = matches!(name[0], b'g' | b's' | b'a' | b'c' | b'i' | b'd' | b't')
        || (name[0] == b'm' && name.len() == 2);
    !by_letter && !OTHERS.contains(&name) && tokens.last().is_some_and(|t| t.starts_with(b"HTTP/"))
}
