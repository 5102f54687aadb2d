//! [`JobArgs`]: what links a job's generated `Args` type to its registered definition, so code
//! generic over a job (the test helpers of `pgsched::testing`, for one) can be told which job
//! by its arguments type alone: `enqueued::<send_email::Args>(..)`.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::{check_schema, decode_args};
use crate::outcome::FailureReason;
use crate::registry::JobDefinition;

/// The arguments of one `#[job]` (or `#[periodic]`) function. `#[job]` implements it for the
/// `Args` it generates; there is no need to implement it by hand.
pub trait JobArgs: Serialize + DeserializeOwned + Send + 'static {
    /// The job's registered definition (its name, argument schema and defaults).
    const DEFINITION: &'static JobDefinition;

    /// Decodes a stored payload as these arguments, as a worker would before running the job:
    /// refused when the payload was written with another argument schema (`schema_hash`,
    /// `None` for a job scheduled by name without one, is accepted) or does not decode.
    ///
    /// # Errors
    /// [`FailureReason::SchemaMismatch`] or [`FailureReason::Decode`].
    fn decode(payload: &[u8], schema_hash: Option<u64>) -> Result<Self, FailureReason> {
        check_schema(
            schema_hash,
            Self::DEFINITION.schema_hash,
            Self::DEFINITION.schema,
        )?;
        decode_args(payload)
    }
}
