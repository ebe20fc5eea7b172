"""An adopting project as ``ci-tasks init`` sees it: its layout, and edits to its files.

Everything here is pure: it reads the file system only to detect the layout, and the
edits take text and return text. ``pyproject.toml`` is edited with tomlkit, so its
formatting and comments survive; the ``[tool.ci-tasks]`` table is rendered from the
configuration dataclasses themselves, with each field's docstring as its comment.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import functools
import inspect
import itertools
import re
import sys
import textwrap
import tomllib
import typing
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, get_args, get_origin

import tomlkit
import tomlkit.exceptions
import tomlkit.items
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from ci_tasks.core.config import TABLE, Config, fields_of, type_name
from ci_tasks.core.errors import ConfigError
from ci_tasks.core.groups import requirement_name

# CPython minor versions a project may declare support for; requires-python picks among them.
KNOWN_PYTHONS = ("3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14")
_NOT_PACKAGES = {"tests", "test", "docs", "doc", "benchmarks", "examples", "scripts", "build"}
GITIGNORE_ENTRIES = (".ci-tasks/", ".nox/", "dist/")
UNIGNORE_LOCK = "!/uv.lock"
"""Added where the project ignores ``uv.lock``: CI's tests sync from the committed lock."""


@dataclasses.dataclass(frozen=True)
class Layout:
    """What ``init`` detected about a project."""

    name: str
    """The distribution name from ``[project]``."""
    package: str | None
    """The importable package, or ``None`` when none was found."""
    src: bool
    """Whether the package lives under ``src/``."""
    tests: str | None
    """The test directory, relative to the project."""
    python: tuple[str, ...]
    """Python versions allowed by ``requires-python`` (the configured default if unset)."""
    blank_lines: int = 1
    """Blank lines after the imports, as the project's isort rules want them."""
    required_imports: tuple[str, ...] = ()
    """Imports the project's isort rules require in every module
    (``from __future__ import annotations``): init's files carry them too."""

    def describe(self) -> str:
        """One line for the user."""
        where = f"src/{self.package}" if self.src else self.package
        return (
            f"project {self.name!r}: package {where or '(none found)'}, "
            f"tests in {self.tests or '(none found)'}, Python {', '.join(self.python)}"
        )


def python_versions(requires_python: str | None, source: str = "pyproject.toml") -> tuple[str, ...]:
    """The known minor versions *requires-python* allows (the default ones when unset)."""
    if not requires_python:
        return Config().python
    try:
        spec = SpecifierSet(requires_python)
    except InvalidSpecifier:
        msg = f"{source}: project.requires-python: {requires_python!r} is not a version specifier"
        raise ConfigError(msg) from None
    # A minor version counts when any of its releases fits: ">=3.11.4" still allows 3.11.
    allowed = tuple(v for v in KNOWN_PYTHONS if spec.contains(f"{v}.0") or spec.contains(f"{v}.99"))
    if not allowed:
        msg = (
            f"{source}: project.requires-python: {requires_python!r} allows none of the "
            f"Python versions ci_tasks knows ({', '.join(KNOWN_PYTHONS)})"
        )
        raise ConfigError(msg)
    return allowed


def _isort_table(data: Mapping[str, Any], *paths: tuple[str, ...]) -> Mapping[str, Any]:
    for path in paths:
        table: Any = data
        for key in path:
            table = table.get(key, {}) if isinstance(table, dict) else {}
        if isinstance(table, dict) and table:
            return table
    return {}


