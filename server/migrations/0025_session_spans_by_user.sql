-- The sessions list filtered by user reads the spans by user, newest first.
CREATE INDEX llm_session_spans_user ON llm_session_spans (user_id, last_call);
