#!/usr/bin/env bash
# FastCGI benchmark: hello.php through the lab (Debian's php8.2-fpm.conf: SetHandler to the
# php8.2-fpm service over its unix socket), nginx (fastcgi_pass to an upstream with
# keepalive and fastcgi_keep_conn) and Apache 2.4 (mod_proxy_fcgi, the same SetHandler,
# mpm_event). Each has its own php-fpm 8.2 master with the same pool: pm = static,
# 4 children, unix socket. Same load for all: wrk, 32 connections, loopback only.
# All three write an access log line per request in Apache's combined format (the lab's
# Debian 000-default.conf does, so the others do too), and the script checks that OPcache
# is in the same state in the three php-fpm pools before measuring.
# nginx runs one worker, so its kept connections (keepalive = children) never outnumber the
# php-fpm children: a kept idle connection holds a child, and more of them than children
# would leave new connections waiting in php-fpm's queue.
#
#   bench/fastcgi.sh                      # 2 rounds of 10 s per server, after a warm-up
#   DURATION=20s ROUNDS=3 CONNECTIONS=64 bench/fastcgi.sh
#   LAB_BIN=path/to/lab bench/fastcgi.sh          # measure that build, without compiling
#   LAB_BEFORE=path/to/other/lab bench/fastcgi.sh # and another one (before a change) in the same run
#
# Rounds rotate which server goes first, so that other load on the machine falls on all
# alike; the table shows the mean of the rounds and the ratios of the lab to the others.
#
# Needs: cargo, wrk, php8.2-fpm, nginx-light, apache2 (apt-get install -y wrk php8.2-fpm
# nginx-light apache2).
set -euo pipefail

DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-2}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
CHILDREN=${CHILDREN:-4}
FPM_BIN=${FPM_BIN:-/usr/sbin/php-fpm8.2}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
APACHE_BIN=${APACHE_BIN:-/usr/sbin/apache2}

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"

command -v cargo >/dev/null || die "falta cargo"
command -v wrk >/dev/null || die "falta wrk (apt-get install -y wrk)"
[ -x "$FPM_BIN" ] || die "falta $FPM_BIN (apt-get install -y php8.2-fpm)"
[ -x "$NGINX_BIN" ] || die "falta $NGINX_BIN (apt-get install -y nginx-light)"
[ -x "$APACHE_BIN" ] || die "falta $APACHE_BIN (apt-get install -y apache2)"

