//! Handing a client's TCP connection from one process to another (daemon-mode WSGI).
//!
//! The lab's process accepts, reads a request head and routes it as Apache does. When the
//! request goes to a `WSGIDaemonProcess` group, the lab does not forward it: it passes the
//! connection itself (its file descriptor, over the worker's unix socket with `SCM_RIGHTS`)
//! together with the request head and the bytes it had already read. The worker, the same
//! `lab` binary with the same configuration loaded, serves that request and the following
//! keep-alive requests that route to its group directly, with no second hop; a request that
//! routes anywhere else (a static file, another group, an embedded application,
//! `server-status`) makes it pass the connection back to the lab the same way.
//!
//! A packet on the wire: a fixed header, three strings (workspace, the lab's hand-back
//! socket, the shared counters file), the request head and the bytes already read, with the
//! descriptor attached to its first byte.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes};
use http::request::Parts;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

const MAGIC: &[u8; 4] = b"LABH";
/// Fixed part: magic, flags, port, served, generation, fingerprint, 3 string lengths,
/// head and extra lengths.
const FIXED: usize = 4 + 4 + 2 + 8 + 8 + 8 + 2 * 3 + 4 + 4;
/// Flag: the sender could not serve the connection here; the lab keeps it and serves its
/// WSGI requests over FastCGI instead.
pub const FLAG_NO_HANDOFF: u32 = 1;
/// Largest head plus bytes already read that a packet may carry.
const MAX_PAYLOAD: usize = 1024 * 1024;

/// How a connection of this process treats daemon-mode requests.
#[derive(Debug, Clone, Default)]
pub enum Mode {
    /// Forward them over FastCGI (no hand-off possible).
    #[default]
    Off,
    /// The lab: pass the connection to a worker of the group.
    Lab,
    /// A worker: serve its own group; pass anything else back to the lab's socket.
    Worker(Arc<PathBuf>),
}

/// Everything a receiver needs besides the descriptor.
#[derive(Debug, Clone, Default)]
pub struct Packet {
    pub flags: u32,
    /// The port as written in `Listen`.
    pub port: u16,
    /// Requests already served on this connection (for `%k` and `Keep-Alive: max=`).
    pub served: u64,
    /// The lab's configuration generation and the fingerprint of its configuration.
    pub generation: u64,
    pub fingerprint: u64,
    pub workspace: PathBuf,
    pub handback: PathBuf,
    pub stats: PathBuf,
    /// The head of the request to serve first (empty: none, wait for the next one).
    pub head: Bytes,
    /// Bytes read from the client after that head.
    pub extra: Bytes,
}

fn path_bytes(p: &Path) -> &[u8] {
    use std::os::unix::ffi::OsStrExt;
    p.as_os_str().as_bytes()
}

impl Packet {
    fn encode(&self) -> Vec<u8> {
        let strings = [
            path_bytes(&self.workspace),
            path_bytes(&self.handback),
            path_bytes(&self.stats),
        ];
        let mut out = Vec::with_capacity(
            FIXED
                + strings.iter().map(|s| s.len()).sum::<usize>()
                + self.head.len()
                + self.extra.len(),
        );
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&self.port.to_le_bytes());
        out.extend_from_slice(&self.served.to_le_bytes());
        out.extend_from_slice(&self.generation.to_le_bytes());
        out.extend_from_slice(&self.fingerprint.to_le_bytes());
        for s in &strings {
            out.extend_from_slice(&(s.len() as u16).to_le_bytes());
        }
        out.extend_from_slice(&(self.head.len() as u32).to_le_bytes());
        out.extend_from_slice(&(self.extra.len() as u32).to_le_bytes());
        for s in &strings {
            out.extend_from_slice(s);
        }
        out.extend_from_slice(&self.head);
        out.extend_from_slice(&self.extra);
        out
    }

    /// Reads the rest of a packet whose fixed part is `fixed`.
    fn decode(fixed: &[u8; FIXED], r: &mut impl Read) -> std::io::Result<Packet> {
        use std::os::unix::ffi::OsStringExt;
        let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
        if &fixed[..4] != MAGIC {
            return Err(bad("no es un paquete de traspaso de conexión"));
        }
        let mut c = &fixed[4..];
        let flags = c.get_u32_le();
        let port = c.get_u16_le();
        let served = c.get_u64_le();
        let generation = c.get_u64_le();
        let fingerprint = c.get_u64_le();
        let lens = [c.get_u16_le(), c.get_u16_le(), c.get_u16_le()];
        let head_len = c.get_u32_le() as usize;
        let extra_len = c.get_u32_le() as usize;
        if head_len + extra_len > MAX_PAYLOAD {
            return Err(bad("paquete de traspaso demasiado grande"));
        }
        let mut strings = Vec::new();
        for l in lens {
            let mut s = vec![0u8; l as usize];
            r.read_exact(&mut s)?;
            strings.push(PathBuf::from(std::ffi::OsString::from_vec(s)));
        }
        let mut head = vec![0u8; head_len];
        r.read_exact(&mut head)?;
        let mut extra = vec![0u8; extra_len];
        r.read_exact(&mut extra)?;
        let stats = strings.pop().unwrap_or_default();
        let handback = strings.pop().unwrap_or_default();
        let workspace = strings.pop().unwrap_or_default();
        Ok(Packet {
            flags,
            port,
            served,
            generation,
            fingerprint,
            workspace,
            handback,
            stats,
            head: head.into(),
            extra: extra.into(),
        })
    }
}

