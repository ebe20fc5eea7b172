"""ci_tasks merged into a project's own noxfile: its script block, and two lines.

A project already on nox keeps its noxfile and every session in it. :func:`merge` adds
nox and ci-tasks to the file's PEP 723 block (made when there is none; every requirement
already there is kept), ``import ci_tasks`` among the project's imports and
``ci_tasks.register()`` after its last session, before any ``if __name__ == "__main__"``:
ci_tasks' sessions must be registered after the project's own, because nox lets a later
definition replace an earlier one of the same name, and ``register()`` keeps the
project's and puts those that take the place of ours into CI's matrix. Nothing else in
the file changes. The block is edited with tomlkit, so its formatting stays as written.
A noxfile that cannot be edited this way is refused with a :class:`ConfigError`.
Everything here is pure: text in, text out.
"""

from __future__ import annotations

import ast
import dataclasses
import re
import sys

import tomlkit
import tomlkit.exceptions
import tomlkit.items
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from ci_tasks.adopt import scriptenv
from ci_tasks.core.errors import ConfigError

IMPORT = "import ci_tasks"
REGISTER = "ci_tasks.register()"
MAIN = "    ci_tasks.main()"
"""Starts nox under the guard it adds (:mod:`ci_tasks.script`)."""
# Minor versions probed to compare Python floors (3.0 to 3.39 is any CPython to come).
_PROBES = tuple(Version(f"3.{minor}") for minor in range(40))


@dataclasses.dataclass(frozen=True)
class Merged:
    """A noxfile with ci_tasks merged in, and what the merge did to its block."""

    text: str
    notes: tuple[str, ...] = ()


def _tree(text: str, source: str) -> ast.Module:
    try:
        return ast.parse(text, filename=source)
    except SyntaxError as exc:
        msg = (
            f"{source}: not valid Python (line {exc.lineno}: {exc.msg}); ci-tasks init "
            "merges only into a noxfile Python can read: fix it first"
        )
        raise ConfigError(msg) from None


