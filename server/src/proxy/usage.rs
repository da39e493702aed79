//! Token usage from provider responses, free of IO: whole JSON bodies, or a stream's events
//! tallied one by one. Counts follow Sightline's convention (cached ⊆ input, reasoning ⊆
//! output), whatever the provider's own.

use serde_json::Value;

use app::types::ProviderKind;

use crate::domain::pricing::Usage;

fn n(v: &Value, path: &[&str]) -> Option<u64> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_u64()
}

/// OpenAI's `usage` object (chat, completions, embeddings).
pub fn openai_usage(usage: &Value) -> Option<Usage> {
    if !usage.is_object() {
        return None;
    }
    let input = n(usage, &["prompt_tokens"]).unwrap_or(0);
    let output = n(usage, &["completion_tokens"]).unwrap_or(0);
    Some(Usage {
        input,
        output,
        cached: n(usage, &["prompt_tokens_details", "cached_tokens"])
            .unwrap_or(0)
            .min(input),
        reasoning: n(usage, &["completion_tokens_details", "reasoning_tokens"])
            .unwrap_or(0)
            .min(output),
    })
}

/// Anthropic's `usage`: `input_tokens` excludes cache reads and writes, so they are added.
fn anthropic_usage(usage: &Value, into: &mut Usage) {
    let read = n(usage, &["cache_read_input_tokens"]);
    let write = n(usage, &["cache_creation_input_tokens"]);
    if let Some(i) = n(usage, &["input_tokens"]) {
        into.input = i + read.unwrap_or(0) + write.unwrap_or(0);
    }
    if let Some(r) = read {
        into.cached = r;
    }
    if let Some(o) = n(usage, &["output_tokens"]) {
        // Cumulative in message_delta: assign, never add.
        into.output = o;
    }
}

/// What a complete (non-streamed) response says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub usage: Option<Usage>,
    pub model: Option<String>,
    pub tool_calls: u32,
    /// An error message the body carries.
    pub error: Option<String>,
}

fn error_message(v: &Value) -> Option<String> {
    let e = v.get("error")?;
    Some(
        e.get("message")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| e.to_string()),
    )
}

pub fn summarize_body(kind: ProviderKind, body: &[u8]) -> Summary {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Summary::default();
    };
    let model = v.get("model").and_then(Value::as_str).map(str::to_owned);
    let error = error_message(&v);
    match kind {
        ProviderKind::OpenAi => Summary {
            usage: v.get("usage").and_then(openai_usage),
            model,
            tool_calls: v
                .get("choices")
                .and_then(Value::as_array)
                .map(|cs| {
                    cs.iter()
                        .filter_map(|c| c.pointer("/message/tool_calls")?.as_array())
                        .map(|t| t.len() as u32)
                        .sum()
                })
                .unwrap_or(0),
            error,
        },
        ProviderKind::Anthropic => Summary {
            usage: v.get("usage").map(|u| {
                let mut usage = Usage::default();
                anthropic_usage(u, &mut usage);
                usage
            }),
            model,
            tool_calls: count_tool_use(v.get("content")),
            error,
        },
    }
}

fn count_tool_use(content: Option<&Value>) -> u32 {
    content
        .and_then(Value::as_array)
        .map(|blocks| {
            blocks
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) == Some("tool_use"))
                .count() as u32
        })
        .unwrap_or(0)
}

/// What to do with one event of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    Forward,
    /// The usage-only chunk the proxy asked for and the client did not.
    Hide,
}

/// Running account of a streamed response.
#[derive(Debug, Default)]
pub struct StreamTally {
    kind: Option<ProviderKind>,
    /// The proxy added `stream_options.include_usage`; the usage-only chunk is hidden.
    hide_usage_chunk: bool,
    pub usage: Option<Usage>,
    pub model: Option<String>,
    pub tool_calls: u32,
    pub error: Option<String>,
    /// Characters of generated text seen, for an estimate when no usage arrives.
    pub content_chars: usize,
    /// The stream's proper end was seen (`[DONE]` or `message_stop`).
    pub finished: bool,
    /// The generated text, when asked for ([`StreamTally::keeping_text`]).
    pub text: Option<String>,
}

impl StreamTally {
    pub fn new(kind: ProviderKind, hide_usage_chunk: bool) -> Self {
        Self {
            kind: Some(kind),
            hide_usage_chunk,
            ..Default::default()
        }
    }

    /// Also keeps the generated text (the benchmark runner scores it).
    pub fn keeping_text(mut self) -> Self {
        self.text = Some(String::new());
        self
    }

