"""Hybrid retrieval: Sudachi BM25 + dense (Chroma) fused by reciprocal rank, with exact-match boosts.

`HybridSearcher.search` is the engine; `PolicyRetriever` exposes it as a LangChain `BaseRetriever`.
Boosts: a chunk about a measure id named in the query (企15, 出・総1) or whose measure name / KPI item appears
in the query ranks first. Filters: document, kind, goal, department.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from assistant.intent import detect, topic_of
from ingest.embed import embed_query
from ingest.index import Index
from ingest.normalize import MEASURE_ID_RE, nfkc, normalize_measure_id
from ingest.records import Chunk
from ingest.tokenize import tokenize

__all__ = ["Filters", "Hit", "HybridSearcher", "Method", "PolicyRetriever", "measure_ids_in"]

RRF_K = 60
# a BM25 first this many times the second's score counts as first in both lists; chosen on the development halves
# (1.5 broke one answer, 2.5 fixed none)
LEXICAL_LEAD = 1.8
RARE_DF = 2  # a word in at most this many chunks is rare
QUERY_EMBED_CHARS = 256  # e5 cost grows with length; the head of a question carries its topic
Method = Literal["hybrid", "lexical", "dense"]


@dataclass(frozen=True)
class Filters:
    doc_id: str | None = None
    kind: str | None = None
    goal: str | None = None
    department: str | None = None

    def accept(self, c: Chunk) -> bool:
        return (
            (self.doc_id is None or c.doc_id == self.doc_id)
            and (self.kind is None or c.kind == self.kind)
            and (self.goal is None or self.goal in c.goal)
            and (self.department is None or any(self.department in d for d in c.departments))
        )


@dataclass
class Hit:
    chunk: Chunk
    score: float
    ranks: dict[str, int] = field(default_factory=dict)


def _squash(text: str) -> str:
    return re.sub(r"[\s　]+", "", nfkc(text))


def measure_ids_in(text: str, known: set[str]) -> list[str]:
    """Measure ids named in `text` that exist in the corpus (`企 15` -> 企15)."""
    out = []
    for m in MEASURE_ID_RE.finditer(nfkc(text)):
        mid = normalize_measure_id(m.group(0))
        if mid in known and mid not in out:
            out.append(mid)
    return out


class HybridSearcher:
    """Searches one opened `Index`."""

    def __init__(self, index: Index, query_cache: int = 1024) -> None:
        self.index = index
        # Repeated questions (FAQ-like traffic) skip the embedder: an LRU of query vectors, per index.
        self._embed = lru_cache(maxsize=query_cache)(self._embed_query) if query_cache else self._embed_query
        self.known_ids = {m.measure_id for m in index.catalog.measures}
        self._names: list[tuple[str, str]] = []  # (squashed name, chunk id) for exact-name boosts
        for c in index.chunks.values():
            name = _chunk_name(c)
            if name and len(name) >= 4:
                self._names.append((name, c.chunk_id))

    def search(
        self, query: str, k: int = 8, *, method: Method = "hybrid", filters: Filters | None = None
    ) -> list[Hit]:
        filters = filters or Filters()
        pool = max(50, k * 5)
        ranked: dict[str, list[str]] = {}
        lead = None
        if method in ("hybrid", "lexical"):
            lexical = self.index.lexical.search(query, k=pool)
            ranked["lexical"] = [i for i, _ in lexical]
            # a lexical first far ahead of the second because of a rare word only it holds (生成AI) is not
            # outvoted by the dense list; a lead on the words that ask (意味, いつ) is no such signal
            if len(lexical) > 1 and lexical[0][1] >= LEXICAL_LEAD * max(lexical[1][1], 1e-9):
                lex = self.index.lexical
                rare = {t for t in tokenize(topic_of(query)) if lex.df(t) <= RARE_DF}
                lead = lexical[0][0] if rare & set(lex.doc_tokens[lex.ids.index(lexical[0][0])]) else None
        if method in ("hybrid", "dense"):
            vec = self._embed(query[:QUERY_EMBED_CHARS])
            ranked["dense"] = [i for i, _ in self.index.store.query(list(vec), k=pool)]
        scores: dict[str, float] = {}
        ranks: dict[str, dict[str, int]] = {}
        for name, ids in ranked.items():
            for r, cid in enumerate(ids):
                scores[cid] = scores.get(cid, 0.0) + 1.0 / (RRF_K + r + 1)
                ranks.setdefault(cid, {})[name] = r + 1
        if method == "hybrid":
            self._boost(query, scores)
            self._kind_prior(query, scores)
            if lead in scores:
                scores[lead] += 1.0 / (RRF_K + 1)
        hits = [
            Hit(self.index.chunks[cid], s, ranks.get(cid, {}))
            for cid, s in scores.items()
            if cid in self.index.chunks and filters.accept(self.index.chunks[cid])
        ]
        hits.sort(
            key=lambda h: (-round(h.score, 9), h.chunk.chunk_id)
        )  # ties broken the same way every build
        return hits[:k]

    def embed_query(self, text: str) -> tuple[float, ...]:
        """The query vector of `text` as the dense ranker embeds it (cached)."""
        return self._embed(text[:QUERY_EMBED_CHARS])

    def _embed_query(self, text: str) -> tuple[float, ...]:
        return tuple(embed_query(self.index.embedder, text))

    def _kind_prior(self, query: str, scores: dict[str, float]) -> None:
        asks = detect(query).asks
        prior: dict[str, float] = {}
        for a in asks:
            for kind, w in _KIND_PRIOR.get(a, {}).items():
                prior[kind] = max(prior.get(kind, 0.0), w)
        if "glossary" not in asks:
            prior["glossary"] = prior.get("glossary", 0.0) - 0.4
        for cid in scores:
            c = self.index.chunks.get(cid)
            if c is None:
                continue
            bonus = prior.get(c.kind, 0.0)
            if c.kind == "measure" and "再掲" in c.text.split("\n", 1)[0]:
                bonus -= 0.2
            scores[cid] += bonus / RRF_K

    def _boost(self, query: str, scores: dict[str, float]) -> None:
        ids = set(measure_ids_in(query, self.known_ids))
        q = _squash(query)
        if ids:
            for cid, c in self.index.chunks.items():
                if ids & set(c.measure_ids):
                    scores[cid] = scores.get(cid, 0.0) + 1.0 / RRF_K
        for name, cid in self._names:
            if name in q:
                scores[cid] = scores.get(cid, 0.0) + 0.5 / RRF_K


# What a question asks for shifts which kind of record should win a near tie.
_KIND_PRIOR: dict[str, dict[str, float]] = {
    "owner": {"measure": 0.5},
    "start_year": {"measure": 0.5},
    "target": {"kpi": 0.5, "progress_kpi": 0.2},
    "baseline": {"kpi": 0.5, "progress_kpi": 0.2},
    "kpi": {"kpi": 0.4, "progress_kpi": 0.3},
    "actual": {"progress_kpi": 0.5, "initiative": 0.3, "totals": 0.3},
    "glossary": {"glossary": 0.6},
}


def _chunk_name(c: Chunk) -> str:
    """The name a user may type verbatim: a measure name or KPI item (first line, before the figures)."""
    first = c.text.split("\n", 1)[0]
    if c.kind == "measure":
        parts = first.split(" ")
        return _squash(parts[2]) if len(parts) > 2 else ""
    if c.kind == "kpi":
        m = re.match(r"目標指標（KPI） \S* (.+?)(?:（[^）]*）)?: ", first)
        return _squash(m.group(1)) if m else ""
    if c.kind == "progress_kpi":
        m = re.search(r" KPI (.+?):", first)
        return _squash(m.group(1)) if m else ""
    if c.kind == "glossary":
        m = re.match(r"用語解説 (?:\S+\. )?(.+?): ", first)
        return _squash(m.group(1)) if m else ""
    return ""


class PolicyRetriever(BaseRetriever):
    """LangChain retriever over the hybrid searcher; documents carry citation metadata."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    searcher: HybridSearcher
    k: int = 8
    method: Method = "hybrid"
    filters: Filters | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None
    ) -> list[Document]:
        """The top `k` chunks (`k` passed to `invoke` wins over the retriever's own `k`)."""
        return [
            Document(
                page_content=h.chunk.text,
                id=h.chunk.chunk_id,
                metadata={
                    "chunk_id": h.chunk.chunk_id,
                    "doc_id": h.chunk.doc_id,
                    "kind": h.chunk.kind,
                    "measure_ids": h.chunk.measure_ids,
                    "section": h.chunk.section,
                    "line_start": h.chunk.line_start,
                    "line_end": h.chunk.line_end,
                    "score": h.score,
                },
            )
            for h in self.searcher.search(query, k or self.k, method=self.method, filters=self.filters)
        ]
