"""延滞金 rates by calendar year (percent a year): (lower, higher).

Lower: up to one month after the due date; higher: after that. Since 2014
they are derived from the 延滞金特例基準割合 (地方税法附則第3条の2; the ratio is
published by the Minister of Finance each December):
lower = ratio + 1% (max 7.3%), higher = ratio + 7.3% (max 14.6%).

Update each December: add the next year's line with its source.

Checked against municipal tables, e.g. 袋井市「延滞金などの割合の改正」
(https://www.city.fukuroi.shizuoka.jp/soshiki/nouzei/3/nozei/9403.html, 2021–2026),
京都市 (https://www.city.kyoto.lg.jp/gyozai/page/0000295058.html, 2026: 2.8% / 9.1%)
and 安曇野市 (https://www.city.azumino.nagano.jp/soshiki/12/65538.html, 2014–2026).
"""
from __future__ import annotations

from decimal import Decimal

D = Decimal

#: year -> (lower, higher, source)
RATES: dict[int, tuple[Decimal, Decimal, str]] = {
    # 2010–2013: the lower rate was the 特例基準割合 (公定歩合 + 4%), the higher 14.6%.
    2010: (D("4.3"), D("14.6"), "特例基準割合4.3% (旧附則第3条の2)"),
    2011: (D("4.3"), D("14.6"), "特例基準割合4.3%"),
    2012: (D("4.3"), D("14.6"), "特例基準割合4.3%"),
    2013: (D("4.3"), D("14.6"), "特例基準割合4.3% (橋本市の計算例で確認)"),
    2014: (D("2.9"), D("9.2"), "特例基準割合1.9% (財務省告示, 2013-12)"),
    2015: (D("2.8"), D("9.1"), "特例基準割合1.8%"),
    2016: (D("2.8"), D("9.1"), "特例基準割合1.8%"),
    2017: (D("2.7"), D("9.0"), "特例基準割合1.7%"),
    2018: (D("2.6"), D("8.9"), "特例基準割合1.6%"),
    2019: (D("2.6"), D("8.9"), "特例基準割合1.6%"),
    2020: (D("2.6"), D("8.9"), "特例基準割合1.6%"),
    2021: (D("2.5"), D("8.8"), "延滞金特例基準割合1.5% (令和3年度改正)"),
    2022: (D("2.4"), D("8.7"), "延滞金特例基準割合1.4%"),
    2023: (D("2.4"), D("8.7"), "延滞金特例基準割合1.4%"),
    2024: (D("2.4"), D("8.7"), "延滞金特例基準割合1.4%"),
    2025: (D("2.4"), D("8.7"), "延滞金特例基準割合1.4%"),
    2026: (D("2.8"), D("9.1"), "延滞金特例基準割合1.8% (財務省告示, 2025-12)"),
}


class UnknownRate(LookupError):
    pass


def rates_for(year: int) -> tuple[Decimal, Decimal]:
    try:
        lower, higher, _source = RATES[year]
    except KeyError:
        raise UnknownRate(f"no late-charge rate for {year}: add it to intranet/taxes/rates.py") from None
    return lower, higher