/// Sends `packet` with the descriptor `fd` over `to` (blocking, bounded by a timeout).
pub fn send(to: &UnixStream, fd: RawFd, packet: &Packet) -> std::io::Result<()> {
    let data = packet.encode();
    to.set_write_timeout(Some(Duration::from_secs(5)))?;
    let sent = send_with_fd(to.as_raw_fd(), &data, fd)?;
    if sent < data.len() {
        let mut w = to;
        w.write_all(&data[sent..])?;
    }
    Ok(())
}

#[allow(unsafe_code)]
fn send_with_fd(sock: RawFd, data: &[u8], fd: RawFd) -> std::io::Result<usize> {
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    // SAFETY: CMSG_SPACE only computes a size.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) } as usize;
    let mut control = vec![0u8; space];
    // SAFETY: msghdr is plain data; every pointer set below points into live buffers that
    // outlive the sendmsg call, and the control buffer has room for one descriptor.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr() as *mut libc::c_void;
        msg.msg_controllen = space as _;
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        if cmsg.is_null() {
            return Err(std::io::Error::other("sin sitio para el descriptor"));
        }
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg) as *mut RawFd, fd);
        loop {
            let n = libc::sendmsg(sock, &msg, libc::MSG_NOSIGNAL);
            if n >= 0 {
                return Ok(n as usize);
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

/// Receives some bytes into `buf` and the descriptor sent with them, if any.
#[allow(unsafe_code)]
fn recv_with_fd(sock: RawFd, buf: &mut [u8]) -> std::io::Result<(usize, Option<OwnedFd>)> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr() as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: CMSG_SPACE only computes a size.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32 * 4) } as usize;
    let mut control = vec![0u8; space];
    // SAFETY: as in `send_with_fd`; the descriptors the kernel installs are taken into
    // `OwnedFd`s at once (MSG_CMSG_CLOEXEC keeps them from leaking into children).
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr() as *mut libc::c_void;
        msg.msg_controllen = space as _;
        let n = loop {
            let n = libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC);
            if n >= 0 {
                break n as usize;
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e);
            }
        };
        let mut fd = None;
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(cmsg) as *const RawFd;
                let count = ((*cmsg).cmsg_len as usize - libc::CMSG_LEN(0) as usize)
                    / std::mem::size_of::<RawFd>();
                for i in 0..count {
                    let raw = std::ptr::read_unaligned(data.add(i));
                    let owned = OwnedFd::from_raw_fd(raw);
                    if fd.is_none() {
                        fd = Some(owned);
                    }
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
        Ok((n, fd))
    }
}

/// Reads one packet and its descriptor from a freshly accepted hand-off connection.
pub fn receive(from: &mut UnixStream) -> std::io::Result<(std::net::TcpStream, Packet)> {
    from.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut fixed = [0u8; FIXED];
    let (mut got, fd) = recv_with_fd(from.as_raw_fd(), &mut fixed)?;
    let Some(fd) = fd else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "el paquete de traspaso llegó sin descriptor",
        ));
    };
    while got < FIXED {
        let n = from.read(&mut fixed[got..])?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        got += n;
    }
    let packet = Packet::decode(&fixed, from)?;
    let stream = std::net::TcpStream::from(fd);
    stream.set_nonblocking(true)?;
    Ok((stream, packet))
}

