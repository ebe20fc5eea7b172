"""The folder listing is the architecture, and imports go one way through it."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import ci_tasks
from ci_tasks import registry

PACKAGE = Path(ci_tasks.__file__).resolve().parent
STAGES = ("lint", "tests", "security", "build", "readiness", "smoke", "preflight")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every ci_tasks module *path* imports, at any depth (TYPE_CHECKING blocks too)."""
    own = _module_name(path)
    package = own if path.name == "__init__.py" else own.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "ci_tasks" or name.startswith("ci_tasks.")}


def _area(module: str) -> str:
    """``core``, ``adopt``, ``stages.<name>``, or ``root`` for the package's top level."""
    parts = module.split(".")
    if len(parts) >= 3 and parts[1] == "stages":
        return f"stages.{parts[2]}"
    if len(parts) >= 2 and parts[1] in {"core", "adopt", "stages"}:
        return parts[1]
    return "root"


def _allowed(mine: str, theirs: str) -> bool:
    if mine in {theirs, "root"}:
        return True
    if mine == "core":
        return False
    if mine == "adopt":
        return theirs in {"core", "root"}
    return theirs in {"core", "stages"}  # a stage: the shared layer only


def _violations() -> list[tuple[str, str]]:
    """(importer, imported) for every import against the direction."""
    wrong: list[tuple[str, str]] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        me = _module_name(path)
        for target in sorted(_imports(path)):
            theirs = "root" if target == "ci_tasks" else _area(target)
            if not _allowed(_area(me), theirs):
                wrong.append((me, target))
    return wrong


def test_imports_go_one_way() -> None:
    """Core imports no stage nor adoption code; a stage imports only core; adopt, core and root."""
    assert _violations() == []


def test_the_rule_catches_a_stage_importing_another(tmp_path: Path, monkeypatch) -> None:
    """A stage importing another stage, or core importing a stage, is reported."""
    fake = tmp_path / "ci_tasks"
    (fake / "core").mkdir(parents=True)
    (fake / "stages" / "smoke").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "core" / "runner.py").write_text("from ci_tasks.stages.smoke import probe\n")
    (fake / "stages" / "smoke" / "session.py").write_text(
        "from ci_tasks.stages.tests import flaky\nfrom ci_tasks.core import runner\n"
    )
    monkeypatch.setattr("test_layout.PACKAGE", fake)
    assert _violations() == [
        ("ci_tasks.core.runner", "ci_tasks.stages.smoke"),
        ("ci_tasks.core.runner", "ci_tasks.stages.smoke.probe"),
        ("ci_tasks.stages.smoke.session", "ci_tasks.stages.tests"),
        ("ci_tasks.stages.smoke.session", "ci_tasks.stages.tests.flaky"),
    ]


def test_package_root_is_small_and_every_stage_has_a_folder() -> None:
    """At most five modules at the root; each of the seven stages is a folder in the registry."""
    assert len(list(PACKAGE.glob("*.py"))) <= 5
    for name in STAGES:
        assert (PACKAGE / "stages" / name / "__init__.py").is_file(), name
    assert [spec.name for spec in registry.STAGES] == [
        "lint",
        "tests",
        "security",
        "build",
        "readiness",
        "smoke",
        "preflight",
    ]


@pytest.mark.parametrize("name", STAGES)
def test_each_stage_section_lives_with_its_stage(name: str) -> None:
    """``[tool.ci-tasks.<stage>]`` is parsed by a dataclass from the stage's own folder."""
    spec = registry.SESSIONS[name]
    assert spec.section.__module__.startswith(f"ci_tasks.stages.{name}.")
    assert isinstance(getattr(ci_tasks.Config(), name), spec.section)


def test_public_api_imports_as_before() -> None:
    """Everything ``ci_tasks.__all__`` names is importable from the package itself."""
    module = importlib.import_module("ci_tasks")
    for name in module.__all__:
        assert getattr(module, name) is not None


def test_registering_sessions_loads_no_http_client() -> None:
    """``import ci_tasks`` (every nox start-up) does not load requests: it costs 0.1 s."""
    code = "import sys, ci_tasks.registry; print(sorted({'requests', 'urllib3'} & {*sys.modules}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
