//! The memcached exercises load with the lessons engine: their TOML parses, every check
//! names a known kind, and every `{{param.*}}` in statements, hints and checks resolves for
//! a student.

use std::path::Path;

use lessons::exercise::{self, RawCheck, TreeFile};
use lessons::params::Params;

const IDS: &[&str] = &[
    "memcached-servicio",
    "memcached-telnet",
    "memcached-flask",
    "memcached-hashclient",
];

const KINDS: &[&str] = &["file", "apache", "http", "command", "process", "memcached"];

fn tree(dir: &Path) -> Vec<TreeFile> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(TreeFile {
                    path: p.strip_prefix(dir).unwrap().to_path_buf(),
                    contents: std::fs::read(&p).unwrap(),
                });
            }
        }
    }
    out
}

fn strings(v: &toml::Value, out: &mut Vec<String>) {
    match v {
        toml::Value::String(s) => out.push(s.clone()),
        toml::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        toml::Value::Table(t) => t.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

#[test]
fn memcached_exercises_parse_and_their_parameters_resolve() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("exercises");
    for id in IDS {
        let dir = root.join(id);
        let text = std::fs::read_to_string(dir.join("exercise.toml")).unwrap();
        let ex = exercise::parse(
            &text,
            &dir.join("exercise.toml"),
            id,
            tree(&dir.join("starter")),
            tree(&dir.join("solution")),
        )
        .unwrap_or_else(|e| panic!("{id}: {e:?}"));
        assert!(ex.chapter.starts_with("memcached/"), "{id}: {}", ex.chapter);
        assert!(!ex.solution.is_empty(), "{id} has no solution files");
        let params = Params::derive("ana-42", &ex.id, &ex.params);
        let mut texts = vec![params.apply(&ex.statement)];
        for step in &ex.steps {
            texts.push(params.apply(&step.title));
            texts.extend(step.hints.iter().map(|h| params.apply(h)));
            for RawCheck { table, line, .. } in &step.checks {
                let kind = table
                    .get("kind")
                    .and_then(|k| k.as_str())
                    .unwrap_or_default();
                assert!(KINDS.contains(&kind), "{id}:{line}: kind `{kind}`");
                let mut s = Vec::new();
                strings(&toml::Value::Table(table.clone()), &mut s);
                texts.extend(s.iter().map(|x| params.apply(x)));
            }
        }
        for t in texts {
            assert!(!t.contains("{{"), "{id}: unresolved placeholder in «{t}»");
        }
        assert!(
            ex.steps
                .iter()
                .any(|s| s.checks.iter().any(|c| c.kind() == Some("memcached"))),
            "{id} never asks memcached"
        );
    }
}
