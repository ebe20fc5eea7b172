"""Reading sdists and wheels member by member, and saying how two builds differ.

Two builds that should be identical are compared by SHA-256 first; when the bytes
differ, :func:`differences` says what differs *inside* the archives, the way
reproducible-builds' diffoscope looks at them: the **contents** (member names and
order, each member's type, bytes, mode and link target) apart from the archive's
**metadata** (member timestamps and owners, the gzip header's mtime and name, the
compression). "Hashes differ" gives a maintainer nothing to fix; "PKG-INFO: timestamp
differs" tells them it is the backend's doing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import tarfile
import zipfile
from pathlib import Path

_GZIP_FLAG_NAME = 0x08
_GZIP_FLAG_EXTRA = 0x04
_GZIP_FIXED_HEADER = 10
_ZIP_SYMLINK = 0o120000
_ZIP_TYPE_BITS = 0o170000


@dataclasses.dataclass(frozen=True)
class Member:
    """One file (or directory, link) in an archive."""

    name: str
    sha256: str
    size: int
    mode: int
    mtime: str
    """The stored timestamp, as text (tar: seconds; zip: the date-time tuple)."""
    kind: str = "file"
    """``file``, ``dir``, ``symlink``, ``hardlink`` or ``other``."""
    link: str = ""
    """A link's target."""
    owner: str = ""
    """tar: ``uid:gid:uname:gname``; zip stores none."""


@dataclasses.dataclass(frozen=True)
class Contents:
    """An archive's members in stored order, and its header bytes that are not members."""

    members: tuple[Member, ...]
    header: str = ""


@dataclasses.dataclass(frozen=True)
class Differences:
    """How two builds of one archive differ, one line per finding (content first)."""

    content: tuple[str, ...] = ()
    """What the archive holds differs: a member's bytes, mode, type or link, the list."""
    metadata: tuple[str, ...] = ()
    """Only how it was stored differs: timestamps, owners, the gzip header, compression."""
    causes: tuple[str, ...] = ()
    """The kinds of metadata that differ (``member mtimes``, ``gzip header mtime``...)."""

    def all(self) -> list[str]:
        """Every finding, content first: what a maintainer has to fix comes first."""
        return [*self.content, *self.metadata]


class ArchiveError(Exception):
    """An sdist that cannot be unpacked safely (a member escaping its folder, not a tar)."""


def unpack_sdist(sdist: Path, into: Path) -> Path:
    """Unpack *sdist* into *into* (emptied first); returns the folder it holds.

    tarfile's ``data`` filter refuses members that would land outside *into*, links
    pointing out of it and device files, as pip and uv do.
    """
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    try:
        with tarfile.open(sdist, "r:*") as archive:
            archive.extractall(into, filter="data")
    except (tarfile.TarError, OSError) as exc:
        msg = f"{sdist.name} cannot be unpacked: {exc}"
        raise ArchiveError(msg) from None
    tops = list(into.iterdir())
    if len(tops) != 1 or not tops[0].is_dir():
        msg = f"{sdist.name} holds {len(tops)} top-level entries, not one folder"
        raise ArchiveError(msg)
    return tops[0]


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
            mode = info.external_attr >> 16
            symlink = mode & _ZIP_TYPE_BITS == _ZIP_SYMLINK
            members.append(
                Member(
                    name=info.filename,
                    sha256=hashlib.sha256(data).hexdigest(),
                    size=info.file_size,
                    mode=mode,
                    mtime="-".join(str(part) for part in info.date_time),
                    kind="dir" if info.is_dir() else "symlink" if symlink else "file",
                    link=data.decode(errors="replace") if symlink else "",
                )
            )
    return Contents(tuple(members))


def _tar_kind(info: tarfile.TarInfo) -> str:
    if info.isfile():
        return "file"
    if info.isdir():
        return "dir"
    if info.issym():
        return "symlink"
    return "hardlink" if info.islnk() else "other"


