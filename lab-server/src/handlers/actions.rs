//! mod_actions: `Action handler-or-type /cgi-bin/program [virtual]` turns a request for a
//! file into an internal redirect to the program, with the original URL as its `PATH_INFO`
//! (so `PATH_TRANSLATED` is the original file), keeping the method and the body.

use http::Response;

use super::{Call, Failure, InternalRedirect, Outcome};
use crate::http::log::Level;
use crate::http::mapping::Walk;
use crate::http::urlpath;

/// Redirects to the action's program.
pub fn serve<'a>(call: Call<'a, '_>, program: &str, virt: bool) -> Outcome<'a> {
    let Call {
        parts,
        body,
        ctx,
        eff,
        file,
        ..
    } = call;
    if !virt && !matches!(file.walk, Some(Walk::Found { .. })) {
        return Err((
            Failure::logged(
                404,
                Level::Error,
                format!("AH00652: File does not exist: {}", file.path.display()),
            ),
            Some(eff),
        ));
    }
    let mut target = format!("{program}{}", urlpath::encode(&ctx.url));
    if let Some(q) = parts.uri.query() {
        target.push('?');
        target.push_str(q);
    }
    let mut env: Vec<(String, String)> = ctx
        .env
        .iter()
        .map(|(k, v)| (format!("REDIRECT_{k}"), v.clone()))
        .collect();
    env.push(("REDIRECT_STATUS".into(), "200".into()));
    env.push(("REDIRECT_URL".into(), ctx.url.clone()));
    ctx.redirect = Some(InternalRedirect {
        target,
        keep_method: true,
        env,
        body: std::sync::Mutex::new(body),
    });
    Ok((Response::new(crate::http::empty()), Some(eff)))
}
