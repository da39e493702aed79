//! The price table shipped with Sightline (USD per million tokens: input, output, cached
//! input), effective from 2024-01-01 so it covers back-filled history. Edit through the API;
//! a new price gets a new effective date and never changes the cost of earlier calls.

use chrono::{TimeZone, Utc};

use super::{usd_to_micros, Price};

/// (provider or "" for any, model pattern, input, output, cached input or -1 for none)
const TABLE: &[(&str, &str, f64, f64, f64)] = &[
    // OpenAI
    ("", "gpt-5-nano*", 0.05, 0.40, 0.005),
    ("", "gpt-5-mini*", 0.25, 2.00, 0.025),
    ("", "gpt-5*", 1.25, 10.00, 0.125),
    ("", "gpt-4.1-nano*", 0.10, 0.40, 0.025),
    ("", "gpt-4.1-mini*", 0.40, 1.60, 0.10),
    ("", "gpt-4.1*", 2.00, 8.00, 0.50),
    ("", "gpt-4o-mini*", 0.15, 0.60, 0.075),
    ("", "gpt-4o*", 2.50, 10.00, 1.25),
    ("", "gpt-4-turbo*", 10.00, 30.00, -1.0),
    ("", "gpt-3.5-turbo*", 0.50, 1.50, -1.0),
    ("", "o4-mini*", 1.10, 4.40, 0.275),
    ("", "o3-mini*", 1.10, 4.40, 0.55),
    ("", "o3*", 2.00, 8.00, 0.50),
    ("", "o1*", 15.00, 60.00, 7.50),
    ("", "text-embedding-3-small*", 0.02, 0.0, -1.0),
    ("", "text-embedding-3-large*", 0.13, 0.0, -1.0),
    // Anthropic (cached = cache reads)
    ("", "claude-opus-4-5*", 5.00, 25.00, 0.50),
    ("", "claude-opus-4*", 15.00, 75.00, 1.50),
    ("", "claude-sonnet-4*", 3.00, 15.00, 0.30),
    ("", "claude-3-7-sonnet*", 3.00, 15.00, 0.30),
    ("", "claude-3-5-sonnet*", 3.00, 15.00, 0.30),
    ("", "claude-haiku-4*", 1.00, 5.00, 0.10),
    ("", "claude-3-5-haiku*", 0.80, 4.00, 0.08),
    ("", "claude-3-haiku*", 0.25, 1.25, 0.03),
    // Google
    ("", "gemini-2.5-pro*", 1.25, 10.00, 0.31),
    ("", "gemini-2.5-flash-lite*", 0.10, 0.40, 0.025),
    ("", "gemini-2.5-flash*", 0.30, 2.50, 0.075),
    ("", "gemini-2.0-flash*", 0.10, 0.40, 0.025),
    ("", "gemini-1.5-pro*", 1.25, 5.00, -1.0),
    ("", "gemini-1.5-flash*", 0.075, 0.30, -1.0),
    // Mistral
    ("", "mistral-large*", 2.00, 6.00, -1.0),
    ("", "mistral-medium*", 0.40, 2.00, -1.0),
    ("", "mistral-small*", 0.10, 0.30, -1.0),
    ("", "codestral*", 0.30, 0.90, -1.0),
    ("", "open-mistral-nemo*", 0.15, 0.15, -1.0),
    // DeepSeek
    ("", "deepseek-chat*", 0.27, 1.10, 0.07),
    ("", "deepseek-reasoner*", 0.55, 2.19, 0.14),
    // Open models at common hosts
    ("groq", "llama-3.3-70b*", 0.59, 0.79, -1.0),
    ("groq", "llama-3.1-8b*", 0.05, 0.08, -1.0),
    ("together", "meta-llama/llama-3.3-70b*", 0.88, 0.88, -1.0),
    ("together", "qwen/qwen2.5-72b*", 1.20, 1.20, -1.0),
    (
        "together",
        "meta-llama/meta-llama-3.1-8b*",
        0.18,
        0.18,
        -1.0,
    ),
    (
        "fireworks",
        "accounts/fireworks/models/llama-v3p3-70b*",
        0.90,
        0.90,
        -1.0,
    ),
    (
        "fireworks",
        "accounts/fireworks/models/qwen2p5-72b*",
        0.90,
        0.90,
        -1.0,
    ),
    // Local servers: free to run.
    ("ollama", "*", 0.0, 0.0, -1.0),
    ("llama.cpp", "*", 0.0, 0.0, -1.0),
    ("vllm", "*", 0.0, 0.0, -1.0),
    ("local", "*", 0.0, 0.0, -1.0),
];

