//! Payload encoding: postcard bytes plus a hash of the argument schema.
//!
//! postcard is not self-describing: swapped fields decode into each other and a `u32` read as
//! an `i32` silently changes sign. So every payload is stored with the hash of the argument
//! schema it was written with, and a worker refuses to decode a payload whose hash differs
//! from the one its binary was compiled with.

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
    postcard::to_allocvec(args).map_err(|source| Error::Encode {
        job: job.to_owned(),
        source,
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

/// Checks that a stored payload's schema hash matches the running binary's.
///
/// A stored `None` (a job scheduled by name without a hash) is accepted.
///
/// # Errors
/// [`FailureReason::SchemaMismatch`] with both hashes and the expected schema.
pub fn check_schema(
    stored: Option<u64>,
    expected: u64,
    expected_schema: &'static str,
) -> Result<(), FailureReason> {
    match stored {
        Some(stored) if stored != expected => Err(FailureReason::SchemaMismatch {
            stored,
            expected,
            schema: expected_schema,
        }),
        _ => Ok(()),
    }
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

    #[test]
    fn schema_check_accepts_equal_or_absent_hashes() {
        assert!(check_schema(Some(7), 7, "a:u8").is_ok());
        assert!(check_schema(None, 7, "a:u8").is_ok());
        let err = check_schema(Some(8), 7, "a:u8").expect_err("mismatch");
        assert!(err.to_string().contains("a:u8"), "{err}");
    }
}
