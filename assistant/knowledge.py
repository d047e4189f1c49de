"""Lookup tables over the catalog: measures by id, KPIs by measure, progress boxes by plan KPI, vocabularies.

Everything here is derived from what ingest read; nothing is written in code.
"""

from __future__ import annotations

import difflib
import math
import re
from collections import defaultdict
from functools import cached_property, lru_cache

from assistant.shortnames import short_names
from ingest.normalize import fiscal_year, nfkc
from ingest.records import Catalog, Measure, PlanKpi, ProgressKpi
from ingest.sources import SourceLines, context_by_span
from ingest.tokenize import content_tokens, predicates, tokenize

__all__ = ["Knowledge", "kpi_key", "squash"]

GOAL_RUN = (
    5  # a goal is named by this many characters of its name in a row (「働き方改革」, not 「サービス」)
)
# a goal's part is named by its label after this many characters of its parent's name (「基盤整備のハ」)
LABEL_RUN = 3
PREDICATE_WEIGHT = 0.3  # a question's verb or adjective weighs this much of a noun in coverage (chosen on the
# development halves and the paraphrases: 1.0 and 0.0 both answered fewer of them)


def kpi_key(kpi: PlanKpi) -> str:
    """One plan KPI: the same row printed under two measures has two records and one key."""
    return f"{kpi.item}|{kpi.baseline.raw if kpi.baseline else ''}|{[q.raw for q in kpi.targets.values()]}"


def squash(text: str) -> str:
    return re.sub(r"[\s　]+", "", nfkc(text))


