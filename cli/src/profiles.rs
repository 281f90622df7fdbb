//! `voucherdesk profiles`: the built-in import profiles.

use crate::failure::Failure;
use voucherdesk::import::profile;

pub(crate) fn run() -> Result<(), Failure> {
    for name in profile::BUILT_IN_PROFILE_NAMES {
        if let Some(p) = profile::built_in(name) {
            out!("{name:<24} {:<12} {}", p.kind.as_str(), p.required_headers().join(", "));
        }
    }
    Ok(())
}
