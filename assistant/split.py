"""Splitting a question into the parts it asks: a second question mark or 「それと／あと」 starts a part, the other
side of an alternative (「高いほう？低いほう？」) does not, and the plan and the actual asked side by side
(「計画では…、実際には…？」) are two parts. Linking each part to its records is `assistant/query.py`'s."""

from __future__ import annotations

import re

from assistant.answer_types import asked_type
from assistant.intent import Attr, detect, japanese_terms_in
from ingest.normalize import nfkc
from ingest.tokenize import content_tokens, predicates

__all__ = ["split_parts", "contrasted"]

_KPI_ASKS = {Attr.TARGET, Attr.BASELINE, Attr.KPI, Attr.FIGURE}
_ALTERNATIVE = (
    5  # characters: at most this long, a tail that asks nothing is the other side of an alternative
)
_SPLIT = re.compile(
    r"(?<=[？?])\s*(?=\S)|(?:。|、)?\s*(?:それと|それから|あと(?=[、,]?\S*[はのを])|また、|and also\b)"
    r"|,\s*and (?=(?:how|what|which|who|when|where|is|are|was|were|did|does|do|has|have)\b)",  # a second question
    re.IGNORECASE,
)


def split_parts(question: str, generic: frozenset[str] = frozenset()) -> list[str]:
    """The asked parts: a second question mark or a 「それと／あと」 starts a new part. Short tails stay: a word or
    two that ask nothing of their own and name no year or figure are the other side of an alternative (「高いほう？
    低いほう？」), not a second question; so does a tail that only asks again, in question words (`generic`), for
    what was asked (「名前を知りたい」「詳しく教えて」)."""
    pieces = [p.strip(" 、,") for p in _SPLIT.split(question) if p and p.strip(" 、,")]
    out: list[str] = []
    for p in pieces:
        size = len(re.sub(r"[\W_]", "", p))
        if out and (
            size < 3
            or (size <= _ALTERNATIVE and _alternative(p))
            or _asks_again(p, generic)
            or _aside(p)
            or _offered(p)
        ):
            out[-1] += p
        else:
            out.append(p)
    return out or [question]


_REASON = re.compile(r"(?:けど|けれど|ので|ため)[。.!！…]*$")  # a clause that gives a reason, not a question


def _aside(piece: str) -> bool:
    """A closing remark that asks nothing (「アクセスしたいんだけど」「取材で使うので」): a reason clause with no
    attribute, no asked type and no figure; it says why the question before it is asked."""
    return bool(_REASON.search(piece)) and _asks_nothing(piece, frozenset(), verbs_only=False)


# 「ZoomとかTeams？」「ZoomやTeamsでしょうか？」: names the asker offers as guesses for what the question before asks
_OFFERED = re.compile(
    r"^[^\s、。?？]{1,20}(?:とか|や)[^\s、。?？]{1,20}?(?:とか|など|なんか)?(?:でしょうか|ですか|かな|なの)?[?？]?$"
)


def _offered(piece: str) -> bool:
    """A piece that only offers guesses (「ZoomとかTeams？」) for what the question before it asks, asking nothing."""
    return bool(_OFFERED.match(piece)) and _asks_nothing(piece, frozenset(), verbs_only=False)


def _alternative(piece: str) -> bool:
    """Is a piece the other side of an alternative: a predicate alone (「低いほう」), asking nothing of its own
    (not 「担当は？」, not 「トップは誰？」) and naming nothing (not 「根拠法も」, not 「R4は？」)?"""
    return bool(predicates(piece)) and _asks_nothing(piece, frozenset())


def _asks_again(piece: str, generic: frozenset[str]) -> bool:
    """Does a piece ask nothing of its own and name nothing: question words and verbs only (「名前を知りたい」)?"""
    return bool(generic) and _asks_nothing(piece, generic)


def _asks_nothing(piece: str, words: frozenset[str], verbs_only: bool = True) -> bool:
    """No attribute, no asked type, no figure or year, and (`verbs_only`) no content word but verbs and `words`."""
    if detect(piece).asks or asked_type(piece) is not None or re.search(r"\d", nfkc(piece)):
        return False
    if not verbs_only:
        return True
    said = predicates(piece)
    return all(t in said or t in words or len(t) == 1 for t in content_tokens(piece))


_CONTRAST = re.compile(
    r"^(.*?(?:計画|ポリシー)(?:で|上|に|の方)?は?.{2,}?)[、,]\s*((?:でも|一方で?)?[、,]?\s*(?:実際|実績)(?:に|で|の方)?は?.{3,})$"
)


# "which saved more: the A or the B?" is "A and B, which saved more?": the shape the coordination reads
_EN_ALTERNATIVE = re.compile(
    r"^(?P<ask>.*?\b(?:which|what|who)\b[^:?]*?)(?::\s*(?:the\s+)?|,\s*the\s+)(?P<a>[^?]+?),?\s+or\s+(?:the\s+)?"
    r"(?P<b>[^?]+)\?(?P<rest>.*)$",
    re.IGNORECASE,
)


def contrasted(text: str) -> list[str]:
    """「計画ではいつ…って書いてあって、実際にはいつ…？」 asks the plan and the report: two parts, the second about
    the first's subject. Each side must ask something of its own. An English alternative ("which …: A or B?") is
    put in the shape of a coordination ("A and B, which …?")."""
    en = _EN_ALTERNATIVE.match(text)
    if en:  # a side read with the documents' terms (`intent.with_japanese_terms`) is named by them alone
        a, b = (" ".join(japanese_terms_in(en[x])) or en[x] for x in ("a", "b"))
        return [f"{a} and {b}, {en['ask']}?{en['rest']}"]
    m = _CONTRAST.match(text)
    if not m or not all(detect(side).asks or asked_type(side) for side in m.groups()):
        return [text]
    left = m.group(1)
    if re.search(r"(?:って|とは|は|も|の|が)$", left):  # 「…の目標って、実績では…？」: a topic, then one ask
        return [text]
    if detect(left).asks & _KPI_ASKS:  # a KPI's plan figure and its actual: one part joins them itself
        return [text]
    return list(m.groups())
