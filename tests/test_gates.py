"""Spec of the ingest sanity gates and self-repair: a bad corpus never replaces the good index, a damaged index is
rebuilt by a plain `policy-assistant ingest`, and the index that serves is never pruned.

Every bad-corpus case asserts the same three things: exit code 2 with a line naming the document and the
problem, `CURRENT` unchanged, and the serving index still on disk and answering.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from assistant.schemas import AskRequest
from assistant.service import Assistant
from ingest.errors import DataDirError
from ingest.index import current_index_dir, open_index
from tests.conftest import break_data_dir, copy_corpus

pytestmark = pytest.mark.slow

PLAN = "miyagi-ict-policy-2021-2024.txt"
REPORT = "miyagi-ict-policy-r5-progress.txt"
QUESTION = "企15の担当課はどこ？"
runner = CliRunner()


@pytest.fixture
def data(built_data_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the session's good data dir."""
    dst = tmp_path / "data"
    shutil.copytree(built_data_dir, dst)
    return dst


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return copy_corpus(tmp_path / "corpus")


def _ingest(corpus: Path, data: Path, *extra: str):  # noqa: ANN202 - click Result
    return runner.invoke(app, ["ingest", "--corpus", str(corpus), "--data-dir", str(data), *extra])


def _answers(data: Path) -> str:
    resp = Assistant.open(data).ask(AskRequest(question=QUESTION))
    assert resp.answerable and "企15" in resp.answer
    return resp.answer


def _assert_refused(corpus: Path, data: Path, *needles: str) -> str:
    before = current_index_dir(data)
    result = _ingest(corpus, data)
    assert result.exit_code == 2, result.output
    message = result.output
    assert message.startswith("error: ") and "Traceback" not in message
    for needle in needles:
        assert needle in message, message
    assert current_index_dir(data) == before and before is not None and (before / "meta.json").is_file()
    _answers(data)
    return message


def _manifest_file(corpus: Path, doc_file: str, new: str) -> None:
    m = corpus / "manifest.toml"
    m.write_text(m.read_text(encoding="utf-8").replace(f'file = "{doc_file}"', f'file = "{new}"'), "utf-8")


def test_a_report_of_only_unicode_whitespace_is_refused(corpus: Path, data: Path) -> None:
    (corpus / REPORT).write_text("\u3000\t\n\u3000\u3000\t \n" * 40, encoding="utf-8")
    _assert_refused(corpus, data, "progress-r5", "empty")


@pytest.mark.parametrize("outside", ["/etc/hostname", "../../etc/os-release"])
def test_a_manifest_file_outside_the_corpus_is_refused(corpus: Path, data: Path, outside: str) -> None:
    _manifest_file(corpus, REPORT, outside)
    _assert_refused(corpus, data, "outside the corpus folder", "progress-r5")


def test_a_report_without_its_records_is_refused(corpus: Path, data: Path) -> None:
    (corpus / REPORT).write_text("R5年度実績\n\nこの報告書は準備中です。\n", encoding="utf-8")
    _assert_refused(corpus, data, "progress-r5", "yields no KPI boxes or initiatives")


def test_a_report_pasted_twice_stops_unless_accepted(corpus: Path, data: Path) -> None:
    text = (corpus / REPORT).read_text(encoding="utf-8")
    (corpus / REPORT).write_text(text + "\n" + text, encoding="utf-8")
    _assert_refused(corpus, data, "progress-r5", "occur twice", "--accept-changes")
    accepted = _ingest(corpus, data, "--accept-changes")
    assert accepted.exit_code == 0, accepted.output


