//! Command-line arguments (clap derive) with Spanish help and Spanish usage errors.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{ArgAction, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

/// Help layout with Spanish headings (clap's built-in ones are English).
const HELP_TEMPLATE: &str = "\
{before-help}{about-with-newline}
Uso: {usage}

{all-args}{after-help}";

/// Laboratorio de Apache 2 en Debian: sirve aplicaciones web Python como en un servidor real.
#[derive(Debug, Parser)]
#[command(
    name = "lab",
    version,
    disable_help_flag = true,
    disable_version_flag = true,
    disable_help_subcommand = true,
    arg_required_else_help = true,
    subcommand_help_heading = "Órdenes",
    subcommand_value_name = "ORDEN",
    after_help = "Cada orden tiene su ayuda: lab ORDEN --help"
)]
pub struct Cli {
    /// Espacio de trabajo (directorio con lab.toml). Por defecto, la variable LAB_WORKSPACE o
    /// el primer directorio con lab.toml desde el actual hacia arriba.
    #[arg(long, global = true, value_name = "DIR")]
    pub workspace: Option<PathBuf>,

    /// Muestra esta ayuda.
    #[arg(short = 'h', long = "help", global = true, action = ArgAction::Help)]
    help: Option<bool>,

    /// Muestra la versión.
    #[arg(short = 'V', long = "version", action = ArgAction::Version)]
    version: Option<bool>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Crea un espacio de trabajo nuevo con la configuración de Apache de Debian.
    Init {
        /// Directorio donde crearlo (no debe existir o debe estar vacío).
        dir: PathBuf,
        /// Identificador del estudiante (algunos ejercicios dependen de él).
        #[arg(long, value_name = "ID")]
        student: Option<String>,
    },
    /// Arranca los servicios del espacio de trabajo, en primer plano (Ctrl-C para parar).
    Start,
    /// Para el laboratorio en marcha.
    Stop,
    /// Relee la configuración; si tiene errores, se sigue usando la anterior.
    Reload,
    /// Muestra los servicios en marcha, sus puertos y los sitios configurados.
    Status,
    /// Comprueba la configuración, como `apache2ctl configtest`.
    Configtest,
    /// Activa sitios de sites-available (como a2ensite).
    A2ensite(Names),
    /// Desactiva sitios (como a2dissite).
    A2dissite(Names),
    /// Activa módulos de mods-available con sus dependencias (como a2enmod).
    A2enmod(Names),
    /// Desactiva módulos (como a2dismod).
    A2dismod(Names),
    /// Activa fragmentos de conf-available (como a2enconf).
    A2enconf(Names),
    /// Desactiva fragmentos de configuración (como a2disconf).
    A2disconf(Names),
    /// Arranca, para, reinicia, activa o desactiva un servicio (como systemctl/service).
    Service {
        /// Nombre del servicio (por ahora: apache2).
        #[arg(value_name = "NOMBRE", display_order = 1)]
        name: String,
        /// Qué hacer con él.
        #[arg(value_name = "ACCIÓN", display_order = 2)]
        action: ServiceAction,
    },
    /// La caché de scripts (como OPcache): `lab cache reset` la vacía, `lab cache status`
    /// muestra sus números.
    Cache {
        #[arg(value_name = "ACCIÓN")]
        action: CacheAction,
    },
    /// Explica qué sitio, qué directivas (fichero:línea) y qué manejador atenderían una URL.
    Explain {
        /// `http://sitio.localhost:10080/ruta` o solo `/ruta` (Host: localhost).
        #[arg(value_name = "URL")]
        url: String,
        /// Método de la petición.
        #[arg(long = "metodo", value_name = "MÉTODO", default_value = "GET")]
        method: String,
        /// La respuesta en JSON, para otras herramientas.
        #[arg(long)]
        json: bool,
    },
    /// Mide una URL con muchas peticiones (como `ab`/`wrk`), guarda la medición con su nombre
    /// y dibuja las guardadas: `lab bench http://localhost:10080/ -c 10 -d 5 --label sin-proxy`.
    Bench(crate::bench::BenchArgs),
    /// Herramientas de la caché HTTP (varnish): registro y contadores.
    Proxy {
        #[command(subcommand)]
        command: ProxyCommand,
    },
    /// Invalida objetos de la caché HTTP, como `varnishadm ban` (ej.: `req.url ~ ^/img/`).
    Ban {
        /// Expresión: CAMPO OPERADOR VALOR [&& ...], con req.url, req.http.X, obj.http.X, obj.status.
        #[arg(value_name = "EXPRESIÓN", num_args = 1.., required = true)]
        expr: Vec<String>,
    },
    /// Muestra una lección en la terminal (sin ID: la lista de lecciones y tu progreso).
    Lesson {
        /// Lección (`apache/sitios`) o ejercicio (`apache-sitio`).
        #[arg(value_name = "ID")]
        id: Option<String>,
    },
    /// Copia al espacio de trabajo los ficheros de partida de un ejercicio.
    Prepare {
        /// Ejercicio (`apache-sitio`).
        #[arg(value_name = "EJERCICIO")]
        exercise: String,
        /// Sobrescribe también los ficheros que ya existen.
        #[arg(long)]
        force: bool,
    },
    /// Comprueba ejercicios en este espacio de trabajo; sale con 1 si falla algún paso.
    Check {
        /// Ejercicio (`apache-sitio`); sin él, todos.
        #[arg(value_name = "EJERCICIO")]
        exercise: Option<String>,
        /// Escribe también el resultado en JSON (el que junta `lab grade --merge`).
        #[arg(long, value_name = "FICHERO")]
        json: Option<PathBuf>,
        /// Escribe también el resultado en JUnit XML (un caso por paso), para la CI.
        #[arg(long, value_name = "FICHERO")]
        junit: Option<PathBuf>,
    },
    /// Corrige una clase: espacios de trabajo, carpetas de ellos, .zip/.tar.gz o repositorios git.
    Grade(GradeArgs),
    /// Construye el libro del curso (mdBook) sin conexión, con su buscador.
    Book {
        /// Directorio de salida (por defecto, `.lab/libro` del espacio de trabajo, o `./libro`).
        #[arg(long, value_name = "DIR")]
        dest: Option<PathBuf>,
        /// Abre el libro en el navegador al terminar.
        #[arg(long)]
        open: bool,
    },
    /// Herramientas para quien escribe el curso.
    Dev {
        #[command(subcommand)]
        command: DevCommand,
    },
    /// Internal: checks exercises in an isolated copy (started by `lab grade` and `lab dev check`).
    #[command(name = "__check-worker", hide = true)]
    CheckWorker(CheckWorkerArgs),
    /// Internal: one process of a `WSGIDaemonProcess` group (started by the lab itself).
    #[command(name = "__wsgi-worker", hide = true)]
    WsgiWorker(WsgiWorkerArgs),
}

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Valida el curso entero: cada ejercicio carga, cada punto de partida falla y cada
    /// solución supera todos los pasos.
    Check {
        /// Directorio del curso (con book/ y exercises/). Por defecto, LAB_COURSE_DIR, el
        /// directorio actual si lo contiene, o el curso incluido en el programa.
        #[arg(long, value_name = "DIR")]
        course: Option<PathBuf>,
        /// Solo estos ejercicios (las comprobaciones de todos se validan igualmente).
        #[arg(value_name = "EJERCICIO")]
        exercises: Vec<String>,
    },
    /// Copia al espacio de trabajo la solución de un ejercicio (para demostraciones y para
    /// preparar clases de prueba de `lab grade`).
    Solve {
        /// Ejercicio (`apache-sitio`).
        #[arg(value_name = "EJERCICIO")]
        exercise: String,
    },
}

