//! The pages and the actions: routes, handlers, and the templates they fill.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use pgsched_core::store::{JobStore, VacuumStatsDay, VacuumTotals, WorkerInfo};
use pgsched_core::{JobId, JobInfo, JobStatus, QueueName, VacuumPolicy};
use pgsched_pg::dashboard::{
    AttemptError, JobQuery, JobSummary, LeaseInfo, ListOrder, Overview, PageCursor, QueueCounts,
    STATUS_COUNT_CAP,
};

use crate::form::Posted;
use crate::guard::Guard;
use crate::view::{self, STATUSES};
use crate::{Backend, PeriodicView, Settings, charts};

/// Minutes the overview's charts cover.
const CHART_MINUTES: u32 = 60;
/// Jobs per page of the list unless the query asks for another size.
const PAGE_SIZE_DEFAULT: u32 = 50;
/// Next fire times shown per periodic schedule.
const NEXT_FIRES: usize = 5;
/// Days of retention statistics shown.
const RETENTION_DAYS: u32 = 30;
/// How often the overview refreshes its live part, in milliseconds.
const REFRESH_MS: u32 = 2000;

const STYLE: &str = include_str!("../assets/app.css");
const SCRIPT: &str = include_str!("../assets/app.js");

/// What every handler gets.
struct App<B> {
    backend: B,
    guard: Guard,
    read_only: bool,
    base: String,
}

type Shared<B> = State<Arc<App<B>>>;

/// The routes over `backend`, behind the guard.
pub(crate) fn routes<B: Backend>(backend: B, settings: &Settings) -> Router {
    let guard = Guard::new(settings.token.clone());
    let app = Arc::new(App {
        backend,
        guard: guard.clone(),
        read_only: settings.read_only,
        base: settings.base_path.clone(),
    });
    Router::new()
        .route("/", get(overview::<B>))
        .route("/overview/live", get(overview_live::<B>))
        .route("/jobs", get(jobs::<B>))
        .route("/jobs/bulk", post(jobs_bulk::<B>))
        .route("/job", get(job::<B>))
        .route("/job/action", post(job_action::<B>))
        .route("/periodic", get(periodic::<B>))
        .route("/periodic/action", post(periodic_action::<B>))
        .route("/queues", get(queues::<B>))
        .route("/queues/action", post(queues_action::<B>))
        .route("/workers", get(workers::<B>))
        .route("/retention", get(retention::<B>))
        .route(
            "/assets/app.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE) }),
        )
        .route(
            "/assets/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }),
        )
        .with_state(app)
        .layer(axum::middleware::from_fn_with_state(
            guard,
            crate::guard::check,
        ))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// What the layout of every page needs.
struct Layout {
    base: String,
    csrf: String,
    read_only: bool,
    page: &'static str,
    done: Option<String>,
}

impl<B: Backend> App<B> {
    fn layout(&self, page: &'static str, done: Option<String>) -> Layout {
        Layout {
            base: self.base.clone(),
            csrf: self.guard.csrf.to_string(),
            read_only: self.read_only,
            page,
            done,
        }
    }
}

/// A page that could not be shown, or an action refused: status and a sentence.
struct Failure {
    status: StatusCode,
    message: String,
}

impl Failure {
    fn bad_request(message: impl Into<String>) -> Failure {
        Failure {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
}

impl From<pgsched_core::Error> for Failure {
    fn from(error: pgsched_core::Error) -> Failure {
        let text = error.to_string();
        let message = if text.contains("statement timeout") {
            format!(
                "the database did not answer within {} s, so the dashboard stopped asking: narrow the filter (a status, a job name, a time range). ({text})",
                pgsched_pg::dashboard::DASHBOARD_STATEMENT_TIMEOUT.as_secs()
            )
        } else {
            text
        };
        Failure {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message,
        }
    }
}

#[derive(Template)]
#[template(path = "failure.html")]
struct FailurePage {
    layout: Layout,
    message: String,
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let page = FailurePage {
            // The error page offers no action, and is rendered without the app's state: its
            // links assume the dashboard is served at the root.
            layout: Layout {
                base: String::new(),
                csrf: String::new(),
                read_only: false,
                page: "",
                done: None,
            },
            message: self.message,
        };
        (self.status, render(&page)).into_response()
    }
}

fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(error) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the page could not be rendered: {error}"),
        )
            .into_response(),
    }
}

