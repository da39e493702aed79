//! Model benchmark runs, free of IO: checking what a run asks for, scoring answers, the
//! judge's rubric, and each model's figures from its answers.

use app::types::bench::{
    BenchAnswer, BenchModelResult, BenchRunInput, ScoreMethod, MAX_MODELS, MAX_PROMPTS,
    MAX_PROMPT_BYTES,
};
use regex::Regex;

/// A field the run cannot have, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub field: String,
    pub message: String,
}

fn refuse(field: impl Into<String>, message: impl Into<String>) -> Refusal {
    Refusal {
        field: field.into(),
        message: message.into(),
    }
}

/// `provider/model` split at the first slash (model ids may hold slashes themselves).
pub fn split_model(name: &str) -> Option<(&str, &str)> {
    let (provider, model) = name.split_once('/')?;
    (!provider.is_empty() && !model.trim().is_empty()).then_some((provider, model))
}

/// A checked run: the input, trimmed, with its regular expressions compiled.
#[derive(Debug, Clone)]
pub struct Plan {
    pub input: BenchRunInput,
    /// One per prompt when scoring by regex.
    pub patterns: Vec<Option<Regex>>,
}

/// Checks a run against the limits and the configured providers (`provider_usable` says
/// why a provider cannot serve a run). The models' own existence is checked against the
/// providers' lists apart (that takes IO).
pub fn check(
    mut input: BenchRunInput,
    provider_usable: impl Fn(&str) -> Result<(), String>,
) -> Result<Plan, Refusal> {
    input.name = input.name.trim().chars().take(120).collect();
    if input.models.is_empty() {
        return Err(refuse("models", "pick at least one model"));
    }
    if input.models.len() > MAX_MODELS {
        return Err(refuse(
            "models",
            format!("at most {MAX_MODELS} models per run"),
        ));
    }
    for (i, m) in input.models.iter_mut().enumerate() {
        *m = m.trim().to_owned();
        check_model(&format!("models[{i}]"), m, &provider_usable)?;
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = input.models.iter().find(|m| !seen.insert(m.as_str())) {
        return Err(refuse("models", format!("'{dup}' is listed twice")));
    }
    if input.prompts.is_empty() {
        return Err(refuse("prompts", "give at least one prompt"));
    }
    if input.prompts.len() > MAX_PROMPTS {
        return Err(refuse(
            "prompts",
            format!("at most {MAX_PROMPTS} prompts per run"),
        ));
    }
    let bytes: usize = input.prompts.iter().map(String::len).sum::<usize>()
        + input
            .expected
            .iter()
            .flatten()
            .map(String::len)
            .sum::<usize>();
    if bytes > MAX_PROMPT_BYTES {
        return Err(refuse(
            "prompts",
            format!(
                "the prompts come to {:.1} MB; at most 10 MB per run",
                bytes as f64 / 1e6
            ),
        ));
    }
    if let Some(i) = input.prompts.iter().position(|p| p.trim().is_empty()) {
        return Err(refuse(
            format!("prompts[{i}]"),
            "a prompt must not be empty",
        ));
    }
    if input.expected.len() > input.prompts.len() {
        return Err(refuse(
            "expected",
            format!(
                "{} expected answers for {} prompts",
                input.expected.len(),
                input.prompts.len()
            ),
        ));
    }
    input.expected.resize(input.prompts.len(), None);
    let mut patterns = vec![None; input.prompts.len()];
    if input.scoring.needs_expected() {
        if input.expected.iter().all(Option::is_none) {
            return Err(refuse(
                "expected",
                format!(
                    "scoring by '{}' needs expected answers",
                    input.scoring.as_str()
                ),
            ));
        }
        if input.scoring == ScoreMethod::Regex {
            for (i, e) in input.expected.iter().enumerate() {
                if let Some(e) = e {
                    let re = regex::RegexBuilder::new(e)
                        .size_limit(1 << 20)
                        .build()
                        .map_err(|err| {
                            refuse(
                                format!("expected[{i}]"),
                                format!("not a valid regex: {err}"),
                            )
                        })?;
                    patterns[i] = Some(re);
                }
            }
        }
    }
    match (&input.scoring, input.judge_model.as_deref().map(str::trim)) {
        (ScoreMethod::Judge, None | Some("")) => {
            return Err(refuse(
                "judge_model",
                "scoring by judge needs a judge model",
            ));
        }
        (ScoreMethod::Judge, Some(j)) => {
            let j = j.to_owned();
            check_model("judge_model", &j, &provider_usable)?;
            input.judge_model = Some(j);
        }
        _ => input.judge_model = None,
    }
    if !(1..=20).contains(&input.repetitions) {
        return Err(refuse("repetitions", "from 1 to 20"));
    }
    if !(1..=16).contains(&input.concurrency) {
        return Err(refuse("concurrency", "from 1 to 16"));
    }
    if !(1..=32_768).contains(&input.max_tokens) {
        return Err(refuse("max_tokens", "from 1 to 32768"));
    }
    if !(0.0..=2.0).contains(&input.temperature) {
        return Err(refuse("temperature", "from 0 to 2"));
    }
    if !(1..=600).contains(&input.timeout_s) {
        return Err(refuse("timeout_s", "from 1 to 600 seconds"));
    }
    if input.name.is_empty() {
        input.name = default_name(&input.models);
    }
    Ok(Plan { input, patterns })
}

fn check_model(
    field: &str,
    name: &str,
    provider_usable: &impl Fn(&str) -> Result<(), String>,
) -> Result<(), Refusal> {
    let Some((provider, _)) = split_model(name) else {
        return Err(refuse(field, format!("'{name}' is not provider/model")));
    };
    provider_usable(provider).map_err(|why| refuse(field, why))
}

/// `gpt-4o vs claude-3 vs llama` (the model parts).
pub fn default_name(models: &[String]) -> String {
    let names: Vec<&str> = models
        .iter()
        .map(|m| split_model(m).map_or(m.as_str(), |(_, model)| model))
        .collect();
    let name = names.join(" vs ");
    name.chars().take(120).collect()
}

/// The score of an answer by a check against its expected answer: 1 or 0; None when the
/// prompt has no expected answer or the method is not a check.
pub fn check_score(
    method: ScoreMethod,
    answer: &str,
    expected: Option<&str>,
    pattern: Option<&Regex>,
) -> Option<f64> {
    let expected = expected?;
    let hit = match method {
        ScoreMethod::Exact => answer.trim() == expected.trim(),
        ScoreMethod::Contains => answer
            .to_lowercase()
            .contains(&expected.trim().to_lowercase()),
        ScoreMethod::Regex => pattern?.is_match(answer),
        ScoreMethod::None | ScoreMethod::Judge => return None,
    };
    Some(if hit { 1.0 } else { 0.0 })
}

/// The judge's fixed rubric: the same for every run, so scores compare across runs.
pub const JUDGE_RUBRIC: &str = "You are grading an AI assistant's answer. Rate it from 0 to 10: \
10 = fully correct, complete and clear; 7 = correct with minor gaps; 4 = partly correct or \
unclear; 1 = mostly wrong; 0 = wrong, empty or off-topic. If a reference answer is given, \
judge correctness against it. Reply with the number only.";

/// The judge's user message for one answer.
pub fn judge_message(prompt: &str, expected: Option<&str>, answer: &str) -> String {
    let mut m = format!("Question:\n{prompt}\n\n");
    if let Some(e) = expected {
        m.push_str(&format!("Reference answer:\n{e}\n\n"));
    }
    m.push_str(&format!("Answer to grade:\n{answer}"));
    m
}

/// The judge's rating as a score from 0 to 1: the first number in its reply, from 0 to 10
/// (`8`, `8/10`, `Score: 7.5`); None when there is none in range.
pub fn judge_score(reply: &str) -> Option<f64> {
    let start = reply.find(|c: char| c.is_ascii_digit())?;
    let digits: String = reply[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let n: f64 = digits.trim_end_matches('.').parse().ok()?;
    (0.0..=10.0).contains(&n).then_some(n / 10.0)
}

/// The nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank.min(sorted.len()) - 1])
}

fn sorted(values: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut v: Vec<f64> = values.filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v
}

/// One model's figures from its answers so far (`total` requests planned). `last` is the
/// most recently finished request; `wall_ms` the time from the run's start to it.
pub fn summarize(
    model: &str,
    total: u32,
    answers: &[&BenchAnswer],
    last: Option<&BenchAnswer>,
    wall_ms: Option<f64>,
) -> BenchModelResult {
    let ok: Vec<&&BenchAnswer> = answers.iter().filter(|a| a.error.is_none()).collect();
    let ttfb = sorted(ok.iter().filter_map(|a| a.ttfb_ms));
    let totals = sorted(ok.iter().map(|a| a.total_ms));
    let speeds = sorted(ok.iter().filter_map(|a| a.tokens_per_s));
    let costs: Vec<f64> = answers.iter().filter_map(|a| a.cost).collect();
    let scores: Vec<f64> = answers.iter().filter_map(|a| a.score).collect();
    BenchModelResult {
        model: model.to_owned(),
        done: answers.len() as u32,
        total,
        errors: (answers.len() - ok.len()) as u32,
        ttfb_p50_ms: percentile(&ttfb, 0.5),
        ttfb_p95_ms: percentile(&ttfb, 0.95),
        total_p50_ms: percentile(&totals, 0.5),
        total_p95_ms: percentile(&totals, 0.95),
        tokens_per_s: percentile(&speeds, 0.5),
        output_tokens: answers.iter().map(|a| a.output_tokens).sum(),
        cost: (!costs.is_empty()).then(|| costs.iter().sum()),
        // A failed request scores 0 when the run scores: an error is a wrong answer.
        quality: (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64),
        last_ttfb_ms: last.and_then(|a| a.ttfb_ms),
        last_tokens_per_s: last.and_then(|a| a.tokens_per_s),
        wall_ms,
    }
}

/// Output tokens per second of generation: after the first byte, when there was a first
/// byte and generation took measurable time.
pub fn tokens_per_s(output_tokens: u64, ttfb_ms: Option<f64>, total_ms: f64) -> Option<f64> {
    let generating = total_ms - ttfb_ms?;
    (output_tokens > 0 && generating >= 1.0).then(|| output_tokens as f64 * 1000.0 / generating)
}

#[cfg(test)]
mod tests {
    use app::types::bench::BenchCategory;

    use super::*;

    fn input() -> BenchRunInput {
        BenchRunInput {
            name: String::new(),
            models: vec!["local/fast".into(), "openai/gpt-4o-mini".into()],
            category: BenchCategory::Reasoning,
            prompts: vec!["2+2?".into(), "Capital of France?".into()],
            expected: vec![Some("4".into())],
            scoring: ScoreMethod::Contains,
            judge_model: Some("local/judge".into()),
            repetitions: 1,
            concurrency: 2,
            max_tokens: 64,
            temperature: 0.0,
            timeout_s: 30,
        }
    }

    fn providers(p: &str) -> Result<(), String> {
        if p == "local" || p == "openai" {
            Ok(())
        } else {
            Err(format!("no provider named '{p}'"))
        }
    }

    fn field(i: BenchRunInput) -> String {
        check(i, providers).unwrap_err().field
    }

    #[test]
    fn a_good_run_is_filled_in() {
        let plan = check(input(), providers).unwrap();
        assert_eq!(plan.input.name, "fast vs gpt-4o-mini");
        assert_eq!(plan.input.expected, vec![Some("4".into()), None]);
        // A judge named without judge scoring is dropped.
        assert_eq!(plan.input.judge_model, None);
    }

    #[test]
    fn refusals_name_the_field() {
        let mut i = input();
        i.models.clear();
        assert_eq!(field(i), "models");
        let mut i = input();
        i.models[1] = "nowhere/x".into();
        assert_eq!(field(i), "models[1]");
        let mut i = input();
        i.models[0] = "noslash".into();
        assert_eq!(field(i), "models[0]");
        let mut i = input();
        i.models[1] = "local/fast".into();
        assert_eq!(field(i), "models");
        let mut i = input();
        i.prompts.clear();
        assert_eq!(field(i), "prompts");
        let mut i = input();
        i.prompts[1] = "  ".into();
        assert_eq!(field(i), "prompts[1]");
        let mut i = input();
        i.prompts = vec!["x".repeat(MAX_PROMPT_BYTES + 1)];
        i.expected.clear();
        assert_eq!(field(i), "prompts");
        let mut i = input();
        i.expected = vec![None; 3];
        assert_eq!(field(i), "expected");
        let mut i = input();
        i.expected.clear();
        assert_eq!(field(i), "expected");
        let mut i = input();
        i.scoring = ScoreMethod::Regex;
        i.expected = vec![Some("(".into())];
        assert_eq!(field(i), "expected[0]");
        let mut i = input();
        i.scoring = ScoreMethod::Judge;
        i.judge_model = None;
        assert_eq!(field(i), "judge_model");
        let mut i = input();
        i.repetitions = 0;
        assert_eq!(field(i), "repetitions");
        let mut i = input();
        i.concurrency = 17;
        assert_eq!(field(i), "concurrency");
        let mut i = input();
        i.max_tokens = 0;
        assert_eq!(field(i), "max_tokens");
        let mut i = input();
        i.temperature = 2.5;
        assert_eq!(field(i), "temperature");
        let mut i = input();
        i.timeout_s = 0;
        assert_eq!(field(i), "timeout_s");
    }

    #[test]
    fn checks_score_exactly() {
        use ScoreMethod as S;
        let re = Regex::new(r"^\s*4\b").unwrap();
        assert_eq!(check_score(S::Exact, " 4\n", Some("4"), None), Some(1.0));
        assert_eq!(check_score(S::Exact, "4.", Some("4"), None), Some(0.0));
        assert_eq!(
            check_score(S::Contains, "It is PARIS.", Some("paris"), None),
            Some(1.0)
        );
        assert_eq!(
            check_score(S::Contains, "Lyon", Some("paris"), None),
            Some(0.0)
        );
        assert_eq!(
            check_score(S::Regex, "4 apples", Some("x"), Some(&re)),
            Some(1.0)
        );
        assert_eq!(
            check_score(S::Regex, "four", Some("x"), Some(&re)),
            Some(0.0)
        );
        assert_eq!(check_score(S::Exact, "4", None, None), None);
        assert_eq!(check_score(S::Judge, "4", Some("4"), None), None);
    }

    #[test]
    fn judge_replies_become_scores() {
        assert_eq!(judge_score("8"), Some(0.8));
        assert_eq!(judge_score("Score: 7.5/10"), Some(0.75));
        assert_eq!(judge_score("10."), Some(1.0));
        assert_eq!(judge_score("0"), Some(0.0));
        assert_eq!(judge_score("eleven"), None);
        assert_eq!(judge_score("42"), None);
        let m = judge_message("2+2?", Some("4"), "four");
        assert!(m.contains("Reference answer:\n4") && m.ends_with("four"));
        assert!(!judge_message("q", None, "a").contains("Reference"));
    }

    fn answer(ttfb: f64, total: f64, tokens: u64, error: bool, score: Option<f64>) -> BenchAnswer {
        BenchAnswer {
            model: "local/fast".into(),
            prompt: 0,
            repetition: 0,
            ttfb_ms: Some(ttfb),
            total_ms: total,
            output_tokens: tokens,
            tokens_per_s: tokens_per_s(tokens, Some(ttfb), total),
            cost: Some(0.001),
            error: error.then(|| "http_500".into()),
            score,
            answer: String::new(),
        }
    }

    #[test]
    fn figures_are_percentiles_of_answered_requests() {
        let a: Vec<BenchAnswer> = (1..=20)
            .map(|i| {
                answer(
                    f64::from(i) * 10.0,
                    f64::from(i) * 100.0,
                    50,
                    false,
                    Some(1.0),
                )
            })
            .chain([answer(1.0, 1.0, 0, true, Some(0.0))])
            .collect();
        let refs: Vec<&BenchAnswer> = a.iter().collect();
        let r = summarize("local/fast", 40, &refs, a.last(), Some(2500.0));
        assert_eq!((r.done, r.total, r.errors), (21, 40, 1));
        assert_eq!(r.ttfb_p50_ms, Some(100.0));
        assert_eq!(r.ttfb_p95_ms, Some(190.0));
        assert_eq!(r.total_p50_ms, Some(1000.0));
        assert_eq!(r.total_p95_ms, Some(1900.0));
        assert_eq!(r.output_tokens, 1000);
        assert!((r.cost.unwrap() - 0.021).abs() < 1e-12);
        assert!((r.quality.unwrap() - 20.0 / 21.0).abs() < 1e-12);
        assert_eq!(r.wall_ms, Some(2500.0));
        assert_eq!(r.last_ttfb_ms, Some(1.0));
        // Speeds are 50 tokens over 90·i ms of generation; the 10th slowest of 20 is i = 11.
        let mid = r.tokens_per_s.unwrap();
        assert!((mid - 50_000.0 / 990.0).abs() < 1e-9, "{mid}");
    }

    #[test]
    fn nothing_measured_is_none() {
        let r = summarize("m", 5, &[], None, None);
        assert_eq!(
            (r.done, r.errors, r.ttfb_p50_ms, r.cost, r.quality),
            (0, 0, None, None, None)
        );
        assert_eq!(tokens_per_s(10, None, 100.0), None);
        assert_eq!(tokens_per_s(0, Some(1.0), 100.0), None);
        assert_eq!(tokens_per_s(10, Some(50.0), 50.5), None);
    }
}