/// Arguments of the hidden worker command (the lab writes them; nobody types them).
#[derive(Debug, Clone, clap::Args)]
pub struct WsgiWorkerArgs {
    #[arg(long)]
    pub socket: PathBuf,
    #[arg(long)]
    pub group: String,
    #[arg(long, default_value_t = 1)]
    pub processes: u32,
    #[arg(long)]
    pub multiprocess: bool,
    #[arg(long, default_value_t = 15)]
    pub threads: usize,
    #[arg(long, default_value_t = 0)]
    pub maximum_requests: u64,
    #[arg(long)]
    pub inactivity_timeout: Option<u64>,
    #[arg(long)]
    pub python_home: Option<PathBuf>,
    #[arg(long)]
    pub python_path: Vec<PathBuf>,
    #[arg(long)]
    pub log: Option<PathBuf>,
}

/// Arguments of `lab grade`.
#[derive(Debug, Clone, clap::Args)]
pub struct GradeArgs {
    /// Espacio de trabajo, carpeta de espacios de trabajo, .zip/.tar.gz o repositorio git
    /// (ruta o URL; `URL#rama` para una rama o etiqueta).
    #[arg(value_name = "RUTA")]
    pub paths: Vec<String>,
    /// Solo estos ejercicios, separados por comas (por defecto, todos).
    #[arg(long, value_name = "ID,...", value_delimiter = ',')]
    pub exercises: Vec<String>,
    /// Espacios de trabajo corregidos a la vez (por defecto, tantos como CPU).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Tiempo máximo por ejercicio, en segundos.
    #[arg(long, value_name = "S", default_value_t = 120)]
    pub timeout: u64,
    /// CSV para importar las notas en Moodle.
    #[arg(long, value_name = "FICHERO")]
    pub csv: Option<PathBuf>,
    /// Resultados en JSON (se pueden juntar después con --merge).
    #[arg(long, value_name = "FICHERO")]
    pub json: Option<PathBuf>,
    /// Informe HTML autocontenido, con gráficas y los fallos más comunes.
    #[arg(long, value_name = "FICHERO")]
    pub html: Option<PathBuf>,
    /// JUnit XML (un caso por paso) para la corrección en CI.
    #[arg(long, value_name = "FICHERO")]
    pub junit: Option<PathBuf>,
    /// Solo corrige los espacios de trabajo que cambiaron desde la última vez.
    #[arg(long)]
    pub only_changed: bool,
    /// Junta resultados JSON (de `lab check --json` o `lab grade --json`) en vez de corregir.
    #[arg(long, value_name = "RESULTADOS", num_args = 1.., conflicts_with = "paths")]
    pub merge: Vec<PathBuf>,
}

