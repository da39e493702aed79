//! Which upstream endpoints the proxy forwards, and which of them are model calls worth
//! recording (pure).

use app::types::ProviderKind;

/// Endpoints (after `/proxy/<provider>/`) the proxy forwards for this dialect.
pub fn allows(kind: ProviderKind, path: &str) -> bool {
    let fixed: &[&str] = match kind {
        ProviderKind::OpenAi => &[
            "v1/chat/completions",
            "v1/completions",
            "v1/embeddings",
            "v1/models",
        ],
        ProviderKind::Anthropic => &["v1/messages", "v1/messages/count_tokens", "v1/models"],
    };
    fixed.contains(&path)
        || path
            .strip_prefix("v1/models/")
            .is_some_and(|m| !m.is_empty())
}

/// Endpoints whose answers are model calls worth recording (listing models is not).
pub fn records(kind: ProviderKind, path: &str) -> bool {
    matches!(
        (kind, path),
        (
            ProviderKind::OpenAi,
            "v1/chat/completions" | "v1/completions" | "v1/embeddings"
        ) | (ProviderKind::Anthropic, "v1/messages")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_allowed_per_dialect() {
        use ProviderKind::{Anthropic, OpenAi};
        assert!(allows(OpenAi, "v1/chat/completions"));
        assert!(allows(OpenAi, "v1/models/gpt-4o"));
        assert!(!allows(OpenAi, "v1/models/"));
        assert!(!allows(OpenAi, "v1/files"));
        assert!(!allows(OpenAi, "v1/messages"));
        assert!(allows(Anthropic, "v1/messages"));
        assert!(!allows(Anthropic, "v1/chat/completions"));
        assert!(records(OpenAi, "v1/embeddings"));
        assert!(!records(OpenAi, "v1/models"));
    }
}
