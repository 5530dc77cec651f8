#!/usr/bin/env python3
# Un informe caro de generar: cada petición arranca Python y tarda unos 50 ms en
# «consultar la base de datos». Como no depende de quién lo pida, se puede guardar en una
# caché compartida durante un minuto (Cache-Control: public, max-age=60).
import time

time.sleep(0.05)
print("Content-Type: text/html; charset=utf-8")
print("Cache-Control: public, max-age=60")
print()
print('<!DOCTYPE html>\n<html lang="es"><head><meta charset="utf-8"><title>Informe</title></head>')
print("<body><h1>Informe de ventas</h1><p>Generado a las %s</p></body></html>" % time.strftime("%H:%M:%S"))
