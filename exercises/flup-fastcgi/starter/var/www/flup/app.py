"""Una aplicación WSGI que se publica por FastCGI con flup."""


def application(environ, start_response):
    cuerpo = "Hola desde flup\n"
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [cuerpo.encode("utf-8")]
