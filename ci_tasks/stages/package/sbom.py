"""A CycloneDX (1.6, JSON) SBOM of a project's locked runtime dependencies, from ``uv.lock``.

Runtime means: the project's own ``dependencies`` and, transitively, theirs (with the
extras they ask for); dev groups and the project's optional extras are left out. The
lock is universal, so dependencies behind platform markers are listed too. The document
is deterministic (timestamp from ``SOURCE_DATE_EPOCH``, serial number derived from the
content), so building twice gives the same SBOM.
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

SPEC_VERSION = "1.6"
_NAMESPACE = uuid.UUID("6f1d4c1e-0a5b-4a47-9d6e-2f43c1b0b1a5")
_ROOT_SOURCES = ("editable", "virtual")


class LockError(ValueError):
    """``uv.lock`` is not what uv writes (names what is wrong)."""


def _key(package: Mapping[str, Any]) -> tuple[str, str]:
    return str(package["name"]), str(package.get("version", ""))


def _purl(package: Mapping[str, Any]) -> str | None:
    name, version = _key(package)
    source = package.get("source", {})
    if "registry" in source:
        return f"pkg:pypi/{name}@{version}"
    if "git" in source:
        return f"pkg:pypi/{name}@{version}?vcs_url=git%2B{source['git'].replace(':', '%3A')}"
    return None


def _ref(package: Mapping[str, Any]) -> str:
    return _purl(package) or "{}@{}".format(*_key(package))


def runtime_closure(  # noqa: C901 - one walk over the lock graph reads best whole
    lock: Mapping[str, Any], project: str
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """The root package named *project*, its runtime dependencies in lock order, and the graph."""
    packages = lock.get("package")
    if not isinstance(packages, list):
        msg = "no [[package]] entries"
        raise LockError(msg)
    by_name: dict[str, list[dict[str, Any]]] = {}
    for package in packages:
        if not isinstance(package, dict) or "name" not in package:
            msg = "a [[package]] entry without a name"
            raise LockError(msg)
        by_name.setdefault(package["name"], []).append(package)
    roots = [p for p in by_name.get(project, []) if set(p.get("source", {})) & set(_ROOT_SOURCES)]
    if not roots:
        msg = f"the project {project!r} is not in it (is the lock for another project?)"
        raise LockError(msg)
    root = roots[0]
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    queue: list[tuple[dict[str, Any], tuple[str, ...]]] = [(root, ())]
    edges: dict[tuple[str, str], set[str]] = {}
    while queue:
        package, extras = queue.pop()
        wanted = list(package.get("dependencies", []))
        for extra in extras:
            wanted += package.get("optional-dependencies", {}).get(extra, [])
        targets = edges.setdefault(_key(package), set())
        for dep in wanted:
            candidates = by_name.get(dep["name"], [])
            if "version" in dep:
                candidates = [c for c in candidates if c.get("version") == dep["version"]]
            if not candidates:
                msg = f"{package['name']} depends on {dep['name']!r}, which has no entry"
                raise LockError(msg)
            for target in candidates:
                targets.add(_ref(target))
                key = _key(target)
                dep_extras = tuple(dep.get("extra", ()))
                if key not in seen or dep_extras:
                    seen[key] = target
                    queue.append((target, dep_extras))
    seen.pop(_key(root), None)
    order = {_key(p): i for i, p in enumerate(packages)}
    closure = sorted(seen.values(), key=lambda p: order[_key(p)])
    graph = [
        {"ref": _ref(p), "dependsOn": sorted(edges.get(_key(p), set()))} for p in [root, *closure]
    ]
    return root, closure, graph


def _component(package: Mapping[str, Any], kind: str = "library") -> dict[str, Any]:
    name, version = _key(package)
    component: dict[str, Any] = {"type": kind, "bom-ref": _ref(package), "name": name}
    if version:
        component["version"] = version
    purl = _purl(package)
    if purl:
        component["purl"] = purl
    references = []
    files: Sequence[Mapping[str, Any]] = [
        *([package["sdist"]] if "sdist" in package else []),
        *package.get("wheels", []),
    ]
    for file in files:
        if "url" not in file:
            continue
        reference: dict[str, Any] = {"type": "distribution", "url": file["url"]}
        algorithm, _, digest = str(file.get("hash", "")).partition(":")
        if algorithm == "sha256" and digest:
            reference["hashes"] = [{"alg": "SHA-256", "content": digest}]
        references.append(reference)
    if references:
        component["externalReferences"] = references
    return component


def make_sbom(
    lock_text: str, project: str, *, epoch: int, tool_version: str = "0"
) -> dict[str, Any]:
    """The CycloneDX document for *project*'s locked runtime dependencies (pure).

    Raises :class:`LockError` when the lock cannot be read as uv's.
    """
    try:
        lock = tomllib.loads(lock_text)
    except tomllib.TOMLDecodeError as exc:
        msg = f"not valid TOML ({exc})"
        raise LockError(msg) from None
    root, closure, graph = runtime_closure(lock, project)
    body: dict[str, Any] = {
        "components": [_component(p) for p in closure],
        "dependencies": graph,
    }
    serial = uuid.uuid5(_NAMESPACE, json.dumps([project, body], sort_keys=True))
    stamp = dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "$schema": f"http://cyclonedx.org/schema/bom-{SPEC_VERSION}.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": f"urn:uuid:{serial}",
        "version": 1,
        "metadata": {
            "timestamp": stamp,
            "tools": {
                "components": [{"type": "application", "name": "ci-tasks", "version": tool_version}]
            },
            "component": _component(root, "application"),
        },
        **body,
    }
