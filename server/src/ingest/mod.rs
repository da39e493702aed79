//! The ingest pipeline: every source (native JSON now; OTLP and the proxy next) parses and
//! validates at the edge into [`call::NewCall`], then hands batches to
//! [`pipeline::Pipeline`], which writes them in bulk and acknowledges only after commit.

pub mod call;
pub mod pipeline;
