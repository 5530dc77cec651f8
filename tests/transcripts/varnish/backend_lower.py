import socket, threading, sys
def handle(c):
    buf=b""
    while True:
        d=c.recv(4096)
        if not d: return
        buf+=d
        while b"\r\n\r\n" in buf:
            _,buf=buf.split(b"\r\n\r\n",1)
            c.sendall(b"HTTP/1.1 200 OK\r\ndate: Mon, 07 Dec 2026 00:00:00 GMT\r\ncontent-length: 3\r\ncache-control: max-age=60\r\nx-a: 1\r\n\r\nabc")
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR,1); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(16)
while True:
    c,_=s.accept(); threading.Thread(target=handle,args=(c,),daemon=True).start()
