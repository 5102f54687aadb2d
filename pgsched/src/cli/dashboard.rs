//! `dashboard [--addr A]`: serve the web dashboard without running jobs, until Ctrl-C.

use std::net::SocketAddr;

use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::{Failure, Report};
use crate::scheduler::Scheduler;

/// Where the dashboard is served when neither `--addr` nor `PGSCHED_DASHBOARD_ADDR` says.
const ADDR_DEFAULT: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9090);

/// `dashboard`.
pub(super) async fn serve(
    scheduler: &Scheduler,
    addr: Option<SocketAddr>,
) -> Result<Report, Failure> {
    let settings = crate::dashboard::settings_from_env()?;
    let addr = addr.or(settings.served_at()).unwrap_or(ADDR_DEFAULT);
    let stop = CancellationToken::new();
    let (bound, task) = scheduler
        .serve_dashboard(&settings, addr, stop.clone())
        .await?;
    // Said at once (the report comes when it stops), for people and for scripts that wait.
    eprintln!("serving the pgsched dashboard on http://{bound}/ (Ctrl-C stops it)");
    let _ = tokio::signal::ctrl_c().await;
    stop.cancel();
    let _ = task.await;
    Ok(Report {
        text: format!("the dashboard on http://{bound}/ stopped\n"),
        json: json!({ "addr": bound.to_string(), "stopped": true }),
    })
}
