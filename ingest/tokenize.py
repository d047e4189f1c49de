"""Japanese search tokeniser (SudachiPy + sudachidict-core), the same for documents and queries.

`tokenize(text) -> list[str]` produces search units:

1. NFKC (`ingest.normalize.nfkc`); lone surrogates and control characters become spaces.
2. Sudachi split mode C (long units), plus the mode-A sub-units of each long unit, as Sudachi recommends
   for search (`マイナンバーカード` -> `マイナンバーカード`, `マイナンバー`, `カード`).
3. Each unit as its `normalized_form()`, lower-cased, so spelling variants meet (`取組`/`取り組み`,
   `ＤＸ`/`DX`). Particles (助詞), auxiliaries (助動詞), symbols (補助記号) and whitespace (空白) are dropped;
   numbers are kept (`2,345` -> `2345`).
4. Extra tokens found by pattern on the whole text, so identifiers stay findable:
   - a measure number, a lone kanji prefix (or prefixes joined by `・`) followed by digits:
     `企15`, `企 21`, `企・警12` (also `企12`, `警12`), ranges `企8～11,29` -> `企8` .. `企11`, `企29`;
   - an era year in one canonical form: `R5`, `令和5年度`, `2023年度` -> `r5`; `H29`, `平成29年` -> `h29`;
   - a latin word mixing letters and digits that Sudachi splits: `5G` -> `5g`, `Web2` -> `web2`.
5. With `synonyms=True` (the lexical index: `ingest.lexical`), after a Japanese noun its Sudachi synonym group,
   when the dictionary gives it exactly one, as `≡<group id>`: 先生 and 教員 both give `≡21495`, スマホ and
   スマートフォン `≡6201`. A word with several groups (ネット: the internet or a net) gives none.

Input longer than Sudachi's per-call limit (49,149 bytes) is cut on line, then sentence, then character
boundaries. The dictionary is loaded once per process; each thread gets its own Sudachi tokenizer (a
Tokenizer must not be used from two threads at once).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator

from sudachipy import Dictionary, SplitMode, Tokenizer

from ingest.normalize import era_label, expand_measure_ref, fiscal_year, nfkc

__all__ = ["tokenize", "content_tokens", "place_names", "proper_nouns", "SYNONYM_MARK", "TOKENIZER_VERSION"]

TOKENIZER_VERSION = "sudachi-core-C+A-norm-syn-v2"
SYNONYM_MARK = "≡"  # a synonym-group token: `≡21495` (no text holds the mark)

_DROP_POS = frozenset({"助詞", "助動詞", "補助記号", "空白"})
# what a question is about, not how it is asked: no demonstratives (この, その: the こそあど adnominals; 主な
# stays), adverbs (もう), pronouns (何), conjunctions, interjections, numerals, single letters (the R of R6),
# or dependent verbs and adjectives (し, できる, づけ)
_FUNCTION_POS = _DROP_POS | {"副詞", "代名詞", "接続詞", "感動詞"}
_BYTE_BUDGET = 40_000  # Sudachi rejects more than 49,149 bytes per call; keep a margin

_dictionary: Dictionary | None = None
_dictionary_lock = threading.Lock()
_local = threading.local()


def _tokenizer() -> Tokenizer:
    """This thread's Sudachi tokenizer over the process-wide dictionary."""
    global _dictionary
    tok: Tokenizer | None = getattr(_local, "tokenizer", None)
    if tok is None:
        with _dictionary_lock:
            if _dictionary is None:
                _dictionary = Dictionary(dict="core")
        tok = _dictionary.tokenizer(mode=SplitMode.C)
        _local.tokenizer = tok
    return tok


# --- cleaning and splitting --------------------------------------------------------------------------------

_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _clean(text: str) -> str:
    """NFKC, with lone surrogates and control characters (other than newline and tab) as spaces."""
    s = _SURROGATE_RE.sub(" ", text)
    s = nfkc(s)
    return _CONTROL_RE.sub(" ", s)


