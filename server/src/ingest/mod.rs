//! The ingest pipeline: every source (native calls and events, OTLP, the proxy) parses and
//! validates at the edge into [`call::NewCall`], then hands batches to
//! [`pipeline::Pipeline`], which writes them in bulk and acknowledges only after commit.

pub mod call;
pub mod events;
pub mod otlp;
pub mod pipeline;
