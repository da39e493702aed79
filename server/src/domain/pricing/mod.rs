//! Prices and cost, free of IO.
//!
//! Prices are micro-USD per million tokens, matched by anchored model-name patterns (`*`
//! matches any run of characters) and optionally a provider, each with the date it takes
//! effect, so a price change never rewrites the cost of earlier calls. Costs are exact
//! integer micro-USD: each component is rounded half-up once.

mod bundled;

use chrono::{DateTime, Utc};

pub use bundled::bundled_prices;

/// One row of the price table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Price {
    /// Provider this price applies to; None for any provider.
    pub provider: Option<String>,
    /// Anchored pattern on the model name, `*` as wildcard, matched case-insensitively.
    pub model_pattern: String,
    pub input_per_mtok_micros: i64,
    pub output_per_mtok_micros: i64,
    /// Price of cached input tokens; None means they cost as much as other input.
    pub cached_input_per_mtok_micros: Option<i64>,
    pub effective_from: DateTime<Utc>,
    /// The model's context window in tokens, when known (for context-window use).
    pub context_window: Option<i64>,
}

/// Token counts of a call. Cached is a part of input, reasoning a part of output; only
/// input, output and cached are priced (reasoning is billed as output).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub input: u64,
    pub output: u64,
    pub cached: u64,
    pub reasoning: u64,
}

impl Usage {
    /// The priced counts (reasoning, a part of output, is not priced apart).
    pub fn priced(input: u64, output: u64, cached: u64) -> Self {
        Usage {
            input,
            output,
            cached,
            reasoning: 0,
        }
    }
}

/// Cost of a call in micro-USD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    pub input_micros: i64,
    pub output_micros: i64,
    pub total_micros: i64,
}

/// Whether `name` matches the anchored `pattern` (`*` = any characters), ignoring ASCII case.
/// Runs for every price row of every call, so it compares bytes in place, allocating nothing.
pub fn pattern_matches(pattern: &str, name: &str) -> bool {
    let (pattern, name) = (pattern.as_bytes(), name.as_bytes());
    let mut parts = pattern.split(|b| *b == b'*');
    let first = parts.next().unwrap_or_default();
    let Some(last) = parts.next_back() else {
        return pattern.eq_ignore_ascii_case(name);
    };
    if name.len() < first.len() + last.len()
        || !name[..first.len()].eq_ignore_ascii_case(first)
        || !name[name.len() - last.len()..].eq_ignore_ascii_case(last)
    {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for middle in parts {
        match find_ignore_case(rest, middle) {
            Some(i) => rest = &rest[i + middle.len()..],
            None => return false,
        }
    }
    true
}

/// Position of the first `needle` in `haystack`, ignoring ASCII case.
fn find_ignore_case(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// Literal characters in a pattern: the more, the more specific.
fn specificity(p: &Price) -> (bool, usize) {
    (
        p.provider.is_some(),
        p.model_pattern.chars().filter(|c| *c != '*').count(),
    )
}

/// The price in force for `provider`/`model` at `at`: among matching rows, the most specific
/// pattern (a provider-specific row beats a generic one), and of its versions the latest
/// that took effect at or before `at`.
pub fn find_price<'a>(
    prices: &'a [Price],
    provider: &str,
    model: &str,
    at: DateTime<Utc>,
) -> Option<&'a Price> {
    prices
        .iter()
        .filter(|p| p.effective_from <= at)
        .filter(|p| {
            p.provider
                .as_deref()
                .is_none_or(|pr| pr.eq_ignore_ascii_case(provider))
        })
        .filter(|p| pattern_matches(&p.model_pattern, model))
        .max_by_key(|p| (specificity(p), p.effective_from))
}

fn micros(tokens: u64, per_mtok_micros: i64) -> i64 {
    // i128: a billion tokens at a thousand dollars per million still fits; round half-up.
    let exact = i128::from(tokens) * i128::from(per_mtok_micros);
    ((exact + 500_000) / 1_000_000) as i64
}

/// Cost of `usage` at `price`. Cached tokens are priced once, at the cached rate.
pub fn cost(price: &Price, usage: Usage) -> Cost {
    let cached = usage.cached.min(usage.input);
    let uncached = usage.input - cached;
    let cached_rate = price
        .cached_input_per_mtok_micros
        .unwrap_or(price.input_per_mtok_micros);
    let input_micros = micros(uncached, price.input_per_mtok_micros) + micros(cached, cached_rate);
    let output_micros = micros(usage.output, price.output_per_mtok_micros);
    Cost {
        input_micros,
        output_micros,
        total_micros: input_micros + output_micros,
    }
}

/// USD (as a client sends it) to micro-USD, rounded half away from zero.
/// The cost of a call from the table in force at its time: the answering model's price
/// first, then the requested model's; None when neither has one.
pub fn price_call(
    prices: &[Price],
    provider: &str,
    model: &str,
    response_model: Option<&str>,
    at: DateTime<Utc>,
    usage: Usage,
) -> Option<Cost> {
    response_model
        .and_then(|m| find_price(prices, provider, m, at))
        .or_else(|| find_price(prices, provider, model, at))
        .map(|p| cost(p, usage))
}

