"""The build session's pure parts: archive comparison, sdist contents, the SBOM, config."""

from __future__ import annotations

import gzip
import io
import json
import re
import sys
import tarfile
import textwrap
import tomllib
import zipfile
from pathlib import Path

import pytest

from ci_tasks.core.actions import Output
from ci_tasks.core.config import load_config
from ci_tasks.core.errors import UsageError
from ci_tasks.core.runner import Runner
from ci_tasks.core.stage import StageContext, run_stage
from ci_tasks.stages.package.archives import (
    ArchiveError,
    Differences,
    differences,
    read_archive,
    unpack_sdist,
)
from ci_tasks.stages.package.model import Artifacts
from ci_tasks.stages.package.reproduce import build_backend, compare_builds
from ci_tasks.stages.package.sbom import LockError, make_sbom
from ci_tasks.stages.package.session import (
    build,
    parse_posargs,
    stray_members,
    top_level_names,
)
from tests.support.sample import clean_env, make_project


def _zip(path, members, date=(2020, 1, 1, 0, 0, 0)):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members:
            archive.writestr(zipfile.ZipInfo(name, date), data)
    return path


def _tgz(
    path, members, *, mtime=0, gzip_mtime=0, owner="", mode=0o644, links=None, gz_name="p-1.tar"
):
    with (
        path.open("wb") as raw,
        gzip.GzipFile(gz_name, fileobj=raw, mode="wb", mtime=gzip_mtime) as gz,
        tarfile.open(fileobj=gz, mode="w") as archive,
    ):
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.uname, info.mode = len(data), mtime, owner, mode
            archive.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname, info.mtime = tarfile.SYMTYPE, target, mtime
            archive.addfile(info)
    return path


def test_identical_archives_have_no_differences(tmp_path):
    """Two identical wheels compare equal."""
    a = _zip(tmp_path / "a.whl", [("p/__init__.py", b"x")])
    b = _zip(tmp_path / "b.whl", [("p/__init__.py", b"x")])
    assert differences(read_archive(a), read_archive(b)).all() == []


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ([("p/a.py", b"1")], [("p/a.py", b"2")], ["p/a.py: content differs"]),
        ([("p/a.py", b"1")], [], ["p/a.py: only in the first build"]),
        ([], [("p/new.py", b"")], ["p/new.py: only in the second build"]),
        (
            [("p/a.py", b""), ("p/b.py", b"")],
            [("p/b.py", b""), ("p/a.py", b"")],
            ["members are stored in a different order"],
        ),
    ],
)
def test_zip_differences_name_the_member(tmp_path, first, second, expected):
    """A differing, missing, added or reordered member is named, as a content difference."""
    a, b = _zip(tmp_path / "a.whl", first), _zip(tmp_path / "b.whl", second)
    found = differences(read_archive(a), read_archive(b))
    assert (list(found.content), found.metadata) == (expected, ())


def test_zip_timestamp_difference_is_metadata(tmp_path):
    """Same content with another stored time is a timestamp difference, not a content one."""
    a = _zip(tmp_path / "a.whl", [("p/a.py", b"1")])
    b = _zip(tmp_path / "b.whl", [("p/a.py", b"1")], date=(2024, 5, 5, 0, 0, 0))
    found = differences(read_archive(a), read_archive(b))
    assert found == Differences((), ("p/a.py: timestamp differs",), ("member timestamps",))


def test_tar_mtime_owner_and_gzip_header_differences_are_metadata(tmp_path):
    """An sdist member's mtime and owner, and the gzip header's mtime, are metadata, named."""
    a = _tgz(tmp_path / "a.tar.gz", [("p-1/a.py", b"1")])
    b = _tgz(tmp_path / "b.tar.gz", [("p-1/a.py", b"1")], mtime=99, owner="builder")
    found = differences(read_archive(a), read_archive(b))
    assert found.content == ()
    assert found.metadata == ("p-1/a.py: timestamp and owner differ",)
    c = _tgz(tmp_path / "c.tar.gz", [("p-1/a.py", b"1")], gzip_mtime=12345, gz_name="c.tar")
    found = differences(read_archive(a), read_archive(c))
    assert found.metadata == (
        "archive header differs (gzip mtime 0, name 'p-1.tar' vs gzip mtime 12345, name 'c.tar')",
    )
    assert found.causes == ("gzip header mtime and name",)


