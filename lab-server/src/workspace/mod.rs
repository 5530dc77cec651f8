//! The student workspace: a directory with `lab.toml` that mirrors a Debian server
//! (`etc/apache2`, `var/www`, `var/log`, `run/`, `.lab/`).
//!
//! - `mod.rs`: discovery, `lab.toml` settings, path resolution and port mapping.
//! - `template.rs`: the Debian-shaped tree `lab init` writes.

pub mod template;

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::model::ResolvedPath;

pub use template::init;

/// Name of the settings file that marks a workspace root.
pub const SETTINGS_FILE: &str = "lab.toml";

/// Errors about finding, reading or creating a workspace. Messages are in Spanish.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("no se encontró ningún espacio de trabajo (`lab.toml`) en {0} ni en sus directorios superiores\n  ayuda: crea uno con `lab init DIR`, o indica cuál usar con `--workspace DIR` o la variable LAB_WORKSPACE")]
    NotFound(String),
    #[error("{path} no es un espacio de trabajo: falta `lab.toml`\n  ayuda: crea uno con `lab init {path}`")]
    NotAWorkspace { path: String },
    #[error("{path}: {message}")]
    Settings { path: String, message: String },
    #[error("{path} ya existe y no está vacío; `lab init` no sobrescribe nada\n  ayuda: elige otro directorio o bórralo antes")]
    NotEmpty { path: String },
    #[error("no se pudo {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        source: std::io::Error,
    },
}

impl WorkspaceError {
    pub fn io(action: &'static str, path: &Path, source: std::io::Error) -> WorkspaceError {
        WorkspaceError::Io {
            action,
            path: path.display().to_string(),
            source,
        }
    }
}

/// What `lab.toml` holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Student identifier, used for per-student exercise parameters.
    pub student: String,
    /// Added to a privileged port (< 1024) the lab may not bind: 80 -> 10080.
    pub privileged_port_offset: u16,
    /// `auto` (the default) maps privileged ports only when they cannot be bound; `always`
    /// maps them always (handy beside a real Apache on port 80); `never` binds as written.
    pub map_privileged_ports: PortMapping,
    /// Port of the lesson console.
    pub console_port: u16,
    pub services: Services,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            student: String::new(),
            privileged_port_offset: 10000,
            map_privileged_ports: PortMapping::Auto,
            console_port: 7070,
            services: Services::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PortMapping {
    Auto,
    Always,
    Never,
}

/// Which services `lab start` runs (changed with `lab service NAME enable|disable`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Services {
    pub apache2: bool,
    /// Off until the student enables it, as in the course (`lab service memcached enable`).
    pub memcached: bool,
    /// PHP-FPM (Debian's `php-fpm8.2`), off until the PHP lessons enable it.
    #[serde(rename = "php8.2-fpm")]
    pub php_fpm: bool,
    /// The caching proxy; off until `lab service varnish enable`.
    pub varnish: bool,
}

impl Default for Services {
    fn default() -> Self {
        Services {
            apache2: true,
            memcached: false,
            php_fpm: false,
            varnish: false,
        }
    }
}

/// An opened workspace.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub root: PathBuf,
    pub settings: Settings,
}

impl Workspace {
    /// Finds the workspace: `explicit` (from `--workspace`), then `LAB_WORKSPACE`, then the
    /// nearest ancestor of the current directory that holds `lab.toml`.
    pub fn discover(explicit: Option<&Path>) -> Result<Workspace, WorkspaceError> {
        if let Some(dir) = explicit {
            return Workspace::open(dir);
        }
        if let Some(dir) = std::env::var_os("LAB_WORKSPACE").filter(|v| !v.is_empty()) {
            return Workspace::open(Path::new(&dir));
        }
        let cwd = std::env::current_dir()
            .map_err(|e| WorkspaceError::io("leer el directorio actual", Path::new("."), e))?;
        Workspace::find_upwards(&cwd)
            .ok_or_else(|| WorkspaceError::NotFound(cwd.display().to_string()))
    }

    /// The nearest ancestor of `start` (itself included) that holds `lab.toml`.
    pub fn find_upwards(start: &Path) -> Option<Workspace> {
        start
            .ancestors()
            .find(|dir| dir.join(SETTINGS_FILE).is_file())
            .and_then(|dir| Workspace::open(dir).ok())
    }

    /// Opens the workspace rooted at `dir`.
    pub fn open(dir: &Path) -> Result<Workspace, WorkspaceError> {
        let root =
            std::path::absolute(dir).map_err(|e| WorkspaceError::io("resolver la ruta", dir, e))?;
        let root = normalize(&root);
        let file = root.join(SETTINGS_FILE);
        if !file.is_file() {
            return Err(WorkspaceError::NotAWorkspace {
                path: root.display().to_string(),
            });
        }
        let text =
            std::fs::read_to_string(&file).map_err(|e| WorkspaceError::io("leer", &file, e))?;
        let settings = toml::from_str(&text).map_err(|e| WorkspaceError::Settings {
            path: file.display().to_string(),
            message: e.to_string(),
        })?;
        Ok(Workspace { root, settings })
    }

