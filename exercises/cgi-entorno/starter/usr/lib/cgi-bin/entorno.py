# Completa este CGI: su primera línea debe ser la del intérprete (#!/usr/bin/python3),
# después las cabeceras, una línea en blanco y el cuerpo con las variables de entorno.
import os
