"""Everything the case page shows, in one SQL statement (issue 21).

The case row and its taxpayer come with the resource (one statement); this
module loads every other row the facets the user may see need: phones,
representatives, mailing address, foreign-resident and corporation records,
assessments → installments → receipts, plans → payments, direct-debit
accounts, contacts, calls, letters, direct-debit applications → steps,
status periods and survey reports.

One statement, not one per relationship: each kind of row gets its own slot
``k`` of a small numbered list, and every table is outer-joined on
``k = <its slot> AND <its foreign key>``. A result row carries one kind of
row (and its parent chain: an installment with its assessment, a receipt with
its installment), so the result has as many rows as there are rows to show:
their sum, never their product. The ORM builds the objects (an entity whose
primary key is NULL in a row comes back as ``None``) and the collections are
set as loaded (``set_committed_value``) in the relationships' own order, so
templates never load anything lazily. Facets the role may not see are not
queried at all.

On PostgreSQL the child rows (installments with their receipts, plan
payments, debit steps) come in a second statement, restricted to their
parents' ids once the parents are known: planning one join of ~20 tables
cost PostgreSQL more than running it (22 ms of planning against 1 ms of
execution at 22,000 cases under load; 8.4 + 0.3 ms split in two, issue 21).
SQLite plans the one statement cheaply and keeps it. Relationships already loaded in the session (a form that
failed and re-renders the page) are left as they are.
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field

from sqlalchemy import Integer, and_, bindparam, inspect, literal_column, select, union_all
from sqlalchemy.orm import aliased, lazyload, load_only
from sqlalchemy.orm.attributes import set_committed_value

from ..models import (
    Assessment, CallRecord, ContactRecord, Corporation, DirectDebitAccount,
    DirectDebitApplication, DirectDebitStep, ForeignResidentRecord, Installment, IssuedDocument,
    LetterBatch, MailingAddress, PaymentAgreement, Phone, PlanPayment, Receipt, Representative,
    StatusPeriod, SurveyReport, SurveyTarget, User,
)
from ..security.matrix import Facet

_LATEST = dt.datetime.max
_EARLIEST = dt.date.min


@dataclass
class CasePage:
    """Rows of the case page that are no relationship of the case."""

    documents: list | None = None
    applications: list | None = None
    statuses: list | None = None
    reports: list | None = None
    loaded: set = field(default_factory=set)


def preloaded(request, name: str):
    """The rows ``name`` of the case page if :func:`load` fetched them."""
    page = getattr(request.context, "page_rows", None)
    return getattr(page, name) if page is not None else None


#: The ids a statement is built with: the same statement serves every case.
_CASE, _TAXPAYER = bindparam("case_id", type_=Integer), bindparam("taxpayer_id", type_=Integer)


def _slots(recorder, step_recorder) -> dict[str, list]:
    """Every slot: name -> [(entity, on clause)], parents before children."""
    cid, tid = _CASE, _TAXPAYER
    return {
        "phones": [(Phone, Phone.taxpayer_id == tid)],
        "mailing": [(MailingAddress, MailingAddress.taxpayer_id == tid)],
        "foreign": [(ForeignResidentRecord, ForeignResidentRecord.taxpayer_id == tid)],
        "corporation": [(Corporation, Corporation.taxpayer_id == tid)],
        "representatives": [(Representative, Representative.taxpayer_id == tid)],
        "assessments": [(Assessment, Assessment.case_id == cid),
                        (Installment, Installment.assessment_id == Assessment.id),
                        (Receipt, Receipt.installment_id == Installment.id)],
        "agreements": [(PaymentAgreement, PaymentAgreement.case_id == cid),
                       (PlanPayment, PlanPayment.plan_id == PaymentAgreement.id)],
        "direct_debits": [(DirectDebitAccount, DirectDebitAccount.case_id == cid)],
        "applications": [(DirectDebitApplication, DirectDebitApplication.case_id == cid),
                         (DirectDebitStep, DirectDebitStep.application_id == DirectDebitApplication.id),
                         (step_recorder, step_recorder.id == DirectDebitStep.recorded_by)],
        "contacts": [(ContactRecord, ContactRecord.case_id == cid)],
        "documents": [(IssuedDocument, IssuedDocument.case_id == cid),
                      (LetterBatch, LetterBatch.id == IssuedDocument.batch_id)],
        "calls": [(CallRecord, CallRecord.case_id == cid)],
        "statuses": [(StatusPeriod, StatusPeriod.case_id == cid),
                     (recorder, recorder.id == StatusPeriod.recorded_by)],
        "reports": [(SurveyReport, SurveyReport.target_id.in_(
            select(SurveyTarget.id).where(SurveyTarget.case_id == cid).scalar_subquery()))],
    }


#: The slots whose child rows PostgreSQL loads in a second statement, by the
#: parents' ids: slot -> (child slot, the parents' class, the child's parent key).
_SPLIT = {"assessments": ("installments", Assessment, "assessment_ids"),
          "agreements": ("plan_payments", PaymentAgreement, "plan_ids"),
          "applications": ("steps", DirectDebitApplication, "application_ids")}


def _split_slots(every: dict[str, list]) -> dict[str, list]:
    """The slots of :data:`_SPLIT` cut after their parent, and their child
    slots: the children restricted to the parents' ids (an expanding IN)."""
    cut = dict(every)
    for name, (child, _, ids) in _SPLIT.items():
        (parent, on), (first, first_on), *rest = every[name]
        fk = first_on.left if first_on.right.table is parent.__table__ else first_on.right
        cut[name] = [(parent, on)]
        cut[child] = [(first, fk.in_(bindparam(ids, expanding=True))), *rest]
    return cut