    fn add_text(&mut self, text: Option<&str>) {
        let Some(t) = text else { return };
        self.content_chars += t.chars().count();
        if let Some(kept) = self.text.as_mut() {
            kept.push_str(t);
        }
    }

    /// Reads one event; says whether the client gets it.
    pub fn observe(&mut self, name: Option<&str>, data: &str) -> Pass {
        if data == "[DONE]" {
            self.finished = true;
            return Pass::Forward;
        }
        let Ok(v) = serde_json::from_str::<Value>(data) else {
            return Pass::Forward;
        };
        if let Some(e) = error_message(&v) {
            self.error = Some(e);
        }
        match self.kind {
            Some(ProviderKind::Anthropic) => {
                self.observe_anthropic(name, &v);
                Pass::Forward
            }
            _ => self.observe_openai(&v),
        }
    }

    fn observe_openai(&mut self, v: &Value) -> Pass {
        if self.model.is_none() {
            self.model = v.get("model").and_then(Value::as_str).map(str::to_owned);
        }
        let choices = v.get("choices").and_then(Value::as_array);
        for c in choices.into_iter().flatten() {
            let text = c
                .pointer("/delta/content")
                .or_else(|| c.get("text"))
                .and_then(Value::as_str);
            self.add_text(text);
            if let Some(calls) = c.pointer("/delta/tool_calls").and_then(Value::as_array) {
                // A tool call's first delta carries its id; later ones only arguments.
                self.tool_calls += calls.iter().filter(|t| t.get("id").is_some()).count() as u32;
            }
        }
        let Some(usage) = v.get("usage").and_then(openai_usage) else {
            return Pass::Forward;
        };
        self.usage = Some(usage);
        let usage_only = choices.is_none_or(|c| c.is_empty());
        if self.hide_usage_chunk && usage_only {
            Pass::Hide
        } else {
            Pass::Forward
        }
    }

    fn observe_anthropic(&mut self, name: Option<&str>, v: &Value) {
        let kind = name.or_else(|| v.get("type").and_then(Value::as_str));
        match kind {
            Some("message_start") => {
                if let Some(m) = v.get("message") {
                    self.model = m.get("model").and_then(Value::as_str).map(str::to_owned);
                    let usage = self.usage.get_or_insert_with(Usage::default);
                    if let Some(u) = m.get("usage") {
                        anthropic_usage(u, usage);
                    }
                }
            }
            Some("message_delta") => {
                if let Some(u) = v.get("usage") {
                    anthropic_usage(u, self.usage.get_or_insert_with(Usage::default));
                }
            }
            Some("content_block_start")
                if v.pointer("/content_block/type").and_then(Value::as_str) == Some("tool_use") =>
            {
                self.tool_calls += 1;
            }
            Some("content_block_delta") => {
                let text = v
                    .pointer("/delta/text")
                    .or_else(|| v.pointer("/delta/thinking"))
                    .and_then(Value::as_str);
                self.add_text(text);
            }
            Some("message_stop") => self.finished = true,
            _ => {}
        }
    }
}

/// Roughly four characters per token for English text: the usual rule of thumb, used only
/// when a server reports no usage, and marked as an estimate.
pub fn estimate_tokens(chars: usize) -> u64 {
    (chars as u64).div_ceil(4)
}

