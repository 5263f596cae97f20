//! The `sanctions` policy: deny a withdrawal whose destination is held by a
//! designated-address set, with the matching entries as evidence.
//!
//! An address the host cannot screen (unsupported chain, invalid address) is
//! never allowed: it is held for review.
//!
//! Configuration (all optional):
//! ```json
//! { "lists": ["ofac-sdn"], "on_unscreenable": "hold" }
//! ```
//! `lists` restricts which designated lists deny (default: every list the
//! host holds); `on_unscreenable` is `hold` (default) or `deny`.

use riskgate_guest::prelude::*;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default)]
    lists: Option<Vec<String>>,
    #[serde(default)]
    on_unscreenable: OnUnscreenable,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum OnUnscreenable {
    #[default]
    Hold,
    Deny,
}

/// The policy (exported as the component on wasm32; usable natively
/// through `riskgate_guest::native` and riskgate-testkit).
pub struct Sanctions {
    config: Config,
}

impl Policy for Sanctions {
    const NAME: &'static str = "sanctions";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn configure(config: &str) -> Result<Self, String> {
        let config: Config =
            serde_json::from_str(config).map_err(|e| format!("invalid sanctions config: {e}"))?;
        if let Some(lists) = &config.lists
            && lists.is_empty()
        {
            return Err(
                "invalid sanctions config: `lists` is empty, which would screen nothing".into(),
            );
        }
        Ok(Sanctions { config })
    }

    fn evaluate(&self, w: &Withdrawal) -> Decision {
        let unscreenable = match self.config.on_unscreenable {
            OnUnscreenable::Hold => Verdict::Hold,
            OnUnscreenable::Deny => Verdict::Deny,
        };
        match host::screen(&w.chain, &w.destination) {
            Ok(hits) => {
                let hits: Vec<Evidence> = hits
                    .into_iter()
                    .filter(|h| match &self.config.lists {
                        Some(lists) => lists.iter().any(|l| l == &h.list),
                        None => true,
                    })
                    .collect();
                if hits.is_empty() {
                    return Decision::allow();
                }
                let detail = describe(&hits);
                Decision::allow().with(
                    Verdict::Deny,
                    Reason::new("sanctions.hit", detail).with_evidence(hits),
                )
            }
            Err(ScreenError::UnsupportedChain(why)) => Decision::allow().with(
                unscreenable,
                Reason::new(
                    "sanctions.unsupported_chain",
                    format!("destination cannot be screened: {why}"),
                ),
            ),
            Err(ScreenError::InvalidAddress(why)) => Decision::allow().with(
                unscreenable,
                Reason::new(
                    "sanctions.invalid_address",
                    format!("destination is not a valid {} address: {why}", w.chain),
                ),
            ),
        }
    }
}

fn describe(hits: &[Evidence]) -> String {
    let first = &hits[0];
    let mut detail = format!(
        "destination {} is designated on {} ({})",
        first.address, first.list, first.list_version
    );
    if let Some(label) = &first.label {
        detail.push_str(": ");
        detail.push_str(label);
    }
    if hits.len() > 1 {
        detail.push_str(&format!(" and {} more list entries", hits.len() - 1));
    }
    detail
}

riskgate_guest::export_policy!(Sanctions);

#[cfg(test)]
mod tests;
