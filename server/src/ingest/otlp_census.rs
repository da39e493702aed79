//! A count of what an OTLP protobuf export holds, read from the wire format before it is
//! decoded (pure). Decoding allocates a struct for every span, attribute and nested value,
//! so a small body of many empty ones (a gzip bomb inflates to millions) would cost
//! gigabytes; walking the length-delimited fields costs nothing and lets the handler refuse
//! such a body first.

/// The messages of `ExportTraceServiceRequest` that can repeat, and where they nest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Msg {
    Request,
    ResourceSpans,
    Resource,
    ScopeSpans,
    Scope,
    Span,
    Event,
    Link,
    KeyValue,
    AnyValue,
    ArrayValue,
    KeyValueList,
}

/// The message a length-delimited field holds, for the fields that nest repeated messages.
fn child(parent: Msg, field: u64) -> Option<Msg> {
    use Msg::*;
    Some(match (parent, field) {
        (Request, 1) => ResourceSpans,
        (ResourceSpans, 1) => Resource,
        (ResourceSpans, 2) => ScopeSpans,
        (Resource, 1) => KeyValue,
        (ScopeSpans, 1) => Scope,
        (ScopeSpans, 2) => Span,
        (Scope, 3) => KeyValue,
        (Span, 9) => KeyValue,
        (Span, 11) => Event,
        (Span, 13) => Link,
        (Event, 3) => KeyValue,
        (Link, 4) => KeyValue,
        (KeyValue, 2) => AnyValue,
        (AnyValue, 5) => ArrayValue,
        (AnyValue, 6) => KeyValueList,
        (ArrayValue, 1) => AnyValue,
        (KeyValueList, 1) => KeyValue,
        _ => return None,
    })
}

/// What the export holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Census {
    pub spans: usize,
    /// Every nested message: spans, attributes, values, events, links, resources, scopes.
    pub messages: usize,
}

/// Why the body was refused before decoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CensusError {
    #[error("not valid protobuf: {0}")]
    Malformed(&'static str),
    #[error("more than {0} spans")]
    TooManySpans(usize),
    #[error("more than {0} nested values (attributes, events, links)")]
    TooManyMessages(usize),
    #[error("values nested deeper than {0}")]
    TooDeep(usize),
}

/// Limits a census enforces as it goes, so it stops at the first excess.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub spans: usize,
    pub messages: usize,
    pub depth: usize,
}

fn varint(buf: &[u8], pos: &mut usize) -> Result<u64, CensusError> {
    let mut v: u64 = 0;
    for shift in (0..64).step_by(7) {
        let b = *buf
            .get(*pos)
            .ok_or(CensusError::Malformed("truncated varint"))?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(CensusError::Malformed("varint too long"))
}

fn skip(buf: &[u8], pos: &mut usize, n: u64) -> Result<(), CensusError> {
    let end = usize::try_from(n)
        .ok()
        .and_then(|n| pos.checked_add(n))
        .filter(|end| *end <= buf.len())
        .ok_or(CensusError::Malformed("field runs past the end"))?;
    *pos = end;
    Ok(())
}

fn walk(
    buf: &[u8],
    msg: Msg,
    depth: usize,
    limits: &Limits,
    out: &mut Census,
) -> Result<(), CensusError> {
    if depth > limits.depth {
        return Err(CensusError::TooDeep(limits.depth));
    }
    let mut pos = 0;
    while pos < buf.len() {
        let tag = varint(buf, &mut pos)?;
        let (field, wire) = (tag >> 3, tag & 7);
        match wire {
            0 => {
                varint(buf, &mut pos)?;
            }
            1 => skip(buf, &mut pos, 8)?,
            5 => skip(buf, &mut pos, 4)?,
            2 => {
                let len = varint(buf, &mut pos)?;
                let start = pos;
                skip(buf, &mut pos, len)?;
                if let Some(inner) = child(msg, field) {
                    out.messages += 1;
                    if out.messages > limits.messages {
                        return Err(CensusError::TooManyMessages(limits.messages));
                    }
                    if inner == Msg::Span {
                        out.spans += 1;
                        if out.spans > limits.spans {
                            return Err(CensusError::TooManySpans(limits.spans));
                        }
                    }
                    walk(&buf[start..pos], inner, depth + 1, limits, out)?;
                }
            }
            _ => return Err(CensusError::Malformed("unsupported wire type")),
        }
    }
    Ok(())
}

/// Counts the spans and nested messages of an encoded `ExportTraceServiceRequest`,
/// stopping at the first limit passed.
pub fn census(buf: &[u8], limits: &Limits) -> Result<Census, CensusError> {
    let mut out = Census::default();
    walk(buf, Msg::Request, 0, limits, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::{
        collector::trace::v1::ExportTraceServiceRequest,
        common::v1::{any_value, AnyValue, ArrayValue, KeyValue},
        trace::v1::{ResourceSpans, ScopeSpans, Span},
    };
    use prost::Message;

    const LIMITS: Limits = Limits {
        spans: 10,
        messages: 100,
        depth: 16,
    };

    fn request(spans: Vec<Span>) -> Vec<u8> {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
        .encode_to_vec()
    }

    fn attr(key: &str) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue("v".into())),
            }),
        }
    }

    #[test]
    fn counts_what_decoding_would_build() {
        let span = Span {
            name: "chat".into(),
            attributes: vec![attr("a"), attr("b")],
            ..Default::default()
        };
        let c = census(&request(vec![span.clone(), span]), &LIMITS).unwrap();
        assert_eq!(c.spans, 2);
        // 1 resource-spans + 1 scope-spans + 2 spans + 4 attributes + 4 values.
        assert_eq!(c.messages, 12);
    }

    #[test]
    fn stops_at_the_first_excess() {
        let many = vec![Span::default(); 11];
        assert_eq!(
            census(&request(many), &LIMITS),
            Err(CensusError::TooManySpans(10))
        );
        let wide = Span {
            attributes: (0..60).map(|i| attr(&i.to_string())).collect(),
            ..Default::default()
        };
        assert_eq!(
            census(&request(vec![wide]), &LIMITS),
            Err(CensusError::TooManyMessages(100))
        );
        let mut deep = AnyValue::default();
        for _ in 0..20 {
            deep = AnyValue {
                value: Some(any_value::Value::ArrayValue(ArrayValue {
                    values: vec![deep],
                })),
            };
        }
        let nested = Span {
            attributes: vec![KeyValue {
                key: "k".into(),
                value: Some(deep),
            }],
            ..Default::default()
        };
        assert_eq!(
            census(&request(vec![nested]), &LIMITS),
            Err(CensusError::TooDeep(16))
        );
    }

    #[test]
    fn garbage_is_refused_not_panicked_on() {
        for bad in [&[0x0a, 0xff][..], &[0x0a], &[0xff; 11], &[0x0b, 0x00]] {
            assert!(census(bad, &LIMITS).is_err(), "{bad:?}");
        }
        assert_eq!(census(&[], &LIMITS), Ok(Census::default()));
    }
}
