"""The reports CI uploaded: archives fetched and checked, kept under ``.ci-tasks/ci-run/``.

A scheduled readiness run checks out a fresh tree with no reports of its own; the CI
workflow uploads each session's ``.ci-tasks/`` as the artifact ``ci-tasks-<session>-<os>``
(:data:`ci_tasks.core.reports.ARTIFACT_PREFIX`), and a tests session's durations alone as
``durations-<session>-<os>``. An archive is untrusted input: it is
read in memory and checked whole (:func:`check_archive`) before anything is written, and
only the report names readiness reads are ever written, each to a path this module
builds, never to one taken from the archive.
"""

from __future__ import annotations

import dataclasses
import io
import re
import shutil
import stat
import urllib.parse
import zipfile
import zlib
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ci_tasks.core import masking, reports
from ci_tasks.core.errors import ServiceUnavailable
from ci_tasks.core.github import PER_PAGE, Artifact, GitHubClient

if TYPE_CHECKING:
    import requests  # loaded on use, as in core.github: it costs 0.1 s at start-up

STORE_DIR = f"{reports.REPORT_DIR}/ci-run"
MANIFEST = "ci-run.json"
MANIFEST_SCHEMA = "ci-tasks/ci-run-evidence"
MAX_MEMBERS = 1000
_FOLDER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]*$"
_ARTIFACT_NAME = re.compile(rf"^{re.escape(reports.ARTIFACT_PREFIX)}{_NAME}")
_DURATIONS_NAME = re.compile(rf"^{re.escape(reports.DURATIONS_ARTIFACT_PREFIX)}{_NAME}")


class ArchiveRefused(ValueError):
    """An archive that is not used; the message is the one-line reason."""


@dataclasses.dataclass(frozen=True)
class CIFile:
    """A report file out of an artifact."""

    artifact: str
    name: str
    """Relative to the artifact's root: ``lint-report.json``, ``tests-3.11/flaky-history.json``."""
    data: bytes


@dataclasses.dataclass(frozen=True)
class RunEvidence:
    """The report files of one CI run, and what was not used and why."""

    run_id: int
    label: str
    """``CI run #1234``: how the checklist names where the evidence came from."""
    head_sha: str
    artifacts: tuple[int, ...]
    """The ids of the artifacts the files came from (what the stored copy is of)."""
    files: tuple[CIFile, ...]
    refused: tuple[str, ...] = ()
    """One line per artifact not used (hostile, oversized, expired)."""
    stored: bool = False
    """Read back from ``.ci-tasks/ci-run/`` rather than downloaded."""


def is_ours(name: str) -> bool:
    """Whether an artifact is one of the reports ci_tasks' CI workflow uploads.

    ``ci-tasks-<session>-<os>``, and a safe folder name.
    """
    return bool(_ARTIFACT_NAME.match(name)) and name not in {".", ".."}


def is_durations(name: str) -> bool:
    """Whether an artifact name is a tests job's durations alone (``durations-*``)."""
    return bool(_DURATIONS_NAME.match(name))


def _member_path(name: str) -> tuple[str, ...]:
    """The parts of a member's path, relative to ``.ci-tasks/``; raises when it escapes."""
    if "\\" in name or "\0" in name or name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        msg = f"member {name!r} is not a relative path"
        raise ArchiveRefused(msg)
    parts = tuple(p for p in name.split("/") if p not in {"", "."})
    if ".." in parts:
        msg = f"member {name!r} points outside {reports.REPORT_DIR}/"
        raise ArchiveRefused(msg)
    # upload-artifact stores paths relative to the folder uploaded; accept the folder too.
    return parts[1:] if parts[:1] == (reports.REPORT_DIR,) else parts


def over_cap(what: str, size: int, max_bytes: int) -> ArchiveRefused:
    """The refusal of an archive *what* (``is``, ``unpacks to``) *size* bytes."""
    return ArchiveRefused(
        f"the archive {what} {size / 1e6:.1f} MB, over the {max_bytes / 1e6:g} MB cap"
    )


_READ_ERRORS = (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError)


