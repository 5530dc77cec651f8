#!/usr/bin/env bash
# WSGI benchmark: the same "hello" app and a small Flask app under
#   - the lab, daemon mode (WSGIDaemonProcess processes=2 threads=15) and embedded mode,
#   - the lab in daemon mode once more, in a workspace with `MaxKeepAliveRequests 0`: the
#     connection policy of Granian, which never closes a keep-alive connection itself,
#   - Granian (2 workers, WSGI interface, from PyPI),
#   - Debian's Apache 2.4 + mod_wsgi, daemon mode (processes=2 threads=15, mpm_event) and
#     embedded mode,
# side by side in one run, loopback only, then the ratios. Beside each rate it prints the CPU
# time the server used per request (user + system of the server and every process below it,
# from /proc), so the ratio is read next to where the time goes.
#
#   bench/wsgi.sh                       # wrk -t1 -c32 -d10s per server and app, 2 s warm-up
#   DURATION=30s CONNECTIONS=64 bench/wsgi.sh
#   ROUNDS=3 bench/wsgi.sh              # three rounds, each starting one row later
#
# With several rounds, each round measures every row once, starting one row further down, so
# that other load on the machine falls on every server alike; the table shows the mean.
#
# Needs: cargo, wrk, curl, python3-venv, apache2, libapache2-mod-wsgi-py3. Flask and Granian
# are installed from PyPI into a venv cached in $BENCH_VENV (default /tmp/lab-bench-venv).
set -euo pipefail

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
THREADS=${THREADS:-1}
ROUNDS=${ROUNDS:-1}
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
[ -f "$APACHE_MODULES/mod_wsgi.so" ] || die "falta mod_wsgi (apt-get install -y libapache2-mod-wsgi-py3)"

bench_scratch wsgi

# LAB_BIN: measure another build of the lab (say, the one before a change) in the same run.
lab_binary

bench_venv

# ---- the apps (one copy for every server) ----------------------------------------------
app="$tmp/app"
mkdir -p "$app"
cat >"$app/hello.py" <<'EOF'
def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', '12')])
    return [b'Hola, mundo\n']
EOF
cat >"$app/flaskapp.py" <<'EOF'
from flask import Flask, jsonify
app = Flask(__name__)

@app.route('/')
def index():
    return jsonify(curso='Apache y Python', tema='WSGI', ok=True)

application = app
EOF
cp "$app/hello.py" "$app/hello.wsgi"
printf 'import sys\nsys.path.insert(0, %s)\nfrom flaskapp import application\n' "'$app'" >"$app/flask.wsgi"
chmod -R a+rX "$app"

# ---- lab ----------------------------------------------------------------------------------
# start_lab BINARY NAME [MAX]: a lab workspace serving the apps; sets lab_base and lab_pid.
# MAX, when given, replaces the MaxKeepAliveRequests of Debian's apache2.conf (100).
start_lab() {
  local bin=$1 name=$2 max=${3:-} port ws
  port=$(free_port)
  ws="$tmp/$name"
  "$bin" init "$ws" >/dev/null
  sed -i \
    -e "s/^privileged_port_offset = .*/privileged_port_offset = $((port - 80))/" \
    -e 's/^map_privileged_ports = .*/map_privileged_ports = "always"/' \
    -e "s/^console_port = .*/console_port = $(free_port)/" \
    "$ws/lab.toml"
  if [ -n "$max" ]; then
    grep -q '^MaxKeepAliveRequests 100$' "$ws/etc/apache2/apache2.conf" ||
      die "apache2.conf del lab sin «MaxKeepAliveRequests 100»"
    sed -i "s/^MaxKeepAliveRequests 100$/MaxKeepAliveRequests $max/" "$ws/etc/apache2/apache2.conf"
  fi
  "$bin" --workspace "$ws" a2enmod wsgi >/dev/null
  cat >"$ws/etc/apache2/sites-available/bench.conf" <<EOF
WSGIPythonHome $BENCH_VENV
<VirtualHost *:80>
    ServerName localhost
    WSGIDaemonProcess bench processes=2 threads=15 python-home=$BENCH_VENV
    WSGIProcessGroup bench
    WSGIApplicationGroup %{GLOBAL}
    WSGIScriptAlias /hola $app/hello.wsgi
    WSGIScriptAlias /flask $app/flask.wsgi
    WSGIScriptAlias /emb/hola $app/hello.wsgi process-group=%{GLOBAL} application-group=%{GLOBAL}
    WSGIScriptAlias /emb/flask $app/flask.wsgi process-group=%{GLOBAL} application-group=%{GLOBAL}
    <Directory $app>
        Require all granted
    </Directory>
</VirtualHost>
EOF
  "$bin" --workspace "$ws" a2dissite 000-default >/dev/null
  "$bin" --workspace "$ws" a2ensite bench >/dev/null
  "$bin" start --workspace "$ws" >"$tmp/$name.out" 2>&1 &
  pids+=($!)
  lab_pid=$!
  for _ in $(seq 1 300); do
    grep -q '^Listo\.' "$tmp/$name.out" 2>/dev/null && break
    sleep 0.1
  done
  lab_base="http://127.0.0.1:$port"
  wait_http "$lab_base/hola" 20 || { cat "$tmp/$name.out" "$ws/var/log/apache2/error.log" >&2; die "el lab ($name) no responde"; }
  wait_http "$lab_base/flask/" 20 || { cat "$ws/var/log/apache2/error.log" >&2; die "el lab ($name) no sirve Flask"; }
  wait_http "$lab_base/emb/flask/" 20 || { cat "$ws/var/log/apache2/error.log" >&2; die "el lab ($name) no sirve Flask en modo embebido"; }
}

