import bottle

app = bottle.Bottle()


@app.route("/")
def portada():
    return "<h1>Hola desde Bottle</h1>"

# Añade aquí las rutas /hola/<nombre> y /suma.
