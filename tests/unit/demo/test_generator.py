"""The demo-data generator: deterministic, consistent, repeatable on one database."""
import datetime as dt
import re

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session, selectinload

from intranet.demo.generator import DEMO_USERS, create_demo_users, generate, split_annual
from intranet.models import (
    Assessment, Base, Case, CaseStatus, ContactRecord, Corporation, DirectDebitAccount,
    ForeignResidentRecord, Installment, MailingAddress, OrganisationKind, PaymentAgreement,
    Phone, Receipt, Representative, Residency, Role, TaxType, Taxpayer, TaxpayerKind, User,
)
from intranet.text import digits, fold

# Late in the fiscal year, so most installments are due and some cases are settled.
TODAY = dt.date(2027, 3, 15)
NOW = dt.datetime(2027, 3, 15, 1, 30)  # naive UTC (10:30 JST)
CASES = 200


def new_session() -> Session:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    return Session(engine)


def run(dbsession, **kwargs):
    kwargs = {"cases": CASES, "today": TODAY, "now": NOW, **kwargs}
    return generate(dbsession, **kwargs)


@pytest.fixture(scope="module")
def demo():
    dbsession = new_session()
    counts = run(dbsession)
    dbsession.flush()
    yield dbsession, counts
    dbsession.close()


def count(dbsession, model) -> int:
    return dbsession.scalar(select(func.count()).select_from(model))


def snapshot(dbsession):
    return list(dbsession.execute(
        select(Case.case_no, Taxpayer.name, Taxpayer.name_kana, Taxpayer.address, Case.balance,
               Case.status)
        .join(Case.taxpayer).order_by(Case.case_no)))


def test_same_seed_gives_same_data():
    first, second, other = new_session(), new_session(), new_session()
    run(first, seed=7)
    run(second, seed=7)
    run(other, seed=8)
    assert snapshot(first) == snapshot(second)
    assert len(snapshot(first)) == CASES
    assert [row.name for row in snapshot(first)] != [row.name for row in snapshot(other)]


def test_counts_match_rows(demo):
    dbsession, counts = demo
    assert counts.cases == CASES
    assert counts.users == 0
    assert counts.taxpayers == count(dbsession, Taxpayer) == CASES
    assert counts.cases == count(dbsession, Case)
    assert counts.assessments == count(dbsession, Assessment)
    assert counts.installments == count(dbsession, Installment)
    assert counts.receipts == count(dbsession, Receipt)
    assert count(dbsession, User) == 0
    # every case has at least one assessment
    assert dbsession.scalar(select(func.count(func.distinct(Assessment.case_id)))) == CASES


def test_balance_is_the_outstanding_amount(demo):
    dbsession, _ = demo
    cases = dbsession.scalars(select(Case).options(
        selectinload(Case.assessments).selectinload(Assessment.installments)
        .selectinload(Installment.receipts))).all()
    statuses = set()
    for case in cases:
        outstanding = sum(i.outstanding for a in case.assessments for i in a.installments)
        assert case.balance == outstanding, case.case_no
        assert (case.status == CaseStatus.closed) == (case.balance == 0), case.case_no
        assert (case.closed_on is not None) == (case.status == CaseStatus.closed)
        if case.closed_on:
            assert case.opened_on <= case.closed_on <= TODAY
        assert TODAY - dt.timedelta(days=365) <= case.opened_on <= TODAY
        statuses.add(case.status)
    assert statuses == {CaseStatus.open, CaseStatus.closed}


def test_installments_and_receipts(demo):
    dbsession, _ = demo
    fiscal = 2026
    for assessment in dbsession.scalars(select(Assessment).options(
            selectinload(Assessment.installments).selectinload(Installment.receipts))):
        parts = [i.tax_amount for i in assessment.installments]
        assert sum(parts) == assessment.annual_amount
        if assessment.tax_type == TaxType.resident:
            assert assessment.fiscal_year in (fiscal, fiscal - 1)
            assert [i.period_no for i in assessment.installments] == [1, 2, 3, 4]
            assert parts[1] == parts[2] == parts[3] and parts[1] % 1000 == 0
            assert parts[0] >= parts[1]
            year = assessment.fiscal_year
            assert [i.due_date for i in assessment.installments] == [
                dt.date(year, 6, 30), dt.date(year, 8, 31), dt.date(year, 10, 31),
                dt.date(year + 1, 1, 31)]
            assert 30_000 <= assessment.annual_amount <= 600_000
            assert assessment.annual_amount % 100 == 0
        else:
            assert assessment.fiscal_year == fiscal
            assert [i.due_date for i in assessment.installments] == [dt.date(fiscal, 5, 31)]
            assert assessment.plate_no and assessment.vehicle_kind and assessment.garage_address
        for installment in assessment.installments:
            assert installment.late_charge_amount % 100 == 0
            if installment.receipts:
                assert installment.due_date < TODAY
            for receipt in installment.receipts:
                assert installment.due_date < receipt.received_on <= TODAY
                assert receipt.received_on <= receipt.posted_on <= TODAY
                assert receipt.amount > 0
    notices = dbsession.scalars(select(Assessment.notice_no)).all()
    assert len(set(notices)) == len(notices)
    assert all(re.fullmatch(r"\d{10,12}", n) for n in notices)