def _isort_tables(root: Path, pyproject: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The project's isort settings: ruff's (``ruff.toml`` first), then isort's."""
    tables = [
        _isort_table(pyproject, ("tool", "ruff", "lint", "isort"), ("tool", "ruff", "isort")),
        _isort_table(pyproject, ("tool", "isort")),
    ]
    for name in ("ruff.toml", ".ruff.toml"):
        try:
            own = tomllib.loads((root / name).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue
        tables.insert(0, _isort_table(own, ("lint", "isort"), ("isort",)))
    return tables


def lines_after_imports(root: Path, pyproject: Mapping[str, Any]) -> int:
    """Blank lines the project's isort rules want after imports (ruff's or isort's; 1)."""
    for table in _isort_tables(root, pyproject):
        value = table.get("lines-after-imports", table.get("lines_after_imports"))
        if isinstance(value, int) and value >= 0:
            return value
    return 1


def required_imports(root: Path, pyproject: Mapping[str, Any]) -> tuple[str, ...]:
    """The imports the project's isort rules add to every module (ruff's, isort's)."""
    for table in _isort_tables(root, pyproject):
        value = table.get("required-imports", table.get("add_imports"))
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
    return ()


def _is_package(path: Path) -> bool:
    return (path / "__init__.py").is_file()


def detect_layout(root: Path, pyproject: Mapping[str, Any]) -> Layout:
    """The layout of the project in *root*, from its files and parsed ``pyproject.toml``."""
    project = pyproject.get("project", {})
    name = str(project.get("name") or root.name)
    guess = canonicalize_name(name).replace("-", "_")
    package: str | None = None
    src = False
    for base, is_src in ((root / "src", True), (root, False)):
        if _is_package(base / guess):
            package, src = guess, is_src
            break
    else:
        for base, is_src in ((root / "src", True), (root, False)):
            found = sorted(
                p.name
                for p in (base.iterdir() if base.is_dir() else ())
                if p.name not in _NOT_PACKAGES and not p.name.startswith(".") and _is_package(p)
            )
            if found:
                package, src = found[0], is_src
                break
    tests = next((d for d in ("tests", "test") if (root / d).is_dir()), None)
    requires = project.get("requires-python")
    return Layout(
        name=name,
        package=package,
        src=src,
        tests=tests,
        python=python_versions(requires if isinstance(requires, str) else None),
        blank_lines=lines_after_imports(root, pyproject),
        required_imports=required_imports(root, pyproject),
    )


@functools.cache
def _module_field_docs(module_name: str) -> dict[str, dict[str, str]]:
    """Per class of *module_name*: each field's docstring (the string literal after it).

    Each module is parsed once, however many sections it holds.
    """
    try:
        source = inspect.getsource(sys.modules[module_name])
    except (OSError, TypeError, KeyError):  # no source shipped: tables get no comments
        return {}
    found: dict[str, dict[str, str]] = {}
    for cls in ast.walk(ast.parse(source)):
        if not isinstance(cls, ast.ClassDef):
            continue
        docs = found.setdefault(cls.name, {})
        for node, after in itertools.pairwise(cls.body):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                docs[node.target.id] = " ".join(after.value.value.split())
    return found


def _field_docs(cls: type) -> dict[str, str]:
    """Each field's docstring (the string literal after it), as plain text."""
    return _module_field_docs(cls.__module__).get(cls.__name__, {})


def _comment(text: str) -> list[str]:
    text = text.replace("``", "`")
    # Never break inside a name (`jobs.race-tests`, `windows-latest`) at its hyphen.
    return [f"# {line}" for line in textwrap.wrap(text, 86, break_on_hyphens=False)]


def _toml_value(value: Any) -> str:
    if isinstance(value, tuple):
        value = list(value)
    return str(tomlkit.item(value).as_string())


def _render_table(
    cls: type,
    instance: Any,
    path: str,
    overrides: Mapping[str, tuple[Any, str]],
    commented: Mapping[str, tuple[Any, str]] | None = None,
) -> list[str]:
    docs = _field_docs(cls)
    own: list[str] = []
    nested: list[str] = []
    for field in fields_of(cls):
        if field.metadata.get("alias"):
            continue  # an older spelling of keys written elsewhere (timeouts)
        key = field.name.replace("_", "-")
        hint = field.hint
        value = field.value(instance)
        if dataclasses.is_dataclass(hint):
            head = (inspect.getdoc(hint) or "").split("\n\n")[0]
            head = re.sub(r"^``\[[^\]]*\]``:\s*", "", head)  # the header says it already
            head = head[:1].upper() + head[1:]
            nested += ["", f"[{path}.{key}]", *_comment(" ".join(head.split()))]
            nested += _render_table(typing.cast("type", hint), value, f"{path}.{key}", overrides)
            continue
        lines = _comment(docs.get(field.name, ""))
        # A key of a stage's section may be named with it (``tests.groups``), apart from
        # another section's key of the same name (``security.groups``).
        named = f"{path.removeprefix('.'.join(TABLE) + '.')}.{field.name}"
        name = named if named in (commented or {}) or named in overrides else field.name
        if commented and name in commented:
            # Left unset on purpose: the loader's own detection decides, and a value
            # written here would override it for good.
            value, why = commented[name]
            own += [*lines, *_comment(f"({why})"), f"# {key} = {_toml_value(value)}"]
            continue
        if name in overrides:
            value, why = overrides[name]
            default = getattr(instance, field.name)
            shown = "unset" if default is None else _toml_value(default)
            lines += _comment(f"({why}; default: {shown})")
        inner = get_args(hint)[0] if get_origin(hint) is tuple and get_args(hint) else None
        if inner is not None and dataclasses.is_dataclass(inner):
            lines.append(f"# [[{path}.{key}]]: none by default")
        elif value is None:
            lines.append(f"# {key} = {type_name(hint).replace(' or ', '/')} (unset by default)")
        elif isinstance(value, dt.date | int | float | str | bool | tuple):
            lines.append(f"{key} = {_toml_value(value)}")
        own += lines
    return own + nested


def render_config_table(
    overrides: Mapping[str, tuple[Any, str]] | None = None,
    commented: Mapping[str, tuple[Any, str]] | None = None,
) -> str:
    """``[tool.ci-tasks]`` with every key at its default, each with its docstring as comment.

    *overrides* maps a key (a field's name, or ``section.name`` for a stage's section's
    own) to ``(value, why)``: a detected value that replaces the default, with a note
    saying where it came from. *commented* keys are written as comments only (``# key =
    value``), so the loader keeps detecting them.
    """
    path = ".".join(TABLE)
    lines = [
        f"[{path}]",
        "# Written by `ci-tasks init`: every key shows its default; change what you need.",
        *_render_table(Config, Config(), path, overrides or {}, commented or {}),
    ]
    return "\n".join(lines) + "\n"


def parse_requirement(spec: str) -> Requirement:
    """*spec* as a requirement; a one-line :class:`ConfigError` when it is not one."""
    try:
        return Requirement(spec)
    except InvalidRequirement as exc:
        msg = f"--requirement {spec!r} is not a valid requirement ({exc})"
        raise ConfigError(msg) from None


@dataclasses.dataclass(frozen=True)
class PyprojectEdit:
    """The edited ``pyproject.toml`` and what changed in it."""

    text: str
    added: tuple[str, ...]
    """Requirements added to the dev group."""
    kept: tuple[str, ...]
    """Requirements the dev group already names (left as they are)."""
    table_added: bool


_LONG_LINE = 88


def _group_array(document: tomlkit.TOMLDocument, group: str, source: str) -> tomlkit.items.Array:
    """The array of dependency group *group*, made (empty) when absent."""
    groups = document.get("dependency-groups")
    if groups is None:
        groups = tomlkit.table()
        document.add("dependency-groups", groups)
    if not isinstance(groups, tomlkit.items.Table | tomlkit.items.InlineTable):
        msg = f"{source}: [dependency-groups] must be a table"
        raise ConfigError(msg)
    entries = groups.get(group)
    if entries is None:
        entries = tomlkit.array()
        groups[group] = entries
    if not isinstance(entries, tomlkit.items.Array):
        msg = f"{source}: dependency-groups.{group} must be an array of requirements"
        raise ConfigError(msg)
    return entries


def _indent(array: str) -> str:
    """The indent the array's own entries use (four spaces when it has none yet)."""
    for line in array.splitlines()[1:]:
        stripped = line.lstrip(" \t")
        if stripped and not stripped.startswith(("]", "#")):
            return line[: len(line) - len(stripped)]
    return "    "


def _add_requirements(
    entries: tomlkit.items.Array, requirements: Sequence[str], group: str, runtime: set[str | None]
) -> tuple[list[str], list[str]]:
    """Append the *requirements* named neither in *entries* nor in *runtime*; ``(added, kept)``."""
    present = {requirement_name(e) for e in entries} | runtime
    added, kept = [], []
    multiline = "\n" in entries.as_string()
    indent = _indent(entries.as_string())
    for requirement in requirements:
        if canonicalize_name(Requirement(requirement).name) in present:
            kept.append(requirement)
            continue
        if multiline:
            entries.add_line(requirement, indent=indent)
        else:
            entries.append(requirement)
        added.append(requirement)
    if added and not multiline and len(f"{group} = {entries.as_string()}") > _LONG_LINE:
        # One long line of pins reads badly; one pin a line reads (and diffs) well.
        entries.multiline(multiline=True)
    return added, kept


def edit_pyproject(
    text: str,
    requirements: Sequence[str],
    table: str,
    *,
    group: str = "dev",
    source: str = "pyproject.toml",
) -> PyprojectEdit:
    """Add *requirements* to dependency group *group*, and *table* if it is absent or empty.

    Nothing already there is changed: a requirement whose name the group (or the project's
    own dependencies) already lists is kept as written, and a ``[tool.ci-tasks]`` with any
    key in it stays as it is.
    """
    try:
        document = tomlkit.parse(text)
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, tomlkit.exceptions.ParseError) as exc:
        msg = f"{source}: not valid TOML ({exc})"
        raise ConfigError(msg) from None
    project = data.get("project", {})
    dependencies = project.get("dependencies", []) if isinstance(project, dict) else []
    runtime = (
        {requirement_name(d) for d in dependencies} if isinstance(dependencies, list) else set()
    )
    entries = _group_array(document, group, source)
    added, kept = _add_requirements(entries, requirements, group, runtime)
    tool = data.get("tool", {})
    existing = tool.get(TABLE[1]) if isinstance(tool, dict) else None
    if existing == {}:
        # An empty [tool.ci-tasks] holds nothing of the user's: fill it where it stands.
        document["tool"][TABLE[1]] = tomlkit.parse(table)["tool"][TABLE[1]]
    new_text = tomlkit.dumps(document) if added or existing == {} else text
    if existing is None:
        new_text = new_text.rstrip("\n") + "\n\n" + table
    return PyprojectEdit(new_text, tuple(added), tuple(kept), existing in (None, {}))


# uv's resolver, when a group's package needs a newer Python than the project's floor:
# (its message reads: sphinx>=9.1.0,<=9.1.1 depends on Python>=3.12).
_NEEDS_PYTHON = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)[^ ]* depends on Python(>=[0-9.]+)")


