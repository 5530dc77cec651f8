vcl 4.1;

backend default {
    .host = "127.0.0.1";
    .port = "8080";
}

sub vcl_backend_response {
    # Las imágenes casi nunca cambian: {{param.horas}} horas en la caché, y sin cookies.
    if (bereq.url ~ "\.(png|jpg|jpeg|gif|svg|webp)$") {
        unset beresp.http.Set-Cookie;
        set beresp.ttl = {{param.horas}}h;
    }
}
