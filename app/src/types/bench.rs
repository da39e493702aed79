//! Model benchmark runs on the wire: what a run asks for, its live progress, and its results.
//! A model is named `provider/model`, the provider being one configured for the proxy.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Most prompts in one run.
pub const MAX_PROMPTS: usize = 1000;
/// Most prompt text in one run, in bytes (an uploaded prompt file included).
pub const MAX_PROMPT_BYTES: usize = 10 * 1024 * 1024;
/// Most models compared in one run.
pub const MAX_MODELS: usize = 10;

/// What the prompts are about; kept with the run for comparing like with like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BenchCategory {
    #[default]
    Coding,
    Reasoning,
    CreativeWriting,
    Analysis,
}

impl BenchCategory {
    pub const ALL: [BenchCategory; 4] = [
        BenchCategory::Coding,
        BenchCategory::Reasoning,
        BenchCategory::CreativeWriting,
        BenchCategory::Analysis,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BenchCategory::Coding => "coding",
            BenchCategory::Reasoning => "reasoning",
            BenchCategory::CreativeWriting => "creative_writing",
            BenchCategory::Analysis => "analysis",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            BenchCategory::Coding => "Coding",
            BenchCategory::Reasoning => "Reasoning",
            BenchCategory::CreativeWriting => "Creative writing",
            BenchCategory::Analysis => "Analysis",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// How an answer is scored. The checks compare with the prompt's expected answer (after
/// trimming); `judge` asks a judge model to rate the answer from 0 to 10 with a fixed rubric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ScoreMethod {
    /// No quality score.
    #[default]
    None,
    /// The answer equals the expected answer.
    Exact,
    /// The answer contains the expected answer, ignoring case.
    Contains,
    /// The expected answer is a regular expression the answer matches.
    Regex,
    /// A judge model rates the answer.
    Judge,
}

impl ScoreMethod {
    pub const ALL: [ScoreMethod; 5] = [
        ScoreMethod::None,
        ScoreMethod::Exact,
        ScoreMethod::Contains,
        ScoreMethod::Regex,
        ScoreMethod::Judge,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ScoreMethod::None => "none",
            ScoreMethod::Exact => "exact",
            ScoreMethod::Contains => "contains",
            ScoreMethod::Regex => "regex",
            ScoreMethod::Judge => "judge",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ScoreMethod::None => "No score",
            ScoreMethod::Exact => "Exact match",
            ScoreMethod::Contains => "Contains",
            ScoreMethod::Regex => "Regular expression",
            ScoreMethod::Judge => "Judge model",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// Whether the method compares with expected answers.
    pub fn needs_expected(self) -> bool {
        matches!(
            self,
            ScoreMethod::Exact | ScoreMethod::Contains | ScoreMethod::Regex
        )
    }
}

fn one() -> u32 {
    1
}

fn two() -> u32 {
    2
}

fn default_max_tokens() -> u32 {
    512
}

fn default_timeout() -> u32 {
    120
}

/// `POST /api/v1/benchmarks`: a run to start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BenchRunInput {
    /// A name for the run; one is made from the models when empty.
    #[serde(default)]
    pub name: String,
    /// The models to compare, as `provider/model` (the provider as configured for the proxy).
    pub models: Vec<String>,
    #[serde(default)]
    pub category: BenchCategory,
    /// The prompts, each sent as one user message.
    pub prompts: Vec<String>,
    /// Expected answers, one per prompt (null or missing for none).
    #[serde(default)]
    pub expected: Vec<Option<String>>,
    #[serde(default)]
    pub scoring: ScoreMethod,
    /// The judge, as `provider/model`, when scoring is `judge`.
    #[serde(default)]
    pub judge_model: Option<String>,
    /// How often each prompt is sent to each model (1–20).
    #[serde(default = "one")]
    pub repetitions: u32,
    /// Requests in flight per model at most (1–16).
    #[serde(default = "two")]
    pub concurrency: u32,
    /// The output cap of each request (1–32768).
    #[serde(default = "default_max_tokens")]
    pub max_tokens: u32,
    /// Sampling temperature (0–2).
    #[serde(default)]
    pub temperature: f64,
    /// Seconds a request may take before it counts as failed (1–600).
    #[serde(default = "default_timeout")]
    pub timeout_s: u32,
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BenchStatus {
    Running,
    Done,
    Cancelled,
    /// The server stopped while the run was going.
    Interrupted,
}

impl BenchStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BenchStatus::Running => "running",
            BenchStatus::Done => "done",
            BenchStatus::Cancelled => "cancelled",
            BenchStatus::Interrupted => "interrupted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "running" => Some(BenchStatus::Running),
            "done" => Some(BenchStatus::Done),
            "cancelled" => Some(BenchStatus::Cancelled),
            "interrupted" => Some(BenchStatus::Interrupted),
            _ => None,
        }
    }
}