def test_tar_mode_and_link_target_are_contents(tmp_path):
    """A member's mode, type or link target differing is a content difference."""
    a = _tgz(tmp_path / "a.tar.gz", [("p-1/run", b"x")], links={"p-1/l": "run"})
    b = _tgz(tmp_path / "b.tar.gz", [("p-1/run", b"x")], mode=0o755, links={"p-1/l": "other"})
    found = differences(read_archive(a), read_archive(b))
    assert found.content == (
        "p-1/l: link target differs (run vs other)",
        "p-1/run: mode differs (644 vs 755)",
    )


def _builds(tmp_path, sdist_two, wheel_two=(("p/a.py", b"1"),), **tar):
    (tmp_path / "1").mkdir()
    (tmp_path / "2").mkdir()
    one = Artifacts(
        _tgz(tmp_path / "1/p-1.tar.gz", [("p-1/PKG-INFO", b"m"), ("p-1/a.py", b"1")]),
        _zip(tmp_path / "1/p-1-py3-none-any.whl", [("p/a.py", b"1")]),
    )
    two = Artifacts(
        _tgz(tmp_path / "2/p-1.tar.gz", sdist_two, **tar),
        _zip(tmp_path / "2/p-1-py3-none-any.whl", wheel_two),
    )
    return one, two


def test_compare_builds_names_file_inside_each_archive(tmp_path):
    """The reproducibility check names the archive and the member that differ."""
    one, two = _builds(tmp_path, [("p-1/PKG-INFO", b"m"), ("p-1/a.py", b"1")], [("p/a.py", b"2")])
    assert compare_builds(one, one).status == "passed"
    check = compare_builds(one, two)
    assert check.status == "failed"
    assert check.message == "p-1-py3-none-any.whl: p/a.py: content differs"


def test_sdist_differing_in_metadata_only_passes_with_a_note_naming_the_backend(tmp_path):
    """By contents an sdist with other mtimes passes, the backend named; byte identity apart."""
    one, two = _builds(
        tmp_path, [("p-1/PKG-INFO", b"m"), ("p-1/a.py", b"1")], mtime=99, gzip_mtime=7
    )
    check = compare_builds(one, two, backend="setuptools")
    assert check.status == "passed"
    assert check.message == (
        "p-1-py3-none-any.whl: byte-identical; p-1.tar.gz: setuptools stamps sdists with "
        "build-time metadata (member timestamps, gzip header mtime; pypa/setuptools#2133); "
        "contents identical"
    )
    assert check.artifacts == {
        "p-1.tar.gz": "contents identical",
        "p-1-py3-none-any.whl": "byte-identical",
    }
    strict = compare_builds(one, two, mode="bytes", backend="setuptools")
    assert strict.status == "failed"
    assert "p-1.tar.gz: p-1/PKG-INFO: timestamp differs" in strict.message


def test_sdist_with_a_changed_member_fails_by_contents_too(tmp_path):
    """A member whose bytes differ fails even by contents, and is named."""
    one, two = _builds(tmp_path, [("p-1/PKG-INFO", b"m"), ("p-1/a.py", b"2")], mtime=99)
    check = compare_builds(one, two, backend="setuptools")
    assert check.status == "failed"
    assert check.message.startswith("p-1.tar.gz: p-1/a.py: content differs")
    assert check.artifacts["p-1.tar.gz"] == "differs"


@pytest.mark.parametrize("mode", ["contents", "bytes"])
def test_wheel_differing_in_timestamps_only_still_fails(tmp_path, mode):
    """A wheel must be byte-identical: a timestamp difference fails it in either mode."""
    one, two = _builds(tmp_path, [("p-1/PKG-INFO", b"m"), ("p-1/a.py", b"1")])
    _zip(two.wheel, [("p/a.py", b"1")], date=(2024, 1, 1, 0, 0, 0))
    check = compare_builds(one, two, mode=mode, backend="hatchling")
    assert check.status == "failed"
    assert check.message == "p-1-py3-none-any.whl: p/a.py: timestamp differs"


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["p-1/PKG-INFO", "p-1/p/__init__.py"], []),
        (["p-1/PKG-INFO", "p-1/.git/HEAD", "p-1/.git/config"], ["p-1/.git/"]),
        (["p-1/PKG-INFO", "p-1/p/__pycache__/a.pyc"], ["p-1/p/__pycache__/"]),
        (["p-1/PKG-INFO", "p-1/dist/p-0.9.tar.gz"], ["p-1/dist/"]),
        (["p-1/PKG-INFO", "p-1/.ci-tasks/build-report.json"], ["p-1/.ci-tasks/"]),
        (["p-1/PKG-INFO", "p-1/p/a.pyc"], ["p-1/p/a.pyc"]),
        (["p-1/PKG-INFO", "p-1/src/dist/x.py"], []),
        (["p-1/p/__init__.py"], ["no PKG-INFO at the top level"]),
        (["p-1/PKG-INFO", "q/x"], ["more than one top-level folder: p-1, q"]),
    ],
)
def test_stray_sdist_members(names, expected):
    """VCS folders, caches and earlier build output are named once per folder."""
    assert stray_members(names) == expected


