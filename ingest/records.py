"""Typed records that ingest reconstructs from the corpus.

Every record carries where it came from (`doc_id`, 1-based `line_start`/`line_end` in the source file),
so an answer can cite it; a record read under a heading also names the lines outside its span that its fields
were read from (`context_lines`: the heading its goal is printed in, a KPI table's `Ｒ３ Ｒ４ …` header that names
its target years), so the verification gate can find every label it states in the printed lines. Records are pydantic models so the catalog round-trips through JSON.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = [
    "Quantity",
    "Document",
    "Owner",
    "Measure",
    "PlanKpi",
    "Section",
    "GlossaryTerm",
    "ProgressTotals",
    "Initiative",
    "ProgressKpi",
    "ParseWarning",
    "Catalog",
    "Chunk",
]


class Quantity(BaseModel):
    """A figure as printed (`raw`) and as parsed (`value`, `unit`).

    `value` is None for placeholders such as `-` or `（実証事業）`.
    Examples: `1,187` -> 1187.0; `約5万2千件` -> 52000.0 件; `12.5%` -> 12.5 %.
    """

    raw: str
    value: float | None = None
    unit: str | None = None
    approx: bool = False


class Document(BaseModel):
    """One source document of the corpus, as described by the manifest."""

    doc_id: str
    title: str
    kind: Literal["plan", "progress"]
    file: str
    period: str | None = None
    fiscal_year: int | None = None
    as_of: str | None = None
    as_of_raw: str | None = None  # the as-of line as printed, when the document states one (read by ingest)
    as_of_line: int | None = None
    sha256: str = ""
    line_count: int = 0


class Owner(BaseModel):
    """担当所属: the owning bureau (部・局・庁・本部) and section (課・室・センター) with its own start year."""

    bureau: str
    section: str
    start_year_raw: str | None = None  # as printed, e.g. "H29"; None when the cell is a dash
    start_year: int | None = None  # Western fiscal year, e.g. 2017


class Measure(BaseModel):
    """施策: one listing of a measure in a 主な個別施策 table of the plan."""

    doc_id: str
    measure_id: str  # NFKC-normalised, e.g. "企15", "出・総1", "企・警12"
    name: str | None = None  # None for (調整中) placeholders
    kpi_mark: bool = False  # ★
    relisted: bool = False  # 再
    placeholder: bool = False  # (調整中)
    owners: list[Owner] = Field(default_factory=list)
    overview: str = ""  # 概要・目的
    goal: str = ""  # goal or foundation section the table belongs to
    section_path: list[str] = Field(default_factory=list)
    line_start: int = 0
    line_end: int = 0
    context_lines: list[int] = Field(default_factory=list)  # the headings its goal was read from


class PlanKpi(BaseModel):
    """目標指標 (KPI): one row of a plan KPI table."""

    doc_id: str
    kpi_id: str  # deterministic, e.g. "plan-2021:kpi:03"
    measure_ids: list[str] = Field(default_factory=list)  # expanded: 企8～11,29 -> 企8..企11, 企29
    measure_ref_raw: str = ""  # as printed (NFKC), e.g. "企8～11,29"
    item: str
    unit: str | None = None
    baseline: Quantity | None = None
    baseline_date_raw: str | None = None  # e.g. "R2.12", "R1年度"
    baseline_fiscal_year: int | None = None
    targets: dict[str, Quantity] = Field(default_factory=dict)  # keys "R3".."R6"
    reference_value: bool = False  # ※参考値
    placeholder: bool = False  # (調整中): a numbered row with no item or figures yet
    goal: str = ""
    line_start: int = 0
    line_end: int = 0
    context_lines: list[int] = Field(default_factory=list)  # its goal's headings, the Ｒ３ Ｒ４ … header


class Section(BaseModel):
    """A narrative section of a document (章, 1, (1), イ) with cleaned text."""

    doc_id: str
    section_id: str  # deterministic, e.g. "plan-2021:sec:012"
    level: int  # 1 = 章
    label: str  # as printed, e.g. "第２章", "1", "(1)", "イ"
    title: str
    path: list[str] = Field(default_factory=list)  # titles from the top down, this one last
    text: str = ""
    line_start: int = 0
    line_end: int = 0


class GlossaryTerm(BaseModel):
    """用語解説: a glossary entry."""

    doc_id: str
    number: str | None = None
    term: str
    definition: str
    line_start: int = 0
    line_end: int = 0


class ProgressTotals(BaseModel):
    """Totals printed on the progress report's overview page."""

    doc_id: str
    fiscal_year: int  # the report's year, e.g. 2023 for R5
    project_count: Quantity  # 事業数
    amount: Quantity  # e.g. 1.5億円
    amount_kind: str  # 決算額 | 予算額
    reference_year_raw: str | None = None  # e.g. "R4"
    reference_project_count: Quantity | None = None
    reference_amount: Quantity | None = None
    reference_amount_kind: str | None = None
    by_goal: list[dict[str, str]] = Field(default_factory=list)  # {"goal":..., "count": raw, "amount": raw}
    line_start: int = 0
    line_end: int = 0


