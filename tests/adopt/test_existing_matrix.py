"""`ci-tasks init` keeps the OSes and interpreters the project's own workflows test on."""

from __future__ import annotations

import io
import textwrap
import tomllib
from pathlib import Path

import pytest

from ci_tasks.adopt import existing, init
from ci_tasks.core.actions import Output
from ci_tasks.core.config import load_config
from tests.adopt.test_init import PYPROJECT, _sample

# A project's own CI as many write it: a test matrix over OSes and Pythons, with PyPy
# (setup-python's spelling), a pre-release allowed to fail, an exclusion, and a lint job.
TESTS_YML = """\
name: tests
on: [push]
jobs:
  lint:
    runs-on: ubuntu-22.04
    steps:
      - run: pre-commit run --all-files
  tests:
    name: ${{ matrix.os }} / ${{ matrix.python }}
    runs-on: ${{ matrix.os }}
    strategy:
      matrix:
        os: [ubuntu-latest, windows-latest, macos-latest]
        python: ["3.10", "3.11", "pypy-3.11"]
        exclude:
          - {os: macos-latest, python: "3.10"}
        include:
          - {os: ubuntu-latest, python: "3.14t"}
          - {os: ubuntu-latest, python: "3.16-dev"}
          - {os: ubuntu-latest, python: "graalpy-24.2"}
    steps:
      - uses: actions/setup-python@v5
        with:
          python-version: ${{ matrix.python }}
      - run: pytest
"""


OPEN_ENDED = PYPROJECT.replace('">=3.11,<3.12"', '">=3.11"')


def _adopt(tmp_path: Path, workflows: dict[str, str], pyproject: str = OPEN_ENDED):
    sample = _sample(tmp_path, pyproject)
    for name, text in workflows.items():
        sample.write(f".github/workflows/{name}", text)
    stream = io.StringIO()
    result = init.run(sample.path, out=Output(stream=stream, env={}), update_lock=False)
    return sample, result, stream.getvalue()


def test_windows_macos_and_pypy_are_kept_and_said_where_they_came_from(tmp_path):
    """A matrix on Windows, macOS and PyPy 3.11 stays in [tool.ci-tasks], with its source."""
    sample, result, out = _adopt(tmp_path, {"tests.yml": TESTS_YML})
    config = load_config(sample.path)
    assert config.os == ("ubuntu-latest", "windows-latest", "macos-latest")
    # requires-python's versions first, then what only the workflow names (3.10 is too old).
    assert config.python == ("3.11", "3.12", "3.13", "3.14", "pypy3.11", "3.14t", "3.16-dev")
    assert result.config == config
    where = ".github/workflows/tests.yml: jobs.tests.strategy.matrix"
    assert f"kept os ubuntu-latest, windows-latest, macos-latest from {where}.os" in out
    assert f"pypy3.11 from {where}.python" in out
    assert f"3.14t from {where}.include[0].python" in out
    assert f"graalpy-24.2 from {where}.include[2].python" in out  # said, not silently dropped
    # The lint job's runner is not a test OS; the table says where each value came from.
    table = (sample.path / "pyproject.toml").read_text()
    assert "ubuntu-22.04" not in table
    comments = " ".join(table.replace("\n# ", " ").split())
    assert f"(from requires-python; pypy3.11 from {where}.python; 3.14t from" in comments
    assert f"macos-latest from {where}.os; default: [" in comments


def test_a_fully_excluded_value_is_not_kept(tmp_path):
    """An OS every combination of which is excluded is not one the project tests on."""
    workflow = textwrap.dedent("""\
        on: push
        jobs:
          test:
            runs-on: ${{ matrix.platform }}
            strategy:
              matrix:
                platform: [ubuntu-latest, windows-latest]
                py: ["3.11"]
                exclude:
                  - platform: windows-latest
            steps:
              - run: tox
        """)
    sample, _, _ = _adopt(tmp_path, {"ci.yaml": workflow})
    assert load_config(sample.path).os == ("ubuntu-latest",)


def test_without_workflows_the_defaults_stay(tmp_path):
    """No workflows: os is ubuntu-latest and python what requires-python allows."""
    sample, result, out = _adopt(tmp_path, {})
    assert load_config(sample.path).os == ("ubuntu-latest",)
    assert result.kept == ()
    assert "kept os" not in out


