//! `kind = "http"`: a request through the lab (the running one, or an isolated instance) and
//! what the answer must look like; optionally a second request and a relation between both
//! (the second is a 304 thanks to the first's `ETag`, both bodies are equal...).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{excerpt, regex, CheckKind, Context, Outcome};
use crate::target::{HttpRequest, HttpResponse};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpCheck {
    #[serde(default = "get")]
    pub method: String,
    #[serde(default = "slash")]
    pub path: String,
    /// `Host` header (a `ServerName`); default: `localhost`.
    pub host: Option<String>,
    /// The port as written in the configuration (`Listen 80`); the lab maps it.
    #[serde(default = "eighty")]
    pub port: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub body: Option<String>,
    pub expect_status: Option<u16>,
    /// Header name -> regex its value must match (`"!"` = the header must be absent).
    #[serde(default)]
    pub expect_headers: BTreeMap<String, String>,
    pub expect_body: Option<String>,
    pub expect_body_not: Option<String>,
    /// A second request, made right after the first.
    pub then: Option<Box<SecondRequest>>,
}

/// The second request of a pair and how it relates to the first.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecondRequest {
    /// Send `If-None-Match` with the first response's `ETag`.
    #[serde(default)]
    pub conditional: bool,
    pub expect_status: Option<u16>,
    /// Both responses have the same body.
    #[serde(default)]
    pub same_body: bool,
    #[serde(default)]
    pub expect_headers: BTreeMap<String, String>,
    pub expect_body: Option<String>,
    /// A regex with one group capturing a number in both bodies: the second must be larger
    /// (a visit counter kept between requests).
    pub grows: Option<String>,
}

/// The number the first group of `re` captures in `body`.
fn captured_number(re: &str, body: &str) -> Option<i64> {
    regex::Regex::new(re)
        .ok()?
        .captures(body)?
        .get(1)?
        .as_str()
        .parse()
        .ok()
}

fn get() -> String {
    "GET".into()
}
fn slash() -> String {
    "/".into()
}
fn eighty() -> u16 {
    80
}

impl HttpCheck {
    fn url(&self) -> String {
        let host = self.host.as_deref().unwrap_or("localhost");
        let port = if self.port == 80 { String::new() } else { format!(":{}", self.port) };
        format!("{} http://{host}{port}{}", self.method, self.path)
    }

    fn request(&self) -> HttpRequest {
        HttpRequest {
            method: self.method.clone(),
            path: self.path.clone(),
            host: self.host.clone().unwrap_or_else(|| "localhost".into()),
            headers: self.headers.clone().into_iter().collect(),
            body: self.body.clone().unwrap_or_default().into_bytes(),
        }
    }
}

/// Checks status, headers and body; returns what is wrong.
fn compare(
    resp: &HttpResponse,
    status: Option<u16>,
    headers: &BTreeMap<String, String>,
    body: Option<&str>,
    body_not: Option<&str>,
) -> Result<(), String> {
    if let Some(s) = status {
        if resp.status != s {
            return Err(format!(
                "respondió {} {} (cuerpo: «{}»)",
                resp.status,
                resp.reason,
                excerpt(&resp.body_text(), 80)
            ));
        }
    }
    for (name, want) in headers {
        let got = resp.header(name);
        if want == "!" {
            if let Some(v) = got {
                return Err(format!("la respuesta lleva `{name}: {v}` y no debería"));
            }
            continue;
        }
        let re = regex(want)?;
        match got {
            Some(v) if re.is_match(v) => {}
            Some(v) => return Err(format!("la cabecera `{name}` vale «{v}»")),
            None => return Err(format!("la respuesta no lleva la cabecera `{name}`")),
        }
    }
    let text = resp.body_text();
    if let Some(b) = body {
        if !regex(b)?.is_match(&text) {
            return Err(format!("el cuerpo no encaja; empieza por «{}»", excerpt(&text, 100)));
        }
    }
    if let Some(b) = body_not {
        if regex(b)?.is_match(&text) {
            return Err(format!("el cuerpo contiene lo que no debería (/{b}/)"));
        }
    }
    Ok(())
}