type Page = Result<Response, Failure>;

/// The confirmation after an action, from the `done` and `n` of a redirect: a fixed
/// sentence per action (nothing from the query string is shown but the count).
fn done_message(query: &HashMap<String, String>) -> Option<String> {
    let action = Action::parse(query.get("done")?)?;
    let count: u64 = query.get("n").and_then(|n| n.parse().ok()).unwrap_or(1);
    if count == 0 {
        return Some(format!(
            "{}: nothing changed, no job was in a status it applies to (it may have changed meanwhile).",
            action.past()
        ));
    }
    Some(format!("{}: {count} job(s).", action.past()))
}

// ---------------------------------------------------------------- overview

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    layout: Layout,
    live: OverviewLive,
    refresh_ms: u32,
}

#[derive(Template)]
#[template(path = "overview_live.html")]
struct OverviewLive {
    base: String,
    overview: Overview,
    workers: Vec<WorkerInfo>,
    throughput_svg: String,
    lag_svg: String,
}

impl OverviewLive {
    fn count(&self, count: &i64) -> String {
        view::capped(*count, STATUS_COUNT_CAP)
    }

    fn waiting_for(&self) -> String {
        self.overview
            .oldest_due_ms
            .map_or_else(|| "nothing waiting".to_owned(), view::millis)
    }

    fn finished_last_hour(&self) -> (i64, i64) {
        self.overview
            .minutes
            .iter()
            .fold((0, 0), |(c, f), m| (c + m.completed, f + m.failed))
    }

    fn time(&self, at: &DateTime<Utc>) -> String {
        view::time(at)
    }
}

async fn live<B: Backend>(app: &App<B>) -> Result<OverviewLive, Failure> {
    let overview = app
        .backend
        .store()
        .dashboard_overview(CHART_MINUTES)
        .await?;
    let workers =
        JobStore::list_workers(app.backend.store(), app.backend.dead_worker_after()).await?;
    Ok(OverviewLive {
        base: app.base.clone(),
        throughput_svg: charts::throughput(&overview.minutes),
        lag_svg: charts::lag(&overview.minutes),
        overview,
        workers,
    })
}

async fn overview<B: Backend>(State(app): Shared<B>) -> Page {
    let live = live(&app).await?;
    Ok(render(&OverviewPage {
        layout: app.layout("overview", None),
        live,
        refresh_ms: REFRESH_MS,
    }))
}

async fn overview_live<B: Backend>(State(app): Shared<B>) -> Page {
    Ok(render(&live(&app).await?))
}

// ---------------------------------------------------------------- jobs list

#[derive(Template)]
#[template(path = "jobs.html")]
struct JobsPage {
    layout: Layout,
    filter: JobsFilter,
    jobs: Vec<JobSummary>,
    next: Option<String>,
    problem: Option<String>,
}

/// The jobs list's filters as the form shows them back.
#[derive(Default)]
struct JobsFilter {
    status: String,
    name: String,
    queue: String,
    id: String,
    from: String,
    to: String,
    order: String,
    limit: u32,
    /// The filters as a query string (without the cursor), for links and the bulk form.
    query: String,
}

impl JobsPage {
    fn statuses(&self) -> &'static [JobStatus] {
        &STATUSES
    }

    fn time(&self, at: &DateTime<Utc>) -> String {
        view::time(at)
    }

    fn maybe_time(&self, at: &Option<DateTime<Utc>>) -> String {
        view::maybe_time(at)
    }
}

