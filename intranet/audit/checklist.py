"""確認記録票: what an on-site inspection of a contractor checks (特記事項
15–17 of seed 004, 9 of seed 000), the facts the system already holds about
each item, and the rows the inspection export writes.

Items come from two council documents: 資料77 (the tax call center, seed
000) and 資料62 (the field survey of movers-out, seed 004). Each applies to
both kinds of work or to one; an organisation's kind of work is read from
its users and contracts (see :func:`organisation_scopes`).
"""
from __future__ import annotations

import datetime as dt
import enum
import json
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import object_session, selectinload

from ..accounts import training
from ..clock import jst_midnight, to_jst
from ..i18n import translate
from ..messages import MESSAGES
from ..models import (
    CheckResult, Contract, ContractKind, ErasureRecord, HandoverSlip, InspectionChecklist,
    InspectionChecklistItem, MediumEvent, Role, TrainingPlan, TrainingRecord, User,
)

NOTE_MAX = 400


class Scope(enum.StrEnum):
    common = "common"
    call_center = "call_center"    # 納税コールセンター (資料77)
    field_survey = "field_survey"  # 区外転出者の現地調査 (資料62)


@dataclass(frozen=True)
class Item:
    """One protection to check; its label is the message ``checklist.item.<code>``."""

    code: str
    scope: Scope
    sources: tuple[str, ...]  # the clauses it comes from

    @property
    def label(self) -> str:
        return f"checklist.item.{self.code}"


C, CC, FS = Scope.common, Scope.call_center, Scope.field_survey

#: Every item, in the order of the form. Codes are stored: never rename one.
ITEMS: tuple[Item, ...] = (
    Item("responsible_persons", C, ("資料62 受託事業者 運用1・特記事項13", "資料77 受託事業者1")),
    Item("locked_storage", C, ("資料62 受託事業者 運用2・特記事項8", "資料77 受託事業者2・特記事項4")),
    Item("entry_log", CC, ("資料77 受託事業者3・区の対策2",)),
    Item("ward_system_only", CC, ("資料77 区の対策3",)),
    Item("id_cards", FS, ("資料62 受託事業者 運用3",)),
    Item("tablet_locked_bag", FS, ("資料62 受託事業者 運用4",)),
    Item("theft_protection", FS, ("資料62 受託事業者 運用5",)),
    Item("media_ledger", FS, ("資料62 区の対策 運用4・5",)),
    Item("handover_slips", FS, ("資料62 受託事業者 運用8・区の対策 運用3",)),
    Item("media_returned", FS, ("資料62 受託事業者 運用6・区の対策 運用6",)),
    Item("erasure_certified", FS, ("資料62 受託事業者 運用7・システム上の対策2・特記事項11・12",)),
    Item("pc_security", FS, ("資料62 受託事業者 システム上の対策1",)),
    Item("tablet_security", FS, ("資料62 受託事業者 システム上の対策2(1)〜(6)",)),
    Item("remote_wipe", FS, ("資料62 受託事業者 システム上の対策2(7)",)),
    Item("confidentiality", C, ("資料62 特記事項2", "資料77 特記事項2")),
    Item("fair_collection", FS, ("資料62 特記事項3〜5",)),
    Item("no_removal", FS, ("資料62 特記事項6",)),
    Item("purpose_limit", C, ("資料62 特記事項7", "資料77 特記事項3")),
    Item("no_copies", C, ("資料62 特記事項9", "資料77 特記事項5")),
    Item("no_subcontracting", C, ("資料62 特記事項10", "資料77 特記事項6")),
    Item("materials_returned", CC, ("資料77 特記事項7",)),
    Item("reporting", C, ("資料62 特記事項14・19", "資料77 特記事項8・11")),
    Item("audit_cooperation", C, ("資料62 特記事項17", "資料77 特記事項9")),
    Item("training", C, ("資料62 特記事項18", "資料77 特記事項10")),
    Item("incident_reports", C, ("資料62 特記事項19", "資料77 特記事項11")),  # issue 25
)
ITEM_BY_CODE: dict[str, Item] = {item.code: item for item in ITEMS}