def narrow_group(
    text: str, uv_error: str, keep: Sequence[str], source: str = "pyproject.toml"
) -> tuple[str, str, str] | None:
    """*text* with the group whose package needs a newer Python locked for that Python only.

    Where ``uv lock`` fails because a package of a dependency group (``sphinx`` in
    ``docs``) needs a newer Python than ``requires-python`` allows, uv can lock that group
    for the Pythons it supports: ``[tool.uv.dependency-groups] docs = {requires-python =
    ">=3.12"}``. That changes nothing else (the group's own users install it where it
    runs) and is what the project would write itself. ``(text, group, specifier)``, or
    ``None`` when the package is in no group, or only in one of *keep* (the tests need it
    on every Python: a real conflict, left to the maintainer).
    """
    found = _NEEDS_PYTHON.search(uv_error)
    if found is None:
        return None
    package, specifier = canonicalize_name(found[1]), found[2]
    data = tomllib.loads(text)
    groups = data.get("dependency-groups", {})
    for group, entries in groups.items() if isinstance(groups, dict) else ():
        names = {requirement_name(e) for e in entries if isinstance(e, str)}
        if package not in names or group in keep:
            continue
        document = tomlkit.parse(text)
        uv = document.setdefault("tool", tomlkit.table(is_super_table=True)).setdefault(
            "uv", tomlkit.table()
        )
        narrowed = uv.setdefault("dependency-groups", tomlkit.table())
        if group in narrowed:
            return None  # narrowed already, and still failing: not ours to guess further
        narrowed[group] = tomlkit.inline_table()
        narrowed[group]["requires-python"] = specifier
        narrowed[group].comment(f"ci-tasks init: {found[1]} needs Python{specifier} ({source})")
        return tomlkit.dumps(document), group, specifier
    return None


