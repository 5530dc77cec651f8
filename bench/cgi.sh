#!/usr/bin/env bash
# CGI and the Python accelerators, side by side in one run, loopback only:
#
# 1. a small Python CGI script (hola.py) through the lab and through Debian's Apache 2.4 with
#    mod_cgid: requests per second and the ratio;
# 2. a big one (thousands of lines, generated) through Apache, the lab without the script
#    cache (cold: compiled on every request) and the lab with it (warm);
# 3. from one WSGI app in a daemon group: `apcu.fetch` against a memcached round trip with
#    pymemcache (Debian's memcached 1.6), microseconds per operation and the ratio.
#
#   bench/cgi.sh                          # wrk -t1 -c4 -d10s per case, 2 s warm-up
#   DURATION=20s CONNECTIONS=8 bench/cgi.sh
#   LAB_BIN=path/to/lab bench/cgi.sh      # measure that build, without compiling
#
# Needs: cargo, wrk, curl, python3-venv, apache2, memcached. pymemcache comes from PyPI into a
# venv made in the run's temporary directory.
set -euo pipefail

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
THREADS=${THREADS:-1}
CONNECTIONS=${CONNECTIONS:-4}
BIG_FUNCTIONS=${BIG_FUNCTIONS:-3000}
APCU_OPS=${APCU_OPS:-20000}
APACHE_BIN=${APACHE_BIN:-/usr/sbin/apache2}
APACHE_MODULES=${APACHE_MODULES:-/usr/lib/apache2/modules}
PYTHON=${PYTHON:-/usr/bin/python3}

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"

for tool in wrk curl memcached; do
  command -v "$tool" >/dev/null || die "falta \`$tool\` (apt-get install -y wrk curl memcached)"
done
[ -x "$APACHE_BIN" ] || die "falta $APACHE_BIN (apt-get install -y apache2)"
[ -f "$APACHE_MODULES/mod_cgid.so" ] || die "falta mod_cgid en $APACHE_MODULES"

[ -n "${LAB_BIN:-}" ] || command -v cargo >/dev/null || die "falta \`cargo\` (o LAB_BIN con un lab ya compilado)"

bench_scratch cgi

lab_binary

echo "== venv con pymemcache"
"$PYTHON" -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install --quiet --disable-pip-version-check pymemcache

# ---- the scripts --------------------------------------------------------------------------
cgi="$tmp/cgi-bin"
mkdir -p "$cgi"
cp "$repo/tests/fixtures/cgi/cgi-bin/hola.py" "$cgi/hola.py"
"$PYTHON" - "$cgi/grande.py" "$BIG_FUNCTIONS" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
out = ["#!/usr/bin/python3", "# Un CGI grande: muchas funciones que se compilan en cada petición.", "total = 0"]
for i in range(n):
    out.append(f"def f{i}(x):\n    y = x * {i} + {i % 7}\n    if y % 3 == 0:\n        return y // 3\n    return y + len('cadena {i}')\n")
    out.append(f"total += f{i}({i}) % 11")
out.append("print('Content-Type: text/plain')\nprint()\nprint('total', total)")
open(path, "w").write("\n".join(out) + "\n")
PY
chmod 755 "$cgi"/*.py
lines=$(wc -l <"$cgi/grande.py")

app="$tmp/app"
mkdir -p "$app"
cat >"$app/bench.wsgi" <<EOF
import time
import apcu
from pymemcache.client.base import Client

MC = Client(("127.0.0.1", int("__MC_PORT__")))
VALOR = {"usuario": "ana", "visitas": 42, "etiquetas": ["cgi", "wsgi", "apcu"]}

def application(environ, start_response):
    n = int(environ.get("QUERY_STRING") or "1000")
    import pickle
    apcu.store("clave", VALOR)
    MC.set("clave", pickle.dumps(VALOR))
    t0 = time.perf_counter()
    for _ in range(n):
        v = apcu.fetch("clave")
    t1 = time.perf_counter()
    for _ in range(n):
        w = pickle.loads(MC.get("clave"))
    t2 = time.perf_counter()
    assert v == w == VALOR
    body = "%.3f %.3f\n" % ((t1 - t0) * 1e6 / n, (t2 - t1) * 1e6 / n)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
EOF

# ---- memcached ----------------------------------------------------------------------------
mc_port=$(free_port)
sed -i "s/__MC_PORT__/$mc_port/" "$app/bench.wsgi"
memcached -u nobody -l 127.0.0.1 -p "$mc_port" -m 64 -t 2 -U 0 >"$tmp/memcached.out" 2>&1 &
pids+=($!)
wait_port "$mc_port" || die "memcached no arranca"

# ---- the lab ------------------------------------------------------------------------------
lab_port=$(free_port)
"$lab" init "$tmp/lab" >/dev/null
sed -i \
  -e "s/^privileged_port_offset = .*/privileged_port_offset = $((lab_port - 80))/" \
  -e 's/^map_privileged_ports = .*/map_privileged_ports = "always"/' \
  -e "s/^console_port = .*/console_port = $(free_port)/" \
  "$tmp/lab/lab.toml"
