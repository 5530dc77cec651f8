# var/www/flask/app.py: el informe lento, cacheado en memcached con pymemcache.
import json
import time

from flask import Flask
from pymemcache.client.base import PooledClient

app = Flask(__name__)
cache = PooledClient(("127.0.0.1", 11211), connect_timeout=1, timeout=1,
                     ignore_exc=True, max_pool_size=10)


def informe_lento(anio):
    time.sleep(2)  # lo caro: una consulta pesada, una API externa...
    return {"anio": anio, "ventas": (anio * 7919) % 100000}


@app.route("/informe/<int:anio>")
def informe(anio):
    clave = f"informe:{anio}"
    guardado = cache.get(clave)
    if guardado is not None:  # acierto
        datos = json.loads(guardado)
        datos["origen"] = "cache"
        return datos
    datos = informe_lento(anio)  # fallo: calcular y guardar
    cache.set(clave, json.dumps(datos), expire={{param.caducidad}})
    datos["origen"] = "calculado"
    return datos


@app.route("/cache/stats")
def estadisticas():
    s = cache.stats()
    aciertos, fallos = s[b"get_hits"], s[b"get_misses"]
    total = aciertos + fallos
    return {
        "get_hits": aciertos,
        "get_misses": fallos,
        "tasa_aciertos": round(aciertos / total, 3) if total else None,
        "evictions": s[b"evictions"],
        "curr_items": s[b"curr_items"],
    }
