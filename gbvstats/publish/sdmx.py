"""SDMX-CSV in the SDG data structure, and its structural check.

`pipelines/sdmx/dsd.yaml` declares the structure (the SDG DSD's dimensions in order, the
attributes written, the code lists of each) and `pipelines/sdmx/codelists/*.csv` the code
lists; `pipelines/sdmx.yaml` says which table columns become which series. `rows()` turns
protected tables into observations; `check_rows()` verifies every row against the DSD
(header, code lists, mandatory attributes, values, unique keys) and `publish` refuses to
write a file that fails it. All of it is data: a new series is a few lines of YAML.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from gbvstats.catalogue import Finding
from gbvstats.paths import load_yaml, pipelines_dir

HEAD = ["STRUCTURE", "STRUCTURE_ID", "ACTION"]
_YEAR = re.compile(r"^\d{4}$")


@dataclass
class Dsd:
    """The structure SDMX rows are written in and checked against."""

    structure_id: str
    dimensions: list[str]
    defaults: dict[str, str]
    attributes: list[str]
    mandatory: list[str]
    codes: dict[str, set[str]]  # dimension or attribute -> the codes allowed
    missing_status: set[str]
    labels: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)  # code list -> code -> {lang: name}
    time: str = "TIME_PERIOD"
    measure: str = "OBS_VALUE"

    @property
    def header(self) -> list[str]:
        return [*HEAD, *self.dimensions, self.time, self.measure, *self.attributes]


def sdmx_dir(root: Path | None = None) -> Path:
    return (root or pipelines_dir()) / "sdmx"


def config(path: Path | None = None) -> dict[str, Any]:
    """pipelines/sdmx.yaml: the national -> DSD code maps and the files with their observations."""
    path = path or pipelines_dir() / "sdmx.yaml"
    data = load_yaml(path.read_text(encoding="utf-8")) or {}
    return {"codes": data.get("codes") or {}, "files": data.get("files") or []}


def load_dsd(root: Path | None = None, territories: list | None = None) -> Dsd:
    """The DSD of `pipelines/sdmx/dsd.yaml` with its code lists; REF_AREA's codes come
    from the territory code list (its SDMX area codes)."""
    base = sdmx_dir(root)
    spec = load_yaml((base / "dsd.yaml").read_text(encoding="utf-8"))
    flow = spec["dataflow"]
    structure_id = f"{flow['agency']}:{flow['id']}({flow['version']})"
    codes: dict[str, set[str]] = {}
    labels: dict[str, dict[str, dict[str, str]]] = {}
    for item in [*spec["dimensions"], *spec["attributes"]]:
        if "codelists" not in item:
            continue
        allowed: set[str] = set()
        for name in item["codelists"]:
            if name == "territories":
                allowed |= _area_codes(territories)
            else:
                table = _codelist(base / "codelists" / f"{name}.csv")
                labels[name] = table
                allowed |= set(table)
        codes[item["id"]] = allowed
    return Dsd(
        structure_id=structure_id,
        dimensions=[d["id"] for d in spec["dimensions"]],
        defaults={i["id"]: str(i["default"]) for i in [*spec["dimensions"], *spec["attributes"]]
                  if "default" in i},
        attributes=[a["id"] for a in spec["attributes"]],
        mandatory=[a["id"] for a in spec["attributes"] if a.get("mandatory")],
        codes=codes, missing_status=set(spec.get("missing_status", [])), labels=labels,
        time=spec.get("time_dimension", "TIME_PERIOD"), measure=spec.get("measure", "OBS_VALUE"))


@cache
def _codelist(path: Path) -> dict[str, dict[str, str]]:
    """code -> {lang: name}; the DSD's lists carry `name` (English), ours name_en/ru/ky."""
    with path.open(encoding="utf-8", newline="") as fh:
        out = {}
        for row in csv.DictReader(fh):
            names = {k.removeprefix("name_"): v for k, v in row.items() if k.startswith("name_") and v}
            if row.get("name"):
                names.setdefault("en", row["name"])
            out[row["code"]] = names
        return out


def _area_codes(territories: list | None) -> set[str]:
    if territories is None:
        from gbvstats.schema.model import registry

        territories = registry().territories().codes
    return {getattr(c, "sdmx_code", None) for c in territories} - {None, ""}


# --- observations ------------------------------------------------------------------


def rows(file_cfg: dict, year: int, tables: dict, dsd: Dsd, code_maps: dict) -> list[dict[str, str]]:
    """The observations of one SDMX file for one year. `tables` maps a table name to an
    object with `frame` (values, suppressed ones empty), `status(column, i)` (A, P, B or
    C) and `comment(column, i)` (English text or '')."""
    out = []
    for obs in file_cfg["observations"]:
        table = tables.get(obs["table"])
        if table is None or obs["column"] not in table.frame.columns:
            continue
        out += list(_observations(obs, year, table, dsd, code_maps))
    return out


