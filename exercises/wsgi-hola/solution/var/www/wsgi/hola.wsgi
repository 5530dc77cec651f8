import html

CLAVES = [
    "REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING",
    "SERVER_NAME", "SERVER_PORT", "HTTP_HOST", "REMOTE_ADDR",
    "wsgi.url_scheme", "wsgi.multithread", "wsgi.multiprocess",
    "mod_wsgi.process_group",
]


def application(environ, start_response):
    filas = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(repr(environ.get(k)))}</td></tr>\n"
        for k in CLAVES
    )
    pagina = (
        '<!doctype html>\n<html lang="es"><meta charset="utf-8"><title>environ</title>\n'
        f"<h1>Lo que sabe la aplicación de tu petición</h1>\n<table>\n{filas}</table>\n</html>\n"
    )
    cuerpo = pagina.encode("utf-8")
    start_response("200 OK", [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Length", str(len(cuerpo))),
    ])
    return [cuerpo]
