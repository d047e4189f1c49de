"""Entity linking over the catalog: which records (measures, plan KPIs, report KPI boxes, report initiatives,
glossary terms) a piece of text names, by name or by part of a name.

Every entity is built from a catalog record (never from rendered text) and keeps the `record_ref` of its chunk.
A text links to an entity by IDF-weighted character-bigram containment: how much of the entity's name the text
contains (`name`), and how much of the text's content the entity's full text covers (`cover`). Bigrams make
partial names and inflected phrasings match (「電子申請を導入している自治体数」 ~ 「電子申請サービス導入市町村数」)
without a list of synonyms; the IDF (over all entity texts) makes rare, specific bigrams count most.
"""

from __future__ import annotations

import math
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ingest.chunk import initiative_refs
from ingest.normalize import nfkc
from ingest.records import Catalog
from ingest.tokenize import tokenize

__all__ = ["Entity", "Link", "Linker", "bigrams"]

_DROP = re.compile(r"[\s　「」『』（）()【】［］\[\]、。・，,.:：;；!！?？~〜～\-‐―─…*＊※★☆/／\"'“”]+")


def bigrams(text: str) -> set[str]:
    s = _DROP.sub(" ", nfkc(text).lower())
    out: set[str] = set()
    for part in s.split():
        if len(part) == 1:
            out.add(part)
        out |= {part[i : i + 2] for i in range(len(part) - 1)}
    return out


@dataclass(frozen=True)
class Entity:
    kind: str  # measure | kpi | progress_kpi | initiative | glossary
    ref: str  # the record_ref of its chunk
    name: str  # what a user may call it, as printed
    text: str  # name plus the words around it (overview, detail, unit)
    measure_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Link:
    entity: Entity
    name: float  # share of the entity's name (IDF-weighted bigrams) found in the text
    cover: float  # share of the text's content bigrams found in the entity's text

    @property
    def score(self) -> float:
        return 0.6 * self.name + 0.4 * self.cover


def _entities(cat: Catalog) -> list[Entity]:
    out: list[Entity] = []
    for m in cat.measures:
        if m.name and not m.relisted:
            out.append(
                Entity(
                    "measure",
                    f"{m.measure_id}@{m.line_start}",
                    m.name,
                    f"{m.name} {m.overview}",
                    (m.measure_id,),
                )
            )
    for k in cat.kpis:
        if k.item:
            out.append(Entity("kpi", k.kpi_id, k.item, f"{k.item} {k.unit or ''}", tuple(k.measure_ids)))
    for p in cat.progress_kpis:
        out.append(Entity("progress_kpi", p.kpi_id, p.name, f"{p.name} {p.unit or ''}", tuple(p.measure_ids)))
    for i, ref in zip(cat.initiatives, initiative_refs(cat.initiatives), strict=True):
        name = (
            re.sub(r"[（(][^）)]*\d[^）)]*[）)]", "", i.text).strip() or i.text
        )  # 「研修（259人）」 is named 「研修」
        out.append(Entity("initiative", ref, name, f"{i.text} {i.detail or ''}"))
    for g in cat.glossary:
        out.append(Entity("glossary", f"glossary:{g.term}", g.term, f"{g.term} {g.definition}"))
    for t in cat.totals:  # the report's overview totals: named by the labels the parser reads them under
        labels = f"関連事業 事業数 {t.amount_kind} {t.reference_amount_kind or ''}"
        out.append(Entity("totals", "totals", "関連事業", labels))
    return out


