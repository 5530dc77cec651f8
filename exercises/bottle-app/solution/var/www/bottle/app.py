import bottle

app = bottle.Bottle()


@app.route("/")
def portada():
    return "<h1>Hola desde Bottle</h1>"


@app.route("/hola/<nombre>")
def hola(nombre):
    # {{nombre}} se escapa automáticamente en las plantillas de Bottle
    return bottle.template("<p>Hola, {{nombre}}</p>", nombre=nombre)


@app.route("/suma")
def suma():
    a = int(bottle.request.query.get("a", 0))
    b = int(bottle.request.query.get("b", 0))
    return {"a": a, "b": b, "suma": a + b}
