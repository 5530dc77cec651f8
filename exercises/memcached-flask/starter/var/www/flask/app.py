# var/www/flask/app.py: un informe lento, todavía sin caché.
import time

from flask import Flask

app = Flask(__name__)


def informe_lento(anio):
    time.sleep(2)  # lo caro: una consulta pesada, una API externa...
    return {"anio": anio, "ventas": (anio * 7919) % 100000}


@app.route("/informe/<int:anio>")
def informe(anio):
    datos = informe_lento(anio)
    datos["origen"] = "calculado"
    return datos