def test_addresses(demo):
    dbsession, _ = demo
    taxpayers = dbsession.scalars(select(Taxpayer)).all()
    moved = [t for t in taxpayers if t.residency == Residency.moved_out]
    assert 0 < len(moved) < len(taxpayers) / 3
    for taxpayer in taxpayers:
        assert re.fullmatch(r"\d{3}-\d{4}", taxpayer.postal_code)
        if taxpayer.residency == Residency.moved_out:
            assert not taxpayer.address.startswith("東京都")
            assert taxpayer.ward_address.startswith("東京都新宿区")
            assert taxpayer.moved_out_on is not None and taxpayer.moved_out_on < TODAY
        else:
            assert taxpayer.address.startswith("東京都新宿区")
            assert taxpayer.moved_out_on is None


def test_taxpayer_fields(demo):
    dbsession, _ = demo
    taxpayers = dbsession.scalars(select(Taxpayer)).all()
    numbers = [t.taxpayer_no for t in taxpayers]
    assert len(set(numbers)) == len(numbers)
    kinds = {t.kind for t in taxpayers}
    assert kinds == {TaxpayerKind.individual, TaxpayerKind.corporation}
    for taxpayer in taxpayers:
        assert taxpayer.search_name == fold(taxpayer.name)
        assert taxpayer.search_kana == fold(taxpayer.name_kana)
        assert re.fullmatch(r"[\u30a0-\u30ff ]+", taxpayer.name_kana), taxpayer.name_kana
        if taxpayer.kind == TaxpayerKind.individual:
            assert " " in taxpayer.name
            assert dt.date(1940, 1, 1) <= taxpayer.birth_date <= dt.date(2004, 12, 31)
            assert taxpayer.gender in ("男", "女")
            assert taxpayer.household_no and taxpayer.head_of_household
            assert taxpayer.became_resident_on <= taxpayer.address_since
            assert taxpayer.birth_date <= taxpayer.became_resident_on
        else:
            assert taxpayer.corporation is not None
    households = dbsession.execute(
        select(Taxpayer.household_no).group_by(Taxpayer.household_no)
        .having(func.count() == 2)).scalars().all()
    assert households
    for household_no in households:
        members = dbsession.scalars(select(Taxpayer).where(
            Taxpayer.household_no == household_no).order_by(Taxpayer.id)).all()
        assert members[0].relationship_to_head == "本人"
        assert members[1].head_of_household == members[0].name
        assert members[1].address == members[0].address
        shared = {p.digits for p in members[0].phones} & {p.digits for p in members[1].phones}
        assert shared
    for model in (Corporation, ForeignResidentRecord, MailingAddress, PaymentAgreement,
                  DirectDebitAccount, ContactRecord):
        assert count(dbsession, model) > 0, model
    assert count(dbsession, Representative) >= 0


def test_phone_digits(demo):
    dbsession, _ = demo
    phones = dbsession.scalars(select(Phone)).all()
    assert phones
    for phone in phones:
        assert phone.digits == digits(phone.number) == re.sub(r"\D", "", phone.number)
        assert 10 <= len(phone.digits) <= 11
    with_phone = dbsession.scalar(select(func.count(func.distinct(Phone.taxpayer_id))))
    assert 0.6 * CASES < with_phone < 0.95 * CASES


def test_contacts_are_in_the_past(demo):
    dbsession, _ = demo
    for record in dbsession.scalars(select(ContactRecord)):
        assert record.occurred_at < NOW
        assert record.content and record.staff_name


def test_second_run_adds_cases():
    dbsession = new_session()
    run(dbsession, cases=60)
    counts = run(dbsession, cases=40)
    assert counts.cases == 40
    assert count(dbsession, Case) == count(dbsession, Taxpayer) == 100
    numbers = dbsession.scalars(select(Case.case_no).order_by(Case.case_no)).all()
    assert numbers == [f"2027-{n:06d}" for n in range(1, 101)]
    for column in (Taxpayer.taxpayer_no, Assessment.notice_no):
        values = dbsession.scalars(select(column)).all()
        assert len(set(values)) == len(values)
    # the second batch is other people, not a copy of the first
    names = dbsession.scalars(select(Taxpayer.name).order_by(Taxpayer.id)).all()
    assert names[60:] != names[:40]
    # and every row still belongs to an existing parent
    orphan = select(func.count()).select_from(Installment).where(
        Installment.assessment_id.not_in(select(Assessment.id)))
    assert dbsession.scalar(orphan) == 0