pub fn usd_to_micros(usd: f64) -> i64 {
    (usd * 1_000_000.0).round() as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn price(pattern: &str, input: i64, output: i64, cached: Option<i64>, from: i32) -> Price {
        Price {
            provider: None,
            model_pattern: pattern.into(),
            input_per_mtok_micros: input,
            output_per_mtok_micros: output,
            cached_input_per_mtok_micros: cached,
            effective_from: Utc.with_ymd_and_hms(from, 1, 1, 0, 0, 0).unwrap(),
            context_window: None,
        }
    }

    #[test]
    fn patterns_are_anchored_globs() {
        assert!(pattern_matches("gpt-4o", "gpt-4o"));
        assert!(!pattern_matches("gpt-4o", "gpt-4o-mini"));
        assert!(pattern_matches("gpt-4o-mini*", "gpt-4o-mini-2024-07-18"));
        assert!(pattern_matches("GPT-4O*", "gpt-4o"));
        assert!(pattern_matches(
            "*llama-3.3-70b*",
            "meta-llama/Llama-3.3-70B-Instruct"
        ));
        assert!(!pattern_matches("gpt-4o*", "my-gpt-4o"));
        assert!(pattern_matches("claude-*-4*", "claude-sonnet-4-20250514"));
        assert!(!pattern_matches("a*a", "a"));
        assert!(pattern_matches("a**b", "ab"));
        assert!(pattern_matches("*", ""));
        assert!(pattern_matches("*MINI*", "gpt-4o-mini"));
        assert!(pattern_matches("x*y*z", "x-Y-y-z"));
        assert!(!pattern_matches("x*yy*z", "xyz"));
        assert!(!pattern_matches("claude", "claudé"));
    }

    #[test]
    fn most_specific_and_latest_effective_price_wins() {
        let prices = vec![
            price("gpt-4o*", 2_500_000, 10_000_000, None, 2024),
            price("gpt-4o-mini*", 150_000, 600_000, None, 2024),
            price("gpt-4o-mini*", 100_000, 400_000, None, 2026),
        ];
        let at = |y| Utc.with_ymd_and_hms(y, 6, 1, 0, 0, 0).unwrap();
        let p = find_price(&prices, "openai", "gpt-4o-mini-2024-07-18", at(2025)).unwrap();
        assert_eq!(
            p.input_per_mtok_micros, 150_000,
            "the 2026 price must not rewrite 2025"
        );
        let p = find_price(&prices, "openai", "gpt-4o-mini", at(2026)).unwrap();
        assert_eq!(p.input_per_mtok_micros, 100_000);
        let p = find_price(&prices, "openai", "gpt-4o-2024-08-06", at(2025)).unwrap();
        assert_eq!(p.input_per_mtok_micros, 2_500_000);
        assert!(find_price(&prices, "openai", "mystery-model", at(2025)).is_none());
        assert!(
            find_price(&prices, "openai", "gpt-4o", at(2023)).is_none(),
            "not yet in force"
        );
    }

    #[test]
    fn provider_specific_rows_beat_generic_ones() {
        let mut groq = price("llama-3.3-70b*", 590_000, 790_000, None, 2024);
        groq.provider = Some("groq".into());
        let generic = price("llama-3.3-70b*", 880_000, 880_000, None, 2024);
        let prices = vec![generic, groq];
        let at = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(
            find_price(&prices, "groq", "llama-3.3-70b-versatile", at)
                .unwrap()
                .input_per_mtok_micros,
            590_000
        );
        assert_eq!(
            find_price(&prices, "together", "llama-3.3-70b", at)
                .unwrap()
                .input_per_mtok_micros,
            880_000
        );
    }

    #[test]
    fn cached_tokens_are_priced_once_at_their_rate() {
        // $2.50 / $10 / $1.25 per million.
        let p = price("gpt-4o*", 2_500_000, 10_000_000, Some(1_250_000), 2024);
        let c = cost(&p, Usage::priced(1_000_000, 100_000, 400_000));
        // 600k uncached * 2.5 + 400k cached * 1.25 = 1.5 + 0.5 = $2.00
        assert_eq!(c.input_micros, 2_000_000);
        assert_eq!(c.output_micros, 1_000_000);
        assert_eq!(c.total_micros, 3_000_000);
        // Without a cached rate, cached input costs as much as other input.
        let p = price("x", 2_500_000, 10_000_000, None, 2024);
        assert_eq!(cost(&p, Usage::priced(1000, 0, 1000)).input_micros, 2_500);
        // More cached than input is clamped, never negative.
        assert_eq!(cost(&p, Usage::priced(10, 0, 50)).input_micros, 25);
    }

    #[test]
    fn rounding_is_half_up_per_component() {
        let p = price("x", 150_000, 600_000, None, 2024); // $0.15 / $0.60
                                                          // 3 tokens * 0.15 = 0.45 micro-USD -> 0; 4 tokens -> 0.6 -> 1
        assert_eq!(cost(&p, Usage::priced(3, 0, 0)).input_micros, 0);
        assert_eq!(cost(&p, Usage::priced(4, 0, 0)).input_micros, 1);
        assert_eq!(
            cost(&p, Usage::priced(0, 1_000_000_000, 0)).output_micros,
            600_000_000
        );
        assert_eq!(usd_to_micros(0.0123456), 12_346);
    }

    #[test]
    fn bundled_table_prices_common_models_and_local_ones_at_zero() {
        let prices = bundled_prices();
        let at = Utc::now();
        for (provider, model) in [
            ("openai", "gpt-4o-mini"),
            ("openai", "gpt-4.1"),
            ("anthropic", "claude-sonnet-4-20250514"),
            ("google", "gemini-2.5-flash"),
            ("mistral", "mistral-large-latest"),
            ("deepseek", "deepseek-chat"),
        ] {
            let p = find_price(&prices, provider, model, at).unwrap_or_else(|| panic!("{model}"));
            assert!(
                p.input_per_mtok_micros > 0 && p.output_per_mtok_micros > 0,
                "{model}"
            );
        }
        let local = find_price(&prices, "ollama", "llama3.2:3b", at).unwrap();
        assert_eq!(
            (local.input_per_mtok_micros, local.output_per_mtok_micros),
            (0, 0)
        );
    }
}