@functools.lru_cache(maxsize=128)
def _statement(names: tuple[str, ...], split: bool = False):
    """The statement of the slots ``names``, built once per process (building
    it costs more than running it) and its entities, in column order."""
    recorder, step_recorder = aliased(User), aliased(User)
    every = _slots(recorder, step_recorder)
    if split:
        every = _split_slots(every)
    parts = {name: every[name] for name in names}
    # slot numbers are constants in the SQL, not parameters: PostgreSQL then
    # plans the statement in about 3 ms instead of 7-9 (demo data, issue 21)
    number = lambda n: literal_column(str(n), Integer)  # noqa: E731
    slots = union_all(*(select(number(n).label("k")) for n in range(len(parts)))).subquery("slots")
    entities = [entity for part in parts.values() for entity, _ in part]
    stmt = select(slots.c.k, *entities).select_from(slots)
    for n, part in enumerate(parts.values()):
        for entity, on in part:
            stmt = stmt.outerjoin(entity, and_(slots.c.k == number(n), on))
    # where the rows go: the class, or the alias's name for the two user aliases
    keys = [{recorder: "recorder", step_recorder: "step_recorder"}.get(e, e) for e in entities]
    # the rows' own joined relationships (a user's organisation) are not
    # shown, and of a recorder only the name is (not the whole account row)
    options = [lazyload("*")] + [load_only(user.display_name) for user in (recorder, step_recorder)
                                 if user in entities]
    return stmt.options(*options), entities, keys


def _wanted(case, facets) -> list[str]:
    facets = set(facets)
    unloaded, t_unloaded = inspect(case).unloaded, inspect(case.taxpayer).unloaded
    names = []
    if Facet.contact in facets:
        names += [n for n, a in (("phones", "phones"), ("mailing", "mailing_address"))
                  if a in t_unloaded]
    if Facet.foreign_resident in facets and "foreign_resident" in t_unloaded:
        names.append("foreign")
    if Facet.corporation in facets and "corporation" in t_unloaded:
        names.append("corporation")
    if Facet.representative in facets and "representatives" in t_unloaded:
        names.append("representatives")
    if {Facet.assessment, Facet.payment} & facets and "assessments" in unloaded:
        names.append("assessments")
    if Facet.payment in facets and "agreements" in unloaded:
        names.append("agreements")
    if {Facet.bank_account, Facet.bank_flag} & facets and "direct_debits" in unloaded:
        names.append("direct_debits")
    if Facet.bank_flag in facets:
        names.append("applications")
    if Facet.negotiation in facets:
        if "contacts" in unloaded:
            names.append("contacts")
        names.append("documents")
    if Facet.call_log in facets and "calls" in unloaded:
        names.append("calls")
    if Facet.staff in facets:
        names.append("statuses")
    if Facet.survey in facets:
        names.append("reports")
    return names


