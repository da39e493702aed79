//! Text made storable (pure). PostgreSQL refuses NUL in `text` and `\u0000` in `jsonb`, and
//! one such byte would fail a whole group commit, so free text loses it (and the other C0
//! controls but tab, line feed and carriage return) at the edge; labels refuse controls in
//! validation instead.

use std::borrow::Cow;

use serde_json::Value;

fn unwanted(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// Free text (an error message) without NUL and other unwanted control characters.
pub fn clean_text(s: &str) -> Cow<'_, str> {
    if s.chars().any(unwanted) {
        Cow::Owned(s.chars().filter(|c| !unwanted(*c)).collect())
    } else {
        Cow::Borrowed(s)
    }
}

/// Every key and string inside `v`, cleaned like [`clean_text`].
pub fn clean_json(v: &mut Value) {
    match v {
        Value::String(s) => {
            if let Cow::Owned(clean) = clean_text(s) {
                *s = clean;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(clean_json),
        Value::Object(map) => {
            if map.keys().any(|k| k.chars().any(unwanted)) {
                let entries = std::mem::take(map);
                for (k, mut val) in entries {
                    clean_json(&mut val);
                    map.insert(clean_text(&k).into_owned(), val);
                }
            } else {
                map.values_mut().for_each(clean_json);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nul_and_controls_go_but_line_breaks_stay() {
        assert_eq!(clean_text("a\0b\u{7}c\nd\te"), "abc\nd\te");
        assert!(matches!(clean_text("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_is_walked_keys_included() {
        let mut v = json!({"a\u{0}": ["x\u{0}y", {"deep": "\u{0}"}], "n": 1});
        clean_json(&mut v);
        assert_eq!(v, json!({"a": ["xy", {"deep": ""}], "n": 1}));
    }
}
