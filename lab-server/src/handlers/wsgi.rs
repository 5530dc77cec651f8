//! mod_wsgi's handler: the request goes to the WSGI host (embedded interpreter or a daemon
//! process group) with the `WSGIScriptAlias` match that translated its URL.

use super::{Call, Failure, Outcome};
use crate::http::log::Level;
use crate::wsgi::ScriptMatch;

/// Serves a request that a `WSGIScriptAlias` matched.
pub async fn serve<'a>(call: Call<'a, '_>, m: ScriptMatch<'_>) -> Outcome<'a> {
    let Call {
        site,
        conn,
        parts,
        body,
        ctx,
        eff,
        file,
        ..
    } = call;
    let (Some(wsgi), Some(body)) = (conn.wsgi.as_ref(), body) else {
        return Err((
            Failure::logged(
                500,
                Level::Error,
                "mod_wsgi no está disponible en este proceso",
            ),
            Some(eff),
        ));
    };
    let mut wctx = crate::wsgi::WsgiContext::from_match(
        site.wsgi_place(ctx.host, m.alias),
        (m.script_name, m.path_info),
        conn.port,
        conn.cgi_remote(),
        conn.local,
    );
    wctx.default_type = super::content_type(site, &eff, file.path);
    wctx.body_limit = eff.limit_request_body();
    // Only the request the client sent can follow its connection to another process (not
    // the target of an internal redirect).
    wctx.handoff = !matches!(conn.hand, crate::http::handoff::Mode::Off)
        && ctx.request_uri.is_none()
        && !crate::http::handoff::chunked(&parts.headers);
    let mut resp = wsgi.handle_parts(parts, body, wctx).await;
    if resp
        .extensions()
        .get::<crate::http::handoff::HandOff>()
        .is_none()
    {
        // Apache's head for mod_wsgi's answers: `Transfer-Encoding` before the type.
        super::cgivars::chunked_in_apaches_place(&mut resp, parts);
    }
    Ok((resp, Some(eff)))
}