def _members(data: bytes, max_bytes: int) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    """The archive and its members, once its size and count are within bounds."""
    if len(data) > max_bytes:
        raise over_cap("is", len(data), max_bytes)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        msg = f"not a readable zip archive ({exc})"
        raise ArchiveRefused(msg) from None
    if len(members) > MAX_MEMBERS:
        msg = f"the archive has {len(members)} members, over {MAX_MEMBERS}"
        raise ArchiveRefused(msg)
    unpacked = sum(m.file_size for m in members)
    if unpacked > max_bytes:
        raise over_cap("unpacks to", unpacked, max_bytes)
    return archive, members


def _select(
    members: list[zipfile.ZipInfo], allowed: Collection[str], in_folders: Collection[str]
) -> dict[str, zipfile.ZipInfo]:
    """The wanted reports among *members*, by relative path; raises at a hostile member."""
    wanted: dict[str, zipfile.ZipInfo] = {}
    seen: set[tuple[str, ...]] = set()
    for member in members:
        parts = _member_path(member.filename)
        kind = stat.S_IFMT(member.external_attr >> 16)
        if kind not in {0, stat.S_IFREG, stat.S_IFDIR}:
            msg = f"member {member.filename!r} is a link or a device, not a file"
            raise ArchiveRefused(msg)
        if member.is_dir():
            continue
        if parts in seen:
            msg = f"member {member.filename!r} appears twice"
            raise ArchiveRefused(msg)
        seen.add(parts)
        if is_wanted(parts, allowed, in_folders):
            wanted["/".join(parts)] = member
    return wanted


def is_wanted(parts: Sequence[str], allowed: Collection[str], in_folders: Collection[str]) -> bool:
    """``<name>`` in *allowed*, or ``<session>/<name>`` with *name* in *in_folders*."""
    if len(parts) == 1:
        return parts[0] in allowed
    return len(parts) == 2 and bool(_FOLDER.match(parts[0])) and parts[1] in in_folders  # noqa: PLR2004


def check_archive(
    data: bytes,
    *,
    allowed: Collection[str],
    in_folders: Collection[str] = (),
    max_bytes: int,
) -> dict[str, bytes]:
    """The wanted report files in the zip *data* by relative path, or :class:`ArchiveRefused`.

    Wanted: a name in *allowed* at the top, or a name in *in_folders* one session
    folder down (``tests-3.11/flaky-history.json``). Pure.

    The whole archive is refused when any member would escape ``.ci-tasks/`` (absolute
    path, ``..``, backslash, drive), is a symlink or a device, appears twice, or when the
    archive is larger than *max_bytes* packed or unpacked (a zip bomb declares small and
    expands large: reading stops at the declared size and the CRC check catches a lie).
    Other plain files (``junit.xml``, ...) are safe and simply not used.
    """
    archive, members = _members(data, max_bytes)
    found = {}
    for name, member in sorted(_select(members, allowed, in_folders).items()):
        try:
            with archive.open(member) as handle:
                found[name] = handle.read(member.file_size + 1)
        except (*_READ_ERRORS, zlib.error) as exc:
            msg = f"member {member.filename!r} cannot be read ({exc})"
            raise ArchiveRefused(msg) from None
        if len(found[name]) > member.file_size:
            msg = f"member {member.filename!r} expands beyond its declared size"
            raise ArchiveRefused(msg)
    return found


def _store(root: Path) -> Path:
    return root / STORE_DIR


def save(root: Path, evidence: RunEvidence) -> None:
    """Keep *evidence* under ``.ci-tasks/ci-run/<artifact>/<name>``, replacing the last run's.

    The manifest goes last and the old one first, so an interrupted save is never
    mistaken for a complete one: the next run downloads again.
    """
    store = _store(root)
    report_dir = reports.report_dir(root).resolve()
    (store / MANIFEST).unlink(missing_ok=True)
    if store.is_dir() and not store.is_symlink():
        for child in store.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
    elif store.is_symlink():
        store.unlink()
    for file in evidence.files:
        # Both parts were checked (is_ours, the allow-list); resolve() guards a planted link.
        target = store / file.artifact / file.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.parent.resolve().is_relative_to(report_dir):
            msg = f"{target.parent} is not inside {reports.REPORT_DIR}/"
            raise ArchiveRefused(msg)
        reports.atomic_write(target, file.data)
    reports.write_json(
        store / MANIFEST,
        {
            "schema": MANIFEST_SCHEMA,
            "version": 1,
            "run_id": evidence.run_id,
            "label": evidence.label,
            "head_sha": evidence.head_sha,
            "artifacts": list(evidence.artifacts),
            "files": [[f.artifact, f.name] for f in evidence.files],
        },
    )


