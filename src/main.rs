//! `lab`: the command-line entry. Parsing lives in [`cli`], the work in [`commands`] and the
//! `lab-server` crate.

mod bench;
mod cli;
mod commands;
mod grading;
mod teaching;

use std::process::ExitCode;

// mimalloc instead of glibc's malloc: the proxy's and the web server's request paths make
// many small short-lived allocations, and glibc's free lists (malloc_consolidate) were the
// largest cost on the cache-hit path.
#[global_allocator]
static GLOBAL: Mimalloc = Mimalloc;

/// mimalloc's plain entry points for the usual alignments, its aligned ones for the rest.
///
/// The `mimalloc` crate sends every allocation through `mi_malloc_aligned`, whose fast path
/// only holds for blocks of at most 1 KiB whose free list happens to start aligned; every
/// other one takes a generic path first (about 800 instructions per PHP request in the front
/// end, measured with callgrind). Any block from `mi_malloc` is aligned to 8 bytes at least,
/// which is all nearly every Rust allocation asks for.
struct Mimalloc;

/// The alignment every `mi_malloc` block has, whatever its size.
const PLAIN_ALIGN: usize = 8;

#[allow(unsafe_code)]
// SAFETY: each function hands the layout's size to mimalloc and asks for its alignment
// explicitly whenever it is above what mimalloc gives every block; blocks are freed and
// resized by mimalloc, which owns them all.
unsafe impl std::alloc::GlobalAlloc for Mimalloc {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        if layout.align() <= PLAIN_ALIGN {
            libmimalloc_sys::mi_malloc(layout.size()).cast()
        } else {
            libmimalloc_sys::mi_malloc_aligned(layout.size(), layout.align()).cast()
        }
    }

    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        if layout.align() <= PLAIN_ALIGN {
            libmimalloc_sys::mi_zalloc(layout.size()).cast()
        } else {
            libmimalloc_sys::mi_zalloc_aligned(layout.size(), layout.align()).cast()
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: std::alloc::Layout) {
        libmimalloc_sys::mi_free(ptr.cast());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= PLAIN_ALIGN {
            libmimalloc_sys::mi_realloc(ptr.cast(), new_size).cast()
        } else {
            libmimalloc_sys::mi_realloc_aligned(ptr.cast(), new_size, layout.align()).cast()
        }
    }
}

fn main() -> ExitCode {
    match cli::parse() {
        Ok(cli) => commands::run(cli),
        Err(code) => code,
    }
}
