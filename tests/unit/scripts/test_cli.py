"""The ``intranet`` command against a throwaway SQLite database."""
import sqlalchemy as sa

from intranet.scripts.cli import main


def _ini(tmp_path):
    ini = tmp_path / "test.ini"
    ini.write_text(f"""
[app:main]
use = egg:intranet
sqlalchemy.url = sqlite:///{tmp_path}/cli.sqlite
intranet.argon2.time_cost = 1
intranet.argon2.memory_cost = 64
intranet.audit.hmac_key = cli-test-access-log-key-0123456789abcdef
intranet.audit.checkpoint_file = {tmp_path}/checkpoints.jsonl

[alembic]
script_location = intranet:migrations
""")
    return str(ini)


def _rows(tmp_path, sql):
    engine = sa.create_engine(f"sqlite:///{tmp_path}/cli.sqlite")
    with engine.connect() as conn:
        return conn.execute(sa.text(sql)).all()


def test_initdb_then_create_user(tmp_path, capsys):
    ini = _ini(tmp_path)
    assert main(["initdb", ini]) == 0
    assert main(["initdb", ini]) == 0  # idempotent
    assert main(["create-user", ini, "yamada", "--role", "collector", "--name", "山田 花子",
                 "--supervisor", "--password", "Correct-Horse-42"]) == 0
    rows = _rows(tmp_path, "select login, role, is_supervisor, password_hash from users")
    assert rows[0][:3] == ("yamada", "collector", 1)
    assert rows[0][3].startswith("$argon2id$")
    assert main(["create-user", ini, "YAMADA", "--role", "auditor", "--password", "Correct-Horse-42"]) == 2
    assert "already exists" in capsys.readouterr().err


def test_create_user_enforces_the_password_policy(tmp_path, capsys):
    ini = _ini(tmp_path)
    main(["initdb", ini])
    assert main(["create-user", ini, "sato", "--role", "operator", "--password", "short"]) == 2
    err = capsys.readouterr().err
    assert "12文字以上" in err and "at least 12" in err
    assert _rows(tmp_path, "select count(*) from users")[0][0] == 0


def test_create_user_refuses_a_supervisor_flag_the_matrix_does_not_honour(tmp_path, capsys):
    """Only collectors may carry the supervisor flag (matrix.SUPERVISOR_ROLES);
    on another role it would be stored and ignored, so it is refused."""
    ini = _ini(tmp_path)
    main(["initdb", ini])
    assert main(["create-user", ini, "sato", "--role", "operator", "--supervisor",
                 "--password", "Correct-Horse-42"]) == 2
    err = capsys.readouterr().err
    assert "徴収職員" in err and "Only collectors" in err
    assert _rows(tmp_path, "select count(*) from users")[0][0] == 0


def test_create_user_team_leader_only_on_operators(tmp_path, capsys):
    """The call center's 責任者 (seed 000, 委託の内容8 「日報、月報等の作成」) is an
    operator flag (matrix.TEAM_LEADER_ROLES); on another role it is refused,
    in both languages, and nothing is stored."""
    ini = _ini(tmp_path)
    main(["initdb", ini])
    assert main(["create-user", ini, "kato", "--role", "collector", "--team-leader",
                 "--password", "Correct-Horse-42"]) == 2
    err = capsys.readouterr().err
    assert "責任者の指定はコールセンターのオペレーター" in err and "Only call-center operators" in err
    assert _rows(tmp_path, "select count(*) from users")[0][0] == 0
    assert main(["create-user", ini, "leader", "--role", "operator", "--org", "cc", "--org-kind",
                 "contractor", "--team-leader", "--password", "Correct-Horse-42"]) == 0
    assert _rows(tmp_path, "select login, is_team_leader, is_supervisor from users") == [("leader", 1, 0)]


def _app_requests(ini, count):
    """``count`` anonymous requests through the app built from ``ini``."""
    import webtest
    from pyramid.paster import get_app

    app = get_app(ini)
    client = webtest.TestApp(app)
    for _ in range(count):
        client.get("/login")
    app.registry["db_engine"].dispose()


