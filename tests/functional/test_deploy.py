"""The reference deployment (issue 24, docs/deploy.md): every file of
``deploy/`` is checked here, and the guide cannot drift from them.

* The systemd units run commands that exist (``intranet <sub> --help`` with
  the options they use), on the paths production.ini names, with the
  hardening the guide promises, and pass ``systemd-analyze verify`` without
  a word on stderr (copied with the install prefix replaced by this test
  run's virtualenv, since verify refuses a missing binary).
* tmpfiles.d creates the directories with their modes and never truncates
  the checkpoint file; logrotate never touches it.
* The nginx site passes ``nginx -t``; live, nginx with a self-signed
  certificate in front of two ``pserve`` processes of production.ini (its
  server section, ``http_port``, trusted proxies) answers over HTTPS, and the
  application sees the client's address (not a forged X-Forwarded-For) and
  the https scheme.
* roles.sql and maintenance-grants.sql, run against PostgreSQL with role
  names of their own, give exactly the documented rights (and the backup
  role makes a backup).

Without systemd-analyze, nginx, logrotate or systemd-tmpfiles those tests
skip with the reason, unless INTRANET_REQUIRE_DEPLOY_TOOLS=1 (CI), where
they fail.
"""
from __future__ import annotations

import configparser
import datetime as dt
import fnmatch
import getpass
import grp
import http.client
import ipaddress
import json
import os
import re
import shlex
import shutil
import socket
import ssl
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from paste.deploy.loadwsgi import APP, SERVER, loadcontext

from tests.conftest import PG_ADMIN_URL, TEST_SETTINGS, _migrate, _pg_reachable

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = DEPLOY / "systemd"
GUIDE = ROOT / "docs" / "deploy.md"
PRODUCTION_INI = ROOT / "production.ini"
PREFIX = "/opt/intranet/venv"  # where docs/deploy.md installs the application
INI = "/etc/intranet/production.ini"
# this run's intranet and pserve: the virtualenv's, else the ones on PATH
BIN = (Path(sys.prefix) / "bin" if (Path(sys.prefix) / "bin" / "intranet").exists()
       else Path(shutil.which("intranet") or sys.executable).parent)
REQUIRE_TOOLS = os.environ.get("INTRANET_REQUIRE_DEPLOY_TOOLS") == "1"
SITE_HOST = "intranet.example-ward.lg.jp"


def _tool(name: str) -> str:
    path = shutil.which(name, path=os.pathsep.join(
        [os.environ.get("PATH", ""), "/usr/sbin", "/sbin", "/usr/bin"]))
    if path is None:
        package = {"nginx": "nginx-light", "psql": "postgresql-client"}.get(name, name.split("-")[0])
        message = f"{name} is not installed (apt-get install {package})"
        if REQUIRE_TOOLS:
            pytest.fail(f"INTRANET_REQUIRE_DEPLOY_TOOLS=1 but {message}")
        pytest.skip(f"{message}; set INTRANET_REQUIRE_DEPLOY_TOOLS=1 to make this an error")
    return path


