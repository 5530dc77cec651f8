#!/usr/bin/env python3
"""Records what a real Apache + mod_wsgi answers to the WSGI conformance cases.

    record.py PORT ERROR_LOG OUT.json

PORT is where the reference Apache listens (configured from apache.conf.in, serving
probe.wsgi), ERROR_LOG its error log. Each case is sent as raw bytes on a new connection;
the response is read by its framing (Content-Length, chunked, or none for HEAD/204/304),
then the script waits briefly to see whether the server closed the connection. The lines
the request added to the error log are kept without their time, pid and client prefix.
The Rust test `wsgi_conformance` replays the same requests against the lab.
"""
import json
import os
import re
import socket
import sys
import time

H = 'wsgi.test'
C = 'chunk.test'
N = 'nodecode.test'


def get(path, host=H, extra=''):
    return 'GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n' % (path, host, extra)


def post(path, body, host=H, extra=''):
    return 'POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n%s\r\n%s' % (
        path, host, len(body), extra, body)


def chunked(path, body, host):
    return 'POST %s HTTP/1.1\r\nHost: %s\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n' % (
        path, host, len(body), body)


RESPONSES = [
    'case', 'stream', 'list2', 'list1', 'empty', 'notype', 'file', 'filebytes', '204',
    '204body', '304', 'hop', 'twotype', 'emptyval', 'reason', 'customreason', 'sr2',
    'sr2exc', 'location',
]
BROKEN = [
    'sr2excafter', 'iterexc', 'iterexcmid', 'closeexc', 'callexc', 'strchunk', 'strfirst',
    'writestr', 'writeafter', 'nosr', 'clshort', 'clshortgen', 'cllong', 'clnan', 'clneg',
    'badstatus', 'headernl',
]


def cases():
    out = []
    for prefix, mode in (('e', 'embedded'), ('d', 'daemon')):
        for m in RESPONSES + BROKEN:
            out.append(('%s/%s' % (mode, m), get('/%s/%s' % (prefix, m))))
        out.append(('%s/head' % mode, 'HEAD /%s/head HTTP/1.1\r\nHost: %s\r\n\r\n' % (prefix, H)))
        out.append(('%s/env' % mode, get('/%s/env/x%%C3%%B1y?a=%%20b' % prefix)))
        out.append(('%s/env-host-port' % mode, get('/%s/env' % prefix, 'WSGI.Test.:8080')))
        out.append(('%s/env-http10' % mode,
                    'GET /%s/env HTTP/1.0\r\n\r\n' % prefix))
        out.append(('%s/env-headers' % mode, get(
            '/%s/env' % prefix,
            extra='Authorization: Basic eDp5\r\nProxy-Authorization: Basic eDp5\r\n'
                  'X_Under: 1\r\nX-Dup: a\r\nX-Dup: b\r\nTE: trailers\r\nProxy: evil\r\n')))
        out.append(('%s/env-auth' % mode, get(
            '/%s/env' % prefix, C, 'Authorization: Basic eDp5\r\n')))
        out.append(('%s/input' % mode, post('/%s/input' % prefix, 'abcde')))
        out.append(('%s/limit-ok' % mode, post('/%s/input/limit' % prefix, 'abcde')))
        out.append(('%s/limit-over' % mode,
                    post('/%s/input/limit' % prefix, '0123456789' * 2)))
        out.append(('%s/chunked-refused' % mode, chunked('/%s/input' % prefix, 'abcde', H)))
        out.append(('%s/chunked' % mode, chunked('/%s/input' % prefix, 'abcde', C)))
        out.append(('%s/encoded-slash-off' % mode, get('/%s/env/a%%2Fb' % prefix)))
        out.append(('%s/missing' % mode, get('/%smissing/x' % prefix)))
    for prefix, mode in (('m', 'daemon-2-processes'), ('s', 'daemon-1-thread'),
                         ('g', 'daemon-global')):
        out.append(('%s/env' % mode, get('/%s/env' % prefix)))
    out.append(('embedded/chunked-over-limit',
                chunked('/e/input/limit', '0123456789' * 2, C)))
    out.append(('embedded/encoded-slash-on',
                get('/e/env/a%2Fb%FF%20c', C)))
    out.append(('embedded/encoded-slash-nodecode',
                get('/e/env/a%2Fb%FF%20c', N)))
    out.append(('embedded/mime-type-of-the-script', get('/py/notype', C)))
    for prefix, mode in (('e', 'embedded'), ('d', 'daemon')):
        out.append(('%s/encoded-slash-on-ascii' % mode, get('/%s/env/a%%2Fb%%20c' % prefix, C)))
        out.append(('%s/latin1-path' % mode, get('/%s/env/caf%%E9' % prefix)))
    out.append(('embedded/encoded-slash-nodecode-ascii', get('/e/env/a%2Fb%20c', N)))
    return out


