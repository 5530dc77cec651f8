//! Requests run on the thread that holds their connection, with no hand-off to another
//! thread: the application is called right where the request was read, and the thread
//! that writes the response iterates the rest of the result chunk by chunk as it sends it.
//!
//! A daemon-mode worker serves the connections the lab passed it on a runtime of two threads,
//! each of them a Python thread for its whole life. While no other thread of the process is
//! in the application ([`nobody_inside`]), the thread that read a request without a body runs
//! it itself: no wake-up of another thread, no wait for the interpreter lock. Otherwise the
//! request waits for its turn ([`wait_turn`]) without holding its thread, and runs on the
//! thread that left the application last; only when the threads inside stop moving (a slow
//! request) does it go to the pool's threads (`threads=` minus one of them), which queue for
//! the lock while the runtime goes on with the connections; so at most `threads` requests are
//! in the application at once. A runtime thread in the application does not serve its runtime
//! meanwhile: when it has sat in Python for a couple of milliseconds with nothing moving
//! (some twenty after an idle spell), [`watch`] wakes the other one, which takes over the
//! connections' events (so a slow request, or a generator that waits, holds only its own
//! thread). Until such a stall, that other thread is held out of service altogether (the
//! reserve, see [`watch`]): one thread serves every connection of the worker, which costs
//! less than two that keep waking each other.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::Response;
use http_body::{Body as HttpBody, Frame};
use http_body_util::BodyExt;
use pyo3::Python;

use super::host::{self, CutShort};
use super::python::{self, BodySource, Out, PyJob, ResponseSink, Rest, Scripts};
use super::Body;

/// Gives the calling thread a Python thread state of its own until the thread ends, not
/// holding the interpreter lock (taking it then costs a lock, not a new thread state; and
/// `threading.local` data lasts as long as the thread, as in mod_wsgi's threads). Call on
/// threads that will run Python, after the interpreter is initialized; more calls on the
/// same thread do nothing.
pub fn keep_thread_state() {
    KEPT.with(|k| {
        if k.get().is_none() {
            k.set(Some(ThreadState::keep()));
        }
    });
}

thread_local! {
    static KEPT: KeptState = const { KeptState(std::cell::Cell::new(None)) };
}

/// The thread's kept state, given back when the thread ends.
struct KeptState(std::cell::Cell<Option<ThreadState>>);

impl KeptState {
    fn get(&self) -> Option<()> {
        let s = self.0.take();
        let out = s.as_ref().map(|_| ());
        self.0.set(s);
        out
    }

    fn set(&self, s: Option<ThreadState>) {
        self.0.set(s);
    }
}

impl Drop for KeptState {
    fn drop(&mut self) {
        if let Some(s) = self.0.take() {
            s.release();
        }
    }
}

#[derive(Clone, Copy)]
struct ThreadState {
    gil: pyo3::ffi::PyGILState_STATE,
    state: *mut pyo3::ffi::PyThreadState,
}

impl ThreadState {
    #[allow(unsafe_code)]
    fn keep() -> ThreadState {
        // SAFETY: the interpreter is initialized (callers run after `init_interpreter`);
        // `PyGILState_Ensure` makes this thread's state and takes the lock, and
        // `PyEval_SaveThread` releases the lock while keeping the state (its count stays at
        // one, so later `Python::attach` calls only take and release the lock).
        unsafe {
            let gil = pyo3::ffi::PyGILState_Ensure();
            let state = pyo3::ffi::PyEval_SaveThread();
            ThreadState { gil, state }
        }
    }

    #[allow(unsafe_code)]
    fn release(self) {
        // SAFETY: the inverse of `keep`, on the same thread (a thread-local's destructor):
        // take the lock back with the saved state, then let `PyGILState_Release` delete it.
        unsafe {
            pyo3::ffi::PyEval_RestoreThread(self.state);
            pyo3::ffi::PyGILState_Release(self.gil);
        }
    }
}

/// Threads of this process inside the application now, and a count of every entry and exit.
static INSIDE: AtomicUsize = AtomicUsize::new(0);
static MOVED: AtomicU64 = AtomicU64::new(0);

/// How many times a thread entered or left the application so far (unchanged for a while:
/// the threads inside are stuck there, in a slow request or waiting for the client).
pub fn moves() -> u64 {
    MOVED.load(Ordering::Relaxed)
}

/// No thread of this process is running a request here now.
pub fn nobody_inside() -> bool {
    INSIDE.load(Ordering::Relaxed) == 0
}