def _nbytes(s: str) -> int:
    return len(s.encode("utf-8"))


def _pieces(text: str, budget: int = _BYTE_BUDGET) -> Iterator[str]:
    """Cut `text` into pieces of at most `budget` UTF-8 bytes: at lines, else sentences, else characters."""
    if _nbytes(text) <= budget:
        yield text
        return
    buf: list[str] = []
    size = 0
    for unit in _units(text, budget):
        n = _nbytes(unit)
        if size + n > budget and buf:
            yield "".join(buf)
            buf, size = [], 0
        buf.append(unit)
        size += n
    if buf:
        yield "".join(buf)


def _units(text: str, budget: int) -> Iterator[str]:
    """Lines of `text`; a line over `budget` bytes is split into sentences, then into byte-budget slices."""
    for line in text.splitlines(keepends=True):
        if _nbytes(line) <= budget:
            yield line
            continue
        for sentence in re.split(r"(?<=[。．.!?！？])", line):
            rest = sentence
            while _nbytes(rest) > budget:
                head = rest.encode("utf-8")[:budget].decode("utf-8", "ignore")
                yield head
                rest = rest[len(head) :]
            if rest:
                yield rest


# --- Sudachi units -----------------------------------------------------------------------------------------


def _keep(pos: tuple[str, ...], form: str) -> bool:
    return pos[0] not in _DROP_POS and bool(form.strip())


def _content(pos: tuple[str, ...], form: str) -> bool:
    return (
        pos[0] not in _FUNCTION_POS
        and pos[1] not in ("非自立可能", "数詞")
        and not (pos[0] == "連体詞" and form[:1] in "こそあど此其彼何")
        and not (len(form) == 1 and form.isascii())
        and bool(form.strip())
    )


def _sudachi_tokens(
    text: str, keep: Callable[[tuple[str, ...], str], bool] = _keep, synonyms: bool = False
) -> list[str]:
    out: list[str] = []
    tok = _tokenizer()
    for piece in _pieces(text):
        if not piece.strip():
            continue
        for m in tok.tokenize(piece):
            form = m.normalized_form()
            if not keep(m.part_of_speech(), form):
                continue
            out.append(form.lower())
            if synonyms and m.part_of_speech()[0] == "名詞" and not m.surface().isascii():
                # a Japanese noun's one Sudachi synonym group (先生 and 教員 meet); an ambiguous word's none
                groups = m.synonym_group_ids()
                out += [f"{SYNONYM_MARK}{groups[0]}"] if len(groups) == 1 else []
            subs = m.split(SplitMode.A)
            if len(subs) > 1:
                for sub in subs:
                    sub_form = sub.normalized_form()
                    if keep(sub.part_of_speech(), sub_form):
                        out.append(sub_form.lower())
    return out


# --- pattern tokens: measure numbers and era years ---------------------------------------------------------

_KANJI = r"[\u4e00-\u9fff]"
_NUMS = r"\d{1,3}(?:\s*[～~〜]\s*\d{1,3})?(?:\s*[,、]\s*\d{1,3}(?:\s*[～~〜]\s*\d{1,3})?)*"
# A lone kanji (not part of a longer kanji word, not a unit after a number) or kanji joined by ・, then digits
# that are not a date or a figure (`年9月`, `約5万`).
_MEASURE_RE = re.compile(
    rf"(?<![\u4e00-\u9fff\d])({_KANJI}(?:・{_KANJI})*)[ \t\u3000]*(?:\n[ \t\u3000]*){{0,3}}({_NUMS})(?![\d.])(?!\s*[年月日時分万千億])"
)
_ERA_RE = re.compile(r"(?:(令和|平成|昭和)\s*(元|\d{1,2})|(?<![A-Za-z\d])([RHrh])\s*(元|\d{1,2}))(?!\d)")
_WESTERN_YEAR_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*年")
# a year as a question says it (令和5年度, R5, 2023年度, FY2023, 令和元年): what `content_tokens` leaves out
_YEAR_SPAN_RE = re.compile(
    r"(?:(?:令和|平成|昭和)\s*(?:元|\d{1,2})|(?<![A-Za-z\d])[RHrh]\s*(?:元|\d{1,2})(?!\d)|(?<!\d)(?:19|20)\d{2})"
    r"\s*(?:年度|年)?|\bFY\s*\d{2,4}|(?<![\u4e00-\u9fff])年度"
)
_ALNUM_RE = re.compile(r"(?<![A-Za-z\d])(?=[A-Za-z]*\d)(?=\d*[A-Za-z])[A-Za-z\d]+(?![A-Za-z\d])")
_ERA_ALNUM_RE = re.compile(r"[RHrh]\d{1,2}")