def test_a_shrink_beyond_the_limit_stops_and_the_last_good_index_is_never_pruned(
    corpus: Path, data: Path
) -> None:
    good = current_index_dir(data)
    assert good is not None
    manifest = corpus / "manifest.toml"
    entries = manifest.read_text(encoding="utf-8").split("[[documents]]")
    manifest.write_text("[[documents]]".join(e for e in entries if REPORT not in e), encoding="utf-8")
    message = _assert_refused(corpus, data, "initiatives falls from 49 to 0", "limit -30%")
    assert "progress_kpi_boxes falls from 12 to 0" in message
    # accepted twice more (each new index replaces the one before): the last index that passed the gates stays
    for _ in range(2):
        result = _ingest(corpus, data, "--accept-changes", "--force")
        assert result.exit_code == 0, result.output
    assert good.is_dir() and (good / "meta.json").is_file()
    assert current_index_dir(data) != good


def test_a_50_mb_document_exits_2_at_once_naming_the_size_and_the_limit(corpus: Path, data: Path) -> None:
    line = "施策の概要を記載する行です。" * 20 + "\n"
    with open(corpus / REPORT, "w", encoding="utf-8") as fh:
        fh.write(line * (50 * 1024 * 1024 // len(line.encode())))
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "ingest", "--corpus", str(corpus), "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ},
    )
    seconds = time.perf_counter() - t0
    assert out.returncode == 2, out.stderr
    assert (
        "over the limit of 5,242,880 bytes" in out.stderr
        and "POLICY_ASSISTANT_MAX_DOCUMENT_BYTES" in out.stderr
    )
    assert "Traceback" not in out.stderr
    assert (
        seconds < 30
    )  # generous: the bound of 5 s is measured in the report, the process start included
    _answers(data)


def _garble(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize(
    "part", ["catalog.json", "chunks.jsonl", "lexical.json", "sources.json", "chroma/chroma.sqlite3"]
)
def test_a_damaged_index_file_is_named_and_plain_ingest_repairs_it(
    data: Path, corpus: Path, part: str
) -> None:
    index = current_index_dir(data)
    assert index is not None
    _garble(index / part)
    with pytest.raises(DataDirError) as err:
        open_index(data)
    message = str(err.value)
    assert part.split("/")[0] in message and f"policy-assistant ingest --data-dir {data}" in message
    result = _ingest(corpus, data)  # no --force: the fix the message names works
    assert result.exit_code == 0, result.output
    assert "the serving index was damaged" in result.output and "rebuilt it" in result.output
    assert current_index_dir(data) != index
    _answers(data)
    again = _ingest(corpus, data)
    assert "unchanged, nothing to do" in again.output


def test_meta_json_records_the_checksums_and_the_gate_outcome(data: Path) -> None:
    index = current_index_dir(data)
    assert index is not None
    meta = json.loads((index / "meta.json").read_text(encoding="utf-8"))
    assert set(meta["checksums"]) == {"catalog.json", "chunks.jsonl", "lexical.json", "sources.json"}
    assert meta["gates"] == "passed"


def test_the_summary_prints_each_stated_count_beside_the_parsed_one(corpus: Path, data: Path) -> None:
    result = _ingest(corpus, data)
    assert result.exit_code == 0, result.output
    plan = (corpus / PLAN).read_text(encoding="utf-8")
    assert "（計 27）" in plan  # what the plan says about itself ...
    assert (
        "plan KPIs          29 (2 （調整中）)   [the documents state 27]" in result.output
    )  # ... beside the parse
    assert "54 listings / 47 distinct (7 re-listed)   [the documents state 54 / 47 / 7]" in result.output


@pytest.mark.parametrize(
    "how",
    [
        "CURRENT is garbage",
        "CURRENT names a missing index",
        "meta.json missing",
        "chroma store missing",
        "sources.json missing",
    ],
)
def test_a_broken_data_dir_is_repaired_by_a_plain_ingest(data: Path, corpus: Path, how: str) -> None:
    assert current_index_dir(data) is not None
    break_data_dir(data, how)
    with pytest.raises(DataDirError) as err:
        open_index(data)
    assert "policy-assistant ingest --data-dir" in str(err.value)
    result = _ingest(corpus, data)
    assert result.exit_code == 0, result.output
    _answers(data)
