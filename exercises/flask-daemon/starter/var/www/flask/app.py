import os

from flask import Flask, request

app = Flask(__name__)


@app.route("/")
def index():
    return "<p>Hola desde Flask</p>"


@app.route("/saludo/<nombre>")
def saludo(nombre):
    return f"<p>Hola, {nombre}</p>"


@app.route("/info")
def info():
    # Un diccionario se devuelve como JSON
    return {
        "pid": os.getpid(),
        "grupo": request.environ.get("mod_wsgi.process_group"),
        "script_name": request.script_root,
        "ruta": request.path,
    }
