"""Spec of the verbatim source lines: the index keeps every document's lines as read, and a record's span reads as
one text in which names and figures broken over lines still match.
"""

from __future__ import annotations

from pathlib import Path

from assistant.knowledge import squash
from ingest.index import open_index
from ingest.normalize import number_tokens
from ingest.sources import verbatim
from tests.conftest import read_lines

PLAN = "miyagi-ict-policy-2021-2024.txt"


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


def test_the_index_keeps_the_source_lines_as_read(built_data_dir: Path) -> None:
    sources = open_index(built_data_dir).sources
    assert sources["plan-2021"] == read_lines(PLAN)
    assert set(sources) == {"plan-2021", "progress-r5"}
