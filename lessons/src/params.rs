//! Per-student parameters: values derived from the student id, so that a workspace copied
//! from a classmate fails the checks. Used as `{{param.name}}` (and `{{student}}`) in
//! statements, hints, checks and starter/solution files.

use std::collections::BTreeMap;

use serde::Deserialize;

/// How a parameter is derived.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum ParamSpec {
    /// A DNS-safe name: `prefix` + a word + two digits + `suffix` (`alamo42.localhost`).
    Name {
        #[serde(default)]
        prefix: String,
        #[serde(default)]
        suffix: String,
    },
    /// A port in `min..=max`.
    Port { min: u16, max: u16 },
    /// A number in `min..=max` (an octet of a network, a count...).
    Number { min: u32, max: u32 },
    /// Lowercase hexadecimal characters.
    Token {
        #[serde(default = "default_token_len")]
        len: usize,
    },
}

fn default_token_len() -> usize {
    8
}

impl ParamSpec {
    /// Checks the specification makes sense.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            ParamSpec::Port { min, max } if min > max || *min < 1024 => Err(format!(
                "el rango de puertos {min}..{max} no es válido (mínimo 1024)"
            )),
            ParamSpec::Number { min, max } if min > max => {
                Err(format!("el rango {min}..{max} no es válido"))
            }
            ParamSpec::Token { len } if *len == 0 || *len > 32 => {
                Err("la longitud debe estar entre 1 y 32".into())
            }
            ParamSpec::Name { prefix, suffix }
                if !(prefix.chars().chain(suffix.chars()))
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') =>
            {
                Err("prefijo y sufijo solo pueden llevar letras, cifras, `-` y `.`".into())
            }
            _ => Ok(()),
        }
    }

    fn derive(&self, seed: u64) -> String {
        match self {
            ParamSpec::Name { prefix, suffix } => {
                let word = WORDS[(seed % WORDS.len() as u64) as usize];
                let n = (seed >> 16) % 100;
                format!("{prefix}{word}{n:02}{suffix}")
            }
            ParamSpec::Port { min, max } => {
                let span = u64::from(*max - *min) + 1;
                (u64::from(*min) + seed % span).to_string()
            }
            ParamSpec::Number { min, max } => {
                let span = u64::from(*max - *min) + 1;
                (u64::from(*min) + seed % span).to_string()
            }
            ParamSpec::Token { len } => {
                let mut out = String::new();
                let mut s = seed;
                while out.len() < *len {
                    out.push_str(&format!("{s:016x}"));
                    s = fnv1a(&s.to_le_bytes());
                }
                out.truncate(*len);
                out
            }
        }
    }
}

/// Tree names: short, easy to type, distinct.
const WORDS: &[&str] = &[
    "alamo", "abeto", "acacia", "almendro", "arce", "avellano", "boj", "brezo", "castano", "cedro",
    "cerezo", "cipres", "encina", "enebro", "fresno", "haya", "higuera", "laurel", "limonero",
    "madrono", "manzano", "naranjo", "nogal", "olivo", "olmo", "peral", "pino", "roble", "sabina",
    "sauce", "serbal", "tejo", "tilo", "chopo", "aliso", "majuelo",
];

/// FNV-1a: a small stable hash (the values must never change between versions).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The values of one exercise's parameters for one student.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pub student: String,
    pub values: BTreeMap<String, String>,
}

impl Params {
    /// Derives every parameter of `exercise_id` for `student`.
    pub fn derive(student: &str, exercise_id: &str, specs: &BTreeMap<String, ParamSpec>) -> Params {
        let values = specs
            .iter()
            .map(|(name, spec)| {
                let seed = fnv1a(format!("{student}\u{0}{exercise_id}\u{0}{name}").as_bytes());
                (name.clone(), spec.derive(seed))
            })
            .collect();
        Params {
            student: student.to_string(),
            values,
        }
    }

    /// Replaces `{{param.name}}` and `{{student}}`. Unknown names are left as written, so an
    /// author sees them.
    pub fn apply(&self, text: &str) -> String {
        if !text.contains("{{") {
            return text.to_string();
        }
        let mut out = text.replace("{{student}}", &self.student);
        for (k, v) in &self.values {
            out = out.replace(&format!("{{{{param.{k}}}}}"), v);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs() -> BTreeMap<String, ParamSpec> {
        let mut m = BTreeMap::new();
        m.insert(
            "sitio".to_string(),
            ParamSpec::Name {
                prefix: String::new(),
                suffix: ".localhost".into(),
            },
        );
        m.insert(
            "puerto".to_string(),
            ParamSpec::Port {
                min: 8000,
                max: 8999,
            },
        );
        m
    }

    #[test]
    fn values_are_stable_and_differ_between_students() {
        let a = Params::derive("ana", "ej", &specs());
        let a2 = Params::derive("ana", "ej", &specs());
        let b = Params::derive("bruno", "ej", &specs());
        assert_eq!(a, a2);
        assert_ne!(a.values, b.values);
        assert!(a.values["sitio"].ends_with(".localhost"));
        let port: u16 = a.values["puerto"].parse().unwrap();
        assert!((8000..=8999).contains(&port));
        assert_eq!(
            a.apply("http://{{param.sitio}}:{{param.puerto}}/ {{student}}"),
            format!("http://{}:{}/ ana", a.values["sitio"], a.values["puerto"])
        );
    }
}
