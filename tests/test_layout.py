"""The folder listing is the architecture, and imports go one way through it."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import ci_tasks
from ci_tasks import registry
from ci_tasks.core import reports
from ci_tasks.core.stage import StageSpec

PACKAGE = Path(ci_tasks.__file__).resolve().parent
STAGES = ("lint", "tests", "security", "build", "readiness", "smoke", "preflight")
FOLDERS = {name: name for name in STAGES} | {"tests": "testing", "build": "package"}
"""Each stage's package under ``ci_tasks/stages/``: named so tools read it as code (a folder
called ``tests`` is taken for a test suite, and skipped by bandit; ``build`` for output)."""
STAGE_OF = {folder: name for name, folder in FOLDERS.items()}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _statements(path: Path) -> Iterator[tuple[str, tuple[str, ...] | None]]:
    """Each import in *path*, at any depth (TYPE_CHECKING blocks too), relative ones resolved.

    ``import a.b`` gives ``("a.b", None)``; ``from a import b, c`` gives ``("a", ("b", "c"))``.
    """
    own = _module_name(path)
    package = own if path.name == "__init__.py" else own.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from ((alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            yield base, tuple(alias.name for alias in node.names)


def _imports(path: Path) -> set[str]:
    """Every ci_tasks module *path* imports, at any depth (TYPE_CHECKING blocks too)."""
    found: set[str] = set()
    for base, names in _statements(path):
        found.add(base)
        found.update(f"{base}.{name}" for name in names or ())
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
        "from ci_tasks.stages.testing import flaky\nfrom ci_tasks.core import runner\n"
    )
    monkeypatch.setattr("test_layout.PACKAGE", fake)
    assert _violations() == [
        ("ci_tasks.core.runner", "ci_tasks.stages.smoke"),
        ("ci_tasks.core.runner", "ci_tasks.stages.smoke.probe"),
        ("ci_tasks.stages.smoke.session", "ci_tasks.stages.testing"),
        ("ci_tasks.stages.smoke.session", "ci_tasks.stages.testing.flaky"),
    ]


def _declared_schemas(spec: StageSpec) -> set[str]:
    """The schemas of what *spec* declares it writes: its documents and its report."""
    own = {document.schema for document in spec.documents}
    return own | ({reports.report_schema(spec.report)} if spec.report else set())


def _reads_config(node: ast.expr) -> bool:
    """Whether *node* is the whole configuration by its name (``ctx.config``, ``sections``).

    A section's own fields may share a stage's name (readiness's ``checks.security``).
    """
    text = ast.unparse(node)
    return text.endswith(("config", "sections", "Config()"))


def _named(node: ast.expr | None, names: set[str]) -> str | None:
    """The stage name *node* is, if it is a string literal among *names*."""
    if isinstance(node, ast.Constant) and node.value in names:
        return str(node.value)
    return None


def _foreign_read(node: ast.AST, others: set[str]) -> str | None:
    """What *node* reads of another stage's configuration outside its contract, if anything."""
    if isinstance(node, ast.Attribute) and node.attr in others and _reads_config(node.value):
        return f"{ast.unparse(node.value)}.{node.attr}"
    subscript = isinstance(node, ast.Subscript) and _reads_config(node.value)
    if subscript and (key := _named(node.slice, others)) is not None:
        return f"{ast.unparse(node.value)}[{key!r}]"
    if not isinstance(node, ast.Call) or not node.args:
        return None
    func = node.func
    is_getattr = isinstance(func, ast.Name) and func.id == "getattr" and len(node.args) > 1
    if is_getattr and (key := _named(node.args[1], others)) is not None:
        return f"getattr(..., {key!r})"
    is_get = isinstance(func, ast.Attribute) and func.attr == "get" and _reads_config(func.value)
    if is_get and (key := _named(node.args[0], others)) is not None:
        return f"{ast.unparse(func.value)}.get({key!r})"
    return None


def _contract_violations() -> list[tuple[str, str]]:
    """(stage module, what it reads) for every read of another stage outside its contract.

    A stage reads another only through what that stage's ``StageSpec`` declares
    (``stage.document``, ``stage.exported``, ``stage.written_files``): not its schema as
    a literal, not a schema built by hand, not its configuration section.
    """
    declared = {name: _declared_schemas(spec) for name, spec in registry.SESSIONS.items()}
    wrong: list[tuple[str, str]] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        me = _module_name(path)
        area = _area(me)
        if not area.startswith("stages."):
            continue
        mine = STAGE_OF[area.split(".")[1]]
        others = set(STAGES) - {mine}
        foreign = {
            schema for name, schemas in declared.items() if name != mine for schema in schemas
        }
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in foreign:
                wrong.append((me, f"schema {node.value!r}"))
            elif isinstance(node, ast.JoinedStr) and ast.unparse(node)[2:].startswith("ci-tasks/"):
                wrong.append((me, f"schema {ast.unparse(node)}"))
            elif (read := _foreign_read(node, others)) is not None:
                wrong.append((me, read))
    return wrong


def test_stages_read_each_other_only_through_their_contracts() -> None:
    """No stage names another's schema or reads another's section but through its StageSpec."""
    assert _contract_violations() == []


def test_the_contract_rule_catches_a_literal_schema_and_a_config_read(
    tmp_path: Path, monkeypatch
) -> None:
    """A planted literal schema, a hand-built one and reads of another stage's section fail."""
    fake = tmp_path / "ci_tasks"
    (fake / "stages" / "readiness").mkdir(parents=True)
    (fake / "stages" / "testing").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "stages" / "readiness" / "planted.py").write_text(
        'HISTORY = "ci-tasks/flaky-history"\n'
        'def kind_schema(kind): return f"ci-tasks/{kind}-report"\n'
        "def url(ctx): return ctx.config.smoke.url\n"
        'def shards(config): return getattr(config, "tests", None)\n'
        'def lint(ctx): return ctx.config.sections["lint"], ctx.config.sections.get("build")\n'
        "def own(ctx): return ctx.config.readiness, ctx.config.timeout(ctx.name)\n"
    )
    (fake / "stages" / "testing" / "flaky.py").write_text('HISTORY = "ci-tasks/flaky-history"\n')
    monkeypatch.setattr("test_layout.PACKAGE", fake)
    assert sorted(_contract_violations()) == sorted(
        [
            ("ci_tasks.stages.readiness.planted", "schema 'ci-tasks/flaky-history'"),
            ("ci_tasks.stages.readiness.planted", "schema f'ci-tasks/{kind}-report'"),
            ("ci_tasks.stages.readiness.planted", "ctx.config.smoke"),
            ("ci_tasks.stages.readiness.planted", "getattr(..., 'tests')"),
            ("ci_tasks.stages.readiness.planted", "ctx.config.sections['lint']"),
            ("ci_tasks.stages.readiness.planted", "ctx.config.sections.get('build')"),
        ]
    )


