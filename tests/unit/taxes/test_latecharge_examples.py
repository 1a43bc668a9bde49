"""Late charges against worked examples published by municipalities.

Each case: tax, due date, payment date, the segments the page prints
(days, rate, amount) and the final charge. Pages retrieved 2026-11.
"""
import datetime as dt
from decimal import Decimal

import pytest

from intranet.taxes.latecharge import late_charge

D = dt.date

EXAMPLES = [
    pytest.param(
        # 豊橋市: 令和3年度 固定資産税・都市計画税 第1期
        # https://www.city.toyohashi.lg.jp/dd.aspx?menuid=10874
        65_000, D(2021, 5, 31), D(2022, 1, 31),
        [(30, "2.5", 133), (184, "8.8", 2883), (31, "8.7", 480)], 3400, id="toyohashi-2021"),
    pytest.param(
        # 矢吹町 FAQ: 令和4年度 国民健康保険税 第1期 64,300円
        # https://www.town.yabuki.fukushima.jp/faq.php?mode=detail&lc=0&c=26&code=26
        64_300, D(2022, 8, 1), D(2022, 11, 1),
        [(31, "2.4", 130), (61, "8.7", 930)], 1000, id="yabuki-2022"),
    pytest.param(
        # 中央市「市税の延滞金計算について」 (2026 rates)
        # https://www.city.chuo.yamanashi.jp/soshiki/zeimu/shuunou/10746.html
        56_400, D(2026, 2, 2), D(2026, 5, 29),
        [(28, "2.8", 120), (88, "9.1", 1228)], 1300, id="chuo-2026"),
    pytest.param(
        # 富里市: 市民税・県民税 117,300円 (a leap February, still ÷365)
        # https://www.city.tomisato.lg.jp/0000000057.html
        117_300, D(2024, 1, 31), D(2024, 8, 31),
        [(29, "2.4", 223), (184, "8.7", 5131)], 5300, id="tomisato-2024"),
    pytest.param(
        # 泉佐野市 FAQ: 市府民税 3期 100,000円
        # https://www.city.izumisano.lg.jp/kakuka/somu/zeimu/faq/faq_nofu/q4.html
        100_000, D(2016, 10, 31), D(2017, 2, 20),
        [(30, "2.8", 230), (31, "9.1", 772), (51, "9.0", 1257)], 2200, id="izumisano-2016"),
    pytest.param(
        # 橋本市「延滞金の計算方法について」: 個人市・県民税 100,000円, across the 2014 reform
        # https://www.city.hashimoto.lg.jp/kurashi_tetsuduki/zeikin/nouzei/1387946891526.html
        100_000, D(2013, 10, 31), D(2014, 3, 20),
        [(30, "4.3", 353), (31, "14.6", 1240), (79, "9.2", 1991)], 3500, id="hashimoto-2013"),
    pytest.param(
        # 野田村「延滞金について」: 令和7年度 村民税・県民税 第1期 50,000円, across 2025/2026
        # https://www.vill.noda.iwate.jp/soshiki/zeimuka/1850.html
        50_000, D(2025, 6, 30), D(2026, 1, 31),
        [(31, "2.4", 101), (153, "8.7", 1823), (31, "9.1", 386)], 2300, id="noda-2025"),
]


@pytest.mark.parametrize("tax,due,paid,segments,expected", EXAMPLES)
def test_published_worked_examples(tax, due, paid, segments, expected):
    result = late_charge(tax, due, paid)
    assert [(s.days, s.rate, s.amount) for s in result.segments] == [
        (days, Decimal(rate), amount) for days, rate, amount in segments]
    assert result.amount == expected


def test_exact_arithmetic_where_floats_would_round_down():
    # 橋本市's 14.6% segment is exactly 1,240 yen; 100000*0.146*31/365 in binary
    # floating point is 1239.999..., which would floor to 1,239.
    (segment,) = [s for s in late_charge(100_000, D(2013, 10, 31), D(2014, 3, 20)).segments
                  if s.rate == Decimal("14.6")]
    assert segment.amount == 1240


def test_summing_exact_amounts_is_a_setting():
    # 野田村: 101.92 + 1,823.42 + 386.44 = 2,311.78 unfloored, 2,310 floored: both 2,300.
    floored = late_charge(50_000, D(2025, 6, 30), D(2026, 1, 31))
    exact = late_charge(50_000, D(2025, 6, 30), D(2026, 1, 31), floor_segments=False)
    assert floored.before_rounding == 2310
    assert str(exact.before_rounding.quantize(Decimal("0.01"))) == "2311.78"
    assert floored.amount == exact.amount == 2300
