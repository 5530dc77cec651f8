#!/usr/bin/python3
# Informe de un grupo: /cgi-bin/informe.py?grupo=NN
# Alumnos matriculados en cada grupo.
import os

ALUMNOS = {{param.alumnos}}

grupo = int(os.environ["QUERY_STRING"])

print("Content-Type text/plain; charset=utf-8")
print()
print(f"Informe del grupo {grupo}: {ALUMNOS} alumnos")