def read_response(sock, head):
    sock.settimeout(5)
    buf = b''
    while b'\r\n\r\n' not in buf:
        b = sock.recv(65536)
        if not b:
            return {'error': 'closed before the head', 'raw': buf.decode('latin-1')}
        buf += b
    raw_head, rest = buf.split(b'\r\n\r\n', 1)
    lines = raw_head.decode('latin-1').split('\r\n')
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(':')
        headers.append([name, value.strip()])
    lower = {k.lower(): v for k, v in headers}
    status = int(lines[0].split(' ')[1])
    body = b''
    complete = True

    def more():
        # A server that stops sending without closing counts as the end of the data.
        try:
            return sock.recv(65536)
        except socket.timeout:
            return b''

    if head or status in (204, 304):
        pass
    elif 'chunked' in lower.get('transfer-encoding', '').lower():
        complete = False
        data = rest
        while True:
            while b'\r\n' not in data:
                b = more()
                if not b:
                    break
                data += b
            if b'\r\n' not in data:
                break
            size_line, data = data.split(b'\r\n', 1)
            size = int(size_line.split(b';')[0], 16)
            while len(data) < size + 2:
                b = more()
                if not b:
                    break
                data += b
            if len(data) < size + 2:
                body += data[:size]
                break
            body += data[:size]
            data = data[size + 2:]
            if size == 0:
                complete = True
                break
    elif 'content-length' in lower:
        n = int(lower['content-length'])
        body = rest
        while len(body) < n:
            b = more()
            if not b:
                break
            body += b
        complete = len(body) >= n
        body = body[:n]
    else:
        body = rest
        while True:
            b = more()
            if not b:
                break
            body += b
    sock.settimeout(0.5)
    try:
        closed = sock.recv(1) == b''
    except socket.timeout:
        closed = False
    except ConnectionError:
        closed = True
    return {
        'status_line': lines[0],
        'headers': [h for h in headers if h[0].lower() != 'date'],
        'body': body.decode('latin-1'),
        'complete': complete,
        'closed': closed,
    }


PREFIX = re.compile(r'^\[[^\]]*\] \[([a-z_]+):([a-z0-9]+)\] \[pid [^\]]*\](?: \[(?:client|remote) [^\]]*\])? ')


def log_lines(text):
    out = []
    for line in text.splitlines():
        m = PREFIX.match(line)
        if not m or m.group(2) in ('info', 'debug', 'notice') and 'Force restart' not in line:
            continue
        msg = line[m.end():]
        msg = re.sub(r'pid=\d+', 'pid=N', msg)
        # Paths of the scripts differ between the recording and the replay: keep the name.
        msg = re.sub(r'[^ "\']*/(probe\.wsgi|probe\.py|nothere\.wsgi)', r'\1', msg)
        out.append('[%s:%s] %s' % (m.group(1), m.group(2), msg))
    return out


def main():
    port, log_path, out_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    results = []
    for name, request in cases():
        before = os.path.getsize(log_path)
        print(name, file=sys.stderr)
        sock = socket.create_connection(('127.0.0.1', port))
        sock.sendall(request.encode('latin-1'))
        resp = read_response(sock, request.startswith('HEAD '))
        sock.close()
        time.sleep(0.3)
        with open(log_path, 'rb') as f:
            f.seek(before)
            added = f.read().decode('latin-1')
        # The scratch directory of the recording is no part of the transcript.
        root = os.path.dirname(os.path.dirname(os.path.abspath(log_path)))
        if 'body' in resp:
            resp['body'] = resp['body'].replace(root, '@ROOT@')
        results.append({'case': name, 'request': request, 'response': resp,
                        'log': log_lines(added)})
    with open(out_path, 'w') as f:
        json.dump({'server': 'Debian 12 apache2 2.4 + libapache2-mod-wsgi-py3 4.9.4 (Python 3.11)',
                   'cases': results}, f, indent=1, ensure_ascii=False)
        f.write('\n')


if __name__ == '__main__':
    main()
