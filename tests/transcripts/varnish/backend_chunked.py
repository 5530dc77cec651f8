"""The backend of range.txt, length_on_hits.txt and empty_bodies.txt: 120 bytes
(`NN-abcdefgh\n` ten times), max-age=60, with a Content-Length on /len* and chunked on
/chunked*; the second half of the body comes 100 ms after the first, so a miss is answered
while the object is being fetched. /empty* answers at once with an empty body
(`Content-Length: 0`). /gz* answers at once with body.gz (that body gzipped), an ETag and
`Vary: Accept-Encoding`, whatever the request accepts.

    python3 backend_chunked.py PORT
"""
import os
import socket
import sys
import threading
import time

# The body gzipped once (gzip.compress(BODY, 9, mtime=0)), shared with the tests' backend.
GZ = os.path.join(os.path.dirname(os.path.abspath(__file__)), "body.gz")

BODY = "".join(f"{i:02}-abcdefgh\n" for i in range(10))


def serve(conn):
    buf = b""
    with conn:
        while True:
            data = conn.recv(4096)
            if not data:
                return
            buf += data
            while b"\r\n\r\n" in buf:
                head, buf = buf.split(b"\r\n\r\n", 1)
                line = head.split(b"\r\n", 1)[0]
                if b" /gz" in line:
                    with open(GZ, "rb") as f:
                        gz = f.read()
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                 b"Cache-Control: max-age=60\r\nETag: \"g1\"\r\n"
                                 b"Vary: Accept-Encoding\r\nContent-Encoding: gzip\r\n"
                                 + f"Content-Length: {len(gz)}\r\n\r\n".encode() + gz)
                    continue
                if b" /empty" in line:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                 b"Cache-Control: max-age=60\r\nContent-Length: 0\r\n\r\n")
                    continue
                chunked = b" /chunked" in line
                first, second = BODY[:60], BODY[60:]
                out = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nCache-Control: max-age=60\r\n"
                if chunked:
                    out += "Transfer-Encoding: chunked\r\n\r\n"
                    part = lambda s: f"{len(s):x}\r\n{s}\r\n"
                else:
                    out += f"Content-Length: {len(BODY)}\r\n\r\n"
                    part = lambda s: s
                conn.sendall((out + part(first)).encode())
                time.sleep(0.1)
                rest = part(second) + ("0\r\n\r\n" if chunked else "")
                conn.sendall(rest.encode())


def main():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(sys.argv[1])))
    s.listen(16)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
