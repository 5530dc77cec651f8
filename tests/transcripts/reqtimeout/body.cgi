#!/usr/bin/python3
# Notes what of the request body reaches it, and a SIGTERM, in cgi-got.txt beside it.
import os
import signal
import sys
import time

log = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "cgi-got.txt"), "a",
           buffering=1)
log.write(f"start CONTENT_LENGTH={os.environ.get('CONTENT_LENGTH', '-')}\n")


def term(sig, frame):
    log.write(f"signal {sig}\n")
    sys.exit(1)


signal.signal(signal.SIGTERM, term)
total = 0
while True:
    data = os.read(0, 65536)
    if not data:
        break
    total += len(data)
    log.write(f"read total {total}\n")
log.write(f"eof total {total}\n")
time.sleep(0.5)
print("Content-Type: text/plain\n")
print(f"recibidos {total}")
