//! What `lab grade` takes: a workspace, a folder of them, a `.zip`/`.tar.gz` of one, or a git
//! repository (path or URL, `URL#ref` for a branch or tag), and how each becomes a directory.

use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where a submission comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A workspace directory (graded from a copy).
    Dir(PathBuf),
    /// A `.zip`, `.tar.gz` or `.tgz` archive of one.
    Archive(PathBuf),
    /// A git repository URL or path, and the ref to check out.
    Git(String, Option<String>),
}

/// One workspace to grade.
#[derive(Debug, Clone)]
pub struct Submission {
    /// The name to use when `lab.toml` gives no student id (folder or file name).
    pub fallback_id: String,
    pub source: Source,
}

impl Submission {
    /// How the source is shown in reports.
    pub fn describe(&self) -> String {
        match &self.source {
            Source::Dir(p) | Source::Archive(p) => p.display().to_string(),
            Source::Git(url, Some(r)) => format!("{url}#{r}"),
            Source::Git(url, None) => url.clone(),
        }
    }
}

/// Limits on archives.
#[derive(Debug, Clone, Copy)]
pub struct ArchiveLimits {
    pub max_bytes: u64,
    pub max_entries: usize,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits {
            max_bytes: 512 << 20,
            max_entries: 50_000,
        }
    }
}

fn is_archive(p: &Path) -> bool {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    name.ends_with(".zip") || name.ends_with(".tar.gz") || name.ends_with(".tgz")
}

fn archive_stem(p: &Path) -> String {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for ext in [".tar.gz", ".tgz", ".zip", ".TAR.GZ", ".TGZ", ".ZIP"] {
        if let Some(s) = name.strip_suffix(ext) {
            return s.to_string();
        }
    }
    name
}

fn is_git_url(s: &str) -> bool {
    s.starts_with("https://")
        || s.starts_with("http://")
        || s.starts_with("ssh://")
        || s.starts_with("git://")
        || s.starts_with("file://")
        || s.starts_with("git@")
}

fn name_of(p: &Path) -> String {
    let absolute = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    absolute
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// A directory that holds a workspace: itself, or its only subdirectory (an archive or a
/// repository that wraps the workspace in a folder).
pub fn workspace_root(dir: &Path) -> Option<PathBuf> {
    if dir.join("lab.toml").is_file() {
        return Some(dir.to_path_buf());
    }
    let subdirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() && !name_of(p).starts_with('.') && name_of(p) != "__MACOSX")
        .collect();
    match subdirs.as_slice() {
        [one] if one.join("lab.toml").is_file() => Some(one.clone()),
        _ => None,
    }
}

