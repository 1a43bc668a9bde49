"""The convenience-store barcode's digits (docs/taxes.md, "Convenience-store
barcode") and its settings."""
import datetime as dt

import pytest
from pyramid.config import Configurator
from pyramid.exceptions import ConfigurationError

from intranet.config import cvs_settings
from intranet.documents.barcode import CvsSettings, barcode_digits, check_digit
from tests.conftest import TEST_SETTINGS


def expected_check_digit(digits43: str) -> int:
    """The rule as the sources word it: number the 44 positions from the
    right, the check digit being position 1; A = the sum of the digits in
    even positions, B = those in odd positions (2..44 only); the check digit
    is 10 minus the last digit of 3A + B (0 when that digit is 0)."""
    a = sum(int(digits43[44 - position]) for position in range(2, 45, 2))
    b = sum(int(digits43[44 - position]) for position in range(3, 45, 2))
    last = (3 * a + b) % 10
    return 0 if last == 0 else 10 - last


@pytest.mark.parametrize("digits43, check", [
    # Two worked examples quoted (with their answer, 3) in a public slip
    # printer's source, as checks of its implementation of the guideline:
    # 91 912345 012345678901234567890 1 010331 0 123000 -> 3
    ("91" "912345" "012345678901234567890" "1" "010331" "0" "123000", 3),
    # 91 942386 178953917853935692730 1 030731 1 031290 -> 3
    ("91" "942386" "178953917853935692730" "1" "030731" "1" "031290", 3),
])
def test_check_digit_worked_examples(digits43, check):
    assert len(digits43) == 43
    assert expected_check_digit(digits43) == check
    assert check_digit(digits43) == check


def test_the_44_digits_put_each_field_where_the_guideline_says():
    digits = barcode_digits("912345", "900000000042", 2, dt.date(2026, 11, 30), 120_800)
    assert len(digits) == 44 and digits.isdigit()
    assert digits[0:2] == "91"                              # AI
    assert digits[2:8] == "912345"                          # 収納企業コード
    assert digits[8:29] == "900000000042" + "0" * 9         # 自由使用欄: notice no., zero-filled right
    assert digits[29] == "2"                                # 再発行区分
    assert digits[30:36] == "261130"                        # 支払期限 YYMMDD
    assert digits[36] == "0"                                # 印紙フラグ
    assert digits[37:43] == "120800"                        # 金額
    assert int(digits[43]) == expected_check_digit(digits[:43])


def test_reissue_count_is_one_digit_and_bad_fields_are_refused():
    assert barcode_digits("912345", "1", 15, dt.date(2026, 1, 5), 1)[29] == "9"
    for args in (("91234", "1", 1, dt.date(2026, 1, 5), 1), ("912345", "A1", 1, dt.date(2026, 1, 5), 1),
                 ("912345", "1" * 22, 1, dt.date(2026, 1, 5), 1),
                 ("912345", "1", 1, dt.date(2026, 1, 5), 1_000_000)):
        with pytest.raises(ValueError):
            barcode_digits(*args)


def test_settings_default_to_no_barcode_and_a_300000_yen_limit():
    assert cvs_settings({}) == CvsSettings("", 300_000, 0.191)
    assert not cvs_settings({}).enabled
    parsed = cvs_settings({"intranet.documents.cvs_company_code": " 912345 ",
                           "intranet.documents.cvs_limit": "250000"})
    assert parsed.enabled and (parsed.company_code, parsed.limit) == ("912345", 250_000)


@pytest.mark.parametrize("name, value", [
    ("intranet.documents.cvs_company_code", "91234"),
    ("intranet.documents.cvs_company_code", "4912345"),
    ("intranet.documents.cvs_company_code", "91234５"),
    ("intranet.documents.cvs_limit", "30万"),
    ("intranet.documents.cvs_limit", "1000000"),
    ("intranet.documents.cvs_module_mm", "1"),
])
def test_a_malformed_setting_stops_the_app_at_start_up(name, value):
    config = Configurator(settings={**TEST_SETTINGS, name: value})
    with pytest.raises(ConfigurationError, match=name.replace(".", r"\.")):
        config.include("intranet.config")  # parsed first of all, before intranet.documents
