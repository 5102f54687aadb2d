//! The admin command line of a worker binary (`pgsched::run()` given arguments), run as a
//! process against a real PostgreSQL. Each test works in a schema of its own
//! (`PGSCHED_SCHEMA=cli_…`), migrates it first and drops it at the end, also on failure.

use std::process::{Child, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::{Value, json};

/// Exit codes the command line documents.
const NOT_FOUND: i32 = 3;
const INVALID_INPUT: i32 = 4;
const CONFLICT: i32 = 5;

/// How long a test waits for a worker to do something.
const DEADLINE: Duration = Duration::from_secs(20);

fn database_url() -> &'static str {
    match pgsched_devdb::shared_url() {
        Ok(url) => url,
        Err(error) => panic!("no PostgreSQL for the tests: {error}"),
    }
}

/// A schema of its own, the worker processes started in it, and the way to run commands.
struct Db {
    schema: String,
    workers: Vec<Child>,
}

impl Db {
    /// A fresh schema (not created yet: `migrate` does that).
    fn fresh() -> Db {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nonce = uuid::Uuid::now_v7().simple().to_string();
        Db {
            schema: format!(
                "cli_{}_{}_{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed),
                &nonce[24..]
            ),
            workers: Vec::new(),
        }
    }

    /// A fresh schema, migrated through the command line.
    fn migrated() -> Db {
        let db = Db::fresh();
        db.cmd(&["migrate"]).assert().success();
        db
    }

    /// The worker binary with this schema's environment and fast worker timings.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_worker"));
        command
            .args(args)
            .env("DATABASE_URL", database_url())
            .env("PGSCHED_SCHEMA", &self.schema)
            .env("RUST_LOG", "warn")
            .timeout(DEADLINE);
        command
    }

    /// Runs `args`, expects exit 0, and returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let output = self.cmd(args).output().expect("runs");
        assert!(
            output.status.success(),
            "{args:?} failed: {}\nstdout: {}\nstderr: {}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("utf-8")
    }

    /// Runs `--json args`, expects exit 0 and one JSON document on stdout.
    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let stdout = self.ok(&all);
        serde_json::from_str(&stdout).unwrap_or_else(|error| panic!("{error}: {stdout}"))
    }

    /// Runs `args`, expects exit `code`, nothing on stdout, and returns stderr.
    fn fails(&self, args: &[&str], code: i32) -> String {
        let Output { stdout, stderr, .. } = self
            .cmd(args)
            .assert()
            .code(code)
            .stdout(predicate::str::is_empty())
            .get_output()
            .clone();
        assert!(stdout.is_empty());
        String::from_utf8(stderr).expect("utf-8")
    }

    /// Starts the binary without arguments: a worker, with fast timings.
    fn start_worker(&mut self) -> u32 {
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_worker"))
            .env("DATABASE_URL", database_url())
            .env("PGSCHED_SCHEMA", &self.schema)
            // The jobs that fail on purpose log warnings; keep the test output for real errors.
            .env("RUST_LOG", "error")
            .env("PGSCHED_POLL_INTERVAL", "100ms")
            .env("PGSCHED_SWEEP_INTERVAL", "200ms")
            .env("PGSCHED_LEASE_DURATION", "2s")
            .env("PGSCHED_HEARTBEAT_INTERVAL", "500ms")
            .env("PGSCHED_SHUTDOWN_GRACE", "1s")
            .env("PGSCHED_VACUUM_ENABLED", "false")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("the worker starts");
        let pid = child.id();
        self.workers.push(child);
        pid
    }

    /// Kills the workers started so far.
    fn stop_workers(&mut self) {
        for mut child in self.workers.drain(..) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Polls `jobs show ID --json` until `done` holds for it.
    fn wait_for_job(&self, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            let job = self.json(&["jobs", "show", id]);
            if done(&job) {
                return job;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "job {id} never became {what}: {job:#}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs one SQL statement with `__SCHEMA__` replaced by this schema (quoted).
    fn sql(&self, statement: &str) {
        let statement = statement.replace("__SCHEMA__", &format!("\"{}\"", self.schema));
        block_on(async move {
            let mut connection = connect().await;
            sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
                .execute(&mut connection)
                .await
                .expect("statement runs");
        });
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        self.stop_workers();
        let statement = format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.schema);
        block_on(async move {
            let mut connection = connect().await;
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
                .execute(&mut connection)
                .await;
        });
    }
}

async fn connect() -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(database_url())
        .await
        .expect("connects")
}

