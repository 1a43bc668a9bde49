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