def _unit(path: Path) -> dict[str, list[tuple[str, str]]]:
    """A unit file as {section: [(key, value), ...]}, repeated keys kept."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), [])
            continue
        key, _, value = line.partition("=")
        current.append((key.strip(), value.strip()))
    return sections


def _values(unit: dict, section: str, key: str) -> list[str]:
    return [v for k, v in unit.get(section, []) if k == key]


def _one(unit: dict, section: str, key: str) -> str:
    (value,) = _values(unit, section, key)
    return value


SERVICES = sorted(UNITS.glob("*.service"))
TIMERS = sorted(UNITS.glob("*.timer"))


def _production() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(PRODUCTION_INI, encoding="utf-8")
    return parser


def _app_setting(name: str) -> str:
    return _production()["app:main"][name]


def _waitress(ini: Path, **variables) -> tuple[str, str]:
    """The address waitress listens on when pserve runs ``ini`` with
    ``variables`` (``pserve ini name=value``), as PasteDeploy resolves it."""
    conf = loadcontext(SERVER, f"config:{ini}", global_conf=variables or None).local_conf
    assert "listen" not in conf
    return conf["host"], conf["port"]


def _commands(service: Path) -> list[list[str]]:
    """The argv of every command a service runs (systemd's $$ and %%
    unescaped, %i as 6543); for a shell, the commands its script runs from
    the install prefix."""
    commands = []
    for line in _values(_unit(service), "Service", "ExecStart"):
        line = line.replace("$$", "$").replace("%%", "%").replace("%i", "6543")
        argv = shlex.split(line)
        if argv[0] == "/bin/sh":
            assert argv[1] == "-c"
            script = shlex.split(argv[2])
            start = next(i for i, word in enumerate(script) if word.startswith(PREFIX + "/"))
            argv = script[start:]
        commands.append(argv)
    return commands


# ------------------------------------------------------------------ unit files

def test_every_unit_runs_an_existing_command_with_existing_options():
    seen = set()
    for service in SERVICES:
        for argv in _commands(service):
            program = argv[0]
            assert program.startswith(PREFIX + "/bin/"), (service.name, program)
            name = program.rsplit("/", 1)[1]
            assert name in ("intranet", "pserve"), (service.name, program)
            words = []
            for word in argv[1:]:
                if word.startswith(("/", "-")):
                    break
                words.append(word)
            assert INI in argv, (service.name, argv)  # the one ini of the guide
            done = subprocess.run([str(BIN / name), *words, "--help"], capture_output=True, text=True,
                                  timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
            assert done.returncode == 0, (service.name, words, done.stderr)
            for option in (w.split("=")[0] for w in argv if w.startswith("--")):
                assert option in done.stdout, (service.name, option)
            seen.add(" ".join([name, *words]))
    assert seen == {"pserve", "intranet worker", "intranet audit checkpoint", "intranet audit verify",
                    "intranet audit verify-tree", "intranet backup", "intranet audit archive",
                    "intranet plans refresh"}


def test_the_web_instance_is_the_waitress_port_of_production_ini():
    (argv,) = _commands(UNITS / "intranet-web@.service")
    assert argv[-1] == "http_port=6543"  # %i
    assert _waitress(PRODUCTION_INI) == ("127.0.0.1", "6543")  # plain `pserve production.ini`
    assert _waitress(PRODUCTION_INI, http_port="6544") == ("127.0.0.1", "6544")
    # the app's own settings do not see the variable
    app = loadcontext(APP, f"config:{PRODUCTION_INI}", global_conf={"http_port": "6544"})
    assert "http_port" not in app.local_conf


def test_every_service_runs_hardened_as_the_intranet_user():
    for service in SERVICES:
        unit = _unit(service)
        for key, value in {"User": "intranet", "Group": "intranet", "NoNewPrivileges": "yes",
                           "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
                           "UMask": "0077"}.items():
            assert _one(unit, "Service", key) == value, (service.name, key)
        assert _values(unit, "Service", "EnvironmentFile")[0] == "/etc/intranet/intranet.env"
        assert "postgresql.service" in _one(unit, "Unit", "After").split()
        writable = _one(unit, "Service", "ReadWritePaths").split()
        assert writable == ["/var/lib/intranet", "/var/log/intranet", "/run/intranet"], service.name
        if _one(unit, "Service", "Type") == "simple":  # the long-running ones
            assert _one(unit, "Service", "Restart") == "on-failure"
            assert _one(unit, "Install", "WantedBy") == "multi-user.target"
    # the web processes' request metrics, added up by /metrics (the worker's
    # figures come from the database)
    assert "PROMETHEUS_MULTIPROC_DIR=/run/intranet/metrics" in _values(
        _unit(UNITS / "intranet-web@.service"), "Service", "Environment")


def test_the_archive_unit_cuts_at_a_month_five_years_back(tmp_path):
    """The shell line of intranet-archive.service, run with a stand-in for
    ``intranet`` that prints its arguments."""
    (line,) = _values(_unit(UNITS / "intranet-archive.service"), "Service", "ExecStart")
    script = shlex.split(line.replace("$$", "$").replace("%%", "%"))[2]
    (tmp_path / "bin").mkdir()
    stub = tmp_path / "bin" / "intranet"
    stub.write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
    stub.chmod(0o755)
    done = subprocess.run(["/bin/sh", "-c", script.replace(PREFIX, str(tmp_path))],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    today = dt.date.fromisoformat(subprocess.run(["date", "+%F"], capture_output=True, text=True,
                                                 check=True).stdout.strip())
    months = today.year * 12 + today.month - 1 - 5 * 12 - 1
    cut = dt.date(months // 12, months % 12 + 1, 1).isoformat()
    assert done.stdout.splitlines() == [
        "audit", "archive", INI, "--before", cut,
        "--output", f"/var/lib/intranet/archive/access-log-before-{cut}.jsonl", "--execute"]


def test_what_the_units_write_is_where_production_ini_and_tmpfiles_put_it():
    checkpoint_file = _app_setting("intranet.audit.checkpoint_file")
    photo_dir = _app_setting("intranet.survey.photo_dir")
    writable = [Path(p) for p in _one(_unit(SERVICES[0]), "Service", "ReadWritePaths").split()]

    def under_writable(path: str) -> bool:
        return any(Path(path).is_relative_to(w) for w in writable)

    assert under_writable(checkpoint_file) and under_writable(photo_dir)
    (verify, verify_tree) = _commands(UNITS / "intranet-verify.service")
    assert verify[verify.index("--from-checkpoint") + 1] == checkpoint_file
    assert verify_tree[1:3] == ["audit", "verify-tree"]
    (backup,) = _commands(UNITS / "intranet-backup.service")
    (archive,) = _commands(UNITS / "intranet-archive.service")
    outputs = [backup[backup.index("--output") + 1],
               str(Path(archive[archive.index("--output") + 1]).parent)]
    assert all(under_writable(p) for p in outputs)
    # tmpfiles.d creates each of them (and the metrics directory of the web units)
    created = {line.split()[1]: line.split() for line in
               (DEPLOY / "tmpfiles.d" / "intranet.conf").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    for path in [checkpoint_file, photo_dir, *outputs, "/run/intranet/metrics", *map(str, writable)]:
        assert path in created, path
    assert created[checkpoint_file][0] == "f" and created[checkpoint_file][2] == "0600"
    assert created[checkpoint_file][5] == "-"  # never cleaned by age


def test_every_timer_starts_its_service_and_every_oneshot_has_a_timer():
    oneshots = {s.stem for s in SERVICES if _one(_unit(s), "Service", "Type") == "oneshot"}
    assert {t.stem for t in TIMERS} == oneshots == {
        "intranet-checkpoint", "intranet-verify", "intranet-backup", "intranet-archive", "intranet-plans"}
    assert _one(_unit(UNITS / "intranet-checkpoint.timer"), "Timer", "OnCalendar") == "minutely"
    assert _app_setting("intranet.audit.checkpoint_minutes") == "1"
    for timer in TIMERS:
        assert _one(_unit(timer), "Install", "WantedBy") == "timers.target"
    # the backup and the archive run with the backup / maintenance role's URL
    for name, env in [("intranet-backup", "backup.env"), ("intranet-archive", "maintenance.env")]:
        assert _values(_unit(UNITS / f"{name}.service"), "Service", "EnvironmentFile") == [
            "/etc/intranet/intranet.env", f"/etc/intranet/{env}"]


def _verify_units(tmp_path, names, extra=None):
    tool = _tool("systemd-analyze")
    units = tmp_path / "units"
    units.mkdir(parents=True)
    for path in [*SERVICES, *TIMERS]:
        text = path.read_text().replace(PREFIX, str(BIN.parent))
        if extra:
            text = extra(path.name, text)
        (units / path.name).write_text(text)
    return subprocess.run([tool, "verify", *(str(units / n) for n in names)], capture_output=True,
                          text=True, timeout=60, cwd=units)


def _all_unit_names():
    return [("intranet-web@6543.service" if s.name == "intranet-web@.service" else s.name)
            for s in SERVICES] + [t.name for t in TIMERS]


def test_systemd_analyze_verify_accepts_every_unit_without_a_word(tmp_path):
    done = _verify_units(tmp_path, _all_unit_names())
    assert done.returncode == 0 and done.stderr == "" and done.stdout == "", done.stderr
    # and it would speak up: a misspelt key is a warning on stderr (exit 0)
    broken = _verify_units(tmp_path / "broken", ["intranet-worker.service"],
                           lambda name, text: text.replace("NoNewPrivileges=", "NoNewPrivilege="))
    assert "Unknown key" in broken.stderr


def test_tmpfiles_creates_the_directories_and_never_truncates_the_checkpoint_file(tmp_path):
    tool = _tool("systemd-tmpfiles")
    user, group = getpass.getuser(), grp.getgrgid(os.getgid()).gr_name
    config = tmp_path / "intranet.conf"
    config.write_text((DEPLOY / "tmpfiles.d" / "intranet.conf").read_text()
                      .replace("intranet intranet", f"{user} {group}"))
    root = tmp_path / "root"
    root.mkdir()
    for action in ["--create", "--create", "--remove"]:
        done = subprocess.run([tool, action, f"--root={root}", str(config)], capture_output=True,
                              text=True, timeout=30)
        assert done.returncode == 0 and done.stderr == "", done.stderr
        if action == "--create" and not (root / "run/intranet/metrics/x.db").exists():
            (root / "run/intranet/metrics/x.db").write_text("stale")
            witness = root / _app_setting("intranet.audit.checkpoint_file").lstrip("/")
            witness.write_text('{"seq": 1}\n')
    modes = {p: oct((root / p).stat().st_mode & 0o777) for p in [
        "var/log/intranet", "var/log/intranet/access-log-checkpoints.jsonl", "var/lib/intranet",
        "var/lib/intranet/survey-photos", "run/intranet/metrics"]}
    assert modes == {"var/log/intranet": "0o750", "var/log/intranet/access-log-checkpoints.jsonl": "0o600",
                     "var/lib/intranet": "0o750", "var/lib/intranet/survey-photos": "0o700",
                     "run/intranet/metrics": "0o750"}
    assert witness.read_text() == '{"seq": 1}\n'  # created twice, removed once: still there
    assert not (root / "run/intranet/metrics/x.db").exists()  # old metrics are wiped

    # chattr +a (docs/deploy.md): the application still appends, nobody
    # truncates, and tmpfiles at the next boot has nothing to change
    chattr = shutil.which("chattr", path="/usr/bin:/bin:/usr/sbin:/sbin")
    if os.geteuid() != 0 or not chattr or subprocess.run(
            [chattr, "+a", str(witness)], capture_output=True).returncode != 0:
        return  # (not root, or a file system without the attribute)
    try:
        done = subprocess.run([tool, "--create", f"--root={root}", str(config)], capture_output=True,
                              text=True, timeout=30)
        assert done.returncode == 0 and done.stderr == "", done.stderr
        with witness.open("a") as f:
            f.write('{"seq": 2}\n')
        with pytest.raises(PermissionError):
            witness.open("w")
        assert witness.read_text() == '{"seq": 1}\n{"seq": 2}\n'
    finally:
        subprocess.run([chattr, "-a", str(witness)], check=True)


# ------------------------------------------------------------------ logrotate, rsyslog

def test_logrotate_never_touches_the_checkpoint_file(tmp_path):
    config = (DEPLOY / "logrotate" / "intranet").read_text()
    checkpoint_file = _app_setting("intranet.audit.checkpoint_file")
    patterns = [w for line in config.splitlines() if line.startswith("/")
                for w in line.rstrip("{ ").split()]
    assert patterns and not any(fnmatch.fnmatch(checkpoint_file, p) for p in patterns)
    assert "copytruncate" not in config
    site = (DEPLOY / "nginx" / "intranet.conf").read_text()
    assert sorted(patterns) == sorted(re.findall(r"^\s*(?:access|error)_log\s+(\S+?);?(?:\s|$)", site,
                                                 re.M))  # nginx's two logs, no more
    tool = _tool("logrotate")
    logs = tmp_path / "logs"
    logs.mkdir()
    for name in ("nginx-access.log", "nginx-error.log", "access-log-checkpoints.jsonl"):
        (logs / name).write_text("x\n")
    test_config = tmp_path / "intranet"
    test_config.write_text(config.replace("/var/log/intranet/", f"{logs}/")
                           .replace("create 0640 root adm", "create 0640"))
    done = subprocess.run([tool, "--force", "--state", str(tmp_path / "state"), str(test_config)],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and "error" not in done.stderr, done.stderr
    assert (logs / "nginx-access.log.1").exists()
    assert (logs / "access-log-checkpoints.jsonl").read_text() == "x\n"
    assert sorted(p.name for p in logs.iterdir() if "checkpoint" in p.name) == [
        "access-log-checkpoints.jsonl"]


def test_rsyslog_forwards_what_production_ini_sends_to_syslog():
    production = _production()
    assert production["logger_checkpoint"]["qualname"] == "intranet.audit.checkpoint"
    assert production["logger_checkpoint"]["handlers"] == "syslog"
    assert "LOG_AUTHPRIV" in production["handler_syslog"]["args"]
    assert "[%(name)s:" in production["formatter_generic"]["format"]
    rules = (DEPLOY / "rsyslog" / "intranet-witness.conf").read_text()
    assert '$syslogfacility-text == "authpriv"' in rules
    assert '$rawmsg contains "[intranet.audit.checkpoint:"' in rules


# ------------------------------------------------------------------ nginx

def _nginx_blocks(text: str) -> dict[str, str]:
    """The location blocks of the site by their argument, and "" for the rest."""
    blocks, rest = {}, text
    for match in re.finditer(r"^\s*location\s+([^{]+?)\s*\{(.*?)^\s*\}", text, re.M | re.S):
        blocks[match.group(1)] = match.group(2)
        rest = rest.replace(match.group(0), "")
    blocks[""] = rest
    return blocks


def _size(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kmg]?)", value.lower()).groups()
    return int(number) * {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}[unit]


def test_nginx_site_matches_the_units_production_ini_and_upload_limits():
    from intranet.datalink.reader import MAX_FILE_BYTES
    from intranet.resources import DataLinkArea
    from intranet.survey.photos import MAX_BYTES, MAX_PHOTOS

    site = (DEPLOY / "nginx" / "intranet.conf").read_text()
    upstream = re.search(r"upstream intranet_web \{(.*?)\}", site, re.S).group(1)
    servers = re.findall(r"server (\S+);", upstream)
    # the web unit's instances, as the guide enables them
    enabled = re.search(r"systemctl enable --now ((?:intranet-web@\d+ ?)+)", GUIDE.read_text()).group(1)
    assert servers == [f"127.0.0.1:{port}" for port in re.findall(r"@(\d+)", enabled)]
    assert servers[0] == ":".join(_waitress(PRODUCTION_INI))
    # the proxies the app and waitress trust are where nginx connects from
    production = _production()
    assert production["app:main"]["intranet.trusted_proxies"] == "127.0.0.1"
    assert production["server:main"]["trusted_proxy"] == "127.0.0.1"
    assert production["server:main"]["trusted_proxy_headers"] == "x-forwarded-proto"
    assert all(ipaddress.ip_address(s.split(":")[0]).is_loopback for s in servers)

    blocks = _nginx_blocks(site)
    for header in ("Host $host", "X-Forwarded-For $proxy_add_x_forwarded_for",
                   "X-Forwarded-Proto $scheme"):
        assert f"proxy_set_header {header};" in blocks[""]
    for location, body in blocks.items():
        # a proxy_set_header in a location would drop every one of the server's
        assert location == "" or "proxy_set_header" not in body, location
        assert location == "" or "proxy_pass http://intranet_web;" in body, location
    assert re.search(r"ssl_protocols TLSv1\.2 TLSv1\.3;", site)
    general = _size(re.search(r"client_max_body_size (\w+);", blocks[""]).group(1))
    assert general >= MAX_PHOTOS * MAX_BYTES + 1024 ** 2
    datalink = blocks[f"^~ /{vars(DataLinkArea)['__name__']}/"]  # the import page
    assert _size(re.search(r"client_max_body_size (\w+);", datalink).group(1)) >= MAX_FILE_BYTES + 1024 ** 2
    assert "= /health {" not in site  # /healthz replaced it (issue 24)
    for name in ("/healthz", "/metrics"):
        body = blocks[f"= {name}"]
        assert body.strip().startswith("allow 127.0.0.1;") and "deny all;" in body


def _certificate(tmp_path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SITE_HOST)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName(SITE_HOST), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "fullchain.pem", tmp_path / "privkey.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _nginx_config(tmp_path, ports: dict | None = None) -> Path:
    """A main nginx.conf in ``tmp_path`` including the site, its certificate
    and logs moved there; ``ports`` (live): {"http", "https", 6543, 6544}."""
    cert, key = _certificate(tmp_path)
    site = (DEPLOY / "nginx" / "intranet.conf").read_text()
    site = (site.replace("/etc/ssl/intranet/fullchain.pem", str(cert))
            .replace("/etc/ssl/intranet/privkey.pem", str(key))
            .replace("/var/log/intranet/", f"{tmp_path}/"))
    if ports:
        site = re.sub(r"^\s*listen \[::\].*\n", "", site, flags=re.M)
        site = site.replace("listen 80;", f"listen 127.0.0.1:{ports['http']};")
        site = site.replace("listen 443 ", f"listen 127.0.0.1:{ports['https']} ")
        for port in (6543, 6544):
            site = site.replace(f"server 127.0.0.1:{port};", f"server 127.0.0.1:{ports[port]};")
    (tmp_path / "site.conf").write_text(site)
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / name).mkdir()
    main = tmp_path / "nginx.conf"
    main.write_text(f"""\
{"user root;" if os.geteuid() == 0 else ""}
daemon off;
worker_processes 1;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/main-error.log;
events {{ worker_connections 64; }}
http {{
    client_body_temp_path {tmp_path}/body;
    proxy_temp_path {tmp_path}/proxy;
    fastcgi_temp_path {tmp_path}/fastcgi;
    uwsgi_temp_path {tmp_path}/uwsgi;
    scgi_temp_path {tmp_path}/scgi;
    access_log off;
    include {tmp_path}/site.conf;
}}
""")
    return main


def test_nginx_accepts_the_site(tmp_path):
    tool = _tool("nginx")
    main = _nginx_config(tmp_path)
    done = subprocess.run([tool, "-t", "-p", str(tmp_path), "-c", str(main)], capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr
    assert "[warn]" not in done.stderr and "[emerg]" not in done.stderr, done.stderr


def _free_ports(count: int) -> list[int]:
    """``count`` distinct free ports (all bound at once, then released)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _wait_for_port(port: int, process: subprocess.Popen, what: str, log: Path,
                   seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{what} exited: {log.read_text()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"{what} did not listen on {port} within {seconds} s: {log.read_text()}")


def _live_ini(tmp_path) -> Path:
    """production.ini as it is, but for what this machine lacks: SQLite
    (hence no database roles), files in tmp, no /dev/log."""
    production = _production()
    app = production["app:main"]
    app["intranet.audit.checkpoint_file"] = str(tmp_path / "access-log-checkpoints.jsonl")
    app["intranet.survey.photo_dir"] = str(tmp_path / "survey-photos")
    app["intranet.audit.require_restricted_role"] = "false"
    production["handler_syslog"]["class"] = "StreamHandler"
    production["handler_syslog"]["args"] = "(sys.stderr,)"
    ini = tmp_path / "production.ini"
    with ini.open("w", encoding="utf-8") as f:
        production.write(f)
    return ini


def _get(port: int, path: str, source: str, cafile: Path, headers=None):
    context = ssl.create_default_context(cafile=str(cafile))
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=20,
                                       source_address=(source, 0))
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response, response.read(), conn.sock.version()
    finally:
        conn.close()