/// Characters of prompt text in a request body (messages, prompt, input), for an estimate.
pub fn prompt_chars(body: &Value) -> usize {
    fn text_len(v: &Value) -> usize {
        match v {
            Value::String(s) => s.chars().count(),
            Value::Array(items) => items.iter().map(text_len).sum(),
            Value::Object(o) => o
                .iter()
                .filter(|(k, _)| matches!(k.as_str(), "content" | "text"))
                .map(|(_, v)| text_len(v))
                .sum(),
            _ => 0,
        }
    }
    ["messages", "prompt", "input", "system"]
        .iter()
        .filter_map(|k| body.get(k))
        .map(text_len)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn openai_bodies_give_usage_model_and_tool_calls() {
        let body = json!({
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"message": {"tool_calls": [{"id": "a"}, {"id": "b"}]}}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 50,
                      "prompt_tokens_details": {"cached_tokens": 40},
                      "completion_tokens_details": {"reasoning_tokens": 10}}
        });
        let s = summarize_body(ProviderKind::OpenAi, body.to_string().as_bytes());
        assert_eq!(
            s.usage,
            Some(Usage {
                input: 100,
                output: 50,
                cached: 40,
                reasoning: 10
            })
        );
        assert_eq!(s.model.as_deref(), Some("gpt-4o-mini-2024-07-18"));
        assert_eq!(s.tool_calls, 2);
        let err = summarize_body(
            ProviderKind::OpenAi,
            br#"{"error":{"message":"bad key","type":"auth"}}"#,
        );
        assert_eq!(err.error.as_deref(), Some("bad key"));
        assert_eq!(
            summarize_body(ProviderKind::OpenAi, b"not json"),
            Summary::default()
        );
    }

    #[test]
    fn anthropic_input_excludes_cache_so_it_is_added() {
        let body = json!({"model": "claude-sonnet-4-5", "content": [{"type": "text"}, {"type": "tool_use"}],
            "usage": {"input_tokens": 10, "cache_read_input_tokens": 300,
                      "cache_creation_input_tokens": 5, "output_tokens": 42}});
        let s = summarize_body(ProviderKind::Anthropic, body.to_string().as_bytes());
        let u = s.usage.unwrap();
        assert_eq!((u.input, u.cached, u.output), (315, 300, 42));
        assert_eq!(s.tool_calls, 1);
    }

    #[test]
    fn openai_stream_usage_in_an_empty_choices_chunk_is_hidden_when_we_asked() {
        let mut t = StreamTally::new(ProviderKind::OpenAi, true);
        let content = json!({"model": "m", "choices": [{"delta": {"content": "Hello"}}]});
        assert_eq!(t.observe(None, &content.to_string()), Pass::Forward);
        let usage = json!({"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 2}});
        assert_eq!(t.observe(None, &usage.to_string()), Pass::Hide);
        assert_eq!(t.observe(None, "[DONE]"), Pass::Forward);
        assert_eq!(t.usage.map(|u| (u.input, u.output)), Some((7, 2)));
        assert_eq!(t.content_chars, 5);
        assert!(t.finished);
        // The client asked for it itself: it is passed on.
        let mut t = StreamTally::new(ProviderKind::OpenAi, false);
        assert_eq!(t.observe(None, &usage.to_string()), Pass::Forward);
    }

    #[test]
    fn usage_on_a_chunk_with_choices_is_read_and_never_hidden() {
        let mut t = StreamTally::new(ProviderKind::OpenAi, true);
        let last = json!({"choices": [{"delta": {"content": "!"}, "finish_reason": "stop"}],
                          "usage": {"prompt_tokens": 3, "completion_tokens": 4}});
        assert_eq!(t.observe(None, &last.to_string()), Pass::Forward);
        assert_eq!(t.usage.map(|u| u.output), Some(4));
    }

    #[test]
    fn no_usage_at_all_leaves_an_estimate_to_the_caller() {
        let mut t = StreamTally::new(ProviderKind::OpenAi, true);
        for word in ["The ", "quick ", "fox"] {
            let c = json!({"choices": [{"delta": {"content": word}}]});
            t.observe(None, &c.to_string());
        }
        t.observe(None, "[DONE]");
        assert_eq!(t.usage, None);
        assert_eq!(estimate_tokens(t.content_chars), 4);
        let req = json!({"messages": [{"role": "user", "content": "abcdefgh"},
                          {"role": "user", "content": [{"type": "text", "text": "ijkl"}]}]});
        assert_eq!(prompt_chars(&req), 12);
    }

    #[test]
    fn anthropic_stream_output_is_cumulative() {
        let mut t = StreamTally::new(ProviderKind::Anthropic, false);
        let start = json!({"type": "message_start", "message": {"model": "claude-x",
            "usage": {"input_tokens": 20, "cache_read_input_tokens": 100, "output_tokens": 1}}});
        t.observe(Some("message_start"), &start.to_string());
        let tool = json!({"type": "content_block_start", "content_block": {"type": "tool_use"}});
        t.observe(Some("content_block_start"), &tool.to_string());
        for out in [5, 9] {
            let d = json!({"type": "message_delta", "usage": {"output_tokens": out}});
            t.observe(Some("message_delta"), &d.to_string());
        }
        t.observe(Some("message_stop"), r#"{"type":"message_stop"}"#);
        let u = t.usage.unwrap();
        assert_eq!((u.input, u.cached, u.output), (120, 100, 9));
        assert_eq!(t.model.as_deref(), Some("claude-x"));
        assert_eq!(t.tool_calls, 1);
        assert!(t.finished);
    }
}
