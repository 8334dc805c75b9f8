"""Helpers for the schema-checker tests: a copy of the project's schemas to break."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from functools import cache
from pathlib import Path

import yaml

from gbvstats.catalogue import Finding
from gbvstats.paths import schemas_dir
from gbvstats.schema.check import check_schemas


def copy_schemas(tmp_path: Path) -> Path:
    root = tmp_path / "schemas"
    shutil.copytree(schemas_dir(), root)
    return root


def edit(root: Path, rel: str, change: Callable[[dict], object]) -> None:
    """Load `rel` under root as YAML, let `change` modify it in place, write it back."""
    path = root / rel
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def table(data: dict, table_id: str) -> dict:
    return next(t for t in data["tables"] if t["id"] == table_id)


def line(data: dict, table_id: str, code: str) -> dict:
    return next(ln for ln in table(data, table_id)["lines"] if str(ln["code"]) == code)


def rule(data: dict, rule_id: str) -> dict:
    return next(r for r in data["rules"] if r["id"] == rule_id)


def located(findings: list[Finding]) -> set[tuple[str, str | None, str]]:
    """(code, file, key) of every finding."""
    return {(f.code, f.file, f.params["key"]) for f in findings}


@cache
def baseline() -> frozenset[tuple[str, str | None, str]]:
    """Findings of the untouched project schemas (files named alike in every copy)."""
    return frozenset(located(check_schemas(schemas_dir())))


def new_findings(root: Path) -> set[tuple[str, str | None, str]]:
    """Findings of the copy at `root` that the project's own schemas do not have."""
    return located(check_schemas(root)) - baseline()


def planted(root: Path, rel: str, change: Callable[[dict], object]) -> set[tuple[str, str | None, str]]:
    """The findings that `change`, applied to `rel`, adds."""
    edit(root, rel, change)
    return new_findings(root)