def test_audit_verify_checkpoint_and_tampering(tmp_path, capsys):
    ini = _ini(tmp_path)
    main(["initdb", ini])
    _app_requests(ini, 5)
    checkpoints = tmp_path / "checkpoints.jsonl"
    assert checkpoints.exists()  # the app wrote its first checkpoint itself
    assert main(["audit", "checkpoint", ini]) == 0
    assert '"seq": 5' in checkpoints.read_text().splitlines()[-1]
    assert main(["audit", "verify", ini]) == 0
    assert main(["audit", "verify", ini, "--from-checkpoint", str(checkpoints)]) == 0
    assert "OK: 5 entries verified" in capsys.readouterr().out

    # an insider removes the newest entries (triggers dropped) and the DB checkpoint
    engine = sa.create_engine(f"sqlite:///{tmp_path}/cli.sqlite")
    with engine.begin() as conn:
        for table in ("access_log", "access_log_checkpoints"):
            conn.exec_driver_sql(f"DROP TRIGGER {table}_no_delete")
            conn.exec_driver_sql(f"DROP TRIGGER {table}_no_update")
        conn.exec_driver_sql("DROP TRIGGER access_log_retention")  # alembic 0018
        conn.exec_driver_sql("DELETE FROM access_log WHERE seq >= 4")
        conn.exec_driver_sql("DELETE FROM access_log_checkpoints")
    engine.dispose()
    assert main(["audit", "verify", ini]) == 0  # the database alone cannot tell
    assert main(["audit", "verify", ini, "--from-checkpoint", str(checkpoints)]) == 1
    err = capsys.readouterr().err
    assert "BROKEN: 1 finding," in err and "seq 4-5: truncated" in err and "末尾の削除" in err

    # ... or edits an entry in the middle
    with sa.create_engine(f"sqlite:///{tmp_path}/cli.sqlite").begin() as conn:
        conn.exec_driver_sql("UPDATE access_log SET client_addr = '10.6.6.6' WHERE seq = 2")
    assert main(["audit", "verify", ini]) == 1
    err = capsys.readouterr().err
    assert "BROKEN: 1 finding," in err and "seq 2: mismatch" in err  # 3 still verifies


def test_audit_verify_rejects_an_unreadable_checkpoint_file(tmp_path, capsys):
    ini = _ini(tmp_path)
    main(["initdb", ini])
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    assert main(["audit", "verify", ini, "--from-checkpoint", str(bad)]) == 2
    assert "not a checkpoint line" in capsys.readouterr().err


def test_audit_archive_refuses_young_entries_and_bad_dates(tmp_path, capsys):
    ini = _ini(tmp_path)
    main(["initdb", ini])
    _app_requests(ini, 3)
    out = str(tmp_path / "archive.jsonl")
    assert main(["audit", "archive", ini, "--before", "2026-01-01", "--output", out, "--execute"]) == 1
    assert "保存期間" in capsys.readouterr().err
    assert main(["audit", "archive", ini, "--before", "yesterday", "--output", out]) == 2
    assert main(["audit", "archive", ini, "--before", "2001-01-01", "--output", out]) == 0
    assert "nothing to archive" in capsys.readouterr().out
    assert _rows(tmp_path, "select count(*) from access_log")[0][0] == 3


def test_demo_data_loads_users_cases_and_an_active_campaign(tmp_path, capsys):
    ini = _ini(tmp_path)
    main(["initdb", ini])
    assert main(["demo-data", ini, "--cases", "40", "--password", "Demo-Password-2026"]) == 0
    assert "a call campaign of" in capsys.readouterr().out
    logins = {r[0] for r in _rows(tmp_path, "select login from users")}
    assert {"collector1", "operator1", "contractor1", "auditor1"} <= logins
    assert _rows(tmp_path, "select count(*) from cases")[0][0] == 40
    (status, targets), = _rows(tmp_path, "select c.status, count(t.id) from call_campaigns c "
                                         "join call_targets t on t.campaign_id = c.id group by c.id")
    assert status == "active" and targets > 10
    # The call center's paperwork (issue 25): its training plan, whose course
    # the demo operators completed, and its leader's open incident report on
    # a case of the demo campaign.
    [(plan_org, courses, completed)] = _rows(tmp_path, (
        "select o.code, count(distinct c.id), count(r.id) from training_plans p "
        "join organisations o on o.id = p.organisation_id join training_courses c on c.plan_id = p.id "
        "left join training_records r on r.course_id = c.id group by o.code"))
    assert (plan_org, courses, completed) == ("callcenter", 1, 3)   # operator1, operator2, leader1
    [(filer, state, kind, in_campaign)] = _rows(tmp_path, (
        "select u.login, i.state, i.kind, (select count(*) from incident_cases ic "
        "join campaign_cases cc on cc.case_id = ic.case_id where ic.incident_id = i.id) "
        "from incidents i join users u on u.id = i.filed_by"))
    assert (filer, state, kind, in_campaign) == ("leader1", "filed", "wrong_person", 1)
    assert main(["demo-data", ini, "--if-empty"]) == 0
    assert "already present" in capsys.readouterr().out


