//! [`JobArgs`]: what links a job's generated `Args` type to its registered definition, so code
//! generic over a job (the test helpers of `pgsched::testing`, for one) can be told which job
//! by its arguments type alone: `enqueued::<send_email::Args>(..)`.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::decode_args;
use crate::outcome::FailureReason;
use crate::registry::JobDefinition;

/// The arguments of one `#[job]` (or `#[periodic]`) function. `#[job]` implements it for the
/// `Args` it generates; there is no need to implement it by hand.
pub trait JobArgs: Serialize + DeserializeOwned + Send + 'static {
    /// The job's registered definition (its name, argument schema and defaults).
    const DEFINITION: &'static JobDefinition;

    /// Decodes a stored payload as these arguments, as a worker does before running the job:
    /// a payload of the current schema (or stored without a hash) as it is, one of an earlier
    /// schema through the upgrade the job registered for it ([`JobDefinition::current_payload`]).
    ///
    /// # Errors
    /// [`FailureReason::UnknownSchema`] for a schema the job does not know, or
    /// [`FailureReason::Decode`].
    fn decode(payload: &[u8], schema_hash: Option<u64>) -> Result<Self, FailureReason> {
        let current = Self::DEFINITION.current_payload(schema_hash, payload)?;
        decode_args(&current)
    }
}
