#!/usr/bin/env bash
# Fuzzing: every target of fuzz/ (the Apache configuration loader, memcached.conf, the
# memcached protocol session, the FastCGI record codec, request paths and their mapping, VCL,
# php.ini, php-fpm pools and exercise.toml) under libFuzzer, each for SECONDS (600 by
# default), with a memory limit (a run over RSS_MB fails) and a time limit per input
# (TIMEOUT seconds: a hang fails). Prints, per target, how long it ran, how many inputs it
# executed and whether it found anything.
#
#   bench/fuzz.sh                         # every target, 10 minutes each
#   SECONDS_PER_TARGET=60 bench/fuzz.sh vcl url_path
#   LANES=2 bench/fuzz.sh                 # two targets at a time (each still gets its minutes)
#   PREBUILT=1 bench/fuzz.sh              # the binaries already built, without rebuilding
#                                         # (`cargo fuzz run` rebuilds whenever a source changed)
#
# A failing input is kept in fuzz/artifacts/TARGET/; copy it to fuzz/regressions/TARGET/
# and `cargo test --test fuzz_targets` runs it from then on (with the seeds and a few hundred
# mutations of them). The growing corpus stays in fuzz/corpus/ (not versioned).
#
# Needs rustup's nightly toolchain and cargo-fuzz; install them once with
#
#   rustup toolchain install nightly --profile minimal
#   cargo install cargo-fuzz --locked
set -uo pipefail

SECONDS_PER_TARGET=${SECONDS_PER_TARGET:-600}
RSS_MB=${RSS_MB:-2048}
TIMEOUT=${TIMEOUT:-10}
SANITIZER=${SANITIZER:-none}
JOBS_NICE=${JOBS_NICE:-10}
LANES=${LANES:-1}
PREBUILT=${PREBUILT:-0}

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"

cargo +nightly --version >/dev/null 2>&1 || die "falta la toolchain nightly (rustup toolchain install nightly)"
cargo +nightly fuzz --version >/dev/null 2>&1 || die "falta cargo-fuzz (cargo install cargo-fuzz --locked)"

cd "$repo/fuzz"
if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo +nightly fuzz list)
fi

# The fuzz builds share the repository's target directory (in its own subdirectory). The
# exercise.toml target needs the checker (and mdBook with it): its feature is only turned on
# when that target is asked for.
fuzz_args=(--sanitizer "$SANITIZER" --target-dir "$repo/target/fuzz")
for t in "${targets[@]}"; do
  [ "$t" = exercise_toml ] && fuzz_args+=(--features exercise)
done
bin_dir="$repo/target/fuzz/x86_64-unknown-linux-gnu/release"
if [ "$PREBUILT" = 1 ]; then
  for t in "${targets[@]}"; do
    [ -x "$bin_dir/$t" ] || die "falta $bin_dir/$t: compílalo antes sin PREBUILT=1"
  done
else
  echo "Compilando ${#targets[@]} objetivos (sanitizer: $SANITIZER)…"
  nice -n "$JOBS_NICE" cargo +nightly fuzz build "${fuzz_args[@]}" >/dev/null || die "no compila"
fi

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

# One target: runs it and writes its row (and 1 on failure) into $results/TARGET.
run_target() {
  local t=$1 log start status secs runs rss result artifact kind
  mkdir -p "corpus/$t" "artifacts/$t" "regressions/$t"
  cp -n seeds/"$t"/* "corpus/$t/" 2>/dev/null || true
  log=$(mktemp)
  start=$(date +%s)
  local flags=(-max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb="$RSS_MB" -timeout="$TIMEOUT"
    -max_len=65536 -print_final_stats=1)
  if [ "$PREBUILT" = 1 ]; then
    nice -n "$JOBS_NICE" "$bin_dir/$t" -artifact_prefix="artifacts/$t/" "${flags[@]}" \
      "corpus/$t" "regressions/$t" >"$log" 2>&1
  else
    nice -n "$JOBS_NICE" cargo +nightly fuzz run "${fuzz_args[@]}" "$t" "corpus/$t" "regressions/$t" -- \
      "${flags[@]}" >"$log" 2>&1
  fi
  status=$?
  secs=$(( $(date +%s) - start ))
  runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\)/\1/p' "$log" | tail -1)
  [ -n "$runs" ] || runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
  runs=${runs:-0}
  rss=$(sed -n 's/^stat::peak_rss_mb: *\([0-9]*\)/\1/p' "$log" | tail -1)
  if [ "$status" = 0 ]; then
    result="nada"
  else
    echo 1 >"$results/$t.failed"
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    kind=$(grep -m1 -oE "panicked at [^ ]*|libFuzzer: timeout|libFuzzer: out-of-memory|deadly signal|stack-overflow|stack overflow" "$log" || echo "error $status")
    result="FALLO ($kind): ${artifact:-ver artifacts/$t/last-run.log}"
    cp "$log" "artifacts/$t/last-run.log"
  fi
  printf '%-20s %8s %14s %10s %8s  %s\n' "$t" "$secs" "$runs" "$(( runs / (secs > 0 ? secs : 1) ))" "${rss:-?}" "$result" >"$results/$t"
  cat "$results/$t"
  rm -f "$log"
}

echo "Ejecutando ${#targets[@]} objetivos, $SECONDS_PER_TARGET s cada uno, $LANES a la vez…"
i=0
for t in "${targets[@]}"; do
  run_target "$t" &
  i=$((i + 1))
  if [ $((i % LANES)) = 0 ]; then wait; fi
done
wait

echo
printf '%-20s %8s %14s %10s %8s  %s\n' objetivo segundos ejecuciones "ejec/s" "RSS MB" resultado
failed=0
for t in "${targets[@]}"; do
  cat "$results/$t"
  [ -e "$results/$t.failed" ] && failed=1
done
exit "$failed"
