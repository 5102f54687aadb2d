//! Plain arguments and a `Result` return: the fn stays callable, the module holds the rest.
#![deny(warnings)]

use std::fmt;

use pgsched::job;

/// Why sending failed.
#[derive(Debug)]
pub struct MailError;

impl fmt::Display for MailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mail server said no")
    }
}

/// Sends one email.
#[job(max_retries = 3)]
pub async fn send_email(
    to: String,
    subject: String,
    attachments: Vec<u8>,
) -> Result<(), MailError> {
    if to.is_empty() || subject.is_empty() || attachments.len() > 10 {
        return Err(MailError);
    }
    Ok(())
}

fn main() {
    assert_eq!(send_email::NAME, "send_email");
    assert_eq!(
        send_email::SCHEMA,
        "to:String,subject:String,attachments:Vec<u8>"
    );
    assert_eq!(
        send_email::SCHEMA_HASH,
        pgsched::__private::schema_hash("to:String,subject:String,attachments:Vec<u8>")
    );
    let definition: &pgsched::__private::JobDefinition = &send_email::DEFINITION;
    assert_eq!(definition.name, "send_email");
    assert_eq!(definition.schema_hash, send_email::SCHEMA_HASH);
    assert_eq!(definition.defaults.max_retries, 3);
    assert_eq!(definition.defaults.priority, pgsched::Priority::Normal);
    assert_eq!(
        definition.defaults.misfire_grace,
        pgsched::MisfireGrace::Default
    );
    assert_eq!(definition.defaults.timeout, None);
    assert!(definition.file.ends_with("pass_basic.rs"));

    let args = || send_email::Args {
        to: "a@b.c".into(),
        subject: "hi".into(),
        attachments: vec![1, 2, 3],
    };
    // `inventory` collected the definition.
    let registered = pgsched::__private::inventory::iter::<pgsched::__private::JobDefinition>
        .into_iter()
        .any(|definition| {
            definition.name == "send_email" && definition.schema_hash == send_email::SCHEMA_HASH
        });
    assert!(registered, "send_email is registered");

    // Building the schedule calls must compile; they are not awaited here.
    let now = pgsched::__private::chrono::Utc::now();
    let _scheduled = send_email::schedule(now, args());
    let _enqueued = send_email::enqueue(args());
    let _spec: pgsched::JobSpec = send_email::spec(now, args());

    // The original fn is still there, with its own signature.
    let _future = send_email("a@b.c".into(), "hi".into(), Vec::new());
}
