"""Spec of input hygiene at the boundary: unencodable text is a 422 naming the field, invisible characters never
split an id, junk is not answered, every limit is in the OpenAPI document, and a request's work is bounded.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.api import create_app
from assistant.config import Settings
from assistant.hygiene import bounded, clean, has_content, unencodable
from assistant.schemas import AskRequest

ROOT = Path(__file__).resolve().parents[1]
JUNK = ["\u0000" * 50, "\u0001\u0002\u0003", "㍻" * 2000, "\u200b\u200d\u2066", "!!!???", "ああああ"]


# --- the hygiene functions ------------------------------------------------------------------------------


def test_clean_removes_zero_width_and_bidi_controls() -> None:
    assert clean("企\u200b1\u200d5") == "企15"
    assert clean("\u2066KPI\u2069\ufeff 一覧\u202e") == "KPI 一覧"
    assert clean("普通の質問です") == "普通の質問です"


def test_unencodable_finds_a_lone_surrogate() -> None:
    assert unencodable("ab\ud800c") == 2
    assert unencodable("企15 🙂") is None


@pytest.mark.parametrize("text", JUNK)
def test_junk_has_no_content(text: str) -> None:
    assert not has_content(text)


@pytest.mark.parametrize("text", ["企15の担当は？", "KPI", "wifi", "R5の実績"])
def test_questions_have_content(text: str) -> None:
    assert has_content(text)


def test_bounded_cuts_the_question_and_the_history() -> None:
    req = AskRequest(question="あい" * 1000, history=[{"role": "user", "content": "う" * 5000}] * 10, top_k=3)
    cut = bounded(req, question_chars=100, history_turns=4, turn_chars=50)
    assert len(cut.question) == 100 and len(cut.history) == 4
    assert all(len(t.content) == 50 for t in cut.history) and cut.top_k == 3
    small = AskRequest(question="企15の担当は？")
    assert bounded(small, 100, 4, 50) is small


# --- over HTTP, the real index ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(built_data_dir: Path) -> TestClient:
    settings = Settings(corpus_dir=ROOT / "corpus", data_dir=built_data_dir)
    with TestClient(create_app(built_data_dir, settings)) as c:
        yield c


def _post(client: TestClient, raw: str):  # noqa: ANN202 - httpx.Response
    return client.post("/ask", content=raw.encode(), headers={"content-type": "application/json"})


@pytest.mark.slow
@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"question": "\\ud800"}', "question"),
        ('{"question": "企15\\udfff"}', "question"),
        ('{"question": "企15", "history": [{"role": "user", "content": "\\ud800"}]}', "history.0.content"),
    ],
)
def test_a_lone_surrogate_in_any_string_field_is_422_naming_it(
    client: TestClient, raw: str, field: str
) -> None:
    r = _post(client, raw)
    assert r.status_code == 422, r.text
    assert r.json()["message"].startswith(f"{field}: ") and "surrogate" in r.json()["message"]


@pytest.mark.slow
def test_zero_width_characters_inside_a_measure_id_do_not_hide_it(client: TestClient) -> None:
    plain = client.post("/ask", json={"question": "企15の担当課は？"}).json()
    hidden = client.post("/ask", json={"question": "企\u200b1\u200d5の担当課は？"}).json()
    assert plain["answerable"] and "企15" in plain["answer"]
    assert hidden["answer"] == plain["answer"]


@pytest.mark.slow
@pytest.mark.parametrize("question", JUNK[:3], ids=["nuls", "controls", "repeated-symbol"])
def test_a_question_with_nothing_to_understand_is_not_answered(client: TestClient, question: str) -> None:
    r = client.post("/ask", json={"question": question})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["answerable"] is False and body["answer"].startswith("質問の意味を読み取れません")
    assert body["citations"] == [] and body["measures"] == []


@pytest.mark.slow
def test_an_empty_question_is_refused_by_the_schema_itself(client: TestClient) -> None:
    r = client.post("/ask", json={"question": ""})
    assert r.status_code == 422 and "question" in r.json()["message"] and "2000" in r.json()["message"]
    spec = client.get("/openapi.json").json()["components"]["schemas"]["AskRequest"]["properties"]
    assert spec["question"]["minLength"] == 1 and spec["question"]["maxLength"] == 2000


@pytest.mark.slow
def test_a_top_k_of_5000_digits_is_a_clean_422(client: TestClient) -> None:
    r = _post(client, '{"question": "企15", "top_k": ' + "9" * 5000 + "}")
    assert r.status_code == 422, r.text
    assert "top_k" in r.json()["message"] and "nested" not in r.json()["message"]


@pytest.mark.slow
def test_every_operation_documents_its_4xx_responses(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path, ops in paths.items():
        for method, op in ops.items():
            documented = set(op["responses"])
            assert {"400", "404", "413", "422", "429", "503"} <= documented, (method, path, documented)
            assert "Retry-After" in op["responses"]["429"]["headers"]


@pytest.mark.slow
def test_a_long_question_is_answered_from_its_head(client: TestClient) -> None:
    head = "企15の担当課は？"
    short = client.post("/ask", json={"question": head}).json()
    long = client.post("/ask", json={"question": head + "　" + "あいうえお" * 390}).json()
    assert len(head + "　" + "あいうえお" * 390) <= 2000
    assert long["answer"] == short["answer"]