/// One model's figures in a run, so far or in all. Times in milliseconds; `None` where
/// nothing was measured yet (or no request succeeded).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BenchModelResult {
    /// `provider/model`.
    pub model: String,
    /// Requests finished (answered or failed).
    pub done: u32,
    pub total: u32,
    pub errors: u32,
    /// Time to the first byte of the answer.
    pub ttfb_p50_ms: Option<f64>,
    pub ttfb_p95_ms: Option<f64>,
    /// Time to the end of the answer.
    pub total_p50_ms: Option<f64>,
    pub total_p95_ms: Option<f64>,
    /// Output tokens per second of generation (after the first byte), the median over
    /// answered requests.
    pub tokens_per_s: Option<f64>,
    pub output_tokens: u64,
    /// USD at the prices in force; None when the model has no price.
    pub cost: Option<f64>,
    /// Mean quality score from 0 to 1; None without scoring.
    pub quality: Option<f64>,
    /// The last finished request's time to first byte and tokens per second (live).
    pub last_ttfb_ms: Option<f64>,
    pub last_tokens_per_s: Option<f64>,
    /// From the run's start to this model's last answer.
    pub wall_ms: Option<f64>,
}

/// A run as listed and as streamed live (topic `benchmarks`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BenchRunSummary {
    pub id: i64,
    pub name: String,
    pub category: BenchCategory,
    pub scoring: ScoreMethod,
    pub status: BenchStatus,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// From start to the last answer, or to now while running.
    pub wall_ms: Option<f64>,
    pub prompts: u32,
    pub repetitions: u32,
    pub models: Vec<BenchModelResult>,
}

/// One request of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BenchAnswer {
    pub model: String,
    /// The prompt's position in the run's list, from 0.
    pub prompt: u32,
    pub repetition: u32,
    pub ttfb_ms: Option<f64>,
    pub total_ms: f64,
    pub output_tokens: u64,
    pub tokens_per_s: Option<f64>,
    pub cost: Option<f64>,
    /// Why the request failed; None when it was answered.
    pub error: Option<String>,
    /// From 0 to 1; None without scoring.
    pub score: Option<f64>,
    /// The answer's text (at most 4000 characters kept).
    pub answer: String,
}

/// `GET /api/v1/benchmarks/{id}`: a run with what it asked and every answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BenchRunDetail {
    pub run: BenchRunSummary,
    pub input: BenchRunInput,
    pub answers: Vec<BenchAnswer>,
}

/// `GET /api/v1/benchmarks/models`: the models the configured providers offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BenchModels {
    /// `provider/model`, sorted.
    pub models: Vec<String>,
    /// Providers whose list could not be read, with why.
    pub unavailable: Vec<ProviderModelsError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProviderModelsError {
    pub provider: String,
    pub message: String,
}

/// Prompts from a file: JSON Lines (`{"prompt": "...", "expected": "..."}` or a JSON string
/// per line) or plain text, one prompt per line. Blank lines are skipped. Errors name the
/// line (from 1).
pub fn parse_prompt_file(text: &str) -> Result<Vec<(String, Option<String>)>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('{') {
            let v: serde_json::Value = serde_json::from_str(line)
                .map_err(|e| format!("line {}: not valid JSON: {e}", i + 1))?;
            let prompt = v
                .get("prompt")
                .and_then(|p| p.as_str())
                .ok_or_else(|| format!("line {}: needs a \"prompt\" string", i + 1))?;
            let expected = match v.get("expected") {
                None | Some(serde_json::Value::Null) => None,
                Some(serde_json::Value::String(s)) => Some(s.clone()),
                Some(_) => return Err(format!("line {}: \"expected\" must be a string", i + 1)),
            };
            out.push((prompt.to_owned(), expected));
        } else if line.starts_with('"') {
            let s: String = serde_json::from_str(line)
                .map_err(|e| format!("line {}: not a valid JSON string: {e}", i + 1))?;
            out.push((s, None));
        } else {
            out.push((line.to_owned(), None));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_files_take_jsonl_strings_and_plain_lines() {
        let text = "{\"prompt\": \"2+2?\", \"expected\": \"4\"}\n\n\"say \\\"hi\\\"\"\nplain line \n{\"prompt\": \"x\"}";
        let got = parse_prompt_file(text).unwrap();
        assert_eq!(
            got,
            vec![
                ("2+2?".to_owned(), Some("4".to_owned())),
                ("say \"hi\"".to_owned(), None),
                ("plain line".to_owned(), None),
                ("x".to_owned(), None),
            ]
        );
    }

    #[test]
    fn prompt_file_errors_name_the_line() {
        let e = parse_prompt_file("ok\n{\"expected\": \"4\"}").unwrap_err();
        assert!(e.starts_with("line 2:"), "{e}");
        let e = parse_prompt_file("{bad json").unwrap_err();
        assert!(e.starts_with("line 1:"), "{e}");
        let e = parse_prompt_file("{\"prompt\": \"a\", \"expected\": 4}").unwrap_err();
        assert!(e.contains("expected"), "{e}");
    }

    #[test]
    fn names_round_trip() {
        for c in BenchCategory::ALL {
            assert_eq!(BenchCategory::parse(c.as_str()), Some(c));
        }
        for m in ScoreMethod::ALL {
            assert_eq!(ScoreMethod::parse(m.as_str()), Some(m));
        }
        assert!(ScoreMethod::Regex.needs_expected());
        assert!(!ScoreMethod::Judge.needs_expected());
    }
}
