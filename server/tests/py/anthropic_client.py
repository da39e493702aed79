"""Drives Sightline's proxy with the real anthropic SDK. Usage: anthropic_client.py BASE_URL KEY.
Prints what the client saw as JSON."""
import json
import sys

import anthropic

base, key = sys.argv[1], sys.argv[2]
client = anthropic.Anthropic(base_url=base, api_key=key, max_retries=0)
out = {}
msgs = [{"role": "user", "content": "Say hello"}]

m = client.messages.create(model="claude-3-5-haiku-latest", max_tokens=50, messages=msgs)
out["plain"] = {"text": m.content[0].text, "output_tokens": m.usage.output_tokens}

events = []
with client.messages.stream(model="claude-3-5-haiku-latest", max_tokens=50, messages=msgs) as s:
    for ev in s:
        events.append(ev.type)
    final = s.get_final_message()
out["stream"] = {
    "text": final.content[0].text,
    "output_tokens": final.usage.output_tokens,
    "saw_message_start": "message_start" in events,
    "saw_message_stop": "message_stop" in events,
}
print(json.dumps(out))
