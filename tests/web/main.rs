//! The web dashboard in a real browser: headless Chromium, driven over WebDriver, against a
//! worker serving the dashboard on a schema of its own. It opens the overview, filters the
//! jobs, opens a job, retries a failed job and sees it complete, disables and enables a
//! periodic schedule, and checks that hostile ids and error texts are shown as text. Every
//! page is saved as a screenshot in `tests/web/screenshots/` (ignored by git).
//!
//! Without chromium and chromedriver (and no way to install them) each test says so loudly
//! and passes without a browser.

mod browser;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use fantoccini::{Client, Locator};
use pgsched::web::Settings;
use pgsched::{JobStatus, Scheduler, job, periodic};
use pgsched_tests::{Setup, eventually, setup_with};
use tokio_util::sync::CancellationToken;

/// While set, `web_flaky` fails with [`HOSTILE`] as its error.
static FLAKY_FAILS: AtomicBool = AtomicBool::new(true);

/// How many times `web_flaky` failed (each error names its count).
static FLAKY_FAILURES: AtomicU32 = AtomicU32::new(0);

/// Text a page must show as text: markup, quotes, and a right-to-left override.
const HOSTILE: &str = "<script>window.__pgsched_xss = 1</script><img src=x onerror=\"window.__pgsched_xss = 2\"> \"double\" 'single' \u{202E}txet desrever";

/// Does nothing.
#[job]
async fn web_echo(text: String) {
    let _ = text;
}

/// Fails with hostile text while [`FLAKY_FAILS`] is set, else completes.
#[job]
async fn web_flaky(label: String) -> Result<(), String> {
    if FLAKY_FAILS.load(Ordering::SeqCst) {
        let failure = FLAKY_FAILURES.fetch_add(1, Ordering::SeqCst) + 1;
        Err(format!("{label} failure {failure}: {HOSTILE}"))
    } else {
        Ok(())
    }
}

/// A schedule to disable and enable.
#[periodic(every = "1h")]
async fn web_hourly() {}

/// A worker on its own schema serving the dashboard on a free loopback port.
struct Served {
    setup: Setup,
    base: String,
    stop: CancellationToken,
}

impl Served {
    async fn start(settings: Settings, worker: bool) -> Served {
        let setup = setup_with(|builder| builder).await;
        if worker {
            setup.scheduler.start().await.expect("worker starts");
        }
        let stop = CancellationToken::new();
        let any_port: SocketAddr = "127.0.0.1:0".parse().expect("address");
        let (bound, _task) = setup
            .scheduler
            .serve_dashboard(&settings, any_port, stop.clone())
            .await
            .expect("dashboard serves");
        Served {
            setup,
            base: format!("http://{bound}"),
            stop,
        }
    }