def _decorated_name(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """The session name *node*'s ``@nox.session``/``@session`` decorator gives it, if any."""
    for decorator in node.decorator_list:
        call = decorator if isinstance(decorator, ast.Call) else None
        target = call.func if call is not None else decorator
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name != "session":
            continue
        for keyword in call.keywords if call is not None else []:
            if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                return str(keyword.value.value)
        return node.name
    return None


def session_names(tree: ast.AST) -> list[str]:
    """The sessions a noxfile defines (nox's registry keys), read without running it.

    A session named from a variable, or made in a loop, is not seen; a parametrized one
    is listed once, under the name ``-s`` and ``[tool.ci-tasks] ci-sessions`` take.
    """
    return [
        name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and (name := _decorated_name(node)) is not None
    ]


def read_sessions(text: str, source: str = scriptenv.NOXFILE) -> list[str]:
    """:func:`session_names` of a noxfile's text; refused when Python cannot parse it."""
    return session_names(_tree(text, source))


def _is_main_guard(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    sides = [node.test.left, *node.test.comparators]
    names = {s.id for s in sides if isinstance(s, ast.Name)}
    values = {s.value for s in sides if isinstance(s, ast.Constant)}
    return names == {"__name__"} and values == {"__main__"}


def _start_through_ci_tasks(guard: ast.stmt, lines: list[str]) -> list[str]:
    """``nox.main()`` under the ``__main__`` guard becomes ``ci_tasks.main()``, in *lines*.

    The same start, without nox walking again the dependency tree of the environment uv
    made from the block (:mod:`ci_tasks.script`). Anything else in the guard is kept.
    """
    notes = []
    for node in guard.body if isinstance(guard, ast.If) else []:
        call = node.value if isinstance(node, ast.Expr) else None
        if (
            isinstance(call, ast.Call)
            and not (call.args or call.keywords)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr == "main"
            and isinstance(call.func.value, ast.Name)
            and call.func.value.id == "nox"
            and node.lineno == node.end_lineno
        ):
            line = lines[node.lineno - 1]
            start = node.col_offset
            lines[node.lineno - 1] = line[:start] + line[start:].replace(
                "nox.main()", MAIN.strip(), 1
            )
            notes.append(f"nox.main() -> {MAIN.strip()} (nox skips re-checking what uv installed)")
    return notes


def _only_imports(node: ast.stmt) -> bool:
    """An import, or an ``if``/``try`` made of imports only (a fallback import)."""
    if isinstance(node, ast.Import | ast.ImportFrom):
        return True
    if isinstance(node, ast.If):
        return all(map(_only_imports, [*node.body, *node.orelse]))
    if isinstance(node, ast.Try):
        handlers = [s for h in node.handlers for s in h.body]
        return all(map(_only_imports, [*node.body, *handlers, *node.orelse, *node.finalbody]))
    return False


def _module(node: ast.stmt) -> str:
    """The top-level module an import (or the first import of a fallback block) names."""
    while isinstance(node, ast.If | ast.Try):
        node = node.body[0]
    if isinstance(node, ast.Import):
        return node.names[0].name.split(".")[0]
    return ("." if isinstance(node, ast.ImportFrom) and node.level else "") + (
        getattr(node, "module", None) or ""
    ).split(".")[0]


def _section(run: list[ast.stmt], first_party: frozenset[str]) -> str:
    """The isort section of a block of imports: future, stdlib, first-party, third-party."""
    module = _module(run[0])
    if module == "__future__":
        return "future"
    if module in sys.stdlib_module_names:
        return "stdlib"
    if module in first_party or module.startswith("."):
        return "first"
    return "third"


def _import_runs(body: list[ast.stmt]) -> list[list[ast.stmt]]:
    """The module's blocks of imports: consecutive lines, no blank line between."""
    runs: list[list[ast.stmt]] = []
    for node in body:
        if not _only_imports(node):
            continue
        if runs and _adjacent(runs[-1][-1], node):
            runs[-1].append(node)
        else:
            runs.append([node])
    return runs


def _adjacent(above: ast.stmt, below: ast.stmt) -> bool:
    return below.lineno - (above.end_lineno or above.lineno) == 1


def _import_lines(body: list[ast.stmt], first_party: frozenset[str]) -> tuple[int, list[str]]:
    """Where ``import ci_tasks`` goes (the index of the line it goes before), and the lines.

    Where isort (and ruff's ``I`` rules) put it, so a project whose linter sorts imports
    stays clean: in name order among the plain imports of the first third-party block;
    with none, a block of its own before the first-party imports, or after the standard
    library's. *first_party* names the project's own top-level packages.
    """
    runs = _import_runs(body)
    sections = [_section(run, first_party) for run in runs]
    if "third" in sections:
        run = runs[sections.index("third")]
        plain = [n for n in run if isinstance(n, ast.Import)]
        for node in plain:
            if node.names[0].name.lower() > "ci_tasks":
                return node.lineno - 1, [IMPORT]
        after = plain[-1] if plain else None
        if after is None:
            return run[0].lineno - 1, [IMPORT]
        return after.end_lineno or after.lineno, [IMPORT]
    if "first" in sections:
        return runs[sections.index("first")][0].lineno - 1, [IMPORT, ""]
    if runs:
        last = runs[-1][-1]
        return last.end_lineno or last.lineno, ["", IMPORT]
    first = body[0]
    docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
    return (first.end_lineno or first.lineno, ["", IMPORT]) if docstring else (0, [IMPORT])


def _has_import(body: list[ast.stmt]) -> bool:
    plain = [alias for n in body if isinstance(n, ast.Import) for alias in n.names]
    return any(alias.name == "ci_tasks" and alias.asname is None for alias in plain)


def _has_register(body: list[ast.stmt]) -> bool:
    for node in body:
        value = node.value if isinstance(node, ast.Expr) else None
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
            owner = value.func.value
            if value.func.attr == "register" and getattr(owner, "id", "") == "ci_tasks":
                return True
    return False


def _raised_floor(current: str | None, floor: str, source: str) -> tuple[str | None, str]:
    """The block's ``requires-python`` once it meets ci_tasks' *floor*, and a note.

    The block's floor is the CI environment's (the interpreter nox runs under), not the
    project's: the project's sessions make their own environments, for the Pythons they
    name. A lower bound under *floor* is raised to it; every other bound stays.
    """
    if current is None:
        return floor, f"requires-python {floor}: ci_tasks' own floor"
    try:
        spec = SpecifierSet(current)
    except InvalidSpecifier:
        msg = f"{source}: script block: requires-python {current!r} is not a version specifier"
        raise ConfigError(msg) from None
    wanted = SpecifierSet(floor)
    if not any(v in spec and v not in wanted for v in _PROBES):
        return None, ""
    kept = [str(s) for s in spec if s.operator not in (">=", ">")]
    raised = ",".join([floor, *kept])
    if not any(v in SpecifierSet(raised) for v in _PROBES):
        msg = (
            f"{source}: script block: requires-python {current!r} admits no Python "
            f"ci-tasks runs on ({floor}): widen it, or remove it and let init set it"
        )
        raise ConfigError(msg)
    return raised, f"requires-python {current} -> {raised}: ci_tasks needs {floor}"


def _requirement_names(entries: tomlkit.items.Array, source: str) -> list[str]:
    names: list[str] = []
    for entry in entries:
        try:
            names.append(canonicalize_name(Requirement(str(entry)).name))
        except InvalidRequirement:
            msg = f"{source}: script block: dependency {str(entry)!r} is not a requirement"
            raise ConfigError(msg) from None
    return names


def _merge_block(content: str, spec: scriptenv.ScriptSpec, source: str) -> tuple[str, list[str]]:
    """The block's TOML with nox, ci-tasks, their floor and sources; the project's kept."""
    try:
        document = tomlkit.parse(content)
        current = document.get("requires-python")
        floor, note = _raised_floor(
            None if current is None else str(current), spec.requires_python, source
        )
        notes = [note] if note else []
        if floor is not None and current is None:
            document = tomlkit.parse(f'requires-python = "{floor}"\n' + content)
        elif floor is not None:
            document["requires-python"] = floor
        if "dependencies" not in document:
            document["dependencies"] = tomlkit.array()
        entries = document["dependencies"]
        if not isinstance(entries, tomlkit.items.Array):
            msg = f"{source}: script block: dependencies must be an array of requirements"
            raise ConfigError(msg)
        for requirement in spec.dependencies:
            name = canonicalize_name(Requirement(requirement).name)
            names = _requirement_names(entries, source)
            if name not in names:
                entries.append(requirement)
                notes.append(f"+{requirement}")
            elif name == "ci-tasks" and str(entries[names.index(name)]) != requirement:
                entries[names.index(name)] = requirement  # ours: init keeps its pin current
                notes.append(f"{requirement}")
            # The project's own nox requirement stays: ci-tasks' bounds it in the lock.
        for source_name, table in spec.sources:
            tool = document.setdefault("tool", tomlkit.table(is_super_table=True))
            uv = tool.setdefault("uv", tomlkit.table(is_super_table=True))
            sources = uv.setdefault("sources", tomlkit.table())
            sources[source_name] = tomlkit.parse(f"value = {table}")["value"]
    except (tomlkit.exceptions.TOMLKitError, AttributeError, TypeError) as exc:
        msg = f"{source}: script block: not a table init can edit ({exc})"
        raise ConfigError(msg) from None
    text = tomlkit.dumps(document)
    return text if text.endswith("\n") else text + "\n", notes


def _commented(content: str) -> list[str]:
    return [f"# {line}" if line else "#" for line in content.splitlines()]


def _with_block(
    lines: list[str], spec: scriptenv.ScriptSpec, source: str
) -> tuple[list[str], list[str]]:
    """*lines* with ci_tasks' requirements in their script block (one made if none).

    Also returns what changed in the block, a phrase each.
    """
    text = "".join(lines)
    found = [m for m in scriptenv.script_blocks(text) if m.group("type") == "script"]
    if len(found) > 1:
        msg = f"{source}: more than one `# /// script` block (PEP 723 allows one): keep one"
        raise ConfigError(msg)
    if not found:
        block = scriptenv.render_block(spec).splitlines(keepends=True)
        start = 1 if lines and lines[0].startswith("#!") else 0
        gap = [] if len(lines) > start and not lines[start].strip() else ["\n"]
        return [*lines[:start], *block, *gap, *lines[start:]], ["script block added"]
    match = found[0]
    merged, notes = _merge_block(scriptenv.block_content(match), spec, source)
    first = text.count("\n", 0, match.start("content"))
    last = first + match.group("content").count("\n")
    return [*lines[:first], *(f"{c}\n" for c in _commented(merged)), *lines[last:]], notes


def merge(
    text: str,
    spec: scriptenv.ScriptSpec,
    source: str = scriptenv.NOXFILE,
    first_party: frozenset[str] = frozenset(),
) -> Merged:
    """*text* (a project's noxfile) running ci_tasks' sessions beside its own.

    *first_party* names the project's own packages, which isort keeps in a block apart.

    Refused, with a one-line :class:`ConfigError`, when Python cannot parse it, when its
    script block cannot be edited, or when there is no module-level place for
    ``register()`` after every session (one defined after the ``__main__`` guard).
    Merging again changes nothing but a ci-tasks pin that moved.
    """
    tree = _tree(text, source)
    body = tree.body
    guard = next((i for i, node in enumerate(body) if _is_main_guard(node)), len(body))
    late = session_names(ast.Module(body=body[guard + 1 :], type_ignores=[]))
    if late:
        msg = (
            f'{source}: session {late[0]!r} is defined after `if __name__ == "__main__"`, '
            "so no module-level place sees every session before nox starts: move it above"
        )
        raise ConfigError(msg)
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    notes: list[str] = []
    # Insert from the bottom up, so the line numbers ast gave stay right.
    if guard == len(body):
        # `uv run --script noxfile.py` runs the file: without this guard nox never starts.
        lines += [newline, newline, f'if __name__ == "__main__":{newline}', MAIN + newline]
        notes.append(f'+if __name__ == "__main__": {MAIN.strip()} (so uv run --script starts nox)')
    else:
        notes += _start_through_ci_tasks(body[guard], lines)
    if not _has_register(body) and body[:guard]:
        before = body[guard - 1]
        at = before.end_lineno or before.lineno
        spaced = isinstance(before, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        lines[at:at] = [newline] * (2 if spaced else 1) + [REGISTER + newline]
    elif not _has_register(body):
        lines.insert(0, REGISTER + newline)
    if not _has_import(body):
        at, added = _import_lines(body, first_party) if body else (0, [IMPORT])
        lines[at:at] = [line + newline for line in added]
    with_block, changed = _with_block(lines, spec, source)
    # The tools the project pins in pre-commit, as a block init writes carries them.
    merged = scriptenv.apply_pins("".join(with_block), spec.pins)
    if newline != "\n":
        merged = re.sub(r"\r?\n", newline, merged)
    return Merged(merged, (*changed, *notes))
