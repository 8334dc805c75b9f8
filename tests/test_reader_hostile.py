"""The hostile-workbook corpus: returns damaged as an attacker or a broken tool would,
generated from a real filled MOI-FV v2 return (openpyxl, zip surgery, compound-file and
BIFF surgery, LibreOffice for .ods/.xls where it is installed).

Every case is validated and submitted by real `gbvstats` processes: each exits with the
documented code (0 fine, 1 problems found, 2 could not read), names the cell or the part,
prints no traceback, stays bounded in memory, and a refused file leaves the warehouse's
recorded tables as they were but for the refused attempt's audit row.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hostile_helpers import (
    DTD_EXTERNAL,
    DTD_PARAMETER,
    INLINE_X,
    ODS_ENCRYPTED_MANIFEST,
    T1_PART,
    after_prolog,
    compound_file,
    copy_sheet,
    drop_header_names,
    encrypted_entry,
    encrypted_ooxml,
    forged_dimensions,
    in_sheet_data,
    member,
    ods_before_trailing_rows,
    ods_extra_table,
    rezip,
    utf16,
    with_dtd,
    with_filepass,
    workbook_names,
    workbook_stream,
    xls_container,
    xls_from,
)
from messy_helpers import edit, good_file, setter, structural
from templates_helpers import soffice

from gbvstats.collect.grid import MAX_COLS, MAX_ROWS, column_letters
from gbvstats.collect.reader import normalise, read_workbook
from gbvstats.periods import Period
from gbvstats.schema.model import Registry
from gbvstats.store.warehouse import Warehouse

UNIT = "41711201000000 — Ленинский район"
UNIT_LABEL = "Отчитывающаяся единица (СОАТЕ)"
PERIOD_LABEL = "Отчётный период (напр. 2024-Q1)"
T1_CELLS = [("GBV-V011", "T1", None)] * 6  # a table not read: its six input cells are missing
MEMORY_CEILING_KB = 1_500_000  # a validate of the whole corpus stays far below this


@dataclass
class Bases:
    xlsx: Path  # a consistent return
    xls: Path  # the same written by xlwt (no defined names: the header is found by labels)
    ods: Path | None  # the same converted by LibreOffice (None without soffice)


Build = Callable[[Bases, Path], Path]


def _sheet(name: str, **cells) -> Callable:
    def change(wb) -> None:
        ws = wb.create_sheet(name)
        for addr, value in cells.items():
            ws[addr] = value
    return change


def _meta_row(key, value) -> Callable:
    return lambda wb: wb["_meta"].append([key, value])


def _meta(version) -> Callable:
    return setter("_meta", B2=version)


def _insert_t2_column(wb) -> None:
    wb["T2"].insert_cols(5)  # between columns 2 and 3 of the form: no number printed
    wb["T2"]["E6"] = 3


def _far_rows(count: int, cols: int) -> bytes:
    """An empty row repeated `count` times, then one text cell after `cols` empty ones."""
    return (b'<table:table-row table:number-rows-repeated="%d"><table:table-cell/></table:table-row>'
            b'<table:table-row><table:table-cell table:number-columns-repeated="%d"/>'
            b'<table:table-cell office:value-type="string"><text:p>x</text:p></table:table-cell>'
            b"</table:table-row>" % (count, cols))


def _this_quarter() -> str:
    today = (datetime.now(UTC) + timedelta(hours=6)).date()
    return str(Period(today.year, "quarter", (today.month - 1) // 3 + 1))


def _ods(build: Callable[[bytes], bytes] | None, part: str = "content.xml", add=(), replace=None) -> Build:
    def make(b: Bases, d: Path) -> Path:
        if b.ods is None:
            pytest.skip("LibreOffice (soffice) is not installed")
        changes = {**({part: build} if build else {}), **(replace or {})}
        return rezip(b.ods, d / "a.ods", changes, add=list(add))
    return make


def _xls_stream(change: Callable[[bytes], bytes], **kw) -> Build:
    return lambda b, d: xls_container(change(workbook_stream(b.xls)), d / "a.xls", **kw)


def _far_t1(value) -> Build:
    return lambda b, d: edit(b.xlsx, d / "a.xlsx", setter("T1", XFD1048576=value))


FAR_ODS_CELL = f"{column_letters(16000)}1048001"
# (name, build, expected reader findings (code, sheet, cell), exit code, part named in the message)
CASES: list[tuple[str, Build, list, int, str | None]] = [
    # numbers beyond any count, in data cells, the header and the hidden metadata
    ("count 1e20", lambda b, d: edit(b.xlsx, d / "a.xlsx", setter("T3", C7=1e20)), [("GBV-V020", "T3", "C7")], 1, None),
    ("count of 20 digits typed as text", lambda b, d: edit(b.xlsx, d / "a.xlsx", setter(
        "T3", C7="12345678901234567890")), [("GBV-V020", "T3", "C7")], 1, None),
    ("count 1e308", lambda b, d: edit(b.xlsx, d / "a.xlsx", setter("T3", C7=1e308)), [("GBV-V020", "T3", "C7")], 1, None),
    ("count -1e20", lambda b, d: edit(b.xlsx, d / "a.xlsx", setter("T3", C7=-1e20)), [("GBV-V020", "T3", "C7")], 1, None),
    ("count 2**63", lambda b, d: edit(b.xlsx, d / "a.xlsx", setter("T3", C7=2**63)), [("GBV-V020", "T3", "C7")], 1, None),
    ("count of 5000 digits", lambda b, d: edit(b.xlsx, d / "a.xlsx", setter("T3", C7="9" * 5000)),
     [("GBV-V020", "T3", "C7")], 1, None),
    ("inf typed", lambda b, d: edit(b.xlsx, d / "a.xlsx", setter("T3", C7="inf")), [("GBV-V001", "T3", "C7")], 1, None),
    ("nan typed", lambda b, d: edit(b.xlsx, d / "a.xlsx", setter("T3", C7="nan")), [("GBV-V001", "T3", "C7")], 1, None),
    ("_meta version 1e308", lambda b, d: edit(b.xlsx, d / "a.xlsx", _meta(1e308)), [("GBV-F012", "_meta", "B2")], 2, None),
    ("_meta version inf", lambda b, d: edit(b.xlsx, d / "a.xlsx", _meta("inf")), [("GBV-F012", "_meta", "B2")], 2, None),
    ("_meta version nan", lambda b, d: edit(b.xlsx, d / "a.xlsx", _meta(float("nan"))),
     [("GBV-F012", "_meta", "B2")], 2, None),
    ("_meta version of 400 digits", lambda b, d: edit(b.xlsx, d / "a.xlsx", _meta("7" * 400)),
     [("GBV-F012", "_meta", "B2")], 2, None),
    ("_meta form 1e20", lambda b, d: edit(b.xlsx, d / "a.xlsx", setter("_meta", B1=1e20)),
     [("GBV-F012", "_meta", "B2")], 2, None),
    ("unit 1e20", lambda b, d: edit(b.xlsx, d / "a.xlsx", setter("Title", C4=1e20)), [("GBV-F049", "Title", "C4")], 1, None),
    ("period 1e308", lambda b, d: edit(b.xlsx, d / "a.xlsx", setter("Title", C5=1e308)),
     [("GBV-F023", "Title", "C5")], 1, None),
    # far cells and declared dimensions: bounded whatever the position
    ("text in XFD1048576 of T1", _far_t1("x"), [("GBV-F044", "T1", "XFD1048576")], 0, None),
    ("figure in XFD1048576 of T1", _far_t1(5), [("GBV-F045", "T1", "XFD1048576")], 1, None),
    ("text in XFD1048576 of Title", lambda b, d: edit(b.xlsx, d / "a.xlsx", setter("Title", XFD1048576="x")),
     [("GBV-F044", "Title", "XFD1048576")], 0, None),
    ("text in XFD1048576 of _meta", lambda b, d: edit(b.xlsx, d / "a.xlsx", setter("_meta", XFD1048576="x")),
     [("GBV-F044", "_meta", "XFD1048576")], 0, None),
    ("text in XFD1048576 of an extra sheet", lambda b, d: edit(b.xlsx, d / "a.xlsx", _sheet("Notes", XFD1048576="x")),
     [("GBV-F044", "Notes", "XFD1048576"), ("GBV-F016", "Notes", None)], 0, None),
    ("figure in A1048576 of T1", lambda b, d: edit(b.xlsx, d / "a.xlsx", setter("T1", A1048576=7)),
     [("GBV-F045", "T1", "A1048576")], 1, None),
    ("figure in XFD7 beside line 02", lambda b, d: edit(b.xlsx, d / "a.xlsx", setter("T1", XFD7=7)),
     [("GBV-F045", "T1", "XFD7")], 1, None),
    ("declared dimension A1:XFD1048576", lambda b, d: rezip(b.xlsx, d / "a.xlsx", {T1_PART: lambda x: x.replace(
        b'<dimension ref="A1:C11"', b'<dimension ref="A1:XFD1048576"')}), [], 0, None),
    ("300 cells without references", lambda b, d: rezip(b.xlsx, d / "a.xlsx", {T1_PART: lambda x: in_sheet_data(
        x, b'<row r="20">' + INLINE_X * 300 + b"</row>")}), [("GBV-F044", "T1", f"{column_letters(MAX_COLS)}20")], 0, None),
    ("far cell behind a comment", lambda b, d: rezip(b.xlsx, d / "a.xlsx", {T1_PART: lambda x: in_sheet_data(
        x, b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>', b"<!-- note -->")}),
     [("GBV-F044", "T1", "XFD1048576")], 0, None),
    ("sheets together beyond the limit", lambda b, d: edit(b.xlsx, d / "a.xlsx", lambda wb: [
        _sheet(f"N{i}", A1="x", **{f"{column_letters(MAX_COLS - 1)}{MAX_ROWS}": "x"})(wb) for i in range(6)]),
     [("GBV-F053", None, None)], 2, None),
    ("ods: text far away on an extra sheet", _ods(lambda c: ods_extra_table(
        c, b'<table:table table:name="Notes">' + _far_rows(1048000, 16000) + b"</table:table>")),
     [("GBV-F044", "Notes", FAR_ODS_CELL), ("GBV-F016", "Notes", None)], 0, None),
    ("ods: a figure repeated across 5000 columns", _ods(lambda c: ods_before_trailing_rows(c, "T1", (
        b'<table:table-row><table:table-cell table:number-columns-repeated="5000" office:value-type="float"'
        b' office:value="7"><text:p>7</text:p></table:table-cell></table:table-row>'))),
     [("GBV-F045", "T1", f"{column_letters(MAX_COLS)}12"), ("GBV-F034", "T1", "B12")], 1, None),
    ("ods: a figure in a row repeated a million times", _ods(lambda c: ods_before_trailing_rows(c, "T1", (
        b'<table:table-row table:number-rows-repeated="1000000"><table:table-cell office:value-type="float"'
        b' office:value="3"><text:p>3</text:p></table:table-cell></table:table-row>'))),
     [("GBV-F045", "T1", f"A{MAX_ROWS + 1}")], 1, None),
    ("xls: text in IV65536 of T1", lambda b, d: xls_from(b.xlsx, d / "a.xls", {("T1", 65535, 255): "x"}),
     [("GBV-F044", "T1", "IV65536")], 0, None),
    ("xls: figure in IV65536 of T1", lambda b, d: xls_from(b.xlsx, d / "a.xls", {("T1", 65535, 255): 9}),
     [("GBV-F045", "T1", "IV65536")], 1, None),
    ("xls: DIMENSIONS claims 4 billion rows", _xls_stream(lambda s: forged_dimensions(s, 1)), [], 0, None),
    # XML declarations and entities, in any part: refused unread, never expanded
    ("entities in workbook.xml", lambda b, d: with_dtd(b.xlsx, d / "a.xlsx", "xl/workbook.xml"),
     [("GBV-F040", None, None)], 2, "xl/workbook.xml"),
    ("billion laughs in a sheet", lambda b, d: with_dtd(b.xlsx, d / "a.xlsx", T1_PART, reference=(b"<t>", b"<t>&lol3;")),
     [("GBV-F040", None, None)], 2, T1_PART),
    ("external entity in a sheet", lambda b, d: with_dtd(b.xlsx, d / "a.xlsx", T1_PART, DTD_EXTERNAL,
                                                        (b"<t>", b"<t>&xxe;")), [("GBV-F040", None, None)], 2, T1_PART),
    ("parameter entity in workbook.xml", lambda b, d: with_dtd(b.xlsx, d / "a.xlsx", "xl/workbook.xml", DTD_PARAMETER),
     [("GBV-F040", None, None)], 2, "xl/workbook.xml"),
    ("entities in styles.xml", lambda b, d: with_dtd(b.xlsx, d / "a.xlsx", "xl/styles.xml"),
     [("GBV-F040", None, None)], 2, "xl/styles.xml"),
    ("lower-case doctype in the theme", lambda b, d: with_dtd(b.xlsx, d / "a.xlsx", "xl/theme/theme1.xml", b"<!doctype t>"),
     [("GBV-F040", None, None)], 2, "xl/theme/theme1.xml"),
    ("entities in docProps/core.xml", lambda b, d: with_dtd(b.xlsx, d / "a.xlsx", "docProps/core.xml"),
     [("GBV-F040", None, None)], 2, "docProps/core.xml"),
    ("entities in [Content_Types].xml", lambda b, d: with_dtd(b.xlsx, d / "a.xlsx", "[Content_Types].xml"),
     [("GBV-F040", None, None)], 2, "[Content_Types].xml"),
    ("entities in the relationships", lambda b, d: with_dtd(b.xlsx, d / "a.xlsx", "xl/_rels/workbook.xml.rels"),
     [("GBV-F040", None, None)], 2, "xl/_rels/workbook.xml.rels"),
    ("entities in an added sharedStrings.xml", lambda b, d: rezip(b.xlsx, d / "a.xlsx", add=[(
        "xl/sharedStrings.xml", b'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY a "b">]><sst><si><t>&a;</t></si></sst>')]),
     [("GBV-F040", None, None)], 2, "xl/sharedStrings.xml"),
    ("entities in a sheet part hidden among the pictures", lambda b, d: rezip(
        b.xlsx, d / "a.xlsx", {"xl/_rels/workbook.xml.rels": lambda x: x.replace(
            b'Target="/xl/worksheets/sheet2.xml"', b'Target="/xl/media/image2.png"')}, drop=(T1_PART,),
        add=[("xl/media/image2.png", after_prolog(member(b.xlsx, T1_PART), DTD_EXTERNAL))]),
     [("GBV-F040", None, None)], 2, "xl/media/image2.png"),
    ("entity reference without a declaration", lambda b, d: rezip(b.xlsx, d / "a.xlsx", {
        T1_PART: lambda x: x.replace(b"<t>", b"<t>&lol;", 1)}), [("GBV-F051", "T1", None), *T1_CELLS], 1, None),
    ("a part in UTF-16", lambda b, d: rezip(b.xlsx, d / "a.xlsx", {"xl/styles.xml": utf16}),
     [("GBV-F052", None, None)], 2, "xl/styles.xml"),
    ("a part declaring UTF-7", lambda b, d: rezip(b.xlsx, d / "a.xlsx", {"xl/styles.xml": lambda x: (
        b'<?xml version="1.0" encoding="UTF-7"?>' + x)}), [("GBV-F052", None, None)], 2, "xl/styles.xml"),
    ("150 000 unterminated comments in a sheet", lambda b, d: rezip(b.xlsx, d / "a.xlsx", {T1_PART: lambda x: x.replace(
        b"<sheetData>", b"<sheetData>" + b"<!--x" * 150_000)}), [("GBV-F051", "T1", None), *T1_CELLS], 1, None),
    ("workbook.xml not well-formed", lambda b, d: rezip(b.xlsx, d / "a.xlsx", {"xl/workbook.xml": lambda x: x.replace(
        b"</workbook>", b"</workbok>")}), [("GBV-F005", None, None)], 2, "xl/workbook.xml"),
    ("ods: content.xml not well-formed", _ods(lambda c: c.replace(b"</office:document-content>", b"")),
     [("GBV-F005", None, None)], 2, "content.xml"),
    ("ods: entities in content.xml", _ods(lambda c: c.replace(b"?>", b"?>" + DTD_EXTERNAL, 1)),
     [("GBV-F040", None, None)], 2, "content.xml"),
    ("ods: entities in styles.xml", _ods(lambda c: c.replace(b"?>", b"?>" + DTD_EXTERNAL, 1), "styles.xml"),
     [("GBV-F040", None, None)], 2, "styles.xml"),
    ("ods: entities in meta.xml", _ods(lambda c: c.replace(b"?>", b"?>" + DTD_EXTERNAL, 1), "meta.xml"),
     [("GBV-F040", None, None)], 2, "meta.xml"),
    ("ods: entities in the manifest", _ods(lambda c: c.replace(b"?>", b"?>" + DTD_EXTERNAL, 1), "META-INF/manifest.xml"),
     [("GBV-F040", None, None)], 2, "META-INF/manifest.xml"),
    # ambiguous or duplicated structure: never resolved by file order
    ("two zip members for one sheet part", lambda b, d: rezip(b.xlsx, d / "a.xlsx", add=[(T1_PART, member(
        edit(b.xlsx, d / "b.xlsx", setter("T1", C6=999)), T1_PART))]), [("GBV-F042", None, None)], 2, T1_PART),
    ("zip members differing by case", lambda b, d: rezip(b.xlsx, d / "a.xlsx", add=[(
        "xl/worksheets/Sheet2.xml", member(b.xlsx, T1_PART))]), [("GBV-F042", None, None)], 2, "xl/worksheets/Sheet2.xml"),
    ("zip members differing by slash", lambda b, d: rezip(b.xlsx, d / "a.xlsx", add=[(
        "xl\\worksheets\\sheet2.xml", member(b.xlsx, T1_PART))]), [("GBV-F042", None, None)], 2, "sheet2.xml"),
    ("copied sheet 'T1 ' before T1", lambda b, d: copy_sheet(b.xlsx, d / "a.xlsx", "T1", "T1 ", True, C6=999),
     [("GBV-F043", "T1 ", None), *T1_CELLS], 1, None),
    ("copied sheet 't1' after T1 (Excel forbids it, a tool need not)", lambda b, d: workbook_names(
        copy_sheet(b.xlsx, d / "b.xlsx", "T1", "copy", False, C6=999), d / "a.xlsx",
        lambda x: x.replace(b'name="copy"', b'name="t1"')), [("GBV-F043", "T1", None), *T1_CELLS], 1, None),
    ("copied sheet with a Cyrillic Т", lambda b, d: copy_sheet(b.xlsx, d / "a.xlsx", "T1", "Т1", False, C6=999),
     [("GBV-F043", "T1", None), *T1_CELLS], 1, None),
    ("T1 renamed with a Cyrillic Т", lambda b, d: edit(b.xlsx, d / "a.xlsx", lambda wb: setattr(wb["T1"], "title", "Т1")),
     [], 0, None),
    ("copied sheet '_meta '", lambda b, d: copy_sheet(b.xlsx, d / "a.xlsx", "_meta", "_meta ", False, B2=1),
     [("GBV-F043", "_meta", None)], 2, None),
    ("copied sheet 'Title '", lambda b, d: copy_sheet(b.xlsx, d / "a.xlsx", "Title", "Title ", False),
     [("GBV-F043", "Title", None)], 1, None),
    ("a second unit row on Title", lambda b, d: edit(b.xlsx, d / "a.xlsx", setter(
        "Title", A16=UNIT_LABEL, C16="41711203000000 — Октябрьский район")), [("GBV-F046", "Title", "C16")], 1, None),
    ("a second unit row saying the same", lambda b, d: edit(b.xlsx, d / "a.xlsx", setter(
        "Title", A16=UNIT_LABEL, C16="41711201000000")), [], 0, None),
    ("a second period row", lambda b, d: edit(b.xlsx, d / "a.xlsx", setter("Title", A16=PERIOD_LABEL, C16="2019-Q2")),
     [("GBV-F046", "Title", "C16")], 1, None),
    ("a second period row saying the same", lambda b, d: edit(b.xlsx, d / "a.xlsx", setter(
        "Title", A16=PERIOD_LABEL, C16="I квартал 2019 г.")), [], 0, None),
    ("two unit rows and no named cells", lambda b, d: workbook_names(edit(b.xlsx, d / "b.xlsx", setter(
        "Title", A16=UNIT_LABEL, C16="41711203000000")), d / "a.xlsx", drop_header_names),
     [("GBV-F046", "Title", "C16")], 1, None),
    ("figures in an unnumbered column right of T1", lambda b, d: edit(b.xlsx, d / "a.xlsx", setter("T1", D6=4)),
     [("GBV-F048", "T1", "D6")], 1, None),
    ("figures in an inserted unnumbered column of T2", lambda b, d: edit(b.xlsx, d / "a.xlsx", _insert_t2_column),
     [("GBV-F048", "T2", "E6")], 1, None),
    ("_meta with two versions", lambda b, d: edit(b.xlsx, d / "a.xlsx", _meta_row("version", 1)),
     [("GBV-F046", "_meta", "B6")], 2, None),
    ("_meta with the same version twice", lambda b, d: edit(b.xlsx, d / "a.xlsx", _meta_row("version", 2)), [], 0, None),
    ("xls: two workbook streams", _xls_stream(lambda s: s, extra={"Book": b"\0" * 4096}),
     [("GBV-F042", None, None)], 2, "Workbook"),
    # the named cells are the header
    ("labels edited", lambda b, d: edit(b.xlsx, d / "a.xlsx", setter("Title", A4="Район", A5="Квартал")), [], 0, None),
    ("labels deleted", lambda b, d: edit(b.xlsx, d / "a.xlsx", setter("Title", A4=None, A5=None, A6=None, A7=None, A8=None)),
     [], 0, None),
    ("named cell moved away from C4", lambda b, d: workbook_names(
        edit(b.xlsx, d / "b.xlsx", setter("Title", C4=None, E4=UNIT)), d / "a.xlsx",
        lambda x: x.replace(b"Title!$C$4", b"Title!$E$4")), [], 0, None),
    ("labels edited and named cells deleted", lambda b, d: workbook_names(
        edit(b.xlsx, d / "b.xlsx", setter("Title", A4="Район", A5="Квартал")), d / "a.xlsx", drop_header_names),
     [("GBV-F020", "Title", "C4"), ("GBV-F020", "Title", "C5")], 1, None),
    ("named unit cell broken", lambda b, d: workbook_names(b.xlsx, d / "a.xlsx", lambda x: x.replace(
        b"Title!$C$4", b"#REF!")), [("GBV-F047", "Title", None)], 0, None),
    ("named unit cell defined twice", lambda b, d: workbook_names(b.xlsx, d / "a.xlsx", lambda x: x.replace(
        b"<definedNames>", b'<definedNames><definedName name="gbv_unit">Title!$C$12</definedName>')),
     [("GBV-F047", "Title", None)], 0, None),
    # typos that look valid
    ("unit code of 15 digits", lambda b, d: edit(b.xlsx, d / "a.xlsx", setter("Title", C4="417112010000001 — Ленинский")),
     [("GBV-F049", "Title", "C4")], 1, None),
    ("unit code of 13 digits", lambda b, d: edit(b.xlsx, d / "a.xlsx", setter("Title", C4="4171120100000")),
     [("GBV-F049", "Title", "C4")], 1, None),
    ("1.000 typed", lambda b, d: edit(b.xlsx, d / "a.xlsx", setter("T3", C7="1.000")), [("GBV-V021", "T3", "C7")], 1, None),
    ("1,000 typed", lambda b, d: edit(b.xlsx, d / "a.xlsx", setter("T3", C7="1,000")), [("GBV-V021", "T3", "C7")], 1, None),
    ("2.500 typed", lambda b, d: edit(b.xlsx, d / "a.xlsx", setter("T3", C7="2.500")), [("GBV-V021", "T3", "C7")], 1, None),
    ("period far in the future", lambda b, d: edit(b.xlsx, d / "a.xlsx", setter("Title", C5="2099-Q1")),
     [("GBV-F050", "Title", "C5")], 1, None),
    ("period not ended yet", lambda b, d: edit(b.xlsx, d / "a.xlsx", setter("Title", C5=_this_quarter())),
     [("GBV-F050", "Title", "C5")], 1, None),
    # footnote marks near the column numbers
    ("footnote marks on column numbers", lambda b, d: edit(b.xlsx, d / "a.xlsx", lambda wb: (
        setter("T1", C5="1¹")(wb), setter("T2", C5="1*", D5="2²", G5="5†")(wb))), [], 0, None),
    ("circled digits beside the column numbers", lambda b, d: edit(b.xlsx, d / "a.xlsx", setter(
        "T1", D5="①", E5="②", D4="¹")), [], 0, None),
    ("footnote marks on line codes", lambda b, d: edit(b.xlsx, d / "a.xlsx", setter("T1", B7="02*", B8="03¹")), [], 0, None),
    ("a lone superscript in the code column", lambda b, d: edit(b.xlsx, d / "a.xlsx", setter("T1", B12="¹", A12="¹ note")),
     [], 0, None),
    # protected with a password
    ("xlsx encrypted with a password", lambda b, d: encrypted_ooxml(d / "a.xlsx"), [("GBV-F041", None, None)], 2, None),
    ("zip entries encrypted", lambda b, d: encrypted_entry(b.xlsx, d / "a.xlsx"), [("GBV-F041", None, None)], 2, None),
    ("xls with a password", _xls_stream(with_filepass), [("GBV-F041", None, None)], 2, None),
    ("ods saved with a password", _ods(lambda c: bytes(range(256)) * 40,
                                       replace={"META-INF/manifest.xml": ODS_ENCRYPTED_MANIFEST}),
     [("GBV-F041", None, None)], 2, None),
    # macros: refused
    (".xlsm with a VBA project", lambda b, d: rezip(b.xlsx, d / "a.xlsm", add=[("xl/vbaProject.bin", compound_file(
        {"VBA": b"\0" * 4096}))]), [("GBV-F010", None, None)], 1, None),
    (".xlsx with a VBA project", lambda b, d: rezip(b.xlsx, d / "a.xlsx", add=[("xl/vbaProject.bin", b"\xd0\xcf")]),
     [("GBV-F010", None, None)], 1, None),
    ("Excel 4.0 macro sheet", lambda b, d: rezip(b.xlsx, d / "a.xlsx", add=[(
        "xl/macrosheets/sheet1.xml", b"<xm:macrosheet/>")]), [("GBV-F010", None, None)], 1, None),
    ("ods with Basic macros", _ods(None, add=[("Basic/Standard/Module1.xml", b"<script:module/>")]),
     [("GBV-F010", None, None)], 1, None),
    ("xls with a VBA project", _xls_stream(lambda s: s, storages=("_VBA_PROJECT_CUR",)), [("GBV-F010", None, None)], 1, None),
]

# the same damage in the other formats, as LibreOffice saves them (with the named cells)
LIBREOFFICE = ["count 1e20", "1.000 typed", "unit code of 15 digits", "a second unit row on Title",
               "copied sheet 'T1 ' before T1", "labels edited", "figures in an unnumbered column right of T1"]


@pytest.fixture(scope="module")
def corpus(registry: Registry, tmp_path_factory) -> dict[str, tuple[Path, list, int, str | None]]:
    """Every case written once: name -> (file, expected findings, exit code, part).
    Two LibreOffice runs: the good return and some damaged ones to .ods (the .ods cases
    are then made from that good .ods), the damaged ones to .xls."""
    root = tmp_path_factory.mktemp("hostile")
    xlsx = good_file(registry.get("MOI-FV", 2), root / "good.xlsx")
    bases = Bases(xlsx, xls_from(xlsx, root / "good.xls"), None)
    out: dict[str, tuple[Path, list, int, str | None]] = {}

    def build(i: int, name: str, make: Build, expected: list, code: int, part: str | None) -> None:
        d = root / f"c{i:02d}"
        d.mkdir(exist_ok=True)
        try:
            path = make(bases, d)
        except pytest.skip.Exception:
            return
        final = root / f"{i:02d}{path.suffix}"  # distinct names: the warehouse's audit says which
        path.rename(final)
        out[name] = (final, expected, code, part)

    ods_cases = {name for name, make, *_ in CASES if name.startswith("ods")}
    for i, case in enumerate(CASES):
        if case[0] not in ods_cases:
            build(i, *case)
    if soffice():
        sources = [out[n][0] for n in LIBREOFFICE]
        for fmt in ("ods", "xls"):
            target = root / fmt
            target.mkdir()
            _convert_many([xlsx, *sources] if fmt == "ods" else sources, target, fmt)
            for name, src in zip(LIBREOFFICE, sources, strict=True):
                final = root / f"{src.stem}-lo.{fmt}"
                (target / f"{src.stem}.{fmt}").rename(final)
                out[f"{name} (.{fmt})"] = (final, *out[name][1:])
        bases.ods = root / "ods" / "good.ods"
        for i, case in enumerate(CASES):
            if case[0] in ods_cases:
                build(i, *case)
    return out


def _convert_many(paths: list[Path], out_dir: Path, fmt: str) -> None:
    """One LibreOffice run for many files (each run costs seconds)."""
    profile = (out_dir / "lo-profile").resolve().as_uri()
    proc = subprocess.run([soffice(), f"-env:UserInstallation={profile}", "--headless", "--convert-to", fmt,
                           "--outdir", str(out_dir), *map(str, paths)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr + proc.stdout


RUN = ("import resource, sys\n"
       "from gbvstats.cli import app\n"
       "try:\n"
       "    app(sys.argv[1:], prog_name='gbvstats')\n"
       "finally:\n"
       "    sys.stderr.write(f'\\nmaxrss_kb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n')\n")


def gbvstats(*args: str) -> tuple[int, str, str, int]:
    """A real `gbvstats` process: (exit code, stdout, stderr, peak memory in KB)."""
    proc = subprocess.run([sys.executable, "-c", RUN, *args], capture_output=True, text=True, timeout=600,
                          check=False, env={**os.environ, "GBVSTATS_LANG": "en", "COLUMNS": "200"})
    peak = int(proc.stderr.rsplit("maxrss_kb=", 1)[1]) if "maxrss_kb=" in proc.stderr else -1
    return proc.returncode, proc.stdout, proc.stderr, peak


@pytest.fixture(scope="module")
def validated(corpus) -> dict:
    """`gbvstats validate --json` once per exit code, over the files that should exit so."""
    runs, reports = {}, {}
    for code in (0, 1, 2):
        files = [str(p) for p, _, c, _ in corpus.values() if c == code]
        runs[code] = gbvstats("validate", "--json", *files)
        for report in json.loads(runs[code][1] or "[]"):
            reports[report["file"]] = report
    return {"runs": runs, "reports": reports}


@pytest.fixture(scope="module")
def submitted(corpus, tmp_path_factory) -> dict:
    """A warehouse holding one accepted return; the refused files submitted in one process,
    the checksums taken before and after; then the files that should be accepted."""
    wh_path = tmp_path_factory.mktemp("wh") / "gbvstats.duckdb"
    good = next(iter(corpus.values()))[0].parent / "good.xlsx"
    first = gbvstats("submit", str(good), "--agency", "MOI", "--warehouse", str(wh_path), "--json")
    assert first[0] == 0, first[2]
    wh = Warehouse(wh_path)
    before = wh.checksum()
    refused = [str(p) for p, _, c, _ in corpus.values() if c]
    run = gbvstats("submit", *refused, "--agency", "MOI", "--warehouse", str(wh_path), "--json")
    after = wh.checksum()
    audit = wh.query("SELECT file_name, event FROM audit_log ORDER BY event_id")
    accepted = [str(p) for p, _, c, _ in corpus.values() if not c]
    run_ok = gbvstats("submit", *accepted, "--agency", "MOI", "--warehouse", str(wh_path), "--json")
    receipts = {r["file"]: r for r in json.loads(run[1] or "[]") + json.loads(run_ok[1] or "[]")}
    return {"runs": [run, run_ok], "before": before, "after": after, "audit": audit, "receipts": receipts,
            "refused": refused}


@pytest.mark.parametrize("name", [c[0] for c in CASES] + [f"{n} (.{f})" for f in ("ods", "xls") for n in LIBREOFFICE])
def test_case_is_reported_where_it_is(name: str, corpus, validated) -> None:
    if name not in corpus:
        pytest.skip("LibreOffice (soffice) is not installed")
    path, expected, code, part = corpus[name]
    report = validated["reports"][str(path)]
    assert structural(report) == sorted(expected), report["findings"]
    assert {"unreadable": 2, "errors": 1}.get(report["verdict"], 0) == code, report["verdict"]
    if part:
        assert any(part in f["message"] for f in report["findings"]), report["findings"]
    for f in report["findings"]:
        assert "{" not in f["message"], f  # every placeholder filled


@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_case_submit_outcome(name: str, corpus, submitted) -> None:
    if name not in corpus:
        pytest.skip("LibreOffice (soffice) is not installed")
    path, _, code, _ = corpus[name]
    receipt = submitted["receipts"][path.name]
    assert receipt["exit_code"] == code, receipt
    assert receipt["outcome"] in {0: ("accepted", "accepted_with_warnings"), 1: ("rejected",),
                                  2: ("unreadable",)}[code]


def test_each_process_exits_with_the_documented_code_without_traceback(validated, submitted) -> None:
    for code, (rc, _, stderr, peak) in validated["runs"].items():
        assert rc == code, stderr[-2000:]
        assert "Traceback" not in stderr and "panicked" not in stderr, stderr[-2000:]
        assert 0 < peak < MEMORY_CEILING_KB, peak
    refused, accepted = submitted["runs"]
    assert refused[0] == 2 and accepted[0] == 0, refused[2][-2000:] + accepted[2][-2000:]
    for _, _, stderr, _ in submitted["runs"]:
        assert "Traceback" not in stderr and "panicked" not in stderr, stderr[-2000:]


def test_refused_files_leave_the_warehouse_as_it_was_but_for_their_audit_rows(submitted) -> None:
    before, after = submitted["before"], submitted["after"]
    assert {k: v for k, v in after.items() if k != "audit_log"} == {k: v for k, v in before.items() if k != "audit_log"}
    added = int(after["audit_log"].split(":")[0]) - int(before["audit_log"].split(":")[0])
    assert added == len(submitted["refused"])
    audit = submitted["audit"]
    for path in submitted["refused"]:
        rows = audit[audit["file_name"] == Path(path).name]
        assert rows["event"].tolist() in (["rejected"], ["unreadable"]), (path, rows)


FEEDBACK = ["text in XFD1048576 of T1", "figure in XFD7 beside line 02", "300 cells without references",
            "sheets together beyond the limit", "billion laughs in a sheet", "150 000 unterminated comments in a sheet",
            "copied sheet 'T1 ' before T1", "xls: figure in IV65536 of T1", "xls: DIMENSIONS claims 4 billion rows",
            "ods: a figure repeated across 5000 columns", "ods: text far away on an extra sheet",
            "xlsx encrypted with a password"]


def test_feedback_copies_of_hostile_files(corpus, tmp_path: Path) -> None:
    """`validate --feedback` reopens the file to mark it: bounded too, never a traceback;
    what the reader refused unread is not reopened (the findings sheet alone is written)."""
    files = [str(corpus[n][0]) for n in FEEDBACK if n in corpus]
    rc, out, err, peak = gbvstats("validate", "--json", "--feedback", str(tmp_path / "fb"), *files)
    assert rc == 2 and "Traceback" not in err and "panicked" not in err, err[-2000:]
    assert 0 < peak < MEMORY_CEILING_KB, peak
    written = sorted(p.name for p in (tmp_path / "fb").iterdir())
    assert written == sorted(f"{Path(f).stem}.feedback.xlsx" for f in files)


def test_the_corpus_covers_every_class() -> None:
    codes = {code for _, _, expected, _, _ in CASES for code, _, _ in expected}
    assert {"GBV-V020", "GBV-F012", "GBV-F044", "GBV-F045", "GBV-F053", "GBV-F040", "GBV-F051", "GBV-F052",
            "GBV-F042", "GBV-F043", "GBV-F046", "GBV-F047", "GBV-F048", "GBV-F049", "GBV-V021", "GBV-F050",
            "GBV-F041", "GBV-F010"} <= codes
    assert len(CASES) >= 60


# --- the reader's rules, one by one --------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    (999_999_999_999_999, (999_999_999_999_999, None)), (10**15, (None, "GBV-V020")),
    ("999999999999999", (999_999_999_999_999, None)), ("1000000000000000", (None, "GBV-V020")),
    ("000000000000000000042", (42, None)), ("-99999999999999999999", (None, "GBV-V003")),
    ("1.000", (None, "GBV-V021")), ("1,000", (None, "GBV-V021")), ("12.345", (None, "GBV-V021")),
    ("1,234", (1234, None)), ("1,234,567", (1234567, None)), ("1.234.567", (1234567, None)),
    ("1.0", (1, None)), ("12,00", (12, None)), ("1,5", (None, "GBV-V002")), ("1.0000", (1, None)),
    ("1 000", (1000, None)), ("Infinity", (None, "GBV-V001")), (float("inf"), (None, "GBV-V001")),
    ("1" + "0" * 4400, (None, "GBV-V020")), ("1e5", (None, "GBV-V001")),
])
def test_normalise_limits_and_separators(raw, expected) -> None:
    assert normalise(raw) == expected


@pytest.fixture(scope="module")
def good(registry: Registry, tmp_path_factory) -> Path:
    return good_file(registry.get("MOI-FV", 2), tmp_path_factory.mktemp("good") / "good.xlsx")


def test_ambiguous_separator_names_both_readings(good: Path, tmp_path: Path, registry: Registry) -> None:
    result = read_workbook(edit(good, tmp_path / "a.xlsx", setter("T3", C7="2.500")), registry)
    finding = next(f for f in result.findings if f.code == "GBV-V021")
    assert (finding.params["thousands"], finding.params["decimal"]) == ("2500", "2.5")
    for lang in ("en", "ru", "ky"):
        assert "2500" in finding.message(lang) and "2.5" in finding.message(lang)


def test_named_cells_decide_the_header(good: Path, tmp_path: Path, registry: Registry) -> None:
    """The unit is read from the named cell wherever it was moved, whatever the labels say."""
    moved = workbook_names(edit(good, tmp_path / "b.xlsx", setter(
        "Title", A4="Район", C4=None, E4="41711203000000 — Октябрьский район")), tmp_path / "a.xlsx",
        lambda x: x.replace(b"Title!$C$4", b"Title!$E$4"))
    result = read_workbook(moved, registry)
    assert (result.header["unit"], result.header_cells["unit"]) == ("41711203000000", ("Title", "E4"))


def test_a_second_unit_row_is_never_stored(good: Path, tmp_path: Path, registry: Registry) -> None:
    for first in (True, False):  # the copied row above or below the original: same answer
        wb_path = edit(good, tmp_path / f"a{first}.xlsx", lambda wb, first=first: (
            wb["Title"].insert_rows(4) if first else None,
            setter("Title", **({"A4": UNIT_LABEL, "C4": "41711203000000"} if first else
                               {"A16": UNIT_LABEL, "C16": "41711203000000"}))(wb)))
        result = read_workbook(wb_path, registry)
        assert "unit" not in result.header
        assert "GBV-F046" in {f.code for f in result.findings}


def test_period_not_ended_is_refused_at_submit_for_the_time_of_receipt(good: Path, tmp_path: Path) -> None:
    """2019-Q1 ends on 31 March 2019: a return received that day (Bishkek time) is refused,
    one received the next day is accepted."""
    wh = Warehouse(tmp_path / "wh.duckdb")
    early = wh.submit(good, "MOI", received_at=datetime(2019, 3, 31, 17, 0))  # 23:00 in Bishkek
    assert early.outcome == "rejected"
    finding = next(f for f in early.findings if f["code"] == "GBV-F050")
    assert (finding["sheet"], finding["cell"], finding["params"]["end"]) == ("Title", "C5", "2019-03-31")
    late = wh.submit(good, "MOI", received_at=datetime(2019, 3, 31, 18, 30))  # 00:30 on 1 April
    assert late.outcome == "accepted"
    assert wh.query("SELECT event FROM audit_log ORDER BY event_id")["event"].tolist() == ["rejected", "accepted"]


def test_a_defect_of_the_reader_is_a_finding_not_a_traceback(good: Path, registry: Registry, monkeypatch) -> None:
    import gbvstats.collect.reader as reader

    monkeypatch.setattr(reader, "_read_tables", lambda *a: 1 / 0)
    result = read_workbook(good, registry)
    assert [f.code for f in result.findings] == ["GBV-F054"]
    assert (result.form, result.cells) == (None, None)
    assert "ZeroDivisionError" in result.findings[0].message("ky")


def test_a_folder_or_an_unreadable_file_is_named_as_such(good: Path, registry: Registry, tmp_path: Path,
                                                         monkeypatch) -> None:
    folder = tmp_path / "return.xlsx"
    folder.mkdir()
    result = read_workbook(folder, registry)
    assert [f.code for f in result.findings] == ["GBV-F055"]
    assert "folder" in result.findings[0].message("en")

    def refused(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", refused)
    result = read_workbook(good, registry)
    assert [f.code for f in result.findings] == ["GBV-F056"]
    assert "Permission denied" in result.findings[0].message("en") and result.cells is None
