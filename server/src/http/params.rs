//! Query parameters at the edge: [`ApiQuery`] deserialises an endpoint's query struct from
//! `app::types` and answers a bad value with a 400 that names the parameter; [`RangeParams`],
//! [`Limit`] and [`Cursor`] are the parts many endpoints share.

use axum::{extract::FromRequestParts, http::request::Parts};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Duration, Utc};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// The longest range any query may cover.
pub const MAX_RANGE_DAYS: i64 = 400;

/// A query string deserialised into `T`; a bad parameter is a 400 naming it.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parse_query(parts.uri.query().unwrap_or("")).map(ApiQuery)
    }
}

/// Deserialises a raw query string, tracking which parameter failed. (A NUL never gets
/// here: the router refuses it for every route.)
pub fn parse_query<T: DeserializeOwned>(raw: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(raw.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        let field = if field == "." {
            "query".to_owned()
        } else {
            field
        };
        let message = format!("{field}: {}", e.inner());
        ApiError::bad_param(&field, message)
    })
}

/// `from`/`to` (RFC 3339), or `range` back from `to` (or now).
#[derive(Debug, Clone, Default)]
pub struct RangeParams {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub range: Option<String>,
}

impl RangeParams {
    pub fn new(
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        range: Option<String>,
    ) -> Self {
        RangeParams { from, to, range }
    }

    /// The range, `default` long when neither `from` nor `range` is given. A range longer
    /// than [`MAX_RANGE_DAYS`] is refused.
    pub fn resolve(
        &self,
        default: Duration,
        now: DateTime<Utc>,
    ) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
        if self.from.is_some() && self.range.is_some() {
            return Err(ApiError::bad_param(
                "range",
                "give either range or from/to, not both",
            ));
        }
        let to = self.to.unwrap_or(now);
        let from = match (self.from, &self.range) {
            (Some(f), _) => f,
            (None, Some(r)) => to - parse_look_back("range", r)?,
            (None, None) => to - default,
        };
        if from >= to {
            return Err(ApiError::bad_param("from", "from must be before to"));
        }
        if to - from > Duration::days(MAX_RANGE_DAYS) {
            return Err(ApiError::bad_param(
                "from",
                format!("a range covers at most {MAX_RANGE_DAYS} days"),
            ));
        }
        Ok((from, to))
    }
}

/// A look-back like `15m`, `24h` or `7d` (at most [`MAX_RANGE_DAYS`]).
pub fn parse_since(raw: &str) -> Option<Duration> {
    let unit_at = raw.len().checked_sub(1)?;
    if !raw.is_char_boundary(unit_at) {
        return None;
    }
    let (n, unit) = raw.split_at(unit_at);
    let n: i64 = n
        .parse()
        .ok()
        .filter(|n| (1..=MAX_RANGE_DAYS * 24 * 60).contains(n))?;
    let d = match unit {
        "m" => Duration::try_minutes(n)?,
        "h" => Duration::try_hours(n)?,
        "d" => Duration::try_days(n)?,
        _ => return None,
    };
    (d <= Duration::days(MAX_RANGE_DAYS)).then_some(d)
}

/// [`parse_since`] with a 400 naming `field`.
pub fn parse_look_back(field: &str, raw: &str) -> Result<Duration, ApiError> {
    parse_since(raw).ok_or_else(|| {
        ApiError::bad_param(
            field,
            format!(
                "{field} must be a number and a unit (15m, 24h, 7d), at most {MAX_RANGE_DAYS} days"
            ),
        )
    })
}

/// The `limit` parameter: 1 to `max`, `default` when absent.
#[derive(Debug, Clone, Copy)]
pub struct Limit(pub Option<u32>);

impl Limit {
    pub fn resolve(self, default: i64, max: i64) -> Result<i64, ApiError> {
        match self.0 {
            None => Ok(default),
            Some(n) if (1..=max).contains(&i64::from(n)) => Ok(i64::from(n)),
            Some(_) => Err(ApiError::bad_param(
                "limit",
                format!("limit must be an integer from 1 to {max}"),
            )),
        }
    }
}

/// The `cursor` of a paged list: where the previous page ended, as (time, id).
#[derive(Debug, Clone)]
pub struct Cursor;

