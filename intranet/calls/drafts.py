"""Campaign drafts by the call center (issue 25; seed 000, 委託の内容1
「納付案内計画の立案」).

The call center's 責任者 drafts a campaign and sees only what it would
produce in numbers (:func:`counts`); a ward supervisor sees the cases it
would reach (:func:`cases_page`) and approves it — a campaign is created
from it exactly as a collector creates one (:func:`intranet.calls.creation.create`)
— returns it for changes or rejects it. Both ask THE selection of the build
(:func:`intranet.calls.campaigns.candidates_query`), so the counts a leader
saw are the counts the build makes on the same day and data.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict

from sqlalchemy import case as sql_case, func, select

from ..models import CampaignDraft, Case, DraftState, Organisation
from .campaigns import CampaignFilter, candidates_query
from .creation import create
from .forms import CampaignForm

#: Amount bands of the counts (balance in yen, lower bound inclusive): a
#: leader sees how the reach splits, never an amount of one case.
BANDS = ((0, "lt10k"), (10_000, "10k"), (50_000, "50k"), (100_000, "100k"), (500_000, "500k"))
#: Cases per page of the supervisor's review list.
PAGE_SIZE = 50


def counts(dbsession, flt: CampaignFilter, today: dt.date) -> dict:
    """What ``flt`` would build today, in one statement: cases, targets
    (people, 名寄せ as the build groups them), targets without a usable
    number (letters) and cases per amount band. Counts only.

    Why no breakdown by 滞納区分: it is the staff facet, which operators do
    not see (matrix.ROLE_FACETS); the values themselves are case data."""
    cand = candidates_query(dbsession, flt, today).subquery("candidates")
    band = sql_case(*[(cand.c.balance >= low, index) for index, (low, _) in reversed(list(enumerate(BANDS)))],
                    else_=0)
    per_person = (select(cand.c.person, func.count().label("cases"),
                         func.max(cand.c.phone_id).label("phone"),
                         *[func.sum(sql_case((band == index, 1), else_=0)).label(f"band{index}")
                           for index in range(len(BANDS))])
                  .group_by(cand.c.person).subquery("per_person"))
    row = dbsession.execute(select(
        func.coalesce(func.sum(per_person.c.cases), 0), func.count(),
        func.coalesce(func.sum(sql_case((per_person.c.phone.is_(None), 1), else_=0)), 0),
        *[func.coalesce(func.sum(per_person.c[f"band{index}"]), 0) for index in range(len(BANDS))])).one()
    return {"cases": int(row[0]), "targets": int(row[1]), "no_phone": int(row[2]),
            "bands": {name: int(n) for (_, name), n in zip(BANDS, row[3:])}}


def cases_page(request, flt: CampaignFilter, page: int) -> tuple[list[Case], int]:
    """One page of the cases the build would take, in the user's scope (the
    disclosure gate's scope clause), in case order; and how many there are."""
    cand = candidates_query(request.dbsession, flt, request.today).subquery("candidates")
    stmt = request.disclosure.scoped(select(Case).join(cand, cand.c.case_id == Case.id), Case.id)
    total = request.dbsession.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    found = list(request.dbsession.scalars(stmt.order_by(Case.id).limit(PAGE_SIZE)
                                           .offset((page - 1) * PAGE_SIZE)))
    return found, total


def campaign_filter(draft: CampaignDraft) -> CampaignFilter:
    return CampaignFilter(**json.loads(draft.criteria))


def to_form(draft: CampaignDraft) -> CampaignForm:
    """The draft as the campaign form (the edit form, and approval)."""
    form = CampaignForm(name=draft.name, starts_on=draft.starts_on, ends_on=draft.ends_on,
                        weekday_start=draft.weekday_start, weekday_end=draft.weekday_end,
                        saturday_start=draft.saturday_start, saturday_end=draft.saturday_end,
                        max_attempts=draft.max_attempts, min_interval_minutes=draft.min_interval_minutes,
                        daily_limit=draft.daily_limit, weekly_limit=draft.weekly_limit)
    form.filter = campaign_filter(draft)
    return form


def fill(draft: CampaignDraft, form: CampaignForm, reason: str) -> None:
    """Copy a validated form into the draft."""
    for name in ("name", "starts_on", "ends_on", "weekday_start", "weekday_end", "saturday_start",
                 "saturday_end", "max_attempts", "min_interval_minutes", "daily_limit", "weekly_limit"):
        setattr(draft, name, getattr(form, name))
    draft.criteria = json.dumps(asdict(form.filter), ensure_ascii=False, sort_keys=True)
    draft.reason = reason


def recount(dbsession, draft: CampaignDraft, today: dt.date, now: dt.datetime) -> dict:
    found = counts(dbsession, campaign_filter(draft), today)
    draft.counts, draft.counted_at = json.dumps(found, sort_keys=True), now
    return found


def approve(dbsession, draft: CampaignDraft, *, reviewer_id: int, comment: str | None,
            now: dt.datetime, today: dt.date):
    """The campaign created from a submitted draft and its build job; the
    draft is approved and names it. The caller checked the state."""
    assert draft.state == DraftState.submitted
    campaign, job = create(dbsession, to_form(draft), created_by=reviewer_id, now=now, today=today)
    draft.state, draft.campaign_id = DraftState.approved, campaign.id
    draft.reviewed_by, draft.reviewed_at, draft.review_comment = reviewer_id, now, comment or None
    draft.updated_at = now
    return campaign, job


REASON_MAX = 2000
COMMENT_MAX = 2000


def _free_text(post, name: str, limit: int, errors, key: str, required: bool) -> str:
    value = post.get(name, "")
    value = value.strip() if isinstance(value, str) else ""
    if (required and not value) or len(value) > limit or "\x00" in value:
        errors.add(key)
        return value[:limit].replace("\x00", "")
    return value


def parse_draft(post, today: dt.date):
    """The campaign form (same fields, bounds and messages as a collector's:
    intranet.calls.forms.parse_campaign) and the reason: (form, reason, errors)."""
    from .forms import parse_campaign

    form, errors = parse_campaign(post, today)
    reason = _free_text(post, "reason", REASON_MAX, errors, "drafts.error.reason", required=True)
    return form, reason, errors


def parse_comment(post, required: bool):
    """A reviewer's comment: required to return or reject (the leader must
    know why), optional to approve. (comment, errors)."""
    from .forms import FormErrors

    errors = FormErrors()
    comment = _free_text(post, "comment", COMMENT_MAX, errors, "drafts.error.comment", required=required)
    return comment, errors


def waiting_for_review(dbsession, limit: int = 20) -> tuple[int, list]:
    """How many drafts wait for a ward supervisor's review and the oldest
    ``limit`` of them, with the drafting organisation's name (the
    supervisors' home page; a draft holds no case data)."""
    where = CampaignDraft.state == DraftState.submitted
    count = dbsession.scalar(select(func.count(CampaignDraft.id)).where(where))
    rows = dbsession.execute(
        select(CampaignDraft.id, CampaignDraft.name, CampaignDraft.submitted_at,
               Organisation.name.label("organisation"))
        .join(Organisation, Organisation.id == CampaignDraft.organisation_id)
        .where(where).order_by(CampaignDraft.submitted_at, CampaignDraft.id).limit(limit)).all() if count else []
    return count, rows
