#!/usr/bin/env python3
"""A small HTTP application server for the mod_proxy_http transcripts.

Usage: http_backend.py PORT

It answers most paths with a JSON description of the request it received (method, path,
version, headers in order, body), so a transcript shows exactly what the front server
forwarded; a few paths answer something else: /redir (a 302 to its own address, for
ProxyPassReverse), /cookies (two Set-Cookie among other headers), /teapot (418), /razon (a
status with its own reason phrase), /lento (three seconds late) and /corta (the connection
closed without an answer), /puerto (the backend-side port of the connection, to see it
reused) and /grande (64 KiB, chunked). Both tests/transcripts/record.py (against Apache) and
tests/conformance_apache.rs (against the lab) start it.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    break
                body += self.rfile.read(size)
                self.rfile.readline()
        else:
            body = self.rfile.read(length) if length else b""
        path = self.path
        if path.startswith("/lento"):
            import time
            time.sleep(3)
        if path.startswith("/corta"):
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if path.startswith("/puerto"):
            out = f"{self.client_address[1]}\n".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
            return
        if path.startswith("/grande"):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(64):
                piece = (f"{i:04d}" + "x" * 1019 + "\n").encode()
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
            return
        if path.startswith("/razon"):
            out = b"vale\n"
            self.send_response(299, "Todo Bien")
            self.send_header("x-minusculas", "si")
            self.send_header("Set-Cookie", "c=3")
            self.send_header("Content-Length", str(len(out)))
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(out)
            return
        if path.startswith("/redir"):
            self.send_response(302)
            self.send_header("Location", f"http://{self.headers.get('Host')}/destino")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if path.startswith("/cookies"):
            out = b"galletas\n"
            self.send_response(200)
            self.send_header("Set-Cookie", "a=1; Path=/")
            self.send_header("Set-Cookie", "b=2; Path=/")
            self.send_header("X-App", "eco")
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
            return
        if path.startswith("/teapot"):
            out = b"soy una tetera\n"
            self.send_response(418)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
            return
        seen = {
            "method": self.command,
            "path": path,
            "version": self.request_version,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body": body.decode("latin-1"),
        }
        out = (json.dumps(seen) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = answer

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Echo).serve_forever()