fn block_on<F: Future<Output = ()>>(future: F) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future);
}

fn status(job: &Value) -> &str {
    job["status"].as_str().unwrap_or_default()
}

#[test]
fn help_documents_commands_and_exit_codes_and_usage_errors_exit_2() {
    let db = Db::fresh();
    let help = db.ok(&["--help"]);
    for expected in [
        "jobs",
        "periodic",
        "vacuum",
        "workers",
        "migrate",
        "--json",
        "Exit codes:",
        "3  not found",
        "4  invalid input",
    ] {
        assert!(help.contains(expected), "{expected:?} missing from\n{help}");
    }
    let enqueue_help = db.ok(&["jobs", "enqueue", "--help"]);
    assert!(enqueue_help.contains("--at <RFC3339>"), "{enqueue_help}");
    db.cmd(&["jobs", "frobnicate"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "unrecognized subcommand 'frobnicate'",
        ));
    db.cmd(&["jobs", "list", "--status", "done"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "possible values: blocked, pending, running",
        ));
}

#[test]
fn migrate_creates_the_schema_and_commands_before_it_say_so() {
    let db = Db::fresh();
    let stderr = db.fails(&["jobs", "list"], 1);
    assert!(stderr.contains("does not exist"), "{stderr}");
    assert!(
        stderr.contains("run the `migrate` command first"),
        "{stderr}"
    );

    let text = db.ok(&["migrate"]);
    assert_eq!(
        text,
        format!("schema {} is migrated and up to date\n", db.schema)
    );
    assert_eq!(
        db.json(&["migrate"]),
        json!({ "schema": db.schema, "migrated": true })
    );
    assert_eq!(db.json(&["jobs", "list"]), json!({ "jobs": [] }));
    assert_eq!(db.ok(&["jobs", "list"]), "no jobs\n");
}

#[test]
fn configuration_errors_are_runtime_errors() {
    let db = Db::fresh();
    db.cmd(&["jobs", "list"])
        .env_remove("DATABASE_URL")
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("DATABASE_URL"));
    db.cmd(&["jobs", "list"])
        .env("PGSCHED_SCHEMA", "Bad-Name")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("invalid schema name"));
}

