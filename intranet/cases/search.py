"""Case list and search, filtered in SQL by the principal's scopes."""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from sqlalchemy import Boolean, and_, any_, exists, func, or_, select, union
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import contains_eager
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from ..models import Assessment, Case, MailingAddress, Phone, Taxpayer
from ..paging import window
from ..params import text
from ..security.matrix import Facet
from ..text import address_key, digits, fold, phone_digits

PAGE_SIZE = 50
MAX_TERM = 100


@dataclass
class Criteria:
    case_no: str = ""
    name: str = ""      # 氏名 or カナ, width- and kana-insensitive
    phone: str = ""
    notice_no: str = ""
    address: str = ""   # 住所・方書 (and 送付先住所 with the contact facet), any notation
    taxpayer_no: str = ""  # 宛名番号, exact

    # The facet a criterion searches: nobody may search data they may not see.
    # The address searched is the identity facet's 住所・方書 (never the
    # resident_record's 区内住所 or 転入前住所); 送付先住所 only with contact.
    # The 宛名番号 is the person's key of the identity facet.
    FACETS = {"case_no": None, "name": Facet.identity, "address": Facet.identity,
              "taxpayer_no": Facet.identity, "phone": Facet.contact,
              "notice_no": Facet.assessment}

    def allowed_fields(self, facets) -> list[str]:
        return [name for name, facet in self.FACETS.items() if facet is None or facet in facets]

    def is_empty(self) -> bool:
        return not any([self.case_no, self.name, self.phone, self.notice_no, self.address,
                        self.taxpayer_no])


def read_criteria(post, names) -> tuple[Criteria, list[str]]:
    """Criteria from a submitted form's fields ``names``; over-long or
    non-text values (or with control characters) are dropped and their names
    returned as errors."""
    criteria, errors = Criteria(), []
    for name in names:
        value = text(post.get(name, ""), MAX_TERM)
        if value is None:
            errors.append(name)
            value = ""
        setattr(criteria, name, value)
    return criteria, errors


@dataclass
class Page:
    cases: list[Case]
    total: int
    number: int
    size: int = PAGE_SIZE
    #: The count stopped at ``total``: more cases match (a capped count).
    capped: bool = False
    pages: int = field(init=False)

    def __post_init__(self):
        self.pages = max(1, -(-self.total // self.size))


class InIds(ColumnElement[bool]):
    """``column IN (ids)``, ``ids`` a SELECT of one column, written
    ``column = ANY(ARRAY(ids))`` on PostgreSQL.

    PostgreSQL plans ``IN (SELECT …)`` as a join and, for a few thousand ids
    out of 220,000 cases, chose a hash join against a sequential scan of
    ``cases``; ``ARRAY(SELECT …)`` is run once (an InitPlan) and the
    ``= ANY($0)`` probes ``ix_cases_taxpayer_id`` (docs/search.md). Same rows
    either way; SQLite keeps ``IN``."""

    __visit_name__ = "in_ids"
    inherit_cache = True
    type = Boolean()
    # A condition in itself: never written ``(… IN …) = 1`` on SQLite, which
    # would keep its planner from probing the index with the IN list.
    _is_implicitly_boolean = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement),
                           ("ids", InternalTraversal.dp_clauseelement)]

    def __init__(self, column, ids):
        self.column = column
        self.ids = ids


@compiles(InIds)
def _in_ids(element, compiler, **kw):
    return compiler.process(element.column.in_(element.ids), **kw)


@compiles(InIds, "postgresql")
def _in_ids_postgresql(element, compiler, **kw):
    return compiler.process(element.column == any_(func.array(element.ids.scalar_subquery())),
                            **kw)


def address_condition(term: str, facets):
    """Cases whose taxpayer's 住所・方書 (identity), or 送付先住所 when
    ``facets`` hold contact, contain ``term`` in any notation
    (:func:`intranet.text.address_key`); None when the term has nothing to
    search. Substring LIKE on the ``search_address`` columns: the pg_trgm
    GIN indexes serve it on PostgreSQL, and the taxpayers found select their
    cases through ``ix_cases_taxpayer_id`` (:class:`InIds`)."""
    key = address_key(term)
    if not key:
        return None
    taxpayers = select(Taxpayer.id).where(Taxpayer.search_address.contains(key, autoescape=True))
    if Facet.contact in facets:
        taxpayers = union(taxpayers, select(MailingAddress.taxpayer_id).where(
            MailingAddress.search_address.contains(key, autoescape=True)))
    return InIds(Case.taxpayer_id, taxpayers)


