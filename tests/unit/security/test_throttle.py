"""Settings of login throttling per address (intranet.security.throttle)."""
import datetime as dt

import pytest
from pyramid.exceptions import ConfigurationError

from intranet.config import throttle_settings as settings_from


def test_defaults_and_off():
    assert settings_from({}).max_failures == 20
    assert settings_from({}).window == dt.timedelta(minutes=15)
    assert settings_from({"intranet.login.address_max_failures": "0"}).max_failures == 0


@pytest.mark.parametrize(("name", "value"), [
    ("intranet.login.address_max_failures", "many"),
    ("intranet.login.address_max_failures", "-1"),
    ("intranet.login.address_max_failures", ""),
    ("intranet.login.address_window_minutes", "0"),
    ("intranet.login.address_window_minutes", "1.5"),
])
def test_bad_values_name_the_setting(name, value):
    with pytest.raises(ConfigurationError, match=rf"^{name.replace('.', '[.]')} must be a whole number"):
        settings_from({name: value})
