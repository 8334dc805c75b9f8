"""Shared fixtures. Area-specific helpers live in tests/<area>_helpers.py."""

from __future__ import annotations

import pytest

from gbvstats.schema.model import Registry, load_registry


@pytest.fixture(scope="session")
def registry() -> Registry:
    return load_registry()


@pytest.fixture(scope="session")
def gate_year(tmp_path_factory, registry):
    """A consolidated fixture year with planted problems (tests/gate_helpers.py), built once
    for the gate and quality tests; tests that write take a copy (gate_helpers.copy)."""
    from gate_helpers import build

    return build(tmp_path_factory.mktemp("gate_year"), registry)
