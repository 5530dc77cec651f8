import os
import threading

contador = 0
cerrojo = threading.Lock()


def application(environ, start_response):
    global contador
    with cerrojo:
        contador += 1
        n = contador
    grupo = environ.get("mod_wsgi.process_group", "?")
    texto = (
        f"pid={os.getpid()} grupo={grupo!r} peticiones_en_este_proceso={n}\n"
        f"multithread={environ['wsgi.multithread']} "
        f"multiprocess={environ['wsgi.multiprocess']}\n"
    )
    cuerpo = texto.encode("utf-8")
    start_response("200 OK", [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(cuerpo))),
    ])
    return [cuerpo]
