vcl 4.1;

import directors;

# Cómo saber si un servidor está vivo: cada 5 s pide la página de salud;
# está sano si 3 de las 5 últimas respuestas fueron 200.
probe salud {
    .url = "/{{param.salud}}.html";
    .interval = 5s;
    .timeout = 1s;
    .window = 5;
    .threshold = 3;
}

backend web1 {
    .host = "127.0.0.1";
    .port = "8080";
    .probe = salud;
}

backend web2 {
    .host = "127.0.0.1";
    .port = "8081";
    .probe = salud;
}

sub vcl_init {
    new reparto = directors.round_robin();
    reparto.add_backend(web1);
    reparto.add_backend(web2);
}

sub vcl_recv {
    set req.backend_hint = reparto.backend();
}
