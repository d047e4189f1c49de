"""The Streamlit UI driven through `streamlit.testing` against a REAL API server started from corpus/.

A visitor sees one example question per user group, asks, gets an answer with its sources, follows up,
meets an abstention with related-measure buttons, browses measures and KPIs. Texts from the API or the
user are shown literally; an unreachable API gives a message naming the URL and the command to run.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from assistant.launch import api_command
from tests.conftest import free_port as _free_port
from ui.charts import kpi_chart
from ui.client import history_for_request
from ui.kpi import STATUS_MET, STATUS_NO_DATA, STATUS_NOT_MET, group_kpis, kpi_points, kpi_row, kpi_status
from ui.render import md_escape, readable_location

APP = str(Path(__file__).resolve().parents[1] / "ui" / "app.py")
TIMEOUT = 120


@pytest.fixture(scope="session")
def api_url(built_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`policy-assistant serve` on a free loopback port, stopped (by its PID) at the end of the session."""
    port = _free_port()
    log = (tmp_path_factory.mktemp("api") / "serve.log").open("wb")
    proc = subprocess.Popen(api_command(built_data_dir, port), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"API exited with {proc.returncode}; see {log.name}"
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail(f"API not healthy after 180 s; see {log.name}")
    yield url
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


@pytest.fixture
def app(api_url: str, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("POLICY_ASSISTANT_API_URL", api_url)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def _ask(at: AppTest, question: str) -> dict:
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    last = at.session_state["messages"][-1]
    assert "error" not in last, last.get("error")
    return last["response"]


def _texts(at: AppTest) -> list[str]:
    return [t.value for t in at.text]


# --- against the real API -----------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.server
def test_first_visit_offers_one_example_per_user_group_and_it_answers_with_sources(app: AppTest) -> None:
    examples = [b for b in app.button if b.key.startswith("example-")]
    assert len(examples) == 3
    app.button(key="example-0").click().run()  # staff: who owns the measure
    assert not app.exception, app.exception
    resp = app.session_state["messages"][-1]["response"]
    assert resp["answerable"] and resp["citations"]
    assert [m.name for m in app.chat_message] == ["user", "assistant"]
    labels = [e.label for e in app.expander]
    assert len(labels) == len(resp["citations"])
    first = resp["citations"][0]
    assert (
        md_escape(readable_location(first["location"])) in labels[0]
        and md_escape(first["doc_title"]) in labels[0]
    )
    assert any(t.startswith("担当所属: ") and "課" in t for t in _texts(app)), "measure card with owners"
    assert "企15" in str(resp["measures"])


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.parametrize("index", [0, 1, 2])
def test_every_example_question_is_answered_from_the_corpus(app: AppTest, index: int) -> None:
    app.button(key=f"example-{index}").click().run()
    assert not app.exception, app.exception
    resp = app.session_state["messages"][-1]["response"]
    assert resp["answerable"] and resp["citations"], resp["answer"]


@pytest.mark.slow
@pytest.mark.server
def test_follow_up_question_uses_the_conversation(app: AppTest) -> None:
    first = _ask(app, "無料公衆無線LANの整備はどこの課の担当ですか？")
    assert first["answerable"]
    second = _ask(app, "事業開始はいつ？")  # names no measure: only the history says which one
    assert second["answerable"], second["answer"]
    assert [m["measure_id"] for m in second["measures"]] == ["企15"]
    assert len(app.chat_message) == 4


@pytest.mark.slow
@pytest.mark.server
def test_kpi_answer_shows_chart_and_table_toggle(app: AppTest) -> None:
    resp = _ask(app, "マイナンバーカードの県内普及率の目標と実績は？")
    assert resp["kpis"]
    assert app.get("vega_lite_chart"), "an Altair chart"
    toggle = app.toggle[0]
    assert toggle.label == "表で見る"
    toggle.set_value(True).run()
    table = app.dataframe[0].value
    assert set(table["区分"]) >= {"基準値", "目標値"}
    assert any("R6" in y for y in table["年度"])


@pytest.mark.slow
@pytest.mark.server
def test_abstention_says_so_and_offers_related_measures(app: AppTest) -> None:
    resp = _ask(app, "宮城県の来年度の職員採用試験の倍率は？")
    assert resp["answerable"] is False
    assert app.info and "お答えできません" in app.info[0].value
    related = [b for b in app.button if b.key.startswith("rel-")]
    assert related and related[0].label.endswith("について教えて")
    related[0].click().run()
    assert not app.exception, app.exception
    asked = app.session_state["messages"][-2]["content"]
    assert asked == f"{resp['related'][0]}について教えて"
    assert "response" in app.session_state["messages"][-1], "the related question went to the API"


@pytest.mark.slow
@pytest.mark.server
def test_question_with_html_and_markdown_is_shown_literally(app: AppTest) -> None:
    question = "<script>alert(1)</script> **bold** [link](http://x) とは？"
    _ask(app, question)
    assert app.chat_message[0].children[0].value == question
    for md in app.markdown:
        assert "<script>" not in md.value and "**bold**" not in md.value


@pytest.mark.slow
@pytest.mark.server
def test_measures_page_filters_by_department(app: AppTest) -> None:
    app.radio(key="page").set_value("施策一覧").run()
    assert not app.exception, app.exception
    everything = app.dataframe[0].value
    assert len(everything) > 30 and {"施策番号", "施策名", "担当所属", "目標"} <= set(everything.columns)
    dept = app.selectbox(key="filter-dept")
    choice = dept.options[1]
    dept.set_value(choice).run()
    filtered = app.dataframe[0].value
    assert 0 < len(filtered) < len(everything)
    assert all(choice in owners for owners in filtered["担当所属"])
    picked = app.selectbox(key="measure-detail").value
    app.button(key="measure-ask").click().run()  # ask about it: back to the chat
    assert app.radio(key="page").value == "質問する"
    assert app.session_state["messages"][0]["content"] == f"{picked}について教えて"


@pytest.mark.slow
@pytest.mark.server
def test_kpi_page_lists_every_kpi_with_a_status(app: AppTest, api_url: str) -> None:
    app.radio(key="page").set_value("KPI一覧").run()
    assert not app.exception, app.exception
    table = app.dataframe[0].value
    assert len(table) == len(httpx.get(f"{api_url}/kpis").json())
    assert set(table["状況"]) <= {STATUS_MET, STATUS_NOT_MET, STATUS_NO_DATA}
    assert {STATUS_MET, STATUS_NOT_MET} & set(table["状況"]), "linked progress figures give a status"
    assert app.get("vega_lite_chart")


# --- no server needed ---------------------------------------------------------------------------------------


def test_unreachable_api_names_the_url_and_the_command(monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    monkeypatch.setenv("POLICY_ASSISTANT_API_URL", url)
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception, at.exception
    message = at.error[0].value
    assert url in message and "make demo" in message and "policy-assistant serve" in message


def _q(value: float) -> dict:
    return {"raw": str(value), "value": value, "unit": None}


def test_kpi_status_compares_latest_actual_with_same_year_or_final_target() -> None:
    plan = {
        "kpi_id": "p",
        "item": "x",
        "baseline": _q(10),
        "baseline_date_raw": "R2",
        "targets": {"R3": _q(20), "R5": _q(40), "R6": _q(50)},
    }
    box = {"type": "progress_kpi", "kpi_id": "b", "name": "x", "latest": _q(45), "latest_year_raw": "R5"}
    assert kpi_status(plan, [box])[0] == STATUS_MET  # 45 >= R5 target 40
    alone = box | {"target": _q(50), "target_year_raw": "R6"}
    assert kpi_status(alone)[0] == STATUS_NOT_MET  # no R5 target: the final one
    falling = plan | {"targets": {"R6": _q(5)}}
    assert kpi_status(falling, [box | {"latest": _q(4)}])[0] == STATUS_MET  # target below baseline
    assert kpi_status(plan)[0] == STATUS_NO_DATA
    restated = box | {"latest": _q(35), "target": _q(30), "target_year_raw": "R6"}
    assert kpi_status(plan, [restated])[0] == STATUS_MET  # the report's own target, not the plan's R5 40
    years = [p["年度"] for p in kpi_points(plan, [box])]
    assert years == sorted(years) and years[0] == 2020 and years[-1] == 2024


def test_history_drops_failed_turns_and_fits_the_body_limit() -> None:
    msgs = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "", "error": "down"},
        {"role": "user", "content": "b"},
        {"role": "assistant", "content": "B"},
    ]
    assert history_for_request(msgs) == [
        {"role": "user", "content": "b"},
        {"role": "assistant", "content": "B"},
    ]
    long = [{"role": "user", "content": "長" * 5000}] * 40
    sent = history_for_request(long)
    assert len(sent) <= 20 and len(str(sent).encode()) < 64 * 1024


def test_md_escape_neutralises_markup() -> None:
    assert md_escape("**b** <i>") == "\\*\\*b\\*\\* \\<i\\>"
    assert "\n" not in md_escape("a\nb")


# --- against a canned API (no index needed) -----------------------------------------------------------------

PLAN = {
    "type": "plan_kpi",
    "kpi_id": "plan-k1",
    "item": "計画の指標",
    "measure_ids": ["企1"],
    "baseline": _q(10),
    "baseline_date_raw": "R2",
    "targets": {"R5": _q(40), "R6": _q(50)},
    "location": "L10-12",
}
BOX = {
    "type": "progress_kpi",
    "kpi_id": "box-1",
    "plan_kpi_id": "plan-k1",
    "name": "報告書の指標",
    "unit": "人",
    "latest": _q(45),
    "latest_year_raw": "R5",
    "measure_ids": [],
}
LONE = {
    "type": "progress_kpi",
    "kpi_id": "box-2",
    "plan_kpi_id": None,
    "name": "報告書だけの指標",
    "unit": "%",
    "baseline": _q(20),
    "baseline_year_raw": "R2",
    "latest": _q(30),
    "latest_year_raw": "R5",
    "latest_year": None,
    "target": _q(60),
    "target_year_raw": "R6",
    "achievement_rate_raw": "100%",  # printed rate: the status comes from the values, not from this
    "notes": [],
    "goal": "目標1",
    "location": "L50-60",
}
ANSWER = {
    "answer": "回答です。",
    "answerable": True,
    "citations": [
        {
            "doc_id": "d",
            "doc_title": "計画書",
            "measure_id": "企1",
            "section": "第1章 > 第2節",
            "location": "L885-921",
            "quote": "引用",
        }
    ],
    "measures": [],
    "kpis": [PLAN, BOX],
    "related": [],
}


@pytest.fixture
def fake_app(monkeypatch: pytest.MonkeyPatch) -> Iterator[AppTest]:
    """The UI against a tiny in-process HTTP server returning canned API bodies."""
    routes = {
        "/health": {"status": "ok"},
        "/documents": [{"doc_id": "d", "title": "計画書"}],
        "/kpis": [PLAN | {"progress": []}, LONE],
        "/measures": [],
        "/ask": ANSWER,
    }

    class Handler(BaseHTTPRequestHandler):
        def _send(self) -> None:
            body = json.dumps(routes.get(self.path.split("?")[0], {"detail": "nf"})).encode()
            self.send_response(200 if self.path.split("?")[0] in routes else 404)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802
            self._send()

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self._send()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("POLICY_ASSISTANT_API_URL", f"http://127.0.0.1:{server.server_address[1]}")
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    yield at
    server.shutdown()
    server.server_close()


def _examples_shown(at: AppTest) -> int:
    return len([b for b in at.button if b.key and b.key.startswith("example-")])


def test_examples_only_while_the_conversation_is_empty(fake_app: AppTest) -> None:
    assert _examples_shown(fake_app) == 3
    fake_app.chat_input[0].set_value("質問です").run()  # typed on the first run
    assert not fake_app.exception, fake_app.exception
    assert len(fake_app.session_state["messages"]) == 2
    assert _examples_shown(fake_app) == 0
    fake_app.run()
    assert _examples_shown(fake_app) == 0


def test_citation_shows_section_and_readable_lines(fake_app: AppTest) -> None:
    fake_app.chat_input[0].set_value("質問です").run()
    label = fake_app.expander[0].label
    assert md_escape("885〜921行目") in label and md_escape("第1章 > 第2節") in label, label
    assert readable_location("L7") == "7行目（L7）" and readable_location("p.3") == "p.3"


def test_linked_progress_box_is_drawn_in_the_plan_kpi_chart(fake_app: AppTest) -> None:
    assert group_kpis([PLAN, BOX]) == [(PLAN, [BOX])]
    fake_app.chat_input[0].set_value("質問です").run()
    charts = fake_app.get("vega_lite_chart")
    assert len(charts) == 1, "one chart for the plan KPI and its progress box"
    fake_app.toggle[0].set_value(True).run()  # the chart's data as a table
    table = fake_app.dataframe[0].value
    kinds = set(zip(table["区分"], table["出典"], strict=True))
    assert kinds == {("実績値", "進捗報告"), ("目標値", "計画"), ("基準値", "計画")}


def _legend_domain(points: list[dict]) -> list[str]:
    spec = kpi_chart(points).to_dict()
    return next(
        layer["encoding"]["color"]["scale"]["domain"]
        for layer in spec["layer"]
        if "color" in layer["encoding"]
    )


def test_chart_legend_lists_only_series_with_points() -> None:
    assert _legend_domain(kpi_points(PLAN)) == ["基準値", "目標値"]
    assert _legend_domain(kpi_points(PLAN, [BOX])) == ["基準値", "目標値", "実績値"]
    assert _legend_domain(kpi_points(LONE | {"target": None, "baseline": None})) == ["実績値"]


def test_kpi_page_lists_plan_and_progress_kpis(fake_app: AppTest) -> None:
    fake_app.radio(key="page").set_value("KPI一覧").run()
    assert not fake_app.exception, fake_app.exception
    table = fake_app.dataframe[0].value
    assert list(table["指標"]) == ["計画の指標", "報告書だけの指標"]
    assert list(table["状況"]) == [STATUS_NO_DATA, STATUS_NOT_MET]  # 30 < 60 although the report prints 100%
    assert list(table["資料"]) == ["計画", "進捗報告"]
    assert list(table["単位"])[1] == "%" and "R6" in list(table["目標"])[1]
    row = kpi_row(LONE | {"latest": _q(70)})
    assert row["状況"] == STATUS_MET and row["達成率（報告書）"] == "100%"
    assert kpi_row(LONE | {"target": {"raw": "前年度越え", "value": None}})["状況"] == STATUS_NO_DATA
