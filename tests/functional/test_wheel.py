"""The installable package (issue 24): the wheel carries the migrations,
templates and static files. Built from a copy of the sources, installed
into a new virtualenv, it migrates a new database with ``intranet initdb``
run from another directory, with the ini elsewhere again, and serves the
login page, its stylesheet and the health page; nothing is read from the checkout.

The new virtualenv takes the third-party dependencies from this one's
site-packages (a ``.pth`` line: no download in the tests); the checkout's
own editable install is not visible there (``.pth`` files of that directory
are not processed), and the test asserts where ``intranet`` comes from."""
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(*args, cwd, env=None):
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=600)
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_wheel_installs_migrates_and_serves_outside_the_checkout(tmp_path):
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", "*.sqlite", "*.jsonl",
        "node_modules", ".pytest_cache"))
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
         "-w", tmp_path / "dist", source, cwd=tmp_path)
    (wheel,) = (tmp_path / "dist").glob("intranet-*.whl")
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    assert "intranet/migrations/env.py" in names and "intranet/migrations/script.py.mako" in names
    assert any(n.startswith("intranet/migrations/versions/0039_") for n in names)
    assert {"intranet/static/app.css", "intranet/static/jobs.js",
            "intranet/templates/layout/base.jinja2", "intranet/screening/terms.txt"} <= names

    target = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    python = target / "bin" / "python"
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                     cwd=tmp_path).strip())
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--quiet", wheel,
         cwd=tmp_path)

    etc, elsewhere = tmp_path / "etc", tmp_path / "elsewhere"
    etc.mkdir()
    elsewhere.mkdir()
    ini = etc / "site.ini"
    ini.write_text(textwrap.dedent(f"""\
        [app:main]
        use = egg:intranet
        sqlalchemy.url = sqlite:///{tmp_path / 'db' / 'intranet.sqlite'}
        intranet.audit.hmac_key = wheel-test-access-log-key-0123456789
        intranet.audit.checkpoint_file = {tmp_path / 'checkpoints.jsonl'}
        intranet.zones.monitoring = 127.0.0.1
        pyramid.default_locale_name = ja

        [alembic]
        # (ignored by `intranet initdb`, which uses the package's migrations)
        script_location = alembic
        """))
    (tmp_path / "db").mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    where = _run(python, "-c", "import intranet; print(intranet.__file__)", cwd=elsewhere, env=env)
    assert where.startswith(str(site)), where
    _run(target / "bin" / "intranet", "initdb", ini, cwd=elsewhere, env=env)
    served = _run(python, "-c", textwrap.dedent(f"""\
        from pyramid.paster import get_app
        from webob import Request
        app = get_app({str(ini)!r})
        page = Request.blank("/login").get_response(app)
        css = Request.blank("/static/app.css").get_response(app)
        health = Request.blank("/healthz", remote_addr="127.0.0.1").get_response(app)
        print(page.status_int, css.status_int, "login-form" in page.text, len(css.body),
              health.json["database"]["status"])
        """), cwd=elsewhere, env=env)
    status, css_status, has_form, css_bytes, database = served.split()
    assert (status, css_status, has_form) == ("200", "200", "True") and int(css_bytes) > 100
    assert database == "ok"  # the monitoring network's health page (no worker runs: 503)
