"""The pinning policy, as pure checks over ``pyproject.toml`` and ``.github/workflows``.

* dependency groups are pinned by a current, committed ``uv.lock``; the groups named in
  ``exact-groups`` (none by default) must also pin every entry with ``==`` (or ``===``);
  without such a lock every entry of every group must;
* every ``uses:`` in a workflow names a 40-hex commit SHA (a tag or a branch can be
  moved under you; local ``./`` actions are fine, Docker images need a ``sha256`` digest);
* a ``pip install`` in a workflow ``run:`` carries ``--require-hashes``.

:func:`check` reads the files and never runs anything, so ``readiness`` can call it too.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ci_tasks.core.errors import ConfigError
from ci_tasks.core.workflow_files import workflow_files

if TYPE_CHECKING:
    import yaml

_REQUIREMENT = re.compile(
    r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?P<extras>\[[^\]]*\])?\s*"
    r"(?P<spec>[^;]*?)\s*(?:;.*)?$"
)
_EXACT = re.compile(r"^===?\s*[^\s,*]+$")
_SHA = re.compile(r"^[0-9a-f]{40}$")
_PIP_INSTALL = re.compile(r"(?:^|[\s;&|(])(?:\S*/)?pip3?(?:\.\d+)?\s+install\b")


@dataclasses.dataclass(frozen=True)
class Finding:
    """One lint finding: which rule, where (``line`` is 1-based, or ``None``), and why."""

    rule: str
    file: str
    line: int | None
    message: str
    code: str | None = None
    """The tool's own code for it (ruff's ``E501``, mypy's ``arg-type``), where it has one."""

    @property
    def ids(self) -> tuple[str, ...]:
        """What an ignore's ``rule`` may name: the code, or the whole kind."""
        return (self.code, self.rule) if self.code else (self.rule,)

    def as_dict(self) -> dict[str, Any]:
        """The finding as the lint report stores it."""
        return dataclasses.asdict(self)


def _line_of(text: str, needle: str, start: int = 0) -> int | None:
    at = text.find(needle, start)
    return None if at < 0 else text.count("\n", 0, at) + 1


def _pinned_reference(spec: str) -> bool:
    """Whether a direct reference (``name @ url``) names one exact thing.

    A local path (``file:``) is pinned by the tree it lives in and by ``uv.lock``; a VCS URL
    must name a full commit SHA; an archive URL must carry a ``sha256`` hash.
    """
    if not spec.startswith("@"):
        return False
    url = spec[1:].strip()
    if url.startswith("file:"):
        return True
    if url.startswith(("git+", "hg+", "svn+", "bzr+")):
        ref = url.split("#", 1)[0].rsplit("@", 1)
        return len(ref) == 2 and bool(_SHA.match(ref[1]))  # noqa: PLR2004 - url@ref
    return "#sha256=" in url


