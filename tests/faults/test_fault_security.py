"""Nothing leaves the machine: no network code in the package, no connection attempted at run time; and
SECURITY.md names every column the store has, so what it says is stored stays true."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from faultkit import REPO, run_cli
from support.loglines import assistant, write_lines

import tokentop
import tokentop.ingest
import tokentop.tui
import tokentop.widgets

pytestmark = pytest.mark.faults

NETWORK_MODULES = {"socket", "ssl", "socketserver", "urllib.request", "urllib3", "http.client", "http.server",
                   "requests", "httpx", "aiohttp", "websocket", "websockets", "smtplib", "ftplib", "telnetlib",
                   "poplib", "imaplib", "xmlrpc.client", "xmlrpc.server", "asyncio.streams"}


def package_sources() -> list[Path]:
    """Every .py file of the installed tokentop package (editable or not)."""
    files = [Path(tokentop.__file__)]
    for package in (tokentop.ingest, tokentop.tui, tokentop.widgets):
        for folder in package.__path__:
            files += sorted(Path(folder).rglob("*.py"))
    return files


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "__import__", "import_module") and node.args and isinstance(node.args[0], ast.Constant):
            found.add(str(node.args[0].value))
    return found


def test_package_has_no_network_code():
    sources = package_sources()
    assert len(sources) > 20 and any(p.name == "store.py" for p in sources)
    offenders = {}
    for path in sources:
        bad = {m for m in imported_modules(path) if m in NETWORK_MODULES or m.split(".")[0] in NETWORK_MODULES}
        if bad and path.relative_to(path.parents[2]).as_posix() not in USER_STARTED_SERVERS:
            offenders[str(path)] = sorted(bad)
    assert offenders == {}


USER_STARTED_SERVERS = {"tui/cli/serve.py"}
"""`tokentop serve` listens only when the user runs it (127.0.0.1 unless told otherwise, a token elsewhere); it
is the one module allowed a network library, and nothing else in the package imports it."""


def test_only_the_serve_command_reaches_the_network_code():
    importers = [p for p in package_sources() if p.name != "serve.py"
                 and any(m.split(".")[0] in ("textual_serve", "aiohttp") for m in imported_modules(p))]
    assert importers == []
    serve = next(p for p in package_sources() if p.name == "serve.py")
    assert 'default="127.0.0.1"' in serve.read_text(encoding="utf-8")


# At run time too, for tokentop and whatever it imports: any attempt to resolve or reach a host is recorded.
NO_NETWORK = """
import socket
def _refuse(*args, **kw):
    with open({log!r}, "a") as f:
        f.write(repr(args[:2]) + "\\n")
    raise OSError("network use is not allowed in this test")
socket.getaddrinfo = socket.create_connection = _refuse
_connect = socket.socket.connect
def _checked(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _refuse(address)
    return _connect(self, address)
socket.socket.connect = socket.socket.connect_ex = _checked
"""


def test_commands_attempt_no_connection(home, tmp_path):
    write_lines(home / ".claude" / "projects" / "-p" / "11111111-0000-4000-8000-000000000000.jsonl",
                [assistant(f"msg_{i}", f"req_{i}", output=10) for i in range(5)])
    log = tmp_path / "network-attempts"
    prelude = NO_NETWORK.format(log=str(log))
    statusline = b'{"rate_limits": {"seven_day": {"used_percentage": 12, "resets_at": 4102444800}}}'
    for args, stdin in ((["ingest", "--quiet"], None), (["report", "daily", "--json"], None), (["doctor"], None),
                        (["status", "--json"], None), (["statusline"], statusline),
                        (["hook"], b'{"hook_event_name": "PreToolUse"}')):
        proc = run_cli(args, home=home, prelude=prelude, stdin=stdin)
        assert proc.returncode in (0, 10, 20), (args, proc.stderr.decode())
    assert not log.exists(), log.read_text()


def test_security_md_lists_every_stored_column(tmp_path):
    from tokentop.ingest.store.store import Store

    text = (REPO / "SECURITY.md").read_text(encoding="utf-8")
    documented: dict[str, str] = {}
    for line in text.splitlines():
        m = re.match(r"^\|\s*`(\w+)`\s*\|(.*)\|", line)
        if m:
            documented[m.group(1)] = m.group(2)
    store = Store(tmp_path / "u.db")
    missing = []
    for (table,) in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"):
        columns = [r[1] for r in store.db.execute(f"PRAGMA table_info({table})")]
        row = documented.get(table)
        if row is None:
            missing.append(f"table {table}")
            continue
        missing += [f"{table}.{c}" for c in columns if f"`{c}`" not in row]
    store.close()
    assert missing == [], "SECURITY.md's table of stored columns is out of date: add " + ", ".join(missing)


def test_security_md_names_tests_that_exist():
    """The faults table says which test proves each guarantee: every test it names must exist."""
    text = (REPO / "SECURITY.md").read_text(encoding="utf-8")
    named, missing = 0, []
    for row in (line for line in text.splitlines() if line.startswith("|")):
        current = None
        for path, name in re.findall(r"`(tests/[\w/]+\.py)?(?:::\s*(\w+))?`", row):
            current = path or current
            if current is None:
                continue
            source = (REPO / current)
            if not source.is_file():
                missing.append(current)
                continue
            if name:
                named += 1
                if not re.search(rf"^def {name}\(", source.read_text(encoding="utf-8"), re.M):
                    missing.append(f"{current}::{name}")
    assert named >= 20 and missing == []
