"""Migration 0031: checklist snapshots. Checklists completed before it get
no snapshot (NULL: what they showed then cannot be known, and today's
records must not be passed off as it); their results and notes survive the
table rebuilds, and the result CHECK constraint still holds. On SQLite: a
checklist is made through today's models at head, the schema is taken back
to 0028 (dropping the columns) and 0031 applied again."""
import datetime as dt

import pytest
import sqlalchemy as sa
from alembic import command

from tests.functional.test_migration_0025 import _config


def test_checklists_completed_before_keep_no_snapshot(tmp_path, password_context):
    from sqlalchemy.orm import Session

    from intranet.audit import checklist as cl
    from intranet.models import CheckResult, Organisation, OrganisationKind, Role
    from tests import factories

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    cfg = _config(url)
    command.upgrade(cfg, "head")
    engine = sa.create_engine(url)
    with Session(engine) as session:
        clerk = factories.user(session, password_context, Role.auditor, login="audit")
        org = Organisation(code="c", name="委託先", kind=OrganisationKind.contractor)
        session.add(org)
        session.flush()
        done = cl.create(session, organisation=org, inspected_on=dt.date(2026, 11, 20), contract=None,
                         user=clerk, now=dt.datetime(2026, 11, 20, 1))
        results = {row.code: CheckResult.met for row in done.items}
        results["training"] = CheckResult.not_met
        cl.complete(done, cl.Answers(inspectors="監査 一", results=results, notes={"training": "1名未受講"}),
                    clerk, dt.datetime(2026, 11, 20, 3), dt.date(2026, 11, 20))
        draft = cl.create(session, organisation=org, inspected_on=dt.date(2026, 11, 27), contract=None,
                          user=clerk, now=dt.datetime(2026, 11, 27, 1))
        ids = {"done": done.id, "draft": draft.id, "items": len(done.items)}
        session.commit()
    with engine.connect() as conn:  # at head, completion kept the evidence
        assert conn.scalar(sa.text("SELECT count(*) FROM inspection_checklist_items "
                                   "WHERE evidence_snapshot IS NOT NULL")) == ids["items"]
    engine.dispose()

    command.downgrade(cfg, "0028")
    with engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("inspection_checklist_items")}
        assert "evidence_snapshot" not in columns and "note" in columns
    engine.dispose()
    command.upgrade(cfg, "0031")
    with engine.connect() as conn:
        checklists = {r.id: r for r in conn.execute(sa.text(
            "SELECT id, completed_at, evidence_taken_at FROM inspection_checklists"))}
        items = conn.execute(sa.text(
            "SELECT checklist_id, code, result, note, evidence_snapshot FROM inspection_checklist_items")).all()
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
        with pytest.raises(sa.exc.IntegrityError):  # the result's CHECK constraint survived the rebuild
            conn.execute(sa.text("UPDATE inspection_checklist_items SET result = 'maybe'"))
    engine.dispose()
    assert checklists[ids["done"]].completed_at is not None
    assert {c.evidence_taken_at for c in checklists.values()} == {None}  # never recomputed
    assert {i.evidence_snapshot for i in items} == {None}
    mine = {i.code: (i.result, i.note) for i in items if i.checklist_id == ids["done"]}
    assert len(mine) == ids["items"] and mine["training"] == ("not_met", "1名未受講")