def test_late_charge_needs_no_database_and_prints_json(capsys):
    import json

    assert main(["late-charge", "--tax", "100000", "--due", "2024-07-01", "--paid", "2025-02-10",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["late_charge"] == 4800
    assert [(s["from"], s["to"], s["days"], s["rate"], s["amount"]) for s in out["segments"]] == [
        ("2024-07-02", "2024-08-01", 31, "2.4", 203),
        ("2024-08-02", "2024-12-31", 152, "8.7", 3623),
        ("2025-01-01", "2025-02-10", 41, "8.7", 977),
    ]
    assert main(["late-charge", "--tax", "100000", "--due", "2024-07-01", "--paid", "2025-02-10",
                 "--partial", "2024-10-31:60000"]) == 0
    assert "延滞金" in capsys.readouterr().out
    assert main(["late-charge", "--tax", "100000", "--due", "2005-07-01", "--paid", "2006-02-10"]) == 2
    assert "no late-charge rate" in capsys.readouterr().err


def test_import_command_all_or_nothing(tmp_path, capsys):
    ini = _ini(tmp_path)
    main(["initdb", ini])
    src = tmp_path / "in"
    src.mkdir()
    (src / "taxpayers.csv").write_bytes(
        "taxpayer_no,kind,name,name_kana,postal_code,address,address_extra,residency,birth_date,gender,household_no\n"
        "T1,individual,取込 太郎,トリコミ タロウ,160-0022,東京都新宿区新宿1-1-1,,ward,S50.1.1,男,\n".encode("cp932"))
    (src / "cases.csv").write_text(
        "case_no,taxpayer_no,opened_on,delinquency_category,assigned_staff\n"
        "2026-000001,T1,R8.7.1,現年,\n2026-000002,T9,R8.7.1,,\n", encoding="utf-8")
    assert main(["import", ini, str(src)]) == 1
    err = capsys.readouterr().err
    assert "cases.csv:3 [taxpayer_no]" in err and "親データ" in err and "何も取り込んでいません" in err
    assert _rows(tmp_path, "select count(*) from taxpayers")[0][0] == 0
    (src / "cases.csv").write_text(
        "case_no,taxpayer_no,opened_on,delinquency_category,assigned_staff\n"
        "2026-000001,T1,R8.7.1,現年,\n", encoding="utf-8")
    assert main(["import", ini, str(src), "--dry-run"]) == 0
    assert "dry run" in capsys.readouterr().out
    assert _rows(tmp_path, "select count(*) from taxpayers")[0][0] == 0
    assert main(["import", ini, str(src)]) == 0
    captured = capsys.readouterr()
    assert "cases: 1 added" in captured.out
    # the progress bar went through every step: 2 files read, the check, each
    # import step, balances
    from intranet.datalink.importer import STEPS

    total = 2 + 1 + len(STEPS) + 1
    assert "recomputing balances: 100%" in captured.err and f"{total}/{total}" in captured.err
    assert _rows(tmp_path, "select name, birth_date from taxpayers") == [("取込 太郎", "1975-01-01")]


def test_a_200_mb_file_is_refused_unread_and_nothing_changes(tmp_path, capsys):
    """A real 200 MB file on disk, and the same as a member of a small zip."""
    import zipfile

    ini = _ini(tmp_path)
    main(["initdb", ini])
    src = tmp_path / "in"
    src.mkdir()
    header = "taxpayer_no,kind,name,name_kana,postal_code,address,address_extra,residency,birth_date,gender,household_no\n"
    line = "T1,individual,取込 太郎,トリコミ タロウ,160-0022,東京都新宿区新宿1-1-1,,ward,S50.1.1,男,\n".encode()
    big = src / "taxpayers.csv"
    with big.open("wb") as out:
        out.write(header.encode())
        chunk = line * (1024 * 1024 // len(line))
        while out.tell() < 200 * 1024 * 1024:
            out.write(chunk)
    (src / "cases.csv").write_text("case_no,taxpayer_no,opened_on,delinquency_category,assigned_staff\n"
                                   "2026-000001,T1,R8.7.1,現年,\n", encoding="utf-8")
    assert main(["import", ini, str(src)]) == 1
    err = capsys.readouterr().err
    assert "taxpayers.csv:0 ファイルが大きすぎます" in err and "何も取り込んでいません" in err
    archive = tmp_path / "in.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.write(big, "in/taxpayers.csv")
    assert archive.stat().st_size < 20 * 1024 * 1024
    assert main(["import", ini, str(archive)]) == 1
    assert "taxpayers.csv:0 ファイルが大きすぎます" in capsys.readouterr().err
    assert _rows(tmp_path, "select count(*) from taxpayers")[0][0] == 0
    assert _rows(tmp_path, "select count(*) from cases")[0][0] == 0


def test_export_command_writes_a_zip_and_records_it(tmp_path, capsys):
    import zipfile

    ini = _ini(tmp_path)
    main(["initdb", ini])
    out = tmp_path / "export.zip"
    assert main(["export", ini, "--output", str(out)]) == 0
    assert "call_results.csv 0" in capsys.readouterr().out
    assert set(zipfile.ZipFile(out).namelist()) == {
        "call_results.csv", "handovers.csv", "promises.csv", "documents.csv", "survey_results.csv"}
    assert main(["export", ini, "--output", str(out)]) == 2  # never overwrites
    assert _rows(tmp_path, "select count(*) from data_exports")[0][0] == 1


def test_export_command_refuses_characters_cp932_cannot_hold(tmp_path, capsys):
    """CP932 by default: a hand-over reason with 𠮷 (U+20BB7) is listed by file,
    line, column, key and code point (never the character: stderr may be
    kept), no file is written and nothing recorded; --encoding utf-8 exports."""
    import datetime as dt
    import zipfile

    from sqlalchemy.orm import Session

    from intranet.models import Handover, HandoverStatus
    from tests import factories

    ini = _ini(tmp_path)
    main(["initdb", ini])
    engine = sa.create_engine(f"sqlite:///{tmp_path}/cli.sqlite")
    with Session(engine) as session:
        case = factories.case(session, phone=None)
        session.flush()
        session.add(Handover(case_id=case.id, reason="𠮷田さんから電話", created_by=1,
                             created_at=dt.datetime.now() - dt.timedelta(minutes=1),
                             status=HandoverStatus.open))
        session.commit()
        case_no = case.case_no
    out = tmp_path / "export.zip"
    assert main(["export", ini, "--output", str(out)]) == 1
    err = capsys.readouterr().err
    assert "handovers.csv:2 [reason] 1 U+20BB7" in err and "𠮷" not in err
    assert "--encoding utf-8" in err
    assert not out.exists()
    assert _rows(tmp_path, "select count(*) from data_exports")[0][0] == 0
    assert main(["export", ini, "--output", str(out), "--encoding", "utf-8"]) == 0
    text = zipfile.ZipFile(out).read("handovers.csv").decode("utf-8-sig")
    assert "𠮷田さんから電話" in text and case_no in text
    assert _rows(tmp_path, "select count(*) from data_exports")[0][0] == 1


def test_create_user_with_a_temporary_password_and_reset_password(tmp_path, capsys):
    """As in the admin pages: a temporary password must be changed at the
    first login; both commands are logged, never with the password."""
    ini = _ini(tmp_path)
    main(["initdb", ini])
    assert main(["create-user", ini, "kato", "--role", "collector", "--temporary",
                 "--password", "Correct-Horse-42"]) == 0
    assert main(["create-user", ini, "ito", "--role", "operator", "--team-leader", "--org", "cc",
                 "--org-kind", "contractor", "--generate"]) == 0
    out = capsys.readouterr().out
    generated = out.rsplit(": ", 1)[1].strip()
    assert len(generated) == 19
    rows = dict(_rows(tmp_path, "select login, must_change_password from users"))
    assert rows == {"kato": 1, "ito": 1}
    assert _rows(tmp_path, "select is_team_leader from users where login = 'ito'")[0][0] == 1
    assert main(["create-user", ini, "sato", "--role", "collector", "--team-leader",
                 "--password", "Correct-Horse-42"]) == 2
    assert "責任者" in capsys.readouterr().err
    assert main(["reset-password", ini, "KATO"]) == 0
    reset = capsys.readouterr().out.rsplit(": ", 1)[1].strip()
    assert main(["reset-password", ini, "nobody"]) == 2
    events = _rows(tmp_path, "select event, login, detail from access_log where kind = 'event'")
    assert [(e, login) for e, login, _ in events] == [
        ("user.created", "kato"), ("user.created", "ito"), ("user.password_reset", "kato")]
    assert not any(p in (d or "") for _, _, d in events for p in (generated, reset, "Correct-Horse-42"))


def test_initdb_brings_the_access_log_tree_up_to_date(tmp_path, capsys):
    """After an upgrade that added the Merkle tree (issue 22) the tree of an
    existing log is built by initdb, not by the first request."""
    import datetime as dt

    from intranet.audit.writer import AccessLogWriter
    from tests.helpers import synthetic_entry

    ini = _ini(tmp_path)
    assert main(["initdb", ini]) == 0
    engine = sa.create_engine(f"sqlite:///{tmp_path}/cli.sqlite")
    AccessLogWriter(engine, b"cli-test-access-log-key-0123456789abcdef").append(
        [synthetic_entry(dt.datetime(2026, 10, 1, 9) + dt.timedelta(minutes=n), "u", "org") for n in range(25)])
    engine.dispose()
    capsys.readouterr()
    assert main(["initdb", ini]) == 0
    assert "Merkle tree extended by 25 entries to 25" in capsys.readouterr().out
    assert _rows(tmp_path, "select count(*) from access_log_leaves")[0][0] == 25
    assert main(["initdb", ini]) == 0
    assert "Merkle tree" not in capsys.readouterr().out