def _observations(obs: dict, year: int, table, dsd: Dsd, code_maps: dict):
    col = obs["column"]
    frame = table.frame
    for i, row in enumerate(frame.to_dict("records")):
        status = table.status(col, i)
        value = row[col]
        if status != "C" and _missing(value):
            continue  # not available: SDMX leaves the observation out
        series = _series(obs["series"], row)
        if series is None:
            continue
        item = {"STRUCTURE": "dataflow", "STRUCTURE_ID": dsd.structure_id, "ACTION": "I"}
        for dim in dsd.dimensions:
            item[dim] = dsd.defaults.get(dim, "")
        item.update(SERIES=series, REF_AREA=str(row.get("area", "")))
        for dim, column in (obs.get("dimensions") or {}).items():
            item[dim] = _dsd_code(code_maps, dim, row.get(column))
        for dim, code in (obs.get("fixed") or {}).items():
            item[dim] = _dsd_code(code_maps, dim, code)
        item[dsd.time] = str(year)
        for attr in dsd.attributes:
            item[attr] = dsd.defaults.get(attr, "")
        item["UNIT_MEASURE"] = obs["unit"]
        comment = table.comment(col, i)
        if status == "C":  # the SDG DSD has no confidentiality attribute: a missing value
            item[dsd.measure], item["OBS_STATUS"] = "", "O"
            comment = "; ".join(x for x in ("Confidential: suppressed by disclosure control", comment) if x)
        else:
            item[dsd.measure], item["OBS_STATUS"] = _number(value), status
        if "COMMENT_OBS" in item:
            item["COMMENT_OBS"] = comment
        yield item


def _series(spec, row: dict) -> str | None:
    if isinstance(spec, str):
        return spec
    value = row.get(spec["column"])
    return None if _missing(value) else spec["codes"].get(str(value))


def _dsd_code(code_maps: dict, dim: str, value) -> str:
    if _missing(value):
        return "_Z"  # not applicable: fails the check unless the code list has it
    return str((code_maps.get(dim) or {}).get(str(value), value))


def _missing(value) -> bool:
    import pandas as pd

    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def _number(value) -> str:
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return str(value)


def write_csv(path: Path, header: list[str], rows_: list[dict]) -> None:
    """The one writer of SDMX-CSV files: text that looks like a formula stays text."""
    from gbvstats.safe import write_csv_rows

    write_csv_rows(path, [header, *([r.get(h, "") for h in header] for r in rows_)])


# --- structural check --------------------------------------------------------------


def check_rows(rows_: list[dict], dsd: Dsd, file: str = "") -> list[Finding]:
    """Every row against the DSD: each dimension's and coded attribute's code in its
    code lists, the mandatory attributes present, OBS_VALUE a number (or empty with a
    missing-value status), TIME_PERIOD a year for annual data, and no key twice."""
    findings = []
    seen: dict[tuple, int] = {}
    for n, row in enumerate(rows_, start=2):  # line 1 is the header
        missing = [h for h in dsd.header if h not in row]
        if missing:
            findings.append(_finding("GBV-P010", file, n, column=", ".join(missing)))
            continue
        for column, allowed in dsd.codes.items():
            value = str(row[column])
            if column in dsd.attributes and column not in dsd.mandatory and value == "":
                continue
            if value not in allowed:
                findings.append(_finding("GBV-P011", file, n, column=column, value=value))
        for column in dsd.mandatory:
            if str(row[column]) == "":
                findings.append(_finding("GBV-P012", file, n, column=column))
        findings += _check_value(row, dsd, file, n)
        if row.get("FREQ") == "A" and not _YEAR.match(str(row[dsd.time])):
            findings.append(_finding("GBV-P013", file, n, column=dsd.time, value=row[dsd.time]))
        key = tuple(str(row[d]) for d in [*dsd.dimensions, dsd.time])
        if key in seen:
            findings.append(_finding("GBV-P014", file, n, value="/".join(key), other=seen[key]))
        seen.setdefault(key, n)
    return findings


def _check_value(row: dict, dsd: Dsd, file: str, n: int) -> list[Finding]:
    value, status = str(row[dsd.measure]), str(row["OBS_STATUS"])
    if value == "":
        if status in dsd.missing_status:
            return []
        return [_finding("GBV-P015", file, n, column=dsd.measure, value=status)]
    try:
        float(value)
    except ValueError:
        return [_finding("GBV-P013", file, n, column=dsd.measure, value=value)]
    if status in dsd.missing_status:
        return [_finding("GBV-P015", file, n, column=dsd.measure, value=status)]
    return []


def check_file(path: Path, dsd: Dsd) -> list[Finding]:
    """The structural check of a written SDMX-CSV file, header included."""
    with Path(path).open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        body = [dict(zip(header, r, strict=False)) for r in reader]
    findings = []
    if header != dsd.header:
        findings.append(_finding("GBV-P010", Path(path).name, 1,
                                 column=", ".join(h for h in dsd.header if h not in header)
                                 or "(order)"))
    return findings + check_rows(body, dsd, Path(path).name)


def _finding(code: str, file: str, line: int, **params) -> Finding:
    return Finding(code=code, file=file, cell=f"line {line}", params={"file": file, "line": line, **params})
