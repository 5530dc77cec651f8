#!/usr/bin/env bash
# memcached benchmark: the lab's memcached role against Debian's memcached 1.6, same machine,
# same settings (-t 2 -m 64, 127.0.0.1 only), same load: memcaslap (Debian
# `libmemcached-tools`) with its default 9:1 get:set mix, 100-byte values, one client
# thread and 32 concurrent connections, loopback only. Prints both rates and the ratio.
#
#   bench/memcached.sh                    # 2 rounds of 10 s per server, after a 2 s warm-up
#   LAB_BIN=path/to/lab bench/memcached.sh   # measure that build, without compiling
#
# Rounds alternate which server goes first, so that load from other processes on the
# machine falls on both alike; the table shows the mean of the rounds.
#   DURATION=30s CONCURRENCY=64 bench/memcached.sh
#
# Needs: cargo, memcached, memcaslap (apt-get install -y memcached libmemcached-tools).
set -euo pipefail

DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-2}
WARMUP=${WARMUP:-2s}
CLIENT_THREADS=${CLIENT_THREADS:-1}
CONCURRENCY=${CONCURRENCY:-32}
VALUE_SIZE=${VALUE_SIZE:-100}
MEMCACHED_BIN=${MEMCACHED_BIN:-/usr/bin/memcached}

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"

command -v cargo >/dev/null || die "falta cargo"
command -v memcaslap >/dev/null || die "falta memcaslap (apt-get install -y libmemcached-tools)"
[ -x "$MEMCACHED_BIN" ] || die "falta $MEMCACHED_BIN (apt-get install -y memcached)"

tmp=$(mktemp -d /tmp/lab-bench-mc.XXXXXX)
lab_pid=
mc_pid=
cleanup() {
  [ -n "$lab_pid" ] && kill -TERM "$lab_pid" 2>/dev/null && wait "$lab_pid" 2>/dev/null || true
  [ -n "$mc_pid" ] && kill -TERM "$mc_pid" 2>/dev/null && wait "$mc_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

lab_binary

lab_port=$(free_port)
mc_port=$(free_port)
while [ "$mc_port" = "$lab_port" ]; do mc_port=$(free_port); done

# The lab: a workspace with only memcached, configured like the reference.
"$lab" init "$tmp/ws" >/dev/null
"$lab" --workspace "$tmp/ws" service apache2 disable >/dev/null
"$lab" --workspace "$tmp/ws" service memcached enable >/dev/null
cat > "$tmp/ws/etc/memcached.conf" <<CONF
-m 64
-p $lab_port
-l 127.0.0.1
-t 2
-U 0
CONF
"$lab" start --workspace "$tmp/ws" > "$tmp/lab.log" 2>&1 &
lab_pid=$!
wait_port "$lab_port" || { cat "$tmp/lab.log"; die "el laboratorio no escucha en $lab_port"; }

user_opt=()
[ "$(id -u)" = 0 ] && user_opt=(-u nobody)
"$MEMCACHED_BIN" -m 64 -p "$mc_port" -l 127.0.0.1 -t 2 -U 0 "${user_opt[@]}" &
mc_pid=$!
wait_port "$mc_port" || die "memcached no escucha en $mc_port"

# Runs memcaslap against 127.0.0.1:$1 and prints the final ops/s.
load() {
  local port=$1 duration=$2
  memcaslap -s "127.0.0.1:$port" -T "$CLIENT_THREADS" -c "$CONCURRENCY" -X "$VALUE_SIZE" -t "$duration" 2>&1 |
    awk '/^Run time:/ { for (i = 1; i <= NF; i++) if ($i == "Ops:") ops = $(i + 1); for (i = 1; i <= NF; i++) if ($i == "TPS:") tps = $(i + 1) } END { print tps }'
}

echo "Calentando ($WARMUP cada uno)…"
load "$lab_port" "$WARMUP" >/dev/null
load "$mc_port" "$WARMUP" >/dev/null

echo "Midiendo $ROUNDS rondas de $DURATION cada uno: memcaslap -T $CLIENT_THREADS -c $CONCURRENCY -X $VALUE_SIZE (get:set 9:1)"
mc_sum=0
lab_sum=0
for round in $(seq 1 "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then
    mc_ops=$(load "$mc_port" "$DURATION")
    lab_ops=$(load "$lab_port" "$DURATION")
  else
    lab_ops=$(load "$lab_port" "$DURATION")
    mc_ops=$(load "$mc_port" "$DURATION")
  fi
  [ -n "$mc_ops" ] && [ -n "$lab_ops" ] || die "memcaslap no dio resultados"
  echo "  ronda $round: memcached $mc_ops ops/s, lab $lab_ops ops/s"
  mc_sum=$((mc_sum + mc_ops))
  lab_sum=$((lab_sum + lab_ops))
done
mc_ops=$((mc_sum / ROUNDS))
lab_ops=$((lab_sum / ROUNDS))

printf '\n%-28s %12s\n' "servidor" "ops/s (media)"
printf '%-28s %12s\n' "memcached $("$MEMCACHED_BIN" -V | awk '{print $2}') (Debian)" "$mc_ops"
printf '%-28s %12s\n' "lab (memcached role)" "$lab_ops"
awk -v l="$lab_ops" -v m="$mc_ops" 'BEGIN { printf "\nratio lab/memcached: %.2fx\n", l / m }'
