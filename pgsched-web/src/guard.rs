//! What every request passes: the token check, the headers that keep the page to its own
//! assets, and the CSRF check of every action.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

/// The page may load and run only what the dashboard serves itself; it cannot be framed, and
/// forms post only to it.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

/// The secrets requests are checked against.
#[derive(Clone)]
pub(crate) struct Guard {
    /// The token every request must carry (`None`: none needed).
    pub(crate) token: Option<Arc<str>>,
    /// The token every action must post (one per process, in every page's forms).
    pub(crate) csrf: Arc<str>,
}

impl Guard {
    /// A guard with a fresh random CSRF token.
    pub(crate) fn new(token: Option<String>) -> Guard {
        let bytes: [u8; 32] = rand::random();
        let csrf: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
        Guard {
            token: token.map(Arc::from),
            csrf: Arc::from(csrf),
        }
    }

    /// Whether `headers` carry the token (basic auth with any user name and the token as
    /// password, or a bearer token), or none is needed.
    pub(crate) fn is_authorized(&self, headers: &HeaderMap) -> bool {
        let Some(token) = &self.token else {
            return true;
        };
        let Some(value) = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
        else {
            return false;
        };
        if let Some(bearer) = value.strip_prefix("Bearer ") {
            return same_secret(bearer.trim().as_bytes(), token.as_bytes());
        }
        let Some(basic) = value.strip_prefix("Basic ") else {
            return false;
        };
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(basic.trim()) else {
            return false;
        };
        let password = decoded
            .iter()
            .position(|&byte| byte == b':')
            .map_or(&decoded[..0], |colon| &decoded[colon + 1..]);
        same_secret(password, token.as_bytes())
    }

    /// Whether an action's form and headers come from one of the dashboard's own pages: the
    /// posted CSRF token matches, and the browser does not say the request is cross-site.
    pub(crate) fn is_same_origin_action(&self, headers: &HeaderMap, posted: Option<&str>) -> bool {
        let token_matches =
            posted.is_some_and(|posted| same_secret(posted.as_bytes(), self.csrf.as_bytes()));
        let cross_site = headers
            .get("sec-fetch-site")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|site| site == "cross-site" || site == "same-site");
        let foreign_origin = match (
            headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
            headers.get(header::HOST).and_then(|v| v.to_str().ok()),
        ) {
            (Some(origin), Some(host)) => {
                let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
                origin_host != host
            }
            _ => false,
        };
        token_matches && !cross_site && !foreign_origin
    }
}

/// Compares two secrets in time independent of where they differ.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    if given.len() != expected.len() {
        return false;
    }
    given
        .iter()
        .zip(expected)
        .fold(0u8, |difference, (a, b)| difference | (a ^ b))
        == 0
}

/// Middleware: refuses a request without the token, and adds the security headers to every
/// response.
pub(crate) async fn check(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    let mut response = if guard.is_authorized(request.headers()) {
        next.run(request).await
    } else {
        let mut refused = (
            StatusCode::UNAUTHORIZED,
            "this dashboard needs its token: the password of basic auth (any user name), or \
             Authorization: Bearer <token>",
        )
            .into_response();
        refused.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"pgsched\", charset=\"UTF-8\""),
        );
        refused
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Not `no-referrer`: under it browsers send `Origin: null` with the dashboard's own form
    // posts, which the CSRF check refuses.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).expect("header value"));
        }
        map
    }

    #[test]
    fn the_token_is_checked_as_basic_password_or_bearer() {
        let guard = Guard::new(Some("s3cret".into()));
        let basic = base64::engine::general_purpose::STANDARD.encode("ops:s3cret");
        let wrong = base64::engine::general_purpose::STANDARD.encode("ops:s3cre");
        assert!(guard.is_authorized(&headers(&[("authorization", &format!("Basic {basic}"))])));
        assert!(guard.is_authorized(&headers(&[("authorization", "Bearer s3cret")])));
        assert!(!guard.is_authorized(&headers(&[("authorization", &format!("Basic {wrong}"))])));
        assert!(!guard.is_authorized(&headers(&[("authorization", "Bearer nope")])));
        assert!(!guard.is_authorized(&HeaderMap::new()));
        assert!(Guard::new(None).is_authorized(&HeaderMap::new()));
    }

    #[test]
    fn actions_need_the_csrf_token_and_no_foreign_origin() {
        let guard = Guard::new(None);
        let csrf = guard.csrf.to_string();
        let own = headers(&[
            ("host", "127.0.0.1:9090"),
            ("origin", "http://127.0.0.1:9090"),
        ]);
        assert!(guard.is_same_origin_action(&own, Some(&csrf)));
        assert!(!guard.is_same_origin_action(&own, Some("forged")));
        assert!(!guard.is_same_origin_action(&own, None));
        let foreign = headers(&[
            ("host", "127.0.0.1:9090"),
            ("origin", "http://evil.example"),
        ]);
        assert!(!guard.is_same_origin_action(&foreign, Some(&csrf)));
        let cross = headers(&[("sec-fetch-site", "cross-site")]);
        assert!(!guard.is_same_origin_action(&cross, Some(&csrf)));
        assert_eq!(csrf.len(), 64);
    }
}
