#!/bin/bash
# Runs memcached's own test suite (the t/*.t files of its source tree) against the lab's
# memcached role, one fresh `lab start` per file, through T_MEMD_USE_DAEMON.
#
#   tests/conformance/memcached/run-upstream-suite.sh MEMCACHED_SOURCE_DIR [LAB_BINARY] [TEST...]
#
# MEMCACHED_SOURCE_DIR: memcached 1.6.18's source (for example its git tag 1.6.18). Without
# TEST arguments, runs the files that test what the lab implements (text and meta protocol,
# stats); see README.md next to this script for the results and the failures that come from
# daemon mode (options the suite passes to a server it would start itself).
set -u
src=${1:?usage: $0 MEMCACHED_SOURCE_DIR [LAB_BINARY] [TEST...]}
shift
lab=${1:-target/debug/lab}
[ $# -gt 0 ] && shift
lab=$(realpath "$lab")
tests=("$@")
if [ ${#tests[@]} -eq 0 ]; then
  tests=(bogus-commands cas expirations flags flush-all getandtouch getset incrdecr
         issue_104 issue_108 issue_14 issue_140 issue_152 issue_163 issue_183 issue_192
         issue_22 issue_260 issue_29 issue_3 issue_41 issue_42 issue_61 issue_68
         line-lengths malicious-commands metaget noreply quit stats strtol-testing touch
         whitespace)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$src" || exit 2
# The suite asks `memcached-debug -h` which optional features exist; the lab has none of them
# (no TLS, SASL, extstore, proxy or unix sockets), so those tests skip themselves.
printf '#!/bin/sh\necho "memcached 1.6.18"\n' > memcached-debug
chmod +x memcached-debug
failed=0
for t in "${tests[@]}"; do
  ws=$work/$t
  "$lab" init "$ws" > /dev/null || exit 2
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  (cd "$ws" && "$lab" service apache2 disable > /dev/null && "$lab" service memcached enable > /dev/null)
  sed -i "s/^-p 11211/-p $port/" "$ws/etc/memcached.conf"
  sed -i 's/^console_port.*/console_port = 0/' "$ws/lab.toml"
  "$lab" start --workspace "$ws" > "$work/$t.start.log" 2>&1 &
  pid=$!
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done
  T_MEMD_USE_DAEMON=127.0.0.1:$port timeout 120 perl "t/$t.t" > "$work/$t.out" 2>&1
  rc=$?
  printf '%-22s %5d ok %3d not ok%s\n' "$t" "$(grep -c '^ok' "$work/$t.out")" \
    "$(grep -c '^not ok' "$work/$t.out")" "$([ $rc -ne 0 ] && echo "  (salida $rc)")"
  grep -E '^#   Failed test' "$work/$t.out" | sed 's/^/      /'
  [ $rc -ne 0 ] && failed=$((failed + 1))
  kill $pid 2> /dev/null
  wait $pid 2> /dev/null
done
rm -f memcached-debug
exit $((failed > 0))
