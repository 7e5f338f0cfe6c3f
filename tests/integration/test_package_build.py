"""The built wheel carries every file of the packages: templates, Lua scripts, static files, the program file.

An editable install reads them from the source tree, so only a real build shows what a non-editable install
would lose. The wheel is built offline, with the venv's setuptools, from a copy of the project.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.build

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "loyalty_core", "wechat_sandbox")
NOT_SHIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")


def files_on_disk() -> set[str]:
    found = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*"):
            parts = path.relative_to(ROOT).parts
            if path.is_file() and path.suffix != ".pyc" and not any(
                    part == "__pycache__" or part.startswith(".") for part in parts):
                found.add("/".join(parts))
    return found


@pytest.fixture(scope="module")
def wheel_files(tmp_path_factory) -> set[str]:
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, source / package, ignore=NOT_SHIPPED)
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "--no-index",
         "--quiet", "-w", str(out)],
        capture_output=True, text=True, timeout=120)
    assert build.returncode == 0, build.stderr[-3000:]
    [wheel] = out.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_every_file_of_the_packages_is_in_the_wheel(wheel_files):
    on_disk = files_on_disk()

    missing = sorted(on_disk - wheel_files)

    assert missing == []


def test_the_files_a_running_bot_reads_are_among_those_checked():
    on_disk = files_on_disk()
    kinds = {
        "reply templates": "bot/templates/",
        "error templates": "bot/templates/errors/",
        "Lua scripts": "loyalty_core/lua/",
        "the sandbox's chat page": "wechat_sandbox/static/",
        "the console's pages": "bot/templates/console/",
        "the console's script and styles": "bot/static/console/",
    }

    for kind, folder in kinds.items():
        assert any(name.startswith(folder) and "/" not in name[len(folder):] for name in on_disk), kind
    assert "loyalty_core/program_default.toml" in on_disk