def _read_tar(path: Path) -> Contents:
    members = []
    with path.open("rb") as raw:
        header = _gzip_header(raw.read(_GZIP_FIXED_HEADER + 1024))
    with tarfile.open(path, "r:*") as archive:
        for info in archive.getmembers():
            data = b""
            if info.isfile():
                extracted = archive.extractfile(info)
                data = extracted.read() if extracted is not None else b""
            members.append(
                Member(
                    name=info.name,
                    sha256=hashlib.sha256(data).hexdigest(),
                    size=info.size,
                    mode=info.mode,
                    mtime=str(info.pax_headers.get("mtime", info.mtime)),
                    kind=_tar_kind(info),
                    link=info.linkname,
                    owner=f"{info.uid}:{info.gid}:{info.uname}:{info.gname}",
                )
            )
    return Contents(tuple(members), header=header)


def _gzip_header(start: bytes) -> str:
    """The gzip header's mtime and stored file name, as text (pure)."""
    if start[:2] != b"\x1f\x8b" or len(start) < _GZIP_FIXED_HEADER:
        return ""
    flags, mtime = start[3], int.from_bytes(start[4:8], "little")
    name = ""
    if flags & _GZIP_FLAG_NAME and not flags & _GZIP_FLAG_EXTRA:
        end = start.find(b"\0", _GZIP_FIXED_HEADER)
        name = start[_GZIP_FIXED_HEADER:end].decode("latin-1") if end > 0 else ""
    return f"gzip mtime {mtime}" + (f", name {name!r}" if name else "")


def _member_content(a: Member, b: Member) -> list[str]:
    if a.kind != b.kind:
        return [f"{a.name}: a {a.kind} in the first build, a {b.kind} in the second"]
    found = []
    if a.sha256 != b.sha256:
        found.append(f"{a.name}: content differs")
    if a.link != b.link:
        found.append(f"{a.name}: link target differs ({a.link} vs {b.link})")
    if a.mode != b.mode:
        found.append(f"{a.name}: mode differs ({a.mode:o} vs {b.mode:o})")
    return found


def differences(first: Contents, second: Contents) -> Differences:
    """What differs between two builds of one archive (pure)."""
    one = {m.name: m for m in first.members}
    two = {m.name: m for m in second.members}
    content: list[str] = []
    metadata: list[str] = []
    causes: dict[str, None] = {}
    for name in sorted(one.keys() | two.keys()):
        a, b = one.get(name), two.get(name)
        if a is None:
            content.append(f"{name}: only in the second build")
        elif b is None:
            content.append(f"{name}: only in the first build")
        else:
            content += _member_content(a, b)
            what = [
                label
                for label, x, y in (("timestamp", a.mtime, b.mtime), ("owner", a.owner, b.owner))
                if x != y
            ]
            if what:
                metadata.append(f"{name}: {' and '.join(what)} differ{'s' * (len(what) == 1)}")
                causes.update((f"member {w}s", None) for w in what)
    if not content and [m.name for m in first.members] != [m.name for m in second.members]:
        content.append("members are stored in a different order")
    if first.header != second.header:
        metadata.append(f"archive header differs ({first.header} vs {second.header})")
        causes[_header_cause(first.header, second.header)] = None
    return Differences(tuple(content), tuple(metadata), tuple(causes))


ENCODING_ONLY = Differences(
    metadata=("every member and header is identical; the encoding (compression) differs",),
    causes=("compression",),
)
"""Two archives whose bytes differ although :func:`differences` finds nothing."""


def _header_cause(first: str, second: str) -> str:
    mtime_one, _, name_one = first.partition(", ")
    mtime_two, _, name_two = second.partition(", ")
    pairs = (("mtime", mtime_one, mtime_two), ("name", name_one, name_two))
    return "gzip header " + " and ".join(w for w, x, y in pairs if x != y)