def test_package_root_is_small_and_every_stage_has_a_folder() -> None:
    """At most five modules at the root; each of the seven stages is a folder in the registry."""
    assert len(list(PACKAGE.glob("*.py"))) <= 5
    for name in STAGES:
        assert (PACKAGE / "stages" / FOLDERS[name] / "__init__.py").is_file(), name
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
    assert spec.section.__module__.startswith(f"ci_tasks.stages.{FOLDERS[name]}.")
    assert isinstance(ci_tasks.Config().section(spec.section), spec.section)


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


def test_registering_sessions_loads_no_stage_until_it_runs(tmp_path: Path) -> None:
    """Every nox start registers every stage; their session modules load when they run.

    They cost ~0.07 s of imports together (readiness alone 0.06 s) that a
    ``nox -s tests-3.11`` does not need.
    """
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "1"\n')
    code = (
        "import sys, nox, ci_tasks\n"
        "ci_tasks.register()\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('ci_tasks.stages.')"
        " and m.rsplit('.', 1)[1] in ('session', '_bandit', 'checks'))\n"
        "print(loaded)\n"
        "import nox.registry; print(sorted(nox.registry.get()))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    loaded, registered = out.stdout.splitlines()
    assert loaded == "[]"
    assert set(STAGES) <= set(ast.literal_eval(registered))  # every stage was registered


def test_this_repositorys_bandit_scans_every_module_of_the_package() -> None:
    """bandit, run as the security session runs it here, reads every ci_tasks module.

    Its ``exclude_dirs`` match as substrings: a stage folder named ``tests`` went unscanned.
    """
    repo = PACKAGE.parent
    bandit = Path(sys.executable).with_name("bandit")
    done = subprocess.run(
        [str(bandit), "-c", "pyproject.toml", "-r", "ci_tasks", "-f", "json", "-q"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    scanned = {
        Path(name).as_posix() for name in json.loads(done.stdout)["metrics"] if name != "_totals"
    }
    modules = {p.relative_to(repo).as_posix() for p in PACKAGE.rglob("*.py")}
    assert modules - scanned == set()


def _module_edges(path: Path, modules: set[str]) -> set[str]:
    """The ci_tasks modules *path* imports (any depth): ``from pkg import mod`` is ``pkg.mod``."""
    found: set[str] = set()
    for base, names in _statements(path):
        subs = {f"{base}.{name}" for name in names or ()} & modules
        found |= subs | ({base} if names is None or len(subs) < len(names) else set())
    edges = set()
    for name in found:
        target = name
        while target and target not in modules:
            target = target.rpartition(".")[0]
        edges.add(target)
    return edges - {_module_name(path), ""}


def _circles() -> list[list[str]]:
    """Every group of ci_tasks modules that import each other round (Tarjan's SCCs > 1)."""
    paths = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
    graph = {m: sorted(_module_edges(p, set(paths))) for m, p in paths.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while not group or group[-1] != node:
                group.append(stack.pop())
            if len(group) > 1:
                found.append(sorted(group))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_modules_import_each_other_round() -> None:
    """No circle, TYPE_CHECKING and function-level imports counted: each module has a layer."""
    assert _circles() == []


def test_the_circle_rule_catches_two_core_modules_importing_each_other(
    tmp_path: Path, monkeypatch
) -> None:
    """A circle hidden behind TYPE_CHECKING still counts; a sibling submodule import does not."""
    fake = tmp_path / "ci_tasks"
    (fake / "core").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "core" / "__init__.py").write_text("")
    (fake / "core" / "a.py").write_text("from ci_tasks.core.b import B\n")
    (fake / "core" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ci_tasks.core.a import A\n"
    )
    (fake / "core" / "c.py").write_text("from ci_tasks.core import a\n")
    monkeypatch.setattr("test_layout.PACKAGE", fake)
    assert _circles() == [["ci_tasks.core.a", "ci_tasks.core.b"]]
