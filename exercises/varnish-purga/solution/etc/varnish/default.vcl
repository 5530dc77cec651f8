vcl 4.1;

backend default {
    .host = "127.0.0.1";
    .port = "8080";
}

# Quién puede purgar: esta máquina y la red de la oficina.
acl purgadores {
    "localhost";
    "10.{{param.red}}.0.0"/16;
}

sub vcl_recv {
    if (req.method == "PURGE") {
        if (!client.ip ~ purgadores) {
            return (synth(405, "No permitido"));
        }
        return (purge);
    }
}
