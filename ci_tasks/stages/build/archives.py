"""Reading sdists and wheels member by member, and saying how two builds differ.

Two builds that should be identical are compared by SHA-256 first; when the bytes
differ, :func:`differences` names what differs *inside* the archives (a file's content,
its timestamp or mode, a file present in only one, the order, or only the archive's own
header), because "hashes differ" gives a maintainer nothing to fix.
"""

from __future__ import annotations

import dataclasses
import hashlib
import tarfile
import zipfile
from pathlib import Path

_GZIP_MTIME = slice(4, 8)


@dataclasses.dataclass(frozen=True)
class Member:
    """One file (or directory, link) in an archive."""

    name: str
    sha256: str
    size: int
    mode: int
    mtime: str
    """The stored timestamp, as text (tar: seconds; zip: the date-time tuple)."""


@dataclasses.dataclass(frozen=True)
class Contents:
    """An archive's members in stored order, and its header bytes that are not members."""

    members: tuple[Member, ...]
    header: str = ""


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file, hex."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_archive(path: Path) -> Contents:
    """The members of a wheel (zip) or an sdist (``.tar.gz``); nothing is extracted."""
    if path.name.endswith(".whl") or zipfile.is_zipfile(path):
        return _read_zip(path)
    return _read_tar(path)


def _read_zip(path: Path) -> Contents:
    members = []
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            data = archive.read(info) if not info.is_dir() else b""
            members.append(
                Member(
                    name=info.filename,
                    sha256=hashlib.sha256(data).hexdigest(),
                    size=info.file_size,
                    mode=info.external_attr >> 16,
                    mtime="-".join(str(part) for part in info.date_time),
                )
            )
    return Contents(tuple(members))


def _read_tar(path: Path) -> Contents:
    members = []
    with path.open("rb") as raw:
        header = raw.read(10)
    with tarfile.open(path, "r:*") as archive:
        for info in archive.getmembers():
            data = b""
            if info.isfile():
                extracted = archive.extractfile(info)
                data = extracted.read() if extracted is not None else b""
            owner = f"{info.uid}:{info.gid}:{info.uname}:{info.gname}"
            members.append(
                Member(
                    name=info.name,
                    sha256=hashlib.sha256(data).hexdigest(),
                    size=info.size,
                    mode=info.mode,
                    mtime=f"{info.mtime} {owner}",
                )
            )
    gzip_mtime = int.from_bytes(header[_GZIP_MTIME], "little") if header[:2] == b"\x1f\x8b" else 0
    return Contents(tuple(members), header=f"gzip mtime {gzip_mtime}")


def differences(first: Contents, second: Contents) -> list[str]:
    """What differs between two builds of one archive, one line per finding (pure).

    Content differences come first: they are what a maintainer has to fix.
    """
    one = {m.name: m for m in first.members}
    two = {m.name: m for m in second.members}
    content, metadata = [], []
    for name in sorted(one.keys() | two.keys()):
        a, b = one.get(name), two.get(name)
        if a is None:
            content.append(f"{name}: only in the second build")
        elif b is None:
            content.append(f"{name}: only in the first build")
        elif a.sha256 != b.sha256:
            content.append(f"{name}: content differs")
        else:
            what = [
                label
                for label, x, y in (("timestamp/owner", a.mtime, b.mtime), ("mode", a.mode, b.mode))
                if x != y
            ]
            if what:
                metadata.append(f"{name}: {' and '.join(what)} differ")
    found = content + metadata
    if not found and [m.name for m in first.members] != [m.name for m in second.members]:
        found.append("members are stored in a different order")
    if not found and first.header != second.header:
        found.append(f"archive header differs ({first.header} vs {second.header})")
    return found
