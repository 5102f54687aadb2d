//! How the dashboard is served: address, token, read-only, from the environment; and
//! [`serve`], which refuses to expose it beyond loopback without a token.

use std::net::SocketAddr;

use crate::Backend;

/// Where to serve the dashboard (e.g. `127.0.0.1:9090`).
pub const ADDR_VARIABLE: &str = "PGSCHED_DASHBOARD_ADDR";
/// The token every request must carry (basic auth password, or `Authorization: Bearer`).
pub const TOKEN_VARIABLE: &str = "PGSCHED_DASHBOARD_TOKEN";
/// `1`/`true`: show everything, allow no action.
pub const READ_ONLY_VARIABLE: &str = "PGSCHED_DASHBOARD_READONLY";

/// Why the dashboard cannot be served as configured.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// A variable has a value that cannot be used.
    #[error("{variable}={value:?} is invalid: {reason}")]
    Invalid {
        /// The variable.
        variable: &'static str,
        /// Its value.
        value: String,
        /// Why, and what to write instead.
        reason: String,
    },
    /// An address other than loopback without a token.
    #[error(
        "the dashboard would be reachable from other hosts at {addr} without authentication: \
         set {TOKEN_VARIABLE} to a secret (every request then needs it), or serve it on \
         loopback ({ADDR_VARIABLE}=127.0.0.1:9090)"
    )]
    Unauthenticated {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// The address cannot be bound.
    #[error("cannot serve the dashboard on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// How the dashboard is served. [`Settings::from_env`] reads [`ADDR_VARIABLE`],
/// [`TOKEN_VARIABLE`] and [`READ_ONLY_VARIABLE`].
#[derive(Clone, Default)]
pub struct Settings {
    pub(crate) addr: Option<SocketAddr>,
    pub(crate) token: Option<String>,
    pub(crate) read_only: bool,
    pub(crate) base_path: String,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("addr", &self.addr)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("read_only", &self.read_only)
            .field("base_path", &self.base_path)
            .finish()
    }
}

impl Settings {
    /// No address, no token, actions allowed, served at the root.
    #[must_use]
    pub fn new() -> Settings {
        Settings::default()
    }

    /// From the process environment (see [`Settings::from_lookup`]).
    ///
    /// # Errors
    /// [`SettingsError::Invalid`] naming the variable.
    pub fn from_env() -> Result<Settings, SettingsError> {
        Settings::from_lookup(|key| std::env::var(key).ok())
    }

    /// From [`ADDR_VARIABLE`] (none: not served by `pgsched::run()`), [`TOKEN_VARIABLE`]
    /// and [`READ_ONLY_VARIABLE`], read through `lookup`.
    ///
    /// # Errors
    /// [`SettingsError::Invalid`] naming the variable.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Settings, SettingsError> {
        let get = |key: &str| {
            lookup(key)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut settings = Settings::new();
        if let Some(addr) = get(ADDR_VARIABLE) {
            settings.addr = Some(parse_addr(&addr)?);
        }
        settings.token = get(TOKEN_VARIABLE);
        if let Some(read_only) = get(READ_ONLY_VARIABLE) {
            settings.read_only = match read_only.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" => true,
                "0" | "false" | "no" => false,
                _ => {
                    return Err(SettingsError::Invalid {
                        variable: READ_ONLY_VARIABLE,
                        value: read_only,
                        reason: "use 1 or 0 (true or false)".into(),
                    });
                }
            };
        }
        Ok(settings)
    }

    /// Serve on this address.
    #[must_use]
    pub fn addr(mut self, addr: SocketAddr) -> Settings {
        self.addr = Some(addr);
        self
    }

    /// Require this token on every request.
    #[must_use]
    pub fn token(mut self, token: impl Into<String>) -> Settings {
        self.token = Some(token.into());
        self
    }

    /// Show everything, allow no action.
    #[must_use]
    pub fn read_only(mut self, read_only: bool) -> Settings {
        self.read_only = read_only;
        self
    }

    /// The path the router is nested under in an application of your own (`/jobs-dashboard`),
    /// which every link starts with. Default: none (served at the root).
    #[must_use]
    pub fn base_path(mut self, path: impl Into<String>) -> Settings {
        self.base_path = path.into().trim_end_matches('/').to_owned();
        self
    }

    /// The address to serve on, if one was given.
    #[must_use]
    pub fn served_at(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// Refuses `addr` when it is reachable from other hosts and no token is set.
    ///
    /// # Errors
    /// [`SettingsError::Unauthenticated`].
    pub fn check_bind(&self, addr: SocketAddr) -> Result<(), SettingsError> {
        if addr.ip().is_loopback() || self.token.is_some() {
            Ok(())
        } else {
            Err(SettingsError::Unauthenticated { addr })
        }
    }
}

