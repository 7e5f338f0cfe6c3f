"""The architecture's rules are import-linter contracts (pyproject.toml, [tool.importlinter]); the suite keeps them."""
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def lint_imports(config: Path, cwd: Path) -> subprocess.CompletedProcess:
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(lint), "--no-cache", "--config", str(config)], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_every_import_linter_contract_is_kept():
    result = lint_imports(ROOT / "pyproject.toml", ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout and " KEPT" in result.stdout


def test_the_contracts_catch_a_domain_module_that_talks_to_redis(tmp_path):
    """The same kind of contract on a tiny package with one offence: the check is not one that cannot fail."""
    package = tmp_path / "shop"
    (package / "store").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "store" / "__init__.py").write_text("import redis\n")
    (package / "rules.py").write_text("from .store import thing\nimport redis\n")
    config = tmp_path / "contracts.toml"
    config.write_text(textwrap.dedent("""
        [tool.importlinter]
        root_packages = ["shop"]
        include_external_packages = true

        [[tool.importlinter.contracts]]
        name = "only the store imports redis"
        type = "protected"
        protected_modules = ["redis"]
        allowed_importers = ["shop.store"]
    """))
    result = lint_imports(config, tmp_path)
    assert result.returncode != 0
    assert "shop.rules -> redis" in result.stdout
