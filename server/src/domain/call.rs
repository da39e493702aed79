//! A call as storage keeps it: the wire record plus who sent it and where its cost came
//! from.

use app::types::Call;

/// A call that passed validation, as it will be stored: the wire record plus who sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCall {
    pub call: Call,
    /// The API key that reported it, for per-key spend.
    pub api_key_id: Option<i64>,
    /// Where the cost came from; a re-cost only touches costs from the table.
    pub cost_source: Option<CostSource>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CostSource {
    Table,
    Client,
}

impl CostSource {
    pub fn as_str(self) -> &'static str {
        match self {
            CostSource::Table => "table",
            CostSource::Client => "client",
        }
    }

    pub fn parse(s: &str) -> Option<CostSource> {
        [CostSource::Table, CostSource::Client]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}