#[test]
fn enqueue_decodes_json_into_the_typed_args_and_show_decodes_them_back() {
    let db = Db::migrated();
    let job = db.json(&[
        "jobs",
        "enqueue",
        "send_email",
        "--args",
        r#"{"to": "a@b.c", "subject": "welcome"}"#,
        "--at",
        "2030-01-01T10:00:00+01:00",
        "--priority",
        "high",
        "--id",
        "welcome:42",
    ]);
    assert_eq!(job["id"], "welcome:42");
    assert_eq!(job["name"], "send_email");
    assert_eq!(job["status"], "pending");
    assert_eq!(job["priority"], "high");
    assert_eq!(job["run_at"], "2030-01-01T09:00:00.000Z");
    assert_eq!(job["attempts"], 0);
    // The job's attribute defaults: #[job(max_retries = 3, timeout = "30s")].
    assert_eq!(job["max_retries"], 3);
    assert_eq!(job["timeout_ms"], 30_000);
    assert_eq!(job["misfire_grace_ms"], 300_000);
    assert_eq!(job["args"], json!({"to": "a@b.c", "subject": "welcome"}));
    assert_eq!(job["args_error"], Value::Null);
    // postcard: a length-prefixed string per field, in declaration order.
    assert_eq!(job["payload_hex"], "056140622e630777656c636f6d65");

    // show: the same document; and every field for people.
    assert_eq!(db.json(&["jobs", "show", "welcome:42"]), job);
    let text = db.ok(&["jobs", "show", "welcome:42"]);
    for line in [
        "id               welcome:42\n",
        "status           pending\n",
        "priority         high\n",
        "attempts         0 (max retries 3)\n",
        "run at           2030-01-01T09:00:00Z\n",
        "timeout          30s\n",
        "last error       -\n",
        "args             {\"subject\":\"welcome\",\"to\":\"a@b.c\"}\n",
    ] {
        assert!(text.contains(line), "{line:?} missing from\n{text}");
    }

    // Without --at the job is due now by the database clock; without --args, `{}`.
    let resize = db.json(&[
        "jobs",
        "enqueue",
        "resize_image",
        "--args",
        r#"{"path": "cat.png", "width": 640}"#,
    ]);
    assert_eq!(resize["priority"], "low", "the attribute's priority");
    assert_eq!(resize["args"], json!({"path": "cat.png", "width": 640}));
    assert_eq!(resize["run_at"], resize["created_at"]);
    let export = db.json(&[
        "jobs",
        "enqueue",
        "export_report",
        "--args",
        r#"{"month":"2030-01"}"#,
    ]);
    assert_eq!(export["args"], json!({"month": "2030-01"}));
    let cleanup = db.json(&["jobs", "enqueue", "cleanup_temp_files"]);
    assert_eq!(cleanup["args"], json!({}));
    assert_eq!(cleanup["payload_hex"], "");
}

