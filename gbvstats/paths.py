"""Where the project's data files live.

Schemas, templates and pipelines are data kept at the project root (the package is
installed in editable mode). `GBVSTATS_HOME` points elsewhere, e.g. for tests that
plant broken schemas in a temporary copy.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def home() -> Path:
    env = os.environ.get("GBVSTATS_HOME")
    return Path(env).resolve() if env else PACKAGE_DIR.parent


def schemas_dir() -> Path:
    return home() / "schemas"


def codelists_dir() -> Path:
    return schemas_dir() / "codelists"


def rules_dir() -> Path:
    return schemas_dir() / "rules"


def forms_dir() -> Path:
    return home() / "forms"


def pipelines_dir() -> Path:
    return home() / "pipelines"


def sql_dir() -> Path:
    return PACKAGE_DIR / "sql"


def default_warehouse() -> Path:
    env = os.environ.get("GBVSTATS_WAREHOUSE")
    return Path(env) if env else home() / "data" / "warehouse" / "gbvstats.duckdb"


def load_yaml(text: str):
    """Parse YAML with libyaml's C loader when available (about 3x faster than pure Python,
    which matters for every command's start-up), else the pure-Python safe loader."""
    import yaml

    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
