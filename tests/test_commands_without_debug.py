"""Every management command runs from a fresh shell: no DEBUG, no SECRET_KEY. A command gets a
throwaway key of its own; serving and `check` refuse, in one line naming what to set; a missing
or unmigrated database is named in one line too. Each case is a real `manage.py` process."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = sorted(
    path.stem
    for folder in ("funnel", "kaizen")
    for path in (ROOT / folder / "management" / "commands").glob("*.py")
    if path.stem != "__init__"
)


def fresh_env(database: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL"}
        and not k.startswith("PYTEST")
    }
    env["DATABASE_URL"] = f"sqlite:///{database}"
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_command_list_is_found():
    assert {"create_team", "add_member", "import_csv", "healthcheck", "seed_demo"} <= set(COMMANDS)


# One process runs manage.py's main() for every command's --help (a process takes seconds).
HELP_ALL = """
import runpy, sys
for command in sys.argv[1:]:
    sys.argv = ["manage.py", command, "--help"]
    try:
        runpy.run_path("manage.py", run_name="__main__")
    except SystemExit as done:
        print(f"exit {command} {done.code}")
"""


def test_every_command_explains_itself(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", HELP_ALL, *COMMANDS],
        cwd=ROOT,
        env=fresh_env(tmp_path / "db.sqlite3"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in result.stderr, result.stderr
    for command in COMMANDS:
        assert f"usage: manage.py {command}" in result.stdout
        assert f"exit {command} 0" in result.stdout


def test_commands_run_against_a_migrated_database(tmp_path):
    env = fresh_env(tmp_path / "db.sqlite3")
    assert manage(env, "migrate", "-v0").returncode == 0
    created = manage(env, "create_team", "west", "West Region")
    assert created.returncode == 0, created.stderr
    assert "Created team West Region (west)" in created.stdout
    added = manage(env, "add_member", "--team", "west", "ana@example.com", "manager")
    assert added.returncode == 0, added.stderr
    assert "Created user ana@example.com as manager of West Region" in added.stdout
    healthy = manage(env, "healthcheck")
    assert healthy.returncode == 0, healthy.stderr
    assert '"status": "ok"' in healthy.stdout


def test_an_unmigrated_database_is_named_in_one_line(tmp_path):
    result = manage(fresh_env(tmp_path / "db.sqlite3"), "create_team", "west", "West")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert "no such table" in result.stderr
    assert "manage.py migrate" in result.stderr


@pytest.mark.parametrize("command", [["check", "--deploy"], ["runserver", "127.0.0.1:8197"]])
def test_serving_and_the_deploy_check_need_the_real_key(tmp_path, command):
    result = manage(fresh_env(tmp_path / "db.sqlite3"), *command)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "manage.py: SECRET_KEY is not set. Set SECRET_KEY (in production), or DEBUG=1 for "
        "local use."
    )


def test_the_web_server_never_gets_a_generated_key(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", "import kaizen.wsgi"],
        cwd=ROOT,
        env=fresh_env(tmp_path / "db.sqlite3"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
