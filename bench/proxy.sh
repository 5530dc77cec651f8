#!/usr/bin/env bash
# Caching-proxy benchmark: the lab's varnish role against Debian's Varnish 7.1, both in
# front of the same backend (the lab's Apache role serving a 1 KiB page), loopback only.
#
#   bench/proxy.sh                      # wrk -t1 -c64 -d10s per case after a 2 s warm-up
#   DURATION=30s CONNECTIONS=128 bench/proxy.sh
#   LAB_BIN=/ruta/a/otro/lab bench/proxy.sh   # sin compilar: mide ese binario
#
# Cases: hits (the same URL, cached) and misses (a new query string per request, so every
# request is a lookup that fails, a backend fetch and an insertion).
# Needs: cargo, wrk, curl, varnish (Debian packages `wrk curl varnish`).
set -euo pipefail

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
THREADS=${THREADS:-1}
CONNECTIONS=${CONNECTIONS:-64}
VARNISHD=${VARNISHD:-/usr/sbin/varnishd}

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"

for tool in wrk curl cargo; do
  command -v "$tool" >/dev/null || die "falta \`$tool\` (apt-get install -y wrk curl)"
done
[ -x "$VARNISHD" ] || die "falta $VARNISHD (apt-get install -y varnish)"

tmp=$(mktemp -d /tmp/lab-bench-proxy.XXXXXX)
chmod 755 "$tmp"
lab_pid=
varnish_pid=
cleanup() {
  [ -n "$lab_pid" ] && kill -TERM "$lab_pid" 2>/dev/null && wait "$lab_pid" 2>/dev/null || true
  [ -n "$varnish_pid" ] && kill -TERM "$varnish_pid" 2>/dev/null && wait "$varnish_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

if [ -n "${LAB_BIN:-}" ]; then
  # A binary built earlier (to compare two versions of the lab on the same machine).
  lab=$LAB_BIN
else
  echo "== compilando (release)"
  cargo build --release --quiet --manifest-path "$repo/Cargo.toml"
  lab="$repo/target/release/lab"
fi

# ---- the lab: Apache role (backend) + varnish role --------------------------------------
apache_port=$(free_port)
lab_port=$(free_port)
"$lab" init "$tmp/lab" >/dev/null
sed -i \
  -e "s/^console_port = .*/console_port = $(free_port)/" \
  -e 's/^varnish = .*/varnish = true/' \
  "$tmp/lab/lab.toml"
sed -i "s/^Listen 80$/Listen $apache_port/" "$tmp/lab/etc/apache2/ports.conf"
sed -i "s/<VirtualHost \*:80>/<VirtualHost *:$apache_port>/" "$tmp/lab/etc/apache2/sites-available/000-default.conf"
mkdir -p "$tmp/lab/etc/systemd/system/varnish.service.d"
cat >"$tmp/lab/etc/systemd/system/varnish.service.d/override.conf" <<EOF2
[Service]
ExecStart=
ExecStart=/usr/sbin/varnishd -a 127.0.0.1:$lab_port -f /etc/varnish/default.vcl -s malloc,256m
EOF2
sed -i "s/\"8080\"/\"$apache_port\"/" "$tmp/lab/etc/varnish/default.vcl"
{
  printf '<!DOCTYPE html>\n<html lang="es"><head><meta charset="utf-8"><title>bench</title></head><body>\n'
  head -c 2000 /dev/zero | tr '\0' 'x' | fold -w 64 | head -c 900
  printf '\n</body></html>\n'
} | head -c 1024 >"$tmp/lab/var/www/html/index.html"
"$lab" start --workspace "$tmp/lab" >"$tmp/lab.out" 2>&1 &
lab_pid=$!
for _ in $(seq 1 300); do
  grep -q '^Listo\.' "$tmp/lab.out" 2>/dev/null && break
  kill -0 "$lab_pid" 2>/dev/null || { cat "$tmp/lab.out" >&2; die "lab start terminó"; }
  sleep 0.1
done
wait_http "http://127.0.0.1:$apache_port/index.html" 10 || { cat "$tmp/lab.out" >&2; die "Apache (lab) no responde"; }
wait_http "http://127.0.0.1:$lab_port/index.html" 10 || { cat "$tmp/lab.out" >&2; die "el varnish del lab no responde"; }

# ---- Varnish 7.1, same backend -------------------------------------------------------------
varnish_port=$(free_port)
cat >"$tmp/default.vcl" <<EOF2
vcl 4.1;
backend default { .host = "127.0.0.1"; .port = "$apache_port"; }
EOF2
"$VARNISHD" -F -n "$tmp/varnish" -a "127.0.0.1:$varnish_port" -f "$tmp/default.vcl" \
  -s malloc,256m -T none >"$tmp/varnish.out" 2>&1 &
varnish_pid=$!
wait_http "http://127.0.0.1:$varnish_port/index.html" 20 || { cat "$tmp/varnish.out" >&2; die "varnishd no responde"; }

# Same object through both.
for u in "http://127.0.0.1:$lab_port/index.html" "http://127.0.0.1:$varnish_port/index.html"; do
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

# CPU time (clock ticks) used so far by the lab (proxy and backend) and by our varnishd
# (manager and child). On a shared machine req/s depends on how much CPU each server gets
# (varnishd runs many threads, the lab two); requests per CPU second do not.
cpu_ticks() {
  local total=0 pid
  for pid in "$lab_pid" "$varnish_pid" $(pgrep -P "$varnish_pid" 2>/dev/null); do
    [ -r "/proc/$pid/stat" ] || continue
    total=$((total + $(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$pid/stat")))
  done
  echo "$total"
}
hz=$(getconf CLK_TCK)

# Prints "req/s p99 req-per-cpu-second" for one URL (and an optional script).
run_wrk() {
  local url=$1 script=${2:-} out t0 t1 n
  local args=(-t"$THREADS" -c"$CONNECTIONS")
  [ -n "$script" ] && args+=(-s "$script")
  wrk "${args[@]}" -d"$WARMUP" "$url" >/dev/null
  t0=$(cpu_ticks)
  out=$(wrk "${args[@]}" -d"$DURATION" --latency "$url")
  t1=$(cpu_ticks)
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
read -r lab_hit lab_hit_p99 lab_hit_cpu < <(run_wrk "http://127.0.0.1:$lab_port/index.html")
read -r v_hit v_hit_p99 v_hit_cpu < <(run_wrk "http://127.0.0.1:$varnish_port/index.html")
read -r lab_miss lab_miss_p99 lab_miss_cpu < <(run_wrk "http://127.0.0.1:$lab_port/index.html" "$tmp/miss.lua")
read -r v_miss v_miss_p99 v_miss_cpu < <(run_wrk "http://127.0.0.1:$varnish_port/index.html" "$tmp/miss.lua")

vname="varnish $("$VARNISHD" -V 2>&1 | sed -n 's/.*varnish-\([0-9.]*\).*/\1/p' | head -1)"
printf '\n%-10s %-22s %12s %12s %16s\n' caso servidor 'req/s' 'p99' 'req/s de CPU'
printf '%-10s %-22s %12s %12s %16s\n' aciertos lab "$lab_hit" "$lab_hit_p99" "$lab_hit_cpu"
printf '%-10s %-22s %12s %12s %16s\n' aciertos "$vname" "$v_hit" "$v_hit_p99" "$v_hit_cpu"
printf '%-10s %-22s %12s %12s %16s\n' fallos lab "$lab_miss" "$lab_miss_p99" "$lab_miss_cpu"
printf '%-10s %-22s %12s %12s %16s\n' fallos varnish "$v_miss" "$v_miss_p99" "$v_miss_cpu"
echo "(req/s de CPU: peticiones por segundo de CPU gastado por el servidor y el backend del lab)"
awk -v a="$lab_hit" -v b="$v_hit" 'BEGIN { printf "ratio lab/varnish (aciertos): %.2f\n", a / b }'
awk -v a="$lab_miss" -v b="$v_miss" 'BEGIN { printf "ratio lab/varnish (fallos): %.2f\n", a / b }'
awk -v a="$lab_hit_cpu" -v b="$v_hit_cpu" 'BEGIN { if (b + 0 > 0) printf "ratio lab/varnish por CPU (aciertos): %.2f\n", a / b }'
awk -v a="$lab_miss_cpu" -v b="$v_miss_cpu" 'BEGIN { if (b + 0 > 0) printf "ratio lab/varnish por CPU (fallos): %.2f\n", a / b }'
