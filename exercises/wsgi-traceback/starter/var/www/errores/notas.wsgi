from urllib.parse import parse_qs


def leer_notas(query):
    texto = parse_qs(query).get("notas", [""])[0]
    return [float(n) for n in texto.split(",")]


def media(notas):
    return sum(notas) / len(notas)


def responder(start_response, cuerpo):
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [cuerpo]


def application(environ, start_response):
    ruta = environ["PATH_INFO"]
    query = environ.get("QUERY_STRING", "")
    if ruta == "/media":
        notas = leer_notas(query)
        return responder(start_response, f"media={media(notas)}\n".encode("utf-8"))
    if ruta == "/alumno":
        nombre = parse_qs(query).get("nombre", ["desconocido"])[0]
        return responder(start_response, f"Hola, {nombre}\n")
    start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
    return ["No existe\n".encode("utf-8")]