# LAB_BIN_BEFORE: another build of the lab (say, the one before a change), measured in the
# same run as the rows «lab antes».
before_base=""
if [ -n "${LAB_BIN_BEFORE:-}" ]; then
  start_lab "$LAB_BIN_BEFORE" lab-before
  before_base=$lab_base
  before_pid=$lab_pid
fi
# The same lab with Granian's connection policy: Granian keeps a keep-alive connection open
# for as many requests as the client sends, while Debian's apache2.conf (and so the lab and
# the Apache below) closes it after 100 (`MaxKeepAliveRequests 100`) and the client connects
# again. These rows compare the two servers with the same policy; the others keep Debian's.
start_lab "$lab" lab-sin-limite 0
unlimited_base=$lab_base
unlimited_pid=$lab_pid
start_lab "$lab" lab

# ---- Granian ----------------------------------------------------------------------------
gr_hello_port=$(free_port)
gr_flask_port=$(free_port)
(cd "$app" && exec "$BENCH_VENV/bin/granian" --interface wsgi --host 127.0.0.1 --port "$gr_hello_port" \
  --workers 2 --log-level warning hello:application) >"$tmp/granian-hello.out" 2>&1 &
pids+=($!)
gr_hello_pid=$!
(cd "$app" && exec "$BENCH_VENV/bin/granian" --interface wsgi --host 127.0.0.1 --port "$gr_flask_port" \
  --workers 2 --log-level warning flaskapp:application) >"$tmp/granian-flask.out" 2>&1 &
pids+=($!)
gr_flask_pid=$!
wait_http "http://127.0.0.1:$gr_hello_port/" 20 || { cat "$tmp/granian-hello.out" >&2; die "granian no responde"; }
wait_http "http://127.0.0.1:$gr_flask_port/" 20 || { cat "$tmp/granian-flask.out" >&2; die "granian (flask) no responde"; }

