//! What a verified API key may do: its scopes and, for an agent's key, its one host.

use app::types::KeyScope;

/// A valid (not revoked) API key as the request handlers see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyGrant {
    pub id: i64,
    pub name: String,
    pub scopes: Vec<KeyScope>,
    /// Set for a key bound to one host's system samples.
    pub host: Option<String>,
}

impl KeyGrant {
    pub fn allows(&self, scope: KeyScope) -> bool {
        self.scopes.contains(&scope)
    }

    /// Whether this key may report system samples for `host` (host names compare without
    /// case, as DNS does).
    pub fn may_report_for(&self, host: &str) -> bool {
        self.host
            .as_deref()
            .is_none_or(|bound| bound.eq_ignore_ascii_case(host))
    }
}

/// Scopes as stored (`text[]`): unknown names are dropped, so a value written by a newer
/// version grants nothing here rather than failing every request.
pub fn parse_scopes(stored: &[String]) -> Vec<KeyScope> {
    let mut scopes: Vec<KeyScope> = stored.iter().filter_map(|s| KeyScope::parse(s)).collect();
    scopes.sort();
    scopes.dedup();
    scopes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(scopes: &[KeyScope], host: Option<&str>) -> KeyGrant {
        KeyGrant {
            id: 1,
            name: "k".into(),
            scopes: scopes.to_vec(),
            host: host.map(Into::into),
        }
    }

    #[test]
    fn scopes_and_hosts_bound_what_a_key_does() {
        let ingest = grant(&[KeyScope::Ingest], None);
        assert!(ingest.allows(KeyScope::Ingest));
        assert!(!ingest.allows(KeyScope::Read));
        assert!(ingest.may_report_for("anything"));
        let agent = grant(&[KeyScope::Ingest], Some("gpu-01"));
        assert!(agent.may_report_for("GPU-01"));
        assert!(!agent.may_report_for("gpu-02"));
    }

    #[test]
    fn stored_scopes_parse_leniently() {
        let stored = ["read", "ingest", "read", "admin"].map(String::from);
        assert_eq!(
            parse_scopes(&stored),
            vec![KeyScope::Ingest, KeyScope::Read]
        );
    }
}