def _measure_tokens(text: str) -> list[str]:
    out: list[str] = []
    for m in _MEASURE_RE.finditer(text):
        prefix = m.group(1)
        ids = expand_measure_ref(prefix + re.sub(r"\s+", "", m.group(2)))
        for mid in ids:
            out.append(mid)
            if "・" in prefix:
                number = mid[len(prefix) :]
                out.extend(p + number for p in prefix.split("・"))
    return out


def _era_tokens(text: str) -> list[str]:
    out: list[str] = []
    for m in _ERA_RE.finditer(text):
        era = (m.group(1) or m.group(3).upper()) + (m.group(2) or m.group(4))
        year = fiscal_year(era)
        if year is not None:
            out.append(era_label(year).lower())
    for m in _WESTERN_YEAR_RE.finditer(text):
        year = int(m.group(1))
        if year >= 1989:
            out.append(era_label(year).lower())
    return out


def _alnum_tokens(text: str) -> list[str]:
    """Latin-digit words that Sudachi splits (`5G` -> `5g`); era years are left to `_era_tokens`."""
    return [m.group(0).lower() for m in _ALNUM_RE.finditer(text) if not _ERA_ALNUM_RE.fullmatch(m.group(0))]


def tokenize(text: str, synonyms: bool = False) -> list[str]:
    """Search tokens of `text` (document or query); any string in, a list out (empty for empty input). With
    `synonyms`, a Japanese noun's one synonym group too (`≡21495` for 先生 and for 教員; step 5 above)."""
    if not text:
        return []
    s = _clean(text)
    return _sudachi_tokens(s, synonyms=synonyms) + _measure_tokens(s) + _era_tokens(s) + _alnum_tokens(s)


def content_tokens(text: str) -> list[str]:
    """The tokens of `text` that say what it is about (a question's topic): `tokenize` without function words
    and without years, which questions ask by (「R6の目標」) and `Query` reads separately."""
    if not text:
        return []
    s = _YEAR_SPAN_RE.sub(" ", _clean(text))
    return _sudachi_tokens(s, _content) + _measure_tokens(s) + _alnum_tokens(s)


def predicates(text: str) -> set[str]:
    """The verbs and adjectives among `content_tokens(text)`: how a question asks (使える, 決まった, やってる)
    more than what it is about."""
    if not text:
        return set()
    s = _YEAR_SPAN_RE.sub(" ", _clean(text))
    return set(_sudachi_tokens(s, lambda pos, form: _content(pos, form) and pos[0] in ("動詞", "形容詞")))


def place_names(text: str) -> list[str]:
    """Place names (固有名詞・地名) in `text` as printed after NFKC, e.g. 仙台市, 東京都."""
    return proper_nouns(text, ("地名",))


def proper_nouns(text: str, kinds: tuple[str, ...]) -> list[str]:
    """The proper nouns of `text` of Sudachi's kinds (地名, 人名, ...), as printed after NFKC, first seen first."""
    if not text:
        return []
    out: list[str] = []
    tok = _tokenizer()
    for piece in _pieces(_clean(text)):
        if piece.strip():
            out += [
                m.surface()
                for m in tok.tokenize(piece)
                if m.part_of_speech()[1] == "固有名詞" and m.part_of_speech()[2] in kinds
            ]
    return list(dict.fromkeys(out))
