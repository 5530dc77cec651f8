# The application the WSGI conformance transcripts were recorded with (real Apache +
# mod_wsgi) and that the lab replays them against: each first PATH_INFO segment is a mode.
import hashlib
import io
import os
import sys

def env_dump(environ):
    out = []
    for k in sorted(environ):
        v = environ[k]
        if k in ('wsgi.input', 'wsgi.errors', 'wsgi.file_wrapper'):
            v = type(v).__name__
        out.append('%s=%r' % (k, v))
    script = environ['SCRIPT_FILENAME']
    digest = hashlib.md5(script.encode('latin-1')).hexdigest()
    out.append('module_named_from_md5=%r' % (__name__ == '_mod_wsgi_' + digest,))
    out.append('script_dir_in_path=%r' % (os.path.dirname(script) in sys.path,))
    out.append('python_path_first=%r' % (sys.path[0].endswith('/pp'),))
    return ('\n'.join(out) + '\n').encode('utf-8')

def application(environ, start_response):
    pi = environ.get('PATH_INFO', '')
    mode = pi.strip('/').split('/')[0] if pi else ''
    if mode == 'env':
        body = env_dump(environ)
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [body]
    if mode == 'case':
        start_response('200 OK', [('content-type', 'text/plain'), ('X-MiXeD-CaSe', 'yes'), ('x-lower', 'a')])
        return [b'case\n']
    if mode == 'stream':
        start_response('200 OK', [('Content-Type', 'text/plain')])
        def gen():
            yield b'one\n'
            yield b'two\n'
        return gen()
    if mode == 'list2':
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b'one\n', b'two\n']
    if mode == 'list1':
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b'one\n']
    if mode == 'empty':
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return []
    if mode == 'notype':
        start_response('200 OK', [])
        return [b'no type\n']
    if mode == 'file':
        f = open(__file__, 'rb')
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return environ['wsgi.file_wrapper'](f)
    if mode == 'filebytes':
        f = io.BytesIO(b'0123456789')
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return environ['wsgi.file_wrapper'](f)
    if mode == '204':
        start_response('204 No Content', [('Content-Type', 'text/plain'), ('Content-Length', '0')])
        return []
    if mode == '204body':
        start_response('204 No Content', [('Content-Type', 'text/plain')])
        return [b'body\n']
    if mode == '304':
        start_response('304 Not Modified', [('Content-Type', 'text/plain'), ('ETag', '"x"'), ('Content-Length', '5')])
        return [b'body\n']
    if mode == 'hop':
        start_response('200 OK', [('Content-Type', 'text/plain'), ('Connection', 'close'), ('Keep-Alive', 'timeout=1')])
        return [b'hop\n']
    if mode == 'te':
        start_response('200 OK', [('Content-Type', 'text/plain'), ('Transfer-Encoding', 'chunked')])
        return [b'te\n']
    if mode == 'twotype':
        start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Type', 'text/html')])
        return [b'two types\n']
    if mode == 'emptyval':
        start_response('200 OK', [('Content-Type', 'text/plain'), ('X-Empty', '')])
        return [b'empty value\n']
    if mode == 'reason':
        start_response('200 Señal ñ', [('Content-Type', 'text/plain')])
        return [b'latin1 reason\n']
    if mode == 'customreason':
        start_response('299 Whatever Thing', [('Content-Type', 'text/plain')])
        return [b'custom\n']
    if mode == 'sr2':
        start_response('200 OK', [('Content-Type', 'text/plain')])
        start_response('201 Created', [('Content-Type', 'text/plain')])
        return [b'twice\n']
    if mode == 'sr2exc':
        start_response('200 OK', [('Content-Type', 'text/plain')])
        try:
            raise ValueError('boom')
        except ValueError:
            start_response('500 Oops', [('Content-Type', 'text/plain')], sys.exc_info())
        return [b'replaced\n']
    if mode == 'sr2excafter':
        write = start_response('200 OK', [('Content-Type', 'text/plain')])
        write(b'first\n')
        try:
            raise ValueError('late boom')
        except ValueError:
            start_response('500 Oops', [('Content-Type', 'text/plain')], sys.exc_info())
        return [b'never\n']
    if mode == 'iterexc':
        start_response('200 OK', [('Content-Type', 'text/plain')])
        def gen():
            raise RuntimeError('in iterable before output')
            yield b'x'
        return gen()
    if mode == 'iterexcmid':
        start_response('200 OK', [('Content-Type', 'text/plain')])
        def gen():
            yield b'partial\n'
            raise RuntimeError('in iterable after output')
        return gen()
    if mode == 'closeexc':
        start_response('200 OK', [('Content-Type', 'text/plain')])
        class R:
            def __iter__(self):
                return iter([b'body\n'])
            def close(self):
                raise RuntimeError('in close')
        return R()
    if mode == 'callexc':
        raise RuntimeError('in application')
    if mode == 'strchunk':
        start_response('200 OK', [('Content-Type', 'text/plain')])
        def gen():
            yield b'bytes first\n'
            yield 'then str\n'
        return gen()
    if mode == 'strfirst':
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return ['str only\n']
    if mode == 'writestr':
        write = start_response('200 OK', [('Content-Type', 'text/plain')])
        write('str to write\n')
        return []
    if mode == 'writeafter':
        write = start_response('200 OK', [('Content-Type', 'text/plain')])
        write(b'w1\n')
        return [b'it\n']
    if mode == 'nosr':
        return [b'no start_response\n']
    if mode == 'clshort':
        start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', '3')])
        return [b'too long body\n']
    if mode == 'clshortgen':
        start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', '3')])
        def gen():
            yield b'too '
            yield b'long body\n'
        return gen()
    if mode == 'cllong':
        start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', '100')])
        return [b'short\n']
    if mode == 'clnan':
        start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', 'abc')])
        return [b'nan\n']
    if mode == 'clneg':
        start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', '-5')])
        return [b'neg\n']
    if mode == 'badstatus':
        start_response('OK', [('Content-Type', 'text/plain')])
        return [b'bad status\n']
    if mode == 'headernl':
        start_response('200 OK', [('Content-Type', 'text/plain'), ('X-Bad', 'a\nb')])
        return [b'nl\n']
    if mode == 'input':
        data = environ['wsgi.input'].read()
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [('len=%d\n' % len(data)).encode() + data]
    if mode == 'location':
        start_response('302 Found', [('Location', '/x')])
        return [b'']
    if mode == 'head':
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b'head body\n']
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'default\n']