@pytest.mark.parametrize(
    ("written", "entry"),
    [
        ("pypy-3.11", "pypy3.11"),
        ("pypy3.10", "pypy3.10"),
        ("pypy-3.10-v7.3.x", "pypy3.10"),
        ("3.14t", "3.14t"),
        ("3.15-dev", "3.15-dev"),
        ("3.12", "3.12"),
        ("3.x", None),
        ("graalpy-24", None),
        ("~3.13.0-0", None),
    ],
)
def test_setup_python_spellings_become_config_entries(written, entry):
    """actions/setup-python's version strings map onto uv's and nox's names."""
    assert existing.python_entry(written) == entry


def test_interpreters_requires_python_excludes_are_not_kept(tmp_path):
    """A PyPy 3.10 job on a project requiring 3.11 is a leftover, not a target."""
    workflow = TESTS_YML.replace('"pypy-3.11"', '"pypy-3.10"')
    sample, _, _ = _adopt(tmp_path, {"tests.yml": workflow})
    python = tomllib.loads((sample.path / "pyproject.toml").read_text())["tool"]["ci-tasks"][
        "python"
    ]
    assert "pypy3.10" not in python
    assert "3.14t" in python


@pytest.mark.parametrize(
    ("runs_on", "include", "expected"),
    [
        # pallets/click: `${{ matrix.os || 'ubuntu-latest' }}`, os only in some entries.
        (
            "${{ matrix.os || 'ubuntu-latest' }}",
            '[{python: "3.14"}, {python: "3.14", os: windows-latest}]',
            ("ubuntu-latest", "windows-latest"),
        ),
        # pypa/packaging: `${{ matrix.os }}-latest` over os: [Ubuntu, Windows, macOS].
        ("${{ matrix.os }}-latest", "[]", ("ubuntu-latest", "windows-latest", "macos-latest")),
        # A nested matrix value: `${{ matrix.config.os }}`.
        (
            "${{ matrix.config.os }}",
            '[{config: {os: macos-14, python: "3.12"}}]',
            ("macos-14",),
        ),
    ],
)
def test_runs_on_expressions_are_evaluated_per_matrix_job(tmp_path, runs_on, include, expected):
    """Fallbacks, text around the expansion and nested values give each job's runner."""
    axes = "os: [Ubuntu, Windows, macOS]" if runs_on.endswith("-latest") else "x: [1]"
    workflow = textwrap.dedent(f"""\
        on: push
        jobs:
          tests:
            runs-on: "{runs_on}"
            strategy:
              matrix:
                {axes}
                include: {include}
            steps:
              - run: pytest
        """)
    folder = tmp_path / ".github/workflows"
    folder.mkdir(parents=True)
    (folder / "t.yml").write_text(workflow)
    assert tuple(f.value for f in existing.read(tmp_path).oses) == expected


def test_a_docs_job_is_not_a_test_job(tmp_path):
    """`nox -s docs` on a runner of its own does not add that runner to the matrix."""
    folder = tmp_path / ".github/workflows"
    folder.mkdir(parents=True)
    (folder / "docs.yml").write_text(
        "on: push\njobs:\n  docs:\n    runs-on: macos-14\n    steps:\n"
        "      - run: pipx run nox -s docs\n"
    )
    assert existing.read(tmp_path).oses == ()


def test_exclusions_are_named_with_the_key_that_keeps_them_out(tmp_path):
    """Init writes the full product: an exclude block is named, with tests.exclude to use."""
    _, _, out = _adopt(tmp_path, {"tests.yml": TESTS_YML})
    assert "excluded combinations run too until listed in [tool.ci-tasks.tests] exclude" in out
    assert ".github/workflows/tests.yml: jobs.tests.strategy.matrix.exclude" in out


def _uv(implementation: str, minor: int, variant: str = "default") -> dict:
    """One entry of `uv python list --output-format json`, in uv's shape."""
    parts = {"major": 3, "minor": minor, "patch": 1}
    return {"implementation": implementation, "version_parts": parts, "variant": variant}


def test_pypy_and_free_threaded_need_their_own_interpreter_installed():
    """CPython 3.11 is not PyPy 3.11 nor 3.11t; a PyPy or free-threaded build counts as itself."""
    pythons = ["3.11", "3.11t", "pypy3.11", "3.16-dev"]
    assert init.not_installed(pythons, [_uv("cpython", 11)]) == ["3.11t", "pypy3.11", "3.16-dev"]
    found = [_uv("pypy", 11), _uv("cpython", 11, "freethreaded"), _uv("cpython", 16)]
    assert init.not_installed(pythons, found) == ["3.11"]
