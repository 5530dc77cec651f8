#!/usr/bin/python3
# Formulario de matrícula: GET lo muestra; POST debe procesarlo.
import os

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
    # TODO: leer CONTENT_LENGTH bytes de la entrada estándar y responder.
    pass

print("Content-Type: text/html; charset=utf-8")
print()
print(FORMULARIO)
