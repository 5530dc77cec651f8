#!/usr/bin/env bash
# Caching-proxy benchmark: the lab's varnish role against Debian's Varnish 7.1, both in
# front of the same backend (the lab's Apache role serving a 1 KiB page), loopback only.
#
#   bench/proxy.sh                      # wrk -t1 -c64 -d10s per case after a 2 s warm-up
#   ROUNDS=3 bench/proxy.sh             # hits measured in 3 rounds (default 2), mean shown
#   DURATION=30s CONNECTIONS=128 bench/proxy.sh
#   LAB_BIN=/ruta/a/otro/lab bench/proxy.sh   # sin compilar: mide ese binario
#   LAB_BEFORE=/ruta/al/lab/de/antes bench/proxy.sh   # y además otro binario (antes/después)
#   NGINX=none bench/proxy.sh           # sin la línea del techo de la máquina
#
# Cases: hits (the same URL, cached) and misses (a new query string per request, so every
# request is a lookup that fails, a backend fetch and an insertion).
# The ceiling: the same wrk against nginx (when installed) serving the same 1 KiB body from a
# static file, 2 workers, access_log off: wrk shares the machine's cores with the server, so
# no server answers more requests per second here; that line says what this machine can do.
# Requests per CPU second (each server's own CPU time, from /proc) are the steadier figure
# on a shared machine.
# Needs: cargo, wrk, curl, varnish (Debian packages `wrk curl varnish`); nginx-light for the
# ceiling.
set -euo pipefail

DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-2}
WARMUP=${WARMUP:-2s}
THREADS=${THREADS:-1}
CONNECTIONS=${CONNECTIONS:-64}
VARNISHD=${VARNISHD:-/usr/sbin/varnishd}
NGINX=${NGINX:-/usr/sbin/nginx}

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"

for tool in wrk curl cargo; do
  command -v "$tool" >/dev/null || die "falta \`$tool\` (apt-get install -y wrk curl)"
done
[ -x "$VARNISHD" ] || die "falta $VARNISHD (apt-get install -y varnish)"

tmp=$(mktemp -d /tmp/lab-bench-proxy.XXXXXX)
chmod 755 "$tmp"
pids=()
cleanup() {
  for p in "${pids[@]}"; do
    kill -TERM "$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

lab_binary

# The 1 KiB page every server answers.
{
  printf '<!DOCTYPE html>\n<html lang="es"><head><meta charset="utf-8"><title>bench</title></head><body>\n'
  head -c 2000 /dev/zero | tr '\0' 'x' | fold -w 64 | head -c 900
  printf '\n</body></html>\n'
} | head -c 1024 >"$tmp/index.html"

# ---- the lab: Apache role (backend) + varnish role --------------------------------------
# `start_lab BINARY NAME`: a workspace in $tmp/NAME; sets NAME_port (varnish) and NAME_pid.
start_lab() {
  local bin=$1 name=$2 dir="$tmp/$2" apache_port port pid
  apache_port=$(free_port)
  port=$(free_port)
  "$bin" init "$dir" >/dev/null
  sed -i \
    -e "s/^console_port = .*/console_port = $(free_port)/" \
    -e 's/^varnish = .*/varnish = true/' \
    "$dir/lab.toml"
  lab_varnish_front "$dir" "$apache_port" "$port" malloc,256m
  cp "$tmp/index.html" "$dir/var/www/html/index.html"
  "$bin" start --workspace "$dir" >"$dir.out" 2>&1 &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 1 300); do
    grep -q '^Listo\.' "$dir.out" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { cat "$dir.out" >&2; die "lab start ($name) terminó"; }
    sleep 0.1
  done
  wait_http "http://127.0.0.1:$apache_port/index.html" 10 || { cat "$dir.out" >&2; die "Apache (lab, $name) no responde"; }
  wait_http "http://127.0.0.1:$port/index.html" 10 || { cat "$dir.out" >&2; die "el varnish del lab ($name) no responde"; }
  printf -v "${name}_port" '%s' "$port"
  printf -v "${name}_pid" '%s' "$pid"
  printf -v "${name}_backend" '%s' "$apache_port"
}
start_lab "$lab" lab
apache_port=$lab_backend
if [ -n "${LAB_BEFORE:-}" ]; then
  start_lab "$LAB_BEFORE" before
fi

# ---- Varnish 7.1, same backend -------------------------------------------------------------
varnish_port=$(free_port)
cat >"$tmp/default.vcl" <<EOF2
vcl 4.1;
backend default { .host = "127.0.0.1"; .port = "$apache_port"; }
EOF2
"$VARNISHD" -F -n "$tmp/varnish" -a "127.0.0.1:$varnish_port" -f "$tmp/default.vcl" \
  -s malloc,256m -T none >"$tmp/varnish.out" 2>&1 &