# ---- Apache 2.4 + mod_wsgi (daemon mode) ------------------------------------------------
ap_port=$(free_port)
ap="$tmp/apache"
mkdir -p "$ap"
{
  apache_head "$ap" "$ap_port"
  cat <<EOF
LoadModule mpm_event_module $APACHE_MODULES/mod_mpm_event.so
LoadModule authz_core_module $APACHE_MODULES/mod_authz_core.so
LoadModule mime_module $APACHE_MODULES/mod_mime.so
LoadModule wsgi_module $APACHE_MODULES/mod_wsgi.so
StartServers 2
ThreadsPerChild 25
MaxRequestWorkers 150
KeepAlive On
MaxKeepAliveRequests 100
KeepAliveTimeout 5
TypesConfig /etc/mime.types
ErrorLog $ap/logs/error.log
LogLevel warn
LogFormat "%h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"" combined
CustomLog $ap/logs/access.log combined
WSGISocketPrefix $ap/run/wsgi
WSGIDaemonProcess bench processes=2 threads=15 python-home=$BENCH_VENV
WSGIProcessGroup bench
WSGIApplicationGroup %{GLOBAL}
WSGIScriptAlias /hola $app/hello.wsgi
WSGIScriptAlias /flask $app/flask.wsgi
WSGIPythonHome $BENCH_VENV
WSGIScriptAlias /emb/hola $app/hello.wsgi process-group=%{GLOBAL} application-group=%{GLOBAL}
WSGIScriptAlias /emb/flask $app/flask.wsgi process-group=%{GLOBAL} application-group=%{GLOBAL}
<Directory $app>
    Require all granted
</Directory>
EOF
} >"$ap/apache2.conf"
"$APACHE_BIN" -d "$ap" -f "$ap/apache2.conf" -DFOREGROUND >"$tmp/apache.out" 2>&1 &
pids+=($!)
ap_pid=$!
ap_base="http://127.0.0.1:$ap_port"
wait_http "$ap_base/hola" 20 || { cat "$tmp/apache.out" "$ap/logs/error.log" >&2; die "Apache+mod_wsgi no responde"; }
wait_http "$ap_base/flask/" 20 || { cat "$ap/logs/error.log" >&2; die "Apache+mod_wsgi no sirve Flask"; }

# The same bodies everywhere.
wait_http "$ap_base/emb/flask/" 20 || { cat "$ap/logs/error.log" >&2; die "Apache+mod_wsgi no sirve Flask en modo embebido"; }
for path in hola flask/ emb/hola emb/flask/; do
  a=$(curl -s "$lab_base/$path")
  b=$(curl -s "$ap_base/$path")
  [ "$a" = "$b" ] || die "cuerpos distintos en /$path: lab «$a», apache «$b»"