/// Runs `f` (Python) on this thread, counted for [`watch`] and [`nobody_inside`].
pub fn in_python<R>(f: impl FnOnce() -> R) -> R {
    INSIDE.fetch_add(1, Ordering::SeqCst);
    MOVED.fetch_add(1, Ordering::Relaxed);
    let out = f();
    MOVED.fetch_add(1, Ordering::Relaxed);
    if INSIDE.fetch_sub(1, Ordering::SeqCst) == 1 && WAITING.load(Ordering::SeqCst) > 0 {
        TURN.notify_one();
    }
    out
}

/// Requests waiting in [`wait_turn`], and the signal the last thread out of the application
/// gives one of them.
static WAITING: AtomicUsize = AtomicUsize::new(0);
static TURN: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// Waits until no thread is in the application, so that the caller can run its request
/// itself; false when the threads inside stopped moving for [`STUCK`] (a slow request: the
/// caller gives its request to the pool then, so `threads=` requests still run at once).
///
/// Waiting here rather than queueing for the interpreter lock on another thread keeps the
/// lock with one thread at a time: the task is woken by the thread that leaves the
/// application and runs next on that same thread, with no other thread woken. For a daemon
/// worker's runtime, which serves nothing but its group (embedded mode does not wait: its
/// threads serve every other site too).
pub async fn wait_turn() -> bool {
    if nobody_inside() {
        return true;
    }
    // Counted while it waits, also when the request is dropped midway (its client gone).
    struct Waiting;
    impl Drop for Waiting {
        fn drop(&mut self) {
            WAITING.fetch_sub(1, Ordering::SeqCst);
        }
    }
    WAITING.fetch_add(1, Ordering::SeqCst);
    let _waiting = Waiting;
    let mut last = MOVED.load(Ordering::Relaxed);
    // Others may keep taking the turn first (a request that finds it free does not queue):
    // past this, the pool it is.
    let give_up = tokio::time::Instant::now() + 10 * STUCK;
    let free = loop {
        let notified = TURN.notified();
        tokio::pin!(notified);
        // Registered before the check, so a thread that leaves right after it is not missed.
        notified.as_mut().enable();
        if nobody_inside() {
            break true;
        }
        if tokio::time::timeout(STUCK, notified).await.is_err() {
            let now = MOVED.load(Ordering::Relaxed);
            if now == last || tokio::time::Instant::now() >= give_up {
                break nobody_inside();
            }
            last = now;
        }
    };
    free
}

/// How long threads may all sit in the application before an idle one is woken.
const STUCK: Duration = Duration::from_millis(2);
/// How often the watcher looks once the worker has been idle for a while.
const QUIET: Duration = Duration::from_millis(20);

/// Starts the thread that keeps `runtime` serving while its threads are in the application:
/// when some are inside and none entered or left for [`STUCK`], it hands the runtime an
/// empty task, which wakes an idle thread; that one then waits for the connections' events
/// (a busy thread does not) and serves them.
///
/// With `reserve` (a daemon worker's runtime, which serves nothing but its group), one of the
/// runtime's threads is also held out of service while nothing is stuck (see [`Reserve`]) and
/// let go at the first stall.
pub fn watch(
    runtime: tokio::runtime::Handle,
    alive: impl Fn() -> bool + Send + 'static,
    reserve: bool,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("wsgi-watch".into())
        .spawn(move || {
            let mut last = MOVED.load(Ordering::Relaxed);
            // Once per stall: the thread woken keeps waiting for events until it, too,
            // enters the application (which counts as a move).
            let mut woken_at = None;
            // Ticks with nobody in the application: after a while the watcher looks less
            // often (an idle worker should cost next to nothing).
            let mut quiet = 0u32;
            // Ticks since the last stall: after enough of them the reserve is held again.
            let mut calm = 0u32;
            if reserve {
                RESERVE.hold(&runtime);
            }
            while alive() {
                std::thread::sleep(if quiet > 100 { QUIET } else { STUCK });
                let now = MOVED.load(Ordering::Relaxed);
                let inside = INSIDE.load(Ordering::SeqCst) > 0;
                if now == last && inside {
                    // A thread held in the application cannot write the access log lines
                    // of the requests it answered before: they go out from here.
                    crate::http::log::flush_waiting();
                    if woken_at != Some(now) {
                        if reserve {
                            RESERVE.release();
                        }
                        drop(runtime.spawn(async {}));
                        woken_at = Some(now);
                    }
                    calm = 0;
                } else {
                    calm = calm.saturating_add(1);
                    if reserve && calm >= CALM_TICKS {
                        RESERVE.hold(&runtime);
                    }
                }
                quiet = if now == last && !inside {
                    quiet.saturating_add(1)
                } else {
                    0
                };
                last = now;
            }
            if reserve {
                RESERVE.close();
            }
        })
        .map(|_| ())
}

