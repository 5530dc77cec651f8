//! `lab grade` over a generated class: solved, half-solved, broken, copied and hostile
//! workspaces (a WSGI script that loops forever, a configuration that includes /etc/passwd,
//! a zip with `../` entries and symlinks out). Checks scores, reasons, the reports (CSV and
//! JSON snapshots, JUnit, the HTML in headless Chromium), isolation, `--only-changed` and
//! `--merge`.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{run_lab, run_lab_timeout, Output};
use serde_json::Value;

const EXERCISES: &str = "apache-sitio,wsgi-hola,memcached-telnet";

fn lab_in(dir: &Path, args: &[&str]) -> Output {
    run_lab(args, dir)
}

fn solve(class: &Path, student: &str, ids: &[&str]) {
    lab_in(class, &["init", student, "--student", student]).assert_code(0);
    for id in ids {
        lab_in(class, &["--workspace", student, "dev", "solve", id]).assert_code(0);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        let t = to.join(e.file_name());
        let meta = std::fs::symlink_metadata(&p).unwrap();
        if meta.file_type().is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&p).unwrap(), &t).unwrap();
        } else if meta.is_dir() {
            copy_dir(&p, &t);
        } else {
            std::fs::copy(&p, &t).unwrap();
        }
    }
}

/// Every file under `dir` with its contents (symlinks by target), to prove nothing changed.
fn snapshot_tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(dir).unwrap().to_path_buf();
            if meta.file_type().is_symlink() {
                out.insert(
                    rel,
                    std::fs::read_link(&p)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned()
                        .into_bytes(),
                );
            } else if meta.is_dir() {
                stack.push(p);
            } else {
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// The hostile zip: a workspace plus `../` entries and a symlink to /etc/passwd.
fn hostile_zip(class: &Path, from: &Path) {
    let f = std::fs::File::create(class.join("hugo.zip")).unwrap();
    let mut z = zip::ZipWriter::new(f);
    let opts = zip::write::SimpleFileOptions::default();
    let mut stack = vec![from.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let rel = format!("hugo/{}", p.strip_prefix(from).unwrap().display());
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.file_type().is_symlink() {
                z.add_symlink(rel, std::fs::read_link(&p).unwrap().to_string_lossy(), opts)
                    .unwrap();
            } else if meta.is_dir() {
                stack.push(p);
            } else {
                z.start_file(rel, opts).unwrap();
                z.write_all(&std::fs::read(&p).unwrap()).unwrap();
            }
        }
    }
    z.start_file("../escapado-hugo.txt", opts).unwrap();
    z.write_all(b"fuera").unwrap();
    z.start_file("hugo/../../escapado2-hugo.txt", opts).unwrap();
    z.write_all(b"fuera").unwrap();
    z.add_symlink("hugo/var/www/html/secreto", "/etc/passwd", opts)
        .unwrap();
    z.finish().unwrap();
}

struct Class {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    class: PathBuf,
    out: PathBuf,
}

