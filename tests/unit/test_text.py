import pytest

from intranet.text import digits, fold


@pytest.mark.parametrize("a,b", [
    ("ﾀﾅｶ ﾀﾛｳ", "タナカタロウ"), ("たなか", "タナカ"), ("ｶﾞｸ", "ガク"),
    ("Ｔａｎａｋａ", "tanaka"), ("田中　太郎", "田中 太郎"),
])
def test_fold_makes_variants_equal(a, b):
    assert fold(a) == fold(b)


def test_fold_keeps_different_names_apart():
    assert fold("田中") != fold("田仲")
    assert fold(None) == "" and fold("") == ""


def test_digits():
    assert digits("０３－１２３４－５６７８") == "0312345678"
    assert digits("tel: 090 (1234) 5678") == "09012345678"
    assert digits(None) == ""


@pytest.mark.parametrize("raw,expected", [
    ("090-1234-5678", "09012345678"), ("０９０－１２３４－５６７８", "09012345678"),
    ("+81 90-1234-5678", "09012345678"), ("+81-3-1234-5678", "0312345678"),
    ("0081 3 1234 5678", "0312345678"), ("(03) 1234-5678", "0312345678"), ("", ""),
    ("＋８１　９０ １２３４ ５６７８", "09012345678"),
])
def test_phone_digits(raw, expected):
    from intranet.text import phone_digits

    assert phone_digits(raw) == expected