/// Reads the list's query string: the filters and the page's start.
fn job_query(query: &HashMap<String, String>) -> (JobsFilter, Result<JobQuery, String>) {
    let text = |key: &str| {
        query
            .get(key)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let limit = query
        .get("limit")
        .and_then(|limit| limit.parse().ok())
        .unwrap_or(PAGE_SIZE_DEFAULT)
        .clamp(1, pgsched_pg::dashboard::MAX_PAGE_SIZE);
    let mut filter = JobsFilter {
        status: text("status"),
        name: text("name"),
        queue: text("queue"),
        id: text("id"),
        from: text("from"),
        to: text("to"),
        order: text("order"),
        limit,
        query: String::new(),
    };
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (key, value) in [
        ("status", &filter.status),
        ("name", &filter.name),
        ("queue", &filter.queue),
        ("id", &filter.id),
        ("from", &filter.from),
        ("to", &filter.to),
        ("order", &filter.order),
    ] {
        if !value.is_empty() {
            serializer.append_pair(key, value);
        }
    }
    if limit != PAGE_SIZE_DEFAULT {
        serializer.append_pair("limit", &limit.to_string());
    }
    filter.query = serializer.finish();
    let parsed = (|| {
        let after = match (query.get("after_at"), query.get("after_id")) {
            (Some(at), Some(id)) => Some(PageCursor {
                created_at: view::parse_time("after_at", at)?.ok_or("after_at: empty cursor")?,
                id: id.clone(),
            }),
            _ => None,
        };
        let order = match filter.order.as_str() {
            "" | "newest" => ListOrder::NewestFirst,
            "oldest" => ListOrder::OldestFirst,
            other => return Err(format!("unknown order {other:?}: use newest or oldest")),
        };
        Ok(JobQuery {
            status: view::parse_status(&filter.status)?,
            name: Some(filter.name.clone()).filter(|name| !name.is_empty()),
            queue: Some(filter.queue.clone()).filter(|queue| !queue.is_empty()),
            id_prefix: Some(filter.id.clone()).filter(|id| !id.is_empty()),
            created_from: view::parse_time("from", &filter.from)?,
            created_before: view::parse_time("to", &filter.to)?,
            order,
            after,
            limit,
        })
    })();
    (filter, parsed)
}

async fn jobs<B: Backend>(
    State(app): Shared<B>,
    Query(query): Query<HashMap<String, String>>,
) -> Page {
    let (filter, parsed) = job_query(&query);
    let done = done_message(&query);
    let job_query = match parsed {
        Ok(job_query) => job_query,
        Err(problem) => {
            let page = JobsPage {
                layout: app.layout("jobs", done),
                filter,
                jobs: Vec::new(),
                next: None,
                problem: Some(problem),
            };
            return Ok((StatusCode::BAD_REQUEST, render(&page)).into_response());
        }
    };
    let jobs = app.backend.store().dashboard_jobs(&job_query).await?;
    let next = (jobs.len() == job_query.limit as usize)
        .then(|| jobs.last())
        .flatten()
        .map(|last| {
            let mut link = form_urlencoded::Serializer::new(filter.query.clone());
            link.append_pair("after_at", &view::cursor_time(&last.created_at));
            link.append_pair("after_id", last.id.as_str());
            link.finish()
        });
    Ok(render(&JobsPage {
        layout: app.layout("jobs", done),
        filter,
        jobs,
        next,
        problem: None,
    }))
}

/// An operator's action on a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Retry,
    Cancel,
    RunNow,
    Delete,
}

impl Action {
    fn parse(value: &str) -> Option<Action> {
        Some(match value {
            "retry" => Action::Retry,
            "cancel" => Action::Cancel,
            "run-now" => Action::RunNow,
            "delete" => Action::Delete,
            _ => return None,
        })
    }

    fn code(self) -> &'static str {
        match self {
            Action::Retry => "retry",
            Action::Cancel => "cancel",
            Action::RunNow => "run-now",
            Action::Delete => "delete",
        }
    }

    fn past(self) -> &'static str {
        match self {
            Action::Retry => "Retried",
            Action::Cancel => "Cancelled",
            Action::RunNow => "Made due now",
            Action::Delete => "Deleted",
        }
    }

    /// Applies it to `id`; false if the job is not in a status it applies to.
    async fn apply<B: Backend>(self, backend: &B, id: &JobId) -> pgsched_core::Result<bool> {
        let store = backend.store();
        match self {
            Action::Retry => JobStore::retry_job(store, id).await,
            Action::Cancel => JobStore::cancel(store, id).await,
            Action::RunNow => store.run_job_now(id).await,
            Action::Delete => store.delete_job(id).await,
        }
    }
}

/// Checks that an action may run: not read-only, and posted by a page of this dashboard.
fn allow_action<B: Backend>(
    app: &App<B>,
    headers: &HeaderMap,
    posted: &Posted,
) -> Result<(), Failure> {
    if app.read_only {
        return Err(Failure {
            status: StatusCode::FORBIDDEN,
            message: "this dashboard is read-only (PGSCHED_DASHBOARD_READONLY): it shows everything and changes nothing".into(),
        });
    }
    if !app.guard.is_same_origin_action(headers, posted.get("csrf")) {
        return Err(Failure {
            status: StatusCode::FORBIDDEN,
            message: "this action did not come from a page of this dashboard (its CSRF token is missing or wrong, or the request is cross-site): reload the page and try again".into(),
        });
    }
    Ok(())
}

