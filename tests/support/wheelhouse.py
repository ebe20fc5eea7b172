"""A folder of tiny wheels that uv resolves against instead of an index (no network).

``env(folder)`` points uv at it (``UV_NO_INDEX``, ``UV_FIND_LINKS``); :func:`release`
adds a version, which is how a test publishes a new release of a tool.
"""

from __future__ import annotations

import zipfile
from pathlib import Path


def release(folder: Path, name: str, version: str) -> Path:
    """A wheel of *name* at *version* (no code, just its metadata) in *folder*."""
    dist = f"{name.replace('-', '_')}-{version}"
    path = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            f"{dist}.dist-info/METADATA",
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        )
        archive.writestr(
            f"{dist}.dist-info/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        archive.writestr(f"{dist}.dist-info/RECORD", "")
    return path


def env(folder: Path, cache: Path) -> dict[str, str]:
    """The variables that make uv resolve from *folder* only, caching under *cache*."""
    return {
        "UV_NO_INDEX": "1",
        "UV_FIND_LINKS": str(folder),
        "UV_CACHE_DIR": str(cache),
        "UV_PYTHON_DOWNLOADS": "never",
    }
