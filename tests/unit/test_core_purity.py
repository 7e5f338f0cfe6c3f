"""loyalty_core is pure business logic: it must not import the web, template, scheduler or bot layers."""
import ast
from pathlib import Path

import loyalty_core

FORBIDDEN = ("aiohttp", "jinja2", "apscheduler", "wechatpy", "bot", "wechat_sandbox")


def imported_modules(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def test_loyalty_core_imports_no_outer_layer():
    root = Path(loyalty_core.__file__).parent
    offenders = [f"{path.relative_to(root)} imports {name}"
                 for path in sorted(root.rglob("*.py"))
                 for name in imported_modules(path)
                 if name.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_the_check_sees_a_forbidden_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import aiohttp\nfrom jinja2 import Environment\nfrom .x import y\n")
    assert list(imported_modules(sample)) == ["aiohttp", "jinja2"]
