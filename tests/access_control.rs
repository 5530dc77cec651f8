//! `Require` (mod_authz_core, mod_authz_host) on `<Directory>` and `<Location>`.

mod common;

use common::TestLab;

fn lab_with_dir(name: &str, require: &str) -> TestLab {
    let lab = TestLab::new();
    lab.write(&format!("var/www/html/{name}/index.html"), "contenido\n");
    lab.write(
        &format!("etc/apache2/conf-available/{name}.conf"),
        format!("<Directory /var/www/html/{name}>\n\t{require}\n</Directory>\n"),
    );
    lab.symlink(
        format!("../conf-available/{name}.conf"),
        &format!("etc/apache2/conf-enabled/{name}.conf"),
    );
    lab
}

#[test]
fn require_all_denied_gives_403() {
    let mut lab = lab_with_dir("privado", "Require all denied");
    lab.start();
    let resp = lab.get("/privado/");
    assert_eq!(resp.status, 403, "{resp}");
    assert!(!resp.text().contains("contenido"));
    let file = lab.get("/privado/index.html");
    assert_eq!(file.status, 403, "{file}");
    // The rest of the site is untouched.
    assert_eq!(lab.get("/").status, 200);
}

#[test]
fn require_ip_of_another_network_gives_403_from_loopback() {
    let mut lab = lab_with_dir("intranet", "Require ip 10.0.0.0/8");
    lab.start();
    let resp = lab.get("/intranet/");
    assert_eq!(resp.status, 403, "{resp}");
}

#[test]
fn require_ip_of_loopback_gives_200() {
    let mut lab = lab_with_dir("intranet", "Require ip 127.0.0.1");
    lab.start();
    let resp = lab.get("/intranet/");
    assert_eq!(resp.status, 200, "{resp}");
}

#[test]
fn require_local_gives_200_from_loopback() {
    let mut lab = lab_with_dir("local", "Require local");
    lab.start();
    let resp = lab.get("/local/");
    assert_eq!(resp.status, 200, "{resp}");
    assert_eq!(resp.text(), "contenido\n");
}

#[test]
fn require_any_grants_when_one_rule_matches() {
    let mut lab = lab_with_dir(
        "mixto",
        "<RequireAny>\n\t\tRequire ip 10.0.0.0/8\n\t\tRequire local\n\t</RequireAny>",
    );
    lab.start();
    assert_eq!(lab.get("/mixto/").status, 200);
}

#[test]
fn require_all_needs_every_rule() {
    let mut lab = lab_with_dir(
        "ambos",
        "<RequireAll>\n\t\tRequire local\n\t\tRequire ip 10.0.0.0/8\n\t</RequireAll>",
    );
    lab.start();
    assert_eq!(lab.get("/ambos/").status, 403);
}

#[test]
fn location_denied_overrides_directory_granted() {
    let mut lab = TestLab::new();
    lab.write("var/www/html/admin/index.html", "admin\n");
    lab.replace(
        "etc/apache2/sites-available/000-default.conf",
        "</VirtualHost>",
        "\t<Location /admin>\n\t\tRequire all denied\n\t</Location>\n</VirtualHost>",
    );
    lab.start();
    assert_eq!(lab.get("/admin/").status, 403);
}

#[test]
fn files_outside_var_www_are_denied_by_the_root_directory_block() {
    let mut lab = TestLab::new();
    lab.write("srv/web/index.html", "srv\n");
    lab.replace(
        "etc/apache2/sites-available/000-default.conf",
        "DocumentRoot /var/www/html",
        "DocumentRoot /srv/web",
    );
    lab.start();
    // apache2.conf: <Directory /> Require all denied; nothing grants /srv.
    let resp = lab.get("/");
    assert_eq!(resp.status, 403, "{resp}");
}

#[test]
fn remoteip_proxies_must_be_addresses_and_need_the_module() {
    let lab = TestLab::new();
    lab.write(
        "etc/apache2/conf-available/varnish.conf",
        "RemoteIPHeader X-Forwarded-For\nRemoteIPInternalProxy 127.0.0.1 varnish.local\n",
    );
    lab.symlink(
        "../conf-available/varnish.conf",
        "etc/apache2/conf-enabled/varnish.conf",
    );
    // Without `a2enmod remoteip` the directive is unknown to Apache too.
    let out = lab.configtest();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("remoteip"), "{}", out.stderr);
    lab.lab(&["a2enmod", "remoteip"]).assert_code(0);
    let out = lab.configtest();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("`varnish.local` no es una dirección IP")
            && out
                .stderr
                .contains("etc/apache2/conf-enabled/varnish.conf:2:33"),
        "{}",
        out.stderr
    );
    lab.write(
        "etc/apache2/conf-available/varnish.conf",
        "RemoteIPHeader X-Forwarded-For\nRemoteIPInternalProxy 127.0.0.1 10.0\n",
    );
    lab.configtest().assert_code(0);
}
