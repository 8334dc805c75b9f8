"""Shared fixtures. Area-specific helpers live in tests/<area>_helpers.py."""

from __future__ import annotations

import pytest

from gbvstats.schema.model import Registry, load_registry


@pytest.fixture(scope="session")
def registry() -> Registry:
    return load_registry()
