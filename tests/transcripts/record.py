#!/usr/bin/env python3
"""Records how Debian's Apache 2.4 answers the requests of a transcript spec.

Usage: record.py SPEC.toml [SPEC.toml...]

For each spec it builds a throw-away server root (the spec's files under a temporary
directory that stands for `/`), writes an Apache configuration shaped like a lab workspace
(Debian's apache2.conf essentials plus the spec's `<VirtualHost>` body), starts the installed
apache2 on a free loopback port with its own pid file and logs, sends every request exactly as
written over a fresh TCP connection, and writes SPEC.txt next to the spec: the head of each
response, its body and the access log line, with the volatile values normalised the same way
the replay test normalises the lab's answers (see tests/conformance_apache.rs).

The system's apache2 service is never touched.
"""

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from email.utils import parsedate_to_datetime

MODULES = [
    "mpm_event", "authz_core", "authz_host", "alias", "autoindex", "dir", "env", "mime",
    "setenvif", "status", "reqtimeout", "headers", "expires", "authn_core", "access_compat",
    "proxy", "proxy_http",
]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def base_conf(root, port, spec):
    # The spec's `mods` (what the lab side enables with a2enmod) beyond the usual set.
    extra = [m for m in spec.get("mods", []) if m not in MODULES]
    mods = "\n".join(
        f"LoadModule {m}_module /usr/lib/apache2/modules/mod_{m}.so" for m in MODULES + extra
    )
    conf = spec.get("conf", "").replace("/var/www", f"{root}/var/www")
    server = spec.get("server", "").replace("/var/www", f"{root}/var/www")
    return f"""ServerRoot /etc/apache2
DefaultRuntimeDir {root}/run
PidFile {root}/run/apache2.pid
Timeout 300
KeepAlive On
MaxKeepAliveRequests 100
KeepAliveTimeout 5
User www-data
Group www-data
HostnameLookups Off
ErrorLog {root}/var/log/apache2/error.log
LogLevel warn
{mods}
Include /etc/apache2/mods-available/mime.conf
Include /etc/apache2/mods-available/dir.conf
Include /etc/apache2/mods-available/alias.conf
Include /etc/apache2/mods-available/autoindex.conf
Include /etc/apache2/mods-available/setenvif.conf
Include /etc/apache2/mods-available/reqtimeout.conf
Include /etc/apache2/mods-available/status.conf
Listen 127.0.0.1:{port}
<Directory />
\tOptions FollowSymLinks
\tAllowOverride None
\tRequire all denied
</Directory>
<Directory {root}/var/www/>
\tOptions Indexes FollowSymLinks
\tAllowOverride None
\tRequire all granted
</Directory>
AccessFileName .htaccess
<FilesMatch "^\\.ht">
\tRequire all denied
</FilesMatch>
LogFormat "%h %l %u %t \\"%r\\" %>s %O \\"%{{Referer}}i\\" \\"%{{User-Agent}}i\\"" combined
Include /etc/apache2/conf-available/charset.conf
Include /etc/apache2/conf-available/security.conf
{server}
<VirtualHost *:{port}>
\tServerAdmin webmaster@localhost
\tDocumentRoot {root}/var/www/html
{conf}
\tErrorLog {root}/var/log/apache2/error.log
\tCustomLog {root}/var/log/apache2/access.log combined
</VirtualHost>
"""


def build_tree(root, spec):
    os.makedirs(f"{root}/var/www/html", exist_ok=True)
    os.makedirs(f"{root}/var/log/apache2", exist_ok=True)
    os.makedirs(f"{root}/run", exist_ok=True)
    for d in spec.get("dir", []):
        os.makedirs(f"{root}/{d['path']}", exist_ok=True)
    for f in spec.get("file", []):
        path = f"{root}/{f['path']}"
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as out:
            out.write(f["text"].encode())
        mtime = f.get("mtime", 1700000000)
        os.utime(path, (mtime, mtime))
    for link in spec.get("link", []):
        os.symlink(link["target"], f"{root}/{link['path']}")
    os.system(f"chmod -R a+rX {root}")


def exchange(port, raw):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(raw.encode("latin-1"))
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return data


def normalise(data, port):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    date = None
    out = [lines[0]]
    for line in lines[1:]:
        name, _, value = line.partition(": ")
        if name.lower() == "date":
            date = parsedate_to_datetime(value)
            value = "<date>"
        elif name.lower() == "server":
            value = "<server>"
        elif name.lower() == "allow":
            # Apache builds Allow from a hash table: the order changes from one start to
            # the next, so only the set counts.
            value = ",".join(sorted(m for m in value.split(",") if m))
        elif name.lower() == "expires" and date is not None:
            delta = int((parsedate_to_datetime(value) - date).total_seconds())
            value = f"<date{delta:+d}>"
        out.append(f"{name}: {value}")
    text = "\n".join(out).replace(f":{port}", ":<port>")
    m = re.search(r"boundary=(\w+)", text)
    body_text = body.decode("latin-1")
    if m:
        text = text.replace(m.group(1), "<boundary>")
        body_text = body_text.replace(m.group(1), "<boundary>")
    # A second answer on the same connection (pipelining) is part of the body here.
    body_text = re.sub(r"\r\nDate: [^\r]+", "\r\nDate: <date>", body_text)
    body_text = re.sub(r"\r\nServer: [^\r]+", "\r\nServer: <server>", body_text)
    return text, body_text.replace(f":{port}", ":<port>")