/// Ticks of the watcher without a stall before the reserve is held again.
const CALM_TICKS: u32 = 50;

/// One thread of a daemon worker's two-thread runtime, held out of service while the other
/// one keeps up alone.
///
/// With both threads free, the runtime wakes the idle one whenever more than one connection
/// has something to do (to share the work), and the two then take the interpreter lock and
/// the connections' data from each other, from one core to the other: on the hello app that
/// cost about a tenth more CPU per request, on the server and on the client it wakes, than
/// one thread alone. One thread alone, though, could not serve the other connections while
/// a request sits in the application (a slow request, a generator that waits). So the
/// second thread runs a task that blocks it (the runtime counts it as busy, and never wakes
/// it for work) until the watcher sees the thread in the application stuck for [`STUCK`]
/// and lets it go: from then on both threads serve as before, until things stay calm for a
/// while and the watcher holds one again. Whichever thread picks up the holding task is the
/// one held; the other one has every connection.
struct Reserve {
    state: Mutex<ReserveState>,
    cv: std::sync::Condvar,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ReserveState {
    /// No thread held.
    Free,
    /// A holding task was handed to the runtime; the thread that runs it waits.
    Held,
    /// For good (the worker stops): no thread is held again.
    Closed,
}

static RESERVE: Reserve = Reserve {
    state: Mutex::new(ReserveState::Free),
    cv: std::sync::Condvar::new(),
};

impl Reserve {
    fn state(&self) -> std::sync::MutexGuard<'_, ReserveState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands `runtime` a task that holds the thread running it, unless one is held already.
    fn hold(&'static self, runtime: &tokio::runtime::Handle) {
        {
            let mut state = self.state();
            if *state != ReserveState::Free {
                return;
            }
            *state = ReserveState::Held;
        }
        drop(runtime.spawn(async move {
            // Once through the runtime's queue first: a task taken from a thread's own queue
            // is only run when that thread's next-task slot, which the other thread cannot
            // take over, is empty; so no connection is left behind on the thread held.
            tokio::task::yield_now().await;
            self.wait()
        }));
    }