fn make_class() -> Class {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let class = root.join("clase");
    std::fs::create_dir_all(&class).unwrap();
    // Solved and half-solved.
    solve(
        &class,
        "ana",
        &["apache-sitio", "wsgi-hola", "memcached-telnet"],
    );
    solve(&class, "berta", &["apache-sitio"]);
    // Broken: an Apache configuration with a syntax error, and a folder without lab.toml.
    solve(&class, "carlos", &["apache-sitio", "wsgi-hola"]);
    std::fs::write(
        class.join("carlos/etc/apache2/sites-available/wsgi.conf"),
        "<VirtualHost *:80>\n  DocumentRot /var/www/html\n",
    )
    .unwrap();
    std::fs::create_dir_all(class.join("dani/cosas")).unwrap();
    std::fs::write(class.join("dani/cosas/LEEME.txt"), "sin lab.toml").unwrap();
    // Copied: ana's workspace with another student id.
    copy_dir(&class.join("ana"), &class.join("eva"));
    let toml = std::fs::read_to_string(class.join("eva/lab.toml")).unwrap();
    std::fs::write(
        class.join("eva/lab.toml"),
        toml.replace("student = \"ana\"", "student = \"eva\""),
    )
    .unwrap();
    // Hostile: a WSGI script that loops forever...
    solve(&class, "fede", &["wsgi-hola"]);
    std::fs::write(
        class.join("fede/var/www/wsgi/hola.wsgi"),
        "while True:\n    pass\n",
    )
    .unwrap();
    // ...a configuration that includes /etc/passwd...
    solve(&class, "gema", &["apache-sitio", "wsgi-hola"]);
    let conf = class.join("gema/etc/apache2/apache2.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(&conf, format!("{text}\nInclude /etc/passwd\n")).unwrap();
    // ...and a zip with `../` entries and a symlink out.
    let staging = root.join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    solve(&staging, "hugo", &["apache-sitio"]);
    hostile_zip(&class, &staging.join("hugo"));
    let out = root.join("informes");
    Class {
        _tmp: tmp,
        root,
        class,
        out,
    }
}

fn grade(c: &Class, extra: &[&str]) -> Output {
    let class = c.class.to_str().unwrap().to_string();
    let csv = c.out.join("notas.csv");
    let json = c.out.join("notas.json");
    let html = c.out.join("notas.html");
    let junit = c.out.join("junit.xml");
    let mut args = vec![
        "grade",
        &class,
        "--exercises",
        EXERCISES,
        "--jobs",
        "2",
        "--timeout",
        "15",
        "--csv",
        csv.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run_lab_timeout(&args, &c.root, &[], Duration::from_secs(300))
        .unwrap_or_else(|p| panic!("lab grade no terminó\n{}\n{}", p.stdout, p.stderr))
}

fn students(json: &Value) -> BTreeMap<String, Value> {
    json["students"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["student"].as_str().unwrap().to_string(), s.clone()))
        .collect()
}

fn exercise<'a>(s: &'a Value, id: &str) -> &'a Value {
    s["exercises"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == id)
        .unwrap_or_else(|| panic!("{id} falta en {s}"))
}

/// The JSON without what changes between runs (durations, paths, hashes, ports).
fn stable_json(v: &Value) -> Value {
    let mut v = v.clone();
    for s in v["students"].as_array_mut().unwrap() {
        let o = s.as_object_mut().unwrap();
        o.remove("duration_ms");
        o.remove("source");
        if o.contains_key("hash") {
            o.insert("hash".into(), Value::String("<hash>".into()));
        }
    }
    let text = serde_json::to_string_pretty(&v).unwrap();
    let ports = regex::Regex::new(r"127\.0\.0\.1:\d+").unwrap();
    serde_json::from_str(&ports.replace_all(&text, "127.0.0.1:PUERTO")).unwrap()
}

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|n| {
            std::env::split_paths(&path)
                .map(|d| d.join(n))
                .find(|p| p.is_file())
        })
}

