# Contador de visitas. Con un solo proceso parece funcionar; con dos, cada proceso tiene su
# propia variable y las cuentas no cuadran.
import os

visitas = 0


def application(environ, start_response):
    global visitas
    visitas += 1
    cuerpo = f"visitas={visitas} pid={os.getpid()}\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [cuerpo]