def load(root: Path, run_id: int, artifacts: Collection[int]) -> RunEvidence | None:
    """The stored evidence of run *run_id* if it is complete and of these *artifacts*."""
    store = _store(root)
    manifest: Any = reports.read_json(store / MANIFEST)
    if (
        not isinstance(manifest, dict)
        or manifest.get("schema") != MANIFEST_SCHEMA
        or manifest.get("run_id") != run_id
        or sorted(manifest.get("artifacts") or ()) != sorted(artifacts)
    ):
        return None
    files = []
    for entry in manifest.get("files") or ():
        artifact, name = (str(x) for x in entry)
        path = store / artifact / name
        parts = name.split("/")
        if not is_ours(artifact) or not all(map(_FOLDER.match, parts)) or not path.is_file():
            return None
        files.append(CIFile(artifact, name, path.read_bytes()))
    return RunEvidence(
        run_id=run_id,
        label=str(manifest.get("label")),
        head_sha=str(manifest.get("head_sha")),
        artifacts=tuple(sorted(artifacts)),
        files=tuple(files),
        stored=True,
    )


def parse_artifact(raw: Mapping[str, Any]) -> Artifact:
    """One entry of a (trimmed) ``List workflow run artifacts`` answer."""
    return Artifact(
        id=int(raw.get("id") or 0),
        name=str(raw.get("name") or ""),
        size=int(raw.get("size_in_bytes") or 0),
        expired=raw.get("expired") is True,
        download_url=str(raw.get("archive_download_url") or ""),
    )


class ArtifactSource(Protocol):
    """What :func:`gather` needs of the GitHub client."""

    def run_artifacts(self, run_id: int) -> list[Artifact]:
        """The artifacts of run *run_id*."""
        ...

    def download(self, url: str, max_bytes: int) -> bytes | None:
        """An artifact's archive (``None``: gone), never more than *max_bytes*."""
        ...


def gather(
    source: ArtifactSource,
    root: Path,
    *,
    run_id: int,
    label: str,
    head_sha: str,
    allowed: Collection[str],
    in_folders: Collection[str] = (),
    max_bytes: int,
    wanted: Callable[[str], bool] = is_ours,
) -> RunEvidence:
    """The report files CI run *run_id* uploaded (nothing is written here).

    The stored copy when it is of the same artifacts; else each of ci_tasks' artifacts
    (those *wanted*: by default the reports, never the durations-only ones) downloaded and
    checked, a refused one noted in :attr:`RunEvidence.refused`.
    """
    listed = [a for a in source.run_artifacts(run_id) if wanted(a.name)]
    refused = [f"{a.name}: expired" for a in listed if a.expired]
    live = [a for a in listed if not a.expired]
    stored = load(root, run_id, [a.id for a in live])
    if stored is not None:
        return dataclasses.replace(stored, refused=tuple(refused))
    files: list[CIFile] = []
    used: list[int] = []
    for artifact in sorted(live, key=lambda a: a.name):
        try:
            if artifact.size > max_bytes:
                raise over_cap("is", artifact.size, max_bytes)
            data = source.download(artifact.download_url, max_bytes)
            if data is None:
                refused.append(f"{artifact.name}: expired or deleted")
                continue
            found = check_archive(data, allowed=allowed, in_folders=in_folders, max_bytes=max_bytes)
        except ArchiveRefused as exc:
            refused.append(f"{artifact.name}: refused, {exc}")
            continue
        used.append(artifact.id)
        files += [CIFile(artifact.name, name, found[name]) for name in sorted(found)]
    return RunEvidence(
        run_id=run_id,
        label=label,
        head_sha=head_sha,
        artifacts=tuple(sorted(used)),
        files=tuple(files),
        refused=tuple(refused),
    )