/// Arguments of the hidden check worker (the lab writes them; nobody types them).
#[derive(Debug, Clone, clap::Args)]
pub struct CheckWorkerArgs {
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long)]
    pub course: Option<PathBuf>,
    #[arg(long)]
    pub exercise: Vec<String>,
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
}

#[derive(Debug, Clone, clap::Args)]
pub struct Names {
    /// Nombres (con o sin la extensión .conf/.load).
    #[arg(required = true, value_name = "NOMBRE")]
    pub names: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CacheAction {
    /// Vacía la caché de scripts del laboratorio en marcha (como opcache_reset()).
    Reset,
    /// Muestra aciertos, fallos, scripts y memoria de la caché.
    Status,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ServiceAction {
    /// Arranca el servicio en el laboratorio en marcha.
    Start,
    /// Para el servicio.
    Stop,
    /// Lo para y lo vuelve a arrancar con la configuración del disco.
    Restart,
    /// Relee su configuración sin cortar conexiones.
    Reload,
    /// Hace que arranque con `lab start` (edita lab.toml).
    Enable,
    /// Hace que no arranque con `lab start` (edita lab.toml).
    Disable,
}

impl ServiceAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceAction::Start => "start",
            ServiceAction::Stop => "stop",
            ServiceAction::Restart => "restart",
            ServiceAction::Reload => "reload",
            ServiceAction::Enable => "enable",
            ServiceAction::Disable => "disable",
        }
    }
}