done
[ "$(curl -s "http://127.0.0.1:$gr_hello_port/")" = "$(curl -s "$lab_base/hola")" ] || die "granian da otro cuerpo"

# ---- load -------------------------------------------------------------------------------
# run_wrk URL PID: "req/s latency-avg p99 cpu-ticks requests" for the server whose
# processes hang below PID.
run_wrk() {
  local url=$1 pid=$2 out before after
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" "$url" >/dev/null
  before=$(cpu_ticks "$pid")
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$url")
  after=$(cpu_ticks "$pid")
  echo "$out" >>"$tmp/wrk.log"
  if echo "$out" | grep -q 'Non-2xx'; then
    echo "$out" >&2
    die "respuestas no 2xx en $url"
  fi
  local rps avg p99 n
  rps=$(echo "$out" | awk '/^Requests\/sec:/ {print $2}')
  avg=$(echo "$out" | awk '$1 == "Latency" {print $2; exit}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2; exit}')
  n=$(echo "$out" | awk '/requests in/ {print $1; exit}')
  echo "$rps ${avg:-?} ${p99:-?} $((after - before)) ${n:-0}"
}

echo "== wrk -t$THREADS -c$CONNECTIONS -d$DURATION (calentamiento $WARMUP), $ROUNDS ronda(s)"
granian_v=$("$BENCH_VENV/bin/granian" --version 2>/dev/null | awk '{print $NF}')
gr="granian $granian_v (2 workers)"
# app|server|url|root pid of the server's processes
rows=(
  "hola|lab (demonio)|$lab_base/hola|$lab_pid"
  "hola|lab (demonio, MaxKeepAliveRequests 0)|$unlimited_base/hola|$unlimited_pid"
  "hola|lab (embebido)|$lab_base/emb/hola|$lab_pid"
  "hola|$gr|http://127.0.0.1:$gr_hello_port/|$gr_hello_pid"
  "hola|apache2 + mod_wsgi (demonio)|$ap_base/hola|$ap_pid"
  "hola|apache2 + mod_wsgi (embebido)|$ap_base/emb/hola|$ap_pid"
  "flask|lab (demonio)|$lab_base/flask/|$lab_pid"
  "flask|lab (demonio, MaxKeepAliveRequests 0)|$unlimited_base/flask/|$unlimited_pid"
  "flask|lab (embebido)|$lab_base/emb/flask/|$lab_pid"
  "flask|$gr|http://127.0.0.1:$gr_flask_port/|$gr_flask_pid"
  "flask|apache2 + mod_wsgi (demonio)|$ap_base/flask/|$ap_pid"
  "flask|apache2 + mod_wsgi (embebido)|$ap_base/emb/flask/|$ap_pid"
)
if [ -n "$before_base" ]; then
  rows=(
    "hola|lab antes (demonio)|$before_base/hola|$before_pid"
    "hola|lab antes (embebido)|$before_base/emb/hola|$before_pid"
    "flask|lab antes (demonio)|$before_base/flask/|$before_pid"
    "flask|lab antes (embebido)|$before_base/emb/flask/|$before_pid"
    "${rows[@]}"
  )
fi
nrows=${#rows[@]}
declare -A rate
declare -a sum_rps sum_ticks sum_n last_avg last_p99
for ((i = 0; i < nrows; i++)); do sum_rps[i]=0; sum_ticks[i]=0; sum_n[i]=0; done
for round in $(seq 1 "$ROUNDS"); do
  [ "$ROUNDS" -gt 1 ] && echo "  ronda $round"
  for ((k = 0; k < nrows; k++)); do
    i=$(( (k + round - 1) % nrows ))
    IFS='|' read -r appname server url pid <<<"${rows[$i]}"
    read -r rps avg p99 ticks n < <(run_wrk "$url" "$pid")
    sum_rps[i]=$(awk -v a="${sum_rps[i]}" -v b="$rps" 'BEGIN { printf "%.2f", a + b }')
    sum_ticks[i]=$(( sum_ticks[i] + ticks ))
    sum_n[i]=$(( sum_n[i] + n ))
    last_avg[i]=$avg
    last_p99[i]=$p99
  done
done
results=()
for ((i = 0; i < nrows; i++)); do
  IFS='|' read -r appname server url pid <<<"${rows[$i]}"
  rps=$(awk -v a="${sum_rps[i]}" -v r="$ROUNDS" 'BEGIN { printf "%.2f", a / r }')
  rate["$appname|$server"]=$rps
  results+=("$appname|$server|$rps|${last_avg[i]}|${last_p99[i]}|$(cpu_us_per_request "${sum_ticks[i]}" "${sum_n[i]}")")
done

printf '\n%-7s %-40s %11s %11s %11s %12s\n' app servidor 'req/s' 'lat. media' 'p99' 'CPU µs/pet.'
for r in "${results[@]}"; do
  IFS='|' read -r appname server rps avg p99 cpu <<<"$r"
  printf '%-7s %-40s %11s %11s %11s %12s\n' "$appname" "$server" "$rps" "$avg" "$p99" "$cpu"
done
echo
for appname in hola flask; do
  for mode in demonio embebido; do
    awk -v app="$appname" -v mode="$mode" \
      -v l="${rate["$appname|lab ($mode)"]}" \
      -v g="${rate["$appname|$gr"]}" \
      -v a="${rate["$appname|apache2 + mod_wsgi ($mode)"]}" 'BEGIN {
      printf "ratio %s %s: lab/granian %.2f   lab/mod_wsgi %.2f\n", app, mode, l / g, l / a
    }'
  done
done
for appname in hola flask; do
  awk -v app="$appname" \
    -v l="${rate["$appname|lab (demonio, MaxKeepAliveRequests 0)"]}" \
    -v g="${rate["$appname|$gr"]}" 'BEGIN {
    printf "ratio %s demonio, sin límite de peticiones por conexión (como Granian): lab/granian %.2f\n", app, l / g
  }'
done
if [ -n "$before_base" ]; then
  for appname in hola flask; do
    for mode in demonio embebido; do
      awk -v app="$appname" -v mode="$mode" \
        -v l="${rate["$appname|lab ($mode)"]}" \
        -v b="${rate["$appname|lab antes ($mode)"]}" 'BEGIN {
        printf "ratio %s %s: lab/lab antes %.2f\n", app, mode, l / b
      }'
    done
  done
fi
