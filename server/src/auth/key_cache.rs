//! Recently verified API keys, so hot paths (the proxy, ingest) skip a database round trip
//! per request. Entries live briefly and revoking any key clears this process's cache at
//! once; another replica notices within [`TTL`].

use crate::domain::grant::KeyGrant;
use std::{
    collections::HashMap,
    sync::RwLock,
    time::{Duration, Instant},
};

pub const TTL: Duration = Duration::from_secs(10);
/// Distinct keys remembered at most; past it the cache starts over.
const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
pub struct KeyCache {
    entries: RwLock<HashMap<Vec<u8>, (KeyGrant, Instant)>>,
}

impl KeyCache {
    /// The grant for a digest verified less than [`TTL`] ago.
    pub fn get(&self, digest: &[u8], now: Instant) -> Option<KeyGrant> {
        let map = self.entries.read().unwrap_or_else(|p| p.into_inner());
        map.get(digest)
            .filter(|(_, at)| now.duration_since(*at) < TTL)
            .map(|(grant, _)| grant.clone())
    }

    pub fn insert(&self, digest: Vec<u8>, grant: KeyGrant, now: Instant) {
        let mut map = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(digest, (grant, now));
    }

    pub fn clear(&self) {
        self.entries
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_clear() {
        let c = KeyCache::default();
        let t = Instant::now();
        let grant = KeyGrant {
            id: 7,
            name: "k".into(),
            scopes: vec![app::types::KeyScope::Ingest],
            host: None,
        };
        c.insert(vec![1], grant.clone(), t);
        assert_eq!(c.get(&[1], t + Duration::from_secs(1)), Some(grant));
        assert_eq!(c.get(&[1], t + TTL), None);
        assert_eq!(c.get(&[2], t), None);
        c.clear();
        assert_eq!(c.get(&[1], t), None);
    }
}
