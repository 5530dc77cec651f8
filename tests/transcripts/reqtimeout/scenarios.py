#!/usr/bin/env python3
"""Slow and oversized requests, timed, against a server that runs with

    RequestReadTimeout header=2-4,MinRate=100 body=2,MinRate=100
    LimitRequestBody 1000
    KeepAliveTimeout 5
    LogLevel info

and serves /hola.txt and the CGI script /cgi-bin/body.cgi (body.cgi next to this file).

Usage:
  scenarios.py record            starts Debian's apache2 on a free port with that
                                 configuration, runs every scenario, writes apache.json
  scenarios.py run PORT ACCESS_LOG ERROR_LOG CGI_LOG [SCENARIO...]
                                 runs the scenarios against a running server and prints
                                 the same JSON (tests/reqtimeout.rs compares it)

For each scenario: the status line of the answer ("" when none came), how long until the
server closed the connection, the access log line and the error log lines it wrote (times,
pids, ports and sizes taken out), and what the CGI script said it received.
"""

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
GET = b"GET /hola.txt HTTP/1.1\r\nHost: localhost\r\n"
PAD = b"X-Pad: " + b"a" * 40 + b"\r\n"  # 49 bytes: 0.49 s more at MinRate=100
POST = b"POST /cgi-bin/body.cgi HTTP/1.1\r\nHost: localhost\r\n"
CHUNK = b"190\r\n" + b"y" * 400 + b"\r\n"

# (name, [(seconds to wait before, bytes to send)...])
SCENARIOS = [
    # The request line never ends: no answer at all.
    ("partial-line", [(0, b"GET /hola.t")]),
    # Request line and a header, never the end of the head: 408 after 2 s plus the time
    # the bytes received bought (about 0.4 s).
    ("partial-head", [(0, GET + b"User-Agent: lento/1.0\r\nReferer: http://r/\r\n")]),
    # Header lines at ~490 B/s, more than MinRate: the time grows, but never past 4 s.
    ("drip-fast-forever", [(0, b"GET /hola.txt HTTP/1.1\r\n")] + [(0.1, PAD)] * 60),
    # The same rate, a head that ends after ~2.6 s: served (the 2 s grew with the data).
    ("drip-fast-ends", [(0, b"GET /hola.txt HTTP/1.1\r\n")] + [(0.1, PAD)] * 25
     + [(0.1, b"Host: localhost\r\nConnection: close\r\n\r\n")]),
    # Slower than MinRate: 408 soon after the 2 s.
    ("drip-slow", [(0, b"GET /hola.txt HTTP/1.1\r\n")] + [(1.5, b"X-Pad: a\r\n")] * 6),
    # A kept-alive connection that asks for nothing more is closed by KeepAliveTimeout.
    ("keepalive-idle", [(0, GET + b"\r\n")]),
    # ... and one whose second request line never ends: closed, not logged.
    ("keepalive-partial-line", [(0, GET + b"\r\n"), (0.5, b"GET /hola.t")]),
    # ... and one whose second head never ends: 408.
    ("keepalive-partial-head", [(0, GET + b"\r\n"), (0.5, GET)]),
    # A body that stops coming: 408 after the 2 s of body= (plus 0.1 s for its 10 bytes).
    ("body-stalls", [(0, POST + b"Content-Length: 100\r\n\r\n" + b"x" * 10)]),
    # A chunked body that goes over LimitRequestBody: 413 when the limit is crossed; the
    # script got the chunks before it and was ended.
    ("chunked-over-limit", [(0, POST + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + CHUNK)]
     + [(0.7, CHUNK)] * 4 + [(0.3, b"0\r\n\r\n")]),
    ("chunked-under-limit", [(0, POST + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                              + CHUNK * 2 + b"0\r\n\r\n")]),
]


def talk(port, steps, limit=15.0):
    s = socket.create_connection(("127.0.0.1", port))
    t0 = time.time()
    got = b""
    closed = False
    s.settimeout(0.02)

    def drain(until):
        nonlocal got, closed
        while not closed and time.time() < until:
            try:
                d = s.recv(65536)
                if not d:
                    closed = True
                    break
                got += d
            except socket.timeout:
                pass
            except OSError:
                closed = True

    for delay, data in steps:
        drain(time.time() + delay)
        if closed:
            break
        try:
            s.sendall(data)
        except OSError:
            closed = True
    drain(t0 + limit)
    secs = time.time() - t0
    s.close()
    first = got.split(b"\r\n")[0].decode(errors="replace")
    statuses = re.findall(rb"HTTP/1\.1 (\d{3})", got)
    return first, [int(x) for x in statuses], round(secs, 1) if closed else None


ACCESS = re.compile(r'^\S+ \S+ \S+ \[[^\]]*\] "([^"]*)" (\d+) (\S+) "([^"]*)" "([^"]*)"')
CODES = ("AH01382", "AH01270", "AH01591")


def access_lines(text):
    out = []
    for line in text.splitlines():
        m = ACCESS.match(line)
        if m:
            req, status, size, ref, ua = m.groups()
            # Sizes differ with the Server header and the page; only "nothing sent" counts.
            size = "0" if size in ("0", "-") else "N"
            out.append(f'"{req}" {status} {size} "{ref}" "{ua}"')
    return out