def test_live_nginx_in_front_of_two_waitress_processes(tmp_path):
    tool = _tool("nginx")
    database = tmp_path / "intranet.sqlite"
    _migrate({"sqlalchemy.url": f"sqlite:///{database}"})
    ini = _live_ini(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "INTRANET_DATABASE_URL": f"sqlite:///{database}",
           "INTRANET_AUDIT_KEY": TEST_SETTINGS["intranet.audit.hmac_key"],
           "INTRANET_AUDIT_SIGNING_KEY": TEST_SETTINGS["intranet.audit.signing_key"]}
    ports = dict(zip(["http", "https", 6543, 6544], _free_ports(4)))
    processes = []
    try:
        logs = {name: tmp_path / f"{name}.log" for name in (6543, 6544, "nginx")}
        for instance in (6543, 6544):  # as intranet-web@.service starts them
            with logs[instance].open("w") as log:
                processes.append(subprocess.Popen(
                    [str(BIN / "pserve"), str(ini), f"http_port={ports[instance]}"], env=env,
                    stdout=subprocess.DEVNULL, stderr=log, cwd=tmp_path))
        (tmp_path / "nginx").mkdir()
        main = _nginx_config(tmp_path / "nginx", ports)
        with logs["nginx"].open("w") as log:
            nginx = subprocess.Popen([tool, "-p", str(tmp_path / "nginx"), "-c", str(main)],
                                     stdout=subprocess.DEVNULL, stderr=log)
        processes.append(nginx)
        for instance, process in zip((6543, 6544), processes):
            _wait_for_port(ports[instance], process, f"pserve http_port={ports[instance]}",
                           logs[instance])
        _wait_for_port(ports["https"], nginx, "nginx", logs["nginx"])
        cafile = tmp_path / "nginx" / "fullchain.pem"

        # a client on 127.0.0.2 that forges X-Forwarded-For
        agent = f"deploy-test-{uuid.uuid4().hex}"
        response, body, tls = _get(ports["https"], "/login", "127.0.0.2", cafile,
                                   {"X-Forwarded-For": "10.99.99.99", "User-Agent": agent})
        assert response.status == 200 and tls in ("TLSv1.2", "TLSv1.3")
        assert response.headers.get_all("Strict-Transport-Security") == ["max-age=31536000"]
        cookies = response.headers.get_all("Set-Cookie")
        assert cookies and all("secure" in c.lower().split("; ") for c in cookies)
        engine = sa.create_engine(f"sqlite:///{database}")
        with engine.connect() as conn:
            seen = conn.execute(sa.text("SELECT client_addr, path FROM access_log WHERE user_agent = :a"),
                                {"a": agent}).all()
        engine.dispose()
        assert [tuple(row) for row in seen] == [("127.0.0.2", "/login")]

        # the app builds https:// links (X-Forwarded-Proto, believed by waitress from 127.0.0.1)
        response, _, _ = _get(ports["https"], "/", "127.0.0.2", cafile)
        location = urlsplit(response.headers["Location"])
        assert response.status == 303 and (location.scheme, location.path) == ("https", "/login")

        # health and metrics: from this host (production.ini's monitoring
        # zone, the address nginx passes on) yes, from elsewhere nginx refuses
        for path in ("/healthz", "/metrics"):
            response, body, _ = _get(ports["https"], path, "127.0.0.2", cafile)
            assert response.status == 403
        response, body, _ = _get(ports["https"], "/healthz", "127.0.0.1", cafile)
        health = json.loads(body)
        assert response.status in (200, 503) and health["database"] == {"status": "ok"}
        assert {"access_log", "worker"} <= set(health)
        response, body, _ = _get(ports["https"], "/metrics", "127.0.0.1", cafile)
        assert response.status == 200 and b"intranet_database_up 1.0" in body

        # plain HTTP only redirects
        conn = http.client.HTTPConnection("127.0.0.1", ports["http"], timeout=20)
        conn.request("GET", "/login")
        plain = conn.getresponse()
        assert plain.status == 301 and plain.headers["Location"].startswith("https://")
        conn.close()
        for process in processes:
            assert process.poll() is None
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# ------------------------------------------------------------------ PostgreSQL roles