for m in cgid scriptcache wsgi; do
  "$lab" --workspace "$tmp/lab" a2enmod "$m" >/dev/null
done
cp -p "$cgi"/*.py "$tmp/lab/usr/lib/cgi-bin/"
echo "ScriptCache Off" >"$tmp/lab/etc/apache2/conf-enabled/zz-cache.conf"
cat >"$tmp/lab/etc/apache2/sites-available/bench.conf" <<EOF
<VirtualHost *:80>
    ServerName localhost
    WSGIDaemonProcess apcubench processes=2 threads=4 python-home=$tmp/venv
    WSGIProcessGroup apcubench
    WSGIScriptAlias /apcu $app/bench.wsgi
    <Directory $app>
        Require all granted
    </Directory>
</VirtualHost>
EOF
"$lab" --workspace "$tmp/lab" a2dissite 000-default >/dev/null
"$lab" --workspace "$tmp/lab" a2ensite bench >/dev/null
"$lab" start --workspace "$tmp/lab" >"$tmp/lab.out" 2>&1 &
lab_pid=$!
pids+=("$lab_pid")
lab_base="http://127.0.0.1:$lab_port"
wait_http "$lab_base/cgi-bin/hola.py" 30 || { cat "$tmp/lab.out" "$tmp/lab/var/log/apache2/error.log" >&2; die "el lab no responde"; }

# ---- Apache 2.4 + mod_cgid ----------------------------------------------------------------
ap_port=$(free_port)
ap="$tmp/apache"
mkdir -p "$ap"
{
  apache_head "$ap" "$ap_port"
  cat <<EOF
LoadModule mpm_event_module $APACHE_MODULES/mod_mpm_event.so
LoadModule authz_core_module $APACHE_MODULES/mod_authz_core.so
LoadModule alias_module $APACHE_MODULES/mod_alias.so
LoadModule mime_module $APACHE_MODULES/mod_mime.so
LoadModule cgid_module $APACHE_MODULES/mod_cgid.so
ScriptSock $ap/run/cgisock
StartServers 2
ThreadsPerChild 25
MaxRequestWorkers 150
KeepAlive On
TypesConfig /etc/mime.types
ErrorLog $ap/logs/error.log
LogLevel warn
LogFormat "%h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"" combined
CustomLog $ap/logs/access.log combined
ScriptAlias /cgi-bin/ $cgi/
<Directory $cgi>
    Options +ExecCGI
    Require all granted
</Directory>
EOF
} >"$ap/apache2.conf"
env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  "$APACHE_BIN" -d "$ap" -f "$ap/apache2.conf" -DFOREGROUND >"$tmp/apache.out" 2>&1 &
ap_pid=$!
pids+=("$ap_pid")
ap_base="http://127.0.0.1:$ap_port"
wait_http "$ap_base/cgi-bin/hola.py" 20 || { cat "$tmp/apache.out" "$ap/logs/error.log" >&2; die "Apache+mod_cgid no responde"; }

for s in hola.py grande.py; do
  a=$(curl -s "$lab_base/cgi-bin/$s")
  b=$(curl -s "$ap_base/cgi-bin/$s")
  [ "$a" = "$b" ] || die "cuerpos distintos en $s: lab «$a», apache «$b»"
done

# ---- load ---------------------------------------------------------------------------------
# CPU ticks of the front server (the scripts, which exit, are not counted): the lab process
# itself (its forks of each script included), or Apache's processes (workers and the cgid
# daemon that forks the scripts).
front_ticks() {
  case $1 in
    lab) awk '{ line = $0; sub(/^.*\) /, "", line); split(line, f, " "); print f[12] + f[13] }' "/proc/$lab_pid/stat" ;;
    apache) cpu_ticks "$ap_pid" ;;
  esac
}

# wrk against URL; prints "requests/s mean-latency requests".
run_wrk() {
  local url=$1 out
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" --timeout 30s "$url" >/dev/null
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 30s --latency "$url")
  echo "$out" >>"$tmp/wrk.log"
  if echo "$out" | grep -q 'Non-2xx'; then
    echo "$out" >&2
    die "respuestas no 2xx en $url"
  fi
  local rps avg n
  rps=$(echo "$out" | awk '/^Requests\/sec:/ {print $2}')
  avg=$(echo "$out" | awk '$1 == "Latency" {print $2; exit}')
  n=$(echo "$out" | awk '/ requests in / {print $1}')
  echo "$rps ${avg:-?} ${n:-0}"
}

# run_wrk for server $1 (lab or apache) and URL $2, adding its front CPU ticks and requests
# to front_cpu_$1 / front_req_$1.
front_cpu_lab=0 front_req_lab=0 front_cpu_apache=0 front_req_apache=0
measured() {
  local who=$1 url=$2 t0 t1 rps avg n
  t0=$(front_ticks "$who")
  read -r rps avg n < <(run_wrk "$url")
  t1=$(front_ticks "$who")
  eval "front_cpu_$who=\$(( front_cpu_$who + t1 - t0 ))"
  eval "front_req_$who=\$(( front_req_$who + n ))"
  echo "$rps $avg"
}

echo "== wrk -t$THREADS -c$CONNECTIONS -d$DURATION (calentamiento $WARMUP); grande.py: $lines líneas"
# The small script twice, in both orders, so that load from other processes on the machine
# falls on both alike; the table shows the mean.
# (Not in a subshell: `measured` adds to the CPU totals of this shell.)
measured apache "$ap_base/cgi-bin/hola.py" >"$tmp/m" && read -r ah1 ah_avg <"$tmp/m"
measured lab "$lab_base/cgi-bin/hola.py" >"$tmp/m" && read -r lh1 lh_avg <"$tmp/m"
measured lab "$lab_base/cgi-bin/hola.py" >"$tmp/m" && read -r lh2 _ <"$tmp/m"
measured apache "$ap_base/cgi-bin/hola.py" >"$tmp/m" && read -r ah2 _ <"$tmp/m"
ah_rps=$(awk -v a="$ah1" -v b="$ah2" 'BEGIN { printf "%.2f", (a + b) / 2 }')
lh_rps=$(awk -v a="$lh1" -v b="$lh2" 'BEGIN { printf "%.2f", (a + b) / 2 }')
read -r ag_rps ag_avg _ < <(run_wrk "$ap_base/cgi-bin/grande.py")
read -r lg_rps lg_avg _ < <(run_wrk "$lab_base/cgi-bin/grande.py")

echo "ScriptCache On" >"$tmp/lab/etc/apache2/conf-enabled/zz-cache.conf"
"$lab" --workspace "$tmp/lab" reload >/dev/null
curl -s "$lab_base/cgi-bin/grande.py" >/dev/null
read -r lhc_rps lhc_avg _ < <(run_wrk "$lab_base/cgi-bin/hola.py")
read -r lgc_rps lgc_avg _ < <(run_wrk "$lab_base/cgi-bin/grande.py")
"$lab" --workspace "$tmp/lab" cache status | head -2 >>"$tmp/wrk.log"

read -r apcu_us mc_us < <(curl -s "$lab_base/apcu?$APCU_OPS")
[ -n "${mc_us:-}" ] || { cat "$tmp/lab/var/log/apache2/error.log" >&2; die "la app de apcu falló"; }

printf '\n%-10s %-40s %12s %12s\n' script servidor 'req/s' 'lat. media'
printf '%-10s %-40s %12s %12s\n' hola.py "apache2 + mod_cgid" "$ah_rps" "$ah_avg"
printf '%-10s %-40s %12s %12s\n' hola.py "lab (sin caché de scripts)" "$lh_rps" "$lh_avg"
printf '%-10s %-40s %12s %12s\n' hola.py "lab (con caché de scripts)" "$lhc_rps" "$lhc_avg"
printf '%-10s %-40s %12s %12s\n' grande.py "apache2 + mod_cgid" "$ag_rps" "$ag_avg"
printf '%-10s %-40s %12s %12s\n' grande.py "lab sin caché (frío: compila siempre)" "$lg_rps" "$lg_avg"
printf '%-10s %-40s %12s %12s\n' grande.py "lab con caché (caliente)" "$lgc_rps" "$lgc_avg"
printf '\n%-40s %12s\n' "hola.py: CPU del servidor (sin scripts)" 'µs/pet.'
printf '%-40s %12s\n' "apache2 + mod_cgid (procesos y cgid)" "$(cpu_us_per_request "$front_cpu_apache" "$front_req_apache")"
printf '%-40s %12s\n' "lab (su proceso: fork de cada script)" "$(cpu_us_per_request "$front_cpu_lab" "$front_req_lab")"
printf '\n%-40s %12s\n' "operación (desde la misma app WSGI)" 'µs/op'
printf '%-40s %12s\n' "apcu.fetch" "$apcu_us"
printf '%-40s %12s\n' "pymemcache get (memcached 1.6)" "$mc_us"
awk -v lh="$lh_rps" -v ah="$ah_rps" -v lg="$lg_rps" -v lgc="$lgc_rps" -v ag="$ag_rps" \
    -v apcu="$apcu_us" -v mc="$mc_us" 'BEGIN {
  printf "ratio hola lab/mod_cgid: %.2f\n", lh / ah
  printf "ratio grande lab caché caliente/frío: %.2f\n", lgc / lg
  printf "ratio grande lab con caché/mod_cgid: %.2f\n", lgc / ag
  printf "ratio apcu.fetch/memcached (veces más rápido): %.1f\n", mc / apcu
}'