/// Accepts hand-off packets on `listener` (a thread of its own) and gives each connection to
/// `serve`, until `stop` is set. Once it is, the packets already queued on the socket are
/// still taken (their descriptors would be lost with the socket) before the thread ends;
/// whoever sets `stop` removes the socket's path first so that no new ones arrive.
pub fn spawn_receiver<F>(
    name: &str,
    listener: UnixListener,
    stop: Arc<AtomicBool>,
    serve: F,
) -> std::io::Result<std::thread::JoinHandle<()>>
where
    F: Fn(std::net::TcpStream, Packet) + Send + 'static,
{
    listener.set_nonblocking(true)?;
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            // Empty polls seen since `stop` was set: two in a row end the thread (the second
            // one a little later, for a connect that raced with the path's removal).
            let mut empty_after_stop = 0;
            loop {
                let stopping = stop.load(Ordering::SeqCst);
                match listener.accept() {
                    Ok((mut s, _)) => {
                        empty_after_stop = 0;
                        let _ = s.set_nonblocking(false);
                        // A wake-up connection carries no packet.
                        if let Ok((stream, packet)) = receive(&mut s) {
                            serve(stream, packet);
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        if stopping {
                            empty_after_stop += 1;
                            if empty_after_stop >= 2 {
                                return;
                            }
                        }
                        wait_readable(&listener, if stopping { 20 } else { 100 });
                    }
                    Err(_) => {
                        if stopping {
                            return;
                        }
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            }
        })
}

/// Waits until `listener` has a connection to accept or `ms` milliseconds pass.
#[allow(unsafe_code)]
fn wait_readable(listener: &UnixListener, ms: i32) {
    let mut fds = libc::pollfd {
        fd: listener.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one pollfd that lives on this stack frame for the whole call.
    unsafe {
        libc::poll(&mut fds, 1, ms);
    }
}

/// The response marker that asks the connection to pass itself on: the request head is
/// filled in by the request pipeline, the destination by whoever decided.
#[derive(Debug, Clone)]
pub struct HandOff(Arc<Mutex<HandOffInner>>);

struct HandOffInner {
    to: Option<UnixStream>,
    head: Bytes,
    flags: u32,
    /// The request body as hyper left it: it may already hold the first bytes of a
    /// `Content-Length` body, which go on after the head.
    body: Option<super::request::RequestBody>,
}

impl std::fmt::Debug for HandOffInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandOff")
            .field("to", &self.to)
            .field("head", &self.head.len())
            .finish_non_exhaustive()
    }
}

impl HandOff {
    pub fn to(stream: UnixStream) -> HandOff {
        HandOff(Arc::new(Mutex::new(HandOffInner {
            to: Some(stream),
            head: Bytes::new(),
            flags: 0,
            body: None,
        })))
    }

    /// Keeps the request body, to take from it what hyper already read of it.
    pub fn set_body(&self, body: super::request::RequestBody) {
        if let Ok(mut i) = self.0.lock() {
            i.body = Some(body);
        }
    }

    pub fn set_head(&self, head: Bytes) {
        if let Ok(mut i) = self.0.lock() {
            i.head = head;
        }
    }

    pub fn set_flags(&self, flags: u32) {
        if let Ok(mut i) = self.0.lock() {
            i.flags = flags;
        }
    }

    /// The destination, the head followed by the body bytes hyper had already read, and
    /// the flags (once; call when hyper no longer runs the connection).
    pub fn take(&self) -> Option<(UnixStream, Bytes, u32)> {
        let mut i = self.0.lock().ok()?;
        let to = i.to.take()?;
        let mut head = std::mem::take(&mut i.head);
        if let Some(mut body) = i.body.take() {
            let read = drain(&mut body);
            if !read.is_empty() {
                let mut joined = bytes::BytesMut::with_capacity(head.len() + read.len());
                joined.extend_from_slice(&head);
                joined.extend_from_slice(&read);
                head = joined.freeze();
            }
        }
        Some((to, head, i.flags))
    }
}

/// A response that carries a [`HandOff`] to `to` (nothing of it is ever written).
pub fn response(to: UnixStream) -> http::Response<super::Body> {
    let mut r = http::Response::new(super::empty());
    r.extensions_mut().insert(HandOff::to(to));
    r
}

/// Connects to the lab's hand-back socket, for a response that returns the connection.
pub fn back(path: &Path) -> Option<http::Response<super::Body>> {
    UnixStream::connect(path).ok().map(response)
}

/// What a body already holds, without waiting for more.
fn drain(body: &mut super::request::RequestBody) -> Bytes {
    use http_body::Body as _;
    let mut cx = Context::from_waker(std::task::Waker::noop());
    let mut out = bytes::BytesMut::new();
    while let Poll::Ready(Some(Ok(frame))) = Pin::new(&mut *body).poll_frame(&mut cx) {
        if let Ok(data) = frame.into_data() {
            out.extend_from_slice(&data);
        }
    }
    out.freeze()
}

