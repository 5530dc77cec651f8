#!/usr/bin/env bash
# mod_proxy_http benchmark: the same "hello" WSGI app served by Granian (2 workers), with in
# front of it, side by side in one run,
#   - the lab (`ProxyPass /app/ http://127.0.0.1:PORT/`),
#   - Debian's Apache 2.4 with mod_proxy_http (mpm_event, Debian's defaults),
# and Granian alone as the reference of what the backend gives without a front server.
# Beside each rate it prints the CPU time the front server used per request (from /proc).
#
#   bench/proxy_http.sh                      # wrk -t1 -c32 -d10s per server, 2 s warm-up
#   DURATION=30s CONNECTIONS=64 bench/proxy_http.sh
#   LAB_BIN=/ruta/a/otro/lab bench/proxy_http.sh
#
# Needs: cargo, wrk, curl, python3-venv, apache2. Granian is installed from PyPI into a venv
# cached in $BENCH_VENV (default /tmp/lab-bench-venv, the one bench/wsgi.sh uses).
set -euo pipefail

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
THREADS=${THREADS:-1}
CONNECTIONS=${CONNECTIONS:-32}
APACHE_BIN=${APACHE_BIN:-/usr/sbin/apache2}
APACHE_MODULES=${APACHE_MODULES:-/usr/lib/apache2/modules}
BENCH_VENV=${BENCH_VENV:-/tmp/lab-bench-venv}
PYTHON=${PYTHON:-/usr/bin/python3}

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"

for tool in wrk curl cargo; do
  command -v "$tool" >/dev/null || die "falta \`$tool\` (apt-get install -y wrk curl)"
done
[ -x "$APACHE_BIN" ] || die "falta $APACHE_BIN (apt-get install -y apache2)"
[ -f "$APACHE_MODULES/mod_proxy_http.so" ] || die "falta mod_proxy_http (apt-get install -y apache2)"

bench_scratch proxy-http
lab_binary

bench_venv

# ---- the backend ------------------------------------------------------------------------
app="$tmp/app"
mkdir -p "$app"
cat >"$app/hello.py" <<'EOF'
def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', '12')])
    return [b'Hola, mundo\n']
EOF
backend_port=$(free_port)
(cd "$app" && exec "$BENCH_VENV/bin/granian" --interface wsgi --host 127.0.0.1 \
  --port "$backend_port" --workers 2 --log-level warning hello:application) \
  >"$tmp/granian.out" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$backend_port/" 20 || { cat "$tmp/granian.out" >&2; die "granian no responde"; }

# ---- the lab ----------------------------------------------------------------------------
lab_port=$(free_port)
"$lab" init "$tmp/lab" >/dev/null
sed -i "s/^console_port = .*/console_port = $(free_port)/" "$tmp/lab/lab.toml"
sed -i "s/^Listen 80$/Listen $lab_port/" "$tmp/lab/etc/apache2/ports.conf"
sed -i \
  -e "s/<VirtualHost \*:80>/<VirtualHost *:$lab_port>/" \
  -e "s#DocumentRoot /var/www/html#&\n\tProxyPass /app/ http://127.0.0.1:$backend_port/\n\tProxyPassReverse /app/ http://127.0.0.1:$backend_port/#" \
  "$tmp/lab/etc/apache2/sites-available/000-default.conf"
(cd "$tmp/lab" && "$lab" a2enmod proxy_http >/dev/null)
(cd "$tmp/lab" && exec "$lab" start) >"$tmp/lab.out" 2>&1 &
lab_pid=$!
pids+=("$lab_pid")
lab_url="http://127.0.0.1:$lab_port/app/"
wait_http "$lab_url" 20 || { cat "$tmp/lab.out" >&2; die "el lab no responde"; }

# ---- Apache -----------------------------------------------------------------------------
ap="$tmp/apache"
mkdir -p "$ap"
apache_port=$(free_port)
{
  apache_head "$ap" "$apache_port"
  apache_event_mpm
  cat <<EOF
LoadModule authz_core_module $APACHE_MODULES/mod_authz_core.so
LoadModule proxy_module $APACHE_MODULES/mod_proxy.so
LoadModule proxy_http_module $APACHE_MODULES/mod_proxy_http.so
KeepAlive On
MaxKeepAliveRequests 100
KeepAliveTimeout 5
ErrorLog $ap/logs/error.log
LogLevel warn
LogFormat "%h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"" combined
CustomLog $ap/logs/access.log combined
ProxyPass /app/ http://127.0.0.1:$backend_port/
ProxyPassReverse /app/ http://127.0.0.1:$backend_port/
EOF
} >"$ap/apache2.conf"
"$APACHE_BIN" -d "$ap" -f "$ap/apache2.conf" -DFOREGROUND >"$tmp/apache.out" 2>&1 &
apache_pid=$!
pids+=("$apache_pid")
apache_url="http://127.0.0.1:$apache_port/app/"
wait_http "$apache_url" 20 || { cat "$tmp/apache.out" "$ap/logs/error.log" >&2 2>/dev/null; die "apache no responde"; }

[ "$(curl -s "$lab_url")" = "$(curl -s "$apache_url")" ] || die "el lab y Apache dan otro cuerpo"

# run URL PID: requests per second, and microseconds of CPU per request of PID's tree.
run() {
  local url=$1 pid=$2 out before after rps n
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" "$url" >/dev/null
  before=$(cpu_ticks "$pid")
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "$url")
  after=$(cpu_ticks "$pid")
  if echo "$out" | grep -q 'Non-2xx'; then
    echo "$out" >&2
    die "respuestas no 2xx en $url"
  fi
  rps=$(echo "$out" | awk '/^Requests\/sec:/ {print $2}')
  n=$(echo "$out" | awk '/requests in/ {print $1}')
  echo "$rps $(cpu_us_per_request $((after - before)) "$n")"
}

echo "== wrk -t$THREADS -c$CONNECTIONS -d$DURATION (calentamiento $WARMUP)"
read -r lab_rps lab_cpu < <(run "$lab_url" "$lab_pid")
read -r ap_rps ap_cpu < <(run "$apache_url" "$apache_pid")
read -r gr_rps gr_cpu < <(run "http://127.0.0.1:$backend_port/" "${pids[0]}")

printf '\n%-34s %12s %22s\n' servidor 'req/s' 'CPU/pet. del servidor'
printf '%-34s %12s %20s µs\n' "lab (mod_proxy_http) + granian" "$lab_rps" "$lab_cpu"
printf '%-34s %12s %20s µs\n' "apache2 mod_proxy_http + granian" "$ap_rps" "$ap_cpu"
printf '%-34s %12s %20s µs\n' "granian solo (referencia)" "$gr_rps" "$gr_cpu"
awk -v a="$lab_rps" -v b="$ap_rps" 'BEGIN { printf "ratio lab/apache: %.2f\n", a / b }'
