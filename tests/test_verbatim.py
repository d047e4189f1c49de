"""Spec of the verbatim gate: every figure and department an answer states is found in the source lines of the
records it cites (as printed, kept in the index), not in our rendering of those records.

The gate cases run the real `respond()` on a tiny hand-made catalog and its source lines: a record that says
more than its lines print is the one mistake a rendering can never catch, and no parse of a real corpus makes it.
"""

from __future__ import annotations

from pathlib import Path

from assistant.draft import Draft, Evidence, kpi_evidence, measure_evidence
from assistant.knowledge import Knowledge, squash
from assistant.respond import respond
from assistant.schemas import AskRequest
from assistant.service import Assistant
from ingest.index import open_index
from ingest.normalize import number_tokens
from ingest.records import Catalog, Document, Measure, Owner, PlanKpi, Quantity
from ingest.sources import verbatim
from tests.conftest import read_lines

PLAN = "miyagi-ict-policy-2021-2024.txt"
LINES = [
    "目標指標（ＫＰＩ）",  # 1
    "Ｒ３ Ｒ４ Ｒ５ Ｒ６",  # 2: the header that names the target columns
    "企99 見本Wi-Fi導入箇所数 （箇所）",  # 3
    "915",  # 4
    "（R2.12）",  # 5
    "1,187 1,459 1,800 2,003",  # 6: the source prints 1,800 for R5
    "",  # 7
    "企99 見本施策 震災復興・企",  # 8
    "画部 情報政",  # 9
    "策課 H29",  # 10
]


def _kpi(r5: str, context: list[int]) -> PlanKpi:
    raw = ["1,187", "1,459", r5, "2,003"]
    return PlanKpi(
        doc_id="doc",
        kpi_id="doc:kpi:01",
        measure_ids=["企99"],
        measure_ref_raw="企99",
        item="見本Wi-Fi導入箇所数",
        unit="箇所",
        baseline=Quantity(raw="915", value=915),
        baseline_date_raw="R2.12",
        targets={
            y: Quantity(raw=v, value=float(v.replace(",", "")))
            for y, v in zip(["R3", "R4", "R5", "R6"], raw, strict=True)
        },
        line_start=3,
        line_end=6,
        context_lines=context,
    )


def _measure(section: str = "情報政策課") -> Measure:
    owner = Owner(bureau="震災復興・企画部", section=section, start_year_raw="H29", start_year=2017)
    return Measure(
        doc_id="doc", measure_id="企99", name="見本施策", owners=[owner], line_start=8, line_end=10
    )


def _knowledge(*records: PlanKpi | Measure, others: tuple[str, ...] = ()) -> Knowledge:
    doc = Document(doc_id="doc", title="見本計画", kind="plan", file="doc.txt")
    extra = [
        Measure(doc_id="doc", measure_id=f"他{i}", owners=[Owner(bureau="土木部", section=s)], line_start=99)
        for i, s in enumerate(others)
    ]
    cat = Catalog(
        documents=[doc],
        kpis=[r for r in records if isinstance(r, PlanKpi)],
        measures=[r for r in records if isinstance(r, Measure)] + extra,
    )
    return Knowledge(cat, None, {"doc": LINES})


def _answer(k: Knowledge, line: str, *evidence: Evidence) -> tuple[bool, str]:
    resp = respond(None, Draft(lines=[line], evidence=list(evidence)), [], [], k)
    return resp.answerable, resp.answer


def test_a_figure_in_the_rendered_record_but_not_in_its_source_lines_is_withheld() -> None:
    wrong = _kpi("1,731", context=[2])  # a parse that read 1,731 where the source prints 1,800
    ev = kpi_evidence(wrong)
    assert "1,731" in ev.quote and "1731" not in number_tokens(verbatim({"doc": LINES}, "doc", 3, 6))
    ok, text = _answer(_knowledge(wrong), "見本Wi-Fi導入箇所数のR5（2023年度）の目標値は1,731箇所です。", ev)
    assert not ok and "1,731" not in text and "根拠資料で確認できる回答を作成できませんでした" in text


def test_a_figure_the_source_lines_print_passes() -> None:
    right = _kpi("1,800", context=[2])
    ok, text = _answer(
        _knowledge(right), "見本Wi-Fi導入箇所数のR5（2023年度）の目標値は1,800箇所です。", kpi_evidence(right)
    )
    assert ok and "1,800箇所" in text


def test_target_years_are_read_from_the_table_header_the_record_names() -> None:
    """The row prints only figures; its years are in the header (context_lines). Without it, R5 is unbacked."""
    line = "見本Wi-Fi導入箇所数のR5（2023年度）の目標値は1,800箇所です。"
    without = _kpi("1,800", context=[])
    ok, _ = _answer(_knowledge(without), line, kpi_evidence(without))
    assert not ok


def test_names_and_figures_split_over_lines_still_match() -> None:
    m = _measure()
    assert "情報政\n策課" in "\n".join(LINES) and "震災復興・企\n画部" in "\n".join(LINES)
    k = _knowledge(m, others=("河川課",))
    ok, text = _answer(
        k,
        "企99「見本施策」の担当所属は震災復興・企画部 情報政策課（事業開始はH29）です。",
        measure_evidence(m),
    )
    assert ok and "情報政策課" in text
    ok, _ = _answer(k, "企99の担当所属は土木部 河川課です。", measure_evidence(m))
    assert not ok  # a department its lines do not print


def test_verbatim_joins_lines_without_fusing_two_printed_figures() -> None:
    src = {"d": ["1,", "187件", "35", "40自治体", "情報政", "", "策課 ", "12.", "5%"]}
    text = verbatim(src, "d", 1, 9)
    assert "1187" in number_tokens(text)  # a figure broken over two lines
    assert {"35", "40"} <= number_tokens(text) and "3540" not in number_tokens(text)  # two cells stay two
    assert "情報政策課" in squash(text) and "12.5" in number_tokens(text)
    assert (
        verbatim(src, "d", 0, 0) == ""
        and verbatim(src, "other", 1, 2) == ""
        and verbatim(src, "d", 50, 60) == ""
    )


def test_evidence_without_a_line_span_backs_nothing() -> None:
    kpi = _kpi("1,800", context=[2])
    spanless = Evidence("doc", 0, 0, kpi_evidence(kpi).quote)
    ok, _ = _answer(_knowledge(kpi), "見本Wi-Fi導入箇所数の目標値は1,800箇所です。", spanless)
    assert not ok


def test_the_index_keeps_the_source_lines_as_read(built_data_dir: Path) -> None:
    sources = open_index(built_data_dir).sources
    assert sources["plan-2021"] == read_lines(PLAN)
    assert set(sources) == {"plan-2021", "progress-r5"}


def test_a_real_owner_split_over_lines_is_answered(assistant: Assistant) -> None:
    m = assistant.k.primary("企15")
    assert m is not None
    span = read_lines(PLAN)[m.line_start - 1 : m.line_end]
    assert "震災復興・企" in [s.strip() for s in span]  # the bureau is broken over two lines in the source
    resp = assistant.ask(AskRequest(question="企15の担当課はどこ？"))
    assert resp.answerable and "震災復興・企画部 情報政策課" in resp.answer
