"""Parse the plan's 主な個別施策 (measure) tables and 目標指標（ＫＰＩ） tables into typed records.

The PDF dump puts every table cell on its own line(s), separated by blank lines. This module walks the
non-blank lines once with a small state machine:

- headings (`第３章 …`, `１ …`, `(1) …`, `イ …`) give each table its `section_path` and `goal`;
- `主な個別施策 [count]` and a measure header (`事業名`, `概要・目的`, …) open a measure table;
  `目標指標（ＫＰＩ）` opens a KPI table whose `Ｒ３ Ｒ４ …` header line gives the target columns;
- a measure row is: id (possibly split `出・総` / `1`), optional 再, name lines, optional ★, overview lines,
  then one or more owner groups (bureau 部/局/庁/本部 + section 課/室/センター) each closed by a start-year
  cell (`H29`, `R2`, `-`). Everything after the last start-year cell up to the next row (the vertical
  視点・姿勢 labels, page-side tab labels, URLs) is dropped structurally;
- a KPI row is: optional measure reference, item, `（unit）`, then value cells (baseline, `（R2.12）`,
  targets) counted from the right, so rows that print fewer cells keep R6 in the R6 column.

No fact of the corpus is written here: only table markers, heading shapes and suffix patterns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.normalize import expand_measure_ref, fiscal_year, nfkc, normalize_measure_id, parse_quantity
from ingest.records import Measure, Owner, ParseWarning, PlanKpi

__all__ = ["PlanTables", "parse_plan", "is_placeholder_kpi"]

_PLACEHOLDER = "調整中"
_NAME_MAX = 12  # name-column lines are short; overview lines are wider
_OWNER_MAX = 8  # owner-column fragments are shorter still
_HEADINGS = [
    (1, re.compile(r"^(第[0-9０-９]+章)\s*(\S.*)$")),
    (2, re.compile(r"^([0-9０-９])\s+([^\s0-9０-９,，.].*)$")),
    (3, re.compile(r"^([(（][0-9０-９][)）])\s*(\S.*)$")),
    (4, re.compile(r"^([イロハニホヘト])\s+(\S.*)$")),
]
_MEASURE_MARK = re.compile(r"^主な個別施策\s*(\d*)$")
_KPI_MARK = re.compile(r"^目標指標\(KPI\)$")
_MEASURE_HEADER = {"事業名", "概要・目的", "担当所属・", "事業開始", "視点・姿勢", "★:KPI"}
_KPI_HEADER = {"施策", "No", "項目", "(単位)", "現状値", "(時点)"}
_ID = r"[\u4e00-\u9fff]{1,3}(?:・[\u4e00-\u9fff]{1,3})*"
_REF_RE = re.compile(rf"^({_ID})\s*([0-9０-９]+(?:\s*[~～〜,，、]\s*[0-9０-９]+)*)?(?:\s+(.*))?$")
_REF_DIGITS = re.compile(r"^[0-9０-９]+(?:\s*[~～〜,，、]\s*[0-9０-９]+)*$")
# what may follow the number on a measure row's first line
_ROW_MARKS = re.compile(r"^[★再\s]*(?:\(調整中\))?\s*$")
_YEAR_RE = re.compile(r"^(?:[RHS](?:\d{1,2}|元)|(?:令和|平成|昭和)(?:\d{1,2}|元)|[-‐‑‒–—―−])$")
_BUREAU_END = re.compile(r"(部|局|庁)$")
_SECTION_END = re.compile(r"(課|室|センター)(\(.*\))?$")
_UNIT_RE = re.compile(r"(?:^|\s)[（(]([^（）()]+)[）)]")
_DATE_RE = re.compile(r"^\(((?:R|H|令和|平成)(?:元|\d{1,2})(?:\.(\d{1,2})|年度|年)?)\)$")
_VALUE_RE = re.compile(r"^(?:約?[\d,.]+%?|[-‐‑‒–—―−]|\([^()]*\))$")
_ERA_TAG = re.compile(r"^[RH]\d{1,2}$")
_FOOTNOTE = re.compile(r"[＊*]\s*\d+")  # glossary markers, also split over lines: `＊` / `34`
_HALF_KANA = re.compile(r"^[\uff61-\uff9f]+$")


@dataclass
class PlanTables:
    """What `parse_plan` read: 施策 listings, 目標指標 rows and the lines it could not place."""

    measures: list[Measure] = field(default_factory=list)
    kpis: list[PlanKpi] = field(default_factory=list)
    warnings: list[ParseWarning] = field(default_factory=list)


def is_placeholder_kpi(kpi: PlanKpi) -> bool:
    """True for a (調整中) KPI row: printed with a measure number but no item, unit or figures."""
    return kpi.placeholder


@dataclass(frozen=True)
class _Ln:
    no: int  # 1-based line number in the source file
    text: str  # stripped, as printed
    norm: str  # NFKC of text


@dataclass
class _State:
    doc_id: str
    lines: list[_Ln]
    out: PlanTables = field(default_factory=PlanTables)
    path: list[tuple[int, str, str, int]] = field(default_factory=list)  # (level, label, title, line)
    mode: str = ""  # "" outside tables, "measure" or "kpi"
    target_keys: list[str] = field(default_factory=list)
    target_line: int = 0  # the header line (`Ｒ３ Ｒ４ Ｒ５ Ｒ６`) that names them
    last_ids: list[str] = field(default_factory=list)
    pending_ref: list[PlanKpi] = field(default_factory=list)  # rows marked ※ awaiting the ※参考値 legend
    stated: list[tuple[str, int, _Ln]] = field(default_factory=list)  # (goal, count, marker line)
    in_bullet: bool = False  # inside narrative bullets that a page break put between table rows

    def warn(self, ln: _Ln, reason: str) -> None:
        self.out.warnings.append(ParseWarning(doc_id=self.doc_id, line=ln.no, text=ln.text, reason=reason))

    @property
    def section_path(self) -> list[str]:
        return [f"{label} {title}" for _, label, title, _ in self.path]

    @property
    def goal(self) -> str:
        deeper = [(lv, lb, t) for lv, lb, t, _ in self.path if lv >= 3]
        if deeper:
            return " ".join(t if lv == 3 else f"{lb} {t}" for lv, lb, t in deeper)
        top = [t for lv, _, t, _ in self.path if lv == 2]
        return top[-1] if top else ""

    @property
    def goal_lines(self) -> list[int]:
        """The heading lines `goal` is read from."""
        deeper = [no for lv, _, _, no in self.path if lv >= 3]
        return deeper or [no for lv, _, _, no in self.path if lv == 2][-1:]


def parse_plan(lines: list[str], doc_id: str) -> PlanTables:
    """Parse every 主な個別施策 listing and 目標指標（ＫＰＩ） row of the plan.

    `lines` is the file split on "\\n" (index 0 = line 1). Lines outside the tables are ignored.
    """
    items = [_Ln(i + 1, s.strip(), nfkc(s).strip()) for i, s in enumerate(lines) if s.strip()]
    st = _State(doc_id=doc_id, lines=items)
    i = 0
    while i < len(items):
        i = _step(st, i)
    _check_stated_counts(st)
    for n, kpi in enumerate(st.out.kpis, start=1):
        kpi.kpi_id = f"{doc_id}:kpi:{n:02d}"
    return st.out


def _step(st: _State, i: int) -> int:
    nxt = _structural(st, i)
    if nxt is not None:
        st.in_bullet = False
        return nxt
    ln = st.lines[i]
    if st.mode and not _is_noise(st, ln):
        st.warn(ln, f"unplaced line in a {st.mode} table; expected a row starting with a measure number")
    return i + 1


def _structural(st: _State, i: int) -> int | None:
    """Handle a heading, a table marker or a table row at line i; return the next index, or None."""
    ln = st.lines[i]
    heading = _heading(ln)
    if heading:
        level = heading[0]
        st.path = [p for p in st.path if p[0] < level] + [(*heading, ln.no)]
        st.mode = ""
        return i + 1
    if m := _MEASURE_MARK.match(ln.norm):
        st.mode = "measure"
        if m.group(1):
            st.stated.append((st.goal, int(m.group(1)), ln))
        return i + 1
    if _KPI_MARK.match(ln.norm):
        st.mode, st.pending_ref = "kpi", []
        return _kpi_header(st, i + 1)
    if st.mode == "measure" and _ref_at(st.lines, i, measure=True):
        return _parse_measure(st, i)
    if st.mode != "kpi":
        return None
    if ln.norm in _MEASURE_HEADER:
        st.mode = "measure"
        return i + 1
    if _kpi_row_at(st.lines, i):
        return _parse_kpi(st, i)
    if _ref_at(st.lines, i, measure=True):  # a measure row right after a spliced KPI table
        st.mode = "measure"
        return i
    if ln.norm.startswith("※") and "参考値" in ln.norm:
        for kpi in st.pending_ref:
            kpi.reference_value = True
        st.pending_ref = []
        return i + 1
    return None


def _heading(ln: _Ln) -> tuple[int, str, str] | None:
    if len(ln.text) > 50 or ln.text.endswith("。"):
        return None
    for level, rx in _HEADINGS:
        if m := rx.match(ln.text):
            return level, m.group(1), " ".join(m.group(2).split())
    return None


def _is_noise(st: _State, ln: _Ln) -> bool:
    """Known noise: header cells, URLs, vertical 視点・姿勢 labels, page-side tab labels, narrative bullets."""
    s = ln.norm
    if s.startswith("○") or st.in_bullet:  # 行動指針 bullets printed inside a table: narrative
        st.in_bullet = not s.endswith("。")
        return True
    if s in _MEASURE_HEADER or s in _KPI_HEADER or s.startswith(("http://", "https://", "図")):
        return True
    if all(len(tok) <= 3 or _HALF_KANA.match(tok) for tok in ln.text.split()):
        return True
    return any(ln.text in title for _, _, title, _ in st.path)


# --- measure numbers -----------------------------------------------------------------------------------------


def _ref_at(items: list[_Ln], i: int, measure: bool) -> tuple[str, str, int] | None:
    """A measure number starting at line i: (ref as printed, rest of the line, index after the number)."""
    m = _REF_RE.match(items[i].text)
    if not m:
        return None
    prefix, digits, rest = m.group(1), m.group(2), m.group(3) or ""
    j = i + 1
    if digits is None:
        if rest or j >= len(items) or not _REF_DIGITS.match(items[j].text):
            return None
        digits, j = items[j].text, j + 1
    if measure and not (re.fullmatch(r"[0-9０-９]+", digits) and _ROW_MARKS.match(nfkc(rest))):
        return None
    return prefix + digits, rest, j


# --- measure rows --------------------------------------------------------------------------------------------


def _parse_measure(st: _State, i: int) -> int:
    items = st.lines
    ref, rest, j = _ref_at(items, i, measure=True) or ("", "", i + 1)
    m = Measure(
        doc_id=st.doc_id,
        measure_id=normalize_measure_id(ref),
        goal=st.goal,
        section_path=st.section_path,
        line_start=items[i].no,
        line_end=items[j - 1].no,
        context_lines=st.goal_lines,
    )
    m.kpi_mark, m.relisted = "★" in rest, "再" in rest
    if _PLACEHOLDER in rest:
        m.placeholder = True
        st.out.measures.append(m)
        return j
    if j < len(items) and items[j].norm == "再":
        m.relisted, j = True, j + 1
    name: list[_Ln] = []
    while j < len(items) and not _YEAR_RE.match(items[j].norm) and len(items[j].text) <= _NAME_MAX:
        if items[j].norm == "★":
            m.kpi_mark, j = True, j + 1
            break
        name.append(items[j])
        j += 1
    years = [k for k in range(j, min(j + 80, len(items))) if _YEAR_RE.match(items[k].norm)]
    if not years or not name:
        st.warn(items[i], "measure row without a name or a start-year cell (事業開始); row skipped")
        return i + 1
    y = start = years[0]
    while start > j and len(items[start - 1].text) <= _OWNER_MAX and not items[start - 1].text.endswith("。"):
        start -= 1  # owner fragments are short and never end a sentence
    m.name = _join([x.text for x in name])
    m.overview = _join([x.text for x in items[j:start]])
    m.owners, end = _owner_groups(st, start, y)
    m.line_end = items[end].no
    st.out.measures.append(m)
    return end + 1


def _owner_groups(st: _State, start: int, year_at: int) -> tuple[list[Owner], int]:
    """Owners of the block start..year_at, plus any further bureau/section/year groups right after it."""
    items = st.lines
    owners = _owners(st, items[start:year_at], items[year_at])
    end = year_at
    while True:
        nxt = next(
            (k for k in range(end + 1, min(end + 8, len(items))) if _YEAR_RE.match(items[k].norm)), None
        )
        block = items[end + 1 : nxt] if nxt else []
        if nxt is None or not block or any(len(x.text) > _OWNER_MAX for x in block):
            return owners, end
        more = _owners(st, block, items[nxt], quiet=True)
        if not more:
            return owners, end
        owners += more
        end = nxt


def _owners(st: _State, block: list[_Ln], year: _Ln, quiet: bool = False) -> list[Owner]:
    """Join bureau/section fragments (`震災復興・企` / `画部`); a shared start year goes to every owner."""
    raw = None if re.fullmatch(r"[-‐‑‒–—―−]", year.norm) else year.norm
    pairs: list[list[str]] = []
    bureau, buf = "", ""
    for ln in block:
        t = ln.text
        if (
            not buf
            and not bureau
            and pairs
            and (t[0] in "（(・" or pairs[-1][1].count("（") > pairs[-1][1].count("）"))
        ):
            pairs[-1][1] += t  # `教職員課` / `（総合教育` / `センター）`, `農業振興課` / `・畜産課`
            continue
        buf += t
        if not bureau and _BUREAU_END.search(buf):
            bureau, buf = buf, ""
        elif bureau and _SECTION_END.search(nfkc(buf)) and buf.count("（") <= buf.count("）"):
            pairs.append([bureau, buf])
            bureau, buf = "", ""
    if bureau or buf:
        if quiet:
            return []
        st.warn(block[-1] if block else year, f"owner cell fragments not placed: {bureau + buf!r}")
    return [Owner(bureau=b, section=s, start_year_raw=raw, start_year=fiscal_year(raw)) for b, s in pairs]


def _join(parts: list[str]) -> str:
    """Join cell fragments: no space between Japanese fragments, one between Latin words; drop ＊N markers."""
    text = _FOOTNOTE.sub("", "\n".join(p.strip() for p in parts))
    text = re.sub(r"(?<=[A-Za-z])\n+(?=[A-Za-z])", " ", text).replace("\n", "")
    return re.sub(r"\s+", " ", text).strip()


# --- KPI rows ------------------------------------------------------------------------------------------------


def _kpi_header(st: _State, i: int) -> int:
    """Skip the KPI header cells; the era-tag line (`Ｒ３ Ｒ４ Ｒ５ Ｒ６`) names the target columns."""
    for k in range(i, min(i + 12, len(st.lines))):
        toks = st.lines[k].norm.split()
        if toks and all(_ERA_TAG.match(t) for t in toks):
            st.target_keys, st.target_line = toks, st.lines[k].no
            return k + 1
    st.warn(st.lines[i - 1], "KPI table without a target-year header line (e.g. Ｒ３ Ｒ４ Ｒ５ Ｒ６)")
    st.target_keys, st.target_line = [], 0
    return i


def _kpi_row_at(items: list[_Ln], i: int) -> bool:
    """A KPI row starts here: a measure reference or item text followed by a `（unit）` within a few lines."""
    ref = _ref_at(items, i, measure=False)
    if ref and _PLACEHOLDER in ref[1]:
        return True
    first = ref[2] if ref else i
    texts = ([ref[1]] if ref and ref[1] else []) + [x.text for x in items[first : first + 4]]
    if not ref and (items[i].norm.startswith(("※", "http")) or _all_values(items[i].norm)):
        return False
    for t in texts:
        if _unit_split(t):
            return True
        if _YEAR_RE.match(nfkc(t)) or len(t) > 40:
            return False
    return False


def _all_values(text: str) -> bool:
    return all(_VALUE_RE.match(t) or _DATE_RE.match(t) for t in nfkc(text).split())


def _unit_split(text: str) -> tuple[str, str, str] | None:
    """`item （unit） values…` -> (item, unit, values) when the parenthesis is followed only by value cells."""
    for m in _UNIT_RE.finditer(text):
        after = text[m.end() :]
        if _all_values(after):
            return text[: m.start()], m.group(1), after
    return None


def _parse_kpi(st: _State, i: int) -> int:
    items = st.lines
    ref = _ref_at(items, i, measure=False)
    ref_raw, rest, j = (normalize_measure_id(ref[0]), ref[1], ref[2]) if ref else ("", items[i].text, i + 1)
    ids = expand_measure_ref(ref_raw) if ref_raw else list(st.last_ids)
    st.last_ids = ids
    kpi = PlanKpi(
        doc_id=st.doc_id,
        kpi_id="",
        measure_ids=ids,
        measure_ref_raw=ref_raw,
        item="",
        goal=st.goal,
        line_start=items[i].no,
        line_end=items[j - 1].no,
        context_lines=st.goal_lines + ([st.target_line] if st.target_line else []),
    )
    st.out.kpis.append(kpi)
    if _PLACEHOLDER in rest:
        kpi.item = rest.strip()
        kpi.placeholder = True
        return j
    texts = [rest] if rest else []
    item: list[str] = []
    after = ""
    while True:
        if not texts:
            if j >= len(items):
                break
            texts, j = [items[j].text], j + 1
        t = texts.pop()
        if split := _unit_split(t):
            item.append(split[0])
            kpi.unit, after = split[1].strip(), split[2]
            break
        item.append(t)
    kpi.item = _join(item)
    if "※" in kpi.item:
        kpi.item = kpi.item.replace("※", "").strip()
        st.pending_ref.append(kpi)
    cells, date, j = _kpi_cells(st, after, j)
    _assign_cells(st, kpi, cells, date, items[i])
    kpi.line_end = items[j - 1].no
    return j


def _kpi_cells(st: _State, first: str, j: int) -> tuple[list[str], tuple[int, str] | None, int]:
    """Value cells after the unit: (cells in order, (cells before the date, date text) or None, next index)."""
    items, full = st.lines, len(st.target_keys) + 1
    cells: list[str] = []
    date: tuple[int, str] | None = None
    prefix = ""
    pending = first.split()
    while len(cells) < full:
        if not pending:
            if j >= len(items):
                break
            if _kpi_row_at(items, j):
                break
            toks = items[j].text.split()
            if not _all_values(items[j].text):
                nxt = items[j + 1].norm.split() if j + 1 < len(items) else []
                if len(toks) == 1 and nxt and _VALUE_RE.match(nxt[0]) and not _heading(items[j]):
                    prefix, j = toks[0], j + 1  # a cell printed as `希望職員のうち` / `70`
                    continue
                break
            pending, j = toks, j + 1
        tok = pending.pop(0)
        if d := _DATE_RE.match(nfkc(tok)):
            date = (len(cells), d.group(1))
        else:
            cells.append(prefix + tok)
            prefix = ""
    return cells, date, j


def _assign_cells(st: _State, kpi: PlanKpi, cells: list[str], date: tuple[int, str] | None, ln: _Ln) -> None:
    """Columns are 現状値, then the target years: the cell before the date is the baseline; targets count from the right."""
    keys = st.target_keys
    if date:
        n_before, raw = date
        if n_before:
            kpi.baseline = parse_quantity(cells[n_before - 1])
        kpi.baseline_date_raw, kpi.baseline_fiscal_year = raw, _date_fiscal_year(raw)
        targets = cells[n_before:]
    elif len(cells) == len(keys) + 1:
        kpi.baseline, targets = parse_quantity(cells[0]), cells[1:]
    else:
        targets = cells
    if len(targets) > len(keys) or not targets:
        st.warn(ln, f"KPI row has {len(targets)} target cells for columns {keys}; check the row")
    tail = targets[-len(keys) :] if keys else []
    kpi.targets = {k: parse_quantity(v) for k, v in zip(keys[len(keys) - len(tail) :], tail, strict=True)}


def _date_fiscal_year(raw: str) -> int | None:
    """`R2.12` -> 2020; `R3.1` (January 2021) -> 2020: months 1-3 belong to the previous fiscal year."""
    fy = fiscal_year(raw)
    m = re.search(r"\.(\d{1,2})$", raw)
    if fy is not None and m and 1 <= int(m.group(1)) <= 3:
        return fy - 1
    return fy


def _check_stated_counts(st: _State) -> None:
    """`主な個別施策 N` states how many listings its section has; warn when the parse disagrees."""
    for goal, count, ln in st.stated:
        found = sum(1 for m in st.out.measures if m.goal == goal)
        if found != count:
            st.warn(ln, f"section {goal!r} states {count} measure listings but {found} were parsed")