ARTIFACT_FIELDS = ("id", "name", "size_in_bytes", "expired", "archive_download_url")
REDIRECTS = frozenset({301, 302, 303, 307, 308})


class ArtifactsClient(GitHubClient):
    """The GitHub client with a run's artifacts: listed, and downloaded without credentials.

    It answers every method of :class:`~ci_tasks.core.github.GitHub`.
    """

    def run_artifacts(self, run_id: int) -> list[Artifact]:
        """The artifacts of workflow run *run_id* (every page, each remembered for ETags)."""
        path = f"/repos/{self.repository}/actions/runs/{run_id}/artifacts"
        pages = self.pages(
            path, {"per_page": PER_PAGE}, key="artifacts", cut=ARTIFACT_FIELDS, remember=True
        )
        return [parse_artifact(raw) for page in pages for raw in page]

    def download(self, url: str, max_bytes: int) -> bytes | None:
        """The archive behind an artifact's ``archive_download_url``; ``None`` when gone.

        The API answers with a redirect to a short-lived signed URL on a storage host. That
        request is made here, not by requests, and carries no credentials: requests drops
        ``Authorization`` on a redirect only when host, port or scheme change, and may add
        ``~/.netrc`` credentials for the new host. Its URL is never shown (the query is the
        signature). More than *max_bytes* is refused without reading further.
        """
        # Streamed: an archive served in place is read no further than the cap.
        response = self._answer(url, allow_redirects=False, stream=True)
        if response.status_code in {404, 410}:  # expired (410) or deleted since it was listed
            response.close()
            return None
        if response.status_code == 200:  # noqa: PLR2004 - served in place (no storage host)
            return _capped(response, max_bytes)
        response.close()
        location = response.headers.get("Location")
        if response.status_code not in REDIRECTS or not location:
            self._fail(response, url)
        target = urllib.parse.urljoin(url, location)
        parts = urllib.parse.urlsplit(target)
        host, scheme = parts.hostname or "?", parts.scheme
        masking.default_masker().add(parts.query)  # the signature: a credential for a minute
        if scheme != "https" and scheme != urllib.parse.urlsplit(self.base_url).scheme:
            msg = f"{self._what(url)}: redirected to {scheme}://{host}, which is not https"
            raise ServiceUnavailable(msg)
        self.requests += 1
        import requests  # noqa: PLC0415 - loaded on use

        try:
            stored = self.http.get(
                target,
                headers={"Accept": "application/zip"},
                auth=_no_credentials,
                allow_redirects=False,
                stream=True,
                timeout=self._timeout(),
            )
        except requests.RequestException:
            msg = f"artifact storage {host}: no answer (after retries)"
            raise ServiceUnavailable(msg) from None
        if stored.status_code != 200:  # noqa: PLR2004
            msg = f"artifact storage {host}: answered HTTP {stored.status_code} (after retries)"
            raise ServiceUnavailable(msg)
        return _capped(stored, max_bytes)


def _no_credentials(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """An ``auth`` that sends none (passing it stops requests reading ``~/.netrc``)."""
    request.headers.pop("Authorization", None)
    return request


def _capped(response: requests.Response, max_bytes: int) -> bytes:
    """The body of a streamed *response*, refused past *max_bytes* (read no further)."""
    cap = f"over the {max_bytes / 1e6:g} MB cap"
    try:
        declared = int(response.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    if declared > max_bytes:
        response.close()
        msg = f"the archive is {declared / 1e6:.1f} MB, {cap}"
        raise ArchiveRefused(msg)
    data = bytearray()
    import requests  # noqa: PLC0415 - loaded on use

    try:
        for chunk in response.iter_content(64 * 1024):
            data += chunk
            if len(data) > max_bytes:
                msg = f"the archive is larger than {max_bytes / 1e6:g} MB, {cap}"
                raise ArchiveRefused(msg)
    except requests.RequestException:
        msg = "artifact storage: the download broke off (after retries)"
        raise ServiceUnavailable(msg) from None
    finally:
        response.close()
    return bytes(data)
