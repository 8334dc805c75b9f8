"""What the annual report shows, as data: `pipelines/report.yaml`.

The definition names, per section, the published indicator tables it draws on and, for
each, a table over the years (rows of measures at chosen dimension codes, one column per
year), tables for the report year by a dimension (oblast, agency, offence...), one chart
and any method notes. Titles, units, sources and notes of a table are not repeated here:
they come from its pipeline header (`-- title.*`, `-- unit.*`, `-- sources`,
`-- notes.*`). This module only declares and loads; `build.py` reads the publications.

A cell is named by a `Ref`: a measure (a column of the published table) at some
dimension codes (`where`); a dimension left out means its total (`_T`, area `KG`).
`by: sex` expands a ref into one row (or bar, or line) per code of that dimension found
in the publications, total first, in the code list's order.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from gbvstats.i18n import LANGS

_ID = re.compile(r"^[a-z][a-z0-9_]*$")


def _trilingual(value: dict[str, str] | None) -> dict[str, str] | None:
    if value is None:
        return value
    missing = [lang for lang in LANGS if not str(value.get(lang) or "").strip()]
    if missing:
        raise ValueError(f"text needed in every language ({', '.join(LANGS)}); missing: {', '.join(missing)}")
    extra = sorted(set(value) - set(LANGS))
    if extra:
        raise ValueError(f"unknown language(s) {', '.join(extra)}; expected {', '.join(LANGS)}")
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# trilingual text ({en, ru, ky}), validated so that no report lacks a language
Labels = Annotated[dict[str, str], AfterValidator(_trilingual)]


class Ref(_Model):
    measure: str
    where: dict[str, str] = {}
    by: str | None = None
    label: Labels | None = None  # default: the measure's label and the codes of `where`
    heading: Labels | None = None  # a `by` ref in a table: its heading row (default: the code list's title)


    @field_validator("where", mode="before")
    @classmethod
    def _codes_as_text(cls, value):
        return {str(k): str(v) for k, v in (value or {}).items()}


def _refs(value):
    """A bare string in a list of refs is the measure alone."""
    return [{"measure": v} if isinstance(v, str) else v for v in value or []]


class YearsTable(_Model):
    """Rows of measures, one column per year of the span (the five-year table)."""
    where: dict[str, str] = {}
    rows: list[Ref] = Field(min_length=1)
    caption: Labels | None = None



    @field_validator("rows", mode="before")
    @classmethod
    def _rows(cls, value):
        return _refs(value)


class Breakdown(_Model):
    """The report year by one dimension (`area`: the oblasts): one row per code, one
    column per ref."""
    by: str = "area"
    where: dict[str, str] = {}
    columns: list[Ref] = Field(min_length=1)
    caption: Labels | None = None



    @field_validator("columns", mode="before")
    @classmethod
    def _columns(cls, value):
        return _refs(value)


class Chart(_Model):
    """`line`: the years of the span on the x axis, one line per series (a `by` series
    gives one line per code). `bar`: the report year, one group of bars per code of the
    series' `by` (or one bar per series when no series has a `by`)."""
    kind: Literal["line", "bar"]
    series: list[Ref] = Field(min_length=1)
    where: dict[str, str] = {}
    caption: Labels | None = None



    @field_validator("series", mode="before")
    @classmethod
    def _series(cls, value):
        return _refs(value)


class Indicator(_Model):
    table: str
    title: Labels | None = None  # default: the pipeline's title
    about: Labels | None = None  # what is counted, in a sentence or two (the law, the scope)
    scope: Labels | None = None  # stated under the definition, e.g. which offences a chain covers
    source: Labels | None = None  # default: the agencies of the pipeline's `-- sources` forms
    years: YearsTable | None = None
    breakdowns: list[Breakdown] = []
    chart: Chart | None = None
    notes: list[Labels] = []  # method notes beside the pipeline's own



class Section(_Model):
    id: str
    title: Labels
    about: Labels | None = None
    indicators: list[Indicator] = Field(min_length=1)


    @field_validator("id")
    @classmethod
    def _id(cls, value):
        if not _ID.match(value):
            raise ValueError("a section id is lower-case letters, digits and _ (it is the page anchor)")
        return value

    @field_validator("indicators")
    @classmethod
    def _once(cls, value):
        tables = [i.table for i in value]
        twice = sorted({t for t in tables if tables.count(t) > 1})
        if twice:  # its anchor (section-table) and its charts' ids must be unique in the page
            raise ValueError(f"table {twice[0]} appears twice in the section")
        return value


class Flag(_Model):
    """How a cell with this OBS_STATUS is shown: `mark` beside the figure, or instead of
    it when `replaces`; explained in a footnote (`label`; for C the publication's own
    footnote with its threshold)."""
    mark: str
    replaces: bool = False
    label: Labels



class ReportSpec(_Model):
    title: Labels
    publisher: Labels
    years_back: int = Field(5, ge=1, le=30)
    codelists: dict[str, str] = {}  # dimension column -> code list id, where they differ
    flags: dict[str, Flag]
    labels: dict[str, dict[str, Labels]] = {}  # table -> column -> label
    sections: list[Section] = Field(min_length=1)


    @field_validator("sections")
    @classmethod
    def _unique(cls, value):
        seen: set[str] = set()
        for section in value:
            if section.id in seen:
                raise ValueError(f"section id {section.id!r} is used twice")
            seen.add(section.id)
        return value


class SpecError(Exception):
    """The report definition cannot be loaded: `key` is the YAML key path."""

    def __init__(self, path: Path, key: str, problem: str):
        super().__init__(f"{path}: {key}: {problem}")
        self.path, self.key, self.problem = path, key, problem


def default_path() -> Path:
    from gbvstats.paths import pipelines_dir

    return pipelines_dir() / "report.yaml"


def load_spec(path: Path | None = None) -> ReportSpec:
    import yaml
    from pydantic import ValidationError

    from gbvstats.paths import load_yaml

    path = path or default_path()
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(path, "(file)", f"cannot be read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        raise SpecError(path, where, f"not valid YAML: {getattr(exc, 'problem', exc)}") from None
    try:
        return ReportSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "(root)"
        raise SpecError(path, key, first["msg"].removeprefix("Value error, ")) from None