def load(request, case, facets) -> CasePage:
    page = CasePage()
    taxpayer = case.taxpayer
    parts = _wanted(case, facets)
    if not parts:
        return page
    found: dict = {}   # class or alias name -> {id(obj): obj}, in order

    def run(names, params, split):
        stmt, entities, keys = _statement(tuple(names), split)
        for key in keys:
            found.setdefault(key, {})
        for row in request.dbsession.execute(stmt, params):
            for key, obj in zip(keys, row[1:]):
                if obj is not None:
                    found[key].setdefault(id(obj), obj)

    # PostgreSQL: the child rows in a second statement, by their parents' ids
    split = request.dbsession.get_bind().dialect.name == "postgresql"
    run(parts, {"case_id": case.id, "taxpayer_id": case.taxpayer_id}, split)
    if split:
        children, params = [], {}
        for name, (child, parent, ids) in _SPLIT.items():
            if name in parts:
                params[ids] = [o.id for o in found[parent].values()]
                if params[ids]:  # no parent, no child: not asked
                    children.append(child)
        if children:
            run(children, params, split)
    for key in (Installment, Receipt, PlanPayment, DirectDebitStep, "step_recorder"):
        found.setdefault(key, {})   # (a child slot not asked)
    rows = {key: list(objs.values()) for key, objs in found.items()}
    recorder, step_recorder = "recorder", "step_recorder"

    def children(entity, parent_key, parent, key):
        return sorted((o for o in rows[entity] if getattr(o, parent_key) == parent.id), key=key)

    if "phones" in parts:
        set_committed_value(taxpayer, "phones", sorted(rows[Phone], key=lambda o: o.id))
    if "mailing" in parts:
        set_committed_value(taxpayer, "mailing_address", next(iter(rows[MailingAddress]), None))
    if "foreign" in parts:
        set_committed_value(taxpayer, "foreign_resident",
                            next(iter(rows[ForeignResidentRecord]), None))
    if "corporation" in parts:
        set_committed_value(taxpayer, "corporation", next(iter(rows[Corporation]), None))
    if "representatives" in parts:
        set_committed_value(taxpayer, "representatives",
                            sorted(rows[Representative], key=lambda o: o.id))
    if "assessments" in parts:
        for inst in rows[Installment]:
            set_committed_value(inst, "receipts", children(
                Receipt, "installment_id", inst,
                lambda o: (o.received_on is None, o.received_on or _EARLIEST, o.id)))
        for a in rows[Assessment]:
            set_committed_value(a, "installments", children(
                Installment, "assessment_id", a, lambda o: (o.period_no, o.id)))
        set_committed_value(case, "assessments",
                            sorted(rows[Assessment], key=lambda o: (o.fiscal_year, o.id)))
    if "agreements" in parts:
        for plan in rows[PaymentAgreement]:
            set_committed_value(plan, "case", case)
            set_committed_value(plan, "payments", children(
                PlanPayment, "plan_id", plan, lambda o: (o.due_on, o.id)))
        set_committed_value(case, "agreements", sorted(rows[PaymentAgreement], key=lambda o: o.id))
    if "direct_debits" in parts:
        set_committed_value(case, "direct_debits",
                            sorted(rows[DirectDebitAccount], key=lambda o: o.id))
    if "applications" in parts:
        users = {u.id: u for u in rows[step_recorder]}
        for step in rows[DirectDebitStep]:
            set_committed_value(step, "recorder", users.get(step.recorded_by))
        for application in rows[DirectDebitApplication]:
            set_committed_value(application, "steps", children(
                DirectDebitStep, "application_id", application, lambda o: o.id))
        page.applications = sorted(rows[DirectDebitApplication], key=lambda o: -o.id)
    if "contacts" in parts:
        set_committed_value(case, "contacts", sorted(
            rows[ContactRecord], key=lambda o: (o.occurred_at or _LATEST, o.id), reverse=True))
    if "documents" in parts:
        batches = {b.id: b for b in rows[LetterBatch]}
        for document in rows[IssuedDocument]:
            set_committed_value(document, "batch", batches.get(document.batch_id))
        page.documents = sorted(rows[IssuedDocument], key=lambda o: (o.issued_at, o.id), reverse=True)
    if "calls" in parts:
        set_committed_value(case, "calls", sorted(
            rows[CallRecord], key=lambda o: (o.called_at or _LATEST, o.id), reverse=True))
    if "statuses" in parts:
        users = {u.id: u for u in rows[recorder]}
        for period in rows[StatusPeriod]:  # (the identity map holds them weakly: set, not looked up)
            set_committed_value(period, "recorder", users.get(period.recorded_by))
        page.statuses = sorted(rows[StatusPeriod], key=lambda o: (o.starts_on, o.id), reverse=True)
    if "reports" in parts:
        page.reports = sorted(rows[SurveyReport], key=lambda o: (o.submitted_at, o.version),
                              reverse=True)
    page.loaded = set(parts)
    return page


def case_receipts(case) -> list[tuple[dt.date, int]] | None:
    """The case's receipts (date, amount) from its loaded assessments, or
    None when they are not loaded (the caller then asks the database)."""
    if "assessments" in inspect(case).unloaded:
        return None
    found = []
    for a in case.assessments:
        if "installments" in inspect(a).unloaded:
            return None
        for inst in a.installments:
            if "receipts" in inspect(inst).unloaded:
                return None
            found.extend((r.received_on, r.amount) for r in inst.receipts if r.received_on is not None)
    return found
