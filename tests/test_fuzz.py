"""Fuzzing the HTTP API from its own OpenAPI schema (schemathesis + hypothesis, in-process ASGI).

At least 1,000 generated requests over every operation, valid (positive) and invalid (negative) inputs, each
response validated with every schemathesis check (`--checks all`: no server error, status codes, content types,
headers and bodies as documented, valid data accepted, invalid data rejected, ...): no response is a 5xx, every
4xx is JSON with a non-empty `message` (on the OpenAI-compatible /v1 routes: OpenAI's
`{"error": {"message", "type", "param", "code"}}`), every response matches the schema.
The admin endpoint is fuzzed too (a token is configured; generated Authorization headers never match it).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks

from assistant.api import create_app
from assistant.config import Settings
from assistant.schemas import AskResponse

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "fuzz-admin-token-not-guessable-0123456789"
MIN_REQUESTS = 1000
# Examples per (mode, operation). /ask runs the whole pipeline (~50-200 ms per valid question on 2 cores), so
# it gets fewer valid examples than the cheap catalog endpoints; invalid /ask bodies stop at validation.
EXAMPLES = {
    ("positive", "POST /ask"): 100,
    ("negative", "POST /ask"): 200,
    ("positive", "POST /admin/reindex"): 100,
    ("positive", "POST /v1/chat/completions"): 60,
    ("negative", "POST /v1/chat/completions"): 150,
}
DEFAULT_EXAMPLES = {"positive": 150, "negative": 100}
OPERATIONS = [
    "POST /ask",
    "GET /health",
    "GET /documents",
    "GET /measures",
    "GET /measures/{measure_id}",
    "GET /kpis",
    "POST /admin/reindex",
    "POST /v1/chat/completions",
    "GET /v1/models",
    "GET /v1/models/{model}",
    "GET /documents/{doc_id}/passage",
    "POST /feedback",
    "GET /feedback",
    "GET /conversations/{conversation_id}",
    "PUT /conversations/{conversation_id}/turns/{position}",
]


@pytest.fixture(scope="module")
def schema(built_data_dir: Path):
    # one test client sends every request: the per-client rate limit (tests/test_admission.py) would refuse most
    settings_ = Settings(
        corpus_dir=ROOT / "corpus", data_dir=built_data_dir, admin_token=TOKEN, rate_limit_per_minute=0
    )
    app = create_app(built_data_dir, settings_)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    # a body over 64 KiB is refused unread with 413 (documented on every operation): a rejection too
    rejection = schema.config.checks.negative_data_rejection
    rejection.expected_statuses = [*rejection.expected_statuses, "413"]
    return schema


@pytest.fixture(scope="module")
def sent() -> Counter:
    """Requests sent, by (method, path template, status class); checked at the end of the module."""
    return Counter()


def _all_checks() -> list:
    load_all_checks()
    return list(CHECKS.get_all())


ALL_CHECKS = _all_checks()


def _check(case, response, sent: Counter) -> None:
    label = f"{case.method.upper()} {case.path}"
    status = response.status_code
    sent[(label, status // 100)] += 1
    where = f"{label} -> {status}: {response.text[:300]}\nReproduce: {case.as_curl_command()}"
    assert status < 500, where
    if status >= 400 and case.path.startswith("/v1/"):
        # everything refused on /v1 (by its routes or by the body guard before them) is in OpenAI's shape
        error = json.loads(response.content).get("error")
        assert isinstance(error, dict) and set(error) == {"message", "type", "param", "code"}, where
        assert isinstance(error["message"], str) and error["message"].strip(), where
    elif status >= 400:
        body = json.loads(response.content)
        assert isinstance(body, dict) and isinstance(body.get("message"), str), where
        assert body["message"].strip(), where
    if status >= 400:
        assert TOKEN not in response.text, where
    if status == 200 and case.path == "/ask":
        AskResponse.model_validate_json(response.content)
    case.validate_response(response, checks=ALL_CHECKS)  # raises with every failed check named


def _operation(schema, label: str):
    method, path = label.split(" ", 1)
    return schema[path][method]


@pytest.mark.parametrize("label", OPERATIONS)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_fuzz_operation(schema, sent: Counter, mode: GenerationMode, label: str) -> None:
    operation = _operation(schema, label)
    examples = EXAMPLES.get((mode.value, label), DEFAULT_EXAMPLES[mode.value])

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        case = data.draw(operation.as_strategy(generation_mode=mode))
        _check(case, case.call(), sent)

    try:
        run()
    except Unsatisfiable:
        # No invalid request exists for an operation without parameters or body (GET /health) or whose only
        # input is a free-form header; its valid requests are fuzzed in the positive run.
        assert mode is GenerationMode.NEGATIVE, label


def test_fuzz_covered_every_operation_with_enough_requests(schema, sent: Counter) -> None:
    total = sum(sent.values())
    summary = "\n".join(f"  {k[0]} {k[1]}xx: {v}" for k, v in sorted(sent.items()))
    assert total >= MIN_REQUESTS, f"only {total} requests sent:\n{summary}"
    operations = {f"{op.ok().method.upper()} {op.ok().path}" for op in schema.get_all_operations()}
    assert operations == set(OPERATIONS), "a new operation: add it to OPERATIONS"
    assert operations <= {k[0] for k in sent}, summary
    assert not any(k[1] == 5 for k in sent), summary
    # both kinds of outcome were exercised on /ask
    assert sent[("POST /ask", 2)] and sent[("POST /ask", 4)], summary
    print(f"\nfuzz: {total} requests\n{summary}")