def test_split_annual():
    assert split_annual(123_400) == [33_400, 30_000, 30_000, 30_000]
    assert split_annual(30_000) == [9_000, 7_000, 7_000, 7_000]
    assert sum(split_annual(599_900)) == 599_900


def test_create_demo_users():
    dbsession = new_session()
    users = create_demo_users(dbsession, "hash", NOW)
    assert len(users) == len(DEMO_USERS) == 8
    by_login = {u.login: u for u in dbsession.scalars(select(User))}
    assert sorted(by_login) == sorted(login for login, *_ in DEMO_USERS)
    expected = {
        "collector1": (Role.collector, "ward", OrganisationKind.ward, True),
        "collector2": (Role.collector, "ward", OrganisationKind.ward, False),
        "operator1": (Role.operator, "callcenter", OrganisationKind.contractor, False),
        "operator2": (Role.operator, "callcenter", OrganisationKind.contractor, False),
        "leader1": (Role.operator, "callcenter", OrganisationKind.contractor, False),
        "contractor1": (Role.contractor, "servicer", OrganisationKind.contractor, False),
        "contractor2": (Role.contractor, "servicer", OrganisationKind.contractor, False),
        "auditor1": (Role.auditor, "audit", OrganisationKind.auditor, False),
    }
    for login, (role, org, kind, supervisor) in expected.items():
        user = by_login[login]
        assert (user.role, user.organisation.code, user.organisation.kind, user.is_supervisor) \
            == (role, org, kind, supervisor)
        assert user.password_hash == "hash" and user.created_at == NOW
        assert user.is_valid_at(NOW)
        assert user.display_name and " " in user.display_name
        if role in (Role.contractor, Role.operator):
            # named handlers of their organisation's contract (issue 25): its period
            assert user.contract is not None and user.contract.organisation_id == user.organisation_id
            assert user.contract.kind == ("call_center" if role == Role.operator else "field_survey")
            assert (user.valid_from, user.valid_until) == user.contract.window()
            assert user.valid_from < NOW < user.valid_until
            assert not user.is_valid_at(NOW + dt.timedelta(days=365))
            from intranet.contracts.rules import ContractSettings, login_failure
            assert login_failure(dbsession, user, NOW, ContractSettings()) is None
        else:
            assert user.valid_from is None and user.valid_until is None and user.contract is None
    assert "supervisor" in by_login["collector1"].__principals__()
    # The call center's 責任者 (seed 000, 委託の内容8 日報・月報): only leader1.
    assert [u.login for u in users if "team_leader" in u.__principals__()] == ["leader1"]
    # Every outsourced demo user has a current training record (demo logins keep working).
    from intranet.accounts import training

    for user in users:
        standing = training.standing(dbsession, user, NOW.date())
        if user.role in (Role.operator, Role.contractor):
            assert standing.state == training.State.ok and standing.next_due > NOW.date()
        else:
            assert standing.state == training.State.missing  # ward staff and auditors need none
    # demo data does not touch users
    run(dbsession, cases=5)
    assert count(dbsession, User) == 8


def test_late_charges_come_from_the_law_engine(demo):
    """A demo 延滞金 receipt is what intranet.taxes.latecharge computes for the
    tax paid late (地方税法326条, 附則3条の2 rates, 20条の4の2 cuts: never
    under 1,000 yen, always whole 100 yen), not a flat 8.7% (issue 21)."""
    from intranet.taxes.latecharge import late_charge
    from intranet.taxes.rates import RATES

    dbsession, _ = demo
    last_known = dt.date(max(RATES), 12, 31)
    checked = 0
    for installment in dbsession.scalars(select(Installment).options(
            selectinload(Installment.receipts))):
        charges = [r for r in installment.receipts if r.kind == "late_charge"]
        if not charges:
            continue
        paid_on = max(r.received_on for r in installment.receipts if r.kind == "tax")
        expected = late_charge(installment.tax_amount, installment.due_date,
                               min(paid_on, last_known)).amount
        assert [r.amount for r in charges] == [expected]
        assert expected >= 1000 and expected % 100 == 0
        checked += 1
    assert checked >= 3, "the demo should hold some late-charge receipts"
