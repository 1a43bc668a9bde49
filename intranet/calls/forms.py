"""Reading the call center's forms: every field checked, errors as message keys."""
from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, field

from ..models import (
    HANDOVER_ACTIONS, ActionKind, ContactResult, Disposition, IncomingReason, TaxType, legacy_split,
)
from ..params import parse_date
from .campaigns import DELINQUENCY, PHONE_KNOWN, CampaignFilter
from .calendar import to_utc
from .results import Action, CallResult

MEMO_MAX = 2000
NAME_MAX = 200
MAX_AMOUNT = 100_000_000
PROMISE_MAX_DAYS = 92
PAID_CLAIM_MAX_DAYS = 366


@dataclass
class FormErrors:
    errors: list[str] = field(default_factory=list)  # message keys

    def add(self, key: str) -> None:
        if key not in self.errors:
            self.errors.append(key)


def _text(post, name, limit, errors, key="form.too_long") -> str:
    value = post.get(name, "")
    if not isinstance(value, str):
        errors.add("form.invalid")
        return ""
    value = value.strip()
    if len(value) > limit:
        errors.add(key)
        return value[:limit]
    return value


def _int(post, name, errors, *, minimum=0, maximum=MAX_AMOUNT, required=False) -> int | None:
    raw = post.get(name, "")
    # full-width digits and separators as typed on Japanese keyboards
    raw = unicodedata.normalize("NFKC", raw).strip().replace(",", "").replace("円", "") \
        if isinstance(raw, str) else ""
    if not raw:
        if required:
            errors.add(f"calls.error.{name}")
        return None
    try:
        value = int(raw)
    except ValueError:
        errors.add(f"calls.error.{name}")
        return None
    if not minimum <= value <= maximum:
        errors.add(f"calls.error.{name}")
        return None
    return value


def _date(post, name, errors, required=False) -> dt.date | None:
    raw = post.get(name, "")
    raw = raw.strip() if isinstance(raw, str) else ""
    if not raw:
        if required:
            errors.add(f"calls.error.{name}")
        return None
    try:
        return parse_date(raw)
    except ValueError:
        errors.add(f"calls.error.{name}")
        return None


def _time(post, name, errors) -> dt.time | None:
    raw = post.get(name, "")
    raw = raw.strip() if isinstance(raw, str) else ""
    if not raw:
        return None
    try:
        return dt.time.fromisoformat(raw)
    except ValueError:
        errors.add(f"calls.error.{name}")
        return None


def _getall(post, name) -> list[str]:
    getall = getattr(post, "getall", None)
    values = getall(name) if getall else ([post[name]] if name in post else [])
    return [v for v in values if isinstance(v, str)]


#: What a caller without a case is recorded as.
REASON_RESULTS = {IncomingReason.unknown_caller: ContactResult.other_person,
                  IncomingReason.wrong_number: ContactResult.wrong_number,
                  IncomingReason.enquiry_only: ContactResult.other_person}


def parse_result(post, today: dt.date, now: dt.datetime, *, incoming: bool = False
                 ) -> tuple[CallResult | None, FormErrors]:
    """A contact result (``result``) and any number of actions (``action``,
    repeated). The first version's single ``disposition`` is still read, as
    the result and the action it stands for."""
    errors = FormErrors()
    if "result" not in post and "disposition" in post:
        try:
            disposition = Disposition(post.get("disposition", ""))
        except ValueError:
            errors.add("calls.error.disposition")
            return None, errors
        result_value, kind = legacy_split(disposition)
        kinds = [kind] if kind else []
    else:
        try:
            result_value = ContactResult(post.get("result", ""))
        except ValueError:
            errors.add("calls.error.disposition")
            return None, errors
        kinds = []
        for raw in _getall(post, "action"):
            try:
                kind = ActionKind(raw)
            except ValueError:
                errors.add("calls.error.action")
                return None, errors
            if kind not in kinds:
                kinds.append(kind)
    if incoming and result_value not in (ContactResult.reached, ContactResult.other_person):
        errors.add("calls.error.incoming_result")
        return None, errors
    allowed = (set(ActionKind) if result_value == ContactResult.reached else
               {ActionKind.callback} if result_value == ContactResult.other_person else set())
    if any(k not in allowed for k in kinds):
        errors.add("calls.error.actions_need_reached")
        return None, errors
    result = CallResult(result_value, memo=_text(post, "memo", MEMO_MAX, errors))
    for kind in kinds:
        action = Action(kind)
        if kind == ActionKind.promise:
            action.amount = _int(post, "promise_amount", errors, minimum=1, required=True)
            action.on = _date(post, "promise_on", errors, required=True)
            if action.on and not today <= action.on <= today + dt.timedelta(days=PROMISE_MAX_DAYS):
                errors.add("calls.error.promise_on")
        elif kind == ActionKind.paid_claimed:
            # What the caller says they paid: the day is needed to look for
            # the payment (収納の確認); the amount if they know it.
            action.amount = _int(post, "paid_amount", errors, minimum=1)
            action.on = _date(post, "paid_on", errors, required=True)
            if action.on and not today - dt.timedelta(days=PAID_CLAIM_MAX_DAYS) <= action.on <= today:
                errors.add("calls.error.paid_on")
        elif kind == ActionKind.callback:
            day = _date(post, "callback_on", errors, required=True)
            at = _time(post, "callback_time", errors)
            if day and at is None and "calls.error.callback_time" not in errors.errors:
                errors.add("calls.error.callback_time")
            if day and at:
                action.at = to_utc(dt.datetime.combine(day, at))
                if not now < action.at <= now + dt.timedelta(days=31):
                    errors.add("calls.error.callback_on")
        result.actions.append(action)
    if set(kinds) & HANDOVER_ACTIONS:
        # A refusal is handed over as such (the memo says the rest); a
        # consultation or a plan request needs what the taxpayer asks for.
        result.handover_reason = _text(post, "handover_reason", MEMO_MAX, errors)
        if not result.handover_reason and set(kinds) & {ActionKind.handover, ActionKind.plan_request}:
            errors.add("calls.error.handover_reason")
    return (None if errors.errors else result), errors


