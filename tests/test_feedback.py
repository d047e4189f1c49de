"""What users leave behind and what they read: feedback, conversations and cited passages, over the real API.

Feedback and conversations live in `<data_dir>/feedback.sqlite`, outside the index dirs: they survive a
restart and a re-ingest, and `policy-assistant feedback export` writes them as CSV or JSON Lines. A citation's
lines open inside their section's cleaned text. Bad input is a 4xx whose message names the field.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from assistant.api import create_app
from assistant.cli import app as cli
from assistant.config import Settings

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def data_dir(built_data_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the built data dir (this test writes feedback into it)."""
    out = tmp_path / "data"
    shutil.copytree(built_data_dir, out)
    (out / "feedback.sqlite").unlink(missing_ok=True)
    return out


def _client(data_dir: Path) -> TestClient:
    return TestClient(create_app(data_dir, Settings(corpus_dir=ROOT / "corpus", data_dir=data_dir)))


def _answer(client: TestClient, question: str) -> dict:
    resp = client.post("/ask", json={"question": question})
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_thumbs_down_with_a_comment_is_stored_listed_and_exported(data_dir: Path) -> None:
    client = _client(data_dir)
    question = "無料公衆無線LANの整備はどこの課の担当ですか？"
    ans = _answer(client, question)
    body = {
        "question": question,
        "answer": ans["answer"],
        "citations": ans["citations"],
        "verdict": "down",
        "comment": "担当課が古い",
    }
    stored = client.post("/feedback", json=body)
    assert stored.status_code == 201, stored.text
    entry = stored.json()
    index_id = client.get("/health").json()["index"]["id"]
    assert entry["verdict"] == "down" and entry["comment"] == "担当課が古い" and entry["index_id"] == index_id
    assert entry["citations"] == ans["citations"] and entry["created_at"].endswith("+00:00")
    client.post("/feedback", json=body | {"verdict": "up", "comment": ""})

    listed = client.get("/feedback", params={"verdict": "down"}).json()
    assert listed["counts"] == {"down": 1, "up": 1}
    assert [i["comment"] for i in listed["items"]] == ["担当課が古い"]
    assert len(client.get("/feedback", params={"with_comment": True}).json()["items"]) == 1

    # survives a restart of the API: a new app over the same data dir
    assert len(_client(data_dir).get("/feedback").json()["items"]) == 2

    runner = CliRunner()
    out = runner.invoke(cli, ["feedback", "export", "--format", "csv", "--data-dir", str(data_dir)])
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [r["verdict"] for r in rows] == ["down", "up"] and rows[0]["comment"] == "担当課が古い"
    assert json.loads(rows[0]["citations"]) == ans["citations"]
    out = runner.invoke(cli, ["feedback", "export", "--format", "jsonl", "--data-dir", str(data_dir)])
    lines = [json.loads(x) for x in out.stdout.splitlines()]
    assert [x["question"] for x in lines] == [question, question]


def test_feedback_survives_a_re_ingest(data_dir: Path) -> None:
    from ingest.index import ingest

    client = _client(data_dir)
    client.post("/feedback", json={"question": "q", "answer": "a", "verdict": "up"})
    ingest(ROOT / "corpus", data_dir, force=True)
    assert len(_client(data_dir).get("/feedback").json()["items"]) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"question": "q", "answer": "a", "verdict": "sideways"}, "verdict"),
        ({"question": "", "answer": "a", "verdict": "up"}, "question"),
        ({"question": "q", "answer": "a", "verdict": "up", "comment": "長" * 2001}, "comment"),
        ({"question": "q", "answer": "a", "verdict": "up", "rating": 5}, "rating"),
        ({"question": "q", "answer": "a", "verdict": "up", "citations": [{"doc_id": "x"}]}, "citations"),
    ],
)
def test_bad_feedback_is_a_4xx_naming_the_field(data_dir: Path, body: dict, field: str) -> None:
    resp = _client(data_dir).post("/feedback", json=body)
    assert resp.status_code == 422, resp.text
    assert field in resp.json()["message"], resp.json()["message"]