CI_MODULES = ("ci_tasks.*", "nox.*", "invoke.*")
"""What ``noxfile.py`` and ``tasks.py`` import: the CI environment's, not the project's."""


def mypy_sees_ci_files(text: str) -> str | None:
    """*text* with a mypy override so the project's mypy accepts ``noxfile.py``/``tasks.py``.

    A project whose mypy checks every Python file (a pre-commit mypy hook does) would fail
    on init's files, whose imports live in the CI environment, not the project's: adopting
    would change the project's own verdict. ``ignore_missing_imports`` for exactly those
    modules keeps it. ``None`` when there is no ``[tool.mypy]`` or the override is there.
    """
    data = tomllib.loads(text)
    mypy = data.get("tool", {}).get("mypy")
    if not isinstance(mypy, dict):
        return None
    for override in mypy.get("overrides") or ():
        modules = override.get("module") if isinstance(override, dict) else None
        if modules == list(CI_MODULES) or modules == CI_MODULES[0]:
            return None
    document = tomlkit.parse(text)
    table = document["tool"]["mypy"]
    overrides = table.get("overrides")
    if overrides is None:
        overrides = tomlkit.aot()
        table["overrides"] = overrides
    entry = tomlkit.table()
    entry.add(tomlkit.comment("ci-tasks init: noxfile.py and tasks.py import the CI environment"))
    entry["module"] = list(CI_MODULES)
    entry["ignore_missing_imports"] = True
    overrides.append(entry)
    marker = "[[tool.mypy.overrides]]\n# ci-tasks init:"
    return (
        tomlkit.dumps(document)
        .replace(f"\n{marker}", f"\n\n{marker}", 1)
        .replace("\n\n\n" + marker, "\n\n" + marker)
    )