fn posted_action(posted: &Posted) -> Result<Action, Failure> {
    posted
        .get("action")
        .and_then(Action::parse)
        .ok_or_else(|| Failure::bad_request("unknown action: use retry, cancel, run-now or delete"))
}

async fn jobs_bulk<B: Backend>(State(app): Shared<B>, headers: HeaderMap, body: Bytes) -> Page {
    let posted = Posted::parse(&body);
    allow_action(&app, &headers, &posted)?;
    let action = posted_action(&posted)?;
    let mut applied = 0u64;
    for id in posted
        .all("id")
        .take(pgsched_pg::dashboard::MAX_PAGE_SIZE as usize)
    {
        if let Ok(id) = JobId::new(id)
            && action.apply(&app.backend, &id).await?
        {
            applied += 1;
        }
    }
    // The list's own filters, read back and written anew: nothing but a query string reaches
    // the redirect.
    let back = form_urlencoded::parse(posted.get("back").unwrap_or_default().as_bytes());
    let mut target = form_urlencoded::Serializer::new(String::new());
    target.extend_pairs(back.filter(|(key, _)| key != "done" && key != "n"));
    target.append_pair("done", action.code());
    target.append_pair("n", &applied.to_string());
    Ok(Redirect::to(&format!("{}/jobs?{}", app.base, target.finish())).into_response())
}

// ---------------------------------------------------------------- one job

#[derive(Template)]
#[template(path = "job.html")]
struct JobPage {
    layout: Layout,
    job: JobInfo,
    lease: LeaseInfo,
    /// The errors its attempts ended with, oldest first.
    attempt_errors: Vec<AttemptError>,
    /// How many of them the store keeps.
    attempt_errors_kept: u32,
    args: Result<String, String>,
    payload_hex: String,
    actions: Vec<Action>,
}

impl JobPage {
    fn time(&self, at: &DateTime<Utc>) -> String {
        view::time(at)
    }

    fn maybe_time(&self, at: &Option<DateTime<Utc>>) -> String {
        view::maybe_time(at)
    }

    fn confirm(&self, action: &Action) -> String {
        format!(
            "{} this job?",
            match action {
                Action::Retry => "Retry",
                Action::Cancel => "Cancel",
                Action::RunNow => "Run now",
                Action::Delete => "Delete (cannot be undone)",
            }
        )
    }

    fn button_id(&self, action: &Action) -> String {
        format!("action-{}", action.code())
    }

    fn label(&self, action: &Action) -> &'static str {
        match action {
            Action::Retry => "Retry",
            Action::Cancel => "Cancel",
            Action::RunNow => "Run now",
            Action::Delete => "Delete",
        }
    }
}

/// The actions that apply to a job in `status` (`waiting`: due later).
fn actions_for(status: JobStatus) -> Vec<Action> {
    match status {
        JobStatus::Pending => vec![Action::RunNow, Action::Cancel, Action::Delete],
        JobStatus::Running => vec![Action::Cancel],
        JobStatus::Failed | JobStatus::Expired => vec![Action::Retry, Action::Delete],
        // Completed, cancelled, and any status a later version adds: only removal.
        _ => vec![Action::Delete],
    }
}

async fn job<B: Backend>(
    State(app): Shared<B>,
    Query(query): Query<HashMap<String, String>>,
) -> Page {
    let raw = query.get("id").map(String::as_str).unwrap_or_default();
    let not_found = || Failure {
        status: StatusCode::NOT_FOUND,
        message: format!("no job has the id {raw:?} (it may have been deleted by retention)"),
    };
    let id = JobId::new(raw).map_err(|_| not_found())?;
    let store = app.backend.store();
    let job = JobStore::job(store, &id).await?.ok_or_else(not_found)?;
    let lease = store.dashboard_job_lease(&id).await?.unwrap_or_default();
    let attempt_errors = store.dashboard_attempt_errors(&id).await?;
    let args = match app.backend.registry() {
        Ok(registry) => registry.args_json(&job.name, job.schema_hash, &job.payload),
        Err(error) => Err(error.to_string()),
    }
    .map(|json| serde_json::to_string_pretty(&json).unwrap_or_else(|error| error.to_string()));
    let payload_hex = job
        .payload
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    Ok(render(&JobPage {
        layout: app.layout("jobs", done_message(&query)),
        actions: actions_for(job.status),
        job,
        lease,
        attempt_errors,
        attempt_errors_kept: pgsched_pg::ATTEMPT_ERRORS_KEPT,
        args,
        payload_hex,
    }))
}

