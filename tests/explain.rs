//! `lab explain URL`: the same decisions the server takes, told with file:line.

mod common;

use common::TestLab;

#[test]
fn explain_names_the_vhost_the_alias_and_the_denying_section() {
    let lab = TestLab::new();
    lab.write("srv/docs/guia.txt", "guía\n");
    lab.add_site(
        "docs",
        "<VirtualHost *:80>\n\
         \tServerName docs.localhost\n\
         \tDocumentRoot /var/www/html\n\
         \tAlias /guias /srv/docs\n\
         \t<Directory /srv/docs>\n\
         \t\tRequire all denied\n\
         \t</Directory>\n\
         </VirtualHost>\n",
    );
    let url = format!("http://docs.localhost:{}/guias/guia.txt", lab.port);
    let out = lab.lab(&["explain", &url]);
    out.assert_code(0);
    let text = out.stdout;
    assert!(
        text.contains("Sitio virtual: docs.localhost (etc/apache2/sites-enabled/docs.conf:1:2)"),
        "{text}"
    );
    assert!(text.contains("coincide con su ServerName"), "{text}");
    assert!(
        text.contains("Alias /guias -> /srv/docs (etc/apache2/sites-enabled/docs.conf:4:2)"),
        "{text}"
    );
    assert!(text.contains("fichero de 6 bytes"), "{text}");
    assert!(
        text.contains("denegado, 403 (decide <Directory /srv/docs> en etc/apache2/sites-enabled/docs.conf:5:3)"),
        "{text}"
    );
}

#[test]
fn explain_tells_which_apache_22_rule_decides() {
    let lab = TestLab::new();
    lab.write("var/www/html/viejo/index.html", "viejo\n");
    lab.write(
        "etc/apache2/conf-enabled/viejo.conf",
        "<Directory /var/www/html/viejo>\n\tRequire all denied\n\tOrder deny,allow\n\tDeny from all\n</Directory>\n",
    );
    let url = format!("http://localhost:{}/viejo/", lab.port);
    let text = lab.lab(&["explain", &url]).assert_code(0).stdout.clone();
    assert!(
        text.contains("denegado, 403 (lo rechazan las reglas de Apache 2.2 (Order/Allow/Deny de <Directory /var/www/html/viejo> en etc/apache2/conf-enabled/viejo.conf:1:"),
        "{text}"
    );
    // `Satisfy Any` with a host rule that admits: Require is not asked, as in Apache.
    lab.write(
        "etc/apache2/conf-enabled/viejo.conf",
        "<Directory /var/www/html/viejo>\n\tRequire all denied\n\tOrder deny,allow\n\tDeny from all\n\tAllow from 127.0.0.0/8\n\tSatisfy Any\n</Directory>\n",
    );
    let text = lab.lab(&["explain", &url]).assert_code(0).stdout.clone();
    assert!(text.contains("Acceso desde 127.0.0.1: concedido"), "{text}");
    assert!(
        text.contains("`Satisfy Any` basta; Require no se consulta"),
        "{text}"
    );
}

#[test]
fn explain_rejects_what_is_not_a_url() {
    let lab = TestLab::new();
    let out = lab.lab(&["explain", "ftp:algo"]);
    out.assert_code(2);
    assert!(out.stderr.contains("no es una URL"), "{}", out.stderr);
}

#[test]
fn explain_tells_a_broken_symlink_is_a_403() {
    let lab = TestLab::new();
    lab.symlink("no-existe.txt", "var/www/html/roto.txt");
    let url = format!("http://localhost:{}/roto.txt", lab.port);
    let out = lab.lab(&["explain", &url]);
    out.assert_code(0);
    let text = out.stdout;
    assert!(
        text.contains("el destino del enlace simbólico no existe o no se puede leer; responde 403"),
        "{text}"
    );
}
