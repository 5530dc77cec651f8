//! mod_cgi/mod_cgid: `ScriptAlias` and `SetHandler cgi-script`.

use super::{Call, Failure, Outcome};
use crate::http::log::Level;

/// Serves a CGI request. Not in this version of the lab yet: 501 with a log line.
pub async fn serve<'a>(call: Call<'a, '_>) -> Outcome<'a> {
    Err((
        Failure::logged(
            501,
            Level::Error,
            format!(
                "el laboratorio todavía no ejecuta programas CGI (ScriptAlias / SetHandler cgi-script): {}",
                call.file.path.display()
            ),
        ),
        Some(call.eff),
    ))
}