/// `host:port`, with `localhost` as 127.0.0.1.
fn parse_addr(value: &str) -> Result<SocketAddr, SettingsError> {
    let normalised = value
        .strip_prefix("localhost:")
        .map_or_else(|| value.to_owned(), |port| format!("127.0.0.1:{port}"));
    normalised.parse().map_err(|error| SettingsError::Invalid {
        variable: ADDR_VARIABLE,
        value: value.to_owned(),
        reason: format!("{error}; write an address and port like 127.0.0.1:9090"),
    })
}

/// A dashboard server: runs until its shutdown signal completes.
pub type Server = std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<()>> + Send>>;

/// Serves the dashboard over `backend` on `addr` until `shutdown` completes. Checks the
/// address first ([`Settings::check_bind`]) and binds before returning the server's future,
/// so a refused or taken address is an error at once.
///
/// # Errors
/// [`SettingsError::Unauthenticated`] or [`SettingsError::Bind`].
pub async fn serve<B: Backend>(
    backend: B,
    settings: &Settings,
    addr: SocketAddr,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(SocketAddr, Server), SettingsError> {
    settings.check_bind(addr)?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| SettingsError::Bind { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| SettingsError::Bind { addr, source })?;
    let app = crate::router(backend, settings);
    let server = axum::serve(listener, app).with_graceful_shutdown(shutdown);
    tracing::info!(address = %bound, read_only = settings.read_only, "serving the pgsched dashboard");
    Ok((bound, Box::pin(server.into_future())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn loopback_needs_no_token_other_addresses_do() {
        let open = Settings::new();
        assert!(
            open.check_bind("127.0.0.1:9090".parse().expect("addr"))
                .is_ok()
        );
        assert!(open.check_bind("[::1]:9090".parse().expect("addr")).is_ok());
        let error = open
            .check_bind("0.0.0.0:9090".parse().expect("addr"))
            .expect_err("exposed without a token");
        assert!(error.to_string().contains(TOKEN_VARIABLE), "{error}");
        let guarded = Settings::new().token("s3cret");
        assert!(
            guarded
                .check_bind("0.0.0.0:9090".parse().expect("addr"))
                .is_ok()
        );
    }

    #[test]
    fn variables_are_read_and_bad_ones_named() {
        let settings = Settings::from_lookup(lookup(&[
            (ADDR_VARIABLE, "localhost:9091"),
            (TOKEN_VARIABLE, "t"),
            (READ_ONLY_VARIABLE, "1"),
        ]))
        .expect("valid");
        assert_eq!(settings.addr, Some("127.0.0.1:9091".parse().expect("addr")));
        assert!(settings.read_only);
        assert_eq!(settings.token.as_deref(), Some("t"));
        assert!(!format!("{settings:?}").contains("\"t\""));
        let error = Settings::from_lookup(lookup(&[(ADDR_VARIABLE, "9090")])).expect_err("no host");
        assert!(error.to_string().contains(ADDR_VARIABLE), "{error}");
        let error =
            Settings::from_lookup(lookup(&[(READ_ONLY_VARIABLE, "maybe")])).expect_err("bad bool");
        assert!(error.to_string().contains(READ_ONLY_VARIABLE), "{error}");
    }
}
