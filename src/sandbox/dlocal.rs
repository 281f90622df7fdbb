//! The sandbox's dlocal endpoints.

use std::sync::Arc;

use serde::Deserialize;

use super::SandboxConfig;
use super::notifier::Notifier;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DlocalScenario {}

pub fn router(_config: Arc<SandboxConfig>, _notifier: Notifier) -> axum::Router {
    axum::Router::new()
}