class Linker:
    """Links text to catalog entities; built once per index.

    With `embed_query` and `embed_names` (the index's embedder), `dense` ranks the entities by how close their
    *names* embed to a text: for text that shares no bigram with them (an English question, everyday Japanese
    words; `assistant/vectors.py` decides when to trust it). The names are embedded in the background as soon as
    the linker is built."""

    def __init__(
        self,
        catalog: Catalog,
        generic: set[str],
        embed_query: Callable[[str], Sequence[float]] | None = None,
        embed_names: Callable[[list[str]], list[list[float]]] | None = None,
    ) -> None:
        self.entities = _entities(catalog)
        self.generic = generic
        self._embed_query, self._embed_names = embed_query, embed_names
        self._name_vectors: np.ndarray | None = None
        self._vectors_lock = threading.Lock()
        if embed_query is not None and embed_names is not None:  # ready before the first question needs them
            threading.Thread(target=self._prepare, name="linker-name-vectors", daemon=True).start()
        df: dict[str, int] = defaultdict(int)
        self._grams = [bigrams(e.text) for e in self.entities]
        self._by_ref: dict[str, list[int]] = defaultdict(list)
        for i, e in enumerate(self.entities):
            self._by_ref[e.ref].append(i)
        self._names = [bigrams(e.name) for e in self.entities]
        for g in self._grams:
            for b in g:
                df[b] += 1
        n = len(self._grams) or 1
        self._idf = {b: math.log(1 + n / c) for b, c in df.items()}
        self._unknown = math.log(1 + n)
        # a short Latin name (AI, LAN, KPI) is named only as a whole word, not inside another word
        self._short_latin = {
            e.name: re.compile(rf"(?<![A-Za-z]){re.escape(nfkc(e.name))}(?![A-Za-z])", re.IGNORECASE)
            for e in self.entities
            if nfkc(e.name).isascii() and len(nfkc(e.name)) <= 6
        }

    def content_grams(self, text: str) -> set[str]:
        """The bigrams of `text`'s content words (question vocabulary removed)."""
        toks = [t for t in tokenize(text) if t not in self.generic and not t.isdigit()]
        return bigrams(" ".join(toks))

    def idf(self, gram: str) -> float:
        return self._idf.get(gram, self._unknown)

    def by_ref(self, ref: str) -> list[Link]:
        """The entity with record ref `ref`, as a full-strength link."""
        return [Link(e, 1.0, 1.0) for e in self.entities if e.ref == ref]

    def by_name(self, text: str, ref: str) -> list[Link]:
        """How much of the name of the entity `ref` `text` holds (no link when it holds none)."""
        q = self.content_grams(text)
        if not q:
            return []
        raw, q_total = bigrams(text), sum(self.idf(b) for b in q)
        links = (self._score(i, q, raw, q_total, text) for i in self._by_ref.get(ref, []))
        return [x for x in links if x is not None]

    def link(self, text: str, kinds: tuple[str, ...] | None = None, top: int = 5) -> list[Link]:
        """The entities `text` names best, strongest first."""
        q = self.content_grams(text)
        if not q:
            return []
        raw = bigrams(text)  # a name is matched across word boundaries (「Web会議システム活用」)
        q_total = sum(self.idf(b) for b in q)
        out = []
        for i, e in enumerate(self.entities):
            if kinds and e.kind not in kinds:
                continue
            link = self._score(i, q, raw, q_total, text)
            if link is not None:
                out.append(link)
        out.sort(key=lambda x: -x.score)
        return out[:top]

    def dense(
        self, text: str, kinds: tuple[str, ...] | None = None, top: int = 2
    ) -> list[tuple[Entity, float]]:
        """The entities whose names embed closest to `text` (cosine), closest first; [] without an embedder."""
        if self._embed_query is None or self._embed_names is None:
            return []
        q = np.asarray(self._embed_query(text), dtype=np.float32)
        sims = self._vectors() @ (q / max(float(np.linalg.norm(q)), 1e-9))
        order = [i for i in np.argsort(-sims) if not kinds or self.entities[i].kind in kinds]
        return [(self.entities[i], float(sims[i])) for i in order[:top]]

    def _prepare(self) -> None:
        """The background embedding; a failure (the process exiting under it) leaves it to the first `dense` call."""
        try:
            self._vectors()
        except Exception:  # noqa: BLE001 - retried, and reported, on first use
            return

    def _vectors(self) -> np.ndarray:
        """The entities' name vectors, unit length (embedded once, by whichever thread asks first)."""
        with self._vectors_lock:
            if self._name_vectors is None:
                assert self._embed_names is not None
                names = [e.name for e in self.entities]  # in small batches: a question may queue between them
                vecs = np.asarray(
                    [v for i in range(0, len(names), 16) for v in self._embed_names(names[i : i + 16])],
                    dtype=np.float32,
                ).reshape(len(names), -1)
                self._name_vectors = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-9)
            return self._name_vectors

    def _score(self, i: int, q: set[str], raw: set[str], q_total: float, text: str) -> Link | None:
        e, names = self.entities[i], self._names[i]
        shared = names & raw
        if not shared or (e.name in self._short_latin and not self._short_latin[e.name].search(text)):
            return None
        name = sum(self.idf(b) for b in shared) / (sum(self.idf(b) for b in names) or 1)
        cover = sum(self.idf(b) for b in q & self._grams[i]) / q_total
        return Link(e, round(name, 3), round(cover, 3))