    fn scheduler(&self) -> &Scheduler {
        &self.setup.scheduler
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn finish(self) {
        self.stop.cancel();
        self.setup.scheduler.shutdown().await.expect("worker stops");
    }
}

/// Chromium and a session, or `None` after saying loudly why the test runs without one.
async fn browser(test: &str) -> Option<(browser::Driver, Client)> {
    match browser::chromium() {
        Ok((chromium, chromedriver)) => {
            let driver = browser::Driver::start(chromium, &chromedriver).await;
            let client = driver.session().await;
            Some((driver, client))
        }
        Err(reason) => {
            eprintln!("\n!!!!!!!! {test}: SKIPPED, NO BROWSER: {reason} !!!!!!!!\n");
            None
        }
    }
}

async fn wait_for_status(scheduler: &Scheduler, id: &str, status: JobStatus) {
    eventually(&format!("job {id} to be {status:?}"), || async {
        let job = scheduler.job(id).await.ok()??;
        (job.status == status).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_finds_a_failed_job_retries_it_and_manages_a_schedule() {
    let Some((_driver, client)) = browser("the operator's tour").await else {
        return;
    };
    let served = Served::start(Settings::new(), true).await;
    let scheduler = served.scheduler();
    for n in 0..3 {
        web_echo::enqueue(web_echo::Args {
            text: format!("hello {n}"),
        })
        .on(scheduler)
        .await
        .expect("enqueued");
    }
    let failing = web_flaky::enqueue(web_flaky::Args {
        label: "flaky".into(),
    })
    .on(scheduler)
    .job_id("flaky-1")
    .max_retries(2)
    .await
    .expect("enqueued");
    wait_for_status(scheduler, failing.as_str(), JobStatus::Failed).await;

    // Overview: the counts (live) and the charts.
    browser::reload_until(&client, &served.url("/"), "#count-completed", |n| n == "3").await;
    assert_eq!(browser::text(&client, "#count-failed").await, "1");
    assert_eq!(browser::text(&client, "#workers-alive").await, "1");
    assert!(
        client.find(Locator::Css("svg.chart")).await.is_ok(),
        "the charts are drawn"
    );
    browser::screenshot(&client, "overview").await;

    // Jobs: filter by status in the form.
    client.goto(&served.url("/jobs")).await.expect("jobs page");
    assert_eq!(rows(&client).await.len(), 4);
    browser::screenshot(&client, "jobs").await;
    client
        .find(Locator::Css("#filter-status"))
        .await
        .expect("status filter")
        .select_by_value("failed")
        .await
        .expect("selected");
    apply_filters(&client).await;
    browser::wait_for_url(&client, "status=failed").await;
    let failed_rows = rows(&client).await;
    assert_eq!(failed_rows.len(), 1, "only the failed job: {failed_rows:?}");
    assert!(failed_rows[0].contains("flaky-1"));
    browser::screenshot(&client, "jobs-failed").await;

    // The job: decoded arguments, the error shown as text, the timeline.
    client
        .find(Locator::LinkText("flaky-1"))
        .await
        .expect("the job's link")
        .click()
        .await
        .expect("opened");
    browser::wait_for_url(&client, "/job?id=flaky-1").await;
    assert_eq!(browser::text(&client, "#job-status").await, "failed");
    let args = browser::text(&client, "#args").await;
    assert!(args.contains("\"label\": \"flaky\""), "{args}");
    let error = browser::text(&client, "#last-error").await;
    assert!(
        error.contains(HOSTILE),
        "the error is shown as it is: {error:?}"
    );
    // Every attempt's error, in order, each shown as text.
    let attempts = client
        .find_all(Locator::Css("#attempt-errors li"))
        .await
        .expect("attempt errors");
    assert_eq!(attempts.len(), 3, "three attempts failed");
    for (n, attempt) in attempts.iter().enumerate() {
        let n = n + 1;
        assert_eq!(
            attempt.attr("data-attempt").await.expect("attribute"),
            Some(n.to_string())
        );
        let text = attempt.text().await.expect("text");
        assert!(
            text.contains(&format!("attempt {n}"))
                && text.contains(&format!("flaky failure {n}: {HOSTILE}")),
            "attempt {n}'s error, as it is: {text:?}"
        );
    }
    assert_no_injection(&client).await;
    assert_ne!(browser::text(&client, "#finished-at").await, "–");
    browser::screenshot(&client, "job").await;

    // Retry it: it completes.
    FLAKY_FAILS.store(false, Ordering::SeqCst);
    browser::click_and_confirm(&client, "#action-retry").await;
    assert!(
        browser::text(&client, "#notice")
            .await
            .contains("Retried: 1")
    );
    let job_url = client.current_url().await.expect("url").to_string();
    browser::reload_until(&client, &job_url, "#job-status", |status| {
        status == "completed"
    })
    .await;

    // Periodic: disable, then enable again, through the page.
    client
        .goto(&served.url("/periodic"))
        .await
        .expect("periodic page");
    let row = "tr[data-key='web_hourly']";
    assert_eq!(
        browser::text(&client, &format!("{row} .state")).await,
        "enabled"
    );
    let fires = client
        .find_all(Locator::Css(&format!("{row} ol.fires li")))
        .await
        .expect("fire times");
    assert_eq!(fires.len(), 5, "five next fire times");
    browser::screenshot(&client, "periodic").await;
    browser::click_and_confirm(&client, &format!("{row} button.toggle")).await;
    assert_eq!(
        browser::text(&client, &format!("{row} .state")).await,
        "disabled"
    );
    assert!(
        !scheduler
            .periodic_job_status("web_hourly")
            .await
            .expect("status")
            .info
            .enabled
    );
    browser::click_and_confirm(&client, &format!("{row} button.toggle")).await;
    assert_eq!(
        browser::text(&client, &format!("{row} .state")).await,
        "enabled"
    );
    assert!(
        scheduler
            .periodic_job_status("web_hourly")
            .await
            .expect("status")
            .info
            .enabled
    );

    // Queues: pause, then resume, through the page.
    scheduler
        .set_queue_limit("web_queue", 2)
        .await
        .expect("a queue with settings");
    client
        .goto(&served.url("/queues"))
        .await
        .expect("queues page");
    let row = "tr[data-queue='web_queue']";
    assert_eq!(
        browser::text(&client, &format!("{row} .state")).await,
        "active"
    );
    browser::screenshot(&client, "queues").await;
    browser::click_and_confirm(&client, &format!("{row} button.toggle")).await;
    assert_eq!(
        browser::text(&client, &format!("{row} .state")).await,
        "paused"
    );
    let paused = |queues: Vec<pgsched::QueueInfo>| {
        queues
            .into_iter()
            .find(|queue| queue.name.as_str() == "web_queue")
            .map(|queue| queue.settings.paused)
    };
    assert_eq!(
        paused(scheduler.queues().await.expect("queues")),
        Some(true)
    );
    browser::click_and_confirm(&client, &format!("{row} button.toggle")).await;
    assert_eq!(
        browser::text(&client, &format!("{row} .state")).await,
        "active"
    );
    assert_eq!(
        paused(scheduler.queues().await.expect("queues")),
        Some(false)
    );

    // Workers and retention.
    client
        .goto(&served.url("/workers"))
        .await
        .expect("workers page");
    assert!(
        client
            .find(Locator::Css("#workers-table tbody tr"))
            .await
            .is_ok()
    );
    browser::screenshot(&client, "workers").await;
    client
        .goto(&served.url("/retention"))
        .await
        .expect("retention page");
    assert!(
        browser::text(&client, "#policies")
            .await
            .contains("completed")
    );
    browser::screenshot(&client, "retention").await;

    client.close().await.expect("browser closes");
    served.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_ids_and_texts_are_shown_as_text() {
    let Some((_driver, client)) = browser("hostile text").await else {
        return;
    };
    let served = Served::start(Settings::new(), false).await;
    let id = format!("{HOSTILE}&id=1#x");
    web_echo::enqueue(web_echo::Args {
        text: HOSTILE.into(),
    })
    .on(served.scheduler())
    .job_id(id.clone())
    .await
    .expect("enqueued");

    client
        .goto(&served.url("/jobs?id=%3Cscript%3E"))
        .await
        .expect("jobs page");
    let listed = rows(&client).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    let link = client
        .find(Locator::Css("#jobs-table td.id a"))
        .await
        .expect("link");
    assert_eq!(link.text().await.expect("text"), id);
    assert_no_injection(&client).await;
    link.click().await.expect("opened");
    browser::wait_for_url(&client, "/job?id=").await;
    assert_eq!(browser::text(&client, "#job-id").await, id);
    assert!(browser::text(&client, "#args").await.contains("<script>"));
    assert_no_injection(&client).await;
    browser::screenshot(&client, "hostile").await;

    // Filter by queue in the form: only the job of that queue, its queue in its row.
    web_echo::enqueue(web_echo::Args {
        text: "queued".into(),
    })
    .on(served.scheduler())
    .queue("web_mail")
    .job_id("mail-1")
    .await
    .expect("enqueued");
    client.goto(&served.url("/jobs")).await.expect("jobs page");
    assert_eq!(rows(&client).await.len(), 2);
    client
        .find(Locator::Css("#filter-queue"))
        .await
        .expect("queue filter")
        .send_keys("web_mail")
        .await
        .expect("typed");
    apply_filters(&client).await;
    browser::wait_for_url(&client, "queue=web_mail").await;
    let queued = rows(&client).await;
    assert_eq!(queued.len(), 1, "only the job of web_mail: {queued:?}");
    assert!(queued[0].contains("mail-1"), "{queued:?}");
    assert_eq!(
        browser::text(&client, "#jobs-table td.queue").await,
        "web_mail"
    );
    browser::screenshot(&client, "jobs-queue").await;

    // The overview counts each queue's due jobs (no worker runs here: both wait).
    client.goto(&served.url("/")).await.expect("overview");
    assert_eq!(
        browser::text(&client, "#overview-queues tr[data-queue='web_mail'] td.due").await,
        "1"
    );
    assert_eq!(
        browser::text(&client, "#overview-queues tr[data-queue='default'] td.due").await,
        "1"
    );
    // ... and so does the queues page, with the queue's per-key rate.
    served
        .scheduler()
        .set_queue_key_rate("web_mail", Some("10/1m".parse().expect("rate")))
        .await
        .expect("key rate");
    client
        .goto(&served.url("/queues"))
        .await
        .expect("queues page");
    assert_eq!(
        browser::text(&client, "#queues-table tr[data-queue='web_mail'] td.due").await,
        "1"
    );
    assert_eq!(
        browser::text(
            &client,
            "#queues-table tr[data-queue='web_mail'] td.key-rate"
        )
        .await,
        "10/1m"
    );

    // A hostile name in the filter is shown back as text too.
    let mut url = served.url("/jobs?name=");
    url.push_str(&form_urlencoded::byte_serialize(HOSTILE.as_bytes()).collect::<String>());
    client.goto(&url).await.expect("filtered");
    let value = client
        .find(Locator::Css("#filter-name"))
        .await
        .expect("name input")
        .prop("value")
        .await
        .expect("value");
    assert_eq!(value.as_deref(), Some(HOSTILE));
    assert_no_injection(&client).await;

    client.close().await.expect("browser closes");
    served.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_shows_everything_and_refuses_actions_and_forged_posts_are_refused() {
    let Some((_driver, client)) = browser("read-only").await else {
        return;
    };
    let read_only = Served::start(Settings::new().read_only(true), false).await;
    let id = web_echo::enqueue(web_echo::Args { text: "x".into() })
        .on(read_only.scheduler())
        .await
        .expect("enqueued");
    let job_url = read_only.url(&format!("/job?id={id}"));
    client.goto(&job_url).await.expect("job page");
    assert_eq!(browser::text(&client, "#job-status").await, "pending");
    assert!(
        client.find(Locator::Css("#action-cancel")).await.is_err(),
        "no action button"
    );
    assert!(client.find(Locator::Css(".badge.read-only")).await.is_ok());
    let status = post_from_page(
        &client,
        "job/action",
        &format!("id={id}&action=cancel&csrf=x"),
    )
    .await;
    assert_eq!(status, 403, "read-only refuses the action");
    read_only.finish().await;

    // An action without the page's CSRF token is refused; with it, it runs.
    let open = Served::start(Settings::new(), false).await;
    let id = web_echo::enqueue(web_echo::Args { text: "y".into() })
        .on(open.scheduler())
        .await
        .expect("enqueued");
    client
        .goto(&open.url(&format!("/job?id={id}")))
        .await
        .expect("job page");
    let forged = post_from_page(
        &client,
        "job/action",
        &format!("id={id}&action=cancel&csrf=forged"),
    )
    .await;
    assert_eq!(forged, 403);
    assert_eq!(
        open.scheduler()
            .job(&id)
            .await
            .expect("job")
            .expect("exists")
            .status,
        JobStatus::Pending
    );
    browser::click_and_confirm(&client, "#action-cancel").await;
    wait_for_status(open.scheduler(), id.as_str(), JobStatus::Cancelled).await;

    // Run now, then delete: a job due tomorrow becomes due, then is gone.
    let later = web_echo::schedule(
        pgsched::chrono::Utc::now() + pgsched::chrono::Duration::days(1),
        web_echo::Args {
            text: "later".into(),
        },
    )
    .on(open.scheduler())
    .await
    .expect("scheduled");
    client
        .goto(&open.url(&format!("/job?id={later}")))
        .await
        .expect("job page");
    browser::click_and_confirm(&client, "#action-run-now").await;
    assert!(
        browser::text(&client, "#notice")
            .await
            .contains("Made due now: 1")
    );
    let due = open
        .scheduler()
        .job(&later)
        .await
        .expect("job")
        .expect("exists");
    assert!(
        due.run_at <= pgsched::chrono::Utc::now(),
        "due now: {:?}",
        due.run_at
    );
    browser::click_and_confirm(&client, "#action-delete").await;
    assert!(
        browser::text(&client, "#notice")
            .await
            .contains("Deleted: 1")
    );
    assert!(
        open.scheduler()
            .job(&later)
            .await
            .expect("looked up")
            .is_none()
    );

    // Bulk: select every job of the page and cancel them together.
    let mut others = Vec::new();
    for n in 0..2 {
        let other = web_echo::enqueue(web_echo::Args {
            text: format!("bulk {n}"),
        })
        .on(open.scheduler())
        .await
        .expect("enqueued");
        others.push(other);
    }
    client.goto(&open.url("/jobs")).await.expect("jobs page");
    assert_eq!(rows(&client).await.len(), 3);
    client
        .find(Locator::Css("#select-all"))
        .await
        .expect("select all")
        .click()
        .await
        .expect("checked");
    client
        .find(Locator::Css("#bulk-action"))
        .await
        .expect("bulk action")
        .select_by_value("cancel")
        .await
        .expect("selected");
    browser::click_and_confirm(&client, "#bulk-apply").await;
    assert!(
        browser::text(&client, "#notice")
            .await
            .contains("Cancelled: 2 job(s)")
    );
    for other in &others {
        wait_for_status(open.scheduler(), other.as_str(), JobStatus::Cancelled).await;
    }

    client.close().await.expect("browser closes");
    open.finish().await;
}

/// POSTs `body` to `path` (relative to the page) with fetch from the open page; its status.
async fn post_from_page(client: &Client, path: &str, body: &str) -> u64 {
    let status = client
        .execute_async(
            "const [path, body, done] = arguments;
             fetch(path, { method: 'POST', body, redirect: 'manual',
                           headers: { 'Content-Type': 'application/x-www-form-urlencoded' } })
               .then((response) => done(response.status), () => done(-1));",
            vec![path.into(), body.into()],
        )
        .await
        .expect("fetch ran");
    status.as_u64().expect("a status")
}

/// The text of each row of the jobs table.
async fn rows(client: &Client) -> Vec<String> {
    let mut texts = Vec::new();
    for row in client
        .find_all(Locator::Css("#jobs-table tbody tr"))
        .await
        .expect("rows")
    {
        texts.push(row.text().await.expect("row text"));
    }
    texts
}

/// Submits the jobs list's filter form.
async fn apply_filters(client: &Client) {
    client
        .find(Locator::Css("#filter-apply"))
        .await
        .expect("the filter form's button")
        .click()
        .await
        .expect("submitted");
}

/// No hostile markup ran or became an element.
async fn assert_no_injection(client: &Client) {
    let ran = client
        .execute(
            "return [typeof window.__pgsched_xss, document.querySelectorAll('main script, main img').length];",
            vec![],
        )
        .await
        .expect("script ran");
    assert_eq!(
        ran,
        serde_json::json!(["undefined", 0]),
        "hostile markup was interpreted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_required_when_set() {
    let served = Served::start(Settings::new().token("s3cret"), false).await;
    let address = served.base.trim_start_matches("http://").to_owned();
    let status = |authorization: Option<&'static str>| {
        let address = address.clone();
        async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut stream = tokio::net::TcpStream::connect(&address)
                .await
                .expect("connects");
            let header = authorization
                .map(|value| format!("Authorization: {value}\r\n"))
                .unwrap_or_default();
            let request = format!(
                "GET /workers HTTP/1.1\r\nHost: {address}\r\n{header}Connection: close\r\n\r\n"
            );
            stream.write_all(request.as_bytes()).await.expect("sent");
            let mut response = String::new();
            let _ = stream.read_to_string(&mut response).await;
            response.split(' ').nth(1).unwrap_or_default().to_owned()
        }
    };
    assert_eq!(status(None).await, "401");
    assert_eq!(status(Some("Bearer wrong")).await, "401");
    assert_eq!(status(Some("Bearer s3cret")).await, "200");
    // Basic auth, any user, the token as password: "ops:s3cret".
    assert_eq!(status(Some("Basic b3BzOnMzY3JldA==")).await, "200");
    served.finish().await;
    // Beyond loopback without a token, the dashboard refuses to start.
    let exposed: SocketAddr = "0.0.0.0:0".parse().expect("address");
    let setup = setup_with(|builder| builder).await;
    let error = setup
        .scheduler
        .serve_dashboard(&Settings::new(), exposed, CancellationToken::new())
        .await
        .expect_err("refused");
    assert!(
        error.to_string().contains("PGSCHED_DASHBOARD_TOKEN"),
        "{error}"
    );
}
