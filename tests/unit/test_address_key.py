"""The address normaliser (intranet.text.address_key): one notation for the
several ways a Japanese 住居表示 / 地番 is written (issue 20: 「西新宿1-2-3」
finds 「西新宿一丁目2番3号」)."""
import pytest

from intranet.text import address_key, fold, kanji_number


@pytest.mark.parametrize("numeral, value", [
    ("一", 1), ("十", 10), ("十一", 11), ("二十三", 23), ("百", 100), ("百五", 105),
    ("千二百三十四", 1234), ("一〇一", 101), ("二〇", 20), ("弐拾", 20),
])
def test_kanji_numbers(numeral, value):
    assert kanji_number(numeral) == value


@pytest.mark.parametrize("written", [
    "西新宿1-2-3", "西新宿１丁目２番３号", "西新宿一丁目2番3号", "西新宿一丁目二番三号",
    "西新宿1丁目2番地3", "西新宿1丁目2番地の3", "西新宿１－２－３", "西新宿1ー2ー3",
    "西新宿1‐2‐3", "西新宿1—2—3", "西新宿 1-2-3", "西新宿一丁目二-三", "西新宿1の2の3",
])
def test_notations_of_one_address_agree(written):
    assert address_key(written) == "西新宿1-2-3"


def test_width_and_kana_fold():
    assert address_key("ｾﾝﾀｰﾋﾞﾙ") == address_key("センタービル") == address_key("せんたーびる")
    assert address_key("市ヶ谷本村町5-1") == address_key("市ケ谷本村町５－１")


@pytest.mark.parametrize("name", ["八丁堀", "四谷", "九段北", "三鷹市", "千代田区", "一ツ橋"])
def test_place_names_keep_their_kanji(name):
    """Kanji numerals are digits only in the block notation: 八丁堀 stays 八丁堀."""
    assert address_key(name) == fold(name)


def test_long_vowel_inside_words_stays():
    assert address_key("センター") == "せんたー"


def test_substring_search_works_across_notations():
    stored = address_key("東京都新宿区西新宿二丁目八番一号 ハイツ新宿101号室")
    assert address_key("西新宿2-8-1") in stored
    assert address_key("西新宿２丁目８") in stored
    assert address_key("ﾊｲﾂ新宿") in stored
    assert address_key("西新宿2-8-2") not in stored


def test_empty():
    assert address_key(None) == "" and address_key("") == ""
