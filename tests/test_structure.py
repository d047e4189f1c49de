"""The shape issue 9 asks of `assistant/`: the service only orchestrates, and no step grows into a tangle."""

from pathlib import Path

import pytest

ASSISTANT = Path(__file__).resolve().parent.parent / "assistant"


def test_the_service_only_orchestrates() -> None:
    assert len((ASSISTANT / "service.py").read_text(encoding="utf-8").splitlines()) <= 200


@pytest.mark.parametrize("module", sorted(p.name for p in ASSISTANT.glob("*.py")))
def test_no_module_is_over_300_lines(module: str) -> None:
    assert len((ASSISTANT / module).read_text(encoding="utf-8").splitlines()) <= 300, module