def _psql(url: str, script: str) -> subprocess.CompletedProcess:
    plain = sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    return subprocess.run([_tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", plain], input=script,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.postgresql
def test_roles_sql_gives_each_role_exactly_its_rights(tmp_path):
    from tests.conftest import REQUIRE_PG

    problem = _pg_reachable()
    if problem:
        if REQUIRE_PG:
            pytest.fail(f"INTRANET_REQUIRE_PG=1 but PostgreSQL is not reachable: {problem}")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL} ({problem})")
    suffix = uuid.uuid4().hex[:8]
    roles = ("intranet_owner", "intranet_app", "intranet_maint", "intranet_backup")
    names = {role: f"t_{role.split('_')[1]}_{suffix}" for role in roles}
    names["intranet"] = f"intranet_deploy_{suffix}"
    pattern = re.compile(r"\b(intranet_owner|intranet_app|intranet_maint|intranet_backup|intranet)\b(?![-./])")

    def named(sql: str) -> str:
        code = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
        return pattern.sub(lambda m: names[m.group(1)], code)

    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    url = sa.engine.make_url(PG_ADMIN_URL).set(database=names["intranet"])
    try:
        done = _psql(PG_ADMIN_URL, named((DEPLOY / "postgresql" / "roles.sql").read_text()))
        assert done.returncode == 0, done.stderr
        owner_url = url.set(username=names["intranet_owner"], password=None).render_as_string(
            hide_password=False)
        _migrate({"sqlalchemy.url": owner_url})  # intranet initdb, as the owner
        from intranet.audit.dbrole import check_restricted_role, grant_app_role

        owner = sa.create_engine(owner_url)
        with owner.begin() as conn:
            grant_app_role(conn, names["intranet_app"])
            grant_app_role(conn, names["intranet_maint"])
        owner.dispose()
        done = _psql(owner_url, named((DEPLOY / "postgresql" / "maintenance-grants.sql").read_text()))
        assert done.returncode == 0, done.stderr

        def engine_of(role):
            return sa.create_engine(url.set(username=names[role], password=None))

        for role in ("intranet_app", "intranet_maint"):
            engine = engine_of(role)
            check_restricted_role(engine)  # the application starts with either
            engine.dispose()
        owner_check = engine_of("intranet_owner")
        with pytest.raises(RuntimeError, match="could switch off the access log's append-only"):
            check_restricted_role(owner_check)  # the owner could switch the triggers off
        owner_check.dispose()

        check = sa.create_engine(url)  # the superuser, in the new database
        with check.connect() as conn:
            def can(role, table, privilege):
                return conn.scalar(sa.text("SELECT has_table_privilege(:r, :t, :p)"),
                                   {"r": names[role], "t": table, "p": privilege})

            for table in ("access_log", "access_log_cases"):
                assert can("intranet_app", table, "INSERT") and can("intranet_app", table, "SELECT")
                assert not can("intranet_app", table, "DELETE")
                assert not can("intranet_app", table, "UPDATE")
                assert can("intranet_maint", table, "DELETE")
            assert not can("intranet_app", "access_log_archives", "INSERT")
            assert can("intranet_maint", "access_log_archives", "INSERT")
            assert can("intranet_app", "access_log_head", "UPDATE")
            assert can("intranet_app", "jobs", "DELETE")
            for table in ("access_log", "access_log_head", "jobs", "users"):
                assert can("intranet_backup", table, "SELECT")
                assert not any(can("intranet_backup", table, p) for p in ("INSERT", "UPDATE", "DELETE"))
            rights = conn.execute(sa.text(
                "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles "
                "WHERE rolname = ANY(:n)"), {"n": list(names.values())}).all()
            assert len(rights) == 4 and not any(r.rolsuper or r.rolcreaterole or r.rolcreatedb
                                                for r in rights)
        check.dispose()
        # `intranet backup` (pg_dump) works as the backup role
        from intranet.scripts.cli import main

        witness = tmp_path / "checkpoints.jsonl"
        witness.write_text("")
        backup_url = url.set(username=names["intranet_backup"], password=None)
        ini = tmp_path / "backup.ini"
        ini.write_text(f"[app:main]\nuse = egg:intranet\n"
                       f"sqlalchemy.url = {backup_url.render_as_string(hide_password=False)}\n"
                       f"intranet.audit.hmac_key = {TEST_SETTINGS['intranet.audit.hmac_key']}\n"
                       f"intranet.audit.checkpoint_file = {witness}\n")
        assert main(["backup", str(ini), "--output", str(tmp_path / "backups")]) == 0
        (folder,) = (tmp_path / "backups").iterdir()
        assert (folder / "database.dump").stat().st_size > 0
        # and as the app role itself, a DELETE on the log is refused
        app = engine_of("intranet_app")
        with app.connect() as conn, pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.execute(sa.text("DELETE FROM access_log"))
        app.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{names["intranet"]}" WITH (FORCE)'))
            for role in ("intranet_app", "intranet_maint", "intranet_backup", "intranet_owner"):
                conn.execute(sa.text(f'DROP ROLE IF EXISTS "{names[role]}"'))
        admin.dispose()


# ------------------------------------------------------------------ the guide

def test_the_guide_names_every_deploy_file_and_shows_them_as_they_are():
    guide = GUIDE.read_text()
    files = {str(p.relative_to(ROOT)) for p in DEPLOY.rglob("*") if p.is_file()}
    named = set(re.findall(r"deploy/[\w./@-]*[\w@]", guide))
    assert files <= named, f"not in docs/deploy.md: {sorted(files - named)}"
    folders = {str(p.relative_to(ROOT)) for p in DEPLOY.rglob("*") if p.is_dir()}
    assert named <= files | folders, f"docs/deploy.md names missing files: {sorted(named - files - folders)}"
    # a code block after <!-- deploy/... --> is that file, byte for byte
    shown = re.findall(r"<!-- (deploy/\S+) -->\n```[\w-]*\n(.*?)```\n", guide, re.S)
    assert len(shown) >= 5
    for path, text in shown:
        assert text == (ROOT / path).read_text(), f"docs/deploy.md shows an old {path}"
    assert "docs/deploy.md" in (ROOT / "README.md").read_text()