def search_cases(dbsession, scope, facets, criteria: Criteria, page: int = 1,
                 filters=(), count_cap: int | None = None) -> Page:
    """One page of the cases in ``scope`` (a WHERE clause over Case: the
    disclosure gate's) that match ``criteria`` and the ``filters``
    (conditions over Case, :func:`intranet.cases.filters.filter_conditions`).

    Criteria on facets outside ``facets`` are ignored. ``count_cap``: count
    at most that many matches (the list then shows that many and says there
    are more): a scope of grants (the call center's entrusted cases) is
    evaluated row by row, so its full count costs the whole scope on every
    page (docs/performance.md, "Operators' case list")."""
    allowed = set(criteria.allowed_fields(facets))
    conditions = [scope, *filters]
    if criteria.case_no and "case_no" in allowed:
        conditions.append(Case.case_no.startswith(criteria.case_no.strip(), autoescape=True))
    if criteria.name and "name" in allowed:
        term = fold(criteria.name)
        by_name = Taxpayer.search_name.contains(term, autoescape=True)
        if Facet.verification in facets:  # kana is a verification item
            by_name = or_(by_name, Taxpayer.search_kana.contains(term, autoescape=True))
        conditions.append(by_name)
    if criteria.phone and "phone" in allowed:
        conditions.append(exists().where(Phone.taxpayer_id == Case.taxpayer_id,
                                         Phone.digits.contains(phone_digits(criteria.phone), autoescape=True)))
    if criteria.notice_no and "notice_no" in allowed:
        conditions.append(exists().where(Assessment.case_id == Case.id,
                                         Assessment.notice_no == digits(criteria.notice_no)))
    if criteria.address and "address" in allowed:
        by_address = address_condition(criteria.address, facets)
        if by_address is not None:
            conditions.append(by_address)
    if criteria.taxpayer_no and "taxpayer_no" in allowed:
        # Exact, after width folding (a 宛名番号 typed in full-width digits).
        conditions.append(Taxpayer.taxpayer_no
                          == unicodedata.normalize("NFKC", criteria.taxpayer_no).strip())

    where = and_(*conditions)
    # The count and the page's keys read cases alone when no condition reads
    # taxpayers (an address or phone search, a list, filters): every case has
    # its taxpayer (NOT NULL foreign key to its primary key), so the rows are
    # those of the join, without a lookup of each match's taxpayer. Only the
    # page's 50 cases are then joined to their taxpayers.
    matching = select(Case.id).where(where)
    if any(table is not Case.__table__ for table in matching.get_final_froms()):
        matching = select(Case.id).join(Case.taxpayer).where(where)
    counted = matching if count_cap is None else matching.limit(count_cap + 1)
    total = dbsession.scalar(select(func.count()).select_from(counted.subquery()))
    capped = count_cap is not None and total > count_cap
    total = count_cap if capped else total
    page = max(1, page)
    # The page's case numbers, read from the nearer end of the list
    # (intranet.paging): the last page is read backwards from the end of
    # uq_cases_case_no. Case numbers, not ids: the unique index on case_no
    # alone answers ``ORDER BY case_no`` (an index-only scan on PostgreSQL).
    part = window(page, total, PAGE_SIZE, from_end=not capped)
    cases = []
    if part is not None:
        order = Case.case_no.desc() if part.reverse else Case.case_no
        keys = (matching.with_only_columns(Case.case_no).order_by(order)
                .offset(part.offset).limit(part.limit).correlate(None))
        cases = list(dbsession.scalars(
            select(Case).join(Case.taxpayer).options(contains_eager(Case.taxpayer))
            .where(Case.case_no.in_(keys)).order_by(Case.case_no)))
    return Page(cases=cases, total=total, number=page, capped=capped)