def test_a_wheel_git_tracks_is_the_projects_data_and_an_untracked_one_is_stray():
    """pypa/twine commits test fixture wheels: shipped in its sdist, they are not build output."""
    names = ["p-1/PKG-INFO", "p-1/tests/fixtures/a-1-py3-none-any.whl", "p-1/p/b.whl"]
    tracked = {"tests/fixtures/a-1-py3-none-any.whl", "p/a.pyc"}
    assert stray_members(names, tracked) == ["p-1/p/b.whl"]
    # A tracked .pyc is still a cache that does not belong in an sdist.
    assert stray_members(["p-1/PKG-INFO", "p-1/p/a.pyc"], tracked) == ["p-1/p/a.pyc"]


def test_top_level_names_of_a_wheel(tmp_path):
    """Packages and single modules are importable names; metadata folders are not."""
    wheel = _zip(
        tmp_path / "x.whl",
        [("pkg/__init__.py", b""), ("single.py", b""), ("x-1.dist-info/METADATA", b"")],
    )
    assert top_level_names(wheel) == ["pkg", "single"]


def test_posargs():
    """``--no-reproduce`` turns the second build off; anything else is a usage error."""
    assert parse_posargs([]) is True
    assert parse_posargs(["--no-reproduce"]) is False
    with pytest.raises(UsageError, match="'--fast'"):
        parse_posargs(["--fast"])


LOCK = textwrap.dedent("""\
    version = 1
    requires-python = ">=3.11"

    [[package]]
    name = "app"
    version = "1.0"
    source = { editable = "." }
    dependencies = [
        { name = "web", extra = ["tls"] },
        { name = "colorama", marker = "sys_platform == 'win32'" },
    ]

    [package.optional-dependencies]
    docs = [{ name = "sphinx" }]

    [package.dev-dependencies]
    dev = [{ name = "pytest" }]

    [[package]]
    name = "colorama"
    version = "0.4.6"
    source = { registry = "https://pypi.org/simple" }
    sdist = { url = "https://files.example/colorama-0.4.6.tar.gz", hash = "sha256:abc", size = 1 }

    [[package]]
    name = "pytest"
    version = "9.0"
    source = { registry = "https://pypi.org/simple" }

    [[package]]
    name = "sphinx"
    version = "8.0"
    source = { registry = "https://pypi.org/simple" }

    [[package]]
    name = "tlslib"
    version = "2.0"
    source = { registry = "https://pypi.org/simple" }

    [[package]]
    name = "web"
    version = "3.1"
    source = { registry = "https://pypi.org/simple" }

    [package.optional-dependencies]
    tls = [{ name = "tlslib" }]
""")


def test_sbom_lists_runtime_closure_only():
    """Runtime deps, their requested extras and marker-guarded deps; no dev group or own extras."""
    sbom = make_sbom(LOCK, "app", epoch=0)
    assert [c["name"] for c in sbom["components"]] == ["colorama", "tlslib", "web"]
    assert sbom["specVersion"] == "1.6"
    assert sbom["metadata"]["timestamp"] == "1970-01-01T00:00:00Z"
    assert sbom["metadata"]["component"]["name"] == "app"
    colorama = sbom["components"][0]
    assert colorama["purl"] == "pkg:pypi/colorama@0.4.6"
    assert colorama["externalReferences"][0]["hashes"] == [{"alg": "SHA-256", "content": "abc"}]
    graph = {d["ref"]: d["dependsOn"] for d in sbom["dependencies"]}
    assert graph["pkg:pypi/web@3.1"] == ["pkg:pypi/tlslib@2.0"]