class Knowledge:
    def __init__(
        self, catalog: Catalog, doc_tokens: list[list[str]] | None = None, sources: SourceLines | None = None
    ) -> None:
        self.catalog = catalog
        self.sources: SourceLines = sources or {}  # doc_id -> source lines, for the gate (ingest.sources)
        self.context = context_by_span(catalog)  # a record's span -> its heading lines (ingest.sources)
        self.short_names = short_names(self.sources)  # 「官民データ計画」 -> the sentence that defines it
        # Evidence texts are the index's own chunks and sentences, tokenised again for every question that
        # meets them: their token sets are kept (bounded), which takes Sudachi off the answering path.
        self._tokens = lru_cache(maxsize=8192)(_token_set)
        self._topic = lru_cache(maxsize=1024)(_topic_set)
        self.titles = {d.doc_id: d.title for d in catalog.documents}
        self.docs = {d.doc_id: d for d in catalog.documents}
        self.listings: dict[str, list[Measure]] = defaultdict(list)
        for m in catalog.measures:
            self.listings[m.measure_id].append(m)
        self.kpis_by_measure: dict[str, list[PlanKpi]] = defaultdict(list)
        for k in catalog.kpis:
            for mid in k.measure_ids:
                self.kpis_by_measure[mid].append(k)
        self.kpi_by_id = {k.kpi_id: k for k in catalog.kpis}
        self.progress_by_plan: dict[str, list[ProgressKpi]] = defaultdict(list)
        self.progress_by_measure: dict[str, list[ProgressKpi]] = defaultdict(list)
        same_row: dict[str, list[str]] = defaultdict(list)
        for k in catalog.kpis:
            same_row[kpi_key(k)].append(k.kpi_id)
        for p in catalog.progress_kpis:
            plan = self.kpi_by_id.get(p.plan_kpi_id or "")
            for kid in same_row[kpi_key(plan)] if plan else []:
                self.progress_by_plan[kid].append(p)
            for mid in p.measure_ids:
                self.progress_by_measure[mid].append(p)
        self.progress_by_id = {p.kpi_id: p for p in catalog.progress_kpis}
        self.departments = sorted(
            {o.section for m in catalog.measures for o in m.owners if o.section}, key=len, reverse=True
        )
        self.bureaus = sorted(
            {o.bureau for m in catalog.measures for o in m.owners if o.bureau}, key=len, reverse=True
        )
        self._measure_names = sorted({squash(m.name) for m in catalog.measures if m.name})
        self.goals = sorted({m.goal for m in catalog.measures if m.goal}, key=len, reverse=True)
        self.prefixes = {hd.group(0) for mid in self.listings if (hd := re.match(r"\D+", mid))}
        self._idf = _idf(doc_tokens or [])
        self._n = len(doc_tokens or []) or 1
        self._df: dict[str, int] = defaultdict(int)
        for toks in doc_tokens or []:
            for t in set(toks):
                self._df[t] += 1
        self.vocabulary = set(self._idf)
        self._idf_unknown = max(self._idf.values(), default=1.0)  # a word the corpus never uses

    @cached_property
    def last_plan_year(self) -> int:
        """The plan's last fiscal year: the latest year its KPIs set a target for."""
        years = [fiscal_year(lab) for kpi in self.catalog.kpis for lab in kpi.targets]
        return max((y for y in years if y), default=9999)

    def unit_of(self, ref: str) -> str | None:
        """The unit a KPI record (plan or report box) counts in, or None for another record."""
        kpi = self.kpi_by_id.get(ref) or self.progress_by_id.get(ref)
        return kpi.unit if kpi else None

    # --- measures -------------------------------------------------------------------------------------------
    def primary(self, mid: str) -> Measure | None:
        """The first non-re-listed listing (the full one), else the first listing."""
        ls = self.listings.get(mid, [])
        full = [m for m in ls if not m.relisted and not m.placeholder]
        best = full or ls
        return best[0] if best else None

    def owners(self, mid: str) -> list[tuple[Measure, list]]:
        """Distinct owner lists per listing (re-listings may disagree; keep both attributions)."""
        out: list[tuple[Measure, list]] = []
        seen: set[str] = set()
        for m in sorted(self.listings.get(mid, []), key=lambda m: (m.relisted, m.line_start)):
            key = "|".join(f"{o.bureau}{o.section}{o.start_year_raw}" for o in m.owners)
            if m.owners and key not in seen:
                seen.add(key)
                out.append((m, m.owners))
        return out

    def close_ids(self, mid: str, n: int = 5) -> list[str]:
        head = re.match(r"\D*", mid)
        prefix = head.group(0) if head else ""
        same = sorted(
            (i for i in self.listings if i.startswith(prefix) and prefix),
            key=lambda i: abs(_num(i) - _num(mid)),
        )
        return list(dict.fromkeys(same[:n] + difflib.get_close_matches(mid, list(self.listings), n=n)))[:n]

    def mentioned(self, question: str, vocab: list[str], min_len: int = 3) -> list[str]:
        q = squash(question)
        return [v for v in vocab if len(squash(v)) >= min_len and squash(v) in q]

    def department_hits(self, question: str) -> list[str]:
        """Departments named in the question, also by their stem (○○政策課 <- ○○政策)."""
        q = squash(question)
        found = [d for d in self.departments if squash(d) in q]
        if not found:
            for d in self.departments:
                stem = re.sub(r"(課|室|センター)$", "", squash(d))
                stem = re.sub(r"（.*?）|\(.*?\)", "", stem)
                if len(stem) >= 3 and stem in q:
                    found.append(d)
        return found

    def goal_hits(self, question: str) -> list[str]:
        """Goals the question names: whole, or by a distinctive run of their name (「働き方改革」 names
        「…働き方改革の推進」) that no other goal shares."""
        q = squash(question)
        hits = [g for g in self.goals if squash(g) in q] or [g for g in self.goals if self._by_label(q, g)]
        if hits:
            return hits
        for g in self.goals:
            name = squash(g)
            m = difflib.SequenceMatcher(None, q, name, autojunk=False).find_longest_match(
                0, len(q), 0, len(name)
            )
            run = q[m.a : m.a + m.size]
            if (
                len(run) >= GOAL_RUN
                and not any(run in squash(o) for o in self.goals if o != g)
                and not self._names_a_measure_more(q, run)
            ):
                hits.append(g)
        return hits

    @staticmethod
    def _by_label(q: str, goal: str) -> bool:
        """Does the question name a goal's part by its label after its parent's words (「基盤整備のハ」 names
        「県行政の情報化の基盤整備 ハ 庁内の人材育成」)?"""
        m = re.match(r"^(.+?)\s+([イロハニホヘトチリヌ])\s", goal)
        if not m:
            return False
        parent = squash(m.group(1))
        run = difflib.SequenceMatcher(None, q, parent, autojunk=False).find_longest_match(
            0, len(q), 0, len(parent)
        )
        after = q[run.a + run.size :]
        return run.size >= LABEL_RUN and bool(re.match(rf"の?{m.group(2)}(?![ァ-ヶー])", after))

    def _names_a_measure_more(self, q: str, run: str) -> bool:
        """Does the question share a longer run with a measure name holding `run` (「○○協議会の運営」 names the
        measure, not the goal 「○○及び…の確保」 that shares 「○○」)?"""
        for name in self._measure_names:
            if run in name:
                m = difflib.SequenceMatcher(None, q, name, autojunk=False).find_longest_match(
                    0, len(q), 0, len(name)
                )
                if m.size > len(run):
                    return True
        return False

    # --- evidence -------------------------------------------------------------------------------------------
    def names_known(self, question: str, ignore: set[str] | frozenset[str] = frozenset()) -> bool:
        """Does the question name anything in the documents' words (a content word they use, not in `ignore`)?
        Without one, every passage covers it vacuously (`coverage` is 1.0) and none is about it."""
        return any(t not in ignore and not t.isdigit() and t in self._df for t in self._topic(question))

    def coverage(
        self,
        question: str,
        text: str,
        ignore: set[str] | frozenset[str] = frozenset(),
        known_only: bool = False,
    ) -> float:
        """IDF-weighted share of the question's content tokens found in `text` (0..1). With `known_only`, words
        the corpus never uses are left out: they tell whether the documents can answer, not which passage does."""
        topic = self._topic(question)
        qt = [
            t for t in topic if t not in ignore and not t.isdigit() and not (known_only and t not in self._df)
        ]
        if not qt:
            return 1.0
        dt = self._tokens(text)
        dsq = squash(text).lower()
        total = sum(self.idf(t) * topic[t] for t in qt)
        got = sum(self.idf(t) * topic[t] for t in qt if t in dt or (len(t) >= 2 and t in dsq))
        return got / total if total else 1.0

    def question_words(self, words: set[str]) -> set[str]:
        """`words` (the question vocabulary), and the corpus's words made of two or more of them (「担当部署」 =
        担当 + 部署, 「進捗状況」): Sudachi reads such a compound as one word, and it asks as its parts do."""

        def made_of(t: str) -> bool:
            return t in words or any(
                t[:i] in words and made_of(t[i:]) for i in range(2, len(t) - 1) if len(t) - i >= 2
            )

        return words | {t for t in self.vocabulary if len(t) >= 4 and t not in words and made_of(t)}

    def is_common(self, word: str, share: float = 0.05) -> bool:
        """Does `word` occur in at least `share` of the chunks (the documents' own subject, e.g. their area)?"""
        toks = tokenize(word)
        return bool(toks) and all(self._df.get(t, 0) >= share * self._n for t in toks[:1])

    def idf(self, token: str) -> float:
        return self._idf.get(token, self._idf_unknown)


def _token_set(text: str) -> dict[str, None]:
    """The distinct tokens of `text`, in order (a dict: ordered and quick to test)."""
    return dict.fromkeys(tokenize(text))


def _topic_set(text: str) -> dict[str, float]:
    """The distinct content tokens of `text` (what a question is about), in order, each with its weight: a verb or
    adjective says how the question asks more than what about (「使えるようになる」), and counts less."""
    verbs = predicates(text)
    return {t: PREDICATE_WEIGHT if t in verbs else 1.0 for t in content_tokens(text)}


def _idf(doc_tokens: list[list[str]]) -> dict[str, float]:
    n = len(doc_tokens) or 1
    df: dict[str, int] = defaultdict(int)
    for toks in doc_tokens:
        for t in set(toks):
            df[t] += 1
    return {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}


def _num(mid: str) -> int:
    m = re.search(r"\d+", mid)
    return int(m.group(0)) if m else 0
