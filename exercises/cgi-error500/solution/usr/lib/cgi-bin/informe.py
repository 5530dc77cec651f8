#!/usr/bin/python3
# Informe de un grupo: /cgi-bin/informe.py?grupo=NN
# Alumnos matriculados en cada grupo.
import os
from urllib.parse import parse_qs

ALUMNOS = {{param.alumnos}}

campos = parse_qs(os.environ.get("QUERY_STRING", ""))
grupo = int(campos.get("grupo", ["0"])[0])

print("Content-Type: text/plain; charset=utf-8")
print()
print(f"Informe del grupo {grupo}: {ALUMNOS} alumnos")
