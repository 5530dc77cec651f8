# Contador de visitas compartido por todos los procesos e hilos del grupo, con apcu.
import os

import apcu


def application(environ, start_response):
    visitas = apcu.inc("visitas:{{param.clave}}")
    cuerpo = f"visitas={visitas} pid={os.getpid()}\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [cuerpo]
