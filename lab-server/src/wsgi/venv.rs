//! Checks that a `python-home` is a virtual environment the embedded interpreter can use:
//! it exists, it is a venv (`pyvenv.cfg` from `python3 -m venv`, or the layout `virtualenv`
//! leaves), and it was made for the same Python major.minor the lab embeds.
//!
//! Pure file inspection: it never starts Python, so `lab configtest` can run it cheaply.

use std::path::{Path, PathBuf};

/// What a valid virtual environment offers the interpreter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Venv {
    pub home: PathBuf,
    /// `lib/pythonX.Y/site-packages`.
    pub site_packages: PathBuf,
    /// `(major, minor)` the venv was made for.
    pub version: (u8, u8),
}

/// Why a path cannot be used as `python-home`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VenvProblem {
    Missing,
    NotADirectory,
    NotAVenv,
    WrongVersion { found: (u8, u8) },
}

/// Inspects `home` for an interpreter of version `embedded`.
pub fn inspect(home: &Path, embedded: (u8, u8)) -> Result<Venv, VenvProblem> {
    if !home.exists() {
        return Err(VenvProblem::Missing);
    }
    if !home.is_dir() {
        return Err(VenvProblem::NotADirectory);
    }
    let cfg_version = std::fs::read_to_string(home.join("pyvenv.cfg"))
        .ok()
        .and_then(|text| version_from_cfg(&text));
    // The lib/pythonX.Y directories say which versions have packages installed here.
    let lib_versions: Vec<(u8, u8)> = std::fs::read_dir(home.join("lib"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| parse_major_minor(e.file_name().to_str()?.strip_prefix("python")?))
        .collect();
    let has_python = home.join("bin/python").exists() || home.join("bin/python3").exists();
    let version = match (cfg_version, lib_versions.first()) {
        (Some(v), _) => v,
        (None, Some(v)) if has_python => *v,
        _ => return Err(VenvProblem::NotAVenv),
    };
    if version != embedded {
        return Err(VenvProblem::WrongVersion { found: version });
    }
    let site_packages = home
        .join("lib")
        .join(format!("python{}.{}", version.0, version.1))
        .join("site-packages");
    if !site_packages.is_dir() {
        return Err(VenvProblem::NotAVenv);
    }
    Ok(Venv {
        home: home.to_path_buf(),
        site_packages,
        version,
    })
}

/// `version = 3.11.2` (venv) or `version_info = 3.11.2.final.0` (virtualenv).
fn version_from_cfg(text: &str) -> Option<(u8, u8)> {
    let mut fallback = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        match key.trim() {
            "version" | "version_info" => return parse_major_minor(value.trim()),
            // Some tools write only the interpreter it was made from.
            "executable" | "base-executable" => {
                let name = Path::new(value.trim()).file_name()?.to_str()?.to_string();
                fallback = name
                    .strip_prefix("python")
                    .and_then(parse_major_minor)
                    .or(fallback);
            }
            _ => {}
        }
    }
    fallback
}

fn parse_major_minor(text: &str) -> Option<(u8, u8)> {
    let mut it = text.split('.');
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some((major, minor))
}

/// The Spanish diagnostic for a problem: message and hint, naming the path and versions.
pub fn describe(
    problem: &VenvProblem,
    written: &str,
    used: &Path,
    embedded: (u8, u8),
) -> (String, String) {
    let (ma, mi) = embedded;
    let shown = if written == used.to_string_lossy() {
        format!("`{written}`")
    } else {
        format!("`{written}` (ruta usada: {})", used.display())
    };
    let create = format!(
        "créalo con `python{ma}.{mi} -m venv {}` (o `python3 -m venv`, que en Debian 12 es Python {ma}.{mi}) e instala ahí los paquetes con `{}/bin/pip install ...`",
        used.display(),
        used.display()
    );
    match problem {
        VenvProblem::Missing => (format!("python-home {shown} no existe"), create),
        VenvProblem::NotADirectory => (format!("python-home {shown} no es un directorio"), create),
        VenvProblem::NotAVenv => (
            format!("python-home {shown} no es un entorno virtual de Python (no tiene pyvenv.cfg ni lib/python{ma}.{mi}/site-packages)"),
            format!("python-home debe ser la carpeta raíz del venv (la que contiene bin/ y lib/), no la de la aplicación; {create}"),
        ),
        VenvProblem::WrongVersion { found } => (
            format!(
                "python-home {shown} es un entorno virtual de Python {}.{}, pero el laboratorio incrusta Python {ma}.{mi}",
                found.0, found.1
            ),
            format!(
                "un venv solo sirve para la versión de Python con la que se creó (mod_wsgi fallaría con \"No module named encodings\"); bórralo y vuelve a crearlo con `python{ma}.{mi} -m venv {}`",
                used.display()
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn make_venv(dir: &Path, cfg: &str, lib: &str) {
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        std::fs::write(dir.join("bin/python"), "").unwrap();
        std::fs::create_dir_all(dir.join("lib").join(lib).join("site-packages")).unwrap();
        if !cfg.is_empty() {
            std::fs::write(dir.join("pyvenv.cfg"), cfg).unwrap();
        }
    }

    #[test]
    fn a_venv_of_the_embedded_version_is_accepted() {
        let t = tempfile::tempdir().unwrap();
        make_venv(
            t.path(),
            "home = /usr/bin\nversion = 3.11.2\n",
            "python3.11",
        );
        let v = inspect(t.path(), (3, 11)).unwrap();
        assert_eq!(v.version, (3, 11));
        assert!(v.site_packages.ends_with("lib/python3.11/site-packages"));
    }

    #[test]
    fn virtualenv_version_info_is_read() {
        let t = tempfile::tempdir().unwrap();
        make_venv(t.path(), "version_info = 3.12.1.final.0\n", "python3.12");
        assert_eq!(
            inspect(t.path(), (3, 11)),
            Err(VenvProblem::WrongVersion { found: (3, 12) })
        );
    }

    #[test]
    fn a_plain_directory_is_not_a_venv_and_a_missing_one_is_missing() {
        let t = tempfile::tempdir().unwrap();
        assert_eq!(inspect(t.path(), (3, 11)), Err(VenvProblem::NotAVenv));
        assert_eq!(
            inspect(&t.path().join("nope"), (3, 11)),
            Err(VenvProblem::Missing)
        );
    }

    #[test]
    fn the_wrong_version_message_names_both_versions_and_the_fix() {
        let (msg, hint) = describe(
            &VenvProblem::WrongVersion { found: (3, 9) },
            "/home/ana/venv",
            Path::new("/home/ana/venv"),
            (3, 11),
        );
        assert!(msg.contains("3.9") && msg.contains("3.11") && msg.contains("/home/ana/venv"));
        assert!(hint.contains("python3.11 -m venv /home/ana/venv"));
    }
}