/// Expands the command line's PATHs into submissions, in order. Directories in `skip` (where
/// the reports go) are not submissions. Errors name the PATH.
pub fn expand(paths: &[String], skip: &[PathBuf]) -> Result<Vec<Submission>, String> {
    let skip: Vec<PathBuf> = skip
        .iter()
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .collect();
    let mut out = Vec::new();
    for arg in paths {
        let (url, reference) = match arg.split_once('#') {
            Some((u, r)) if is_git_url(u) || u.ends_with(".git") => (u, Some(r.to_string())),
            _ => (arg.as_str(), None),
        };
        if is_git_url(url) || (url.ends_with(".git") && Path::new(url).is_dir()) {
            let stem = url
                .trim_end_matches('/')
                .rsplit(['/', ':'])
                .next()
                .unwrap_or(url)
                .trim_end_matches(".git")
                .to_string();
            out.push(Submission {
                fallback_id: stem,
                source: Source::Git(url.to_string(), reference),
            });
            continue;
        }
        let p = Path::new(arg);
        if p.is_file() && is_archive(p) {
            out.push(Submission {
                fallback_id: archive_stem(p),
                source: Source::Archive(p.to_path_buf()),
            });
            continue;
        }
        if !p.is_dir() {
            return Err(format!(
                "`{arg}` no es un espacio de trabajo, ni una carpeta, ni un .zip/.tar.gz, ni un repositorio git"
            ));
        }
        if workspace_root(p).is_some() {
            out.push(Submission {
                fallback_id: name_of(p),
                source: Source::Dir(p.to_path_buf()),
            });
            continue;
        }
        // A folder of submissions.
        let mut children: Vec<PathBuf> = std::fs::read_dir(p)
            .map_err(|e| format!("no se pudo leer {arg}: {e}"))?
            .flatten()
            .map(|e| e.path())
            .collect();
        children.sort();
        let before = out.len();
        for c in children {
            if name_of(&c).starts_with('.')
                || std::fs::canonicalize(&c).is_ok_and(|c| skip.contains(&c))
            {
                continue;
            }
            if c.is_file() && is_archive(&c) {
                out.push(Submission {
                    fallback_id: archive_stem(&c),
                    source: Source::Archive(c),
                });
            } else if c.is_dir() {
                // A folder without lab.toml is still graded (0, with the reason).
                out.push(Submission {
                    fallback_id: name_of(&c),
                    source: Source::Dir(c),
                });
            }
        }
        if out.len() == before {
            return Err(format!(
                "`{arg}` no tiene lab.toml ni contiene espacios de trabajo, archivos .zip/.tar.gz o carpetas"
            ));
        }
    }
    Ok(out)
}

/// Makes the submission a directory under `scratch` (archives extracted, repositories
/// cloned); a directory source is returned as is. Returns the directory and notes.
pub fn materialize(
    sub: &Submission,
    scratch: &Path,
    limits: ArchiveLimits,
) -> Result<(PathBuf, Vec<String>), String> {
    match &sub.source {
        Source::Dir(p) => Ok((p.clone(), vec![])),
        Source::Archive(p) => {
            let dest = scratch.join("archivo");
            std::fs::create_dir_all(&dest).map_err(|e| e.to_string())?;
            let notes = extract(p, &dest, limits)?;
            Ok((dest, notes))
        }
        Source::Git(url, reference) => {
            let dest = scratch.join("repo");
            clone(url, reference.as_deref(), &dest)?;
            Ok((dest, vec![]))
        }
    }
}

/// A safe relative path for an archive entry, or why not.
fn safe_path(name: &str) -> Result<PathBuf, String> {
    let p = Path::new(name);
    if p.is_absolute() {
        return Err(format!("se ignoró «{name}»: ruta absoluta"));
    }
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(x) => out.push(x),
            Component::CurDir => {}
            _ => {
                return Err(format!(
                    "se ignoró «{name}»: sale de la carpeta del archivo"
                ))
            }
        }
    }
    if out.as_os_str().is_empty() {
        return Err(format!("se ignoró «{name}»: nombre vacío"));
    }
    Ok(out)
}

