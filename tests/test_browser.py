"""The chat as a user meets it, in a real browser: Debian's headless Chromium, driven by Selenium, against the
real API and the real Streamlit UI (subprocesses on free loopback ports).

Each test is one acceptance point of the chat: the KPI verdict first, a source opening in its context, a
thumbs-down with a comment reaching the export, a reload keeping the conversation, the API stopping and
coming back (under `run_demo`, which restarts it once), the phone layout, a long list answer staying short.
Each saves screenshots at 1400x1000 and 390x844 into the git-ignored `test-artifacts/browser/`.
Chromium missing is a failure naming the apt-get command (`.ci/run` installs it), never a skip.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from evals.browser_bench import CHAT_INPUT, Stack, chromium, free_port, missing_browser, serve_stack

pytestmark = [pytest.mark.slow, pytest.mark.server]

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
SIZES = ((1400, 1000), (390, 844))
ANSWER_WAIT_S = 60.0
ASSISTANT = '[data-testid="stChatMessage"]:has([data-testid="stChatMessageAvatarAssistant"])'
USER = '[data-testid="stChatMessage"]:has([data-testid="stChatMessageAvatarUser"])'
UNAVAILABLE_WORDS = "ただいまサービスに接続できません"


def _require_browser() -> None:
    if importlib.util.find_spec("selenium") is None:
        pytest.fail("the Python package selenium is missing; run `make setup` (it is in the [test] extra)")
    problem = missing_browser()
    if problem:
        pytest.fail(f"{problem} (as root; `.ci/run` does this before `make test`)")


@pytest.fixture(scope="module")
def stack(built_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    _require_browser()
    with serve_stack(built_data_dir, tmp_path_factory.mktemp("browser-logs")) as s:
        yield s
    for pid in s.pids:  # every child was stopped by its own PID
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


@pytest.fixture
def driver() -> Iterator:
    _require_browser()
    with chromium(*SIZES[0]) as d:
        yield d


def _wait_for(predicate, timeout: float, what: str):
    from selenium.common.exceptions import StaleElementReferenceException

    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except StaleElementReferenceException:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not appear within {timeout:.0f} s")
        time.sleep(0.25)


def _css(driver, selector: str) -> list:
    """Elements matching `selector` (Selenium's `is_displayed` calls some of Streamlit's chat content hidden,
    so visibility is checked where it matters: the input, the dialog, by what a screenshot shows)."""
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, selector)


def _click(driver, element) -> None:
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", element)


def _button(scope, label: str):
    """The button labelled `label` (Streamlit puts the label in a <p>, after any icon ligature)."""
    from selenium.webdriver.common.by import By

    found = scope.find_elements(By.XPATH, f".//button[.//p[normalize-space(.)='{label}']]")
    return found[-1] if found else None


def _open(driver, url: str) -> None:
    driver.get(url)
    _wait_for(lambda: [e for e in _css(driver, CHAT_INPUT) if e.is_displayed()], 30, "the chat input")


def _type(driver, text: str, send: bool = True) -> None:
    from selenium.webdriver.common.keys import Keys

    box = _css(driver, CHAT_INPUT)[0]
    box.click()
    box.send_keys(text)
    if send:
        box.send_keys(Keys.ENTER)


def _answers(driver) -> list:
    return _css(driver, ASSISTANT)


def _finished(driver, count: int):
    """The `count`-th assistant message once it is fully drawn (its feedback buttons come last)."""
    if _css(driver, '[data-testid="stSpinner"]'):
        return None
    msgs = _answers(driver)
    if len(msgs) < count:
        return None
    return msgs[count - 1] if _button(msgs[count - 1], "役に立った") else None


def _ask(driver, question: str, count: int = 1):
    _type(driver, question)
    return _wait_for(lambda: _finished(driver, count), ANSWER_WAIT_S, f"answer {count} to {question!r}")


# Scroll `focus` to the top of its scrolling container, below Streamlit's sticky header.
_SCROLL_TO = """
const el = arguments[0];
el.scrollIntoView({block: 'start'});
let c = el.parentElement;
while (c && !(c.scrollHeight > c.clientHeight && getComputedStyle(c).overflowY !== 'visible')) c = c.parentElement;
if (c) c.scrollTop = Math.max(0, c.scrollTop - 70);
"""


def _shots(driver, name: str, focus=None) -> list[Path]:
    """Screenshots of the current state at every size in SIZES (the window is put back to the first)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    _wait_for(lambda: not _css(driver, '[data-testid="stStatusWidget"]'), 30, "the end of the script run")
    paths = []
    for w, h in SIZES:
        driver.set_window_size(w, h)
        time.sleep(1.2)  # let Streamlit and the charts re-lay out
        if focus is not None:
            driver.execute_script(_SCROLL_TO, focus)
            time.sleep(0.3)
        path = ARTIFACTS / f"{name}-{w}x{h}.png"
        assert driver.save_screenshot(str(path)), f"could not write {path}"
        assert path.stat().st_size > 10_000, f"{path} looks empty"
        paths.append(path)
    driver.set_window_size(*SIZES[0])
    time.sleep(0.8)
    return paths