#[test]
fn a_generated_class_is_graded_with_reports_isolation_only_changed_and_merge() {
    let c = make_class();
    let before = snapshot_tree(&c.class);
    let out = grade(&c, &[]);
    out.assert_code(0);

    // The student files were never modified, and nothing escaped the zip.
    assert_eq!(
        snapshot_tree(&c.class),
        before,
        "lab grade cambió ficheros de la clase"
    );
    assert!(!c.root.join("escapado-hugo.txt").exists());
    assert!(!c.class.join("escapado-hugo.txt").exists());
    assert!(!std::env::temp_dir().join("escapado2-hugo.txt").exists());

    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(c.out.join("notas.json")).unwrap()).unwrap();
    let st = students(&json);
    assert_eq!(
        st.keys().cloned().collect::<Vec<_>>(),
        ["ana", "berta", "carlos", "dani", "eva", "fede", "gema", "hugo"],
        "{}",
        out.stdout
    );
    // Solved: everything.
    assert_eq!(st["ana"]["score"], 30.0, "{}", st["ana"]);
    // Half-solved: apache-sitio only.
    assert_eq!(st["berta"]["score"], 10.0, "{}", st["berta"]);
    // Broken configuration: the Apache steps fail with the line of the error.
    let carlos = exercise(&st["carlos"], "wsgi-hola");
    assert_eq!(carlos["score"], 0.0, "{carlos}");
    assert!(
        carlos.to_string().contains("sites-enabled/wsgi.conf:1"),
        "{carlos}"
    );
    // No lab.toml: 0 with the reason.
    assert_eq!(st["dani"]["score"], 0.0);
    assert!(
        st["dani"]["error"]
            .as_str()
            .unwrap()
            .contains("falta lab.toml"),
        "{}",
        st["dani"]
    );
    // Copied: ana's files with eva's id fail the parameterised steps and are flagged.
    assert!(st["eva"]["score"].as_f64().unwrap() < 30.0, "{}", st["eva"]);
    assert_eq!(exercise(&st["eva"], "apache-sitio")["score"], 0.0);
    assert_eq!(st["eva"]["identical_to"], serde_json::json!(["ana"]));
    assert_eq!(st["ana"]["identical_to"], serde_json::json!(["eva"]));
    // The script that loops forever: 0 for that exercise, within the time limit.
    let fede = exercise(&st["fede"], "wsgi-hola");
    assert_eq!(fede["steps"][2]["passed"], false, "{fede}");
    // The configuration that includes /etc/passwd: refused, and nothing of it leaks.
    let gema = exercise(&st["gema"], "wsgi-hola");
    assert_eq!(gema["steps"][0]["passed"], false, "{gema}");
    assert_eq!(gema["steps"][2]["passed"], false, "{gema}");
    assert!(
        gema.to_string()
            .contains("`Include /etc/passwd`: el fichero no existe (se buscó en etc/passwd)"),
        "{gema}"
    );
    let all_reports: String = ["notas.csv", "notas.json", "notas.html", "junit.xml"]
        .iter()
        .map(|f| std::fs::read_to_string(c.out.join(f)).unwrap())
        .collect();
    assert!(
        !all_reports.contains("root:x:0:0"),
        "el informe filtra /etc/passwd"
    );
    // The hostile zip: graded from what is safe, the rest ignored with the reason.
    assert_eq!(st["hugo"]["score"], 10.0, "{}", st["hugo"]);
    let notes = st["hugo"]["notes"].to_string();
    assert!(notes.contains("escapado-hugo.txt"), "{notes}");
    assert!(notes.contains("enlace simbólico"), "{notes}");

    // Reports: CSV and JSON snapshots; JUnit has one test case per step.
    insta::assert_snapshot!(
        "grade_csv",
        std::fs::read_to_string(c.out.join("notas.csv")).unwrap()
    );
    insta::assert_json_snapshot!("grade_json", stable_json(&json));
    let junit = std::fs::read_to_string(c.out.join("junit.xml")).unwrap();
    assert!(
        junit.contains("<testsuite name=\"ana\" tests=\"10\" failures=\"0\""),
        "{junit}"
    );
    assert!(junit.contains("classname=\"berta.wsgi-hola\""), "{junit}");
    assert_eq!(junit.matches("<testsuite ").count(), 8);

    // The HTML opens in headless Chromium with its charts and tables.
    let html_path = c.out.join("notas.html");
    match chromium() {
        Some(bin) => {
            let profile = c.root.join("perfil-chromium");
            let dom = std::process::Command::new(bin)
                .args([
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--dump-dom",
                ])
                .arg(format!("--user-data-dir={}", profile.display()))
                .arg(format!("file://{}", html_path.display()))
                .output()
                .expect("chromium");
            let dom = String::from_utf8_lossy(&dom.stdout);
            assert!(dom.contains("<svg id=\"distribucion\""), "{dom}");
            assert!(dom.contains("id=\"fallos\""), "{dom}");
            assert!(dom.contains("<li>eva: idéntico a ana</li>"), "{dom}");
            assert_eq!(dom.matches("class=\"barra\"").count(), 10 + 3, "{dom}");
        }
        None if std::env::var_os("CI").is_some() => {
            panic!("CI necesita chromium para abrir el informe HTML")
        }
        None => eprintln!("aviso: sin chromium, el informe HTML no se abre en un navegador"),
    }

    // --only-changed: nothing changed, everything reused...
    let again = grade(&c, &["--only-changed"]);
    again.assert_code(0);
    let json2: Value =
        serde_json::from_str(&std::fs::read_to_string(c.out.join("notas.json")).unwrap()).unwrap();
    let st2 = students(&json2);
    assert!(st2["ana"]["notes"].to_string().contains("sin cambios"));
    assert_eq!(st2["ana"]["score"], 30.0);
    // ...then berta solves wsgi-hola: only she is graded again.
    lab_in(
        &c.class,
        &["--workspace", "berta", "dev", "solve", "wsgi-hola"],
    )
    .assert_code(0);
    let third = grade(&c, &["--only-changed"]);
    third.assert_code(0);
    let json3: Value =
        serde_json::from_str(&std::fs::read_to_string(c.out.join("notas.json")).unwrap()).unwrap();
    let st3 = students(&json3);
    assert_eq!(st3["berta"]["score"], 20.0, "{}", st3["berta"]);
    assert!(!st3["berta"]["notes"].to_string().contains("sin cambios"));
    assert!(st3["ana"]["notes"].to_string().contains("sin cambios"));

    // --merge: results from `lab check --json` in two students' repositories.
    let ci = c.root.join("ci");
    std::fs::create_dir_all(&ci).unwrap();
    copy_dir(&c.class.join("ana"), &ci.join("ana"));
    copy_dir(&c.class.join("berta"), &ci.join("berta"));
    for s in ["ana", "berta"] {
        let json = ci.join(format!("{s}.json"));
        let junit = ci.join(format!("{s}.xml"));
        let out = lab_in(
            &ci,
            &[
                "--workspace",
                s,
                "check",
                "apache-sitio",
                "--json",
                json.to_str().unwrap(),
                "--junit",
                junit.to_str().unwrap(),
            ],
        );
        out.assert_code(0);
        assert!(std::fs::read_to_string(&junit)
            .unwrap()
            .contains(&format!("classname=\"{s}.apache-sitio\"")));
    }
    let merged = ci.join("juntos.csv");
    let out = lab_in(
        &ci,
        &[
            "grade",
            "--merge",
            ci.join("ana.json").to_str().unwrap(),
            ci.join("berta.json").to_str().unwrap(),
            "--csv",
            merged.to_str().unwrap(),
        ],
    );
    out.assert_code(0);
    let csv = std::fs::read_to_string(&merged).unwrap();
    assert_eq!(
        csv,
        "Identificador,apache-sitio,Total,Comentarios\nana,10,10,Todo correcto.\nberta,10,10,Todo correcto.\n"
    );
}

