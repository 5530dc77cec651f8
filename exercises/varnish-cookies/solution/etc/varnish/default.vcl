vcl 4.1;

# Apache, en el 8080.
backend default {
    .host = "127.0.0.1";
    .port = "8080";
}

sub vcl_recv {
    # Los ficheros estáticos son iguales para todos: la cookie sobra.
    if (req.url ~ "^/{{param.carpeta}}/") {
        unset req.http.Cookie;
    }
}
