//! The whole answer of `lab explain`: Apache's part ([`crate::http::explain`]) and, when
//! varnish is configured, the proxy's (from the running lab, which knows what is cached, or
//! from the VCL on disk). One function serves the terminal, `lab explain --json`, the
//! console's form and the configuration `lab bench` records with each run.

use serde::Serialize;

use crate::config::{self, diagnostic::render};
use crate::http::explain::{explain, Question};
use crate::supervisor::{self, Request};
use crate::workspace::Workspace;

/// The answer to one question.
#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    pub request: RequestView,
    /// Apache's explanation, or None when the configuration has errors (see `error`).
    pub apache: Option<Part>,
    /// The proxy's part, when varnish is configured in the workspace.
    pub proxy: Option<Part>,
    /// The configuration's diagnostics when it does not load.
    pub error: Option<String>,
}

/// The request as understood.
#[derive(Debug, Clone, Serialize)]
pub struct RequestView {
    pub method: String,
    pub host: String,
    pub port: Option<u16>,
    pub path: String,
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
}

/// One part of the answer: its lines as the terminal prints them, and the same lines split
/// into `Label: value` fields (indented lines are the details of the field above).
#[derive(Debug, Clone, Serialize)]
pub struct Part {
    pub text: String,
    pub fields: Vec<Field>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Field {
    pub label: String,
    pub value: String,
    pub details: Vec<String>,
}

impl Part {
    fn new(text: String) -> Part {
        let mut fields: Vec<Field> = Vec::new();
        for line in text.lines() {
            if line.trim().is_empty() {
                continue;
            }
            let indented = line.starts_with(' ') || line.starts_with('\t');
            match (indented, fields.last_mut()) {
                (true, Some(f)) => f.details.push(line.trim().to_string()),
                _ => {
                    let (label, value) = match line.split_once(": ") {
                        Some((l, v)) if !l.is_empty() && l.len() <= 40 => (l, v),
                        _ => match line.strip_suffix(':') {
                            Some(l) => (l, ""),
                            None => ("", line),
                        },
                    };
                    fields.push(Field {
                        label: label.trim().to_string(),
                        value: value.trim().to_string(),
                        details: Vec::new(),
                    });
                }
            }
        }
        Part { text, fields }
    }

    /// The value of the first field with `label`.
    pub fn field(&self, label: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.label == label)
            .map(|f| f.value.as_str())
    }
}

impl Answer {
    /// What the terminal prints.
    pub fn text(&self) -> String {
        let mut out = String::new();
        if let Some(a) = &self.apache {
            out.push_str(a.text.trim_end());
            out.push('\n');
        }
        if let Some(e) = &self.error {
            out.push_str(e.trim_end());
            out.push('\n');
        }
        if let Some(p) = &self.proxy {
            out.push('\n');
            out.push_str(p.text.trim_end());
            out.push('\n');
        }
        out
    }

    /// A short summary: the site, the handler (with its details: the WSGI mode, the script),
    /// and the proxy's verdict, one per line.
    pub fn summary(&self) -> String {
        let mut lines = Vec::new();
        if let Some(a) = &self.apache {
            for f in a
                .fields
                .iter()
                .filter(|f| f.label == "Sitio virtual" || f.label == "Manejador")
            {
                lines.push(format!("{}: {}", f.label, f.value));
                if f.label == "Manejador" {
                    lines.extend(f.details.iter().map(|d| format!("  {d}")));
                }
            }
        }
        if let Some(e) = &self.error {
            lines.push(e.lines().next().unwrap_or("").to_string());
        }
        if let Some(p) = &self.proxy {
            if let Some(f) = p.fields.first() {
                lines.push(if f.label.is_empty() {
                    f.value.clone()
                } else {
                    format!("{}: {}", f.label, f.value)
                });
                lines.extend(
                    f.details
                        .iter()
                        .filter(|d| d.starts_with("Resultado"))
                        .map(|d| format!("  {d}")),
                );
            }
        }
        lines.join("\n")
    }
}