def _lines(element) -> list[str]:
    """The visible text lines of an element without Material icon names (e.g. the avatar's `smart_toy`)."""
    return [ln for ln in element.text.splitlines() if ln.strip() and not ln.strip().isascii()]


def test_kpi_answer_gives_the_verdict_with_its_unit_first(stack: Stack, driver) -> None:
    question = "マイナンバーカードの交付率、R5はどれくらい？目標は達成した？"
    kpis = httpx.get(f"{stack.api_url}/kpis", timeout=10).json()
    _open(driver, stack.ui_url)
    answer = _ask(driver, question)
    first = _lines(answer)[0]
    status = next(k["status"] for k in kpis if "マイナンバーカード" in k.get("item", ""))
    assert first.startswith(status), first  # the badge: the API's status, first thing in the answer
    assert "実績" in first and "%" in first.replace("％", "%"), f"figures with their unit: {first}"
    # the chart comes after the text (Vega renders it a moment later, more so on a loaded machine)
    _wait_for(lambda: _css(driver, '[data-testid="stVegaLiteChart"]'), 15, "the KPI chart after the answer")
    _shots(driver, "kpi-verdict-first", focus=answer)


def test_a_citation_opens_its_passage_highlighted_in_its_section(stack: Stack, driver) -> None:
    from selenium.webdriver.common.by import By

    _open(driver, stack.ui_url)
    answer = _ask(driver, "無料公衆無線LANの整備はどこの課の担当ですか？")
    _click(driver, answer.find_elements(By.CSS_SELECTOR, '[data-testid="stExpander"] summary')[0])
    _click(driver, _wait_for(lambda: _button(answer, "原文で見る"), 10, "the 原文で見る button"))
    dialog = _wait_for(lambda: _css(driver, '[data-testid="stDialog"]'), 20, "the source viewer")[0]
    cited = _wait_for(
        lambda: dialog.find_elements(By.CSS_SELECTOR, '[class*="st-key-cited-"]'), 20, "cited lines"
    )
    text = dialog.text
    assert "第3章" in text and "企15" in text, text[:400]  # the section path people read, with the measure
    assert "引用箇所" in text and "行目" in text, "the line range is there as a small detail"
    assert "無料公衆無線" in cited[0].text
    background = driver.execute_script(
        "const s = arguments[0].querySelector('span[class], span[style]');"
        "return s ? getComputedStyle(s).backgroundColor : '';",
        cited[0],
    )
    assert background and background not in ("rgba(0, 0, 0, 0)", "transparent"), (
        "the cited lines are highlighted"
    )
    surrounding = [
        p for p in dialog.find_elements(By.CSS_SELECTOR, '[data-testid="stText"]') if p.text.strip()
    ]
    assert surrounding, "the section's text around the cited lines is shown too"
    _shots(driver, "source-viewer", focus=cited[0])


def test_thumbs_down_with_a_comment_is_stored_and_exported(
    stack: Stack, driver, built_data_dir: Path, tmp_path: Path
) -> None:
    comment = f"担当課の表記が古い（browser {time.time_ns()}）"
    _open(driver, stack.ui_url)
    answer = _ask(driver, "無料公衆無線LANの整備はどこの課の担当ですか？")
    _click(driver, _button(answer, "違う・足りない"))
    area = _wait_for(lambda: _css(driver, '[data-testid="stTextArea"] textarea'), 10, "the comment box")[0]
    area.click()
    area.send_keys(comment)
    _shots(driver, "feedback-comment", focus=area)
    _click(driver, _button(driver, "送信"))
    _wait_for(lambda: "フィードバックを送信しました" in driver.page_source, 15, "the thank-you note")
    export = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant.cli",
            "feedback",
            "export",
            "--format",
            "jsonl",
            "--data-dir",
            str(built_data_dir),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    rows = [json.loads(x) for x in export.stdout.splitlines()]
    mine = [r for r in rows if r["comment"] == comment]
    assert len(mine) == 1 and mine[0]["verdict"] == "down" and mine[0]["citations"], mine
    assert mine[0]["question"] == "無料公衆無線LANの整備はどこの課の担当ですか？"
    _click(driver, driver.find_element("xpath", "//label[normalize-space(.)='フィードバック']"))
    _wait_for(
        lambda: "フィードバック" in " ".join(h.text for h in _css(driver, "h2")), 15, "the feedback page"
    )
    _wait_for(lambda: _css(driver, '[data-testid="stDataFrame"]'), 15, "the feedback table")
    _shots(driver, "feedback-page")