impl Cursor {
    pub fn encode(time: DateTime<Utc>, id: &str) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}|{id}", time.timestamp_micros()))
    }

    pub fn decode(raw: &str) -> Option<(DateTime<Utc>, String)> {
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(raw).ok()?).ok()?;
        let (micros, id) = text.split_once('|')?;
        Some((
            DateTime::from_timestamp_micros(micros.parse().ok()?)?,
            id.to_owned(),
        ))
    }

    /// The optional `cursor` parameter, decoded; a 400 when it is not one this API made.
    pub fn param(raw: Option<&str>) -> Result<Option<(DateTime<Utc>, String)>, ApiError> {
        raw.map(|c| {
            Self::decode(c)
                .ok_or_else(|| ApiError::bad_param("cursor", "cursor is not one this API returned"))
        })
        .transpose()
    }
}

/// Cuts a page from rows read with `limit + 1`: the extra row only says that another page
/// exists, and the cursor points after the last row kept.
pub fn page<T>(
    mut rows: Vec<T>,
    limit: i64,
    key: impl Fn(&T) -> (DateTime<Utc>, &str),
) -> (Vec<T>, Option<String>) {
    if rows.len() as i64 <= limit {
        return (rows, None);
    }
    rows.truncate(limit.max(0) as usize);
    let next = rows.last().map(|r| {
        let (time, id) = key(r);
        Cursor::encode(time, id)
    });
    (rows, next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::types::CallListQuery;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let t = DateTime::from_timestamp_micros(1_763_000_000_123_456).unwrap();
        let c = Cursor::encode(t, "id|with|bars");
        assert_eq!(Cursor::decode(&c), Some((t, "id|with|bars".to_owned())));
        assert_eq!(Cursor::decode("!!!"), None);
        assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode("nope")), None);
    }

    #[test]
    fn pages_end_with_a_cursor_only_when_more_rows_exist() {
        let t = DateTime::from_timestamp_micros(1_000_000).unwrap();
        let rows = vec![(t, "a"), (t, "b"), (t, "c")];
        let (kept, next) = page(rows.clone(), 2, |r| (r.0, r.1));
        assert_eq!(kept.len(), 2);
        assert_eq!(Cursor::decode(&next.unwrap()), Some((t, "b".to_owned())));
        let (kept, next) = page(rows, 3, |r| (r.0, r.1));
        assert_eq!((kept.len(), next), (3, None));
    }

    #[test]
    fn look_backs_parse() {
        assert_eq!(parse_since("15m"), Some(Duration::minutes(15)));
        assert_eq!(parse_since("7d"), Some(Duration::days(7)));
        for bad in [
            "",
            "h",
            "0h",
            "-1h",
            "3w",
            "1000d",
            "1.5h",
            "1é",
            "99999999999999999d",
        ] {
            assert_eq!(parse_since(bad), None, "{bad}");
        }
    }

    #[test]
    fn query_errors_name_the_parameter() {
        let q: CallListQuery = parse_query("model=gpt&status=&limit=5").unwrap();
        assert_eq!(q.model.as_deref(), Some("gpt"));
        assert_eq!(q.status, None);
        assert_eq!(q.limit, Some(5));
        for (raw, field) in [
            ("status=meh", "status"),
            ("limit=x", "limit"),
            ("from=yesterday", "from"),
        ] {
            let e = parse_query::<CallListQuery>(raw).unwrap_err();
            assert_eq!(e.field.as_deref(), Some(field), "{raw}: {}", e.message);
            assert_eq!(e.status, 400);
        }
    }

    #[test]
    fn ranges_are_bounded() {
        let now = Utc::now();
        let r = RangeParams {
            range: Some("7d".into()),
            ..Default::default()
        };
        assert_eq!(
            r.resolve(Duration::days(1), now).unwrap(),
            (now - Duration::days(7), now)
        );
        let long = RangeParams {
            from: Some(now - Duration::days(500)),
            ..Default::default()
        };
        assert_eq!(
            long.resolve(Duration::days(1), now)
                .unwrap_err()
                .field
                .as_deref(),
            Some("from")
        );
    }
}