tmp=$(mktemp -d /tmp/lab-bench-fcgi.XXXXXX)
chmod 755 "$tmp"
pids=()
apache_started=
cleanup() {
  if [ -n "$apache_started" ]; then
    "$APACHE_BIN" -d /etc/apache2 -f "$tmp/apache/apache2.conf" -k stop 2>/dev/null || true
  fi
  for p in "${pids[@]}"; do
    kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

root_opts=()
[ "$(id -u)" = 0 ] && root_opts=(--allow-to-run-as-root)
run_user=$(id -un)
run_group=$(id -gn)

# A php-fpm master of its own for a reference server: pool www, pm static, $CHILDREN.
start_fpm() {
  local name=$1 dir="$tmp/$1"
  mkdir -p "$dir"
  cat > "$dir/php-fpm.conf" <<CONF
[global]
pid = $dir/php-fpm.pid
error_log = $dir/php-fpm.log
daemonize = no
[www]
listen = $dir/php-fpm.sock
listen.mode = 0666
pm = static
pm.max_children = $CHILDREN
CONF
  "$FPM_BIN" "${root_opts[@]}" --nodaemonize --fpm-config "$dir/php-fpm.conf" \
    -c /etc/php/8.2/fpm/php.ini > "$dir/php-fpm.out" 2>&1 &
  fpm_pid=$!
  pids+=("$fpm_pid")
  for _ in $(seq 1 100); do [ -S "$dir/php-fpm.sock" ] && return 0; sleep 0.1; done
  die "php-fpm de $name no abrió su socket"
}

mkdir -p "$tmp/www"
printf '<?php\necho "Hola desde PHP\\n";\n' > "$tmp/www/hello.php"
printf '<?php\necho json_encode(opcache_get_status(false)["opcache_enabled"] ?? false);\n' > "$tmp/www/opcache.php"
chmod -R a+rX "$tmp/www"

lab_binary

nginx_port=$(free_port)
apache_port=$(free_port)

# A lab (binary $2) in workspace $tmp/$1: Debian's layout, php8.2-fpm service with the same
# static pool. Sets lab_port and lab_pid.
start_lab() {
  local name=$1 bin=$2 ws="$tmp/$1"
  lab_port=$(free_port)
  "$bin" init "$ws" >/dev/null
  "$bin" --workspace "$ws" service php8.2-fpm enable >/dev/null
  "$bin" --workspace "$ws" a2enmod proxy_fcgi setenvif >/dev/null
  "$bin" --workspace "$ws" a2enconf php8.2-fpm >/dev/null
  sed -i "s/^Listen 80$/Listen $lab_port/" "$ws/etc/apache2/ports.conf"
  sed -i "s/<VirtualHost \*:80>/<VirtualHost *:$lab_port>/" "$ws/etc/apache2/sites-available/000-default.conf"
  sed -i 's/^console_port = .*/console_port = 0/' "$ws/lab.toml"
  sed -i -e 's/^pm = dynamic/pm = static/' -e "s/^pm.max_children = .*/pm.max_children = $CHILDREN/" \
    "$ws/etc/php/8.2/fpm/pool.d/www.conf"
  cp "$tmp/www/hello.php" "$tmp/www/opcache.php" "$ws/var/www/html/"
  "$bin" --workspace "$ws" configtest >/dev/null || die "configuración del laboratorio ($name) no válida"
  "$bin" start --workspace "$ws" > "$tmp/$name.log" 2>&1 &
  lab_pid=$!
  pids+=("$lab_pid")
  wait_http "http://127.0.0.1:$lab_port/hello.php" 20 || { cat "$tmp/$name.log"; die "el laboratorio ($name) no sirve hello.php"; }
}

start_lab lab "$lab"
lab_url="http://127.0.0.1:$lab_port/hello.php"
lab_main=$lab_pid
# LAB_BEFORE: another build of the lab (say, the one before a change) measured in the same run.
if [ -n "${LAB_BEFORE:-}" ]; then
  start_lab lab-antes "$LAB_BEFORE"
  before_url="http://127.0.0.1:$lab_port/hello.php"
  before_main=$lab_pid
fi

# nginx with keepalive connections to its php-fpm.
start_fpm nginx
nginx_fpm=$fpm_pid
mkdir -p "$tmp/nginx"
cat > "$tmp/nginx/nginx.conf" <<CONF
worker_processes 1;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log;
$( [ "$(id -u)" = 0 ] && echo "user $run_user $run_group;" )
events { worker_connections 1024; }
http {
  log_format combined_apache '\$remote_addr - \$remote_user [\$time_local] "\$request" \$status \$body_bytes_sent "\$http_referer" "\$http_user_agent"';
  access_log $tmp/nginx/access.log combined_apache;
  client_body_temp_path $tmp/nginx/body;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  proxy_temp_path $tmp/nginx/proxy;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  upstream php { server unix:$tmp/nginx/php-fpm.sock; keepalive $CHILDREN; }
  server {
    listen 127.0.0.1:$nginx_port;
    root $tmp/www;
    location ~ \.php\$ {
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
      fastcgi_keep_conn on;
      fastcgi_pass php;
    }
  }
}
CONF
"$NGINX_BIN" -c "$tmp/nginx/nginx.conf" -g 'daemon off;' 2>"$tmp/nginx/stderr" &
nginx_main=$!
pids+=("$nginx_main")
wait_http "http://127.0.0.1:$nginx_port/hello.php" 10 || { cat "$tmp/nginx/stderr" "$tmp/nginx/error.log"; die "nginx no sirve hello.php"; }

# Apache with mod_proxy_fcgi (mpm_event, Debian's modules).
start_fpm apache
apache_fpm=$fpm_pid
cat > "$tmp/apache/apache2.conf" <<CONF
ServerRoot /etc/apache2
DefaultRuntimeDir $tmp/apache
PidFile $tmp/apache/apache2.pid
ErrorLog $tmp/apache/error.log
ServerName localhost
Include mods-available/mpm_event.load
Include mods-available/mpm_event.conf
Include mods-available/authz_core.load
Include mods-available/mime.load
Include mods-available/dir.load
Include mods-available/proxy.load
Include mods-available/proxy_fcgi.load
Include mods-available/setenvif.load
TypesConfig /etc/mime.types
LogFormat "%h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"" combined
CustomLog $tmp/apache/access.log combined
Listen 127.0.0.1:$apache_port
DocumentRoot $tmp/www
<Directory $tmp/www>
  Require all granted
</Directory>
SetEnvIfNoCase ^Authorization\$ "(.+)" HTTP_AUTHORIZATION=\$1
<FilesMatch ".+\.php\$">
  SetHandler "proxy:unix:$tmp/apache/php-fpm.sock|fcgi://localhost"
</FilesMatch>
CONF
APACHE_RUN_USER=$run_user APACHE_RUN_GROUP=$run_group APACHE_RUN_DIR=$tmp/apache \
  APACHE_LOCK_DIR=$tmp/apache APACHE_LOG_DIR=$tmp/apache APACHE_PID_FILE=$tmp/apache/apache2.pid \
  "$APACHE_BIN" -d /etc/apache2 -f "$tmp/apache/apache2.conf" -k start
apache_started=1
wait_http "http://127.0.0.1:$apache_port/hello.php" 10 || { cat "$tmp/apache/error.log"; die "Apache no sirve hello.php"; }
apache_main=$(cat "$tmp/apache/apache2.pid")

names=(lab nginx apache)
urls=("$lab_url" "http://127.0.0.1:$nginx_port/hello.php" "http://127.0.0.1:$apache_port/hello.php")
if [ -n "${LAB_BEFORE:-}" ]; then
  names+=(lab-antes)
  urls+=("$before_url")
fi
n=${#names[@]}

for url in "${urls[@]}"; do
  body=$(curl -s "$url")
  [ "$body" = "Hola desde PHP" ] || die "$url respondió «$body»"
done

# The same OPcache state in every pool (Debian's conf.d loads it in each).
opcache_states=""
for url in "${urls[@]}"; do
  opcache_states="$opcache_states $(curl -s "${url%hello.php}opcache.php")"
done
case "$opcache_states" in
  *true*false* | *false*true*) die "OPcache no está igual en todos los pools:$opcache_states" ;;
  *) echo "OPcache en los pools:$opcache_states" ;;