async fn job_action<B: Backend>(State(app): Shared<B>, headers: HeaderMap, body: Bytes) -> Page {
    let posted = Posted::parse(&body);
    allow_action(&app, &headers, &posted)?;
    let action = posted_action(&posted)?;
    let raw = posted.get("id").unwrap_or_default();
    let id = JobId::new(raw).map_err(|error| Failure::bad_request(error.to_string()))?;
    let applied = action.apply(&app.backend, &id).await?;
    if action == Action::Delete && applied {
        return Ok(Redirect::to(&format!("{}/jobs?done=delete&n=1", app.base)).into_response());
    }
    let mut target = form_urlencoded::Serializer::new(String::new());
    target.append_pair("id", raw);
    target.append_pair("done", action.code());
    target.append_pair("n", if applied { "1" } else { "0" });
    Ok(Redirect::to(&format!("{}/job?{}", app.base, target.finish())).into_response())
}

// ---------------------------------------------------------------- periodic

#[derive(Template)]
#[template(path = "periodic.html")]
struct PeriodicPage {
    layout: Layout,
    schedules: Vec<PeriodicView>,
}

impl PeriodicPage {
    fn parts(&self, schedule: &str) -> (String, String) {
        view::schedule_parts(schedule)
    }

    fn time(&self, at: &DateTime<Utc>) -> String {
        view::time(at)
    }

    fn maybe_time(&self, at: &Option<DateTime<Utc>>) -> String {
        view::maybe_time(at)
    }
}

async fn periodic<B: Backend>(
    State(app): Shared<B>,
    Query(query): Query<HashMap<String, String>>,
) -> Page {
    let schedules = app.backend.periodic_schedules(NEXT_FIRES).await?;
    let done = query.get("done").and_then(|done| match done.as_str() {
        "enable" => Some("Enabled.".to_owned()),
        "disable" => Some("Disabled.".to_owned()),
        "trigger" => Some("Triggered: a run is enqueued now.".to_owned()),
        _ => None,
    });
    Ok(render(&PeriodicPage {
        layout: app.layout("periodic", done),
        schedules,
    }))
}

async fn periodic_action<B: Backend>(
    State(app): Shared<B>,
    headers: HeaderMap,
    body: Bytes,
) -> Page {
    let posted = Posted::parse(&body);
    allow_action(&app, &headers, &posted)?;
    let key = posted.get("key").unwrap_or_default();
    let action = posted.get("action").unwrap_or_default();
    match action {
        "enable" => app
            .backend
            .set_periodic_enabled(key, true)
            .await
            .map(drop)?,
        "disable" => app
            .backend
            .set_periodic_enabled(key, false)
            .await
            .map(drop)?,
        "trigger" => app.backend.trigger_periodic(key).await.map(drop)?,
        _ => {
            return Err(Failure::bad_request(
                "unknown action: use enable, disable or trigger",
            ));
        }
    }
    Ok(Redirect::to(&format!("{}/periodic?done={action}", app.base)).into_response())
}

// ---------------------------------------------------------------- queues

#[derive(Template)]
#[template(path = "queues.html")]
struct QueuesPage {
    layout: Layout,
    queues: Vec<QueueCounts>,
}

impl QueuesPage {
    fn count(&self, count: &i64) -> String {
        view::capped(*count, STATUS_COUNT_CAP)
    }
}

async fn queues<B: Backend>(
    State(app): Shared<B>,
    Query(query): Query<HashMap<String, String>>,
) -> Page {
    let queues = app.backend.store().dashboard_queues().await?;
    let done = query.get("done").and_then(|done| match done.as_str() {
        "pause" => Some("Paused on every worker: no job of it starts until resumed.".to_owned()),
        "resume" => Some("Resumed.".to_owned()),
        _ => None,
    });
    Ok(render(&QueuesPage {
        layout: app.layout("queues", done),
        queues,
    }))
}