#[test]
fn list_filters_by_status_and_name_newest_first_with_a_limit() {
    let db = Db::migrated();
    for (id, at) in [("a", "2030-01-01T00:00:00Z"), ("b", "2030-01-02T00:00:00Z")] {
        let text = db.ok(&[
            "jobs",
            "enqueue",
            "send_email",
            "--args",
            r#"{"to":"x@y","subject":"s"}"#,
            "--id",
            id,
            "--at",
            at,
        ]);
        assert_eq!(text, format!("enqueued job {id} (send_email), due {at}\n"));
    }
    db.ok(&[
        "jobs",
        "enqueue",
        "resize_image",
        "--args",
        r#"{"path":"p","width":1}"#,
        "--id",
        "c",
        "--at",
        "2030-01-03T00:00:00Z",
    ]);
    db.ok(&["jobs", "cancel", "a"]);

    let ids = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["jobs", "list"];
        all.extend_from_slice(args);
        db.json(&all)["jobs"]
            .as_array()
            .expect("an array")
            .iter()
            .map(|job| job["id"].as_str().expect("an id").to_owned())
            .collect()
    };
    assert_eq!(ids(&[]), ["c", "b", "a"], "newest first");
    assert_eq!(ids(&["--limit", "2"]), ["c", "b"]);
    assert_eq!(ids(&["--name", "send_email"]), ["b", "a"]);
    assert_eq!(ids(&["--status", "cancelled"]), ["a"]);
    assert_eq!(ids(&["--status", "pending", "--name", "send_email"]), ["b"]);
    assert!(ids(&["--status", "failed"]).is_empty());
    assert!(ids(&["--name", "no_such_job"]).is_empty());

    let listed = &db.json(&["jobs", "list", "--name", "resize_image"])["jobs"][0];
    assert_eq!(listed["args"], json!({"path": "p", "width": 1}));
    assert_eq!(listed["status"], "pending");

    let table = db.ok(&["jobs", "list"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(
        lines[0].starts_with("ID  NAME          QUEUE    STATUS     PRIORITY  ATTEMPTS  RUN AT"),
        "{table}"
    );
    assert!(
        lines[1].starts_with(
            "c   resize_image  default  pending    low       0         2030-01-03T00:00:00Z"
        ),
        "{table}"
    );
    assert!(
        lines[3].starts_with("a   send_email    default  cancelled  normal"),
        "{table}"
    );
}

#[test]
fn enqueue_refuses_unknown_names_bad_json_wrong_fields_bad_times_and_taken_ids() {
    let db = Db::migrated();
    let stderr = db.fails(&["jobs", "enqueue", "send_mail", "--args", "{}"], NOT_FOUND);
    assert!(stderr.contains("no job named `send_mail`"), "{stderr}");
    assert!(
        stderr.contains("cleanup_temp_files, export_report, resize_image, send_email"),
        "{stderr}"
    );

    let stderr = db.fails(
        &[
            "jobs",
            "enqueue",
            "send_email",
            "--args",
            r#"{"to": "a@b.c","#,
        ],
        INVALID_INPUT,
    );
    assert!(stderr.contains("--args is not valid JSON"), "{stderr}");

    let stderr = db.fails(
        &[
            "jobs",
            "enqueue",
            "resize_image",
            "--args",
            r#"{"path": "a.png", "width": "wide"}"#,
        ],
        INVALID_INPUT,
    );
    assert!(
        stderr.contains("field `width`: invalid type: string \"wide\", expected u32"),
        "{stderr}"
    );
    assert!(stderr.contains("(path:String,width:u32)"), "{stderr}");

    let stderr = db.fails(
        &[
            "jobs",
            "enqueue",
            "resize_image",
            "--args",
            r#"{"path": "a.png", "width": -3}"#,
        ],
        INVALID_INPUT,
    );
    assert!(stderr.contains("field `width`"), "{stderr}");

    let stderr = db.fails(
        &[
            "jobs",
            "enqueue",
            "send_email",
            "--args",
            r#"{"tos": "a@b.c", "subject": "hi"}"#,
        ],
        INVALID_INPUT,
    );
    assert!(
        stderr.contains("unknown field `tos`, expected `to` or `subject`"),
        "{stderr}"
    );

    let stderr = db.fails(
        &[
            "jobs",
            "enqueue",
            "send_email",
            "--args",
            r#"{"to": "a@b.c"}"#,
        ],
        INVALID_INPUT,
    );
    assert!(stderr.contains("missing field `subject`"), "{stderr}");

    let args = r#"{"to": "a@b.c", "subject": "hi"}"#;
    let stderr = db.fails(
        &[
            "jobs",
            "enqueue",
            "send_email",
            "--args",
            args,
            "--at",
            "tomorrow",
        ],
        INVALID_INPUT,
    );
    assert!(
        stderr.contains("--at \"tomorrow\" is not an RFC 3339 time"),
        "{stderr}"
    );

    let stderr = db.fails(
        &["jobs", "enqueue", "send_email", "--args", args, "--id", ""],
        INVALID_INPUT,
    );
    assert!(stderr.contains("invalid job id"), "{stderr}");

    // Nothing was written by the refused commands.
    assert_eq!(db.json(&["jobs", "list"]), json!({ "jobs": [] }));

    db.ok(&[
        "jobs",
        "enqueue",
        "send_email",
        "--args",
        args,
        "--id",
        "once",
    ]);
    let stderr = db.fails(
        &[
            "jobs",
            "enqueue",
            "send_email",
            "--args",
            args,
            "--id",
            "once",
        ],
        CONFLICT,
    );
    assert!(
        stderr.contains("a job with the id `once` already exists (status pending)"),
        "{stderr}"
    );
    assert_eq!(
        db.json(&["jobs", "list"])["jobs"].as_array().map(Vec::len),
        Some(1)
    );
}

#[test]
fn unknown_ids_are_not_found() {
    let db = Db::migrated();
    for command in ["show", "cancel", "retry"] {
        let stderr = db.fails(&["jobs", command, "no-such-job"], NOT_FOUND);
        assert_eq!(
            stderr, "error: no job has the id `no-such-job`\n",
            "{command}"
        );
    }
}

#[test]
fn show_gives_the_payload_as_hex_when_the_job_name_is_unknown_to_this_binary() {
    let db = Db::migrated();
    db.sql(
        "INSERT INTO __SCHEMA__.jobs (id, name, run_at, payload) \
         VALUES ('legacy-1', 'legacy_job', now(), '\\x0102ff'::bytea)",
    );
    let job = db.json(&["jobs", "show", "legacy-1"]);
    assert_eq!(job["name"], "legacy_job");
    assert_eq!(job["args"], Value::Null);
    assert_eq!(
        job["args_error"],
        "the job name `legacy_job` is unknown to this binary"
    );
    assert_eq!(job["payload_hex"], "0102ff");
    assert_eq!(job["schema_hash"], Value::Null);
    let text = db.ok(&["jobs", "show", "legacy-1"]);
    assert!(
        text.contains(
            "payload          0102ff (hex; the job name `legacy_job` is unknown to this binary)\n"
        ),
        "{text}"
    );

    // A known name whose payload was written for another argument list is not decoded.
    db.sql(
        "INSERT INTO __SCHEMA__.jobs (id, name, run_at, payload, schema_hash) \
         VALUES ('old-args', 'resize_image', now(), '\\x0161'::bytea, 42)",
    );
    let job = db.json(&["jobs", "show", "old-args"]);
    assert_eq!(job["args"], Value::Null);
    let reason = job["args_error"].as_str().expect("a reason");
    assert!(
        reason.starts_with(
            "unknown_schema: job `resize_image` has a payload written for argument schema \
             0x000000000000002a, which this worker does not know; it knows 0x"
        ),
        "{reason}"
    );
}

#[test]
fn cancel_stops_pending_jobs_and_refuses_finished_ones() {
    let db = Db::migrated();
    db.ok(&[
        "jobs",
        "enqueue",
        "send_email",
        "--args",
        r#"{"to":"a@b.c","subject":"later"}"#,
        "--id",
        "later",
        "--at",
        "2030-01-01T00:00:00Z",
    ]);
    assert_eq!(db.ok(&["jobs", "cancel", "later"]), "cancelled job later\n");
    let job = db.json(&["jobs", "show", "later"]);
    assert_eq!(job["status"], "cancelled");
    assert!(job["finished_at"].is_string());

    let stderr = db.fails(&["jobs", "cancel", "later"], CONFLICT);
    assert!(
        stderr.contains(
            "job `later` is cancelled; only blocked, pending or running jobs can be cancelled"
        ),
        "{stderr}"
    );
    let stderr = db.fails(&["jobs", "retry", "later"], CONFLICT);
    assert!(
        stderr.contains("only failed or expired jobs can be retried"),
        "{stderr}"
    );
}

#[test]
fn retry_brings_failed_and_expired_jobs_back_and_a_worker_runs_them() {
    let mut db = Db::migrated();
    db.start_worker();
    // No retries, fails at once.
    db.ok(&[
        "jobs",
        "enqueue",
        "resize_image",
        "--args",
        r#"{"path":"a.png","width":0}"#,
        "--id",
        "bad-resize",
    ]);
    // Due long ago: past its 5 minute misfire grace, so the worker's sweep expires it.
    db.ok(&[
        "jobs",
        "enqueue",
        "send_email",
        "--args",
        r#"{"to":"a@b.c","subject":"late"}"#,
        "--id",
        "late-mail",
        "--at",
        "2000-01-01T00:00:00Z",
    ]);
    let failed = db.wait_for_job("bad-resize", "failed", |job| status(job) == "failed");
    assert_eq!(failed["attempts"], 1);
    assert_eq!(failed["last_error"], "error: width must be positive");
    let expired = db.wait_for_job("late-mail", "expired", |job| status(job) == "expired");
    assert_eq!(expired["attempts"], 0);
    db.stop_workers();

    // Retrying a job that is pending (or running) is refused.
    db.ok(&[
        "jobs",
        "enqueue",
        "send_email",
        "--args",
        r#"{"to":"a@b.c","subject":"s"}"#,
        "--id",
        "pending",
        "--at",
        "2030-01-01T00:00:00Z",
    ]);
    db.fails(&["jobs", "retry", "pending"], CONFLICT);

    assert_eq!(
        db.ok(&["jobs", "retry", "bad-resize"]),
        "job bad-resize is pending again, due now, attempts reset\n"
    );
    let retried = db.json(&["jobs", "show", "bad-resize"]);
    assert_eq!(retried["status"], "pending");
    assert_eq!(retried["attempts"], 0);
    assert_eq!(retried["finished_at"], Value::Null);
    assert_eq!(
        retried["last_error"], "error: width must be positive",
        "kept as history"
    );
    assert!(
        retried["run_at"].as_str() > failed["run_at"].as_str(),
        "due again now: {retried:#}"
    );
    let retried = db.json(&["jobs", "retry", "late-mail"]);
    assert_eq!(retried["status"], "pending");
    assert_eq!(retried["id"], "late-mail");
    assert!(retried["run_at"].as_str() > Some("2000-01-01T00:00:00.000Z"));
    db.fails(&["jobs", "retry", "late-mail"], CONFLICT);

    // A worker runs both again: the expired mail is due now and is not expired again.
    db.start_worker();
    let sent = db.wait_for_job("late-mail", "completed", |job| status(job) == "completed");
    assert_eq!(sent["attempts"], 1);
    let failed_again = db.wait_for_job("bad-resize", "failed again", |job| status(job) == "failed");
    assert_eq!(failed_again["attempts"], 1, "attempts were reset");
}

#[test]
fn workers_lists_live_workers_with_the_jobs_they_hold() {
    let mut db = Db::migrated();
    assert_eq!(db.json(&["workers"]), json!({ "workers": [] }));
    assert_eq!(db.ok(&["workers"]), "no live workers\n");

    let pid = db.start_worker();
    db.ok(&[
        "jobs",
        "enqueue",
        "export_report",
        "--args",
        r#"{"month":"2030-01"}"#,
        "--id",
        "report",
    ]);
    let running = db.wait_for_job("report", "running", |job| status(job) == "running");
    let workers = db.json(&["workers"]);
    let workers = workers["workers"].as_array().expect("an array");
    assert_eq!(workers.len(), 1, "{workers:#?}");
    let worker = &workers[0];
    assert_eq!(worker["pid"], pid);
    assert_eq!(worker["jobs"], json!(["report"]));
    assert_eq!(worker["id"], running["worker_id"]);
    assert!(
        worker["id"]
            .as_str()
            .is_some_and(|id| id.contains(&format!(":{pid}:")))
    );
    assert!(worker["last_seen_at"].is_string() && worker["started_at"].is_string());

    let table = db.ok(&["workers"]);
    assert!(table.starts_with("ID "), "{table}");
    assert!(table.contains("RUNNING JOBS"), "{table}");
    assert!(table.contains(&format!("  {pid}  ")), "{table}");
    assert!(table.contains("1 (report)"), "{table}");

    // Cancelling the running job: it is cancelled at once, and the worker lets it go.
    let cancelled = db.json(&["jobs", "cancel", "report"]);
    assert_eq!(cancelled["status"], "cancelled");
    let start = Instant::now();
    while db.json(&["workers"])["workers"][0]["jobs"] != json!([]) {
        assert!(
            start.elapsed() < DEADLINE,
            "the worker still holds the cancelled job"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(db.json(&["jobs", "show", "report"])["status"], "cancelled");
}

#[test]
fn periodic_list_status_enable_disable_and_trigger() {
    let db = Db::migrated();
    let list = db.json(&["periodic", "list"]);
    let entry = &list["periodic_jobs"][0];
    assert_eq!(list["periodic_jobs"].as_array().map(Vec::len), Some(1));
    assert_eq!(entry["key"], "nightly-cleanup");
    assert_eq!(entry["job_name"], "cleanup_temp_files");
    assert_eq!(entry["schedule"], "cron:0 3 * * *:tz:UTC");
    assert_eq!(entry["enabled"], true);
    assert!(
        entry["next_fire"]
            .as_str()
            .is_some_and(|at| at.ends_with("T03:00:00.000Z")),
        "{entry}"
    );
    assert_eq!(entry["schedule_in_force"], "cron:0 3 * * *:tz:UTC");
    assert_eq!(entry["registered_by"], Value::Null, "no worker started yet");
    let table = db.ok(&["periodic", "list"]);
    assert!(
        table.contains("nightly-cleanup  cleanup_temp_files  yes"),
        "{table}"
    );

    // A worker of another build registered another expression for the key: that one is in
    // force (this binary's is listed as not followed), and its next fire is shown.
    db.sql(
        "UPDATE __SCHEMA__.periodic_schedules SET schedule = 'cron:0 4 * * *:tz:UTC', \
         registered_by = 'elsewhere:1:0', registered_at = now() WHERE dedup_key = 'nightly-cleanup'",
    );
    let entry = db.json(&["periodic", "list"])["periodic_jobs"][0].clone();
    assert_eq!(entry["schedule"], "cron:0 3 * * *:tz:UTC");
    assert_eq!(entry["schedule_in_force"], "cron:0 4 * * *:tz:UTC");
    assert_eq!(entry["registered_by"], "elsewhere:1:0");
    assert!(
        entry["next_fire"]
            .as_str()
            .is_some_and(|at| at.ends_with("T04:00:00.000Z")),
        "{entry}"
    );
    let table = db.ok(&["periodic", "list"]);
    assert!(
        table.contains("cron:0 4 * * *:tz:UTC (this binary: cron:0 3 * * *:tz:UTC; not followed)"),
        "{table}"
    );
    let text = db.ok(&["periodic", "status", "nightly-cleanup"]);
    assert!(text.contains(" by elsewhere:1:0\n"), "{text}");

    assert_eq!(
        db.ok(&["periodic", "disable", "nightly-cleanup"]),
        "periodic job nightly-cleanup disabled on every replica\n"
    );
    assert_eq!(
        db.json(&["periodic", "list"])["periodic_jobs"][0]["enabled"],
        false
    );
    let status = db.json(&["periodic", "status", "nightly-cleanup"]);
    assert_eq!(status["enabled"], false);
    assert_eq!(status["last_window"], Value::Null);
    assert_eq!(status["last_run"], Value::Null);
    assert_eq!(
        db.json(&["periodic", "enable", "nightly-cleanup"]),
        json!({ "key": "nightly-cleanup", "enabled": true })
    );
    assert_eq!(
        db.json(&["periodic", "status", "nightly-cleanup"])["enabled"],
        true
    );

    let triggered = db.json(&["periodic", "trigger", "nightly-cleanup"]);
    let id = triggered["job_id"].as_str().expect("an id");
    assert!(id.starts_with("manual:nightly-cleanup:"), "{id}");
    let job = db.json(&["jobs", "show", id]);
    assert_eq!(job["name"], "cleanup_temp_files");
    assert_eq!(job["status"], "pending");
    assert_eq!(job["args"], json!({}));
    let text = db.ok(&["periodic", "status", "nightly-cleanup"]);
    assert!(text.contains("key            nightly-cleanup\n"), "{text}");
    assert!(text.contains("enabled        yes\n"), "{text}");

    for command in ["status", "enable", "disable", "trigger"] {
        let stderr = db.fails(&["periodic", command, "no-such-key"], NOT_FOUND);
        assert_eq!(
            stderr, "error: no periodic job has the key `no-such-key`\n",
            "{command}"
        );
    }
}

#[test]
fn vacuum_run_deletes_by_policy_and_stats_report_it() {
    let db = Db::migrated();
    // Cancelled jobs are kept 3 days by default: one finished 10 days ago, one just now.
    db.sql(
        "INSERT INTO __SCHEMA__.jobs (id, name, status, run_at, payload, finished_at) VALUES \
         ('old', 'send_email', 'cancelled', now() - interval '10 days', '\\x', now() - interval '10 days'), \
         ('new', 'send_email', 'cancelled', now(), '\\x', now())",
    );
    let stats = db.ok(&["vacuum", "stats"]);
    assert!(
        stats.starts_with("no retention passes recorded in the last 7 days"),
        "{stats}"
    );

    let run = db
        .cmd(&["--json", "vacuum", "run"])
        .env("PGSCHED_VACUUM_TRACK_METRICS", "true")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let run: Value = serde_json::from_slice(&run).expect("json");
    assert_eq!(
        run,
        json!({ "deleted": { "completed": 0, "failed": 0, "cancelled": 1, "expired": 0, "total": 1 } })
    );
    db.fails(&["jobs", "show", "old"], NOT_FOUND);
    assert_eq!(db.json(&["jobs", "show", "new"])["status"], "cancelled");
    assert_eq!(
        db.ok(&["vacuum", "run"]),
        "deleted 0 finished jobs: completed 0, failed 0, cancelled 0, expired 0\n"
    );

    let stats = db.json(&["vacuum", "stats", "--days", "2"]);
    let days = stats["days"].as_array().expect("an array");
    assert_eq!(days.len(), 1, "{stats:#}");
    assert_eq!(days[0]["deleted"]["cancelled"], 1);
    assert_eq!(days[0]["passes"], 1, "only the tracked pass is recorded");
    assert!(
        days[0]["last_worker"]
            .as_str()
            .is_some_and(|w| w.starts_with("manual:"))
    );
    assert_eq!(stats["total"]["passes"], 1);
    assert_eq!(stats["total"]["deleted"]["total"], 1);
    let text = db.ok(&["vacuum", "stats"]);
    assert!(text.starts_with("DATE  "), "{text}");
    assert!(text.contains("all time: 1 passes"), "{text}");
}

#[test]
fn enqueue_after_and_tree_show_a_workflow_and_its_states() {
    let db = Db::migrated();
    let args = r#"{"path":"cat.png","width":64}"#;
    let later = "2099-01-01T00:00:00Z";
    db.ok(&[
        "jobs",
        "enqueue",
        "resize_image",
        "--args",
        args,
        "--id",
        "root",
        "--at",
        later,
    ]);
    for leaf in ["left", "right"] {
        db.ok(&[
            "jobs",
            "enqueue",
            "resize_image",
            "--args",
            args,
            "--id",
            leaf,
            "--after",
            "root",
        ]);
    }
    db.ok(&[
        "jobs",
        "enqueue",
        "resize_image",
        "--args",
        args,
        "--id",
        "sink",
        "--after",
        "left",
        "--after",
        "right",
    ]);

    let tree = db.ok(&["jobs", "tree", "left"]);
    let lines: Vec<&str> = tree.lines().collect();
    assert!(lines[0].starts_with("ID"), "{tree}");
    assert!(
        lines[1].starts_with("root ") && lines[1].contains("pending"),
        "{tree}"
    );
    assert!(
        lines[2].starts_with("  left ") && lines[2].contains("blocked"),
        "{tree}"
    );
    assert!(
        lines[3].starts_with("  right ") && lines[3].contains("blocked"),
        "{tree}"
    );
    assert!(
        lines[4].starts_with("    sink ") && lines[4].contains("left, right"),
        "{tree}"
    );
    let json = db.json(&["jobs", "tree", "sink"]);
    let depths: Vec<(String, u64)> = json["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|job| {
            let id = job["id"].as_str().expect("id").to_owned();
            (id, job["depth"].as_u64().expect("depth"))
        })
        .collect();
    assert_eq!(
        depths,
        [
            ("root".to_owned(), 0),
            ("left".to_owned(), 1),
            ("right".to_owned(), 1),
            ("sink".to_owned(), 2)
        ]
    );
    let shown = db.json(&["jobs", "show", "sink"]);
    assert_eq!(shown["parents"], json!(["left", "right"]));
    assert_eq!(shown["status"], "blocked");

    // Cancelling the root cancels the workflow (the default policy).
    db.ok(&["jobs", "cancel", "root"]);
    let sink = db.json(&["jobs", "show", "sink"]);
    assert_eq!(sink["status"], "cancelled");

    let stderr = db.fails(
        &[
            "jobs",
            "enqueue",
            "resize_image",
            "--args",
            args,
            "--after",
            "nowhere",
        ],
        NOT_FOUND,
    );
    assert!(stderr.contains("`nowhere`, which do not exist"), "{stderr}");
}
