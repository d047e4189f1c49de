"""The chat UI in a real browser: Debian's headless Chromium, driven by Selenium, against the real API and UI.

The API (`policy-assistant serve`) and the Streamlit UI run as subprocesses on free loopback ports; the test
types a KPI question into the chat input, presses Enter, waits (bounded) for the assistant message with the
answer figure, a citation and the KPI chart, and saves a screenshot to `evals/screenshots/kpi-answer.png`
for review. Chromium missing is a failure naming the apt-get command (`.ci/run` installs it), never a skip.
"""

from __future__ import annotations

import importlib.util
import os
import re
import time
from pathlib import Path

import httpx
import pytest

from evals.browser_bench import CHAT_INPUT, chromium, missing_browser, serve_stack

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = ROOT / "evals" / "screenshots" / "kpi-answer.png"
QUESTION = "みやぎFree Wi-FiのR5の目標値は？"
ANSWER_WAIT_S = 60.0

ASSISTANT = '[data-testid="stChatMessage"]:has([data-testid="stChatMessageAvatarAssistant"])'


def _require_browser() -> None:
    if importlib.util.find_spec("selenium") is None:
        pytest.fail("the Python package selenium is missing; run `make setup` (it is in the [test] extra)")
    problem = missing_browser()
    if problem:
        pytest.fail(f"{problem} (as root; `.ci/run` does this before `make test`)")


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not appear within {timeout:.0f} s")
        time.sleep(0.25)


def _finished_answer(driver):
    """The last assistant message once its citations and chart are drawn, else None."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    try:
        if driver.find_elements(By.CSS_SELECTOR, '[data-testid="stSpinner"]'):
            return None
        msgs = driver.find_elements(By.CSS_SELECTOR, ASSISTANT)
        if not msgs:
            return None
        last = msgs[-1]
        charts = last.find_elements(
            By.CSS_SELECTOR, '[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg'
        )
        citations = last.find_elements(By.CSS_SELECTOR, '[data-testid="stExpander"] summary')
        return last if charts and citations else None
    except StaleElementReferenceException:
        return None


def _full_height(driver) -> int:
    """Height that shows the whole chat (Streamlit scrolls inside its own main container)."""
    return int(
        driver.execute_script(
            "const m = document.querySelector('[data-testid=\"stMain\"]') || document.body;"
            "return Math.max(m.scrollHeight, document.body.scrollHeight);"
        )
    )


@pytest.mark.slow
@pytest.mark.server
def test_kpi_question_in_chromium_shows_answer_citation_and_chart(
    built_data_dir: Path, tmp_path: Path
) -> None:
    _require_browser()
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    with serve_stack(built_data_dir, tmp_path / "logs") as stack, chromium(1280, 1800) as driver:
        titles = [d["title"] for d in httpx.get(f"{stack.api_url}/documents", timeout=10).json()]
        driver.get(stack.ui_url)
        box = _wait_for(
            lambda: [e for e in driver.find_elements(By.CSS_SELECTOR, CHAT_INPUT) if e.is_displayed()],
            30,
            "the chat input",
        )[0]
        box.click()
        box.send_keys(QUESTION)
        box.send_keys(Keys.ENTER)
        answer = _wait_for(lambda: _finished_answer(driver), ANSWER_WAIT_S, "the assistant answer with chart")

        user_texts = [m.text for m in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stChatMessage"]')]
        assert QUESTION in user_texts[0], user_texts
        text = answer.text
        assert "1,731" in text.replace("，", ",") or "1731" in text, text[:800]  # plan KPI 企15, R5 target
        assert "出典" in text
        summaries = answer.find_elements(By.CSS_SELECTOR, '[data-testid="stExpander"] summary')
        labels = [s.text.splitlines()[-1] for s in summaries]  # the first line is the chevron icon's name
        assert labels[0].startswith("[1] ") and any(t in labels[0] for t in titles), labels
        assert re.search(r"L\d+", labels[0]), f"no line location in {labels[0]!r}"
        summaries[0].click()  # open the first citation: its quote is shown (and in the screenshot)
        quote = _wait_for(
            lambda: [
                d.text
                for d in answer.find_elements(By.CSS_SELECTOR, '[data-testid="stExpanderDetails"]')
                if d.is_displayed() and d.text.strip()
            ],
            10,
            "the quote of citation [1]",
        )[0]
        assert "1,731" in quote or "1731" in quote, quote

        height = min(max(_full_height(driver) + 40, 1800), 6000)
        driver.set_window_size(1280, height)
        time.sleep(1.0)  # let the chart re-lay out at the new width/height
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        assert driver.save_screenshot(str(SCREENSHOT)), f"could not write {SCREENSHOT}"
        assert SCREENSHOT.stat().st_size > 20_000, "screenshot looks empty"

    for pid in stack.pids:  # every child was stopped by its own PID
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
