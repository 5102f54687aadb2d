//! A job that changed its arguments keeps accepting payloads of the earlier ones: each
//! `upgrade` fn takes a `#[pgsched::args]` struct and returns the current `Args`.
#![deny(warnings)]

use pgsched::{ArgsSchema, job};

/// `send_email` as it was first: one recipient.
#[pgsched::args]
pub struct SendEmailV1 {
    to: String,
    subject: String,
}

/// `send_email` as it was next: recipients, no subject.
#[pgsched::args]
pub struct SendEmailV2 {
    to: Vec<String>,
}

fn from_v1(old: SendEmailV1) -> send_email::Args {
    send_email::Args {
        to: vec![old.to],
        subject: old.subject,
        urgent: false,
    }
}

fn from_v2(old: SendEmailV2) -> send_email::Args {
    send_email::Args {
        to: old.to,
        subject: String::new(),
        urgent: false,
    }
}

/// Sends one email.
#[job(upgrade = [from_v1, from_v2])]
pub async fn send_email(to: Vec<String>, subject: String, urgent: bool) {
    let _ = (to, subject, urgent);
}

/// A job without upgrades has none.
#[job]
async fn plain(n: u32) {
    let _ = n;
}

fn main() {
    // The earlier structs have the schema a job with those parameters had.
    assert_eq!(SendEmailV1::SCHEMA, "to:String,subject:String");
    assert_eq!(
        SendEmailV1::SCHEMA_HASH,
        pgsched::__private::schema_hash("to:String,subject:String")
    );
    // The job's own `Args` expose theirs the same way.
    assert_eq!(
        <send_email::Args as ArgsSchema>::SCHEMA_HASH,
        send_email::SCHEMA_HASH
    );

    let definition = &send_email::DEFINITION;
    let known: Vec<_> = definition.known_schemas().collect();
    assert_eq!(
        known,
        [
            (send_email::SCHEMA_HASH, "to:Vec<String>,subject:String,urgent:bool"),
            (SendEmailV1::SCHEMA_HASH, "to:String,subject:String"),
            (SendEmailV2::SCHEMA_HASH, "to:Vec<String>"),
        ]
    );
    assert!(plain::UPGRADES.is_empty() && plain::DEFINITION.upgrades.is_empty());

    // A payload written by the first version reads as the current arguments.
    let old = pgsched::__private::serde_json::json!({"to": "a@b.c", "subject": "hi"});
    let old = (pgsched::__private::args_from_json::<SendEmailV1>)(old).expect("v1 payload");
    let current = definition
        .current_payload(Some(SendEmailV1::SCHEMA_HASH), &old)
        .expect("upgraded");
    assert_eq!(
        (definition.args_to_json)(&current).expect("decodes"),
        pgsched::__private::serde_json::json!({"to": ["a@b.c"], "subject": "hi", "urgent": false})
    );
}