esac

# CPU ticks of server $1's front end and of its php-fpm, as "front fpm". The lab runs its
# php-fpm as a child: the lab process itself (all its threads) is the front end, its
# descendants the pool. nginx and Apache: the server's process tree, and its own php-fpm.
own_ticks() {
  awk '{ line = $0; sub(/^.*\) /, "", line); split(line, f, " "); print f[12] + f[13] }' "/proc/$1/stat" 2>/dev/null || echo 0
}
server_ticks() {
  local front total
  case $1 in
    lab | lab-antes)
      local p=$lab_main
      [ "$1" = lab-antes ] && p=$before_main
      front=$(own_ticks "$p")
      total=$(cpu_ticks "$p")
      echo "$front $((total - front))"
      ;;
    nginx) echo "$(cpu_ticks "$nginx_main") $(cpu_ticks "$nginx_fpm")" ;;
    apache) echo "$(cpu_ticks "$apache_main") $(cpu_ticks "$apache_fpm")" ;;
  esac
}

# wrk against URL for DURATION; prints "requests/s requests" (integers). Non-2xx answers fail the run.
load() {
  local url=$1 duration=$2 out
  out=$(wrk -t "$THREADS" -c "$CONNECTIONS" -d "$duration" "$url" 2>&1)
  if echo "$out" | grep -q "Non-2xx"; then
    echo "$out" >&2
    die "$url dio respuestas que no son 2xx"
  fi
  echo "$out" | awk '/^Requests\/sec:/ { rps = $2 } / requests in / { n = $1 } END { printf "%d %d\n", rps, n }'
}

sums=()
fronts=()
fpms=()
counts=()
for ((i = 0; i < n; i++)); do sums[i]=0; fronts[i]=0; fpms[i]=0; counts[i]=0; done

echo "Calentando ($WARMUP cada uno)…"
for u in "${urls[@]}"; do load "$u" "$WARMUP" >/dev/null; done

echo "Midiendo $ROUNDS rondas de $DURATION: wrk -t $THREADS -c $CONNECTIONS, php-fpm pm static $CHILDREN hijos cada uno"
for round in $(seq 1 "$ROUNDS"); do
  line="  ronda $round:"
  for ((k = 0; k < n; k++)); do
    i=$(( (k + round - 1) % n ))
    read -r f0 p0 < <(server_ticks "${names[$i]}")
    read -r r c < <(load "${urls[$i]}" "$DURATION")
    read -r f1 p1 < <(server_ticks "${names[$i]}")
    [ -n "$r" ] && [ "$r" -gt 0 ] || die "wrk no dio resultados para ${names[$i]}"
    sums[i]=$(( sums[i] + r ))
    counts[i]=$(( counts[i] + c ))
    fronts[i]=$(( fronts[i] + f1 - f0 ))
    fpms[i]=$(( fpms[i] + p1 - p0 ))
    line="$line ${names[$i]} $r req/s,"
  done
  echo "${line%,}"
done

label() {
  case $1 in
    lab) echo "lab (SetHandler proxy:unix, php8.2-fpm)" ;;
    lab-antes) echo "lab antes (LAB_BEFORE)" ;;
    nginx) echo "nginx $("$NGINX_BIN" -v 2>&1 | sed 's/.*nginx\///') (fastcgi keepalive)" ;;
    apache) echo "Apache $("$APACHE_BIN" -v | awk -F/ '/version/ {print $2}' | awk '{print $1}') (mod_proxy_fcgi)" ;;
  esac
}
printf '\n%-42s %10s %14s %14s\n' "servidor (hello.php, pm static $CHILDREN)" "req/s" "CPU µs/pet." "php-fpm µs/pet."
rps=()
for ((i = 0; i < n; i++)); do
  rps[i]=$(( sums[i] / ROUNDS ))
  printf '%-42s %10s %14s %14s\n' "$(label "${names[$i]}")" "${rps[i]}" \
    "$(cpu_us_per_request "${fronts[i]}" "${counts[i]}")" "$(cpu_us_per_request "${fpms[i]}" "${counts[i]}")"
done
awk -v l="${rps[0]}" -v n="${rps[1]}" -v a="${rps[2]}" \
  'BEGIN { printf "\nratio lab/nginx: %.2fx\nratio lab/apache: %.2fx\n", l / n, l / a }'
if [ "$n" = 4 ]; then
  awk -v l="${rps[0]}" -v b="${rps[3]}" 'BEGIN { printf "ratio lab/lab antes: %.2fx\n", l / b }'
fi