def test_sbom_is_deterministic():
    """The same lock and epoch give the same document, serial number included."""
    assert json.dumps(make_sbom(LOCK, "app", epoch=5)) == json.dumps(
        make_sbom(LOCK, "app", epoch=5)
    )


@pytest.mark.parametrize(
    ("text", "project", "message"),
    [
        ("not toml [", "app", "not valid TOML"),
        (LOCK, "other", "'other' is not in it"),
        ("version = 1\n", "app", "no [[package]] entries"),
    ],
)
def test_sbom_lock_errors(text, project, message):
    """A lock that is not uv's, or not this project's, is refused with a reason."""
    with pytest.raises(LockError, match=re.escape(message)):
        make_sbom(text, project, epoch=0)


def test_build_config_errors_are_one_line(tmp_path):
    """A wrong key or type in [tool.ci-tasks.build] is a one-line error naming it, exit 2."""
    project = make_project(tmp_path, lock=False, ci_tasks="build.reproducable = false")
    result = project.ci_tasks("config")
    assert result.returncode == 2
    assert "tool.ci-tasks.build.reproducable" in result.stderr
    assert "did you mean 'reproducible'" in result.stderr


def test_a_run_that_could_not_finish_replaces_a_green_report(tmp_path):
    """A tool missing from the CI env: exit 2 naming it, the report unverified; no install."""
    project = make_project(tmp_path / "p", lock=False)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "uv").symlink_to(Path(sys.executable).parent / "uv")  # but no twine
    report = project.path / ".ci-tasks" / "build-report.json"
    report.parent.mkdir()
    report.write_text('{"verdict": "passed"}')
    env = clean_env()
    out = io.StringIO()
    ctx = StageContext(
        name="build",
        config=load_config(project.path),
        runner=Runner(env=env, output=Output(stream=out, env=env)),
        output=Output(stream=out, env=env),
        tools_dirs=(bin_dir,),
    )
    assert run_stage(build, ctx) == 2
    written = json.loads(report.read_text())
    assert written["verdict"] == "unverified"
    assert "`twine` is not in the CI environment" in written["error"]
    assert not (bin_dir / "twine").exists()


@pytest.mark.parametrize(
    ("text", "backend"),
    [
        ('[build-system]\nbuild-backend = "setuptools.build_meta"\n', "setuptools"),
        ('[build-system]\nbuild-backend = "hatchling.build"\n', "hatchling"),
        ('[build-system]\nbuild-backend = "flit_core.buildapi"\n', "flit_core"),
        ('[build-system]\nrequires = ["setuptools"]\n', "setuptools"),
    ],
)
def test_build_backend_is_named_from_pyproject(text, backend):
    """The backend named in notes comes from build-backend; none means setuptools (PEP 517)."""
    assert build_backend(tomllib.loads(text)) == backend


def test_unpack_sdist_refuses_a_member_escaping_its_folder(tmp_path):
    """An sdist member pointing outside the unpack folder is refused, the sdist named."""
    evil = _tgz(tmp_path / "p-1.tar.gz", [("p-1/PKG-INFO", b"m"), ("../escape.py", b"x")])
    with pytest.raises(ArchiveError, match=r"p-1\.tar\.gz cannot be unpacked"):
        unpack_sdist(evil, tmp_path / "unpacked")
    assert not (tmp_path / "escape.py").exists()


def test_unpack_sdist_empties_the_folder_and_returns_the_project(tmp_path):
    """The same folder serves both builds: what the first left there is gone."""
    (tmp_path / "unpacked" / "old").mkdir(parents=True)
    sdist = _tgz(tmp_path / "p-1.tar.gz", [("p-1/PKG-INFO", b"m")])
    assert unpack_sdist(sdist, tmp_path / "unpacked") == tmp_path / "unpacked" / "p-1"
    assert sorted(p.name for p in (tmp_path / "unpacked").iterdir()) == ["p-1"]


def test_reproducible_accepts_only_its_modes(tmp_path):
    """``reproducible = "byte"`` is a one-line error naming the key and every allowed value."""
    project = make_project(tmp_path, lock=False, ci_tasks='build.reproducible = "byte"')
    result = project.ci_tasks("config")
    assert result.returncode == 2
    assert result.stderr.strip().endswith(
        "tool.ci-tasks.build.reproducible: expected true or false or one of 'contents', "
        "'bytes', got 'byte'"
    )
    assert len(result.stderr.strip().splitlines()) == 1
