//! Error pages in Spanish, shaped like Apache's (title, heading, one paragraph, the server
//! signature), for the statuses the lab sends.

use http::{header, Response, StatusCode};

use super::{full, Body};

/// Spanish reason phrase and explanation of a status.
pub fn texts(status: u16) -> (&'static str, &'static str) {
    match status {
        400 => (
            "Petición incorrecta",
            "El servidor no ha entendido la petición: la línea de petición, una cabecera o la ruta no son válidas.",
        ),
        403 => (
            "Prohibido",
            "No tienes permiso para acceder a este recurso en este servidor.",
        ),
        404 => (
            "No encontrado",
            "La URL solicitada no se ha encontrado en este servidor.",
        ),
        405 => (
            "Método no permitido",
            "El método de la petición no está permitido para esta URL.",
        ),
        408 => (
            "Tiempo de espera agotado",
            "El servidor se cansó de esperar a que la petición terminara de llegar.",
        ),
        410 => (
            "Ya no existe",
            "El recurso solicitado ya no está disponible en este servidor y no hay dirección nueva.",
        ),
        412 => (
            "Falló una condición previa",
            "Una condición de la petición (If-Match, If-Unmodified-Since...) no se cumple.",
        ),
        413 => (
            "Cuerpo demasiado grande",
            "El cuerpo de la petición supera el límite de LimitRequestBody.",
        ),
        414 => (
            "URI demasiado larga",
            "La línea de petición supera el límite del servidor (LimitRequestLine).",
        ),
        416 => (
            "Rango no satisfacible",
            "El rango de bytes pedido queda fuera del fichero.",
        ),
        431 => (
            "Cabeceras demasiado grandes",
            "Una cabecera de la petición, o su número, supera los límites del servidor (LimitRequestFieldSize, LimitRequestFields).",
        ),
        500 => (
            "Error interno del servidor",
            "El servidor encontró un error interno y no pudo completar la petición. El registro de errores tiene los detalles.",
        ),
        501 => (
            "No implementado",
            "El laboratorio todavía no sabe atender esta petición.",
        ),
        502 => (
            "Puerta de enlace incorrecta",
            "El proceso que debía generar la respuesta falló o respondió algo no válido. El registro de errores tiene los detalles.",
        ),
        503 => (
            "Servicio no disponible",
            "El servidor no puede atender la petición ahora mismo. Inténtalo de nuevo en un momento.",
        ),
        _ => ("Error", "La petición no se pudo completar."),
    }
}

/// Escapes text for HTML.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The `<address>` line under Apache's generated pages.
pub fn signature(server: &str, name: &str, port: u16) -> String {
    format!(
        "<address>{} en {} puerto {port}</address>",
        html_escape(server),
        html_escape(name)
    )
}

/// The default error page for `status`, with an optional extra sentence.
pub fn page(status: u16, extra: Option<&str>, signature: &str) -> Response<Body> {
    let (title, text) = texts(status);
    let extra = extra
        .map(|e| format!("<p>{}</p>\n", html_escape(e)))
        .unwrap_or_default();
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"es\"><head>\n<meta charset=\"utf-8\">\n\
         <title>{status} {title}</title>\n</head><body>\n<h1>{title}</h1>\n<p>{text}</p>\n{extra}\
         <hr>\n{signature}\n</body></html>\n"
    );
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(header::CONTENT_LENGTH, html.len())
        .body(full(html))
        .unwrap_or_default()
}
