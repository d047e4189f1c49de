"""Lexical (BM25) index over tokenised texts: the keyword half of hybrid retrieval.

Documents and queries go through the same `ingest.tokenize.tokenize`, with the nouns' Sudachi synonym groups: a
query word the documents never use is searched by its group, so a question's everyday word (先生) finds the
documents' term (教員); a word they use is searched by itself only. Scores are BM25 Okapi as computed by
the `rank-bm25` library (`BM25Okapi`: k1=1.5, b=0.75, negative IDF floored at 0.25 x mean IDF); for speed,
each term's weight in each document is precomputed once into postings, so a search touches only the
documents that contain a query term.

The index is saved as JSON holding the ids, the document tokens and `TOKENIZER_VERSION`; loading rebuilds
the scores from the stored tokens without re-tokenising.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from rank_bm25 import BM25Okapi

from ingest.tokenize import SYNONYM_MARK, TOKENIZER_VERSION, tokenize

__all__ = ["LexicalIndex", "LexicalIndexError"]

_FORMAT = "policy-assistant-lexical-v1"
_FIX = "rebuild it with `policy-assistant ingest`"


class LexicalIndexError(RuntimeError):
    """The saved lexical index is missing, unreadable or built by another tokenizer version."""


class LexicalIndex:
    """BM25 over documents given as (id, text); `search(query)` returns (id, score) best first."""

    def __init__(self, ids: list[str], doc_tokens: list[list[str]]) -> None:
        if len(ids) != len(doc_tokens):
            raise ValueError(f"{len(ids)} ids but {len(doc_tokens)} token lists; pass one id per document")
        if len(set(ids)) != len(ids):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"duplicate document ids {dupes[:5]}; ids must be unique")
        self.ids = list(ids)
        self.doc_tokens = [list(t) for t in doc_tokens]
        self._postings = _postings(self.doc_tokens)

    @classmethod
    def build(cls, ids: list[str], texts: list[str]) -> LexicalIndex:
        """Tokenise `texts` (one per id) and index them."""
        if len(ids) != len(texts):
            raise ValueError(f"{len(ids)} ids but {len(texts)} texts; pass one id per text")
        return cls(ids, [tokenize(t, synonyms=True) for t in texts])

    def __len__(self) -> int:
        return len(self.ids)

    def df(self, term: str) -> int:
        """How many documents hold `term`."""
        posting = self._postings.get(term)
        return 0 if posting is None else len(posting[0])

    def query_terms(self, query: str) -> list[str]:
        """The tokens of `query` searched for: a word the documents never use is searched by its synonym groups
        (「先生」 finds 教員), a word they use by itself only (its groups would count it twice)."""
        out: list[str] = []
        known = True
        for term in tokenize(query, synonyms=True):
            if not term.startswith(SYNONYM_MARK):
                known = term in self._postings
                out.append(term)
            elif not known:
                out.append(term)
        return out

    def search(self, query: str, k: int = 20) -> list[tuple[str, float]]:
        """The `k` best documents for `query` as (id, BM25 score), best first; only scores > 0.

        Query tokens absent from the index are ignored; an empty or unknown query gives [].
        """
        if k <= 0 or not self.ids:
            return []
        scores = np.zeros(len(self.ids))
        hit = False
        for term in self.query_terms(query):
            posting = self._postings.get(term)
            if posting is not None:
                scores[posting[0]] += posting[1]  # indices are unique within a posting
                hit = True
        if not hit:
            return []
        positive = np.flatnonzero(scores > 0)
        if positive.size > k:
            top = positive[np.argpartition(-scores[positive], k - 1)[:k]]
        else:
            top = positive
        order = sorted(top.tolist(), key=lambda i: (-scores[i], i))
        return [(self.ids[i], float(scores[i])) for i in order]

    def save(self, path: Path) -> None:
        """Write the index as JSON (ids, tokens, tokenizer version) to `path`."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "format": _FORMAT,
            "tokenizer_version": TOKENIZER_VERSION,
            "ids": self.ids,
            "tokens": self.doc_tokens,
        }
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> LexicalIndex:
        """Read an index written by `save`; raises `LexicalIndexError` naming `path` and the fix."""
        path = Path(path)
        if not path.is_file():
            raise LexicalIndexError(f"lexical index {path} does not exist; {_FIX}")
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
            fmt, version = payload["format"], payload["tokenizer_version"]
            ids, tokens = payload["ids"], payload["tokens"]
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
            raise LexicalIndexError(f"lexical index {path} is corrupt ({exc!r}); {_FIX}") from exc
        if fmt != _FORMAT:
            raise LexicalIndexError(f"lexical index {path} has format {fmt!r}, expected {_FORMAT!r}; {_FIX}")
        if version != TOKENIZER_VERSION:
            raise LexicalIndexError(
                f"lexical index {path} was built with tokenizer {version!r}, "
                f"this code uses {TOKENIZER_VERSION!r}; {_FIX}"
            )
        if not _is_token_table(ids, tokens):
            raise LexicalIndexError(f"lexical index {path} is corrupt (bad ids/tokens); {_FIX}")
        try:
            return cls(ids, tokens)
        except ValueError as exc:
            raise LexicalIndexError(f"lexical index {path} is corrupt ({exc}); {_FIX}") from exc


def _is_token_table(ids: object, tokens: object) -> bool:
    return (
        isinstance(ids, list)
        and isinstance(tokens, list)
        and all(isinstance(i, str) for i in ids)
        and all(isinstance(t, list) and all(isinstance(x, str) for x in t) for t in tokens)
    )


def _postings(doc_tokens: list[list[str]]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """term -> (document indices, BM25Okapi weight of the term in each), equal to `BM25Okapi.get_scores`."""
    if not doc_tokens or not any(doc_tokens):
        return {}
    bm25 = BM25Okapi(doc_tokens)
    doc_len = np.asarray(bm25.doc_len, dtype=float)
    norm = bm25.k1 * (1 - bm25.b + bm25.b * doc_len / bm25.avgdl)
    rows: dict[str, tuple[list[int], list[float]]] = {}
    for i, freqs in enumerate(bm25.doc_freqs):
        for term, tf in freqs.items():
            weight = bm25.idf.get(term, 0.0) * tf * (bm25.k1 + 1) / (tf + norm[i])
            docs, weights = rows.setdefault(term, ([], []))
            docs.append(i)
            weights.append(weight)
    return {t: (np.asarray(d, dtype=np.intp), np.asarray(w)) for t, (d, w) in rows.items()}
