"""Form schemas: the declared model of every agency form version, and the registry.

A form version is data in `schemas/<agency>/<form>/v<N>.yaml`. This module only
declares and loads; checking across files is `schemacheck`, evaluating rules is `rules`.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from gbvstats import paths
from gbvstats.paths import load_yaml
from gbvstats.periods import Period, parse_period

Labels = dict[str, str]
CodeText = Annotated[str, BeforeValidator(str)]  # YAML may read a code like 01 or 0101 as a number
LEVELS = ("district", "oblast", "country")  # reporting levels; `district` covers rayons and towns


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Column(_Model):
    number: int = Field(ge=1)
    id: str
    label: Labels
    dims: dict[str, str] = {}


class Line(_Model):
    code: CodeText
    element: str
    label: Labels
    parent: str | None = None  # line code of the line this one is "of which"
    iccs: str | None = None
    offence: str | None = None  # member of the offence_group code list
    dims: dict[str, str] = {}
    greyed: list[int] = []  # column numbers that do not apply: locked, must stay empty


class Table(_Model):
    id: str
    title: Labels
    columns: list[Column]
    lines: list[Line]

    def line(self, code: str) -> Line | None:
        return next((ln for ln in self.lines if ln.code == code), None)

    def column(self, number: int) -> Column | None:
        return next((c for c in self.columns if c.number == number), None)


class Tolerance(_Model):
    abs: int = 0
    rel: float = 0.0  # share of the larger side's absolute value


class Rule(_Model):
    id: str
    kind: Literal[
        "balance", "inequality", "compulsory", "exclusive", "completeness",
        "cross_form", "reconciliation", "hierarchy", "temporal", "history",
        "within_year", "cross_section",
    ]
    severity: Literal["error", "warning", "info"] = "error"
    expr: str | None = None  # balance, inequality, cross_form, reconciliation: "LEFT op RIGHT"
    when: str | None = None  # compulsory/exclusive: first term
    then: str | None = None  # compulsory/exclusive: second term
    cells: str | None = None  # completeness, hierarchy, temporal, history: the cells checked
    tolerance: Tolerance = Tolerance()
    missing: Literal["zero", "not_evaluable"] = "zero"
    level: Literal["district", "oblast", "country"] | None = None  # cross-unit rules: compare at
    period: Literal["quarter", "year"] | None = None  # cross-form rules: compare per
    z_threshold: float = 3.5  # outliers (history, within_year, cross_section): robust z that flags
    min_base: int = 20  # outliers: below this on both sides, never flag
    description: Labels = {}
    message: Labels


class ControlRule(Rule):
    """A rule of `schemas/rules/` (across forms and units), with the parameters only the
    outlier kinds use. Kept apart from `Rule` so that adding them changed neither the
    published form versions' content nor their schema_hash (templates carry it)."""

    min_spread: float = 0.1  # outliers: floor of the spread between units (log scale)
    min_peers: int = 2  # units (history, cross_section) or other periods (within_year) needed
    denominator: str | None = None  # cross_section: the cells of the population (e.g. NSC-POP)
    multiplier: int = 100_000  # cross_section: rate per this many of the denominator
    peers: Literal["national", "oblast"] = "national"  # cross_section: the group compared with


class ConcordanceItem(_Model):
    current: str  # address in this version, e.g. "T1/01/1"
    previous: str  # address in the previous version


class Concordance(_Model):
    previous_version: int
    map: list[ConcordanceItem]
    new: list[str] = []  # element ids deliberately without a predecessor


