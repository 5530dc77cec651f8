#!/usr/bin/python3
# Responde con las variables de entorno que Apache le pasa, ordenadas.
import os

print("Content-Type: text/plain; charset=utf-8")
print()
print("# entorno de {{param.codigo}}")
for nombre in sorted(os.environ):
    print(f"{nombre}={os.environ[nombre]}")
