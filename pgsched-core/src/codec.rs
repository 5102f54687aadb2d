//! Payload encoding: postcard bytes plus a hash of the argument schema.
//!
//! postcard is not self-describing: swapped fields decode into each other and a `u32` read as
//! an `i32` silently changes sign. So every payload is stored with the hash of the argument
//! schema it was written with ([`ArgsSchema`]), and a worker decodes only payloads whose hash
//! it knows: the job's current one, or one it upgrades from ([`upgrade_payload`]); any other
//! is left for a replica that knows it (see [`crate::registry::JobDefinition::current_payload`]).
//!
//! A job's output (what `#[job]` fn returns in its `Ok`) is stored the same way: postcard
//! bytes ([`encode_output`]) with the hash of the output type as written in the job's
//! signature ([`crate::registry::OutputDefinition`]), checked before it is decoded
//! ([`decode_output`]). A job that returns `()` stores no output.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::outcome::FailureReason;

/// FNV-1a (64 bit) of a canonical schema string such as `"to:String,subject:String"`.
///
/// `#[job]` computes it at compile time from the parameter names and types.
///
/// ```
/// use pgsched_core::codec::schema_hash;
/// assert_ne!(schema_hash("to:String,n:u32"), schema_hash("n:u32,to:String"));
/// assert_eq!(schema_hash(""), 0xcbf2_9ce4_8422_2325);
/// ```
#[must_use]
pub const fn schema_hash(schema: &str) -> u64 {
    let bytes = schema.as_bytes();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

/// Encodes a job's arguments as postcard bytes.
///
/// # Errors
/// [`Error::Encode`] when serde refuses the value.
pub fn encode_args<A: Serialize>(job: &str, args: &A) -> Result<Vec<u8>> {
    postcard::to_allocvec(args).map_err(|error| Error::Encode {
        job: job.to_owned(),
        reason: error.to_string(),
    })
}

/// Decodes a job's arguments, refusing trailing bytes (a sign the schema changed).
///
/// # Errors
/// [`FailureReason::Decode`] describing what did not fit.
pub fn decode_args<A: DeserializeOwned>(payload: &[u8]) -> Result<A, FailureReason> {
    match postcard::take_from_bytes::<A>(payload) {
        Ok((args, [])) => Ok(args),
        Ok((_, rest)) => Err(FailureReason::Decode(format!(
            "{} trailing byte(s) after the arguments; the payload was written for a different argument list",
            rest.len()
        ))),
        Err(error) => Err(FailureReason::Decode(error.to_string())),
    }
}

/// Decodes a stored payload as `A` and renders it as JSON (what `#[job]` registers as
/// [`crate::JobDefinition::args_to_json`], for inspection tools).
///
/// # Errors
/// The decode error (the payload does not fit `A`), or why `A` has no JSON form (for example
/// a map with non-string keys), as text.
pub fn args_to_json<A: Serialize + DeserializeOwned>(
    payload: &[u8],
) -> Result<serde_json::Value, String> {
    let args: A = decode_args(payload).map_err(|reason| reason.to_string())?;
    serde_json::to_value(&args).map_err(|error| error.to_string())
}

/// Reads `A` from JSON and encodes it as the postcard payload stored for the job (what
/// `#[job]` registers as [`crate::JobDefinition::args_from_json`], for tools that take
/// arguments as text).
///
/// The value must be a JSON object. The error names the field at fault: `` field `width`:
/// invalid type: string "x", expected u32 ``, `` unknown field `tos`, expected `to` or
/// `subject` `` (generated `Args` deny unknown fields), `` missing field `subject` ``.
///
/// # Errors
/// The message above; or the postcard encoder's error.
pub fn args_from_json<A: Serialize + DeserializeOwned>(
    value: serde_json::Value,
) -> Result<Vec<u8>, String> {
    if !value.is_object() {
        let kind = match value {
            serde_json::Value::Null => "null",
            serde_json::Value::Bool(_) => "a boolean",
            serde_json::Value::Number(_) => "a number",
            serde_json::Value::String(_) => "a string",
            serde_json::Value::Array(_) => "an array",
            serde_json::Value::Object(_) => "an object",
        };
        return Err(format!(
            "expected a JSON object with one field per argument, got {kind}"
        ));
    }
    let args: A = serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let message = strip_position(&inner.to_string());
        if path == "." || message.contains(&format!("`{path}`")) {
            message
        } else {
            format!("field `{path}`: {message}")
        }
    })?;
    postcard::to_allocvec(&args).map_err(|error| error.to_string())
}