#[test]
fn bad_arguments_are_reported_in_spanish() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_lab(&["grade", "no-existe"], tmp.path());
    out.assert_code(1);
    assert!(
        out.stderr
            .contains("`no-existe` no es un espacio de trabajo"),
        "{}",
        out.stderr
    );
    let out = run_lab(&["grade", ".", "--exercises", "inventado"], tmp.path());
    out.assert_code(1);
    assert!(
        out.stderr.contains("el ejercicio `inventado` no existe"),
        "{}",
        out.stderr
    );
    std::fs::write(tmp.path().join("x.json"), "{").unwrap();
    let out = run_lab(&["grade", "--merge", "x.json"], tmp.path());
    out.assert_code(1);
    assert!(
        out.stderr.contains("x.json: no es un resultado"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_instructors_running_lab_on_the_same_ports_is_untouched() {
    // The instructor's lab, running, with `Listen 80` on port P.
    let mut instructor = common::TestLab::new();
    instructor.write("var/www/html/index.html", "PROFESOR");
    instructor.start();
    // A student whose workspace maps port 80 to the same P.
    let tmp = tempfile::tempdir().unwrap();
    let class = tmp.path().join("clase");
    std::fs::create_dir_all(&class).unwrap();
    solve(&class, "ines", &["apache-sitio"]);
    let toml = class.join("ines/lab.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    let text = regex::Regex::new(r"(?m)^privileged_port_offset = \d+")
        .unwrap()
        .replace(
            &text,
            format!("privileged_port_offset = {}", instructor.offset).as_str(),
        )
        .replace(
            "map_privileged_ports = \"auto\"",
            "map_privileged_ports = \"always\"",
        );
    std::fs::write(&toml, text).unwrap();
    let json = tmp.path().join("notas.json");
    let out = run_lab_timeout(
        &[
            "grade",
            class.to_str().unwrap(),
            "--exercises",
            "apache-sitio",
            "--json",
            json.to_str().unwrap(),
        ],
        tmp.path(),
        &[],
        Duration::from_secs(120),
    )
    .unwrap();
    out.assert_code(0);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    // Her own instance answered her requests (her page, not the instructor's)...
    assert_eq!(v["students"][0]["score"], 10.0, "{v}");
    // ...and the instructor's lab still serves its own page on P.
    let resp = instructor.get("/");
    assert_eq!(resp.status, 200);
    assert!(resp.text().contains("PROFESOR"));
    assert!(
        !instructor.output().contains("ines"),
        "{}",
        instructor.output()
    );
}

#[test]
fn ctrl_c_stops_cleanly_and_keeps_what_was_graded() {
    let tmp = tempfile::tempdir().unwrap();
    let class = tmp.path().join("clase");
    std::fs::create_dir_all(&class).unwrap();
    solve(&class, "ana", &["apache-sitio"]);
    for s in ["bucle1", "bucle2"] {
        solve(&class, s, &["wsgi-hola"]);
        std::fs::write(
            class.join(format!("{s}/var/www/wsgi/hola.wsgi")),
            "while True:\n    pass\n",
        )
        .unwrap();
    }
    let json = tmp.path().join("informes/notas.json");
    let child = std::process::Command::new(common::lab_bin())
        .args(["grade", class.to_str().unwrap()])
        .args(["--exercises", "apache-sitio,wsgi-hola", "--jobs", "2"])
        .args(["--timeout", "100", "--json", json.to_str().unwrap()])
        .current_dir(tmp.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // ana takes about a second; the looping workspaces would take 100 s each.
    std::thread::sleep(Duration::from_secs(8));
    let started = std::time::Instant::now();
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "tardó en pararse"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("Corrección interrumpida: 1 de 3"),
        "{stderr}"
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["students"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["students"][0]["student"], "ana");
    // The database kept ana: a re-run with --only-changed reuses her result.
    std::fs::remove_dir_all(class.join("bucle1")).unwrap();
    std::fs::remove_dir_all(class.join("bucle2")).unwrap();
    let again = run_lab_timeout(
        &[
            "grade",
            class.to_str().unwrap(),
            "--exercises",
            "apache-sitio,wsgi-hola",
            "--only-changed",
            "--json",
            json.to_str().unwrap(),
        ],
        tmp.path(),
        &[],
        Duration::from_secs(60),
    )
    .unwrap();
    again.assert_code(0);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert!(
        v["students"][0]["notes"]
            .to_string()
            .contains("sin cambios"),
        "{v}"
    );
    // No worker (nor `lab start`) of the interrupted run is left.
    let marker = format!("lab-grade-{pid}-");
    let leftovers = || -> Vec<String> {
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
            .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
            .filter(|c| c.contains(&marker))
            .collect()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !leftovers().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(leftovers().is_empty(), "{:?}", leftovers());
}

#[test]
fn the_instructors_chapter_shows_the_workflow_templates_verbatim() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let chapter = std::fs::read_to_string(root.join("book/src/profesorado/index.md")).unwrap();
    for f in ["github-classroom.yml", "gitlab-ci.yml"] {
        let text =
            std::fs::read_to_string(root.join("book/src/profesorado/plantillas").join(f)).unwrap();
        assert!(chapter.contains(&text), "{f} no coincide con el capítulo");
        // Each runs the same grading as the instructor's machine and keeps the JSON.
        assert!(text.contains("lab grade . --json resultados.json --junit junit.xml"));
    }
    let summary = std::fs::read_to_string(root.join("book/src/SUMMARY.md")).unwrap();
    assert!(summary.contains("(profesorado/index.md)"));
}

#[test]
fn a_workspace_graded_in_place_is_named_by_its_folder_when_lab_toml_has_no_id() {
    let tmp = tempfile::tempdir().unwrap();
    lab_in(tmp.path(), &["init", "repo-tarea-luis"]).assert_code(0);
    let ws = tmp.path().join("repo-tarea-luis");
    let out = run_lab_timeout(
        &[
            "grade",
            ".",
            "--exercises",
            "apache-sitio",
            "--json",
            "r.json",
        ],
        &ws,
        &[],
        Duration::from_secs(60),
    )
    .unwrap();
    out.assert_code(0);
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(ws.join("r.json")).unwrap()).unwrap();
    assert_eq!(v["students"][0]["student"], "repo-tarea-luis", "{v}");
    assert_eq!(v["students"][0]["score"], 0.0);
}

#[test]
fn a_git_repository_is_cloned_at_its_ref_and_graded() {
    if std::process::Command::new("git")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(std::env::var_os("CI").is_none(), "CI necesita git");
        eprintln!("aviso: sin git no se prueba la corrección de repositorios");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    solve(tmp.path(), "rosa", &[]);
    let repo = tmp.path().join("rosa");
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=Rosa", "-c", "user.email=rosa@example.org"])
            .args(args)
            .current_dir(&repo)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "inicio"]);
    // The `entrega` branch has the solution; main does not.
    git(&["checkout", "-q", "-b", "entrega"]);
    lab_in(
        tmp.path(),
        &["--workspace", "rosa", "dev", "solve", "apache-sitio"],
    )
    .assert_code(0);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "entrega"]);
    git(&["checkout", "-q", "main"]);
    let url = format!("file://{}", repo.display());
    let json = tmp.path().join("r.json");
    for (target, score) in [(format!("{url}#entrega"), 10.0), (url.clone(), 0.0)] {
        let out = run_lab_timeout(
            &[
                "grade",
                &target,
                "--exercises",
                "apache-sitio",
                "--json",
                json.to_str().unwrap(),
            ],
            tmp.path(),
            &[],
            Duration::from_secs(60),
        )
        .unwrap();
        out.assert_code(0);
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(v["students"][0]["student"], "rosa", "{v}");
        assert_eq!(v["students"][0]["score"], score, "{target}: {v}");
        assert_eq!(v["students"][0]["source"], target.as_str());
    }
    // A ref that does not exist: 0 with git's reason, and the run goes on.
    let out = run_lab_timeout(
        &[
            "grade",
            &format!("{url}#no-existe"),
            "--exercises",
            "apache-sitio",
            "--json",
            json.to_str().unwrap(),
        ],
        tmp.path(),
        &[],
        Duration::from_secs(60),
    )
    .unwrap();
    out.assert_code(0);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert!(
        v["students"][0]["error"]
            .as_str()
            .unwrap()
            .contains("no-existe"),
        "{v}"
    );
}
