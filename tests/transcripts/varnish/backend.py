import http.server, sys, json
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        p = self.path
        if p.startswith("/case"):
            # Header names spelled and ordered as some backends do.
            body = b"caso\n"
            self.send_response(200)
            self.send_header("ETag", '"c1"')
            self.send_header("x-lower", "uno")
            self.send_header("X-UPPER-CASE", "dos")
            self.send_header("Cache-Control", "max-age=60")
            self.send_header("x-lower", "tres")
            self.send_header("content-type", "text/plain")
            self.send_header("WWW-Authenticate", 'Basic realm="x"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return
        body = ("".join(f"{k}: {v}\n" for k, v in self.headers.items())).encode()
        body = (self.command + " " + p + "\n").encode() + body
        hdrs = [("Content-Type", "text/plain")]
        status = 200
        if p.startswith("/maxage"):
            hdrs.append(("Cache-Control", "max-age=60"))
        if p.startswith("/cookie"):
            hdrs.append(("Set-Cookie", "a=b"))
        if p.startswith("/etag"):
            hdrs.append(("ETag", '"abc"'))
            hdrs.append(("Cache-Control", "max-age=1"))
            if self.headers.get("If-None-Match") == '"abc"':
                self.send_response(304)
                for k, v in hdrs: self.send_header(k, v)
                self.send_header("X-Revalidated", "yes")
                self.end_headers(); return
        if p.startswith("/404"):
            status = 404
        self.send_response(status)
        for k, v in hdrs: self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
    do_HEAD = do_GET
    do_POST = do_GET
    do_PURGE = do_GET
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