class ChecklistError(ValueError):
    """A message key explaining why the change was refused."""


# ---------------------------------------------------------------- which items

def organisation_scopes(dbsession, organisation_id: int) -> frozenset[Scope]:
    """The kinds of work of a contractor organisation: the call center if it
    has operators or a call-center contract, the field survey if it has
    investigators or a survey contract (issue 25: contracts carry their
    kind). Nothing known yet: both."""
    roles = set(dbsession.scalars(
        select(User.role).where(User.organisation_id == organisation_id).distinct()))
    kinds = set(dbsession.scalars(
        select(Contract.kind).where(Contract.organisation_id == organisation_id).distinct()))
    scopes = set()
    if Role.operator in roles or ContractKind.call_center in kinds:
        scopes.add(Scope.call_center)
    if Role.contractor in roles or ContractKind.field_survey in kinds:
        scopes.add(Scope.field_survey)
    return frozenset(scopes or {Scope.call_center, Scope.field_survey})


def applicable_items(scopes) -> tuple[Item, ...]:
    return tuple(item for item in ITEMS if item.scope == Scope.common or item.scope in scopes)


# ---------------------------------------------------------------- changes

def create(dbsession, *, organisation, inspected_on: dt.date, contract, user,
           now: dt.datetime) -> InspectionChecklist:
    """A draft with one empty row per item applicable to the organisation."""
    duplicate = dbsession.scalar(select(func.count(InspectionChecklist.id)).where(
        InspectionChecklist.organisation_id == organisation.id,
        InspectionChecklist.inspected_on == inspected_on))
    if duplicate:
        raise ChecklistError("checklist.error.duplicate")
    checklist = InspectionChecklist(
        organisation_id=organisation.id, contract_id=contract.id if contract else None,
        inspected_on=inspected_on, place="", inspectors=user.display_name, contractor_attendees="",
        overall_note="", created_by=user.id, created_at=now)
    items = applicable_items(organisation_scopes(dbsession, organisation.id))
    checklist.items = [InspectionChecklistItem(position=n, code=item.code, note="")
                       for n, item in enumerate(items, 1)]
    dbsession.add(checklist)
    dbsession.flush()
    return checklist


@dataclass
class Answers:
    """What the form says; validated before anything is changed."""

    place: str = ""
    inspectors: str = ""
    contractor_attendees: str = ""
    overall_note: str = ""
    results: dict[str, CheckResult | None] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


def save(checklist: InspectionChecklist, answers: Answers) -> None:
    if checklist.completed:
        raise ChecklistError("checklist.error.completed")
    for name in ("place", "inspectors", "contractor_attendees", "overall_note"):
        setattr(checklist, name, getattr(answers, name))
    for row in checklist.items:
        row.result = answers.results.get(row.code)
        row.note = answers.notes.get(row.code, "")


def completion_problems(checklist: InspectionChecklist, answers: Answers, today: dt.date) -> list[str]:
    """Why these answers cannot complete the checklist (message keys)."""
    problems = []
    if any(answers.results.get(row.code) is None for row in checklist.items):
        problems.append("checklist.error.missing_results")
    if not answers.inspectors:
        problems.append("checklist.error.inspectors_required")
    if checklist.inspected_on > today:
        problems.append("checklist.error.future")
    return problems


def complete(checklist: InspectionChecklist, answers: Answers, user, now: dt.datetime,
             today: dt.date) -> None:
    """Save and make final; refused (nothing changed) unless every item has a result."""
    if checklist.completed:
        raise ChecklistError("checklist.error.completed")
    problems = completion_problems(checklist, answers, today)
    if problems:
        raise ChecklistError(problems[0])
    save(checklist, answers)
    checklist.completed_by, checklist.completed_at = user.id, now
    keep_evidence(object_session(checklist), checklist, now)


# ---------------------------------------------------------------- evidence

