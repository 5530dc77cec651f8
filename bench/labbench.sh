#!/usr/bin/env bash
# `lab bench` against wrk: the same static URL of a running lab, the same connections, the
# same duration, one after the other, twice in alternating order (so neither always gets
# the warmer server). A load generator that cannot saturate the server measures itself;
# the ratio lab-bench/wrk should stay above 0.90.
#
#   bench/labbench.sh                  # -c32, 10 s each, 2 rounds, after a 2 s warm-up
#   DURATION=20 CONNECTIONS=64 ROUNDS=3 bench/labbench.sh
#
# Needs: cargo, wrk, curl (Debian packages `wrk curl`).
set -euo pipefail

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
ROUNDS=${ROUNDS:-2}

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"

for tool in wrk curl cargo; do
  command -v "$tool" >/dev/null || die "falta \`$tool\` (apt-get install -y wrk curl)"
done

tmp=$(mktemp -d /tmp/lab-bench.XXXXXX)
lab_pid=
cleanup() {
  [ -n "$lab_pid" ] && kill -TERM "$lab_pid" 2>/dev/null && wait "$lab_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

lab_binary

# ---- the server: a lab with a 1 KiB page ----------------------------------------------
lab_port=$(free_port)
"$lab" init "$tmp/lab" >/dev/null
sed -i \
  -e "s/^privileged_port_offset = .*/privileged_port_offset = $((lab_port - 80))/" \
  -e 's/^map_privileged_ports = .*/map_privileged_ports = "always"/' \
  -e "s/^console_port = .*/console_port = $(free_port)/" \
  "$tmp/lab/lab.toml"
head -c 1024 /dev/zero | tr '\0' 'x' >"$tmp/lab/var/www/html/index.html"
"$lab" start --workspace "$tmp/lab" >"$tmp/lab.out" 2>&1 &
lab_pid=$!
for _ in $(seq 1 300); do
  grep -q '^Listo\.' "$tmp/lab.out" 2>/dev/null && break
  kill -0 "$lab_pid" 2>/dev/null || { cat "$tmp/lab.out" >&2; die "lab start terminó"; }
  sleep 0.1
done
url="http://127.0.0.1:$lab_port/index.html"
wait_http "$url" 10 || { cat "$tmp/lab.out" >&2; die "el lab no responde en $url"; }

# ---- the two generators ---------------------------------------------------------------
# Each prints "req/s p50_ms p99_ms".
run_wrk() {
  local out
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$url")
  echo "$out" >>"$tmp/wrk.log"
  echo "$out" | grep -q 'Non-2xx' && { echo "$out" >&2; die "wrk vio respuestas no 2xx"; }
  # wrk prints latencies with units (us, ms, s): convert to ms.
  echo "$out" | awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /^Requests\/sec:/ { rps = $2 }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    END { printf "%s %.3f %.3f\n", rps, p50, p99 }'
}

run_lab_bench() {
  local out
  out=$("$lab" bench "$url" -c "$CONNECTIONS" -d "$DURATION" --no-guardar)
  echo "$out" >>"$tmp/labbench.log"
  local failed non
  failed=$(echo "$out" | awk -F: '/^Peticiones fallidas:/ {gsub(/ /, "", $2); split($2, a, "("); print a[1]}')
  non=$(echo "$out" | awk -F: '/^Respuestas no 2xx:/ {gsub(/ /, "", $2); split($2, a, "("); print a[1]}')
  [ "$failed" = 0 ] && [ "$non" = 0 ] || { echo "$out" >&2; die "lab bench vio fallos o respuestas no 2xx"; }
  echo "$out" | awk '
    /^Peticiones por segundo:/ { rps = $4 }
    $1 == "50%" { p50 = $2 }
    $1 == "99%" { p99 = $2 }
    END { printf "%s %s %s\n", rps, p50, p99 }'
}

echo "== calentamiento ${WARMUP} s"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" "$url" >/dev/null

echo "== $ROUNDS rondas de ${DURATION} s con $CONNECTIONS conexiones contra $url"
printf '\n%-6s %-11s %12s %10s %10s\n' ronda generador 'req/s' 'p50 ms' 'p99 ms'
wrk_sum=0
lab_sum=0
for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then order="wrk lab"; else order="lab wrk"; fi
  for g in $order; do
    if [ "$g" = wrk ]; then
      read -r rps p50 p99 < <(run_wrk)
      wrk_sum=$(awk -v a="$wrk_sum" -v b="$rps" 'BEGIN { print a + b }')
      printf '%-6s %-11s %12s %10s %10s\n' "$r" "wrk -t$THREADS" "$rps" "$p50" "$p99"
    else
      read -r rps p50 p99 < <(run_lab_bench)
      lab_sum=$(awk -v a="$lab_sum" -v b="$rps" 'BEGIN { print a + b }')
      printf '%-6s %-11s %12s %10s %10s\n' "$r" "lab bench" "$rps" "$p50" "$p99"
    fi
  done
done
awk -v a="$lab_sum" -v b="$wrk_sum" -v n="$ROUNDS" 'BEGIN {
  printf "\nmedia: lab bench %.0f req/s, wrk %.0f req/s\n", a / n, b / n
  printf "ratio lab-bench/wrk: %.2f\n", a / b
}'