def error_lines(text):
    out = []
    for line in text.splitlines():
        if not any(c in line for c in CODES):
            continue
        m = re.match(r"^\[[^\]]*\] \[([^\]]*)\] (.*)$", line)
        if not m:
            continue
        rest = re.sub(r"\[pid [^\]]*\] ", "", m.group(2))
        rest = re.sub(r"\[client [^\]]*\] ", "", rest)
        out.append(f"[{m.group(1)}] {rest}")
    return out


def cgi_lines(text):
    """The script's notes, with its reads summed up (how the body is cut into reads
    differs from server to server)."""
    out, total = [], None
    for line in text.splitlines():
        if line.startswith("read total "):
            total = line
        else:
            if total and not line.startswith("eof"):
                out.append(total)
            total = None
            out.append(line)
    if total:
        out.append(total)
    return out


def tail(path, at):
    try:
        with open(path, "rb") as f:
            f.seek(at)
            return f.read().decode(errors="replace")
    except FileNotFoundError:
        return ""


def size(path):
    try:
        return os.path.getsize(path)
    except FileNotFoundError:
        return 0


def run(port, access, error, cgi_log, names):
    results = []
    for name, steps in SCENARIOS:
        if names and name not in names:
            continue
        marks = [size(access), size(error), size(cgi_log)]
        first, statuses, secs = talk(port, steps)
        time.sleep(3.5)  # the script's SIGTERM, and the logs
        results.append({
            "name": name,
            "first": first,
            "statuses": statuses,
            "secs": secs,
            "access": access_lines(tail(access, marks[0])),
            "error": error_lines(tail(error, marks[1])),
            "cgi": cgi_lines(tail(cgi_log, marks[2])),
        })
    return results


def record():
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    p = port.getsockname()[1]
    port.close()
    root = tempfile.mkdtemp(prefix="reqtimeout-")
    os.chmod(root, 0o755)
    for d in ("htdocs", "cgi", "logs", "run"):
        os.makedirs(f"{root}/{d}")
    with open(f"{root}/htdocs/hola.txt", "w") as f:
        f.write("hola\n")
    with open(f"{HERE}/body.cgi") as src, open(f"{root}/cgi/body.cgi", "w") as dst:
        dst.write(src.read())
    os.chmod(f"{root}/cgi/body.cgi", 0o755)
    cgi_log = f"{root}/cgi/cgi-got.txt"
    open(cgi_log, "w").close()
    os.chmod(cgi_log, 0o666)
    os.chmod(f"{root}/cgi", 0o777)
    user = "www-data" if os.getuid() == 0 else os.environ.get("USER", "nobody")
    if os.getuid() == 0:
        subprocess.run(["chown", "www-data", f"{root}/run"], check=True)
    mods = "/usr/lib/apache2/modules"
    conf = f"""ServerRoot "{root}"
ServerName localhost
Listen 127.0.0.1:{p}
PidFile {root}/run/apache2.pid
DefaultRuntimeDir {root}/run
Mutex file:{root}/run default
User {user}
Group {user}
LoadModule mpm_event_module {mods}/mod_mpm_event.so
LoadModule authz_core_module {mods}/mod_authz_core.so
LoadModule mime_module {mods}/mod_mime.so
LoadModule alias_module {mods}/mod_alias.so
LoadModule cgid_module {mods}/mod_cgid.so
LoadModule reqtimeout_module {mods}/mod_reqtimeout.so
ScriptSock {root}/run/cgisock
Timeout 300
KeepAlive On
KeepAliveTimeout 5
RequestReadTimeout header=2-4,MinRate=100 body=2,MinRate=100
LimitRequestBody 1000
TypesConfig /etc/mime.types
ErrorLog {root}/logs/error.log
LogLevel info
LogFormat "%h %l %u %t \\"%r\\" %>s %O \\"%{{Referer}}i\\" \\"%{{User-Agent}}i\\"" combined
CustomLog {root}/logs/access.log combined
DocumentRoot {root}/htdocs
ScriptAlias /cgi-bin/ {root}/cgi/
<Directory {root}>
    Require all granted
</Directory>
"""
    with open(f"{root}/apache2.conf", "w") as f:
        f.write(conf)
    server = subprocess.Popen(["/usr/sbin/apache2", "-d", root, "-f", f"{root}/apache2.conf",
                               "-DFOREGROUND"])
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", p)).close()
                break
            except OSError:
                time.sleep(0.1)
        version = subprocess.run(["/usr/sbin/apache2", "-v"], capture_output=True,
                                 text=True).stdout.splitlines()[0]
        results = run(p, f"{root}/logs/access.log", f"{root}/logs/error.log", cgi_log, [])
    finally:
        server.terminate()
        server.wait()
    with open(f"{HERE}/apache.json", "w") as f:
        json.dump({"server": version, "scenarios": results}, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    if sys.argv[1:2] == ["record"]:
        record()
    elif sys.argv[1:2] == ["run"]:
        port, access, error, cgi_log, *names = sys.argv[2:]
        print(json.dumps(run(int(port), access, error, cgi_log, names), ensure_ascii=False))
    else:
        sys.exit(__doc__)
