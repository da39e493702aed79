"""Exports GenAI spans to Sightline with the real OpenTelemetry Python SDK (OTLP/HTTP,
protobuf, gzip). Usage: otlp_export.py BASE_URL API_KEY. Prints the exported span ids as JSON.
"""
import json
import sys

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

base, key = sys.argv[1], sys.argv[2]
memory = InMemorySpanExporter()
provider = TracerProvider(resource=Resource.create({"service.name": "otel-chatbot"}))
provider.add_span_processor(SimpleSpanProcessor(memory))
tracer = provider.get_tracer("sightline-test")

# The HTTP handler around the calls: a server span, so a request of the service.
with tracer.start_as_current_span(
    "POST /chat",
    kind=trace.SpanKind.SERVER,
    attributes={"http.request.method": "POST", "http.route": "/chat", "http.response.status_code": 200},
):
    with tracer.start_as_current_span("chat gpt-4o-mini") as s:
        s.set_attribute("gen_ai.operation.name", "chat")
        s.set_attribute("gen_ai.provider.name", "openai")
        s.set_attribute("gen_ai.request.model", "gpt-4o-mini")
        s.set_attribute("gen_ai.response.model", "gpt-4o-mini-2024-07-18")
        s.set_attribute("gen_ai.usage.input_tokens", 1200)
        s.set_attribute("gen_ai.usage.output_tokens", 300)
        s.set_attribute("session.id", "otel-session")
        s.set_attribute("user.id", "otel-user")
    with tracer.start_as_current_span("chat claude") as s:
        s.set_attribute("gen_ai.system", "anthropic")
        s.set_attribute("gen_ai.request.model", "claude-3-5-haiku-latest")
        s.set_attribute("gen_ai.usage.prompt_tokens", 50)
        s.set_attribute("gen_ai.usage.completion_tokens", 5)
        s.set_attribute("error.type", "TimeoutError")
        s.set_status(Status(StatusCode.ERROR, "read timed out"))
    with tracer.start_as_current_span("llm") as s:
        s.set_attribute("openinference.span.kind", "LLM")
        s.set_attribute("llm.provider", "mistralai")
        s.set_attribute("llm.model_name", "mistral-small-latest")
        s.set_attribute("llm.token_count.prompt", 80)
        s.set_attribute("llm.token_count.completion", 20)

spans = memory.get_finished_spans()
exporter = OTLPSpanExporter(
    endpoint=f"{base}/v1/traces",
    headers={"authorization": f"Bearer {key}"},
    compression=Compression.Gzip,
)
result = exporter.export(spans)
if result != SpanExportResult.SUCCESS:
    sys.exit(f"export failed: {result}")
print(json.dumps({s.name: format(s.context.span_id, "016x") for s in spans}))