/// Context windows in tokens by the same patterns (the providers' documented limits).
const WINDOWS: &[(&str, i64)] = &[
    ("gpt-5-nano*", 400_000),
    ("gpt-5-mini*", 400_000),
    ("gpt-5*", 400_000),
    ("gpt-4.1-nano*", 1_047_576),
    ("gpt-4.1-mini*", 1_047_576),
    ("gpt-4.1*", 1_047_576),
    ("gpt-4o-mini*", 128_000),
    ("gpt-4o*", 128_000),
    ("gpt-4-turbo*", 128_000),
    ("gpt-3.5-turbo*", 16_385),
    ("o4-mini*", 200_000),
    ("o3-mini*", 200_000),
    ("o3*", 200_000),
    ("o1*", 200_000),
    ("text-embedding-3-small*", 8_191),
    ("text-embedding-3-large*", 8_191),
    ("claude-opus-4-5*", 200_000),
    ("claude-opus-4*", 200_000),
    ("claude-sonnet-4*", 200_000),
    ("claude-3-7-sonnet*", 200_000),
    ("claude-3-5-sonnet*", 200_000),
    ("claude-haiku-4*", 200_000),
    ("claude-3-5-haiku*", 200_000),
    ("claude-3-haiku*", 200_000),
    ("gemini-2.5-pro*", 1_048_576),
    ("gemini-2.5-flash-lite*", 1_048_576),
    ("gemini-2.5-flash*", 1_048_576),
    ("gemini-2.0-flash*", 1_048_576),
    ("gemini-1.5-pro*", 2_097_152),
    ("gemini-1.5-flash*", 1_048_576),
    ("mistral-large*", 128_000),
    ("mistral-medium*", 128_000),
    ("mistral-small*", 32_000),
    ("codestral*", 256_000),
    ("open-mistral-nemo*", 128_000),
    ("deepseek-chat*", 128_000),
    ("deepseek-reasoner*", 128_000),
    ("llama-3.3-70b*", 128_000),
    ("llama-3.1-8b*", 128_000),
    ("meta-llama/llama-3.3-70b*", 128_000),
    ("qwen/qwen2.5-72b*", 32_768),
    ("meta-llama/meta-llama-3.1-8b*", 128_000),
    ("accounts/fireworks/models/llama-v3p3-70b*", 128_000),
    ("accounts/fireworks/models/qwen2p5-72b*", 32_768),
];

/// The bundled context window of a bundled pattern.
pub fn bundled_window(pattern: &str) -> Option<i64> {
    WINDOWS.iter().find(|(p, _)| *p == pattern).map(|(_, w)| *w)
}

pub fn bundled_prices() -> Vec<Price> {
    let from = Utc
        .with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    TABLE
        .iter()
        .map(|&(provider, pattern, input, output, cached)| Price {
            provider: (!provider.is_empty()).then(|| provider.to_owned()),
            model_pattern: pattern.to_owned(),
            input_per_mtok_micros: usd_to_micros(input),
            output_per_mtok_micros: usd_to_micros(output),
            cached_input_per_mtok_micros: (cached >= 0.0).then(|| usd_to_micros(cached)),
            effective_from: from,
            context_window: bundled_window(pattern),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_window_names_a_bundled_pattern() {
        for (pattern, window) in WINDOWS {
            assert!(
                TABLE.iter().any(|(_, p, ..)| p == pattern),
                "{pattern} is not a bundled price pattern"
            );
            assert!(*window >= 4_096, "{pattern}");
        }
        let prices = bundled_prices();
        let gpt = prices
            .iter()
            .find(|p| p.model_pattern == "gpt-4o*")
            .unwrap();
        assert_eq!(gpt.context_window, Some(128_000));
        let local = prices.iter().find(|p| p.model_pattern == "*").unwrap();
        assert_eq!(local.context_window, None);
    }
}
