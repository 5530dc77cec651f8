//! Load-time checks over the merged program: every subroutine gets the set of built-in
//! subroutines that reach it through `call`, and each variable access and `return` action
//! in it must be valid in all of them (as VCC checks in Varnish).

use super::parser::{Expr, Func, Program, Stmt};
use super::{mask_names, SubKind, Var, ALL_SUBS};
use crate::config::diagnostic::{Diagnostic, Span};

/// Checks `prog`; returns warnings, or the errors.
pub fn check(prog: &Program) -> Result<Vec<Diagnostic>, Vec<Diagnostic>> {
    let n = prog.subs.len();
    let mut masks = vec![0u16; n];
    let mut errors = Vec::new();
    for kind in ALL_SUBS {
        let Some(&entry) = prog.entry.get(&kind) else {
            continue;
        };
        let mut path = Vec::new();
        visit(prog, entry, kind, &mut masks, &mut path, &mut errors);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    for (i, sub) in prog.subs.iter().enumerate() {
        if masks[i] == 0 {
            if !sub.builtin {
                errors.push(
                    Diagnostic::error(
                        Some(sub.span.clone()),
                        format!("la subrutina `{}` no se usa en ningún sitio", sub.name),
                    )
                    .with_hint(format!(
                        "Varnish rechaza las subrutinas sin usar: llámala con `call {};` o bórrala",
                        sub.name
                    )),
                );
            }
            continue;
        }
        check_stmts(&sub.body, masks[i], &sub.name, &mut errors);
    }
    // Acls and backends nobody uses are errors in Varnish too (vcc_err_unref).
    for (i, acl) in prog.acls.iter().enumerate() {
        if !prog.subs.iter().any(|s| uses_acl(&s.body, i)) {
            errors.push(
                Diagnostic::error(
                    Some(acl.span.clone()),
                    format!("la acl `{}` no se usa en ningún sitio", acl.name),
                )
                .with_hint(format!("úsala con `client.ip ~ {}` o bórrala", acl.name)),
            );
        }
    }
    if prog.backends.is_empty() {
        errors.push(
            Diagnostic::error(None, "el VCL no define ningún backend")
                .with_hint("añade `backend default { .host = \"127.0.0.1\"; .port = \"8080\"; }`"),
        );
    }
    if errors.is_empty() {
        Ok(Vec::new())
    } else {
        Err(errors)
    }
}

fn visit(
    prog: &Program,
    i: usize,
    kind: SubKind,
    masks: &mut [u16],
    path: &mut Vec<usize>,
    errors: &mut Vec<Diagnostic>,
) {
    if masks[i] & kind.bit() != 0 && !path.contains(&i) {
        return;
    }
    masks[i] |= kind.bit();
    path.push(i);
    let mut calls = Vec::new();
    collect_calls(&prog.subs[i].body, &mut calls);
    for (callee, span) in calls {
        if path.contains(&callee) {
            errors.push(Diagnostic::error(
                Some(span),
                format!(
                    "llamada recursiva a `{}`: VCL no admite recursión",
                    prog.subs[callee].name
                ),
            ));
            continue;
        }
        visit(prog, callee, kind, masks, path, errors);
    }
    path.pop();
}

fn collect_calls(stmts: &[Stmt], out: &mut Vec<(usize, Span)>) {
    for s in stmts {
        match s {
            Stmt::Call { sub, span, .. } => out.push((*sub, span.clone())),
            Stmt::If {
                branches,
                otherwise,
            } => {
                for (_, b) in branches {
                    collect_calls(b, out);
                }
                collect_calls(otherwise, out);
            }
            _ => {}
        }
    }
}

fn uses_acl(stmts: &[Stmt], acl: usize) -> bool {
    fn in_expr(e: &Expr, acl: usize) -> bool {
        match e {
            Expr::Acl { acl: a, lhs, .. } => *a == acl || in_expr(lhs, acl),
            Expr::Not(a) | Expr::Neg(a) => in_expr(a, acl),
            Expr::And(a, b) | Expr::Or(a, b) | Expr::Cmp(_, a, b) | Expr::Arith(_, a, b) => {
                in_expr(a, acl) || in_expr(b, acl)
            }
            Expr::Regex { lhs, .. } => in_expr(lhs, acl),
            Expr::Concat(v) | Expr::Call(_, v) => v.iter().any(|x| in_expr(x, acl)),
            _ => false,
        }
    }
    stmts.iter().any(|s| match s {
        Stmt::Set { value, .. } => in_expr(value, acl),
        Stmt::If {
            branches,
            otherwise,
        } => {
            branches
                .iter()
                .any(|(c, b)| in_expr(c, acl) || uses_acl(b, acl))
                || uses_acl(otherwise, acl)
        }
        Stmt::Do(e, _) => in_expr(e, acl),
        Stmt::Return { args, .. } => args.iter().any(|a| in_expr(a, acl)),
        _ => false,
    })
}

fn not_here(var: &Var, verb: &str, allowed: u16, mask: u16, sub: &str, span: &Span) -> Diagnostic {
    let bad = mask & !allowed;
    let ctx = mask_names(bad);
    let mut d = Diagnostic::error(
        Some(span.clone()),
        format!("la variable `{}` no se puede {verb} en {ctx}", var.name()),
    );
    d = if allowed == 0 {
        d.with_hint(format!(
            "`{}` no se puede {verb} en ninguna subrutina",
            var.name()
        ))
    } else {
        d.with_hint(format!("se puede {verb} en {}", mask_names(allowed)))
    };
    if !sub.starts_with("vcl_") || ctx != sub {
        d.message.push_str(&format!(
            " (la subrutina `{sub}` se ejecuta desde {})",
            mask_names(mask)
        ));
    }
    d
}

fn check_stmts(stmts: &[Stmt], mask: u16, sub: &str, errors: &mut Vec<Diagnostic>) {
    for s in stmts {
        match s {
            Stmt::Set {
                var, value, span, ..
            } => {
                let (_, w, _) = var.masks();
                if mask & !w != 0 {
                    errors.push(not_here(var, "modificar", w, mask, sub, span));
                }
                check_expr(value, mask, sub, errors);
            }
            Stmt::Unset { var, span } => {
                let (_, _, u) = var.masks();
                if mask & !u != 0 {
                    errors.push(not_here(var, "borrar (unset)", u, mask, sub, span));
                }
            }
            Stmt::If {
                branches,
                otherwise,
            } => {
                for (c, b) in branches {
                    check_expr(c, mask, sub, errors);
                    check_stmts(b, mask, sub, errors);
                }
                check_stmts(otherwise, mask, sub, errors);
            }
            Stmt::Return { action, args, span } => {
                for a in args {
                    check_expr(a, mask, sub, errors);
                }
                if action == "vcl" {
                    errors.push(Diagnostic::error(
                        Some(span.clone()),
                        "el laboratorio no admite etiquetas VCL (`return (vcl(...))`)",
                    ));
                    continue;
                }
                for kind in ALL_SUBS {
                    if mask & kind.bit() != 0 && !kind.actions().contains(&action.as_str()) {
                        let mut d = Diagnostic::error(
                            Some(span.clone()),
                            format!("`return ({action})` no está permitido en {}", kind.name()),
                        )
                        .with_hint(format!(
                            "en {} se puede: {}",
                            kind.name(),
                            kind.actions().join(", ")
                        ));
                        if sub != kind.name() {
                            d.message
                                .push_str(&format!(" (desde la subrutina `{sub}`)"));
                        }
                        errors.push(d);
                        break;
                    }
                }
            }
            Stmt::Do(e, span) => {
                check_expr(e, mask, sub, errors);
                if let Expr::Call(f, _) = e {
                    let allowed = match f {
                        Func::HashData => SubKind::Hash.bit(),
                        Func::Synthetic => SubKind::Synth.bit() | SubKind::BackendError.bit(),
                        Func::DirectorAdd(_) => SubKind::Init.bit(),
                        _ => u16::MAX,
                    };
                    if mask & !allowed != 0 {
                        let name = match f {
                            Func::HashData => "hash_data()",
                            Func::Synthetic => "synthetic()",
                            _ => "add_backend()",
                        };
                        errors.push(
                            Diagnostic::error(
                                Some(span.clone()),
                                format!(
                                    "{name} no se puede usar en {}",
                                    mask_names(mask & !allowed)
                                ),
                            )
                            .with_hint(format!("solo en {}", mask_names(allowed))),
                        );
                    }
                }
            }
            Stmt::New { span, .. } => {
                if mask != SubKind::Init.bit() {
                    errors.push(Diagnostic::error(
                        Some(span.clone()),
                        "`new` solo se puede usar en vcl_init",
                    ));
                }
            }
            Stmt::Call { .. } => {}
        }
    }
}

fn check_expr(e: &Expr, mask: u16, sub: &str, errors: &mut Vec<Diagnostic>) {
    match e {
        Expr::Var(var, span) => {
            let (r, _, _) = var.masks();
            if mask & !r != 0 {
                errors.push(not_here(var, "leer", r, mask, sub, span));
            }
        }
        Expr::Not(a) | Expr::Neg(a) => check_expr(a, mask, sub, errors),
        Expr::And(a, b) | Expr::Or(a, b) | Expr::Cmp(_, a, b) | Expr::Arith(_, a, b) => {
            check_expr(a, mask, sub, errors);
            check_expr(b, mask, sub, errors);
        }
        Expr::Regex { lhs, .. } | Expr::Acl { lhs, .. } => check_expr(lhs, mask, sub, errors),
        Expr::Concat(v) | Expr::Call(_, v) => {
            for x in v {
                check_expr(x, mask, sub, errors);
            }
        }
        _ => {}
    }
}