def _ignore_key(line: str) -> str:
    return line.strip().strip("/")


def edit_gitignore(text: str, entries: Iterable[str] = GITIGNORE_ENTRIES) -> str:
    """*text* with the missing *entries* appended (``.nox``, ``/.nox/`` count as present)."""
    present = {_ignore_key(line) for line in text.splitlines()}
    missing = [e for e in entries if _ignore_key(e) not in present]
    if not missing:
        return text
    head = text if not text or text.endswith("\n") else text + "\n"
    if head:
        head += "\n"
    return (
        head
        + "# ci_tasks: reports, session environments, build output\n"
        + "\n".join(missing)
        + "\n"
    )


OTHER_LOCKS = ("poetry.lock", "pdm.lock")
"""The locks of the project's own installer whose versions its commands run with."""


def other_lock_versions(root: Path) -> tuple[str, dict[str, str]] | None:
    """The project's Poetry or PDM lock and ``{package: version}`` in it; ``None``: none readable.

    Both write ``[[package]]`` tables with ``name`` and ``version``. A lock that is not
    TOML is left to its own tool to report.
    """
    for name in OTHER_LOCKS:
        try:
            data = tomllib.loads((root / name).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue
        packages = data.get("package")
        versions = {
            str(canonicalize_name(str(p["name"]))): str(p["version"])
            for p in (packages if isinstance(packages, list) else ())
            if isinstance(p, dict) and isinstance(p.get("name"), str) and p.get("version")
        }
        if versions:
            return name, versions
    return None