/// serde_json appends ` at line L column C` to messages of errors read from text; a `Value`
/// has no position, but trim it if present so messages stay about fields.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) if message[index..].contains(" column ") => message[..index].to_owned(),
        _ => message.to_owned(),
    }
}

/// A job's output as stored with it: postcard bytes and the hash of its output schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobOutput {
    /// The postcard bytes.
    pub bytes: Vec<u8>,
    /// [`schema_hash`] of the output type as written in the job's signature
    /// ([`crate::registry::OutputDefinition::schema_hash`]).
    pub schema_hash: u64,
}

/// Encodes a job's output as postcard bytes; `None` for `()` (a job that returns nothing
/// stores nothing, so its completion writes what it always did).
///
/// # Errors
/// [`FailureReason::OutputEncode`] when serde refuses the value.
pub fn encode_output<T: Serialize + 'static>(value: &T) -> Result<Option<Vec<u8>>, FailureReason> {
    if std::any::TypeId::of::<T>() == std::any::TypeId::of::<()>() {
        return Ok(None);
    }
    postcard::to_allocvec(value)
        .map(Some)
        .map_err(|error| FailureReason::OutputEncode(error.to_string()))
}

/// Decodes a stored output, refusing trailing bytes (a sign the output type changed).
///
/// # Errors
/// What did not fit, as text.
pub fn decode_output<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    match postcard::take_from_bytes::<T>(bytes) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(format!(
            "{} trailing byte(s) after the output; it was written for a different output type",
            rest.len()
        )),
        Err(error) => Err(error.to_string()),
    }
}

/// Decodes a stored output as `T` and renders it as JSON (what `#[job]` registers as
/// [`crate::registry::OutputDefinition::to_json`], for inspection tools).
///
/// # Errors
/// The decode error, or why `T` has no JSON form, as text.
pub fn output_to_json<T: Serialize + DeserializeOwned>(
    bytes: &[u8],
) -> Result<serde_json::Value, String> {
    let value: T = decode_output(bytes)?;
    serde_json::to_value(&value).map_err(|error| error.to_string())
}

/// Arguments with a known schema: a job's generated `Args`, or an earlier version of them kept
/// for an upgrade (`#[pgsched::args]`). The schema is what [`schema_hash`] reads: `name:Type`
/// per field, in order, types as written.
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no argument schema, so payloads written with it cannot be recognised",
    label = "an upgrade must take arguments with a schema",
    note = "mark the struct that holds the earlier arguments with `#[pgsched::args]`, its fields named and typed as the job's parameters were"
)]
pub trait ArgsSchema {
    /// The canonical schema, e.g. `"to:String,subject:String"`.
    const SCHEMA: &'static str;
    /// [`schema_hash`] of [`ArgsSchema::SCHEMA`], stored with every payload written with it.
    const SCHEMA_HASH: u64;
}

