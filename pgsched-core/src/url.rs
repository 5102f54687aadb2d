//! [`redact_url`]: a database URL with its password hidden, for messages and logs.
//!
//! Every place pgsched shows or logs a connection URL goes through here, so a password in
//! `DATABASE_URL` never reaches a terminal, a log file or an error report.

/// What a hidden password is replaced with.
pub const REDACTED: &str = "***";

/// `url` with its password replaced by `***`: the one in the userinfo
/// (`postgres://user:secret@host/db` → `postgres://user:***@host/db`) and any `password=`
/// query parameter (`?password=secret&sslmode=require` → `?password=***&sslmode=require`).
/// The user, host, port, database and other parameters stay as they are; text that is not a
/// URL is returned unchanged.
///
/// ```
/// use pgsched_core::redact_url;
/// assert_eq!(
///     redact_url("postgres://app:s3cret@db.internal:5432/jobs"),
///     "postgres://app:***@db.internal:5432/jobs"
/// );
/// assert_eq!(redact_url("postgres://app@db/jobs"), "postgres://app@db/jobs");
/// assert_eq!(
///     redact_url("postgres://db/jobs?user=app&password=s3cret"),
///     "postgres://db/jobs?user=app&password=***"
/// );
/// ```
#[must_use]
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|index| index + 3) else {
        return url.to_owned();
    };
    let (head, rest) = url.split_at(scheme_end);
    // The authority ends at the first `/`, `?` or `#`; its userinfo at the last `@` in it
    // (a password may itself hold an unescaped `@`).
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let mut out = String::with_capacity(url.len());
    out.push_str(head);
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.find(':') {
                Some(colon) => {
                    out.push_str(&userinfo[..=colon]);
                    out.push_str(REDACTED);
                }
                None => out.push_str(userinfo),
            }
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    match tail.find('?') {
        Some(question) => {
            out.push_str(&tail[..=question]);
            let query = &tail[question + 1..];
            let (query, fragment) = match query.find('#') {
                Some(hash) => query.split_at(hash),
                None => (query, ""),
            };
            let parameters: Vec<String> = query
                .split('&')
                .map(|parameter| match parameter.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => {
                        format!("{key}={REDACTED}")
                    }
                    _ => parameter.to_owned(),
                })
                .collect();
            out.push_str(&parameters.join("&"));
            out.push_str(fragment);
        }
        None => out.push_str(tail),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_the_userinfo_password() {
        assert_eq!(
            redact_url("postgres://user:s3cretpw@127.0.0.1:5432/postgres"),
            "postgres://user:***@127.0.0.1:5432/postgres"
        );
        assert_eq!(
            redact_url("postgresql://u:p%40ss@h/db?sslmode=require"),
            "postgresql://u:***@h/db?sslmode=require"
        );
        // An unescaped `@` in the password: everything up to the last `@` is userinfo.
        assert_eq!(
            redact_url("postgres://u:a@b@h:1/db"),
            "postgres://u:***@h:1/db"
        );
        // An empty password is still a password field.
        assert_eq!(redact_url("postgres://u:@h/db"), "postgres://u:***@h/db");
        assert!(!redact_url("postgres://user:s3cretpw@h").contains("s3cretpw"));
    }

    #[test]
    fn keeps_urls_without_a_password() {
        for url in [
            "postgres://postgres@127.0.0.1:5432/postgres",
            "postgres://localhost/db",
            "postgres:///db?host=/var/run/postgresql",
            "postgres://h/db?sslmode=disable&application_name=x",
            "not a url",
            "",
        ] {
            assert_eq!(redact_url(url), url);
        }
    }

    #[test]
    fn hides_a_password_query_parameter() {
        assert_eq!(
            redact_url("postgres://h/db?user=app&password=s3cret&sslmode=require"),
            "postgres://h/db?user=app&password=***&sslmode=require"
        );
        assert_eq!(
            redact_url("postgres://u:pw@h/db?PASSWORD=x#frag"),
            "postgres://u:***@h/db?PASSWORD=***#frag"
        );
        // A parameter merely containing the word is not a password.
        assert_eq!(
            redact_url("postgres://h/db?passwordless=1"),
            "postgres://h/db?passwordless=1"
        );
    }
}