class FormVersion(_Model):
    form: str
    version: int = Field(ge=1)
    agency: str
    title: Labels
    periodicity: Literal["year", "quarter", "month"]
    level: Literal["district", "oblast", "country"]
    valid_from: str
    valid_to: str | None = None
    notes: Labels = {}
    tables: list[Table]
    rules: list[Rule] = []
    concordance: Concordance | None = None

    @property
    def key(self) -> str:
        return f"{self.form}@v{self.version}"

    @cached_property
    def first_period(self) -> Period:
        return parse_period(self.valid_from)

    @cached_property
    def last_period(self) -> Period | None:
        return parse_period(self.valid_to) if self.valid_to else None

    def valid_for(self, period: Period) -> bool:
        return period.periodicity == self.periodicity and period.within(
            self.first_period, self.last_period
        )

    def table(self, table_id: str) -> Table | None:
        return next((t for t in self.tables if t.id == table_id), None)

    def cells(self) -> Iterator[CellSpec]:
        for table in self.tables:
            for line in table.lines:
                for col in table.columns:
                    yield CellSpec(
                        table=table.id, line=line.code, column=col.number,
                        element=line.element, dims={**line.dims, **col.dims},
                        input=col.number not in line.greyed,
                    )

    @cached_property
    def schema_hash(self) -> str:
        """SHA-256 of the canonical content: a template carries it to prove its version."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CellSpec:
    table: str
    line: str
    column: int
    element: str
    dims: dict[str, str]
    input: bool  # False for greyed cells

    @property
    def ref(self) -> str:
        return f"{self.table}/{self.line}/{self.column}"


class Code(_Model):
    model_config = ConfigDict(extra="allow", frozen=True)
    code: CodeText
    label: Labels = {}
    parent: str | None = None


class Hierarchy(_Model):
    """Codes of one list that add up to another of its codes: `total` = sum of `parts`.
    One total may have several breakdowns (children/adults, the NSC's age bands); a
    part such as `_U` (not recorded) that a table does not carry counts as zero there."""

    id: str
    total: CodeText
    parts: list[CodeText]
    label: Labels = {}


TOTAL_CODE = "_T"


class CodeList(_Model):
    id: str
    title: Labels
    codes: list[Code]
    hierarchies: list[Hierarchy] = []

    def codes_set(self) -> set[str]:
        return {c.code for c in self.codes}

    def get(self, code: str) -> Code | None:
        return next((c for c in self.codes if c.code == code), None)

    def breakdowns(self) -> list[Hierarchy]:
        """The declared hierarchies; for a list that declares none but has a total code,
        the one implied: every other code is a part of the total."""
        if self.hierarchies:
            return list(self.hierarchies)
        codes = [c.code for c in self.codes]
        if TOTAL_CODE not in codes:
            return []
        return [Hierarchy(id=self.id.upper(), total=TOTAL_CODE,
                          parts=[c for c in codes if c != TOTAL_CODE])]


class SchemaLoadError(Exception):
    """A schema or code-list file cannot be loaded; `key` is the YAML key path."""

    def __init__(self, path: Path, key: str, problem: str):
        super().__init__(f"{path}: {key}: {problem}")
        self.path, self.key, self.problem = path, key, problem


def _read_yaml(path: Path) -> object:
    try:
        return load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        raise SchemaLoadError(path, where, f"not valid YAML: {getattr(exc, 'problem', exc)}") from None


def _validation_error(path: Path, exc: Exception) -> SchemaLoadError:
    first = exc.errors()[0]  # type: ignore[attr-defined]
    key = ".".join(str(p) for p in first["loc"]) or "(root)"
    return SchemaLoadError(path, key, first["msg"])


def load_form(path: Path) -> FormVersion:
    from pydantic import ValidationError

    data = _read_yaml(path)
    try:
        return FormVersion.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(path, exc) from None


def load_codelist(path: Path) -> CodeList:
    from pydantic import ValidationError

    if path.suffix == ".csv":
        return _codelist_from_csv(path)
    try:
        return CodeList.model_validate(_read_yaml(path))
    except ValidationError as exc:
        raise _validation_error(path, exc) from None


def _codelist_from_csv(path: Path) -> CodeList:
    """territories.csv (soate, ...) and iccs.csv (code, label_en, ...) as code lists."""
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    codes = []
    for row in rows:
        code = row.pop("soate", None) or row.pop("code")
        labels = {k[len("name_"):] if k.startswith("name_") else k[len("label_"):]: v
                  for k, v in row.items() if k.startswith(("name_", "label_")) and v}
        extra = {k: v for k, v in row.items() if not k.startswith(("name_", "label_"))}
        parent = extra.pop("parent_soate", None) or None
        codes.append(Code(code=code, label=labels, parent=parent, **extra))
    cid = {"territories": "territory"}.get(path.stem, path.stem)
    return CodeList(id=cid, title={"en": path.stem}, codes=codes)


class Registry:
    """Every form version and code list found under a schemas directory."""

    def __init__(self, forms: dict[tuple[str, int], FormVersion], codelists: dict[str, CodeList],
                 files: dict[tuple[str, int], Path]):
        self.forms = forms
        self.codelists = codelists
        self.files = files

    def get(self, form: str, version: int | None = None) -> FormVersion:
        if version is None:
            versions = sorted(v for f, v in self.forms if f == form)
            if not versions:
                raise KeyError(f"no form {form!r}; known: {', '.join(self.form_codes())}")
            version = versions[-1]
        try:
            return self.forms[(form, version)]
        except KeyError:
            raise KeyError(f"no version {version} of form {form!r}") from None

    def parse_ref(self, ref: str) -> FormVersion:
        """`MOI-FV` (latest) or `MOI-FV@2` / `MOI-FV@v2`."""
        form, _, version = ref.partition("@")
        return self.get(form, int(version.lstrip("v")) if version else None)

    def for_period(self, form: str, period: Period) -> FormVersion | None:
        return next((f for (code, _), f in sorted(self.forms.items())
                     if code == form and f.valid_for(period)), None)

    def form_codes(self) -> list[str]:
        return sorted({f for f, _ in self.forms})

    def versions(self) -> list[FormVersion]:
        return [self.forms[k] for k in sorted(self.forms)]

    def of_agency(self, agency: str) -> list[FormVersion]:
        return [f for f in self.versions() if f.agency == agency]

    def territories(self) -> CodeList:
        return self.codelists["territory"]

    def units(self, level: str) -> list[Code]:
        """Reporting units of a level: `district` means rayons and towns, `oblast` the
        oblasts and the two cities of republican significance, `country` the republic."""
        codes = self.territories().codes
        if level != "district":
            return [c for c in codes if getattr(c, "level", None) == level]
        # a city of republican significance without districts (Osh) reports as one unit
        parents = {c.parent for c in codes}
        return [c for c in codes if getattr(c, "level", None) in ("district", "city")
                or (getattr(c, "level", None) == "oblast" and c.code not in parents)]

    def oblast_of(self, soate: str) -> str:
        """The oblast-level unit a territory belongs to (itself when it is one)."""
        by_code = {c.code: c for c in self.territories().codes}
        code = by_code[soate]
        while getattr(code, "level", None) not in ("oblast", "country"):
            code = by_code[code.parent]
        return code.code


def form_files(root: Path) -> list[Path]:
    return sorted(p for p in root.glob("*/*/v*.yaml"))


def codelist_files(root: Path) -> list[Path]:
    return sorted([*root.glob("codelists/*.yaml"), *root.glob("codelists/*.csv")])


def load_registry(root: Path | None = None) -> Registry:
    """Load every schema; raises `SchemaLoadError` on the first file that does not load."""
    root = root or paths.schemas_dir()
    forms: dict[tuple[str, int], FormVersion] = {}
    files: dict[tuple[str, int], Path] = {}
    for path in form_files(root):
        fv = load_form(path)
        forms[(fv.form, fv.version)] = fv
        files[(fv.form, fv.version)] = path
    codelists = {}
    for path in codelist_files(root):
        cl = load_codelist(path)
        codelists[cl.id] = cl
    return Registry(forms, codelists, files)


_REGISTRY: Registry | None = None


def registry() -> Registry:
    """The project's registry, loaded once per process."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = load_registry()
    return _REGISTRY
