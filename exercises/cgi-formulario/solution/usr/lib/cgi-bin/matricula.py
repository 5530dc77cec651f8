#!/usr/bin/python3
# Formulario de matrícula: GET lo muestra; POST lo procesa.
import os
import sys
from urllib.parse import parse_qs

FORMULARIO = """<!DOCTYPE html>
<html lang="es"><head><meta charset="utf-8"><title>Matrícula</title></head>
<body>
<form method="post" action="/cgi-bin/matricula.py">
  <label>Nombre <input name="nombre"></label>
  <label>Grupo <input name="grupo"></label>
  <button>Enviar</button>
</form>
</body></html>"""

if os.environ.get("REQUEST_METHOD") == "POST":
    longitud = int(os.environ.get("CONTENT_LENGTH") or 0)
    datos = sys.stdin.buffer.read(longitud)
    campos = parse_qs(datos.decode("utf-8"))
    nombre = campos.get("nombre", [""])[0]
    grupo = campos.get("grupo", [""])[0]
    if not nombre or not grupo:
        print("Status: 400 Bad Request")
        print("Content-Type: text/plain; charset=utf-8")
        print()
        print("Faltan el nombre o el grupo")
    else:
        print("Content-Type: text/plain; charset=utf-8")
        print()
        print(f"Matrícula de {nombre} en el grupo {grupo} (sede {{param.sede}})")
    sys.exit(0)

print("Content-Type: text/html; charset=utf-8")
print()
print(FORMULARIO)