def parse_incoming(post, today: dt.date, now: dt.datetime, with_case: bool
                   ) -> tuple[CallResult | None, FormErrors]:
    """An incoming call: with a case, a result and actions as on the call
    screen (the caller themself, or someone on their behalf); without one,
    only why there is none (``reason``) and a memo."""
    if with_case:
        return parse_result(post, today, now, incoming=True)
    errors = FormErrors()
    try:
        reason = IncomingReason(post.get("reason", ""))
    except ValueError:
        errors.add("calls.error.incoming_reason")
        return None, errors
    if _getall(post, "action"):
        errors.add("calls.error.actions_need_case")
    result = CallResult(REASON_RESULTS[reason], memo=_text(post, "memo", MEMO_MAX, errors),
                        incoming=True, incoming_reason=reason)
    return (None if errors.errors else result), errors


@dataclass
class CampaignForm:
    name: str = ""
    starts_on: dt.date | None = None
    ends_on: dt.date | None = None
    weekday_start: dt.time = dt.time(9, 0)
    weekday_end: dt.time = dt.time(20, 0)
    saturday_start: dt.time | None = dt.time(9, 0)
    saturday_end: dt.time | None = dt.time(17, 0)
    max_attempts: int = 6
    min_interval_minutes: int = 240
    daily_limit: int = 2
    weekly_limit: int = 5
    filter: CampaignFilter = field(default_factory=CampaignFilter)


def parse_campaign(post, today: dt.date) -> tuple[CampaignForm, FormErrors]:
    errors = FormErrors()
    form = CampaignForm()
    form.name = _text(post, "name", NAME_MAX, errors)
    if not form.name:
        errors.add("calls.error.name")
    form.starts_on = _date(post, "starts_on", errors, required=True)
    form.ends_on = _date(post, "ends_on", errors, required=True)
    if form.starts_on and form.ends_on and not (form.starts_on <= form.ends_on
                                                and form.ends_on >= today):
        errors.add("calls.error.period")
    for name in ("weekday_start", "weekday_end", "saturday_start", "saturday_end"):
        setattr(form, name, _time(post, name, errors))
    if form.weekday_start is None or form.weekday_end is None \
            or form.weekday_start >= form.weekday_end:
        errors.add("calls.error.hours")
    if (form.saturday_start is None) != (form.saturday_end is None) or (
            form.saturday_start and form.saturday_start >= form.saturday_end):
        errors.add("calls.error.hours")
    for name, low, high in (("max_attempts", 1, 50), ("min_interval_minutes", 0, 60 * 24 * 14),
                            ("daily_limit", 1, 10), ("weekly_limit", 1, 30)):
        value = _int(post, name, errors, minimum=low, maximum=high, required=True)
        if value is not None:
            setattr(form, name, value)
    flt = form.filter
    tax_type = post.get("tax_type", "")
    if tax_type and tax_type not in {t.value for t in TaxType}:
        errors.add("calls.error.filter")
    else:
        flt.tax_type = tax_type
    flt.fiscal_year = _int(post, "fiscal_year", errors, minimum=1990, maximum=2100)
    for name, allowed in (("delinquency", DELINQUENCY), ("phone", PHONE_KNOWN)):
        value = post.get(name, "any")
        if value not in allowed:
            errors.add("calls.error.filter")
        else:
            setattr(flt, name, value)
    flt.category = _text(post, "category", 40, errors)
    plan_defaulted = post.get("plan_defaulted", "")
    if plan_defaulted not in ("", "1"):
        errors.add("calls.error.filter")
    flt.plan_defaulted = plan_defaulted == "1"
    flt.balance_min = _int(post, "balance_min", errors)
    flt.balance_max = _int(post, "balance_max", errors)
    if flt.balance_min is not None and flt.balance_max is not None and flt.balance_min > flt.balance_max:
        errors.add("calls.error.balance_range")
    return form, errors
