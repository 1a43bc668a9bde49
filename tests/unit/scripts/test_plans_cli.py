"""Installment plans from the command line and migration 0024 (issue 20)."""
from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig

from intranet.scripts.cli import main
from tests.unit.scripts.test_cli import _ini, _rows

SCHEDULES = ("select a.id, p.due_on, p.amount from plan_payments p "
             "join payment_agreements a on a.id = p.plan_id order by a.id, p.due_on")


def test_migration_0024_generates_the_schedules_of_existing_agreements(tmp_path, capsys):
    """Existing agreements keep their rows and get the schedule their summary
    implies (downgrade to 0023 and upgrade again: the same schedules)."""
    ini = _ini(tmp_path)
    main(["initdb", ini])
    assert main(["demo-data", ini, "--cases", "60", "--password", "Demo-Password-2026"]) == 0
    before = _rows(tmp_path, SCHEDULES)
    agreements = _rows(tmp_path, "select id, agreed_on, instalment_count from payment_agreements")
    assert agreements and len(before) == sum(count for _, _, count in agreements)
    states = {r[0] for r in _rows(tmp_path, "select state from payment_agreements where is_active")}
    assert states <= {"current", "defaulted", "completed"} and len(states) >= 2
    cfg = AlembicConfig(ini)
    cfg.attributes["configure_logging"] = False
    alembic_command.downgrade(cfg, "0023")
    assert _rows(tmp_path, "select id, agreed_on, instalment_count from payment_agreements") == agreements
    alembic_command.upgrade(cfg, "head")
    assert _rows(tmp_path, SCHEDULES) == before
    assert {r[0] for r in _rows(tmp_path, "select state from payment_agreements")} == {"current"}

    # the daily run sets the states again, and logs every change
    capsys.readouterr()
    assert main(["plans", "refresh", ini]) == 0
    out = capsys.readouterr().out
    changed = int(out.split("changed: ")[1].split()[0])
    assert changed == len(_rows(tmp_path, "select id from payment_agreements "
                                          "where is_active and state != 'current'"))
    logged = _rows(tmp_path, "select event, detail from access_log "
                             "where event in ('plan.defaulted', 'plan.state')")
    assert len(logged) == changed
    assert main(["plans", "refresh", ini]) == 0
    assert "changed: 0" in capsys.readouterr().out
