"""Una aplicación WSGI que se publica por FastCGI con flup."""

from flup.server.fcgi import WSGIServer


def application(environ, start_response):
    cuerpo = "Hola desde flup, {{param.nombre}}\nSCRIPT_NAME={}\nPATH_INFO={}\n".format(
        environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", "")
    )
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [cuerpo.encode("utf-8")]


if __name__ == "__main__":
    WSGIServer(application, bindAddress="run/app.sock", umask=0).run()
