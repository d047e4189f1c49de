"""`policy-assistant ingest`: the catalog it writes, its summary, bad input, and edits that the catalog follows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from ingest.catalog import build_catalog, catalog_summary
from ingest.index import current_index_dir, ingest
from ingest.records import Catalog
from tests.conftest import EMBEDDING_CACHE, copy_corpus

runner = CliRunner()
PLAN = "miyagi-ict-policy-2021-2024.txt"
REPORT = "miyagi-ict-policy-r5-progress.txt"


def _catalog(data_dir: Path) -> Catalog:
    return Catalog.model_validate_json(
        (current_index_dir(data_dir) / "catalog.json").read_text(encoding="utf-8")
    )


def _edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= count, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def test_ingest_command_prints_the_summary_and_writes_the_catalog(tmp_path: Path, corpus_dir: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant.cli",
            "ingest",
            "--corpus",
            str(corpus_dir),
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ},
    )
    assert out.returncode == 0, out.stderr
    assert "54 listings / 47 distinct (7 re-listed)" in out.stdout
    assert "plan KPIs          29" in out.stdout
    assert "progress KPI boxes 12" in out.stdout
    assert "warning:" in out.stderr  # lines the parser could not place are reported, not hidden
    cat = _catalog(tmp_path)
    assert {d.doc_id for d in cat.documents} == {"plan-2021", "progress-r5"}
    assert {d.title for d in cat.documents} == {
        "みやぎ情報化推進ポリシー（2021～2024）",
        "「みやぎ情報化推進ポリシー」R5年度実績",
    }


def test_default_data_dir_comes_from_the_environment(tmp_path: Path, corpus_dir: Path, monkeypatch) -> None:
    from assistant.config import get_settings

    monkeypatch.setenv("POLICY_ASSISTANT_DATA_DIR", str(tmp_path / "from-env"))
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["ingest", "--corpus", str(corpus_dir)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert (tmp_path / "from-env" / "CURRENT").is_file()


def test_counts_agree_with_what_the_plan_states(corpus_dir: Path) -> None:
    s = catalog_summary(build_catalog(corpus_dir))
    # 「主な個別施策計 54（実数計 47・再掲計 7）と目標指標（ＫＰＩ）（計 27）」: 29 KPI rows, two of them (調整中)
    assert (s["measure_listings"], s["measures_distinct"], s["measures_relisted"]) == (54, 47, 7)
    cat = build_catalog(corpus_dir)
    assert len(cat.kpis) == 29 and sum(k.placeholder for k in cat.kpis) == 2


@pytest.mark.parametrize(
    ("case", "expect"),
    [
        ("missing_file", PLAN),
        ("unknown_kind", "kind must be one of plan, progress"),
        ("empty_file", "is empty"),
        ("binary_file", "binary"),
        ("no_manifest", "manifest.toml is missing"),
    ],
)
def test_bad_corpus_exits_2_naming_the_file_and_leaves_the_data_dir_untouched(
    case: str, expect: str, tmp_path: Path, built_data_dir: Path
) -> None:
    corpus = copy_corpus(tmp_path / "corpus")
    manifest = corpus / "manifest.toml"
    if case == "missing_file":
        (corpus / PLAN).unlink()
    elif case == "unknown_kind":
        _edit(manifest, 'kind = "progress"', 'kind = "report"')
    elif case == "empty_file":
        (corpus / REPORT).write_text("", encoding="utf-8")
    elif case == "binary_file":
        (corpus / REPORT).write_bytes(b"\x00\x01PK\x03\x04" * 10)
    elif case == "no_manifest":
        manifest.unlink()
    before = {p: p.stat().st_mtime_ns for p in built_data_dir.rglob("*") if p.is_file()}
    result = runner.invoke(app, ["ingest", "--corpus", str(corpus), "--data-dir", str(built_data_dir)])
    assert result.exit_code == 2
    assert expect in result.output
    assert "Traceback" not in result.output
    after = {p: p.stat().st_mtime_ns for p in built_data_dir.rglob("*") if p.is_file()}
    assert after == before


def test_catalog_follows_edits_of_the_corpus(tmp_path: Path) -> None:
    """No corpus fact lives in code: rename a department, change a KPI target and a progress figure."""
    corpus = copy_corpus(tmp_path / "corpus")
    plan, report = corpus / PLAN, corpus / REPORT
    _edit(plan, "情報政策課 \n\nH29", "デジタル推進課 \n\nH29")  # 企15's owner
    _edit(plan, "1,187 1,459 1,731 2,003", "1,187 1,459 1,800 2,003")  # Wi-Fi R5 target
    _edit(report, "78.34%R2", "81.25%R2")  # マイナンバー R5 actual
    data = tmp_path / "data"
    ingest(corpus, data, embedding_cache=EMBEDDING_CACHE)
    cat = _catalog(data)
    m15 = next(m for m in cat.measures if m.measure_id == "企15")
    assert [o.section for o in m15.owners] == ["デジタル推進課"]
    wifi = next(k for k in cat.kpis if "企15" in k.measure_ids)
    assert wifi.targets["R5"].raw == "1,800" and wifi.targets["R5"].value == 1800
    box = next(p for p in cat.progress_kpis if p.latest and p.latest.raw.startswith("81.25"))
    assert box.latest.value == 81.25 and box.latest.unit == "%"


def test_manifest_adds_a_document_without_code(tmp_path: Path) -> None:
    """Next year's report is a file and a manifest entry."""
    corpus = copy_corpus(tmp_path / "corpus")
    text = (corpus / REPORT).read_text(encoding="utf-8").replace("R5年度実績", "R6年度実績")
    (corpus / "r6.txt").write_text(text, encoding="utf-8")
    with open(corpus / "manifest.toml", "a", encoding="utf-8") as fh:
        fh.write(
            '\n[[documents]]\ndoc_id = "progress-r6"\ntitle = "R6年度実績"\nkind = "progress"\nfile = "r6.txt"\n'
        )
    cat = build_catalog(corpus)
    assert [d.doc_id for d in cat.documents] == ["plan-2021", "progress-r5", "progress-r6"]
    assert {p.doc_id for p in cat.progress_kpis} == {"progress-r5", "progress-r6"}


def test_catalog_round_trips_through_json(built_data_dir: Path) -> None:
    path = current_index_dir(built_data_dir) / "catalog.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert Catalog.model_validate(raw).model_dump(mode="json") == raw


def test_progress_boxes_without_a_plan_kpi_link_to_a_measure_only_on_a_clear_name_match(
    corpus_dir: Path,
) -> None:
    cat = build_catalog(corpus_dir)
    by_name = {p.name: p for p in cat.progress_kpis}
    assert by_name["議事録作成の削減時間"].measure_ids == ["企3"]  # 議事録作成支援システムの運用
    assert by_name["電子決裁率"].measure_ids == []  # no measure name shares a topic: stays unlinked
    linked = [p for p in cat.progress_kpis if p.plan_kpi_id]
    assert {p.name for p in linked} >= {"電子申請サービス導入市町村数", "県内マイナンバーカード交付率"}


def test_ask_command_rejects_an_empty_question_with_exit_2(built_data_dir: Path) -> None:
    result = runner.invoke(app, ["ask", "   ", "--data-dir", str(built_data_dir)])
    assert result.exit_code == 2 and "question" in result.output and "Traceback" not in result.output
    ok = runner.invoke(
        app, ["ask", "無料公衆無線LANの整備はどこの課？", "--data-dir", str(built_data_dir), "--json"]
    )
    assert ok.exit_code == 0 and '"answerable": true' in ok.output
