vcl 4.1;

# Apache, en el 8080.
backend default {
    .host = "127.0.0.1";
    .port = "8080";
}

sub vcl_recv {
    # La analítica del sitio pone una cookie en todas las peticiones,
    # y con Cookie Varnish no usa la caché (builtin.vcl hace `return (pass)`).
}