@dataclass(frozen=True)
class Fact:
    """A read-only fact shown next to an item: message ``key`` filled with ``params``."""

    key: str
    params: dict = field(default_factory=dict)


def _end_of_day(day: dt.date) -> dt.datetime:
    """Midnight JST after ``day``, as naive UTC (how timestamps are stored)."""
    return jst_midnight(day + dt.timedelta(days=1))


def evidence(dbsession, checklist: InspectionChecklist) -> dict[str, list[Fact]]:
    """What the system records about some items, as of the inspection date:
    the contract's named persons, training of the users valid that day, the
    media ledger, hand-over slips and erasure records. Scoped to the chosen
    contract, or to every contract of the organisation."""
    day, until = checklist.inspected_on, _end_of_day(checklist.inspected_on)
    contracts = ([checklist.contract] if checklist.contract is not None else list(dbsession.scalars(
        select(Contract).where(Contract.organisation_id == checklist.organisation_id)
        .order_by(Contract.starts_on))))
    contract_ids = [c.id for c in contracts]
    facts: dict[str, list[Fact]] = {}

    facts["responsible_persons"] = [
        Fact("checklist.evidence.persons", {
            "contract": c.name, "manager": c.manager_name,
            "handlers": sum(1 for name in c.handler_names.splitlines() if name.strip())})
        for c in contracts] or [Fact("checklist.evidence.no_contract")]

    users = dbsession.scalars(select(User).where(
        User.contract_id == checklist.contract_id if checklist.contract_id is not None
        else User.organisation_id == checklist.organisation_id)).all()
    noon = _end_of_day(day) - dt.timedelta(hours=12)
    valid = [u for u in users if u.is_valid_at(noon)]
    # Training records (intranet.accounts.training): current on the day.
    trained = [u for u in valid if training.standing(dbsession, u, day).current]
    facts["training"] = [Fact("checklist.evidence.training",
                              {"trained": len(trained), "total": len(valid)})]
    facts["incident_reports"] = _incident_facts(dbsession, checklist.organisation_id, until)
    # The contractor's 研修計画 of the inspection's fiscal year (issue 25).
    facts["training"].append(_plan_fact(dbsession, checklist.organisation_id, day))

    if not contract_ids:
        return facts
    lent = dbsession.scalar(select(func.count(MediumEvent.id)).where(
        MediumEvent.kind == "lent", MediumEvent.contract_id.in_(contract_ids), MediumEvent.at < until))
    # Each medium's state by then, through the ledger's state machine
    # (intranet.survey.media): lent = not back; returned = back, not wiped.
    from ..survey.media import positions

    held = [p for p in positions(dbsession, until) if p.contract_id in contract_ids]
    out = [p.medium.label for p in held if p.state == "lent"]
    unwiped = [p.medium.label for p in held if p.state == "returned"]
    lost = [p.medium.label for p in held if p.state == "lost"]
    facts["media_ledger"] = [Fact("checklist.evidence.media_lent", {"count": lent})]
    facts["media_returned"] = []
    if out:
        facts["media_returned"].append(Fact("checklist.evidence.media_out",
                                            {"count": len(out), "labels": "、".join(out)}))
    if unwiped:
        facts["media_returned"].append(Fact("checklist.evidence.media_unwiped",
                                            {"count": len(unwiped), "labels": "、".join(unwiped)}))
    if lost:
        facts["media_returned"].append(Fact("checklist.evidence.media_lost",
                                            {"count": len(lost), "labels": "、".join(lost)}))
    if not facts["media_returned"]:
        facts["media_returned"].append(Fact("checklist.evidence.media_all_back"))

    slips = dbsession.scalars(select(HandoverSlip).where(
        HandoverSlip.contract_id.in_(contract_ids), HandoverSlip.handed_at < until)).all()
    unconfirmed = [s for s in slips if s.confirmed_at is None or s.confirmed_at >= until]
    facts["handover_slips"] = [Fact("checklist.evidence.slips",
                                    {"total": len(slips), "unconfirmed": len(unconfirmed)})]

    erased = set(dbsession.scalars(select(ErasureRecord.contract_id).where(
        ErasureRecord.contract_id.in_(contract_ids), ErasureRecord.erased_on <= day)))
    ended = [c for c in contracts if c.ends_on < day and c.id not in erased]
    facts["erasure_certified"] = [Fact("checklist.evidence.erasures", {"count": len(erased)})]
    if ended:
        facts["erasure_certified"].append(
            Fact("checklist.evidence.erasure_missing", {"count": len(ended)}))
    return facts