def check_dependency_groups(
    text: str,
    file: str = "pyproject.toml",
    groups: Sequence[str] = ("dev",),
    *,
    why: str = "is not pinned with '=='",
) -> list[Finding]:
    """Findings for entries of *groups* (``"*"``: every group) not pinned with ``==``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"{file}: not valid TOML ({exc})"
        raise ConfigError(msg) from None
    table = data.get("dependency-groups", {})
    if not isinstance(table, dict):
        return []
    section = text.find("[dependency-groups]")
    findings = []
    for group, entries in table.items():
        if ("*" not in groups and group not in groups) or not isinstance(entries, list):
            continue
        for entry in entries:
            if not isinstance(entry, str):  # {include-group = "..."} is checked on its own
                continue
            match = _REQUIREMENT.match(entry)
            spec = match.group("spec") if match else entry
            if match and (_EXACT.match(spec) or _pinned_reference(spec)):
                continue
            line = _line_of(text, f'"{entry}"', max(section, 0)) or _line_of(
                text, f"'{entry}'", max(section, 0)
            )
            findings.append(
                Finding(
                    "unpinned-dev-tool",
                    file,
                    line,
                    f"dependency group {group!r}: {entry!r} {why}",
                )
            )
    return findings


def _uses_problem(value: str) -> str | None:
    if value.startswith("./"):
        return None
    if value.startswith("docker://"):
        if "@sha256:" in value:
            return None
        return f"{value!r} names a Docker image without a sha256 digest"
    action, sep, ref = value.partition("@")
    if not sep:
        return f"{value!r} has no version; pin it to a 40-hex commit SHA"
    if _SHA.match(ref):
        return None
    return f"{action}@{ref} is pinned to a tag or branch; pin it to a 40-hex commit SHA"


def _walk(node: yaml.Node) -> Iterator[tuple[str, yaml.ScalarNode]]:
    """Every ``key: scalar`` pair of a composed YAML document, with the value's node."""
    import yaml  # noqa: PLC0415 - imported when a workflow is read, not with every noxfile

    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and isinstance(value, yaml.ScalarNode):
                yield str(key.value), value
            else:
                yield from _walk(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _walk(item)


def _commands(node: yaml.ScalarNode) -> Iterator[tuple[int, str]]:
    """The shell commands of a ``run:`` value with their file line (continuations joined)."""
    block = node.style in ("|", ">")
    # A block scalar starts on the line after its indicator; a plain value on its own line.
    first = node.start_mark.line + (2 if block else 1)
    lines = str(node.value).splitlines()
    index = 0
    while index < len(lines):
        start = index
        command = lines[index]
        while command.rstrip().endswith("\\") and index + 1 < len(lines):
            index += 1
            command = command.rstrip()[:-1] + " " + lines[index]
        yield first + start, command
        index += 1


def check_workflow(text: str, file: str) -> list[Finding]:
    """Findings for one workflow: unpinned ``uses:`` and unhashed ``pip install``."""
    import yaml  # noqa: PLC0415 - imported when a workflow is read, not with every noxfile

    try:
        document = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f":{where.line + 1}" if where is not None else ""
        msg = f"{file}{at}: not valid YAML ({getattr(exc, 'problem', None) or exc})"
        raise ConfigError(msg) from None
    if document is None:
        return []
    findings = []
    for key, node in _walk(document):
        if key == "uses":
            problem = _uses_problem(str(node.value).strip())
            if problem:
                findings.append(Finding("unpinned-action", file, node.start_mark.line + 1, problem))
        elif key == "run":
            for line, command in _commands(node):
                if _PIP_INSTALL.search(command) and "--require-hashes" not in command:
                    findings.append(
                        Finding(
                            "unhashed-pip-install",
                            file,
                            line,
                            f"`{command.strip()}` installs without --require-hashes",
                        )
                    )
    return findings


def check(
    root: Path, *, exact_groups: Sequence[str] = (), lock_problem: str | None = None
) -> list[Finding]:
    """Every pinning finding of the project in *root* (reads files, runs nothing).

    A current, committed ``uv.lock`` pins the dependency groups: then only the
    *exact_groups* need ``==``. *lock_problem* says why the lock does not pin them (the
    lint session knows: "uv.lock is not committed"); a missing ``uv.lock`` is seen here.
    Without a lock that pins, every entry of every group needs ``==``.
    """
    findings = []
    pyproject = root / "pyproject.toml"
    if lock_problem is None and not (root / "uv.lock").is_file():
        lock_problem = "there is no uv.lock"
    if pyproject.is_file():
        text = pyproject.read_text(encoding="utf-8")
        if lock_problem is None:
            findings += check_dependency_groups(text, "pyproject.toml", exact_groups)
        else:
            why = f"is not pinned ({lock_problem}); commit a current uv.lock, or pin it with '=='"
            findings += check_dependency_groups(text, "pyproject.toml", ("*",), why=why)
    for path in workflow_files(root):
        relative = path.relative_to(root).as_posix()
        findings += check_workflow(path.read_text(encoding="utf-8"), relative)
    return findings
