"""Checking the schemas directory as a whole: every form version, code list and rule file.

`check_schemas(root)` loads every file under `root` and reports every problem it finds as
a catalogued `GBV-S` finding; a file that does not load is one finding and the rest go on.
Key paths name the YAML key: `tables.T2.lines.03.dims.sex`, `rules.MOI-FV2-01.expr`;
duplicates are located by position (`tables[2].id`, counted from 0) since their id is
ambiguous.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from gbvstats.catalogue import Finding
from gbvstats.i18n import LANGS, t
from gbvstats.periods import parse_period
from gbvstats.schema.model import (
    CodeList,
    ControlRule,
    FormVersion,
    Rule,
    SchemaLoadError,
    _read_yaml,
    codelist_files,
    form_files,
    load_codelist,
    load_form,
)
from gbvstats.schema.rulelang import Address, RuleSyntaxError, expand, parse_expression, parse_terms

DIM_LIST = {"offence": "offence_group"}  # dims key -> code list id, where they differ
NEEDS = {  # rule kind -> the fields it must declare, one alternative of
    **dict.fromkeys(("balance", "inequality", "cross_form", "reconciliation"), [("expr",)]),
    **dict.fromkeys(("compulsory", "exclusive"), [("when", "then")]),
    **dict.fromkeys(("completeness", "temporal", "history", "within_year"), [("cells",)]),
    "cross_section": [("cells", "denominator")],
    # a hierarchy rule checks cells across levels, or compares two forms' cells (reconcile.py)
    "hierarchy": [("cells",), ("expr",)],
}


class _Check:
    """Collects findings for one schemas root; `rel` names files as users see them."""

    def __init__(self, root: Path):
        self.root = root
        self.findings: list[Finding] = []
        self.broken_dirs: set[Path] = set()  # form directories with a file that did not load
        self.form_dirs: dict[str, Path] = {}
        self.broken_codelists = False

    def unknowable(self, form: str) -> bool:
        """True when `form` may be one whose file did not load: say nothing more about it."""
        where = self.form_dirs.get(form)
        return where in self.broken_dirs if where else bool(self.broken_dirs)

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root.parent).as_posix()

    def add(self, finding_code: str, path: Path, key: str, message: str, **params: object) -> None:
        problem = {lang: t(f"schemacheck.{message}", lang, **params) for lang in LANGS}
        rel = self.rel(path)
        self.findings.append(Finding(code=finding_code, file=rel,
                                     params={"path": rel, "key": key, "problem": problem}))

    def load_error(self, exc: SchemaLoadError) -> None:
        self.add("GBV-S001", exc.path, exc.key, "load", detail=exc.problem)


def check_schemas(root: Path) -> list[Finding]:
    """Every problem in the schemas under `root` (forms, code lists, cross-form rules)."""
    check = _Check(root.resolve())
    codelists = _load_codelists(check)
    forms = _load_forms(check)
    rule_files = _load_rule_files(check)
    latest = _latest(forms)
    for path, cl in codelists:
        _check_codelist(check, path, cl, codelists)
    for path, form in forms:
        _check_form(check, path, form, {cl.id: cl for _, cl in codelists}, latest)
    _check_versions(check, forms)
    _check_rule_ids(check, forms, rule_files)
    for path, rules in rule_files:
        for _, rule in rules:
            _check_rule(check, path, f"rules.{rule.id}", rule, None, latest)
    return check.findings


def count_files(root: Path) -> int:
    return len(form_files(root)) + len(codelist_files(root)) + len(_rule_paths(root))


# --- loading -------------------------------------------------------------------------

def _load(check: _Check, path: Path, loader):
    """`loader(path)`, or None after reporting why the file does not load."""
    try:
        return loader(path)
    except SchemaLoadError as exc:
        check.load_error(exc)
    except (KeyError, ValueError, OSError) as exc:  # not UTF-8, a CSV without its code column
        check.add("GBV-S001", path, "(file)", "load", detail=str(exc))
    return None


def _load_codelists(check: _Check) -> list[tuple[Path, CodeList]]:
    loaded = []
    for path in codelist_files(check.root):
        cl = _load(check, path, load_codelist)
        if cl is not None:
            loaded.append((path, cl))
        check.broken_codelists |= cl is None
    seen: dict[str, Path] = {}
    for path, cl in loaded:
        if cl.id in seen:
            check.add("GBV-S009", path, "id", "dup_codelist", id=cl.id, other=check.rel(seen[cl.id]))
        seen.setdefault(cl.id, path)
    return loaded


def _load_forms(check: _Check) -> list[tuple[Path, FormVersion]]:
    loaded = []
    seen: dict[tuple[str, int], Path] = {}
    for path in form_files(check.root):
        form = _load(check, path, load_form)
        if form is None:
            check.broken_dirs.add(path.parent)
            continue
        check.form_dirs[form.form] = path.parent
        key = (form.form, form.version)
        if key in seen:
            check.add("GBV-S008", path, "version", "dup_form", form=form.form,
                      version=form.version, other=check.rel(seen[key]))
            continue
        seen[key] = path
        loaded.append((path, form))
    return loaded


def _rule_paths(root: Path) -> list[Path]:
    return sorted((root / "rules").glob("*.yaml"))


def _load_rule_files(check: _Check) -> list[tuple[Path, list[tuple[int, Rule]]]]:
    """Each rules file with its valid rules and their positions in it."""
    from pydantic import ValidationError

    loaded = []
    for path in _rule_paths(check.root):
        try:
            data = _read_yaml(path)
        except SchemaLoadError as exc:
            check.load_error(exc)
            continue
        except (ValueError, OSError) as exc:
            check.add("GBV-S001", path, "(file)", "load", detail=str(exc))
            continue
        if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
            check.add("GBV-S001", path, "rules", "rules_file")
            continue
        rules = []  # the valid ones are still checked
        for i, raw in enumerate(data["rules"]):
            try:
                rules.append((i, ControlRule.model_validate(raw)))
            except ValidationError as exc:
                first = exc.errors()[0]
                key = ".".join(["rules", str(i), *(str(p) for p in first["loc"])])
                check.add("GBV-S001", path, key, "load", detail=first["msg"])
        loaded.append((path, rules))
    return loaded


def _latest(forms: list[tuple[Path, FormVersion]]) -> dict[str, FormVersion]:
    latest: dict[str, FormVersion] = {}
    for _, form in forms:
        if form.form not in latest or form.version > latest[form.form].version:
            latest[form.form] = form
    return latest


# --- code lists ----------------------------------------------------------------------

def _check_codelist(check: _Check, path: Path, cl: CodeList,
                    codelists: list[tuple[Path, CodeList]]) -> None:
    codes = [c.code for c in cl.codes]
    for i, code in _repeats(codes):
        check.add("GBV-S007", path, f"codes[{i}].code", "dup_code", code=code, list=cl.id)
    members = set(codes)
    for c in cl.codes:
        if c.parent and c.parent not in members:
            check.add("GBV-S014", path, f"codes.{c.code}.parent", "unknown_parent",
                      code=c.code, parent=c.parent, list=cl.id)
    if path.suffix == ".csv":
        return  # reference tables come in their source's languages
    _translations(check, path, "title", cl.title)
    for c in cl.codes:
        _translations(check, path, f"codes.{c.code}.label", c.label)
    iccs = next((other for _, other in codelists if other.id == "iccs"), None)
    if iccs is not None:
        for c in cl.codes:
            code = getattr(c, "iccs", None)
            if code is not None and str(code) not in iccs.codes_set():
                check.add("GBV-S013", path, f"codes.{c.code}.iccs", "unknown_iccs", code=code)
    _check_hierarchies(check, path, cl)


def _check_hierarchies(check: _Check, path: Path, cl: CodeList) -> None:
    """Declared breakdowns (`hierarchies:`): codes of the list, each code once per
    hierarchy, at least two parts, unique ids and breakdowns, no code a part of itself,
    and `parent` fields that agree with them."""
    members = {c.code for c in cl.codes}
    for i, hid in _repeats(h.id for h in cl.hierarchies):
        check.add("GBV-S033", path, f"hierarchies[{i}].id", "dup_hierarchy", id=hid, list=cl.id)
    seen: dict[tuple, str] = {}
    for h in cl.hierarchies:
        key = f"hierarchies.{h.id}"
        if h.label:
            _translations(check, path, f"{key}.label", h.label)
        for where, code in [("total", h.total), *((f"parts[{i}]", p) for i, p in enumerate(h.parts))]:
            if code not in members:
                check.add("GBV-S031", path, f"{key}.{where}", "hierarchy_code", code=code,
                          list=cl.id)
        for i, code in _repeats(h.parts):
            check.add("GBV-S032", path, f"{key}.parts[{i}]", "hierarchy_twice", code=code)
        if h.total in h.parts:
            check.add("GBV-S032", path, f"{key}.parts[{h.parts.index(h.total)}]",
                      "hierarchy_total_part", code=h.total)
        if len(set(h.parts) - {h.total}) < 2:
            check.add("GBV-S034", path, f"{key}.parts", "hierarchy_short", total=h.total)
        same = (h.total, frozenset(h.parts))
        if same in seen and seen[same] != h.id:
            check.add("GBV-S036", path, key, "hierarchy_same", id=h.id, other=seen[same])
        seen.setdefault(same, h.id)
    for code in _cycle(cl):
        check.add("GBV-S035", path, "hierarchies", "hierarchy_cycle", code=code, list=cl.id)
    if cl.hierarchies:
        for c in cl.codes:
            if c.parent and not any(h.total == c.parent and c.code in h.parts
                                    for h in cl.hierarchies):
                check.add("GBV-S037", path, f"codes.{c.code}.parent", "hierarchy_parent",
                          code=c.code, parent=c.parent)


def _cycle(cl: CodeList) -> list[str]:
    """Codes that are, through the hierarchies, a part of themselves (each cycle reported
    once, by its smallest code)."""
    below: dict[str, set[str]] = {}
    for h in cl.hierarchies:
        below.setdefault(h.total, set()).update(p for p in h.parts if p != h.total)
    found = []
    for start in sorted(below):
        reach = _reach(below, start)
        if start in reach and start == min(c for c in reach if start in _reach(below, c)):
            found.append(start)
    return found


def _reach(below: dict[str, set[str]], start: str) -> set[str]:
    reach, todo = set(), list(below.get(start, ()))
    while todo:
        code = todo.pop()
        if code not in reach:
            reach.add(code)
            todo.extend(below.get(code, ()))
    return reach


def _repeats(values: Iterable[object]) -> list[tuple[int, object]]:
    """(position, value) of every occurrence after the first of a repeated value."""
    seen: set[object] = set()
    out = []
    for i, v in enumerate(values):
        if v in seen:
            out.append((i, v))
        seen.add(v)
    return out


def _translations(check: _Check, path: Path, key: str, labels: dict[str, str]) -> None:
    for lang in LANGS:
        if not str(labels.get(lang) or "").strip():
            check.add("GBV-S021", path, f"{key}.{lang}", "translation", language=lang)


# --- one form version ----------------------------------------------------------------

def _check_form(check: _Check, path: Path, form: FormVersion, codelists: dict[str, CodeList],
                latest: dict[str, FormVersion]) -> None:
    _check_path(check, path, form)
    _check_validity(check, path, form)
    _translations(check, path, "title", form.title)
    if form.notes:
        _translations(check, path, "notes", form.notes)
    for i, tid in _repeats(table.id for table in form.tables):
        check.add("GBV-S002", path, f"tables[{i}].id", "dup_table", id=tid)
    seen: set[str] = set()
    for table in form.tables:
        for ln in table.lines:
            if ln.element in seen:
                check.add("GBV-S005", path, f"tables.{table.id}.lines.{ln.code}.element",
                          "dup_element", element=ln.element)
            seen.add(ln.element)
    for table in form.tables:
        _check_table(check, path, form, table, codelists)
    for rule in form.rules:
        _check_rule(check, path, f"rules.{rule.id}", rule, form, latest)


def _check_path(check: _Check, path: Path, form: FormVersion) -> None:
    agency_dir = path.relative_to(check.root).parts[0]
    if agency_dir != form.agency.lower():
        check.add("GBV-S025", path, "agency", "path_agency", agency=form.agency,
                  expected=form.agency.lower(), actual=agency_dir)
    if path.stem != f"v{form.version}":
        check.add("GBV-S025", path, "version", "path_version", version=form.version,
                  actual=path.name)


def _check_validity(check: _Check, path: Path, form: FormVersion) -> None:
    periods = {}
    for field in ("valid_from", "valid_to"):
        text = getattr(form, field)
        if text is None:
            continue
        try:
            period = parse_period(text)
        except ValueError:
            period = None
        if period is None or period.periodicity != form.periodicity:
            check.add("GBV-S022", path, field, "bad_period", value=text,
                      periodicity=form.periodicity)
        else:
            periods[field] = period
    if len(periods) == 2 and periods["valid_to"].end < periods["valid_from"].start:
        check.add("GBV-S023", path, "valid_to", "backwards", valid_from=form.valid_from,
                  valid_to=form.valid_to)


def _check_table(check: _Check, path: Path, form: FormVersion, table,
                 codelists: dict[str, CodeList]) -> None:
    base = f"tables.{table.id}"
    _translations(check, path, f"{base}.title", table.title)
    for i, code in _repeats(ln.code for ln in table.lines):
        check.add("GBV-S003", path, f"{base}.lines[{i}].code", "dup_line", code=code, table=table.id)
    for i, number in _repeats(c.number for c in table.columns):
        check.add("GBV-S004", path, f"{base}.columns[{i}].number", "dup_column",
                  number=number, table=table.id)
    numbers = {c.number for c in table.columns}
    codes = {ln.code for ln in table.lines}
    for col in table.columns:
        _translations(check, path, f"{base}.columns.{col.number}.label", col.label)
        _check_dims(check, path, f"{base}.columns.{col.number}.dims", col.dims, codelists)
    for ln in table.lines:
        key = f"{base}.lines.{ln.code}"
        _translations(check, path, f"{key}.label", ln.label)
        _check_dims(check, path, f"{key}.dims", ln.dims, codelists)
        if ln.parent is not None and (ln.parent not in codes or ln.parent == ln.code):
            check.add("GBV-S015", path, f"{key}.parent", "bad_parent", parent=ln.parent,
                      table=table.id)
        for n in ln.greyed:
            if n not in numbers:
                check.add("GBV-S016", path, f"{key}.greyed", "bad_greyed", number=n,
                          table=table.id)
        _member(check, path, f"{key}.offence", ln.offence, codelists.get("offence_group"),
                "GBV-S012", "unknown_offence")
        _member(check, path, f"{key}.iccs", ln.iccs, codelists.get("iccs"),
                "GBV-S013", "unknown_iccs")


def _member(check: _Check, path: Path, key: str, value: str | None, cl: CodeList | None,
            code: str, message: str) -> None:
    if value is not None and cl is not None and value not in cl.codes_set():
        check.add(code, path, key, message, code=value)


def _check_dims(check: _Check, path: Path, key: str, dims: dict[str, str],
                codelists: dict[str, CodeList]) -> None:
    for name, value in dims.items():
        cl = codelists.get(DIM_LIST.get(name, name))
        if cl is None and check.broken_codelists:
            continue  # it may be the list whose file did not load
        if cl is None:
            check.add("GBV-S010", path, f"{key}.{name}", "unknown_dim", dim=name,
                      known=", ".join(sorted(codelists)))
        elif str(value) not in cl.codes_set():
            check.add("GBV-S011", path, f"{key}.{name}", "unknown_member", value=value,
                      list=cl.id)


# --- rules ---------------------------------------------------------------------------

def _check_rule_ids(check: _Check, forms: list[tuple[Path, FormVersion]],
                    rule_files: list[tuple[Path, list[tuple[int, Rule]]]]) -> None:
    seen: dict[str, str] = {}
    located = [(path, i, r) for path, form in forms for i, r in enumerate(form.rules)]
    located += [(path, i, r) for path, rules in rule_files for i, r in rules]
    for path, i, rule in located:
        if rule.id in seen:
            check.add("GBV-S006", path, f"rules[{i}].id", "dup_rule", id=rule.id,
                      other=seen[rule.id])
        seen.setdefault(rule.id, check.rel(path))


def _check_rule(check: _Check, path: Path, key: str, rule: Rule, form: FormVersion | None,
                latest: dict[str, FormVersion]) -> None:
    """`form` is the form declaring the rule; None for a cross-form rules file."""
    _translations(check, path, f"{key}.message", rule.message)
    if rule.description:
        _translations(check, path, f"{key}.description", rule.description)
    options = NEEDS[rule.kind]
    if not any(all(getattr(rule, f, None) for f in fields) for fields in options):
        missing = [f for f in options[0] if not getattr(rule, f, None)]
        check.add("GBV-S020", path, f"{key}.{missing[0]}", "rule_needs", kind=rule.kind,
                  fields=" | ".join(" + ".join(fields) for fields in options))
        return
    for field in ("expr", "when", "then", "cells", "denominator"):  # denominator: ControlRule
        text = getattr(rule, field, None)
        if text:
            _check_rule_field(check, path, f"{key}.{field}", field, text, form, latest)


def _check_rule_field(check: _Check, path: Path, key: str, field: str, text: str,
                      form: FormVersion | None, latest: dict[str, FormVersion]) -> None:
    try:
        terms = parse_expression(text).terms() if field == "expr" else \
            [("left", term) for term in parse_terms(text)]
    except RuleSyntaxError as exc:
        check.add("GBV-S017", path, key, "rule_syntax", detail=str(exc))
        return
    groups: dict[str, list] = {}
    for side, term in terms:
        name = term.address.form or (form.form if form else None)
        if name is None:
            check.add("GBV-S017", path, key, "rule_unqualified", address=term.address.text)
            return
        groups.setdefault(name, []).append((side, term))
    for name, group in groups.items():
        target = form if form is not None and name == form.form else latest.get(name)
        if target is not form and check.unknowable(name):
            continue  # its file did not load: already reported, and its latest version is unknown
        if target is None:
            check.add("GBV-S018", path, key, "rule_no_form", form=name)
            continue
        try:
            items = expand(target, group)
        except RuleSyntaxError as exc:
            check.add("GBV-S018", path, key, "rule_cells", detail=str(exc))
            continue
        if not items:
            check.add("GBV-S019", path, key, "rule_empty", form=target.key)


# --- versions and concordance --------------------------------------------------------

def _check_versions(check: _Check, forms: list[tuple[Path, FormVersion]]) -> None:
    by_form: dict[str, list[tuple[Path, FormVersion]]] = {}
    for path, form in sorted(forms, key=lambda pf: (pf[1].form, pf[1].version)):
        by_form.setdefault(form.form, []).append((path, form))
    for versions in by_form.values():
        _check_overlaps(check, versions)
        by_number = {form.version: form for _, form in versions}
        for path, form in versions:
            _check_concordance(check, path, form, by_number)


def _span(form: FormVersion) -> tuple | None:
    try:
        first = parse_period(form.valid_from).start
        last = parse_period(form.valid_to).end if form.valid_to else None
    except ValueError:
        return None  # reported by _check_validity
    return first, last


def _check_overlaps(check: _Check, versions: list[tuple[Path, FormVersion]]) -> None:
    for i, (path, form) in enumerate(versions):
        for _, other in versions[:i]:
            a, b = _span(form), _span(other)
            if a is None or b is None:
                continue
            if (b[1] is None or a[0] <= b[1]) and (a[1] is None or b[0] <= a[1]):
                check.add("GBV-S024", path, "valid_from", "overlap", form=form.form,
                          version=form.version, other=other.version)


def _check_concordance(check: _Check, path: Path, form: FormVersion,
                       by_number: dict[int, FormVersion]) -> None:
    conc = form.concordance
    if conc is None:
        if form.version > 1:
            check.add("GBV-S026", path, "concordance", "no_concordance", version=form.version)
        return
    previous = by_number.get(conc.previous_version)
    if previous is None and check.unknowable(form.form):
        return  # the previous version may be the file that did not load
    if previous is None or conc.previous_version >= form.version:
        check.add("GBV-S027", path, "concordance.previous_version", "no_previous",
                  form=form.form, version=conc.previous_version)
    mapped: set[str] = set()
    for i, item in enumerate(conc.map):
        element = _cell(check, path, f"concordance.map[{i}].current", item.current, form)
        if element:
            mapped.add(element)
        if previous is not None:
            _cell(check, path, f"concordance.map[{i}].previous", item.previous, previous)
    elements = [ln.element for tbl in form.tables for ln in tbl.lines]
    for element in elements:
        if element not in mapped and element not in conc.new:
            check.add("GBV-S029", path, "concordance.new", "unmapped", element=element)
    for i, element in enumerate(conc.new):
        if element not in elements:
            check.add("GBV-S030", path, f"concordance.new[{i}]", "unknown_new", element=element)


def _cell(check: _Check, path: Path, key: str, text: str, form: FormVersion) -> str | None:
    """The element at single-cell address `text` in `form`, or None (and a finding)."""
    try:
        a = Address.parse(text)
    except RuleSyntaxError as exc:
        check.add("GBV-S028", path, key, "map_syntax", address=text, detail=str(exc))
        return None
    if a.lines.kind != "one" or a.cols.kind != "one":
        check.add("GBV-S028", path, key, "map_single", address=text)
        return None
    table = form.table(a.table)
    line = table.line(a.lines.values[0]) if table else None
    column = table.column(int(a.cols.values[0])) if table and a.cols.values[0].isdigit() else None
    if line is None or column is None:
        check.add("GBV-S028", path, key, "map_missing", address=text, form=form.key)
        return None
    if column.number in line.greyed:
        check.add("GBV-S028", path, key, "map_greyed", address=text, form=form.key)
        return None
    return line.element