def _incident_facts(dbsession, organisation_id: int, until: dt.datetime) -> list[Fact]:
    """事故報告 (issue 25) of the organisation filed by the end of the
    inspection day: how many, in which state then, and how many were filed
    three or more days after their discovery (「速やかに」)."""
    from ..models import Incident

    rows = dbsession.execute(select(Incident.filed_at, Incident.discovered_at, Incident.acknowledged_at,
                                    Incident.closed_at)
                             .where(Incident.organisation_id == organisation_id,
                                    Incident.filed_at < until)).all()
    closed = sum(1 for r in rows if r.closed_at is not None and r.closed_at < until)
    acknowledged = sum(1 for r in rows if r.acknowledged_at is not None and r.acknowledged_at < until) - closed
    facts = [Fact("checklist.evidence.incidents", {"total": len(rows), "filed": len(rows) - closed - acknowledged,
                                                   "acknowledged": acknowledged, "closed": closed})]
    slow = sum(1 for r in rows if r.filed_at - r.discovered_at >= dt.timedelta(days=3))
    if slow:
        facts.append(Fact("checklist.evidence.incidents_slow", {"count": slow}))
    return facts
def _plan_fact(dbsession, organisation_id: int, day: dt.date) -> Fact:
    from ..calls.campaigns import fiscal_year

    year = fiscal_year(day)
    plan = dbsession.scalar(select(TrainingPlan).where(
        TrainingPlan.organisation_id == organisation_id, TrainingPlan.fiscal_year == year))
    if plan is None:
        return Fact("checklist.evidence.no_training_plan", {"year": year})
    held = [c.id for c in plan.courses if c.held_on <= day]
    completions = dbsession.scalar(select(func.count(TrainingRecord.id)).where(
        TrainingRecord.course_id.in_(held), TrainingRecord.trained_on <= day)) if held else 0
    return Fact("checklist.evidence.training_plan",
                {"year": year, "courses": len(plan.courses), "held": len(held), "completions": completions})


# ---------------------------------------------------------------- snapshots (issue 23)
#
# A completed 確認記録票 records what the inspector saw next to each item:
# the facts of :func:`evidence` at completion, kept per item as JSON
# ``[{"key", "params", "ja"}]``. Key and params let either language render
# them later; ``ja`` is the text as shown, for the inspection package. Any
# fact key works: nothing here knows what the facts say.


def _plain(fact: Fact) -> dict:
    """Key and params as stored: JSON values (a date or a Decimal becomes its text)."""
    return {"key": fact.key, "params": json.loads(json.dumps(fact.params, default=str))}


def keep_evidence(dbsession, checklist: InspectionChecklist, now: dt.datetime) -> None:
    """Store today's evidence with each item of ``checklist`` (at completion).
    Refused if it has already been kept: a snapshot is never replaced."""
    if checklist.evidence_taken_at is not None:
        raise ChecklistError("checklist.error.completed")
    facts = evidence(dbsession, checklist)
    for row in checklist.items:
        kept = [{**_plain(f), "ja": translate("ja", f.key, **f.params)} for f in facts.get(row.code, [])]
        row.evidence_snapshot = json.dumps(kept, ensure_ascii=False, sort_keys=True)
    checklist.evidence_taken_at = now


@dataclass(frozen=True)
class KeptFact:
    """A fact as kept at completion."""

    key: str
    params: dict
    ja: str

    def text(self, locale: str) -> str:
        """In ``locale`` from key and params; the Japanese as shown if the
        key or its placeholders are no longer in the catalogue."""
        if locale == "ja":
            return self.ja
        try:
            return translate(locale, self.key, **self.params)
        except (KeyError, IndexError, ValueError):
            return self.ja