/// True when the request body is chunked: what hyper already decoded of it cannot be put
/// back in front of the raw bytes, so such a request does not move.
pub fn chunked(headers: &http::HeaderMap) -> bool {
    headers.contains_key(http::header::TRANSFER_ENCODING)
}

/// The request head as it goes on to the next process.
pub fn encode_head(parts: &Parts) -> Bytes {
    let target = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .filter(|_| parts.uri.scheme().is_none())
        .unwrap_or_else(|| parts.uri.to_string());
    let version = match parts.version {
        http::Version::HTTP_10 => "HTTP/1.0",
        _ => "HTTP/1.1",
    };
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(parts.method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.push(b' ');
    out.extend_from_slice(version.as_bytes());
    out.extend_from_slice(b"\r\n");
    for (k, v) in &parts.headers {
        out.extend_from_slice(k.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.into()
}

/// A path for a unix socket in `run_dir` short enough for `sun_path`, else in the system's
/// temporary directory.
pub fn socket_path(run_dir: &Path, name: &str) -> PathBuf {
    let inside = run_dir.join(name);
    if inside.as_os_str().len() < 100 {
        return inside;
    }
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in run_dir.to_string_lossy().bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    std::env::temp_dir()
        .join(format!("lab-{:08x}", h as u32))
        .join(name)
}

/// The client's stream with bytes that were already read from it in front, and a note of
/// whether the last write was left waiting (so a hand-off waits for it to drain).
pub struct Prefixed {
    prefix: Bytes,
    inner: TcpStream,
    write_blocked: Arc<AtomicBool>,
}

impl Prefixed {
    pub fn new(prefix: Bytes, inner: TcpStream) -> Prefixed {
        Prefixed {
            prefix,
            inner,
            write_blocked: Arc::new(AtomicBool::new(false)),
        }
    }

    pub fn write_blocked(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.write_blocked)
    }

    /// The stream and what is still unread of the prefix.
    pub fn into_parts(self) -> (TcpStream, Bytes) {
        (self.inner, self.prefix)
    }
}

impl AsyncRead for Prefixed {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            let chunk = self.prefix.split_to(n);
            buf.put_slice(&chunk);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Prefixed {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.note(&r, buf.len());
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let total = bufs.iter().map(|b| b.len()).sum();
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.note(&r, total);
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl Prefixed {
    fn note(&self, r: &Poll<std::io::Result<usize>>, wanted: usize) {
        let blocked = match r {
            Poll::Pending => true,
            Poll::Ready(Ok(n)) => *n < wanted,
            Poll::Ready(Err(_)) => false,
        };
        self.write_blocked.store(blocked, Ordering::Relaxed);
    }
}

/// Counters shared by the lab and its workers (`server-status`, `lab status`): a small file
/// mapped into every process.
pub struct SharedCounters {
    pub path: PathBuf,
    pub slots: &'static [AtomicU64; 8],
}

impl SharedCounters {
    /// Creates (or opens, when `create` is false) the counters file at `path`.
    #[allow(unsafe_code)]
    pub fn map(path: &Path, create: bool) -> std::io::Result<SharedCounters> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(create)
            .truncate(create)
            .open(path)?;
        let len = std::mem::size_of::<[AtomicU64; 8]>();
        if create {
            file.set_len(len as u64)?;
        } else if file.metadata()?.len() < len as u64 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "fichero de contadores demasiado corto",
            ));
        }
        // SAFETY: a shared mapping of a file of at least `len` bytes; it is never unmapped
        // (the counters live as long as the process), and AtomicU64 has the size and
        // alignment of u64 (mmap returns page-aligned memory).
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: see above; the memory is valid for the life of the process.
        let slots = unsafe { &*(ptr as *const [AtomicU64; 8]) };
        Ok(SharedCounters {
            path: path.to_path_buf(),
            slots,
        })
    }
}

/// A fingerprint of the configuration files behind `config` as they are on disk now (the
/// syntax tree after includes and conditionals, and `lab.toml`), so a worker knows it
/// loaded the same configuration as the lab. Hash maps are left out: their order differs
/// from one process to another.
pub fn fingerprint(config: &crate::config::ServerConfig) -> u64 {
    use std::hash::{Hash, Hasher};
    let Ok(ws) = crate::workspace::Workspace::open(&config.workspace) else {
        return 0;
    };
    let tree = crate::config::loader::load(&ws);
    let mut h = std::collections::hash_map::DefaultHasher::new();
    format!("{:?}|{:?}|{:?}", tree.nodes, tree.modules, tree.files).hash(&mut h);
    std::fs::read(config.workspace.join("lab.toml"))
        .unwrap_or_default()
        .hash(&mut h);
    h.finish()
}