def test_a_reload_keeps_the_conversation_and_new_conversation_starts_afresh(stack: Stack, driver) -> None:
    _open(driver, stack.ui_url)
    _ask(driver, "無料公衆無線LANの整備はどこの課の担当ですか？")
    _ask(driver, "事業開始はいつ？", count=2)
    url = driver.current_url
    assert "?c=" in url, url
    before = [m.text for m in _css(driver, '[data-testid="stChatMessage"]')]
    driver.refresh()
    _wait_for(
        lambda: len(_answers(driver)) == 2 and _finished(driver, 2), 30, "the conversation after a reload"
    )
    assert [m.text for m in _css(driver, '[data-testid="stChatMessage"]')] == before
    assert driver.current_url == url
    _shots(driver, "reload-keeps-conversation", focus=_css(driver, USER)[0])
    _click(driver, _button(driver, "新しい会話"))
    _wait_for(lambda: not _css(driver, '[data-testid="stChatMessage"]'), 15, "an empty conversation")
    _wait_for(lambda: driver.current_url != url, 10, "a new conversation id in the URL")


RUN_DEMO = (
    "import sys; from pathlib import Path; from assistant.launch import run_demo; "
    "sys.exit(run_demo(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])))"
)


def _api_pid(port: int) -> int:
    """The PID of the API child `run_demo` started (read from /proc by its port; nothing else is touched)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if f"--port {port}" in cmd and " serve " in cmd:
                return int(entry.name)
    pytest.fail(f"no API process on port {port}")


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_the_api_stopping_mid_conversation_keeps_the_conversation_and_demo_restarts_it(
    built_data_dir: Path, tmp_path: Path, driver
) -> None:
    api_port, ui_port = free_port(), free_port()
    api_url, ui_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{ui_port}"
    log = (tmp_path / "demo.log").open("wb")
    demo = subprocess.Popen(
        [sys.executable, "-c", RUN_DEMO, str(built_data_dir), str(api_port), str(ui_port)],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for(lambda: _healthy(f"{api_url}/health") and _healthy(f"{ui_url}/_stcore/health"), 240, "demo")
        _open(driver, ui_url)
        _ask(driver, "無料公衆無線LANの整備はどこの課の担当ですか？")
        first = _api_pid(api_port)
        os.kill(first, signal.SIGKILL)  # the API dies (the one this test's demo started, by its PID)
        _wait_for(lambda: not _healthy(f"{api_url}/health"), 10, "the API going away")
        _type(driver, "事業開始はいつ？")
        _wait_for(lambda: UNAVAILABLE_WORDS in driver.page_source, 30, "the unavailable message")
        assert "Connection error" not in driver.page_source and "Traceback" not in driver.page_source
        assert len(_answers(driver)) == 1, "the first answer is still on screen"
        assert "事業開始はいつ？" in " ".join(m.text for m in _css(driver, USER)), (
            "the question that failed stays"
        )
        _type(driver, "下書きの質問", send=False)
        _shots(driver, "api-unavailable")
        _wait_for(lambda: _healthy(f"{api_url}/health"), 240, "the API restarted by demo")
        assert _api_pid(api_port) != first and demo.poll() is None
        _click(driver, _wait_for(lambda: _button(driver, "再試行"), 10, "the retry button"))
        _wait_for(lambda: _finished(driver, 2), ANSWER_WAIT_S, "the answer after the API is back")
        _wait_for(lambda: UNAVAILABLE_WORDS not in driver.page_source, 15, "the message going away")
        assert _css(driver, CHAT_INPUT)[0].get_attribute("value") == "下書きの質問", "the typed text stays"
        _shots(driver, "api-back")
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=60) == 0
    finally:
        if demo.poll() is None:  # a failed check: let run_demo stop its own children (by their PIDs) first
            demo.send_signal(signal.SIGINT)
            try:
                demo.wait(timeout=60)
            except subprocess.TimeoutExpired:
                demo.kill()
                demo.wait()
        log.close()
    assert "restarting it" in (tmp_path / "demo.log").read_text(errors="replace")


def test_on_a_phone_no_sidebar_stays_open_and_nothing_is_cut_off(stack: Stack, driver) -> None:
    from selenium.webdriver.common.by import By

    _open(driver, stack.ui_url)
    for button in _css(driver, '[data-testid="stButton"] button'):  # the example questions at 1400 px
        assert driver.execute_script(
            "return arguments[0].scrollWidth <= arguments[0].clientWidth + 1;", button
        )
        assert "…" not in button.text
    driver.set_window_size(*SIZES[1])
    time.sleep(1.5)

    def sidebar_closed() -> bool:
        bar = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebar"]')
        if not bar:
            return True
        rect = driver.execute_script("return arguments[0].getBoundingClientRect().right;", bar[0])
        return bar[0].get_attribute("aria-expanded") == "false" or rect <= 1

    assert sidebar_closed(), "the sidebar is closed on a phone"
    for page in ("KPI一覧", "施策一覧", "質問する"):
        _click(driver, driver.find_element(By.XPATH, f"//label[normalize-space(.)='{page}']"))
        _wait_for(lambda p=page: p in " ".join(h.text for h in _css(driver, "h2")), 20, f"the {page} page")
        assert sidebar_closed(), f"the sidebar stays closed after picking {page}"
        if page == "KPI一覧":
            _wait_for(lambda: _css(driver, '[data-testid="stDataFrame"] canvas'), 20, "the KPI table")
            _shots(driver, "mobile-kpi-page")
    box = _css(driver, CHAT_INPUT)[0]
    width = driver.execute_script(
        "const e = arguments[0]; const c = document.createElement('canvas').getContext('2d');"
        "c.font = getComputedStyle(e).font; return [c.measureText(e.placeholder).width, e.clientWidth];",
        box,
    )
    assert width[0] <= width[1], f"the placeholder fits the input at 390 px: {width}"
    driver.set_window_size(*SIZES[1])
    _ask(driver, "マイナンバーカードの県内普及率の目標と実績は？")
    _shots(driver, "mobile-kpi-answer", focus=_answers(driver)[0])


def test_a_list_answer_for_a_department_with_20_measures_is_one_short_table(stack: Stack, driver) -> None:
    from selenium.webdriver.common.by import By

    _open(driver, stack.ui_url)
    answer = _ask(driver, "情報政策課が担当している施策を全部教えて")
    _wait_for(
        lambda: answer.find_elements(By.CSS_SELECTOR, '[data-testid="stDataFrame"] canvas'), 20, "the table"
    )
    tables = answer.find_elements(By.CSS_SELECTOR, '[data-testid="stDataFrame"]')
    assert len(tables) == 1, "one table, not one card per measure"
    assert "事業開始" not in answer.text, "no measure cards (each card names its start year)"
    assert "担当所属: " in answer.text and answer.text.count("情報政策課") <= 3, answer.text[:500]
    summaries = [s.text for s in answer.find_elements(By.CSS_SELECTOR, '[data-testid="stExpander"] summary')]
    assert any("出典（" in s for s in summaries), summaries  # one expander for all the sources
    height = driver.execute_script("return arguments[0].getBoundingClientRect().height;", answer)
    assert height < 2500, f"the list answer is {height:.0f} px tall"
    _shots(driver, "list-answer", focus=answer)


def test_a_row_of_the_kpi_page_opens_its_kpi_card(stack: Stack, driver) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    entries = httpx.get(f"{stack.api_url}/kpis", timeout=10).json()
    row = next(i for i, k in enumerate(entries) if k["status"] == "未達")  # a row below the first
    assert row < 9, "the row must be on screen without scrolling the grid"
    _open(driver, stack.ui_url)
    _click(driver, driver.find_element(By.XPATH, "//label[normalize-space(.)='KPI一覧']"))
    canvas = _wait_for(lambda: _css(driver, '[data-testid="stDataFrame"] canvas'), 20, "the KPI table")[0]
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", canvas)
    time.sleep(0.5)
    width, height = driver.execute_script(
        "const r = arguments[0].getBoundingClientRect(); return [r.width, r.height];", canvas
    )
    row_px = (
        35  # Streamlit's data grid: a 35 px header, then 35 px rows; the selection box is the first column
    )
    ActionChains(driver).move_to_element_with_offset(
        canvas, int(-width / 2 + 16), int(-height / 2 + row_px * (row + 1) + row_px // 2)
    ).click().perform()
    title = entries[row]["item"]
    _wait_for(
        lambda: any(title in s.text for s in driver.find_elements(By.CSS_SELECTOR, "strong")),
        20,
        "the KPI card",
    )
    assert f"状況: {entries[row]['status']}" in driver.find_element(By.TAG_NAME, "body").text
    _shots(driver, "kpi-row-opens-card")