varnish_pid=$!
pids+=("$varnish_pid")
wait_http "http://127.0.0.1:$varnish_port/index.html" 20 || { cat "$tmp/varnish.out" >&2; die "varnishd no responde"; }

# ---- nginx: the machine's ceiling ----------------------------------------------------------
nginx_port=
if [ "$NGINX" != none ] && [ -x "$NGINX" ]; then
  nginx_port=$(free_port)
  mkdir -p "$tmp/nginx/www"
  cp "$tmp/index.html" "$tmp/nginx/www/index.html"
  chmod -R a+rX "$tmp/nginx"
  cat >"$tmp/nginx/nginx.conf" <<EOF2
worker_processes 2;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 10000000;
    client_body_temp_path $tmp/nginx/body;
    default_type text/html;
    server {
        listen 127.0.0.1:$nginx_port;
        root $tmp/nginx/www;
    }
}
EOF2
  "$NGINX" -p "$tmp/nginx" -e "$tmp/nginx/error.log" -c "$tmp/nginx/nginx.conf" >"$tmp/nginx.out" 2>&1 &
  nginx_pid=$!
  pids+=("$nginx_pid")
  wait_http "http://127.0.0.1:$nginx_port/index.html" 10 || { cat "$tmp/nginx.out" "$tmp/nginx/error.log" >&2; die "nginx no responde"; }
fi

# Same object through every cache.
for u in "http://127.0.0.1:$lab_port/index.html" "http://127.0.0.1:$varnish_port/index.html" \
  ${before_port:+"http://127.0.0.1:$before_port/index.html"}; do
  curl -s -o /dev/null "$u"
  curl -s -D - -o /dev/null "$u" | grep -qi '^X-Varnish: [0-9]* [0-9]*' || die "$u no es un acierto de caché"
done

cat >"$tmp/miss.lua" <<'EOF2'
-- A new query string per request: every request misses.
counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, "/index.html?m=" .. counter .. "-" .. math.random(1, 1000000000))
end
EOF2

hz=$(getconf CLK_TCK)

# Prints "req/s p99 req-per-cpu-second" for one URL served by the process tree of PID (and
# an optional wrk script). The CPU time is that server's alone (lib.sh's cpu_ticks: the
# process and everything below it: varnishd's child, nginx's workers, the lab's threads).
run_wrk() {
  local pid=$1 url=$2 script=${3:-} out t0 t1 n
  local args=(-t"$THREADS" -c"$CONNECTIONS")
  [ -n "$script" ] && args+=(-s "$script")
  wrk "${args[@]}" -d"$WARMUP" "$url" >/dev/null
  t0=$(cpu_ticks "$pid")
  out=$(wrk "${args[@]}" -d"$DURATION" --latency "$url")
  t1=$(cpu_ticks "$pid")
  echo "$out" >>"$tmp/wrk.log"
  if echo "$out" | grep -q 'Non-2xx'; then
    echo "$out" >&2
    die "respuestas no 2xx en $url"
  fi
  n=$(echo "$out" | awk '/requests in/ {print $1; exit}')
  echo "$(echo "$out" | awk '/^Requests\/sec:/ {print $2}') $(echo "$out" | awk '$1 == "99%" {print $2; exit}') \
$(awk -v n="$n" -v t=$((t1 - t0)) -v hz="$hz" 'BEGIN { if (t > 0) printf "%.0f", n / (t / hz); else print "-" }')"
}

echo "== wrk -t$THREADS -c$CONNECTIONS -d$DURATION (calentamiento $WARMUP), página de 1 KiB"
# Hits in $ROUNDS rounds whose order rotates (the server measured first in a pass does a
# little worse), then the mean of each server's rounds; p99 is the worst round's.
servers=(lab varnish)
[ -n "${LAB_BEFORE:-}" ] && servers+=(before)
declare -A hit_rps hit_cpu hit_p99
for ((r = 0; r < ROUNDS; r++)); do
  k=$((r % ${#servers[@]}))
  line="  ronda $((r + 1)), aciertos:"
  for s in "${servers[@]:k}" "${servers[@]:0:k}"; do
    case $s in
      lab) pid=$lab_pid port=$lab_port ;;
      varnish) pid=$varnish_pid port=$varnish_port ;;
      before) pid=$before_pid port=$before_port ;;
    esac
    read -r rps q cpu < <(run_wrk "$pid" "http://127.0.0.1:$port/index.html")
    hit_rps[$s]="${hit_rps[$s]:-} $rps"
    hit_cpu[$s]="${hit_cpu[$s]:-} $cpu"
    hit_p99[$s]="${hit_p99[$s]:-} $q"
    line+=" $s $rps req/s,"
  done
  echo "${line%,}"
