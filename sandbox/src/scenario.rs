//! What the sandbox does, from a TOML file (`voucherdesk sandbox --scenario FILE`).
//! Each PSP's part is defined next to its routes; faults apply to both.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Scenario files are a few hundred lines at most.
pub const SCENARIO_FILE_MAX_BYTES: u64 = 256 * 1024;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default)]
    pub dlocal: super::dlocal::DlocalScenario,
    #[serde(default)]
    pub pagoefectivo: super::pagoefectivo::PeScenario,
    #[serde(default)]
    pub faults: super::faults::Faults,
}

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: scenario files are limited to {SCENARIO_FILE_MAX_BYTES} bytes")]
    TooLarge { path: PathBuf },
    #[error("{path}: {source}")]
    Parse { path: PathBuf, source: toml::de::Error },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl ScenarioError {
    pub fn code(&self) -> &'static str {
        match self {
            ScenarioError::Read { .. } => "scenario.read",
            ScenarioError::TooLarge { .. } => "scenario.too_large",
            ScenarioError::Parse { .. } => "scenario.invalid",
            ScenarioError::Invalid { .. } => "scenario.limits",
        }
    }
}

impl Scenario {
    pub fn from_file(path: &Path) -> Result<Scenario, ScenarioError> {
        let read = |source| ScenarioError::Read { path: path.to_path_buf(), source };
        if std::fs::metadata(path).map_err(read)?.len() > SCENARIO_FILE_MAX_BYTES {
            return Err(ScenarioError::TooLarge { path: path.to_path_buf() });
        }
        let text = std::fs::read_to_string(path).map_err(read)?;
        let scenario =
            Scenario::from_toml(&text).map_err(|source| ScenarioError::Parse { path: path.to_path_buf(), source })?;
        scenario.check().map_err(|message| ScenarioError::Invalid { path: path.to_path_buf(), message })?;
        Ok(scenario)
    }

    /// Limits beyond the file's shape (delays, copies).
    pub fn check(&self) -> Result<(), String> {
        self.dlocal.check()?;
        self.faults.check()
    }

    pub fn from_toml(text: &str) -> Result<Scenario, toml::de::Error> {
        toml::from_str(text)
    }
}
