#!/usr/bin/env bash
# Builds the lab with profile-guided optimization (PGO). An instrumented build serves a short
# training run in a scratch workspace: static files, WSGI in daemon and embedded mode, CGI, a
# request body, the php8.2-fpm pool when PHP is installed, and the memcached and varnish roles.
# The release build then reads the recorded profile, so the code those requests run through is
# laid out together and inlined where it pays (the profile shapes speed only: behaviour is the
# same source).
#
#   scripts/build-pgo.sh             # builds target/pgo/use/release/lab
#   scripts/build-pgo.sh --install   # and copies it to Cargo's bin directory, as `cargo install`
#
# It needs llvm-profdata of the compiler's own LLVM: the rustup component llvm-tools, added
# here when rustup is present. Without it, it builds a plain release binary and says so.
# Every build uses --locked (the versions of Cargo.lock).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
# free_port and lab_varnish_front, as the benchmarks set up their workspaces (their `die` is
# replaced by this script's own below).
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"
install=0
[ "${1:-}" = "--install" ] && install=1

out="$repo/target/pgo"
final="$out/use/release/lab"
say() { printf '== %s\n' "$*"; }
die() { printf 'build-pgo: %s\n' "$*" >&2; exit 1; }

finish() {
  if [ "$install" = 1 ]; then
    local bin_dir="${CARGO_HOME:-$HOME/.cargo}/bin"
    mkdir -p "$bin_dir"
    install -m 755 "$1" "$bin_dir/lab"
    say "instalado en $bin_dir/lab"
  else
    say "binario: $1"
  fi
}

# The optimized build. The compiler reads the profile as an input of every crate: a new one
# rebuilds them all, the same one rebuilds nothing.
build_with_profile() {
  say "compilación con el perfil (2 de 2)"
  RUSTFLAGS="-Cprofile-use=$out/lab.profdata" \
    cargo build --release --locked --bin lab --target-dir "$out/use"
  finish "$final"
}

# LAB_PGO_GEN=BIN runs the training with an instrumented binary built before and merges its
# profile; with LAB_PGO_TRAIN_ONLY=1 too, BIN may be any build of the lab and only the training
# runs (the test suite does this, so a change that breaks the training is seen there).
train_only=0
[ -n "${LAB_PGO_GEN:-}" ] && [ "${LAB_PGO_TRAIN_ONLY:-0}" = 1 ] && train_only=1
profdata=""
if [ "$train_only" = 0 ]; then
  sysroot=$(rustc --print sysroot)
  host=$(rustc -vV | awk '/^host:/ {print $2}')
  profdata="$sysroot/lib/rustlib/$host/bin/llvm-profdata"
  if [ ! -x "$profdata" ] && command -v rustup >/dev/null; then
    rustup component add llvm-tools >/dev/null 2>&1 || true
  fi
fi
if [ "$train_only" = 0 ] && [ ! -x "$profdata" ]; then
  say "aviso: no hay llvm-profdata (componente llvm-tools de rustup): compilación release sin PGO"
  cargo build --release --locked --bin lab --target-dir "$out/use"
  finish "$final"
  exit 0
fi

# ---- instrumented build ------------------------------------------------------------------
data="$out/data"
gen="$out/gen/release/lab"
if [ -n "${LAB_PGO_GEN:-}" ]; then
  # An instrumented binary already built (to try the training alone).
  gen=$LAB_PGO_GEN
else
  say "compilación instrumentada (1 de 2)"
  RUSTFLAGS="-Cprofile-generate=$data" \
    cargo build --release --locked --bin lab --target-dir "$out/gen"
fi
# A profile newer than the instrumented binary was recorded with this same code: the training
# would give the same, and a new file would rebuild every crate (the benchmarks call this script
# on each run).
if [ -z "${LAB_PGO_GEN:-}" ] && [ "$out/lab.profdata" -nt "$gen" ]; then
  say "el perfil de la compilación instrumentada ya está hecho: no se repite el entrenamiento"
  build_with_profile
  exit 0
fi

