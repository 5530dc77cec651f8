#!/usr/bin/env bash
# Reload under load: a reload every second for DURATION (30 s) while wrk keeps CONNECTIONS
# (64) keep-alive connections busy on each of a static file, an embedded WSGI application
# and a WSGI daemon group, and memcaslap keeps 64 connections on memcached, side by side:
#   - the lab, with `lab reload` (every other reload changes the daemon group's threads, so
#     its processes are replaced);
#   - Debian's Apache 2.4 + mod_wsgi with `apache2 -k graceful` (the same change), and
#     Debian's memcached (which has no reload: it is only loaded).
# Prints requests and failures (socket errors + non-2xx answers) per server and target; the
# lab must have 0 failures. A reload with an invalid configuration in the middle must be
# refused (exit 1) without a failed request.
#
#   bench/reload.sh                       # 30 s, 64 connections per target
#   DURATION=60 CONNECTIONS=32 bench/reload.sh
#   LAB_BIN=target/debug/lab bench/reload.sh   # without the release build
#
# Needs: cargo, wrk, curl, memcaslap (libmemcached-tools), memcached, apache2,
# libapache2-mod-wsgi-py3.
set -euo pipefail

DURATION=${DURATION:-30}
CONNECTIONS=${CONNECTIONS:-64}
APACHE_BIN=${APACHE_BIN:-/usr/sbin/apache2}
APACHE_MODULES=${APACHE_MODULES:-/usr/lib/apache2/modules}
MEMCACHED_BIN=${MEMCACHED_BIN:-/usr/bin/memcached}

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"

for tool in wrk curl cargo memcaslap; do
  command -v "$tool" >/dev/null || die "falta \`$tool\` (apt-get install -y wrk curl libmemcached-tools)"
done
[ -x "$APACHE_BIN" ] || die "falta $APACHE_BIN (apt-get install -y apache2)"
[ -f "$APACHE_MODULES/mod_wsgi.so" ] || die "falta mod_wsgi (apt-get install -y libapache2-mod-wsgi-py3)"

bench_scratch reload

lab_binary

app="$tmp/app"
mkdir -p "$app"
cat >"$app/app.wsgi" <<'PY'
def application(environ, start_response):
    body = ('wsgi %s\n' % environ.get('mod_wsgi.process_group', '')).encode()
    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', str(len(body)))])
    return [body]
PY
chmod -R a+rX "$app"

# Both servers get this site; $1 is the daemon group's threads (4 or 3).
site() {
  cat <<CONF
<VirtualHost *:80>
    ServerName emb.localhost
    WSGIScriptAlias / $app/app.wsgi
    <Directory $app>
        Require all granted
    </Directory>
</VirtualHost>
<VirtualHost *:80>
    ServerName dmn.localhost
    WSGIDaemonProcess dmn processes=2 threads=$1
    WSGIProcessGroup dmn
    WSGIScriptAlias / $app/app.wsgi
    <Directory $app>
        Require all granted
    </Directory>
</VirtualHost>
CONF
}

# ---- lab --------------------------------------------------------------------------------
lab_port=$(free_port)
lab_mc=$(free_port)
ws="$tmp/lab"
"$lab" init "$ws" >/dev/null
sed -i \
  -e "s/^privileged_port_offset = .*/privileged_port_offset = $((lab_port - 80))/" \
  -e 's/^map_privileged_ports = .*/map_privileged_ports = "always"/' \
  -e "s/^console_port = .*/console_port = $(free_port)/" \
  "$ws/lab.toml"
sed -i -e "s/^-p 11211/-p $lab_mc/" "$ws/etc/memcached.conf"
"$lab" --workspace "$ws" a2enmod wsgi >/dev/null
"$lab" --workspace "$ws" service memcached enable >/dev/null
echo 'estático' >"$ws/var/www/html/estatico.txt"
site 4 >"$ws/etc/apache2/sites-available/app.conf"
"$lab" --workspace "$ws" a2ensite app >/dev/null
"$lab" start --workspace "$ws" >"$tmp/lab.out" 2>&1 &
pids+=($!)
lab_base="http://127.0.0.1:$lab_port"
wait_http "$lab_base/estatico.txt" 30 || { cat "$tmp/lab.out" >&2; die "el lab no responde"; }
wait_port "$lab_mc" || die "el memcached del lab no responde"

# ---- Apache 2.4 + mod_wsgi, memcached ---------------------------------------------------
ap_port=$(free_port)
ap="$tmp/apache"
mkdir -p "$ap/htdocs"
cp "$ws/var/www/html/estatico.txt" "$ap/htdocs/"
chmod -R a+rX "$ap/htdocs"
write_apache_conf() {
  {
    apache_head "$ap" "$ap_port"
    cat <<CONF
LoadModule mpm_event_module $APACHE_MODULES/mod_mpm_event.so
LoadModule authz_core_module $APACHE_MODULES/mod_authz_core.so
LoadModule mime_module $APACHE_MODULES/mod_mime.so
LoadModule wsgi_module $APACHE_MODULES/mod_wsgi.so
MaxRequestWorkers 150
KeepAlive On
TypesConfig /etc/mime.types
ErrorLog $ap/logs/error.log
LogLevel warn
WSGISocketPrefix $ap/run/wsgi
DocumentRoot $ap/htdocs
<Directory $ap/htdocs>
    Require all granted
</Directory>
<VirtualHost *:$ap_port>
    ServerName localhost
    DocumentRoot $ap/htdocs
</VirtualHost>
CONF
    site "$1" | sed "s/\*:80/*:$ap_port/"
  } >"$ap/apache2.conf"
}
write_apache_conf 4
"$APACHE_BIN" -d "$ap" -f "$ap/apache2.conf" -DFOREGROUND >"$tmp/apache.out" 2>&1 &
pids+=($!)
ap_base="http://127.0.0.1:$ap_port"
wait_http "$ap_base/estatico.txt" 20 || { cat "$tmp/apache.out" "$ap/logs/error.log" >&2; die "Apache no responde"; }