impl CheckKind for HttpCheck {
    fn describe(&self) -> String {
        let mut s = format!("`{}`", self.url());
        let mut parts = Vec::new();
        if let Some(st) = self.expect_status {
            parts.push(format!("responde {st}"));
        }
        for (h, v) in &self.expect_headers {
            if v == "!" {
                parts.push(format!("sin cabecera `{h}`"));
            } else {
                parts.push(format!("con `{h}` que encaja con /{v}/"));
            }
        }
        if let Some(b) = &self.expect_body {
            parts.push(format!("con un cuerpo que encaja con /{b}/"));
        }
        if let Some(b) = &self.expect_body_not {
            parts.push(format!("sin /{b}/ en el cuerpo"));
        }
        if let Some(t) = &self.then {
            let mut p = String::from("y al repetirla");
            if t.conditional {
                p.push_str(" con `If-None-Match`");
            }
            if let Some(st) = t.expect_status {
                p.push_str(&format!(" responde {st}"));
            }
            if t.same_body {
                p.push_str(" con el mismo cuerpo");
            }
            if let Some(b) = &t.expect_body {
                p.push_str(&format!(" con un cuerpo que encaja con /{b}/"));
            }
            if let Some(g) = &t.grows {
                p.push_str(&format!(" el número de /{g}/ ha crecido"));
            }
            parts.push(p);
        }
        if !parts.is_empty() {
            s.push(' ');
            s.push_str(&parts.join(", "));
        }
        s
    }

    fn validate(&self) -> Result<(), String> {
        for re in self.expect_headers.values().filter(|v| *v != "!") {
            regex(re)?;
        }
        if let Some(t) = &self.then {
            for re in t.expect_headers.values().filter(|v| *v != "!") {
                regex(re)?;
            }
            for re in [&t.expect_body, &t.grows].into_iter().flatten() {
                regex(re)?;
            }
        }
        for re in [&self.expect_body, &self.expect_body_not].into_iter().flatten() {
            regex(re)?;
        }
        if !self.path.starts_with('/') {
            return Err(format!("la ruta `{}` debe empezar por `/`", self.path));
        }
        Ok(())
    }

    fn needs_http(&self) -> bool {
        true
    }

    fn run(&self, cx: &Context<'_>) -> Outcome {
        let expect = self.describe();
        let first = match cx.target.send(self.port, &self.request()) {
            Ok(r) => r,
            Err(e) => return Outcome::fail(expect, e),
        };
        if let Err(e) = compare(
            &first,
            self.expect_status,
            &self.expect_headers,
            self.expect_body.as_deref(),
            self.expect_body_not.as_deref(),
        ) {
            return Outcome::fail(expect, e);
        }
        let Some(then) = &self.then else {
            return Outcome::pass(expect, format!("respondió {}", first.status));
        };
        let mut req = self.request();
        if then.conditional {
            match first.header("etag") {
                Some(tag) => req.headers.push(("If-None-Match".into(), tag.to_string())),
                None => return Outcome::fail(expect, "la primera respuesta no lleva `ETag`"),
            }
        }
        let second = match cx.target.send(self.port, &req) {
            Ok(r) => r,
            Err(e) => return Outcome::fail(expect, format!("segunda petición: {e}")),
        };
        if let Err(e) = compare(
            &second,
            then.expect_status,
            &then.expect_headers,
            then.expect_body.as_deref(),
            None,
        ) {
            return Outcome::fail(expect, format!("segunda petición: {e}"));
        }
        if then.same_body && first.body != second.body {
            return Outcome::fail(expect, "las dos respuestas tienen cuerpos distintos");
        }
        if let Some(g) = &then.grows {
            let a = captured_number(g, &first.body_text());
            let b = captured_number(g, &second.body_text());
            match (a, b) {
                (Some(a), Some(b)) if b > a => {}
                (Some(a), Some(b)) => {
                    return Outcome::fail(expect, format!("el número no crece: {a} y luego {b}"))
                }
                _ => {
                    return Outcome::fail(
                        expect,
                        format!("no se encuentra el número de /{g}/ en las dos respuestas"),
                    )
                }
            }
        }
        Outcome::pass(expect, format!("respondió {} y luego {}", first.status, second.status))
    }
}
