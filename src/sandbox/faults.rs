//! Faults a real PSP shows now and then: 5xx bursts, time-outs, slow answers,
//! rate limiting. Applied to every route of both PSPs.

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {}

/// The tower layer that injects the faults (none yet: a pass-through).
pub fn layer(_faults: Faults) -> tower::layer::util::Identity {
    tower::layer::util::Identity::new()
}
