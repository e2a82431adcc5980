"""Fixtures for the fault-injection suite: generated corpora shared by the tests of one run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # faultkit, beside the tests that use it

from faultkit import generate_corpus  # noqa: E402


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    """About 40 MB of real-shaped logs in ~140 files (both roots, OpenClaw, resumes, traps) and their totals:
    enough for a cold ingest to parse in worker processes. Never modified by a test: tests point HOME at it and
    keep their database elsewhere."""
    home, expected = generate_corpus(tmp_path_factory.mktemp("corpus"), "40MB", seed=7)
    return home, expected


@pytest.fixture(scope="session")
def single_file_corpus(tmp_path_factory):
    """One ~12 MB Claude Code session file: many commits land inside a single file."""
    home, expected = generate_corpus(tmp_path_factory.mktemp("corpus1"), "12MB", seed=11, single_file=True)
    return home, expected