def normalise_log(line, port):
    line = re.sub(r"\[\d\d/\w\w\w/[^\]]+\]", "[<time>]", line)
    return line.replace(f":{port}", ":<port>")


def normalise_error(line, root, port):
    """An error log line without what changes between runs: the time, pid and tid, the
    client's port and the temporary root (so paths read as on a Debian server)."""
    line = re.sub(r"^\[[^\]]+\] ", "", line)
    line = re.sub(r" \[pid [^\]]+\]", "", line)
    line = re.sub(r"\[client ([0-9.]+):\d+\]", r"[client \1]", line)
    return line.replace(root, "").replace(f":{port}", ":<port>")


def start_backend(spec):
    """For specs with `backend = true`: the HTTP application server of the mod_proxy_http
    transcripts on a free port (`@BACKEND@` in the configuration), and a port nobody listens
    on (`@DEAD@`). Returns the process and the two ports."""
    if not spec.get("backend"):
        return None, None, None
    bport, dead = free_port(), free_port()
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "http_backend.py")
    proc = subprocess.Popen([sys.executable, script, str(bport)])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", bport), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    for key in ("conf", "server"):
        if key in spec:
            spec[key] = (spec[key].replace("@BACKEND@", f"127.0.0.1:{bport}")
                         .replace("@DEAD@", f"127.0.0.1:{dead}"))
    return proc, bport, dead


def record(spec_path):
    with open(spec_path, "rb") as f:
        spec = tomllib.load(f)
    backend, bport, dead = start_backend(spec)

    def ports(text):
        if bport:
            text = text.replace(f":{bport}", ":<backend>").replace(f":{dead}", ":<dead>")
        return text

    root = tempfile.mkdtemp(prefix="apache-transcript-")
    os.chmod(root, 0o755)
    build_tree(root, spec)
    port = free_port()
    with open(f"{root}/httpd.conf", "w") as f:
        f.write(base_conf(root, port, spec))
    env = dict(os.environ, LANG="C", APACHE_RUN_USER="www-data", APACHE_RUN_GROUP="www-data",
               APACHE_PID_FILE=f"{root}/run/apache2.pid", APACHE_RUN_DIR=f"{root}/run",
               APACHE_LOCK_DIR=f"{root}/run", APACHE_LOG_DIR=f"{root}/var/log/apache2")
    ctl = ["apache2", "-d", "/etc/apache2", "-f", f"{root}/httpd.conf", "-k"]
    subprocess.run(ctl + ["start"], env=env, check=True)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        access = f"{root}/var/log/apache2/access.log"
        out = []
        for req in spec["req"]:
            raw = req["raw"].replace("@HOST@", f"127.0.0.1:{port}")
            before = os.path.getsize(access) if os.path.exists(access) else 0
            errors_path = f"{root}/var/log/apache2/error.log"
            err_before = os.path.getsize(errors_path) if os.path.exists(errors_path) else 0
            data = exchange(port, raw)
            head, body = normalise(data, port)
            log = ""
            for _ in range(50):
                with open(access) as f:
                    f.seek(before)
                    log = f.read().strip()
                if log:
                    break
                time.sleep(0.02)
            errlines = ""
            if spec.get("errors"):
                time.sleep(0.1)
                with open(errors_path) as f:
                    f.seek(err_before)
                    for line in f.read().splitlines():
                        if "[client " not in line:
                            continue
                        errlines += f"error: {normalise_error(line, root, port)}\n"
            out.append(ports(f"=== {req['name']}\n{head}\nbody: {json.dumps(body)}\n"
                             f"log: {normalise_log(log, port)}\n{errlines}"))
    finally:
        subprocess.run(ctl + ["stop"], env=env)
        if backend:
            backend.kill()
        time.sleep(0.5)
    dest = spec_path.rsplit(".", 1)[0] + ".txt"
    with open(dest, "w") as f:
        f.write("# Recorded from Debian 12's apache2 by tests/transcripts/record.py.\n")
        f.write("# Do not edit by hand: change the .toml and record again.\n\n")
        f.write("\n".join(out))
    print(f"{dest}: {len(out)} respuestas")


if __name__ == "__main__":
    for p in sys.argv[1:]:
        record(p)