class Initiative(BaseModel):
    """R5年度の主要取組: one initiative of the progress report, under the goal it belongs to."""

    doc_id: str
    goal: str
    guideline: str | None = None  # ポリシー行動指針 bullet it follows
    text: str
    detail: str | None = None
    new: bool = False  # 【新規】
    line_start: int = 0
    line_end: int = 0
    context_lines: list[int] = Field(default_factory=list)  # its goal heading, its 行動指針 bullets


class ProgressKpi(BaseModel):
    """A KPI box of the progress report."""

    doc_id: str
    kpi_id: str
    goal: str
    name: str
    unit: str | None = None
    baseline: Quantity | None = None
    baseline_year_raw: str | None = None
    latest: Quantity | None = None
    latest_year_raw: str | None = None
    target: Quantity | None = None
    target_year_raw: str | None = None
    achievement_rate_raw: str | None = None  # printed 達成率, e.g. "70%"
    notes: list[str] = Field(default_factory=list)
    measure_ids: list[str] = Field(default_factory=list)
    plan_kpi_id: str | None = None
    line_start: int = 0
    line_end: int = 0
    context_lines: list[int] = Field(default_factory=list)  # its goal heading


class ParseWarning(BaseModel):
    """A line the parser could not place."""

    doc_id: str
    line: int
    text: str
    reason: str


class Catalog(BaseModel):
    """Everything ingest read from the corpus."""

    schema_version: int = 1
    documents: list[Document] = Field(default_factory=list)
    measures: list[Measure] = Field(default_factory=list)
    kpis: list[PlanKpi] = Field(default_factory=list)
    sections: list[Section] = Field(default_factory=list)
    glossary: list[GlossaryTerm] = Field(default_factory=list)
    totals: list[ProgressTotals] = Field(default_factory=list)
    initiatives: list[Initiative] = Field(default_factory=list)
    progress_kpis: list[ProgressKpi] = Field(default_factory=list)
    warnings: list[ParseWarning] = Field(default_factory=list)


class Chunk(BaseModel):
    """A retrieval unit: one measure listing, KPI row, progress KPI box, narrative passage or glossary entry.

    `chunk_id` is a content hash, so re-ingesting unchanged text yields the same id (idempotent upsert).
    `text` is what is embedded and shown; `search_text` (optional) adds words for lexical search only.
    """

    chunk_id: str
    doc_id: str
    kind: Literal["measure", "kpi", "progress_kpi", "section", "glossary", "initiative", "totals"]
    text: str
    measure_ids: list[str] = Field(default_factory=list)
    section: str = ""  # section path joined with " > "
    goal: str = ""
    departments: list[str] = Field(default_factory=list)
    record_ref: str = ""  # id of the record the chunk renders (kpi_id, section_id, measure_id@line)
    line_start: int = 0
    line_end: int = 0
