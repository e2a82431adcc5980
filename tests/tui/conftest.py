"""The TUI tests share one fixed store (tests/support/history.py) with the clock pinned."""

from __future__ import annotations

import pytest
from support.history import build_store


@pytest.fixture
def ctx(home):
    return build_store(home)
