"""Encoding the data-link files (issue 19): CP932 by default or UTF-8; a
character CP932 cannot hold is never replaced, every place is reported."""
import pytest

from intranet.datalink import encoding
from intranet.datalink.encoding import UnencodableError, encode_files


def _tables(*rows, key=("no",)):
    return {"a.csv": (["no", "name", "note"], list(rows), key)}


def test_cp932_is_the_default_and_utf8_has_a_bom():
    files = encode_files(_tables(["1", "髙橋 ①", "ｶﾅ"]), None)
    assert files["a.csv"].decode("cp932") == "no,name,note\r\n1,髙橋 ①,ｶﾅ\r\n"
    assert encode_files(_tables(["1", "𠮷", ""]), "utf-8")["a.csv"] == (
        "\ufeffno,name,note\r\n1,𠮷,\r\n".encode())


def test_every_unencodable_place_is_reported_with_line_key_column_and_code_point():
    tables = {
        **_tables(["1", "𠮷田", "two\nlines"], ["2", "ok", "😀 and 𠮷𠮷"], [3, None, "x"]),
        "b.csv": (["case_no", "version", "memo"], [["2026-000001", 2, "🙂"]], ("case_no", "version")),
        "c.csv": (["no"], [["fine"]], ("no",)),
    }
    with pytest.raises(UnencodableError) as raised:
        encode_files(tables, "cp932")
    found = [(p.file, p.line, p.key, p.column, p.codepoint) for p in raised.value.problems]
    assert found == [
        ("a.csv", 2, "1", "name", "U+20BB7"),
        ("a.csv", 4, "2", "note", "U+1F600"),   # the row before spans two lines
        ("a.csv", 4, "2", "note", "U+20BB7"),   # once per value
        ("b.csv", 2, "2026-000001/2", "memo", "U+1F642")]
    assert raised.value.total == 4 and raised.value.encoding == "cp932"
    assert "𠮷" not in str(raised.value)  # the message carries no value


def test_the_report_is_bounded_but_counts_everything(monkeypatch):
    monkeypatch.setattr(encoding, "MAX_REPORTED", 2)
    with pytest.raises(UnencodableError) as raised:
        encode_files(_tables(*[[str(i), "😀", ""] for i in range(5)]), "cp932")
    assert len(raised.value.problems) == 2 and raised.value.total == 5


@pytest.mark.parametrize("name,codec", [(None, "cp932"), ("", "cp932"), ("cp932", "cp932"),
                                        ("CP932", "cp932"), ("utf-8", "utf-8-sig"),
                                        ("utf-8-sig", "utf-8-sig"), ("sjis", "cp932")])
def test_codec_names(name, codec):
    assert encoding.codec(name) == codec


@pytest.mark.parametrize("name", ["latin-1", "euc-jp", "utf-16", "x"])
def test_other_encodings_are_refused(name):
    with pytest.raises(ValueError):
        encoding.codec(name)
