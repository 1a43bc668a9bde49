"""The data-link file specs and their documentation (issue 19)."""
import pathlib
import re

from intranet.datalink.formats import FILES

DOC = (pathlib.Path(__file__).resolve().parents[3] / "docs" / "data-link.md").read_text(encoding="utf-8")


def test_a_column_that_may_be_absent_is_never_required():
    """A file written before the column existed has no value for it."""
    for spec in FILES:
        for column in spec.columns:
            assert not (column.may_be_absent and column.required), (spec.name, column.name)


def test_every_file_column_and_key_is_documented():
    """docs/data-link.md has a section per file naming its key, and a row per column."""
    for spec in FILES:
        keys = ", ".join(f"`{k}`" for k in spec.key)
        assert f"### {spec.filename} — key {keys}" in DOC, spec.filename
        section = DOC.split(f"### {spec.filename}", 1)[1].split("\n### ", 1)[0].split("\n## ", 1)[0]
        for column in spec.columns:
            assert re.search(rf"^\| {column.name} \|", section, re.M), (spec.filename, column.name)
            if column.may_be_absent:
                assert re.search(rf"^\| {column.name} \|[^\n]*may be absent", section, re.M) or (
                    "Optional column" in section), (spec.filename, column.name)


def test_every_file_has_a_sample():
    samples = pathlib.Path(__file__).resolve().parents[3] / "docs" / "samples"
    assert {p.name for p in samples.glob("*.csv")} == {spec.filename for spec in FILES}