/// Pauses or resumes a queue for every worker.
async fn queues_action<B: Backend>(State(app): Shared<B>, headers: HeaderMap, body: Bytes) -> Page {
    let posted = Posted::parse(&body);
    allow_action(&app, &headers, &posted)?;
    let queue = QueueName::new(posted.get("queue").unwrap_or_default())
        .map_err(|error| Failure::bad_request(error.to_string()))?;
    let action = posted.get("action").unwrap_or_default();
    let paused = match action {
        "pause" => true,
        "resume" => false,
        _ => return Err(Failure::bad_request("unknown action: use pause or resume")),
    };
    JobStore::set_queue_paused(app.backend.store(), &queue, paused).await?;
    Ok(Redirect::to(&format!("{}/queues?done={action}", app.base)).into_response())
}

// ---------------------------------------------------------------- workers, retention

#[derive(Template)]
#[template(path = "workers.html")]
struct WorkersPage {
    layout: Layout,
    workers: Vec<WorkerInfo>,
}

impl WorkersPage {
    fn time(&self, at: &DateTime<Utc>) -> String {
        view::time(at)
    }
}

async fn workers<B: Backend>(State(app): Shared<B>) -> Page {
    let workers =
        JobStore::list_workers(app.backend.store(), app.backend.dead_worker_after()).await?;
    Ok(render(&WorkersPage {
        layout: app.layout("workers", None),
        workers,
    }))
}

#[derive(Template)]
#[template(path = "retention.html")]
struct RetentionPage {
    layout: Layout,
    policies: Vec<(JobStatus, String)>,
    interval: String,
    track_metrics: bool,
    days: Vec<VacuumStatsDay>,
    totals: VacuumTotals,
}

impl RetentionPage {
    fn time(&self, at: &DateTime<Utc>) -> String {
        view::time(at)
    }

    fn maybe_time(&self, at: &Option<DateTime<Utc>>) -> String {
        view::maybe_time(at)
    }
}

fn policy_text(policy: VacuumPolicy) -> String {
    match policy {
        VacuumPolicy::Immediate => "deleted at the next pass".into(),
        VacuumPolicy::AfterDays(days) => format!("deleted {days} day(s) after finishing"),
        VacuumPolicy::KeepLast(count) => format!("the newest {count} per job name kept"),
        VacuumPolicy::Never => "kept forever".into(),
        _ => format!("{policy:?}"),
    }
}

async fn retention<B: Backend>(State(app): Shared<B>) -> Page {
    let config = app.backend.retention();
    let store = app.backend.store();
    Ok(render(&RetentionPage {
        layout: app.layout("retention", None),
        policies: config
            .policies()
            .into_iter()
            .map(|(status, policy)| (status, policy_text(policy)))
            .collect(),
        interval: humantime::format_duration(config.interval).to_string(),
        track_metrics: config.track_metrics,
        days: JobStore::retention_stats(store, RETENTION_DAYS).await?,
        totals: JobStore::retention_totals(store).await?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_list_query_reads_filters_and_cursor() {
        let (filter, parsed) = job_query(&query(&[
            ("status", "failed"),
            ("name", "send <email>"),
            ("queue", "mail"),
            ("order", "oldest"),
            ("after_at", "2030-01-01T00:00:00.000001Z"),
            ("after_id", "a&b"),
        ]));
        let parsed = parsed.expect("valid");
        assert_eq!(parsed.status, Some(JobStatus::Failed));
        assert_eq!(parsed.name.as_deref(), Some("send <email>"));
        assert_eq!(parsed.queue.as_deref(), Some("mail"));
        assert_eq!(parsed.order, ListOrder::OldestFirst);
        assert_eq!(parsed.after.expect("cursor").id, "a&b");
        assert_eq!(
            filter.query,
            "status=failed&name=send+%3Cemail%3E&queue=mail&order=oldest"
        );
        let (_, bad) = job_query(&query(&[("status", "nope")]));
        assert!(bad.is_err());
    }

    #[test]
    fn confirmations_name_fixed_actions_only() {
        assert_eq!(
            done_message(&query(&[("done", "retry"), ("n", "3")])).as_deref(),
            Some("Retried: 3 job(s).")
        );
        assert_eq!(done_message(&query(&[("done", "<script>")])), None);
        assert!(
            done_message(&query(&[("done", "cancel"), ("n", "0")]))
                .is_some_and(|message| message.contains("nothing changed"))
        );
        assert_eq!(actions_for(JobStatus::Running), vec![Action::Cancel]);
    }
}
