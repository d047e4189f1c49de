"""BM25 lexical index: expected top hits on a tiny corpus, persistence and clear load errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from ingest.lexical import LexicalIndex, LexicalIndexError
from ingest.tokenize import SYNONYM_MARK, tokenize

PASSAGES = {
    "mynumber": "企19 マイナンバーカード普及啓発業務。マイナンバーカードの県内普及率を高めるため，出張申請を行います。",
    "wifi": "企15 無料公衆無線ＬＡＮの整備。みやぎFree Wi-Fiの導入箇所数を増やします。",
    "opendata": "企2 オープンデータみやぎの推進。県が所有するデータをホームページで公開しています。",
    "cyber": "企・警12 宮城県サイバーセキュリティ協議会の運営。警察本部サイバー犯罪対策課と連携します。",
    "telework": "働き方改革の取組として，テレワークとペーパーレス会議を推進します。",
    "school": "ＩＣＴを活用した教育環境を整備し，教員のＩＣＴ活用指導力を高めます。",
    "cashless": "令和6年度からキャッシュレス決済を導入し，収入証紙を見直します。",
}


@pytest.fixture(scope="module")
def index() -> LexicalIndex:
    return LexicalIndex.build(list(PASSAGES), list(PASSAGES.values()))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("マイナンバーカードの普及率", "mynumber"),
        ("企15の目標は？", "wifi"),
        ("企12", "cyber"),
        ("サイバーセキュリティ協議会", "cyber"),
        ("テレワークの取り組み", "telework"),  # 取り組み meets 取組
        ("DX教育 ICT活用", "school"),  # ＩＣＴ meets ICT
        ("R6年度のキャッシュレス", "cashless"),  # R6 meets 令和6年度
        ("オープンデータ", "opendata"),
        (
            "先生の指導力",
            "school",
        ),  # a word the passages never use finds its Sudachi synonym: 先生 meets 教員
    ],
)
def test_expected_top_hit(index: LexicalIndex, query: str, expected: str) -> None:
    hits = index.search(query)
    assert hits, f"no hit for {query!r}"
    assert hits[0][0] == expected, f"{query!r}: {hits}"


def test_a_word_the_passages_use_is_searched_by_itself_only(index: LexicalIndex) -> None:
    # its synonym group would count it twice; an unknown word is searched by its group (「先生」 for 教員)
    assert index.query_terms("教員の指導力") == tokenize("教員の指導力")
    assert any(t.startswith(SYNONYM_MARK) for t in index.query_terms("先生の指導力"))


def test_scores_positive_and_sorted(index: LexicalIndex) -> None:
    hits = index.search("推進 整備 県", k=10)
    scores = [s for _, s in hits]
    assert all(s > 0 for s in scores) and scores == sorted(scores, reverse=True)


def test_k_limits_results(index: LexicalIndex) -> None:
    assert len(index.search("推進 整備 県 企", k=2)) == 2
    assert index.search("推進", k=0) == []


@pytest.mark.parametrize("query", ["", "   ", "の。", "zzzqqq"])
def test_empty_or_unknown_query(index: LexicalIndex, query: str) -> None:
    assert index.search(query) == []


def test_scores_equal_rank_bm25(index: LexicalIndex) -> None:
    bm25 = BM25Okapi(index.doc_tokens)
    for query in ["マイナンバーカードの普及率", "企15", "推進 整備"]:
        expected = bm25.get_scores(tokenize(query))
        got = dict(index.search(query, k=len(index)))
        for i, doc_id in enumerate(index.ids):
            assert got.get(doc_id, 0.0) == pytest.approx(max(expected[i], 0.0)), (query, doc_id)
        assert np.count_nonzero(expected > 0) == len(got)


def test_save_load_round_trip(index: LexicalIndex, tmp_path: Path) -> None:
    path = tmp_path / "sub" / "lexical.json"
    index.save(path)
    loaded = LexicalIndex.load(path)
    assert loaded.ids == index.ids and loaded.doc_tokens == index.doc_tokens
    for query in ["企15", "マイナンバーカード", "テレワーク 取組"]:
        assert loaded.search(query) == index.search(query)


def test_load_does_not_retokenise(index: LexicalIndex, tmp_path: Path) -> None:
    path = tmp_path / "lexical.json"
    index.save(path)
    payload = json.loads(path.read_text(encoding="utf-8"))
    payload["tokens"][0] = tokenize("ラグビー")  # a word that is in no passage text
    path.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    assert LexicalIndex.load(path).search("ラグビー")[0][0] == index.ids[0]


@pytest.mark.parametrize(
    "content",
    ["", "{not json", "[]", '{"format": "policy-assistant-lexical-v1"}', "\x00\xff garbage"],
)
def test_load_corrupt_raises_clear_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "lexical.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(LexicalIndexError) as err:
        LexicalIndex.load(path)
    assert str(path) in str(err.value) and "policy-assistant ingest" in str(err.value)


def test_load_missing_raises_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"
    with pytest.raises(LexicalIndexError, match="policy-assistant ingest") as err:
        LexicalIndex.load(path)
    assert str(path) in str(err.value)


def test_load_version_mismatch(index: LexicalIndex, tmp_path: Path) -> None:
    path = tmp_path / "lexical.json"
    index.save(path)
    payload = json.loads(path.read_text(encoding="utf-8"))
    payload["tokenizer_version"] = "old"
    path.write_text(json.dumps(payload), encoding="utf-8")
    with pytest.raises(LexicalIndexError, match="tokenizer 'old'.*policy-assistant ingest"):
        LexicalIndex.load(path)


def test_empty_index_and_bad_input() -> None:
    assert LexicalIndex.build([], []).search("企15") == []
    with pytest.raises(ValueError, match="one id per text"):
        LexicalIndex.build(["a"], [])
    with pytest.raises(ValueError, match="duplicate"):
        LexicalIndex.build(["a", "a"], ["x", "y"])
