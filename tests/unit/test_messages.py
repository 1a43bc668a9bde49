"""Every message key a template or module uses exists in both languages."""
import importlib.resources
import re

from intranet.messages import MESSAGES
from intranet.models import (
    CaseStatus, ContactKind, PhoneKind, RepresentativeKind, Residency, Role, TaxType,
)
from intranet.security.authentication import Failure

KEY = re.compile(r"""_\('([a-z_.]+)'(?:\s*[,)])""")


def _templates():
    root = importlib.resources.files("intranet") / "templates"
    stack = [root]
    while stack:
        entry = stack.pop()
        if entry.is_dir():
            stack.extend(entry.iterdir())
        elif entry.name.endswith(".jinja2"):
            yield entry


def test_every_literal_key_in_templates_exists():
    missing = {key for t in _templates() for key in KEY.findall(t.read_text("utf-8"))
               if key not in MESSAGES}
    assert not missing


def test_every_computed_key_exists():
    computed = ([f"role.{r}" for r in Role] + [f"case.status.{s}" for s in CaseStatus]
                + [f"residency.{r}" for r in Residency] + [f"phone.{k}" for k in PhoneKind]
                + [f"representative.{k}" for k in RepresentativeKind]
                + [f"tax_type.{t}" for t in TaxType] + [f"contact.{k}" for k in ContactKind]
                + [f"cases.search.{f}" for f in ("case_no", "name", "phone", "notice_no")]
                + ["login.bad_credentials", "login.locked", "login.account_invalid",
                   "login.session_expired", "login.zone", "login.throttled"]
                + [f"audit.event.{e}" for e in ("zone.denied", "login.throttled")])
    assert [k for k in computed if k not in MESSAGES] == []
    assert Failure.locked  # the failure codes map to login.* keys in views/auth.py


def test_both_languages_are_filled():
    for key, (ja, en) in MESSAGES.items():
        if key.endswith(".help") and key.startswith("nav.home"):
            continue
        assert ja and en, key
