//! `kind = "file"`: a file of the workspace exists (or not), contains text, matches a regex,
//! or is a symbolic link.

use serde::Deserialize;

use super::{excerpt, regex, CheckKind, Context, Outcome};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileCheck {
    /// Path relative to the workspace root.
    pub path: String,
    #[serde(default = "yes")]
    pub exists: bool,
    pub contains: Option<String>,
    pub not_contains: Option<String>,
    pub matches: Option<String>,
    /// The path is a symbolic link (as `a2ensite` makes).
    pub symlink: Option<bool>,
}

fn yes() -> bool {
    true
}

impl CheckKind for FileCheck {
    fn describe(&self) -> String {
        let mut s = if self.exists {
            format!("el fichero `{}` existe", self.path)
        } else {
            format!("el fichero `{}` no existe", self.path)
        };
        if let Some(c) = &self.contains {
            s.push_str(&format!(" y contiene «{c}»"));
        }
        if let Some(c) = &self.not_contains {
            s.push_str(&format!(" y no contiene «{c}»"));
        }
        if let Some(m) = &self.matches {
            s.push_str(&format!(" y encaja con /{m}/"));
        }
        s
    }

    fn validate(&self) -> Result<(), String> {
        if let Some(m) = &self.matches {
            regex(m)?;
        }
        let asks_contents = self.contains.is_some()
            || self.not_contains.is_some()
            || self.matches.is_some()
            || self.symlink.is_some();
        if !self.exists && asks_contents {
            return Err(format!(
                "`exists = false` no se puede combinar con preguntas sobre el contenido de `{}`",
                self.path
            ));
        }
        if self.path.starts_with('/') || self.path.split('/').any(|c| c == "..") {
            return Err(format!(
                "la ruta `{}` debe ser relativa al espacio de trabajo y sin `..`",
                self.path
            ));
        }
        Ok(())
    }

    fn run(&self, cx: &Context<'_>) -> Outcome {
        let p = cx.ws.root.join(&self.path);
        let meta = std::fs::symlink_metadata(&p).ok();
        if !self.exists {
            return match meta {
                None => Outcome::pass(self.describe(), "no existe"),
                Some(_) => Outcome::fail(self.describe(), "el fichero existe"),
            };
        }
        let Some(meta) = meta else {
            return Outcome::fail(self.describe(), format!("no existe `{}`", self.path));
        };
        if let Some(want) = self.symlink {
            let is = meta.file_type().is_symlink();
            if is != want {
                let found = if is {
                    "es un enlace simbólico"
                } else {
                    "es un fichero normal, no un enlace simbólico"
                };
                return Outcome::fail(self.describe(), found);
            }
            if is && !p.exists() {
                return Outcome::fail(self.describe(), "es un enlace roto: su destino no existe");
            }
        }
        if self.contains.is_none() && self.not_contains.is_none() && self.matches.is_none() {
            return Outcome::pass(self.describe(), "existe");
        }
        let text = match std::fs::read(&p) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => return Outcome::fail(self.describe(), format!("no se puede leer: {e}")),
        };
        if let Some(c) = &self.contains {
            if !text.contains(c.as_str()) {
                return Outcome::fail(
                    self.describe(),
                    format!("el fichero no contiene «{c}»; empieza por «{}»", excerpt(&text, 60)),
                );
            }
        }
        if let Some(c) = &self.not_contains {
            if text.contains(c.as_str()) {
                return Outcome::fail(self.describe(), format!("todavía contiene «{c}»"));
            }
        }
        if let Some(m) = &self.matches {
            match regex(m) {
                Ok(re) if re.is_match(&text) => {}
                Ok(_) => {
                    return Outcome::fail(self.describe(), "ninguna parte del fichero encaja")
                }
                Err(e) => return Outcome::fail(self.describe(), e),
            }
        }
        Outcome::pass(self.describe(), "correcto")
    }
}
