# La aplicación Flask del curso. Para ejecutarla hace falta Flask, que instalarás en el
# entorno virtual var/www/flask/venv.
from flask import Flask

app = Flask(__name__)


@app.route("/")
def index():
    return "<p>Hola desde Flask</p>"