/// The clap command with the Spanish layout applied to every subcommand.
fn command() -> clap::Command {
    fn spanish(cmd: clap::Command) -> clap::Command {
        cmd.help_template(HELP_TEMPLATE)
            .subcommand_help_heading("Órdenes")
            .subcommand_value_name("ORDEN")
            .disable_help_flag(true)
            .mut_args(|a| {
                if a.is_positional() {
                    a.help_heading("Argumentos")
                } else {
                    a.help_heading("Opciones")
                }
            })
            .mut_subcommands(spanish)
    }
    spanish(Cli::command())
}

/// Parses the command line. On `--help`/`--version` prints them; on a usage error prints it
/// in Spanish. Either way returns the exit code to end with (0 for help, 2 for errors).
pub fn parse() -> Result<Cli, ExitCode> {
    let result = command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m));
    match result {
        Ok(cli) => Ok(cli),
        Err(e) => {
            match e.kind() {
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    // clap's usage placeholder is English; the rest of the help is ours.
                    let text = e
                        .render()
                        .to_string()
                        .replace("[OPTIONS]", "[OPCIONES]")
                        .replace("Possible values:", "Valores posibles:")
                        .replace("[possible values:", "[valores posibles:")
                        .replace("[default:", "[por defecto:");
                    if e.use_stderr() {
                        eprint!("{text}");
                    } else {
                        print!("{text}");
                    }
                }
                _ => eprintln!(
                    "error: {}\n\nPara más información, prueba con `lab --help`.",
                    usage_error(&e)
                ),
            }
            Err(ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2)))
        }
    }
}

