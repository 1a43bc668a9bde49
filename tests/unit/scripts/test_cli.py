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

[alembic]
script_location = {__file__.rsplit('/tests/', 1)[0]}/alembic
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
