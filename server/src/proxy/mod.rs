//! The LLM proxy: `/proxy/<provider>/v1/...` forwards OpenAI-compatible and Anthropic
//! Messages requests to a configured upstream, streams the answer back as it arrives, and
//! records each exchange as a call through the ingest service.
//!
//! - [`forward`] is the handler: provider → authenticate → prepare → send → respond.
//! - [`access`] checks the Sightline key and answers errors in the provider's dialect.
//! - [`endpoints`] says which paths are forwarded and which are recorded (pure).
//! - [`rewrite`] filters headers both ways and asks streams for usage (pure).
//! - [`record`] turns an exchange into a call for the ingest service.
//! - [`tap`] passes a streamed answer through and records it when it ends.
//! - [`sse`] cuts event streams into events without changing their bytes.
//! - [`usage`] reads token usage from bodies and stream events (pure).

pub mod access;
pub mod endpoints;
pub mod forward;
pub mod record;
pub mod rewrite;
pub mod sse;
pub mod tap;
pub mod usage;