done
# mean WORDS: their mean ("-" when one is not a number); worst WORDS: the largest latency.
mean() { echo "$@" | awk '{ for (i = 1; i <= NF; i++) { if ($i !~ /^[0-9.]+$/) { print "-"; exit } t += $i } printf "%.0f\n", t / NF }'; }
worst() {
  echo "$@" | awk '{ for (i = 1; i <= NF; i++) { v = $i; u = v; sub(/[0-9.]+/, "", u); n = v + 0
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000
    if (n >= m) { m = n; w = v } } print w }'
}
lab_hit=$(mean ${hit_rps[lab]}) lab_hit_cpu=$(mean ${hit_cpu[lab]}) lab_hit_p99=$(worst ${hit_p99[lab]})
v_hit=$(mean ${hit_rps[varnish]}) v_hit_cpu=$(mean ${hit_cpu[varnish]}) v_hit_p99=$(worst ${hit_p99[varnish]})
if [ -n "${LAB_BEFORE:-}" ]; then
  b_hit=$(mean ${hit_rps[before]}) b_hit_cpu=$(mean ${hit_cpu[before]}) b_hit_p99=$(worst ${hit_p99[before]})
fi
if [ -n "$nginx_port" ]; then
  read -r n_hit n_hit_p99 n_hit_cpu < <(run_wrk "$nginx_pid" "http://127.0.0.1:$nginx_port/index.html")
fi
read -r lab_miss lab_miss_p99 lab_miss_cpu < <(run_wrk "$lab_pid" "http://127.0.0.1:$lab_port/index.html" "$tmp/miss.lua")
read -r v_miss v_miss_p99 v_miss_cpu < <(run_wrk "$varnish_pid" "http://127.0.0.1:$varnish_port/index.html" "$tmp/miss.lua")

# Microseconds of CPU per request from requests per CPU second.
us() { awk -v r="$1" 'BEGIN { if (r + 0 > 0) printf "%.1f", 1000000 / r; else print "-" }'; }

vname="varnish $("$VARNISHD" -V 2>&1 | sed -n 's/.*varnish-\([0-9.]*\).*/\1/p' | head -1)"
row() { printf '%-10s %-22s %12s %12s %16s %14s\n' "$1" "$2" "$3" "$4" "$5" "$(us "$5")"; }
printf '\n%-10s %-22s %12s %12s %16s %14s\n' caso servidor 'req/s' 'p99' 'req/s de CPU' 'µs CPU/pet.'
row aciertos lab "$lab_hit" "$lab_hit_p99" "$lab_hit_cpu"
[ -n "${LAB_BEFORE:-}" ] && row aciertos 'lab (antes)' "$b_hit" "$b_hit_p99" "$b_hit_cpu"
row aciertos "$vname" "$v_hit" "$v_hit_p99" "$v_hit_cpu"
row fallos lab "$lab_miss" "$lab_miss_p99" "$lab_miss_cpu"
row fallos varnish "$v_miss" "$v_miss_p99" "$v_miss_cpu"
if [ -n "$nginx_port" ]; then
  row techo "nginx $("$NGINX" -v 2>&1 | sed -n 's|.*nginx/||p') (estático)" "$n_hit" "$n_hit_p99" "$n_hit_cpu"
fi
echo "(req/s de CPU: peticiones por segundo de CPU gastado por ese servidor; el del lab incluye su backend)"
awk -v a="$lab_hit" -v b="$v_hit" 'BEGIN { printf "ratio lab/varnish (aciertos): %.2f\n", a / b }'
awk -v a="$lab_miss" -v b="$v_miss" 'BEGIN { printf "ratio lab/varnish (fallos): %.2f\n", a / b }'
awk -v a="$lab_hit_cpu" -v b="$v_hit_cpu" 'BEGIN { if (b + 0 > 0) printf "ratio lab/varnish por CPU (aciertos): %.2f\n", a / b }'
awk -v a="$lab_miss_cpu" -v b="$v_miss_cpu" 'BEGIN { if (b + 0 > 0) printf "ratio lab/varnish por CPU (fallos): %.2f\n", a / b }'
if [ -n "${LAB_BEFORE:-}" ]; then
  awk -v a="$b_hit" -v b="$v_hit" 'BEGIN { printf "ratio lab (antes)/varnish (aciertos): %.2f\n", a / b }'
  awk -v a="$b_hit_cpu" -v b="$v_hit_cpu" 'BEGIN { if (b + 0 > 0) printf "ratio lab (antes)/varnish por CPU (aciertos): %.2f\n", a / b }'
fi
if [ -n "$nginx_port" ]; then
  awk -v n="$n_hit" -v v="$v_hit" -v l="$lab_hit" 'BEGIN {
    printf "techo de la máquina: %.0f req/s (nginx estático); 2x varnish serían %.0f req/s", n, 2 * v
    printf " (lab al %.0f%% del techo)\n", 100 * l / n }'
else
  echo "techo de la máquina: sin medir (falta nginx: apt-get install -y nginx-light)"
fi
