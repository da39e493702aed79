//! The ingest path: every source (native calls and events, OTLP, the proxy) parses at the
//! edge and calls [`service::Ingest`], which validates into [`crate::domain::call::NewCall`]
//! ([`call`], [`events`], [`otlp`], [`text`] are the pure parts) and hands batches to
//! [`pipeline::Pipeline`], which writes them in bulk and acknowledges only after commit and
//! after [`fold`] added them to the rollups. The proxy's records go through [`recorder::Recorder`],
//! which spools them so none is lost after the client has its answer.

pub mod call;
pub mod events;
mod fold;
pub mod otlp;
pub mod otlp_census;
pub mod pipeline;
pub mod recorder;
pub mod service;
pub mod text;
