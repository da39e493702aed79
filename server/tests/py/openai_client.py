"""Drives Sightline's proxy with the real openai SDK. Usage: openai_client.py BASE_URL KEY MODEL.
Prints what the client saw as JSON."""
import json
import sys

import openai

base, key, model = sys.argv[1], sys.argv[2], sys.argv[3]
client = openai.OpenAI(base_url=base, api_key=key, max_retries=0,
                       default_headers={"x-sightline-session": "sdk-session",
                                        "x-sightline-feature": "sdk-test"})
out = {}
msgs = [{"role": "user", "content": "Say hello to my friend please"}]

r = client.chat.completions.create(model=model, messages=msgs)
out["plain"] = {"content": r.choices[0].message.content, "usage": r.usage.prompt_tokens if r.usage else None}

chunks = list(client.chat.completions.create(model=model, messages=msgs, stream=True))
out["stream"] = {
    "content": "".join(c.choices[0].delta.content or "" for c in chunks if c.choices),
    "usage_chunks": sum(1 for c in chunks if getattr(c, "usage", None)),
    "empty_choice_chunks": sum(1 for c in chunks if not c.choices),
}

chunks = list(client.chat.completions.create(model=model, messages=msgs, stream=True,
                                             stream_options={"include_usage": True}))
usage = [c.usage for c in chunks if getattr(c, "usage", None)]
out["stream_with_usage"] = {
    "content": "".join(c.choices[0].delta.content or "" for c in chunks if c.choices),
    "completion_tokens": usage[-1].completion_tokens if usage else None,
}

e = client.embeddings.create(model="text-embedding-3-small", input="hello")
out["embedding_len"] = len(e.data[0].embedding)
out["models"] = [m.id for m in client.models.list()]

try:
    client.chat.completions.create(model="ratelimited-x", messages=msgs)
    out["ratelimited"] = None
except openai.RateLimitError as err:
    out["ratelimited"] = {"status": err.status_code, "message": err.body.get("message") if isinstance(err.body, dict) else str(err.body)}

print(json.dumps(out))
