"""The Streamlit UI driven through `streamlit.testing` against a REAL API server started from corpus/.

A visitor sees one example question per user group, asks, gets an answer with its sources, follows up,
meets an abstention with related-measure buttons, browses measures and KPIs, rates an answer, comes back
to the same conversation. Texts from the API or the user are shown literally; every KPI status on screen is
the API's; an unreachable API gives a message for end users with a retry button (the URL in small print).
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
from ui.chat import UNAVAILABLE, turn_payload
from ui.client import history_for_request
from ui.kpi import (
    STATUS_LABELS,
    STATUS_MET,
    STATUS_NO_ACTUAL,
    STATUS_UNDETERMINED,
    fill_status,
    group_kpis,
    kpi_points,
    kpi_row,
    kpi_title,
    kpi_verdict,
    status_map,
    with_unit,
)
from ui.render import citation_range, md_escape, measure_table, readable_location

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
    assert [i.value for i in app.info] == [resp["answer"]], "the refusal is said once, in one box"
    assert resp["answer"] not in _texts(app)
    related = [b for b in app.button if b.key.startswith("rel-")]
    assert len(related) == len(resp["related"])
    assert related and related[0].label.startswith(md_escape(resp["related"][0]) + " ")  # number and name
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
def test_kpi_page_shows_the_status_of_get_kpis_for_every_kpi(app: AppTest, api_url: str) -> None:
    entries = httpx.get(f"{api_url}/kpis").json()
    app.radio(key="page").set_value("KPI一覧").run()
    assert not app.exception, app.exception
    table = app.dataframe[0].value
    assert list(table["指標"]) == [kpi_title(k) for k in entries]
    assert list(table["状況"]) == [k["status"] for k in entries], (
        "the page shows the API's status, row by row"
    )
    assert set(table["状況"]) <= set(STATUS_LABELS)
    assert {STATUS_MET, STATUS_NO_ACTUAL} <= set(table["状況"]), "達成 and 実績未公表 are different labels"
    assert list(table.columns)[:4] == ["施策", "指標", "状況", "最新実績"], "status visible without scrolling"
    assert app.get("vega_lite_chart")


@pytest.mark.slow
@pytest.mark.server
def test_chat_shows_the_status_of_get_kpis_for_every_kpi(app: AppTest, api_url: str) -> None:
    """Every KPI asked about in the chat: each KPI card of the answer says the status GET /kpis gives."""
    statuses = status_map(httpx.get(f"{api_url}/kpis").json())
    checked = 0
    for entry in httpx.get(f"{api_url}/kpis").json():
        resp = _ask(app, f"{kpi_title(entry)}の目標と実績は？")
        shown = [t for t in _texts(app) if t.startswith("状況: ")]
        groups = group_kpis(fill_status(resp["kpis"], statuses))
        for kpi, _progress in groups:
            if kpi.get("status") is not None and "status" in next(
                (k for k in resp["kpis"] if k.get("kpi_id") == kpi.get("kpi_id")), {}
            ):
                assert kpi["status"] == statuses[kpi["kpi_id"]], kpi["kpi_id"]  # /ask agrees with /kpis
        for (kpi, _), line in zip(groups, shown[-len(groups) :] if groups else [], strict=True):
            assert line.startswith(f"状況: {statuses.get(str(kpi.get('kpi_id')), '不明')}"), (
                kpi["kpi_id"],
                line,
            )
            checked += 1
        app.session_state["messages"] = []  # a fresh conversation for the next KPI
    assert checked >= len(statuses) // 2, f"only {checked} KPI cards were shown"


@pytest.mark.slow
@pytest.mark.server
def test_thumbs_down_with_a_comment_reaches_the_feedback_page(app: AppTest, api_url: str) -> None:
    resp = _ask(app, "無料公衆無線LANの整備はどこの課の担当ですか？")
    down = next(b for b in app.button if b.key and b.key.startswith("fb-down-"))
    down.click().run()
    comment = next(t for t in app.text_area if t.key and t.key.startswith("fb-comment-"))
    comment.input("担当課の表記が古い（AppTest）")  # a form: the value goes with the submit click
    next(b for b in app.button if "FormSubmitter" in str(b.key)).click().run()
    assert not app.exception, app.exception
    items = httpx.get(f"{api_url}/feedback", params={"verdict": "down", "text": "（AppTest）"}).json()[
        "items"
    ]
    assert items and items[0]["answer"] == resp["answer"] and items[0]["citations"] == resp["citations"]
    app.radio(key="page").set_value("フィードバック").run()
    assert not app.exception, app.exception
    assert "担当課の表記が古い（AppTest）" in list(app.dataframe[0].value["コメント"])


@pytest.mark.slow
@pytest.mark.server
def test_a_new_session_with_the_conversation_id_in_the_url_shows_the_same_conversation(
    app: AppTest, api_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    resp = _ask(app, "無料公衆無線LANの整備はどこの課の担当ですか？")
    cid = app.query_params["c"][0] if isinstance(app.query_params["c"], list) else app.query_params["c"]
    again = AppTest.from_file(APP, default_timeout=TIMEOUT)
    again.query_params["c"] = cid
    again.run()  # a reload: a new session, only the URL is the same
    assert not again.exception, again.exception
    messages = again.session_state["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"] and messages[1]["response"] == resp
    assert [m.name for m in again.chat_message] == ["user", "assistant"]
    again.button(key="new-conversation").click().run()
    assert again.session_state["messages"] == [] and again.query_params["c"] != cid


# --- no server needed ---------------------------------------------------------------------------------------


def test_unreachable_api_says_so_for_end_users_and_keeps_the_question(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    monkeypatch.setenv("POLICY_ASSISTANT_API_URL", url)
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception, at.exception
    assert at.warning[0].value == UNAVAILABLE  # for end users: no URL, no command
    assert [b.label for b in at.button if b.key == "retry-top"] == ["再試行"]
    detail = " ".join(c.value for c in at.caption)
    assert md_escape(url) in detail and md_escape("policy-assistant serve") in detail  # small print
    at.chat_input[0].set_value("質問です").run()
    assert not at.exception, at.exception
    assert at.session_state["failed"] == "質問です", "the question stays, with a retry button"
    assert any(b.key == "retry-question" for b in at.button)


def _q(value: float) -> dict:
    return {"raw": str(value), "value": value, "unit": None}


def test_status_is_the_apis_and_figures_carry_their_units() -> None:
    plan = {
        "kpi_id": "p",
        "item": "x",
        "unit": "箇所",
        "baseline": _q(10),
        "baseline_date_raw": "R2",
        "targets": {"R5": {"raw": "1,731", "value": 1731.0}, "R6": {"raw": "2,003", "value": 2003.0}},
        "status": STATUS_NO_ACTUAL,
    }
    assert kpi_verdict(plan) == (STATUS_NO_ACTUAL, "R6目標 2,003箇所（計画）")
    box = {"type": "progress_kpi", "kpi_id": "b", "name": "x", "latest": {"raw": "160者", "value": 160.0}}
    box |= {"latest_year_raw": "R5", "target": {"raw": "100者", "value": 100.0}, "target_year_raw": "R6"}
    box |= {"achievement_rate_raw": "138%", "status": STATUS_MET}
    assert kpi_verdict(plan | {"status": STATUS_MET}, [box]) == (
        STATUS_MET,
        "R5実績 160者 ／ R6目標 100者 ／ 達成率 138%",
    )
    assert kpi_verdict({"kpi_id": "z", "item": "y"})[0] == "不明", "no status from the API: not guessed"
    assert with_unit("80", "％") == "80％" and with_unit("希望職員のうち70", "％") == "希望職員のうち70％"
    assert with_unit("前年度越え", "%") == "前年度越え"
    filled = fill_status(
        [{"kpi_id": "p"}, {"kpi_id": "q", "status": STATUS_UNDETERMINED}], {"p": STATUS_MET, "q": "x"}
    )
    assert [k["status"] for k in filled] == [STATUS_MET, STATUS_UNDETERMINED]
    years = [p["年度"] for p in kpi_points(plan, [box])]
    assert years == sorted(years) and years[0] == 2020 and years[-1] == 2024


def test_citation_lines_come_from_the_fields_or_the_location() -> None:
    assert citation_range({"location": "L885-921"}) == (885, 921)
    assert citation_range({"location": "L12"}) == (12, 12)
    assert citation_range({"location": "L5-9", "line_start": 6, "line_end": 7}) == (6, 7)
    assert citation_range({"location": "p.3"}) is None


def test_list_answer_names_the_shared_department_once() -> None:
    owner = {"bureau": "部", "section": "課"}
    other = {"bureau": "部2", "section": "課2"}
    measures = [
        {"measure_id": "企1", "name": "一", "owners": [owner]},
        {"measure_id": "企2", "name": "二", "owners": [owner, other], "kpi_mark": True},
    ]
    heading, rows = measure_table(measures)
    assert heading == "担当所属: 部 課"
    assert rows == [
        {"施策番号": "企1", "施策名": "一", "KPI": "", "共管": ""},
        {"施策番号": "企2", "施策名": "二", "KPI": "★", "共管": "部2 課2"},
    ]
    assert "共管" not in measure_table(measures[:1])[1][0]


def test_a_stored_turn_fits_one_request() -> None:
    big = {"role": "assistant", "content": "a", "response": {"answer": "a", "kpis": [{"x": "長" * 30000}]}}
    payload = turn_payload(big)
    assert (
        len(json.dumps(payload, ensure_ascii=False).encode()) < 64 * 1024
        and payload["response"]["kpis"] == []
    )
    assert turn_payload({"role": "user", "content": "q", "feedback": "up"}) == {
        "role": "user",
        "content": "q",
    }


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
    "status": "実績未公表",
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
    "achievement_rate_raw": "100%",
    "status": "達成",  # the API's verdict (its printed rate); the UI shows it, never recomputes it
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
    assert list(table["状況"]) == [STATUS_NO_ACTUAL, STATUS_MET]  # as the API says (30 < 60, printed 100%)
    assert list(table["資料"]) == ["計画", "進捗報告"]
    assert list(table["単位"])[1] == "%" and "R6" in list(table["目標"])[1]
    assert "実績未公表: 1件" in " ".join(_texts(fake_app)) and "目標なし: 0件" in " ".join(_texts(fake_app))
    row = kpi_row(LONE | {"status": STATUS_UNDETERMINED})
    assert row["状況"] == STATUS_UNDETERMINED and row["達成率（報告書）"] == "100%"
