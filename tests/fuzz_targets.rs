//! The fuzz targets of `fuzz/` as property tests under `cargo test`: every seed and every
//! input a fuzzing run found (`fuzz/regressions/<target>/`) runs first, then a few hundred
//! deterministic mutations of the seeds (bit flips, cut, repeated and spliced pieces,
//! interesting bytes). `bench/fuzz.sh` runs the same targets under libFuzzer for minutes.
//! `LAB_FUZZ_ITERATIONS` changes the number of mutations per target.

use std::path::{Path, PathBuf};

use lab_server::fuzzing::{Targets, TARGETS};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "README.md"))
                .map(|p| {
                    let data = std::fs::read(&p).unwrap();
                    (p, data)
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// A small deterministic generator (xorshift64*), so a failure names a reproducible case.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const INTERESTING: &[&[u8]] = &[
    b"\0",
    b"\xff",
    b"\r\n",
    b"\n",
    b"%",
    b"%2e",
    b"..",
    b"/",
    b"\\",
    b"\"",
    b"<",
    b">",
    b"</",
    b"${",
    b"{",
    b"}",
    b"#",
    b";",
    b"=",
    b"[",
    b"]",
    b" ",
    b"\t",
    b"4294967295",
    b"-1",
    b"99999999999999999999",
    b"\xc3\xb1",
    b"\xe2\x80\xae",
];

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>], input: &[u8]) -> Vec<u8> {
    let mut data = input.to_vec();
    for _ in 0..1 + rng.below(6) {
        let len = data.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                data[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                data[i] = rng.next() as u8;
            }
            2 => {
                let i = rng.below(len + 1);
                let word = INTERESTING[rng.below(INTERESTING.len())];
                data.splice(i..i, word.iter().copied());
            }
            3 if len > 0 => {
                let a = rng.below(len);
                let b = (a + 1 + rng.below(64)).min(len);
                data.drain(a..b);
            }
            4 if len > 0 => {
                let a = rng.below(len);
                let b = (a + 1 + rng.below(256)).min(len);
                let piece = data[a..b].to_vec();
                let at = rng.below(len + 1);
                for _ in 0..1 + rng.below(8) {
                    data.splice(at..at, piece.iter().copied());
                }
            }
            5 if !seeds.is_empty() => {
                let other = &seeds[rng.below(seeds.len())];
                if !other.is_empty() {
                    let a = rng.below(other.len());
                    let b = (a + 1 + rng.below(512)).min(other.len());
                    let at = rng.below(len + 1);
                    data.splice(at..at, other[a..b].iter().copied());
                }
            }
            6 if len > 0 => data.truncate(rng.below(len)),
            _ => {
                let i = rng.below(len + 1);
                data.insert(i, rng.next() as u8);
            }
        }
    }
    data
}

fn run_target(targets: &Targets, name: &str, data: &[u8]) {
    if name == "exercise_toml" {
        checker::fuzzing::exercise_toml(data);
    } else {
        assert!(targets.run(name, data), "unknown target {name}");
    }
}

fn iterations() -> usize {
    std::env::var("LAB_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

fn check_target(name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let targets = Targets::new(&dir.path().join("ws")).expect("fuzz workspace");
    let seeds = files(&fuzz_dir().join("seeds").join(name));
    assert!(
        !seeds.is_empty(),
        "target {name} has seeds in fuzz/seeds/{name}"
    );
    for (path, data) in seeds
        .iter()
        .chain(files(&fuzz_dir().join("regressions").join(name)).iter())
    {
        eprintln!("{name}: {}", path.display());
        run_target(&targets, name, data);
    }
    let corpus: Vec<Vec<u8>> = seeds.into_iter().map(|(_, d)| d).collect();
    let mut rng =
        Rng(0x9e37_79b9_7f4a_7c15 ^ name.len() as u64 ^ (name.as_bytes()[0] as u64) << 32);
    for i in 0..iterations() {
        let base = &corpus[i % corpus.len()];
        let input = mutate(&mut rng, &corpus, base);
        let shown = String::from_utf8_lossy(&input[..input.len().min(200)]).into_owned();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_target(&targets, name, &input)
        }));
        if result.is_err() {
            let keep = std::env::temp_dir().join(format!("lab-fuzz-{name}-{i}"));
            let _ = std::fs::write(&keep, &input);
            panic!(
                "target {name}, mutation {i} failed (input kept in {}): {shown:?}",
                keep.display()
            );
        }
    }
}

#[test]
fn every_target_has_seeds_and_a_fuzz_target() {
    for name in TARGETS.iter().chain(["exercise_toml"].iter()) {
        assert!(
            fuzz_dir()
                .join("fuzz_targets")
                .join(format!("{name}.rs"))
                .is_file(),
            "fuzz/fuzz_targets/{name}.rs"
        );
        assert!(
            !files(&fuzz_dir().join("seeds").join(name)).is_empty(),
            "fuzz/seeds/{name}"
        );
    }
}

#[test]
fn apache_config() {
    check_target("apache_config");
}

#[test]
fn memcached_conf() {
    check_target("memcached_conf");
}

#[test]
fn memcached_session() {
    check_target("memcached_session");
}

#[test]
fn fastcgi_records() {
    check_target("fastcgi_records");
}

#[test]
fn url_path() {
    check_target("url_path");
}

#[test]
fn vcl() {
    check_target("vcl");
}

#[test]
fn php_ini() {
    check_target("php_ini");
}

#[test]
fn php_fpm_pool() {
    check_target("php_fpm_pool");
}

#[test]
fn exercise_toml() {
    check_target("exercise_toml");
}

#[test]
fn htaccess() {
    check_target("htaccess");
}

#[test]
fn varnishlog_query() {
    check_target("varnishlog_query");
}