# ---- training ----------------------------------------------------------------------------
say "entrenamiento"
tmp=$(mktemp -d /tmp/lab-pgo.XXXXXX)
chmod 755 "$tmp"
# Build scripts and proc-macros are instrumented too, and wrote their own profiles while
# compiling: only the training's are kept, each process in a file of its own (a training
# alone keeps whatever it writes in the scratch directory).
[ "$train_only" = 0 ] || data="$tmp/data"
rm -rf "$data"
mkdir -p "$data"
export LLVM_PROFILE_FILE="$data/lab-%p-%m.profraw"
lab_pid=""
cleanup() {
  if [ -n "$lab_pid" ]; then
    kill -TERM "$lab_pid" 2>/dev/null || true
    wait "$lab_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

ws="$tmp/ws"
app="$tmp/app"
mkdir -p "$app"
cat >"$app/hello.wsgi" <<'EOF'
def application(environ, start_response):
    body = b"hola, mundo\n"
    if environ["REQUEST_METHOD"] == "POST":
        body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
EOF
cat >"$app/stream.wsgi" <<'EOF'
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    for i in range(3):
        yield b"trozo %d\n" % i
EOF
chmod -R a+rX "$app"

apache_port=$(free_port)
varnish_port=$(free_port)
mc_port=$(free_port)
"$gen" init "$ws" >/dev/null
sed -i \
  -e 's/^console_port = .*/console_port = 0/' \
  -e 's/^varnish = .*/varnish = true/' \
  -e 's/^memcached = .*/memcached = true/' \
  "$ws/lab.toml"
lab_varnish_front "$ws" "$apache_port" "$varnish_port" malloc,64m
sed -i -e "s/^-p .*/-p $mc_port/" -e 's/^-d$//' "$ws/etc/memcached.conf"
for m in wsgi cgid; do
  "$gen" --workspace "$ws" a2enmod "$m" >/dev/null
done
cat >"$ws/etc/apache2/conf-available/train.conf" <<EOF
WSGIDaemonProcess train processes=2 threads=4
WSGIScriptAlias /hola $app/hello.wsgi process-group=train application-group=%{GLOBAL}
WSGIScriptAlias /trozos $app/stream.wsgi process-group=train application-group=%{GLOBAL}
WSGIScriptAlias /emb $app/hello.wsgi process-group=%{GLOBAL} application-group=%{GLOBAL}
<Directory $app>
    Require all granted
</Directory>
EOF
"$gen" --workspace "$ws" a2enconf train >/dev/null
printf '#!/usr/bin/python3\nprint("Content-Type: text/plain")\nprint()\nprint("hola desde CGI")\n' \
  >"$ws/usr/lib/cgi-bin/hola.py"
chmod 755 "$ws/usr/lib/cgi-bin/hola.py"
head -c 1024 /dev/zero | tr '\0' 'a' >"$ws/var/www/html/kib.txt"
php=0
if command -v php-fpm8.2 >/dev/null; then
  php=1
  "$gen" --workspace "$ws" service php8.2-fpm enable >/dev/null
  "$gen" --workspace "$ws" a2enmod proxy_fcgi setenvif >/dev/null
  "$gen" --workspace "$ws" a2enconf php8.2-fpm >/dev/null
  printf '<?php\necho "hola desde PHP\\n";\n' >"$ws/var/www/html/hola.php"
fi
"$gen" --workspace "$ws" configtest >/dev/null || die "la configuración de entrenamiento no es válida"

"$gen" start --workspace "$ws" >"$tmp/lab.out" 2>&1 &
lab_pid=$!
base="http://127.0.0.1:$apache_port"
up=0
for _ in $(seq 1 300); do
  if curl -sf -o /dev/null "$base/hola" && curl -sf -o /dev/null "http://127.0.0.1:$varnish_port/"; then
    up=1
    break
  fi
  kill -0 "$lab_pid" 2>/dev/null || break
  sleep 0.2
done
[ "$up" = 1 ] || { cat "$tmp/lab.out" >&2; die "el laboratorio instrumentado no arrancó"; }

load() {
  # The load's own counts are left out of the profile (they would set what is hot).
  LLVM_PROFILE_FILE="$tmp/client-%p.profraw" \
    "$gen" --workspace "$ws" bench "$@" --no-guardar >"$tmp/bench.out" || { cat "$tmp/bench.out" >&2; die "lab bench $1 falló"; }
  [ -z "${LAB_PGO_VERBOSE:-}" ] || grep -E "^Peticiones (completas|fallidas)" "$tmp/bench.out"
  # A profile of error pages would make the wrong code fast.
  grep -Eq "^Peticiones fallidas: +0$" "$tmp/bench.out" || {
    cat "$tmp/bench.out" >&2
    die "lab bench $1: hubo peticiones fallidas"
  }
}
load "$base/hola" -c 16 -d 3
load "$base/emb" -c 16 -d 2
load "$base/trozos" -c 8 -d 1
load "$base/kib.txt" -c 16 -d 2
load "$base/" -c 8 -d 1
load "$base/no-existe" -c 4 -n 2000
load "$base/kib.txt" -c 4 -n 2000 -H 'If-Modified-Since: Sun, 01 Jan 2090 00:00:00 GMT'
load "$base/cgi-bin/hola.py" -c 2 -n 200
load "http://127.0.0.1:$varnish_port/kib.txt" -c 16 -d 2
load "http://127.0.0.1:$varnish_port/hola" -c 8 -d 1
if [ "$php" = 1 ]; then
  load "$base/hola.php" -c 16 -d 2
fi
# Requests with a body and HEAD requests, a few hundred per connection.
urls=()
for _ in $(seq 1 300); do urls+=("$base/hola"); done
curl -sf -d 'a=1&b=2' "${urls[@]}" >/dev/null
curl -sf -I "${urls[@]}" >/dev/null
python3 - "$mc_port" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
f = s.makefile("rb")
for i in range(20000):
    key = b"clave%d" % (i % 500)
    s.sendall(b"set " + key + b" 0 0 5\r\nvalor\r\nget " + key + b"\r\n")
    got = [f.readline() for _ in range(4)]
    if got != [b"STORED\r\n", b"VALUE " + key + b" 0 5\r\n", b"valor\r\n", b"END\r\n"]:
        sys.exit("memcached del laboratorio: respuesta inesperada %r" % got)
s.sendall(b"quit\r\n")
EOF

kill -TERM "$lab_pid"
wait "$lab_pid" 2>/dev/null || true
lab_pid=""
# The daemon workers end after the lab, each writing its profile as it exits.
for _ in $(seq 1 100); do
  pgrep -f "$ws" >/dev/null || break
  sleep 0.1
done
if [ "$train_only" = 1 ]; then
  say "entrenamiento completo"
  exit 0
fi
ls "$data"/*.profraw >/dev/null 2>&1 || die "el entrenamiento no dejó ningún perfil en $data"
if ! "$profdata" merge -o "$out/lab.profdata" "$data"/*.profraw 2>"$tmp/merge.err"; then
  # A process cut short while writing leaves a broken file: the others still make a profile.
  cat "$tmp/merge.err" >&2
  say "aviso: algún perfil del entrenamiento estaba incompleto; se usan los demás"
  "$profdata" merge --failure-mode=all -o "$out/lab.profdata" "$data"/*.profraw
fi
[ -z "${LAB_PGO_GEN:-}" ] || { say "perfil: $out/lab.profdata"; exit 0; }

build_with_profile