ref_mc=$(free_port)
mc_user=()
[ "$(id -u)" = 0 ] && mc_user=(-u nobody)
"$MEMCACHED_BIN" "${mc_user[@]}" -l 127.0.0.1 -p "$ref_mc" -m 64 -t 2 -c 1024 >"$tmp/memcached.out" 2>&1 &
pids+=($!)
wait_port "$ref_mc" || die "memcached no responde"

# ---- load + reloads ---------------------------------------------------------------------
# One wrk per target (with its Host header) and one memcaslap, in the background.
loaders=()
load() {
  local name=$1 base=$2 mc=$3
  wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" "$base/estatico.txt" >"$tmp/$name-static.wrk" 2>&1 &
  loaders+=($!)
  wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -H 'Host: emb.localhost' "$base/" >"$tmp/$name-embedded.wrk" 2>&1 &
  loaders+=($!)
  wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -H 'Host: dmn.localhost' "$base/" >"$tmp/$name-daemon.wrk" 2>&1 &
  loaders+=($!)
  memcaslap -s "127.0.0.1:$mc" -T 1 -c "$CONNECTIONS" -t "${DURATION}s" >"$tmp/$name-memcached.slap" 2>&1 &
  loaders+=($!)
}

# wrk's socket errors plus non-2xx answers.
wrk_failures() {
  awk '/Socket errors/ { gsub(",", ""); s += $4 + $6 + $8 + $10 }
       /Non-2xx/ { s += $5 }
       END { print s + 0 }' "$1"
}
wrk_requests() {
  awk '/requests in/ { print $1 }' "$1"
}

echo "== ${DURATION} s: wrk -c$CONNECTIONS en estático, WSGI incrustado y WSGI demonio, memcaslap -c$CONNECTIONS; una recarga por segundo"
lab_reloads=0 lab_refused=0 ap_reloads=0
load lab "$lab_base" "$lab_mc"
load apache "$ap_base" "$ref_mc"
for i in $(seq 1 "$DURATION"); do
  sleep 1
  threads=$((i % 2 == 0 ? 3 : 4))
  if [ "$i" = $((DURATION / 2)) ]; then
    # An invalid configuration: refused, nothing changes.
    { site "$threads"; echo '<VirtualHost'; } >"$ws/etc/apache2/sites-available/app.conf"
    if "$lab" --workspace "$ws" reload >"$tmp/invalid.out" 2>&1; then
      cat "$tmp/invalid.out" >&2
      die "el lab aceptó una configuración no válida"
    fi
    lab_refused=$((lab_refused + 1))
    continue
  fi
  site "$threads" >"$ws/etc/apache2/sites-available/app.conf"
  "$lab" --workspace "$ws" reload >"$tmp/reload.out" 2>&1 || { cat "$tmp/reload.out" >&2; die "lab reload falló"; }
  lab_reloads=$((lab_reloads + 1))
  write_apache_conf "$threads"
  "$APACHE_BIN" -d "$ap" -f "$ap/apache2.conf" -k graceful >/dev/null 2>&1 || die "apache2 -k graceful falló"
  ap_reloads=$((ap_reloads + 1))
done
for p in "${loaders[@]}"; do
  wait "$p" || true
done

echo
echo "recargas: lab $lab_reloads (+$lab_refused rechazada por no válida), apache $ap_reloads (graceful)"
printf '%-18s %12s %10s %12s %10s\n' objetivo "lab pet." "lab fallos" "ref. pet." "ref. fallos"
lab_total_fail=0
for t in static embedded daemon; do
  lr=$(wrk_requests "$tmp/lab-$t.wrk")
  lf=$(wrk_failures "$tmp/lab-$t.wrk")
  ar=$(wrk_requests "$tmp/apache-$t.wrk")
  af=$(wrk_failures "$tmp/apache-$t.wrk")
  lab_total_fail=$((lab_total_fail + lf))
  printf '%-18s %12s %10s %12s %10s\n' "$t" "${lr:-?}" "$lf" "${ar:-?}" "$af"
done
# memcaslap's last "Run time" line: total operations; errors are printed as lines with
# "error"/"fail".
slap_ops() { awk '/^Run time/ { for (i = 1; i <= NF; i++) if ($i == "Ops:") print $(i + 1) }' "$1" | tail -1; }
slap_fail() { grep -ciE 'error|fail' "$1" || true; }
lm=$(slap_ops "$tmp/lab-memcached.slap")
lmf=$(slap_fail "$tmp/lab-memcached.slap")
rmo=$(slap_ops "$tmp/apache-memcached.slap")
rmf=$(slap_fail "$tmp/apache-memcached.slap")
lab_total_fail=$((lab_total_fail + lmf))
printf '%-18s %12s %10s %12s %10s\n' "memcached (ops)" "${lm:-?}" "$lmf" "${rmo:-?}" "$rmf"
if [ "$lab_total_fail" != 0 ]; then
  for t in static embedded daemon; do echo "-- $t"; cat "$tmp/lab-$t.wrk"; done >&2
  grep -hv " 200 " "$ws"/var/log/apache2/*access.log | tail -20 >&2
  tail -20 "$ws"/var/log/apache2/error.log >&2
  cat "$tmp/lab-memcached.slap" >&2
  die "el lab tuvo $lab_total_fail fallos durante las recargas"
fi
echo "lab: 0 fallos"
