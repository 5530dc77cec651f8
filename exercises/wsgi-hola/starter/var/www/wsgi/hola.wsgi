# Una aplicación WSGI es una función que recibe `environ` (un diccionario con los datos de la
# petición) y `start_response` (para enviar el estado y las cabeceras), y devuelve una lista
# de bytes. Cambia el cuerpo para que enseñe REQUEST_METHOD, SCRIPT_NAME, PATH_INFO y
# QUERY_STRING.

def application(environ, start_response):
    cuerpo = "¡Hola desde WSGI!\n".encode("utf-8")
    start_response("200 OK", [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(cuerpo))),
    ])
    return [cuerpo]