    /// Blocks the calling thread (a runtime thread, running the holding task) while held.
    fn wait(&self) {
        let mut state = self.state();
        while *state == ReserveState::Held {
            state = self.cv.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Lets the held thread go.
    fn release(&self) {
        let mut state = self.state();
        if *state == ReserveState::Held {
            *state = ReserveState::Free;
            self.cv.notify_all();
        }
    }

    /// Lets the held thread go for good: the worker is stopping (and its runtime must not
    /// have a thread blocked when it is dropped).
    fn close(&self) {
        *self.state() = ReserveState::Closed;
        self.cv.notify_all();
    }
}

/// The worker is stopping: both of its runtime's threads serve from now on, for good.
pub fn close_reserve() {
    RESERVE.close();
}

/// The messages the application produced and the thread has not sent yet.
type Queue = Arc<Mutex<VecDeque<Out>>>;

/// Collects what the application sends; the thread running it sends it afterwards (the
/// application never waits for the client here, so nothing needs the interpreter lock
/// released).
struct Collect(Queue);

impl ResponseSink for Collect {
    fn send(&mut self, out: Out) -> bool {
        match self.0.lock() {
            Ok(mut q) => {
                q.push_back(out);
                true
            }
            Err(_) => false,
        }
    }

    fn blocks(&self, _out: &Out) -> bool {
        false
    }
}

/// `wsgi.input` of a request without a body.
struct NoBody;

impl BodySource for NoBody {
    fn next_chunk(&mut self) -> Option<Result<Bytes, String>> {
        None
    }
}

/// The input and output of a job run here: no body, and a queue the response is built from.
pub fn io() -> (Box<dyn BodySource>, Box<dyn ResponseSink>, Queue) {
    let queue: Queue = Arc::default();
    (
        Box::new(NoBody),
        Box::new(Collect(Arc::clone(&queue))),
        queue,
    )
}

/// Runs `job` (made with the sink of [`io`] and its `queue`) on this thread, up to its head
/// and first body chunk; the response's body iterates the rest as the connection sends it.
pub fn run(
    scripts: &Scripts,
    job: PyJob,
    queue: Queue,
    default_type: Option<&str>,
    daemon: bool,
) -> Response<Body> {
    let rest = in_python(|| {
        Python::attach(|py| python::begin(py, scripts, job).and_then(|r| r.drive(py, Some(1))))
    });
    let first = queue.lock().ok().and_then(|mut q| q.pop_front());
    host::response_from_first(
        first,
        move || {
            InlineBody {
                queue,
                rest,
                flush: false,
                done: false,
                cut: None,
            }
            .boxed()
        },
        default_type,
        daemon,
    )
}

/// The rest of a response: the chunks already produced, then the result's iteration, one
/// chunk per poll, on the thread that writes the connection.
struct InlineBody {
    queue: Queue,
    rest: Option<Rest>,
    /// A chunk was just handed to the connection: let it go out before asking for the next
    /// one (which may take a while to come).
    flush: bool,
    done: bool,
    cut: Option<CutShort>,
}

impl HttpBody for InlineBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = &mut *self;
        if let Some(end) = CutShort::poll_end(&mut this.cut, &mut this.done, cx) {
            return end;
        }
        loop {
            let next = this.queue.lock().ok().and_then(|mut q| q.pop_front());
            match next {
                Some(Out::Body(b)) => {
                    this.flush = true;
                    return Poll::Ready(Some(Ok(Frame::data(b))));
                }
                Some(Out::End) => {
                    this.done = true;
                    return Poll::Ready(None);
                }
                Some(_) => continue,
                None => {}
            }
            let Some(rest) = this.rest.take() else {
                // The application stopped without ending the response: the client must see
                // it cut short.
                return CutShort::begin(&mut this.cut, cx);
            };
            if this.flush {
                this.flush = false;
                this.rest = Some(rest);
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            this.rest = in_python(|| Python::attach(|py| rest.drive(py, Some(1))));
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}

impl Drop for InlineBody {
    fn drop(&mut self) {
        if let Some(rest) = self.rest.take() {
            in_python(|| Python::attach(|py| rest.abandon(py)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::time::Instant;

    /// A thread that sits in the application until the sender is used (or dropped), once it
    /// is inside.
    async fn hold() -> (std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>) {
        let (release, held) = std::sync::mpsc::channel::<()>();
        let holder = std::thread::spawn(move || {
            in_python(|| {
                let _ = held.recv();
            })
        });
        while nobody_inside() {
            tokio::task::yield_now().await;
        }
        (release, holder)
    }

    /// Until some request is counted as waiting for its turn.
    async fn until_waiting() {
        while WAITING.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
    }

    /// One test: the counters belong to the process.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_request_waits_for_its_turn_but_not_behind_a_stuck_one() {
        assert!(
            wait_turn().await,
            "nobody inside: the turn is there at once"
        );

        // Someone inside who does not move: the wait gives up after about STUCK.
        let (release, holder) = hold().await;
        let t0 = Instant::now();
        assert!(!wait_turn().await, "a stuck thread inside: no turn");
        let waited = t0.elapsed();
        assert!(waited >= STUCK, "gave up too early: {waited:?}");
        assert!(
            waited < Duration::from_secs(5),
            "gave up too late: {waited:?}"
        );

        // While another thread keeps entering and leaving, the application is moving: a
        // request waits, and gets its turn once the one inside leaves.
        let moving = Arc::new(AtomicBool::new(true));
        let mover = {
            let moving = Arc::clone(&moving);
            std::thread::spawn(move || {
                while moving.load(Ordering::Relaxed) {
                    in_python(|| std::thread::sleep(Duration::from_micros(200)));
                }
            })
        };
        let waiter = tokio::spawn(wait_turn());
        until_waiting().await;
        moving.store(false, Ordering::Relaxed);
        let _ = release.send(());
        let _ = holder.join();
        let _ = mover.join();
        assert!(
            waiter.await.unwrap_or(false),
            "the turn came once both left"
        );
        assert!(nobody_inside());

        // A request dropped while it waits (its client went away) is no longer counted.
        let (release, holder) = hold().await;
        let waiter = tokio::spawn(wait_turn());
        until_waiting().await;
        waiter.abort();
        let _ = waiter.await;
        assert_eq!(WAITING.load(Ordering::SeqCst), 0);
        let _ = release.send(());
        let _ = holder.join();
    }
}