/// Explains `q` (with extra request `headers`, which the proxy's part takes into account).
pub fn answer(ws: &Workspace, q: &Question, headers: &[(String, String)]) -> Answer {
    let request = RequestView {
        method: q.method.clone(),
        host: q.host.clone(),
        port: q.port,
        path: q.path.clone(),
        query: q.query.clone(),
        headers: headers.to_vec(),
    };
    let (apache, error) = match config::load(ws) {
        Ok(loaded) => (Some(Part::new(explain(&loaded.config, q))), None),
        Err(diags) => (
            None,
            Some(format!(
                "{}\nLa configuración tiene errores: corrígelos antes de preguntar qué atendería una URL.",
                render(&diags, Some(&ws.root)).trim_end()
            )),
        ),
    };
    let proxy = proxy_part(ws, q, headers).map(Part::new);
    Answer {
        request,
        apache,
        proxy,
        error,
    }
}

/// The proxy's part, when varnish is configured: from the running lab (which knows what is
/// cached), else from the VCL on disk.
fn proxy_part(ws: &Workspace, q: &Question, headers: &[(String, String)]) -> Option<String> {
    use crate::proxy::config as vc;
    if !vc::present(ws) {
        return None;
    }
    if !ws.settings.services.varnish {
        return Some(
            "Proxy de caché: varnish está desactivado (`lab service varnish enable`); la petición llega directa a Apache."
                .to_string(),
        );
    }
    let url = match &q.query {
        Some(query) => format!("{}?{query}", q.path),
        None => q.path.clone(),
    };
    // The Host header a browser sends: with the port when the URL has one.
    let host = match q.port {
        Some(p) => format!("{}:{p}", q.host),
        None => q.host.clone(),
    };
    let req = Request::ProxyExplain {
        method: q.method.clone(),
        url: url.clone(),
        host: host.clone(),
        headers: headers.to_vec(),
    };
    if let Ok(resp) = supervisor::request(ws, &req) {
        if resp.ok {
            return Some(resp.message);
        }
    }
    match vc::load(ws) {
        Ok(l) => Some(crate::proxy::explain::explain(
            &l.config.vcl,
            None,
            &q.method,
            &url,
            &host,
            headers,
            Some(&ws.root),
        )),
        Err(diags) => Some(format!(
            "Varnish: el VCL tiene errores; `lab configtest` los muestra\n{}",
            render(&diags, Some(&ws.root))
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_fields_with_their_details() {
        let p = Part::new(
            "Petición: GET /  (Host: localhost)\nManejador: WSGI\n  modo: daemon\nSecciones que se aplican:\n  1. <Directory />\n"
                .to_string(),
        );
        assert_eq!(p.field("Manejador"), Some("WSGI"));
        assert_eq!(p.fields[1].details, ["modo: daemon"]);
        assert_eq!(p.fields[2].label, "Secciones que se aplican");
        assert_eq!(p.fields[2].details, ["1. <Directory />"]);
    }

    #[test]
    fn the_default_workspace_is_explained_in_text_and_fields() {
        let dir = tempfile::tempdir().unwrap();
        let ws = crate::workspace::init(&dir.path().join("ws"), None).unwrap();
        let q = Question::parse("/index.html", "get").unwrap();
        let a = answer(&ws, &q, &[]);
        assert!(a.error.is_none(), "{:?}", a.error);
        let apache = a.apache.as_ref().unwrap();
        assert!(apache.field("Manejador").is_some(), "{:#?}", apache.fields);
        assert!(a.text().contains("Manejador:"));
        assert!(a.summary().contains("Manejador:"), "{}", a.summary());
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["request"]["method"], "GET");
        assert!(json["apache"]["fields"].as_array().unwrap().len() > 3);
    }
}