/// Extracts a `.zip` or `.tar.gz` into `dest`: only regular files and directories, no path
/// out of `dest` (`../`, absolute), no symlinks or hard links, within `limits`.
pub fn extract(archive: &Path, dest: &Path, limits: ArchiveLimits) -> Result<Vec<String>, String> {
    let shown = archive.display();
    let lower = archive.to_string_lossy().to_ascii_lowercase();
    let mut notes = Vec::new();
    let mut total = 0u64;
    let write = |rel: &Path, reader: &mut dyn Read, total: &mut u64| -> Result<(), String> {
        let to = dest.join(rel);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        let mut f = std::fs::File::create(&to).map_err(|e| format!("{}: {e}", rel.display()))?;
        let left = limits.max_bytes.saturating_sub(*total);
        let n = std::io::copy(&mut reader.take(left + 1), &mut f)
            .map_err(|e| format!("{shown}: {}: {e}", rel.display()))?;
        *total += n;
        if *total > limits.max_bytes {
            return Err(format!(
                "{shown}: descomprimido ocupa más de {} MB",
                limits.max_bytes >> 20
            ));
        }
        Ok(())
    };
    if lower.ends_with(".zip") {
        let file = std::fs::File::open(archive).map_err(|e| format!("{shown}: {e}"))?;
        let mut zip = zip::ZipArchive::new(file)
            .map_err(|e| format!("{shown}: no es un .zip válido ({e})"))?;
        if zip.len() > limits.max_entries {
            return Err(format!("{shown}: más de {} entradas", limits.max_entries));
        }
        for i in 0..zip.len() {
            let mut entry = zip.by_index(i).map_err(|e| format!("{shown}: {e}"))?;
            let name = entry.name().to_string();
            let rel = match safe_path(&name) {
                Ok(r) => r,
                Err(why) => {
                    notes.push(why);
                    continue;
                }
            };
            let is_link = entry.unix_mode().is_some_and(|m| m & 0o170000 == 0o120000);
            if is_link {
                let mut target = String::new();
                let _ = entry.by_ref().take(4096).read_to_string(&mut target);
                link(dest, &rel, Path::new(&target), &name, &mut notes)?;
                continue;
            }
            if entry.is_dir() {
                std::fs::create_dir_all(dest.join(&rel)).map_err(|e| e.to_string())?;
                continue;
            }
            write(&rel, &mut entry, &mut total)?;
        }
    } else {
        let file = std::fs::File::open(archive).map_err(|e| format!("{shown}: {e}"))?;
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
        let entries = tar
            .entries()
            .map_err(|e| format!("{shown}: no es un .tar.gz válido ({e})"))?;
        for (count, entry) in entries.enumerate() {
            if count >= limits.max_entries {
                return Err(format!("{shown}: más de {} entradas", limits.max_entries));
            }
            let mut entry = entry.map_err(|e| format!("{shown}: no es un .tar.gz válido ({e})"))?;
            let name = entry
                .path()
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            let rel = match safe_path(&name) {
                Ok(r) => r,
                Err(why) => {
                    notes.push(why);
                    continue;
                }
            };
            let kind = entry.header().entry_type();
            if kind.is_dir() {
                std::fs::create_dir_all(dest.join(&rel)).map_err(|e| e.to_string())?;
            } else if kind.is_file() {
                write(&rel, &mut entry, &mut total)?;
            } else if kind.is_symlink() {
                let target = entry
                    .link_name()
                    .ok()
                    .flatten()
                    .map(|t| t.into_owned())
                    .unwrap_or_default();
                link(dest, &rel, &target, &name, &mut notes)?;
            } else {
                notes.push(format!(
                    "se ignoró «{name}»: {}",
                    if kind.is_symlink() || kind.is_hard_link() {
                        "es un enlace"
                    } else {
                        "no es un fichero normal"
                    }
                ));
            }
        }
    }
    Ok(notes)
}

/// A symbolic link of an archive: made only when it stays inside the archive's tree (as
/// `sites-enabled/x.conf -> ../sites-available/x.conf`).
fn link(
    dest: &Path,
    rel: &Path,
    target: &Path,
    name: &str,
    notes: &mut Vec<String>,
) -> Result<(), String> {
    if target.is_absolute() || !crate::isolate::symlink_allowed(rel, target) {
        notes.push(format!(
            "se ignoró «{name}»: es un enlace simbólico que sale del archivo (-> {})",
            target.display()
        ));
        return Ok(());
    }
    let to = dest.join(rel);
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    let _ = std::fs::remove_file(&to);
    std::os::unix::fs::symlink(target, &to).map_err(|e| format!("{name}: {e}"))
}

