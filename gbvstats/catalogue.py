"""The catalogue of finding types, and findings as data.

Every problem gbvstats reports is a `Finding` whose `code` is catalogued in
`gbvstats/catalogue/*.yaml` (one file per code range) with a title, a description and a
message template in en/ru/ky. Reports are data first (`Finding.to_dict`), text second
(`Finding.message`).

Code ranges, in the order of the data flow, are listed in `RANGES` below; a code's
letter must be one of them.
"""

from __future__ import annotations

import re
import string
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from gbvstats.paths import load_yaml

CATALOGUE_DIR = Path(__file__).resolve().parent / "catalogue"
SEVERITIES = ("error", "warning", "info")
CODE_PATTERN = re.compile(r"^GBV-[A-Z]\d{3}$")


@dataclass(frozen=True)
class FindingType:
    code: str
    severity: str
    title: dict[str, str]
    description: dict[str, str]
    message: dict[str, str]

    def placeholders(self) -> set[str]:
        names: set[str] = set()
        for template in self.message.values():
            names |= {f for _, f, _, _ in string.Formatter().parse(template) if f}
        return names


@cache
def catalogue() -> dict[str, FindingType]:
    types: dict[str, FindingType] = {}
    for path in sorted(CATALOGUE_DIR.glob("*.yaml")):
        for code, entry in (load_yaml(path.read_text(encoding="utf-8")) or {}).items():
            if code in types:
                raise ValueError(f"{path.name}: finding code {code} defined twice")
            if not CODE_PATTERN.match(code) or code[4] not in RANGES:
                raise ValueError(f"{path.name}: finding code {code!r} is not like GBV-X000 "
                                 f"with X one of {''.join(RANGES)}")
            types[code] = FindingType(code=code, **entry)
    return types


def finding_type(code: str) -> FindingType:
    try:
        return catalogue()[code]
    except KeyError:
        raise KeyError(f"finding code {code} is not in the catalogue") from None


class _Lenient(dict):
    """Formatting params: a missing placeholder shows as `{name}` instead of failing."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@dataclass
class Finding:
    """One problem, located as precisely as we can: file, sheet, cell, rule."""

    code: str
    severity: str = ""
    file: str | None = None
    sheet: str | None = None
    cell: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    rule_id: str | None = None
    table: str | None = None
    line: str | None = None
    column: int | None = None
    cells: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        kind = finding_type(self.code)
        if not self.severity:
            self.severity = kind.severity
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity {self.severity!r} is not one of {SEVERITIES}")

    @property
    def title(self) -> dict[str, str]:
        return finding_type(self.code).title

    def message(self, lang: str = "en") -> str:
        templates = finding_type(self.code).message
        template = templates.get(lang) or templates["en"]
        # a param may itself be trilingual (e.g. a rule's own message): take our language
        params = {k: (v.get(lang) or v.get("en")) if isinstance(v, dict) and "en" in v else v
                  for k, v in self.params.items()}
        return string.Formatter().vformat(template, (), _Lenient(params))

    def location(self) -> str:
        parts = [p for p in (self.file, self.sheet and f"sheet {self.sheet}", self.cell) if p]
        return ", ".join(parts)

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        data = asdict(self)
        data["title"] = self.title.get(lang) or self.title["en"]
        data["message"] = self.message(lang)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        """A finding back from `to_dict` (or a stored row): rendered messages are dropped
        and rebuilt from code and params, so it can be shown in any language."""
        known = {f: data.get(f) for f in ("code", "severity", "file", "sheet", "cell", "rule_id",
                                          "table", "line", "column")}
        cells = data.get("cells") or []
        if isinstance(cells, str):  # a stored row keeps the addresses joined
            cells = [c.strip() for c in cells.split(",") if c.strip()]
        return cls(**{k: v for k, v in known.items() if v is not None},
                   params=dict(data.get("params") or {}), cells=list(cells))


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)


RANGES = {"S": "Schemas and code lists", "F": "Files and workbook structure",
          "V": "Cell values", "R": "Rule results", "W": "Warehouse",
          "A": "Server and client", "C": "Consolidation", "P": "Pipelines and publication",
          "Q": "Quality of published tables (expectations)", "D": "Disclosure control",
          "G": "Publication gate", "L": "Releases", "N": "The annual report"}


def catalogue_markdown() -> str:
    """docs/findings.md: every finding code with its titles, description and message."""
    out = ["# Finding codes", "",
           "Generated from `gbvstats/catalogue/*.yaml` by `gbvstats.catalogue.catalogue_markdown()`;",
           "do not edit by hand. `gbvstats findings list` prints the same catalogue.", ""]
    types = sorted(catalogue().values(), key=lambda t: t.code)
    for letter, name in RANGES.items():
        group = [t for t in types if t.code[4] == letter]
        if not group:
            continue
        out += [f"## GBV-{letter}: {name}", ""]
        for t in group:
            out += [f"### {t.code} ({t.severity})", ""]
            out += [f"- **{lang}**: {t.title.get(lang, '')}. {t.description.get(lang, '')}"
                    for lang in ("en", "ru", "ky")]
            out += ["", f"Message: `{t.message.get('en', '')}`", ""]
    return "\n".join(out)


def catalogue_rows(lang: str = "en") -> list[dict[str, str]]:
    """The catalogue as rows in one language (for `gbvstats findings list`)."""
    return [{"code": t.code, "severity": t.severity,
             "title": t.title.get(lang) or t.title["en"],
             "description": t.description.get(lang) or t.description.get("en", ""),
             "message": t.message.get(lang) or t.message["en"]}
            for t in sorted(catalogue().values(), key=lambda t: t.code)]
