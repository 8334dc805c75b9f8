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


# --- paths a command writes to ----------------------------------------------------------


class PathProblem(Exception):
    """A path option a command cannot use: a key of messages/paths.yaml and its params.
    Bad usage, so the CLI exits 2; nothing has been written."""

    code = 2

    def __init__(self, key: str, **params: object):
        self.key, self.params = key, params
        super().__init__(self.message("en"))

    def message(self, lang: str = "en") -> str:
        from gbvstats.i18n import t

        return t(f"paths.{self.key}", lang, **self.params)


def check_parents(path: Path) -> None:
    """The nearest existing folder above `path` must be a folder, not a file."""
    for above in [path.parent, *path.parent.parents]:
        if above.exists() or above.is_symlink():
            if not above.is_dir():
                raise PathProblem("parent_not_dir", path=path, parent=above)
            return


def _parent_dir(path: Path) -> None:
    """Create the folders above `path` (like `mkdir -p`), or say why not."""
    check_parents(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PathProblem("cannot_create", path=path.parent, reason=exc.strerror or exc) from None


def output_file(path: Path | str, force: bool = True) -> Path:
    """A file a command is about to write: not a directory nor a device; an existing file
    only with `force`; its folder created when missing."""
    path = Path(path)
    if path.is_dir():
        raise PathProblem("is_dir", path=path)
    if path.exists() or path.is_symlink():
        if not path.is_file():
            raise PathProblem("not_regular", path=path)
        if not force:
            raise PathProblem("exists", path=path)
    _parent_dir(path)
    return path


def output_dir(path: Path | str) -> Path:
    """A folder a command writes files into: created when missing; a file is refused."""
    path = Path(path)
    if (path.exists() or path.is_symlink()) and not path.is_dir():
        raise PathProblem("not_dir", path=path)
    _parent_dir(path)
    try:
        path.mkdir(exist_ok=True)
    except OSError as exc:
        raise PathProblem("cannot_create", path=path, reason=exc.strerror or exc) from None
    return path