/// `git clone --depth 1 [--branch REF]`, without prompts, with a time limit.
fn clone(url: &str, reference: Option<&str>, dest: &Path) -> Result<(), String> {
    let mut cmd = Command::new("git");
    cmd.args(["clone", "--quiet", "--depth", "1", "--no-tags"]);
    if let Some(r) = reference {
        cmd.args(["--branch", r]);
    }
    cmd.arg("--").arg(url).arg(dest);
    cmd.env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "true")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("no se pudo ejecutar git: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        match child.try_wait() {
            Ok(Some(s)) if s.success() => return Ok(()),
            Ok(Some(_)) => {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                return Err(format!(
                    "git clone {url}{} falló: {}",
                    reference
                        .map(|r| format!(" (rama o etiqueta {r})"))
                        .unwrap_or_default(),
                    err.trim()
                ));
            }
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("git clone {url} no terminó en 300 s"));
            }
        }
    }
}

/// The content hash of a workspace: its files (not `lab.toml`, state, logs, venvs or
/// caches), so a copied workspace with another student id has the same hash.
pub fn content_hash(root: &Path) -> String {
    use sha2::Digest;
    let mut files = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(root.join(&rel)) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let r = rel.join(&name);
            let Ok(meta) = std::fs::symlink_metadata(e.path()) else {
                continue;
            };
            if meta.is_dir() {
                let skip = [".lab", "run", ".git", "__pycache__"].contains(&name.as_str())
                    || r == Path::new("var/log")
                    || e.path().join("pyvenv.cfg").exists();
                if !skip {
                    stack.push(r);
                }
            } else if r != Path::new("lab.toml") {
                files.push((r, meta.file_type().is_symlink()));
            }
        }
    }
    files.sort();
    let mut h = sha2::Sha256::new();
    for (rel, link) in files {
        h.update(rel.to_string_lossy().as_bytes());
        h.update([0]);
        let data = if link {
            std::fs::read_link(root.join(&rel))
                .map(|t| t.to_string_lossy().into_owned().into_bytes())
                .unwrap_or_default()
        } else {
            std::fs::read(root.join(&rel)).unwrap_or_default()
        };
        h.update((data.len() as u64).to_le_bytes());
        h.update(&data);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_paths_never_leave_the_destination() {
        assert!(safe_path("../x").is_err());
        assert!(safe_path("a/../../x").is_err());
        assert!(safe_path("/etc/passwd").is_err());
        assert_eq!(safe_path("./a/b").unwrap(), PathBuf::from("a/b"));
    }

    #[test]
    fn a_tar_gz_with_links_and_dot_dot_is_extracted_safely() {
        let tmp = tempfile::tempdir().unwrap();
        let archive = tmp.path().join("x.tar.gz");
        {
            let f = std::fs::File::create(&archive).unwrap();
            let gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
            let mut b = tar::Builder::new(gz);
            let mut h = tar::Header::new_gnu();
            h.set_size(4);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, "ws/lab.toml", &b"x=1\n"[..]).unwrap();
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            b.append_link(&mut h, "ws/fuera", "/etc/passwd").unwrap();
            // A `../` name written raw (the builder refuses it through the safe API).
            let mut h = tar::Header::new_old();
            h.as_old_mut().name[..9].copy_from_slice(b"../escape");
            h.set_size(2);
            h.set_mode(0o644);
            h.set_cksum();
            b.append(&h, &b"no"[..]).unwrap();
            b.into_inner().unwrap().finish().unwrap();
        }
        let dest = tmp.path().join("out/dest");
        std::fs::create_dir_all(&dest).unwrap();
        let notes = extract(&archive, &dest, ArchiveLimits::default()).unwrap();
        assert!(dest.join("ws/lab.toml").is_file());
        assert!(dest.join("ws/fuera").symlink_metadata().is_err());
        assert!(!tmp.path().join("out/escape").exists());
        assert_eq!(notes.len(), 2, "{notes:?}");
        let tiny = ArchiveLimits {
            max_bytes: 2,
            max_entries: 10,
        };
        let dest2 = tmp.path().join("d2");
        std::fs::create_dir_all(&dest2).unwrap();
        assert!(extract(&archive, &dest2, tiny)
            .unwrap_err()
            .contains("ocupa más de"));
    }
}