/// Decodes a payload written with the earlier arguments `Old`, converts it with `upgrade`
/// and encodes the result as a payload of the current arguments `New` (what `#[job(upgrade =
/// …)]` registers as [`crate::registry::ArgsUpgrade::upgrade`]).
///
/// # Errors
/// [`FailureReason::Decode`] when the payload does not fit `Old` or `New` cannot be encoded.
pub fn upgrade_payload<Old: DeserializeOwned, New: Serialize>(
    payload: &[u8],
    upgrade: fn(Old) -> New,
) -> Result<Vec<u8>, FailureReason> {
    let old: Old = decode_args(payload)?;
    postcard::to_allocvec(&upgrade(old)).map_err(|error| {
        FailureReason::Decode(format!("could not encode the upgraded arguments: {error}"))
    })
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct V1 {
        to: String,
        subject: String,
        n: u32,
    }

    #[derive(Deserialize, Debug)]
    struct Shorter {
        #[allow(dead_code)]
        to: String,
        #[allow(dead_code)]
        subject: String,
    }

    #[test]
    fn arguments_round_trip() {
        let v = V1 {
            to: "a@x".into(),
            subject: "hi".into(),
            n: 5,
        };
        let bytes = encode_args("send", &v).expect("encodes");
        assert_eq!(decode_args::<V1>(&bytes).expect("decodes"), v);
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let bytes = encode_args(
            "send",
            &V1 {
                to: "a".into(),
                subject: "b".into(),
                n: 5,
            },
        )
        .expect("encodes");
        let err = decode_args::<Shorter>(&bytes).expect_err("a removed field leaves bytes behind");
        assert!(err.to_string().contains("trailing"), "{err}");
    }

    #[test]
    fn truncated_payload_is_a_decode_error() {
        let err = decode_args::<V1>(&[3, b'a']).expect_err("truncated");
        assert!(matches!(err, FailureReason::Decode(_)));
    }

    #[test]
    fn schema_hash_differs_for_swapped_or_retyped_fields() {
        let base = schema_hash("to:String,subject:String,n:u32");
        assert_ne!(base, schema_hash("subject:String,to:String,n:u32"));
        assert_ne!(base, schema_hash("to:String,subject:String,n:i32"));
        assert_eq!(base, schema_hash("to:String,subject:String,n:u32"));
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Resize {
        path: String,
        width: u32,
        tags: Vec<String>,
    }

    #[test]
    fn json_round_trips_through_postcard() {
        let value = serde_json::json!({"path": "a.png", "width": 640, "tags": ["x"]});
        let payload = args_from_json::<Resize>(value.clone()).expect("fits");
        assert_eq!(
            decode_args::<Resize>(&payload).expect("postcard"),
            Resize {
                path: "a.png".into(),
                width: 640,
                tags: vec!["x".into()]
            }
        );
        assert_eq!(args_to_json::<Resize>(&payload).expect("decodes"), value);
    }

    #[test]
    fn json_errors_name_the_field() {
        let err =
            args_from_json::<Resize>(serde_json::json!({"path": "a", "width": "wide", "tags": []}))
                .expect_err("wrong type");
        assert_eq!(
            err,
            "field `width`: invalid type: string \"wide\", expected u32"
        );
        let err =
            args_from_json::<Resize>(serde_json::json!({"path": "a", "widht": 3, "tags": []}))
                .expect_err("unknown field");
        assert!(
            err.starts_with("unknown field `widht`, expected one of"),
            "{err}"
        );
        let err =
            args_from_json::<Resize>(serde_json::json!({"path": "a"})).expect_err("missing field");
        assert_eq!(err, "missing field `width`");
        let err =
            args_from_json::<Resize>(serde_json::json!({"path": "a", "width": 1, "tags": [1]}))
                .expect_err("nested");
        assert_eq!(
            err,
            "field `tags[0]`: invalid type: integer `1`, expected a string"
        );
        let err = args_from_json::<Resize>(serde_json::json!([1])).expect_err("not an object");
        assert_eq!(
            err,
            "expected a JSON object with one field per argument, got an array"
        );
    }

    #[test]
    fn json_of_an_undecodable_payload_is_an_error() {
        let err = args_to_json::<Resize>(&[9, 9]).expect_err("truncated");
        assert!(!err.is_empty());
    }

    #[test]
    fn outputs_round_trip_and_unit_stores_nothing() {
        assert_eq!(encode_output(&()), Ok(None));
        let bytes = encode_output(&vec![1_u32, 2])
            .expect("encodes")
            .expect("stored");
        assert_eq!(decode_output::<Vec<u32>>(&bytes), Ok(vec![1, 2]));
        assert_eq!(
            output_to_json::<Vec<u32>>(&bytes),
            Ok(serde_json::json!([1, 2]))
        );
        let err = decode_output::<u8>(&bytes).expect_err("trailing bytes");
        assert!(err.contains("different output type"), "{err}");
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct V2 {
        to: Vec<String>,
        subject: String,
        n: u64,
    }

    fn from_v1(old: V1) -> V2 {
        V2 {
            to: vec![old.to],
            subject: old.subject,
            n: u64::from(old.n),
        }
    }

    #[test]
    fn an_upgrade_rewrites_an_old_payload_as_the_current_arguments() {
        let old = encode_args(
            "send",
            &V1 {
                to: "a@x".into(),
                subject: "hi".into(),
                n: 5,
            },
        )
        .expect("encodes");
        let current = upgrade_payload(&old, from_v1).expect("upgrades");
        assert_eq!(
            decode_args::<V2>(&current).expect("decodes as the current arguments"),
            V2 {
                to: vec!["a@x".into()],
                subject: "hi".into(),
                n: 5
            }
        );
        let err = upgrade_payload(&[9], from_v1).expect_err("not a V1 payload");
        assert!(matches!(err, FailureReason::Decode(_)), "{err}");
    }
}
