//! Name-based virtual hosts: selection by the Host header, default = first vhost listed.

mod common;

use common::TestLab;

fn site(name: &str, alias: Option<&str>) -> String {
    let alias = alias
        .map(|a| format!("\tServerAlias {a}\n"))
        .unwrap_or_default();
    format!(
        "<VirtualHost *:80>\n\
         \tServerName {name}.localhost\n\
         {alias}\
         \tDocumentRoot /var/www/{name}\n\
         </VirtualHost>\n"
    )
}

fn lab_with_two_sites() -> TestLab {
    let lab = TestLab::new();
    for name in ["a", "b"] {
        lab.write(
            &format!("var/www/{name}/index.html"),
            format!("sitio {name}\n"),
        );
    }
    lab.add_site("a", &site("a", Some("www.a.localhost")));
    lab.add_site("b", &site("b", None));
    lab
}

#[test]
fn host_header_selects_the_virtual_host() {
    let mut lab = lab_with_two_sites();
    lab.start();
    let a = lab.get_host("/", "a.localhost");
    assert_eq!(a.status, 200, "{a}");
    assert_eq!(a.text(), "sitio a\n");
    let b = lab.get_host("/", "b.localhost");
    assert_eq!(b.text(), "sitio b\n", "{b}");
    let alias = lab.get_host("/", "www.a.localhost");
    assert_eq!(alias.text(), "sitio a\n", "ServerAlias: {alias}");
}

#[test]
fn host_matching_ignores_port_and_case() {
    let mut lab = lab_with_two_sites();
    lab.start();
    let with_port = lab.get_host("/", &format!("b.localhost:{}", lab.port));
    assert_eq!(with_port.text(), "sitio b\n", "{with_port}");
    let upper = lab.get_host("/", "B.LOCALHOST");
    assert_eq!(upper.text(), "sitio b\n", "{upper}");
}

#[test]
fn unknown_host_goes_to_the_first_virtual_host() {
    let mut lab = lab_with_two_sites();
    lab.start();
    // 000-default.conf sorts first in sites-enabled.
    let other = lab.get_host("/", "desconocido.localhost");
    assert_eq!(other.status, 200, "{other}");
    assert!(other.text().contains("Funciona"), "{other}");
    let ip = lab.get_host("/", "127.0.0.1");
    assert!(ip.text().contains("Funciona"), "{ip}");
}

#[test]
fn without_000_default_the_first_listed_site_is_the_default() {
    let mut lab = lab_with_two_sites();
    std::fs::remove_file(lab.path("etc/apache2/sites-enabled/000-default.conf"))
        .expect("remove 000-default");
    lab.start();
    let other = lab.get_host("/", "desconocido.localhost");
    assert_eq!(other.text(), "sitio a\n", "{other}");
}
