from urllib.parse import parse_qs


def leer_notas(query):
    texto = parse_qs(query).get("notas", [""])[0]
    # "".split(",") es [""]: sin notas, lista vacía.
    return [float(n) for n in texto.split(",") if n.strip()]


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
        if not notas:
            return responder(start_response, "media=sin notas\n".encode("utf-8"))
        return responder(start_response, f"media={media(notas)}\n".encode("utf-8"))
    if ruta == "/alumno":
        nombre = parse_qs(query).get("nombre", ["desconocido"])[0]
        # PEP 3333: el cuerpo son bytes, no str.
        return responder(start_response, f"Hola, {nombre}\n".encode("utf-8"))
    start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
    return ["No existe\n".encode("utf-8")]
