//! Live topics over one `EventSource` (`/api/v1/stream`). The browser reconnects by itself;
//! every (re)connection starts with `ready`, and a lagging one gets `resync`: both tell the
//! page to reload what it shows, since events in between may be lost.

use crate::types::live::Topic;

/// What a page hears on a topic.
pub enum LiveMessage<P> {
    /// The topic's payload.
    Data(P),
    /// (Re)connected or lagged: reload the current view.
    Resync,
}

/// Subscribes to topic `T` for as long as the current reactive owner lives (the stream is
/// closed on cleanup). Does nothing during server rendering.
pub fn subscribe<T: Topic + 'static>(on_message: impl Fn(LiveMessage<T::Payload>) + 'static) {
    #[cfg(feature = "hydrate")]
    hydrate::subscribe::<T>(on_message);
    #[cfg(not(feature = "hydrate"))]
    let _ = on_message;
}

#[cfg(feature = "hydrate")]
mod hydrate {
    use super::{LiveMessage, Topic};
    use futures_util::{stream::select_all, StreamExt};
    use gloo_net::eventsource::futures::EventSource;
    use leptos::prelude::*;
    use send_wrapper::SendWrapper;

    pub fn subscribe<T: Topic + 'static>(on_message: impl Fn(LiveMessage<T::Payload>) + 'static) {
        let topic = T::NAME;
        let Ok(mut es) = EventSource::new(&format!("/api/v1/stream?topics={topic}")) else {
            return;
        };
        let subs: Vec<_> = [topic, "ready", "resync"]
            .into_iter()
            .filter_map(|t| es.subscribe(t).ok())
            .collect();
        let mut events = select_all(subs);
        leptos::task::spawn_local(async move {
            while let Some(item) = events.next().await {
                // Connection errors are followed by the browser's own reconnect.
                let Ok((kind, msg)) = item else { continue };
                if kind == topic {
                    // A payload this build cannot read is skipped; the next resync reloads.
                    let payload = msg
                        .data()
                        .as_string()
                        .and_then(|text| serde_json::from_str::<T::Payload>(&text).ok());
                    if let Some(p) = payload {
                        on_message(LiveMessage::Data(p));
                    }
                } else {
                    on_message(LiveMessage::Resync);
                }
            }
        });
        let es = SendWrapper::new(es);
        on_cleanup(move || es.take().close());
    }
}
