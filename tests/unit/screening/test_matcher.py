"""The term list and its matcher (issue 23; seed 004 収集禁止事項,
個人情報保護法2条3項 要配慮個人情報)."""
import pytest
from pyramid.exceptions import ConfigurationError

from intranet.screening import matcher
from tests.conftest import TEST_SETTINGS


@pytest.fixture(scope="module")
def terms():
    return matcher.load()


def found(terms, text):
    return [(m.category, m.surface(text)) for m in terms.find(text)]


def test_the_issues_memo_names_religion_welfare_and_a_criminal_record(terms):
    text = "本人は創価学会の会員で生活保護を受けており前科がある"
    assert found(terms, text) == [("religion", "創価学会"), ("welfare", "生活保護"),
                                  ("criminal_record", "前科")]
    assert matcher.redact(text, terms.find(text)) == "本人は＊＊＊の会員で＊＊＊を受けており＊＊＊がある"


@pytest.mark.parametrize("text,surface,category", [
    ("ｾｲｶﾂﾎｺﾞ", "ｾｲｶﾂﾎｺﾞ", "welfare"),          # half-width kana with voiced marks
    ("セイカツホゴ", "セイカツホゴ", "welfare"),
    ("せいかつ ほご", "せいかつ ほご", "welfare"),  # a space inside is folded away
    ("ゼンカ", "ゼンカ", "criminal_record"),
    ("ぜんか", "ぜんか", "criminal_record"),
    ("ｷﾘｽﾄ教", "ｷﾘｽﾄ教", "religion"),
    ("ｴﾎﾊﾞの証人", "ｴﾎﾊﾞ", "religion"),      # ﾊﾞ is one character once folded
    ("ｈｉｖ陽性", "ｈｉｖ", "medical"),
    ("うつ病で通院", "うつ病", "medical"),
    ("逮捕された", "逮捕", "criminal_record"),
    ("服役中", "服役", "criminal_record"),
    ("障害者手帳", "障害者手帳", "disability"),   # the longest term wins over 障害者
    ("部落", "部落", "social_status"),
    ("在日三世", "在日", "race"),
])
def test_width_and_kana_variants_match(terms, text, surface, category):
    assert (category, surface) in found(terms, text)


@pytest.mark.parametrize("text", [
    "ぜんかいの訪問では不在",          # 前回 in kana holds ぜんか: allowed phrase
    "ぜんかくで入力",
    "通信障害で電話がつながらない",    # 障害 alone is no term; 通信障害 is allowed anyway
    "個人情報保護のため表札のみ確認",  # 保護 alone is no term
    "集落の奥の一軒家",                # not 部落
    "梅田管理株式会社 06-0000-0000",
    "表札あり。ポストに郵便物。",
    "",
])
def test_innocent_text_matches_nothing(terms, text):
    assert found(terms, text) == []


def test_a_religious_corporation_matches_religion(terms):
    """Legitimate (a landlord's name) but still a hit: the writer confirms it."""
    assert found(terms, "宗教法人〇〇寺") == [("religion", "宗教")]


def test_highlight_segments_cover_the_text(terms):
    text = "家主は宗教法人〇〇寺"
    segments = matcher.segments(text, terms.find(text))
    assert segments == [("家主は", None), ("宗教", "religion"), ("法人〇〇寺", None)]
    assert "".join(piece for piece, _ in segments) == text


def test_the_shipped_list_covers_every_category(terms):
    assert set(terms.categories) == set(matcher.CATEGORIES)


def test_the_file_format(tmp_path):
    path = tmp_path / "terms.txt"
    path.write_text("# comment\n\nreligion\t宗教   # trailing comment\nwelfare  生活保護\n"
                    "allow 宗教的配慮\n", encoding="utf-8")
    terms = matcher.load(path)
    assert [(t.category, t.term) for t in terms.terms] == [("religion", "宗教"), ("welfare", "生活保護")]
    assert terms.find("宗教的配慮") == [] and len(terms.find("宗教")) == 1


@pytest.mark.parametrize("content,message", [
    ("religion 宗教\nfaith 信仰\n", ":2: unknown category 'faith'"),
    ("religion\n", ":1: expected '<category> <term>'"),
    ("religion 宗 教\n", ":1: expected '<category> <term>'"),
    ("# only comments\n", "no terms"),
    ("religion 宗教\nreligion 　\n", ":2: expected"),
])
def test_a_bad_file_names_the_line(tmp_path, content, message):
    path = tmp_path / "terms.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(matcher.TermFileError, match=message.replace("'", ".").replace("<", ".").replace(">", ".")):
        matcher.load(path)


def test_a_bad_file_stops_the_application(tmp_path):
    """Parsed once at start-up (the application's include of intranet.screening)."""
    from pyramid.config import Configurator

    def start(path):
        config = Configurator(settings={**TEST_SETTINGS, "intranet.screening.terms_file": str(path)})
        config.include("intranet.config")
        config.include("intranet.screening")
        return config.registry

    path = tmp_path / "terms.txt"
    path.write_text("religon 宗教\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="intranet.screening.terms_file: .*:1: unknown category"):
        start(path)
    with pytest.raises(ConfigurationError, match="cannot read"):
        start(tmp_path / "missing.txt")
    path.write_text("religion 宗教\n", encoding="utf-8")
    assert [t.term for t in start(path).screening_terms.terms] == ["宗教"]
