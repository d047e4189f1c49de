"""The benchmarks measure the service, not its guard rails: every load client shares one address."""

from __future__ import annotations

import pytest

from assistant.config import Settings
from evals.load import SERVER_ENV


def test_a_benchmark_server_runs_without_the_per_client_rate_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().rate_limit_per_minute > 0  # the served default limits each client address
    for name, value in SERVER_ENV.items():
        monkeypatch.setenv(name, value)
    assert Settings().rate_limit_per_minute == 0