def kept_facts(row: InspectionChecklistItem) -> list[KeptFact] | None:
    """The facts kept with an item; None if none were (a draft, or completed
    before snapshots existed)."""
    if row.evidence_snapshot is None:
        return None
    return [KeptFact(f["key"], f.get("params") or {}, f.get("ja", ""))
            for f in json.loads(row.evidence_snapshot)]


@dataclass(frozen=True)
class ItemEvidence:
    """What a page shows next to one item: today's facts and, for a completed
    checklist with a snapshot, the kept ones and whether they differ."""

    current: list[Fact]
    kept: list[KeptFact] | None = None

    @property
    def differs(self) -> bool:
        if self.kept is None:
            return False
        return [(k.key, k.params) for k in self.kept] != [
            (p["key"], p["params"]) for p in map(_plain, self.current)]


def evidence_by_item(dbsession, checklist: InspectionChecklist) -> dict[str, ItemEvidence]:
    """Per item code of ``checklist``: :class:`ItemEvidence`."""
    facts = evidence(dbsession, checklist)
    kept = checklist.evidence_taken_at is not None
    return {row.code: ItemEvidence(facts.get(row.code, []), kept_facts(row) if kept else None)
            for row in checklist.items}


def kept_text(checklist: InspectionChecklist, row: InspectionChecklistItem) -> str:
    """The kept evidence of one item as one Japanese cell of the export."""
    if checklist.evidence_taken_at is None:
        return MESSAGES["checklist.snapshot.none"][0] if checklist.completed else ""
    return " ／ ".join(f.ja for f in kept_facts(row) or [])


# ---------------------------------------------------------------- for the export

#: Column headers of :func:`checklist_rows`, in order (the CSV header line).
ROW_HEADERS: tuple[str, ...] = (
    "確認記録票番号", "委託先", "契約", "実施日", "場所", "確認者", "委託先立会者",
    "番号", "項目コード", "確認項目", "根拠", "結果", "備考", "総評", "完了者", "完了日時",
    "完了時の根拠（システム記録）",
)


def checklists_for(dbsession, organisation_id: int, date_from: dt.date,
                   date_to: dt.date) -> list[InspectionChecklist]:
    """Completed checklists of one organisation inspected from ``date_from``
    to ``date_to`` (both included), oldest first, with their items loaded."""
    return list(dbsession.scalars(
        select(InspectionChecklist)
        .where(InspectionChecklist.organisation_id == organisation_id,
               InspectionChecklist.inspected_on >= date_from,
               InspectionChecklist.inspected_on <= date_to,
               InspectionChecklist.completed_at.is_not(None))
        .options(selectinload(InspectionChecklist.items))
        .order_by(InspectionChecklist.inspected_on, InspectionChecklist.id)))


def checklist_rows(checklists) -> list[dict[str, str]]:
    """One plain row per item of each checklist, keyed by :data:`ROW_HEADERS`
    (Japanese labels and results), ready for ``csv.DictWriter``."""
    rows = []
    for cl in checklists:
        for row in cl.items:
            item = ITEM_BY_CODE.get(row.code)
            rows.append(dict(zip(ROW_HEADERS, (
                str(cl.id), cl.organisation.name, cl.contract.name if cl.contract else "",
                cl.inspected_on.isoformat(), cl.place, cl.inspectors, cl.contractor_attendees,
                str(row.position), row.code, MESSAGES[item.label][0] if item else row.code,
                "、".join(item.sources) if item else "",
                MESSAGES[f"checklist.result.{row.result}"][0] if row.result else "",
                row.note, cl.overall_note, cl.completer.display_name if cl.completer else "",
                to_jst(cl.completed_at).strftime("%Y-%m-%d %H:%M") if cl.completed_at else "",
                kept_text(cl, row),
            ))))
    return rows