fn context(e: &clap::Error, kind: ContextKind) -> Option<String> {
    match e.get(kind)? {
        ContextValue::String(s) => Some(s.clone()),
        ContextValue::Strings(v) => Some(v.join(", ")),
        ContextValue::StyledStr(s) => Some(s.to_string()),
        ContextValue::StyledStrs(v) => Some(
            v.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        ContextValue::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A usage error in Spanish.
fn usage_error(e: &clap::Error) -> String {
    let arg = context(e, ContextKind::InvalidArg).unwrap_or_default();
    let mut msg = match e.kind() {
        ErrorKind::InvalidSubcommand => format!(
            "la orden `{}` no existe",
            context(e, ContextKind::InvalidSubcommand).unwrap_or_default()
        ),
        ErrorKind::UnknownArgument => format!("argumento inesperado `{arg}`"),
        ErrorKind::InvalidValue => {
            let value = context(e, ContextKind::InvalidValue).unwrap_or_default();
            let mut m = format!("el valor `{value}` no es válido para {arg}");
            if let Some(valid) = context(e, ContextKind::ValidValue) {
                m.push_str(&format!("; valores posibles: {valid}"));
            }
            m
        }
        ErrorKind::MissingRequiredArgument => format!("falta un argumento obligatorio: {arg}"),
        ErrorKind::MissingSubcommand => "falta la orden".to_string(),
        ErrorKind::TooManyValues | ErrorKind::TooFewValues | ErrorKind::WrongNumberOfValues => {
            format!("número de valores incorrecto para {arg}")
        }
        ErrorKind::ArgumentConflict => format!(
            "{arg} no se puede usar junto con {}",
            context(e, ContextKind::PriorArg).unwrap_or_default()
        ),
        ErrorKind::NoEquals => format!("{arg} necesita un valor con `=`"),
        ErrorKind::ValueValidation => format!(
            "valor no válido para {arg}: {}",
            context(e, ContextKind::InvalidValue).unwrap_or_default()
        ),
        ErrorKind::InvalidUtf8 => "los argumentos deben ser texto UTF-8".to_string(),
        _ => e.kind().to_string(),
    };
    let suggestion = [
        ContextKind::SuggestedSubcommand,
        ContextKind::SuggestedArg,
        ContextKind::SuggestedValue,
    ]
    .into_iter()
    .find_map(|k| match e.get(k) {
        Some(ContextValue::String(s)) => Some(vec![s.clone()]),
        Some(ContextValue::Strings(v)) if !v.is_empty() => Some(v.clone()),
        _ => None,
    });
    if let Some(s) = suggestion {
        msg.push_str(&format!(
            "\n  ayuda: ¿Quisiste decir `{}`?",
            s.join("` o `")
        ));
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_from(args: &[&str]) -> Result<Cli, clap::Error> {
        command()
            .try_get_matches_from(args)
            .and_then(|m| Cli::from_arg_matches(&m))
    }

    #[test]
    fn the_command_definition_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn workspace_is_a_global_flag() {
        let cli = parse_from(&["lab", "--workspace", "/x", "status"]).unwrap();
        assert_eq!(cli.workspace.as_deref(), Some(std::path::Path::new("/x")));
        let cli = parse_from(&["lab", "status", "--workspace", "/y"]).unwrap();
        assert_eq!(cli.workspace.as_deref(), Some(std::path::Path::new("/y")));
    }

    #[test]
    fn usage_errors_are_spanish_with_suggestions() {
        let e = parse_from(&["lab", "stat"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let msg = usage_error(&e);
        assert!(msg.starts_with("la orden `stat` no existe"), "{msg}");
        assert!(msg.contains("¿Quisiste decir `status`"), "{msg}");

        let e = parse_from(&["lab", "a2ensite"]).unwrap_err();
        assert!(usage_error(&e).starts_with("falta un argumento obligatorio"));

        let e = parse_from(&["lab", "service", "apache2", "arrancar"]).unwrap_err();
        assert!(usage_error(&e).contains("valores posibles"));
    }

    #[test]
    fn help_is_spanish() {
        let help = command().render_help().to_string();
        assert!(help.contains("Uso: lab"), "{help}");
        assert!(help.contains("Órdenes:"), "{help}");
        assert!(help.contains("Opciones:"), "{help}");
        assert!(!help.contains("Print help"), "{help}");
        let mut cmd = command();
        cmd.build();
        let sub = cmd.find_subcommand_mut("init").unwrap();
        let help = sub.render_help().to_string();
        assert!(help.contains("Argumentos:"), "{help}");
        assert!(help.contains("Muestra esta ayuda"), "{help}");
        // Nested commands get the same Spanish layout.
        let dev = cmd.find_subcommand_mut("dev").unwrap();
        let help = dev.render_help().to_string();
        assert!(help.contains("Órdenes:"), "{help}");
        let check = dev.find_subcommand_mut("check").unwrap();
        let help = check.render_help().to_string();
        assert!(
            help.contains("Opciones:") && !help.contains("Options:"),
            "{help}"
        );
    }
}

#[derive(Debug, Subcommand)]
pub enum ProxyCommand {
    /// Las últimas peticiones que pasaron por varnish, como varnishlog.
    Log {
        /// Sigue mostrando las nuevas (Ctrl-C para salir).
        #[arg(short = 'f', long = "seguir")]
        follow: bool,
        /// Solo las que cumplen la consulta, como varnishlog -q (ej.: 'RespStatus >= 500').
        #[arg(short = 'q', long = "consulta", value_name = "CONSULTA")]
        query: Option<String>,
        /// Agrupa: vxid (cada transacción) o request (la petición con las del backend).
        #[arg(short = 'g', long = "agrupar", value_name = "MODO")]
        group: Option<String>,
    },
    /// Los contadores de varnish, como `varnishstat -1`.
    Stat,
}
