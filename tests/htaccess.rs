//! `.htaccess` in the lab beyond the recorded transcripts (tests/transcripts/apache/htaccess.*):
//! `AccessFileName`, a change seen on the next request without a reload, `lab explain`, and
//! the main server's `<Directory>` deciding where files are read.

mod common;

use common::TestLab;

fn lab_with_overrides() -> TestLab {
    let lab = TestLab::new();
    lab.replace(
        "etc/apache2/sites-available/000-default.conf",
        "DocumentRoot /var/www/html",
        "DocumentRoot /var/www/html\n\t<Directory /var/www/html/zona>\n\t\tAllowOverride All\n\t</Directory>",
    );
    lab.write("var/www/html/zona/a.txt", "hola\n");
    lab.write("var/www/html/zona/sub/b.txt", "adiós\n");
    lab
}

#[test]
fn a_changed_htaccess_counts_on_the_next_request_without_reload() {
    let mut lab = lab_with_overrides();
    lab.start();
    assert_eq!(lab.get("/zona/a.txt").status, 200);
    lab.write("var/www/html/zona/.htaccess", "Require all denied\n");
    assert_eq!(lab.get("/zona/a.txt").status, 403);
    // Below too: the walk reads it for every directory under it.
    assert_eq!(lab.get("/zona/sub/b.txt").status, 403);
    // A different size and contents: read again.
    lab.write(
        "var/www/html/zona/.htaccess",
        "# abierto otra vez\nRequire all granted\n",
    );
    assert_eq!(lab.get("/zona/a.txt").status, 200);
    // Broken: a 500 for that directory, the rest of the site untouched.
    lab.write("var/www/html/zona/.htaccess", "Requiere all granted\n");
    let r = lab.get("/zona/a.txt");
    assert_eq!(r.status, 500, "{r}");
    lab.write("var/www/html/index.html", "portada\n");
    assert_eq!(lab.get("/index.html").status, 200);
    let log = lab.read("var/log/apache2/error.log");
    let root = lab.root.join("var/www/html/zona/.htaccess");
    assert!(
        log.lines().any(|l| l.contains("[core:alert]")
            && l.ends_with(&format!(
                "{}: Invalid command 'Requiere', perhaps misspelled or defined by a module not included in the server configuration",
                root.display()
            ))),
        "{log}"
    );
    // `lab explain` names the broken file; configtest does not look at it, as on Debian.
    let explain = lab.lab(&["explain", "http://localhost/zona/a.txt"]).all();
    assert!(
        explain.contains("var/www/html/zona/.htaccess no es válido"),
        "{explain}"
    );
    lab.configtest().assert_code(0);
    lab.write("var/www/html/zona/.htaccess", "DirectoryIndex a.txt\n");
    let r = lab.get("/zona/");
    assert_eq!((r.status, r.text().as_str()), (200, "hola\n"), "{r}");
    let explain = lab.lab(&["explain", "http://localhost/zona/"]).all();
    assert!(
        explain.contains("Ficheros .htaccess leídos")
            && explain.contains("var/www/html/zona/.htaccess"),
        "{explain}"
    );
}

#[test]
fn access_file_name_chooses_the_file_and_none_reads_nothing() {
    let mut lab = lab_with_overrides();
    lab.replace(
        "etc/apache2/apache2.conf",
        "AccessFileName .htaccess",
        "AccessFileName .acceso",
    );
    lab.write("var/www/html/zona/.htaccess", "Require all denied\n");
    lab.write("var/www/html/zona/.acceso", "Header set X-Leido acceso\n");
    lab.lab(&["a2enmod", "headers"]).assert_code(0);
    // AllowOverride None (Debian's default for /var/www/): nothing read there.
    lab.write("var/www/html/.acceso", "Esto romperia todo\n");
    lab.start();
    let r = lab.get("/zona/a.txt");
    assert_eq!(r.status, 200, "{r}");
    assert_eq!(r.header("x-leido"), Some("acceso"), "{r}");
    assert_eq!(lab.get("/index.html").status, 200);
    // The name in the URL is still refused (Debian's <FilesMatch "^\.ht">), and the
    // other name too when it starts with .ht.
    assert_eq!(lab.get("/zona/.htaccess").status, 403);
}

/// A WSGI script's directory is walked too: its `.htaccess` decides access, as in Apache.
#[test]
fn a_wsgi_scripts_directory_reads_its_htaccess() {
    let mut lab = TestLab::new();
    lab.lab(&["a2enmod", "wsgi"]).assert_code(0);
    lab.write(
        "var/www/app/app.wsgi",
        "def application(environ, start_response):\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [b'app']\n",
    );
    lab.add_site(
        "app",
        "<VirtualHost *:80>\n    ServerName app.localhost\n    WSGIScriptAlias /app /var/www/app/app.wsgi\n    <Directory /var/www/app>\n        Require all granted\n        AllowOverride AuthConfig\n    </Directory>\n</VirtualHost>\n",
    );
    lab.start();
    assert_eq!(lab.get_host("/app", "app.localhost").text(), "app");
    lab.write("var/www/app/.htaccess", "Require all denied\n");
    assert_eq!(lab.get_host("/app", "app.localhost").status, 403);
    lab.write("var/www/app/.htaccess", "Header set X 1\n");
    assert_eq!(lab.get_host("/app", "app.localhost").status, 500);
}