def test_export_without_feedback_names_the_file_and_bad_format_exits_2(tmp_path: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(cli, ["feedback", "export", "--data-dir", str(tmp_path)])
    assert out.exit_code == 2 and "feedback.sqlite" in out.output
    out = runner.invoke(cli, ["feedback", "export", "--format", "xml", "--data-dir", str(tmp_path)])
    assert out.exit_code == 2 and "csv" in out.output


def test_conversation_turns_are_stored_and_read_back_in_order(data_dir: Path) -> None:
    client = _client(data_dir)
    cid = "conv-test-0001"
    assert client.get(f"/conversations/{cid}").json() == {"conversation_id": cid, "turns": []}
    ans = _answer(client, "企15の担当課は？")
    turns = [
        {"role": "user", "content": "企15の担当課は？"},
        {"role": "assistant", "content": ans["answer"], "response": ans},
    ]
    for i, t in enumerate(turns):
        assert client.put(f"/conversations/{cid}/turns/{i}", json=t).json()["turns"] == i + 1
    got = _client(data_dir).get(f"/conversations/{cid}").json()["turns"]
    assert [t["role"] for t in got] == ["user", "assistant"] and got[1]["response"]["citations"] == ans[
        "citations"
    ]
    gap = client.put(f"/conversations/{cid}/turns/5", json=turns[0])
    assert (
        gap.status_code == 409 and "position" in gap.json()["message"] and "turn 2" in gap.json()["message"]
    )
    bad = client.get("/conversations/has%20space")
    assert bad.status_code == 422 and "conversation_id" in bad.json()["message"]
    # rewriting turn 0 starts the conversation over
    assert client.put(f"/conversations/{cid}/turns/0", json=turns[0]).json()["turns"] == 1


def test_a_cited_measure_opens_inside_its_section_with_the_cited_lines_marked(data_dir: Path) -> None:
    client = _client(data_dir)
    ans = _answer(client, "無料公衆無線LANの整備はどこの課の担当ですか？")
    cite = next(c for c in ans["citations"] if c["measure_id"])
    start, _, end = cite["location"].removeprefix("L").partition("-")
    resp = client.get(f"/documents/{cite['doc_id']}/passage", params={"start": start, "end": end or start})
    assert resp.status_code == 200, resp.text
    p = resp.json()
    assert p["doc_title"] == cite["doc_title"] and p["location"] == cite["location"]
    assert cite["measure_id"] in p["measure_ids"] and cite["measure_id"] in p["section_label"]
    assert p["section_path"][0].startswith("第") and "章" in p["section_path"][0], p["section_path"]
    cited = [b for b in p["blocks"] if b["cited"]]
    assert cited and all(int(start) <= b["line_start"] and b["line_end"] <= int(end or start) for b in cited)
    assert any(not b["cited"] for b in p["blocks"]), "the surrounding text of the section is shown too"
    assert p["section_start"] <= int(start) and int(end or start) <= p["section_end"]


def test_passage_of_a_report_kpi_shows_its_goal(data_dir: Path) -> None:
    client = _client(data_dir)
    box = next(k for k in client.get("/kpis").json() if k["type"] == "progress_kpi")
    p = client.get(
        f"/documents/{box['doc_id']}/passage", params={"start": box["line_start"], "end": box["line_end"]}
    )
    assert p.status_code == 200, p.text
    body = p.json()
    assert body["section_path"] == [box["goal"]] and any(b["cited"] for b in body["blocks"])


@pytest.mark.parametrize(
    ("path", "params", "status", "field"),
    [
        ("/documents/no-such-doc/passage", {"start": 1}, 404, "doc_id"),
        ("/documents/plan-2021/passage", {"start": 10, "end": 5}, 422, "end"),
        ("/documents/plan-2021/passage", {"start": 0}, 422, "start"),
        ("/documents/plan-2021/passage", {"start": 9_000_000}, 422, "start"),
        ("/documents/plan-2021/passage", {}, 422, "start"),
    ],
)
def test_bad_passage_requests_name_the_field(
    data_dir: Path, path: str, params: dict, status: int, field: str
) -> None:
    resp = _client(data_dir).get(path, params=params)
    assert resp.status_code == status, resp.text
    assert field in resp.json()["message"], resp.json()["message"]