    /// Saves `lab.toml`.
    pub fn save_settings(&self) -> Result<(), WorkspaceError> {
        let file = self.root.join(SETTINGS_FILE);
        let text = settings_text(&self.settings);
        crate::util::write_atomic(&file, text.as_bytes())
            .map_err(|e| WorkspaceError::io("escribir", &file, e))
    }

    /// `etc/apache2` of this workspace (Apache's `ServerRoot`).
    pub fn apache_dir(&self) -> PathBuf {
        self.root.join("etc/apache2")
    }

    /// `run/`: sockets and pid files.
    pub fn run_dir(&self) -> PathBuf {
        self.root.join("run")
    }

    /// `.lab/`: state that students never edit.
    pub fn state_dir(&self) -> PathBuf {
        self.root.join(".lab")
    }

    /// The control socket of a running `lab start`.
    pub fn control_socket(&self) -> PathBuf {
        self.run_dir().join("lab.sock")
    }

    /// Resolves a path written in the configuration: absolute paths are looked up inside the
    /// workspace first and on the host only when they do not exist there (nor does their
    /// parent, for files about to be created such as logs); relative paths are relative to
    /// `base` (Apache's ServerRoot for most directives).
    pub fn resolve(&self, written: &str, base: &Path) -> ResolvedPath {
        resolve_in(&self.root, written, base)
    }

    /// The port the lab binds for a port written in the configuration.
    pub fn map_port(&self, port: u16) -> u16 {
        if port == 0 || port >= 1024 {
            return port;
        }
        let mapped = port.saturating_add(self.settings.privileged_port_offset);
        match self.settings.map_privileged_ports {
            PortMapping::Always => mapped,
            PortMapping::Never => port,
            PortMapping::Auto => {
                if can_bind_privileged() {
                    port
                } else {
                    mapped
                }
            }
        }
    }
}

fn can_bind_privileged() -> bool {
    // Binding port 0 always works; what matters is whether we may bind below 1024, which
    // root (or CAP_NET_BIND_SERVICE, or a lowered ip_unprivileged_port_start) allows.
    let start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .unwrap_or(1024);
    start == 0 || crate::util::is_root()
}

/// `lab.toml` text with Spanish comments for the student.
pub fn settings_text(s: &Settings) -> String {
    format!(
        "# Configuración del laboratorio. La editan `lab init` y `lab service`;\n\
         # puedes cambiarla a mano (se relee en cada `lab start`).\n\n\
         # Identificador del estudiante: algunos ejercicios derivan de él sus valores.\n\
         student = {student:?}\n\n\
         # Los puertos privilegiados (< 1024) se trasladan sumando este desplazamiento: 80 -> {p80}.\n\
         privileged_port_offset = {offset}\n\
         # \"always\" (siempre trasladar), \"auto\" (solo si no se pueden usar) o \"never\".\n\
         map_privileged_ports = \"{mapping}\"\n\n\
         # Puerto de la consola web de lecciones.\n\
         console_port = {console}\n\n\
         [services]\n\
         apache2 = {apache2}\n\
         memcached = {memcached}\n\
         \"php8.2-fpm\" = {php_fpm}\n\
         varnish = {varnish}\n",
        student = s.student,
        p80 = 80u32 + u32::from(s.privileged_port_offset),
        offset = s.privileged_port_offset,
        mapping = match s.map_privileged_ports {
            PortMapping::Auto => "auto",
            PortMapping::Always => "always",
            PortMapping::Never => "never",
        },
        console = s.console_port,
        apache2 = s.services.apache2,
        memcached = s.services.memcached,
        php_fpm = s.services.php_fpm,
        varnish = s.services.varnish,
    )
}

/// [`Workspace::resolve`] for a workspace rooted at `root`.
pub fn resolve_in(root: &Path, written: &str, base: &Path) -> ResolvedPath {
    let p = Path::new(written);
    let path = if p.is_absolute() {
        let inside = root.join(p.strip_prefix("/").unwrap_or(p));
        let inside = normalize(&inside);
        let host_exists = p.exists();
        let inside_exists = inside.exists()
            || inside
                .parent()
                .is_some_and(|parent| parent.exists() && parent.starts_with(root));
        if inside_exists || !host_exists || p == Path::new("/") || confined_out(p) {
            inside
        } else {
            p.to_path_buf()
        }
    } else {
        normalize(&base.join(p))
    };
    ResolvedPath {
        written: written.to_string(),
        path,
    }
}

/// Under `LAB_CONFINE` (set when grading or checking a copy in isolation), a host path is
/// used only inside `/usr` (interpreters, libraries): `Include /etc/passwd` then names the
/// workspace's own `etc/passwd`, which does not exist.
fn confined_out(p: &Path) -> bool {
    static CONFINED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let confined =
        *CONFINED.get_or_init(|| std::env::var_os("LAB_CONFINE").is_some_and(|v| v == "1"));
    let under_usr = p.starts_with("/usr") && !p.components().any(|c| c == Component::ParentDir);
    confined && !under_usr
}

/// Removes `.` and resolves `..` lexically (never above the root).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}
