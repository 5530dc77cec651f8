//! Lines in Apache's error log format, written by the WSGI host and its workers:
//! `[Tue Dec 01 07:42:46.123456 2026] [wsgi:error] [pid 42] [client 127.0.0.1:5000] text`.
//!
//! Every write opens the file in append mode and writes whole lines with one `write`, so the
//! lab process and its worker processes can share a log without tearing lines.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Where error lines go: a file (the vhost's `ErrorLog`) or standard error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorLog {
    pub path: Option<Arc<Path>>,
    /// Written from a daemon process: mod_wsgi 4.9 names the peer `[remote ip:port]` there,
    /// and `[client ip:port]` in Apache's own processes (embedded mode).
    pub remote: bool,
}

impl ErrorLog {
    pub fn file(path: impl Into<PathBuf>) -> ErrorLog {
        ErrorLog::shared(Arc::from(path.into()))
    }

    /// A log at a path the caller already holds (no copy of it per request).
    pub fn shared(path: Arc<Path>) -> ErrorLog {
        ErrorLog {
            path: Some(path),
            remote: false,
        }
    }

    pub fn stderr() -> ErrorLog {
        ErrorLog {
            path: None,
            remote: false,
        }
    }

    /// The same log, as a daemon process writes it (`[remote ...]`).
    pub fn in_daemon(mut self) -> ErrorLog {
        self.remote = true;
        self
    }

    /// Writes each of `lines` with the same prefix (`level` is `error`, `info`...).
    pub fn write(&self, level: &str, client: Option<&str>, lines: &[&str]) {
        let prefix = prefix(level, client, self.remote);
        let mut text = String::new();
        for line in lines {
            text.push_str(&prefix);
            escape_into(&mut text, line.trim_end_matches(['\n', '\r']));
            text.push('\n');
        }
        self.write_raw(&text);
    }

    fn write_raw(&self, text: &str) {
        let written = self
            .path
            .as_deref()
            .is_some_and(|p| append(p, text).is_ok());
        if !written {
            let _ = std::io::stderr().write_all(text.as_bytes());
        }
    }
}

/// Apache's `ap_escape_errorlog_item`: a backslash is doubled and a control character
/// becomes `\n`, `\t`... or `\xHH`, so one message is always one line.
fn escape_into(out: &mut String, line: &str) {
    for c in line.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
}

fn append(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(text.as_bytes())
}

fn prefix(level: &str, client: Option<&str>, remote: bool) -> String {
    let who = if remote { "remote" } else { "client" };
    let client = client.map(|c| format!(" [{who} {c}]")).unwrap_or_default();
    format!(
        "[{}] [wsgi:{level}] [pid {}]{client} ",
        apache_time(SystemTime::now()),
        std::process::id()
    )
}

/// `Tue Dec 01 07:42:46.123456 2026` (UTC).
pub fn apache_time(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, day) = civil_from_days(days);
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {} {:02} {:02}:{:02}:{:02}.{:06} {}",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(m - 1) as usize],
        day,
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        d.subsec_micros(),
        y
    )
}

/// Days since 1970-01-01 -> (year, month 1-12, day 1-31) (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn time_is_formatted_like_apache() {
        // 2026-12-01 07:42:46 UTC was a Tuesday.
        let t = UNIX_EPOCH + Duration::from_secs(1_796_110_966) + Duration::from_micros(5);
        assert_eq!(apache_time(t), "Tue Dec 01 07:42:46.000005 2026");
    }

    #[test]
    fn every_line_gets_the_prefix() {
        let t = tempfile::tempdir().unwrap();
        let log = ErrorLog::file(t.path().join("logs/error.log"));
        log.write("error", Some("127.0.0.1:4000"), &["uno", "dos\n"]);
        let text = std::fs::read_to_string(t.path().join("logs/error.log")).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(
            lines[0].contains("[wsgi:error] [pid ")
                && lines[0].ends_with("[client 127.0.0.1:4000] uno")
        );
        assert!(lines[1].ends_with(" dos"));
    }

    #[test]
    fn a_daemon_names_the_peer_remote_like_mod_wsgi() {
        let t = tempfile::tempdir().unwrap();
        let log = ErrorLog::file(t.path().join("error.log")).in_daemon();
        log.write("error", Some("127.0.0.1:37668"), &["KeyError: 'n'"]);
        let text = std::fs::read_to_string(t.path().join("error.log")).unwrap();
        assert!(
            text.contains("[wsgi:error] [pid ")
                && text
                    .trim_end()
                    .ends_with("] [remote 127.0.0.1:37668] KeyError: 'n'"),
            "{text}"
        );
        assert!(!text.contains("[client "), "{text}");
    }

    #[test]
    fn backslashes_and_control_characters_are_escaped_as_apache_does() {
        let mut out = String::new();
        escape_into(&mut out, "write('a\\n')\tb\u{1}");
        assert_eq!(out, "write('a\\\\n')\\tb\\x01");
    }
}
