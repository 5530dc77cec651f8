//! The caching reverse proxy (the Varnish role), configured with VCL.
//!
//! - [`vcl`]: lexer, parser, load-time checks and interpreter; builtin.vcl.

pub mod vcl;

/// A pseudo-random number in [0, 1) (directors and `std.random`), without a crate: a
/// xorshift over a per-thread state seeded from the clock.
pub fn random_unit() -> f64 {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<u64> = Cell::new(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0x9e37_79b9_7f4a_7c15)
                | 1,
        );
    }
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        (x >> 11) as f64 / (1u64 << 53) as f64
    })
}
