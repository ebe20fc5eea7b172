"""[tool.ci-tasks] loading: defaults, types, bounds, did-you-mean, one-line errors."""

from __future__ import annotations

import dataclasses
import datetime as dt
import textwrap
from typing import Literal

import pytest

from ci_tasks import ConfigError, load_config
from ci_tasks.core.config import Config, RetryConfig, _Loader
from ci_tasks.stages.smoke.config import SmokeConfig
from ci_tasks.stages.testing.config import TestsConfig


def write(tmp_path, table: str):
    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "x"\n\n' + textwrap.dedent(table))
    return path


def test_defaults_follow_the_seed(tmp_path):
    """Without a [tool.ci-tasks] table every default is the seed's."""
    config = load_config(write(tmp_path, ""))
    assert config.retry.attempts == 3
    assert config.retry.initial_delay == 5.0
    assert (config.timeout("lint"), config.timeout("tests"), config.timeout("security")) == (
        900,
        1800,
        900,
    )
    assert (config.timeout("build"), config.timeout("readiness"), config.timeout("smoke")) == (
        900,
        600,
        600,
    )
    assert config.root == tmp_path.resolve()


def test_values_are_read_and_frozen(tmp_path):
    """Configured values are loaded into frozen objects, dashes or underscores alike."""
    config = load_config(
        write(
            tmp_path,
            """
        [tool.ci-tasks]
        python = ["3.11", "3.12"]
        [tool.ci-tasks.retry]
        attempts = 5
        initial-delay = 0.5
        [tool.ci-tasks.timeouts]
        tests = 60
    """,
        )
    )
    assert config.python == ("3.11", "3.12")
    assert config.retry.attempts == 5
    assert config.retry.initial_delay == 0.5
    assert config.timeout("tests") == 60.0
    assert config.retry.policy().attempts == 5
    with pytest.raises(AttributeError):
        config.retry.attempts = 1  # type: ignore[misc]


def test_folder_is_accepted(tmp_path):
    """A folder means the pyproject.toml inside it."""
    write(tmp_path, "[tool.ci-tasks.retry]\nattempts = 2\n")
    assert load_config(tmp_path).retry.attempts == 2


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (
            "[tool.ci-tasks.retry]\natempts = 2\n",
            "unknown key 'tool.ci-tasks.retry.atempts'; did you mean 'attempts'?",
        ),
        (
            "[tool.ci-tasks]\ntimeout = {}\n",
            "unknown key 'tool.ci-tasks.timeout'; did you mean 'timeouts'?",
        ),
        (
            "[tool.ci-tasks.retry]\natempts = 2\n",
            "(known keys: attempts, backoff, deadline, initial-delay, jitter, max-delay)",
        ),
        (
            "[tool.ci-tasks.tests]\ncov-sourc = []\n",
            "did you mean 'cov-source'? (known keys: all-extras, cov-source, coverage,",
        ),
        (
            "[tool.ci-tasks.tests]\ncov_sourc = []\n",
            "did you mean 'cov_source'? (known keys: all_extras, cov_source, coverage,",
        ),
        (
            "[tool.ci-tasks.tests]\nreruns-delay = 1\nmaxfial = 1\n",
            "did you mean 'maxfail'? (known keys: all-extras, cov-source, coverage, coverage-xml,",
        ),
        (
            '[tool.ci-tasks.retry]\nattempts = "3"\n',
            "tool.ci-tasks.retry.attempts: expected an integer >= 1, got '3'",
        ),
        (
            "[tool.ci-tasks.retry]\nattempts = true\n",
            "tool.ci-tasks.retry.attempts: expected an integer",
        ),
        (
            "[tool.ci-tasks.timeouts]\ntests = -5\n",
            "tool.ci-tasks.timeouts.tests: expected a number >= 1, got -5",
        ),
        ("[tool.ci-tasks.retry]\nattempts = 0\n", "expected an integer >= 1, got 0"),
        (
            '[tool.ci-tasks]\npython = "3.11"\n',
            "tool.ci-tasks.python: expected an array of strings",
        ),
        (
            "[tool.ci-tasks]\npython = [3.11]\n",
            "tool.ci-tasks.python[0]: expected a string, got 3.11",
        ),
        ("[tool.ci-tasks]\nretry = 3\n", "tool.ci-tasks.retry: expected a table, got 3"),
        (
            '[tool.ci-tasks]\npython = ["3.11", "pypy-3.11"]\n',
            "[tool.ci-tasks]: python[1]: expected a Python version as uv and nox name it",
        ),
        ('[tool.ci-tasks]\npython = ["py3"]\n', "python[0]: expected a Python version"),
        ("[tool.ci-tasks]\npython = []\n", "python: expected at least one entry, got []"),
        (
            '[tool.ci-tasks]\npython = ["3.15", "3.15-dev"]\n',
            "python: '3.15' and '3.15-dev' are the same interpreter; list it once",
        ),
        (
            '[tool.ci-tasks]\nos = ["windows latest"]\n',
            "os[0]: expected a GitHub runner label (ubuntu-latest, windows-latest, macos-latest",
        ),
        ('[tool.ci-tasks]\nos = ["macos-14", "macos-14"]\n', "os: 'macos-14' is listed twice"),
        (
            '[tool.ci-tasks.lint]\nos = ["windows latest"]\n',
            "lint.os[0]: expected a GitHub runner label (ubuntu-latest, windows-latest",
        ),
        ("[tool.ci-tasks.build]\nos = []\n", "build.os: expected at least one entry, got []"),
        (
            '[tool.ci-tasks.tests]\nexclude = [{python = "3.11"}]\n',
            "[tool.ci-tasks.tests.exclude[0]]: missing required key 'os'",
        ),
        (
            '[tool.ci-tasks.tests]\nexclude = [{python = "py3", os = "macos-14"}]\n',
            "[tool.ci-tasks.tests.exclude[0]]: python: expected a Python version",
        ),
        (
            '[tool.ci-tasks.tests]\nexclude = [{python = "3.11", os = "win", shell = "x"}]\n',
            "unknown key 'tool.ci-tasks.tests.exclude[0].shell'",
        ),
        (
            (
                '[tool.ci-tasks]\npython = ["3.11", "3.12"]\n'
                '[tool.ci-tasks.tests]\nexclude = [{python = "3.10", os = "ubuntu-latest"}]\n'
            ),
            "tests.exclude[0]: python '3.10' is not in python (3.11, 3.12); the matrix has no",
        ),
        (
            (
                '[tool.ci-tasks.tests]\nos = ["ubuntu-latest", "macos-14"]\n'
                'exclude = [{python = "3.11", os = "windows-latest"}]\n'
            ),
            "tests.exclude[0]: os 'windows-latest' is not in tests.os (ubuntu-latest, macos-14)",
        ),
        (
            "[tool.ci-tasks.timeouts]\ntest = 60\n",
            "unknown key 'tool.ci-tasks.timeouts.test'; did you mean 'tests'?",
        ),
        (
            "[tool.ci-tasks.tests]\ntimeout = 0\n",
            "tool.ci-tasks.tests.timeout: expected a number >= 1, got 0",
        ),
        (
            "[tool.ci-tasks.timeouts]\nlint = 60\n[tool.ci-tasks.lint]\ntimeout = 90\n",
            "timeouts.lint = 60 and [tool.ci-tasks.lint] timeout = 90 disagree; set it once",
        ),
    ],
)
def test_invalid_config_is_one_line_naming_file_and_key(tmp_path, table, expected):
    """Each invalid value is refused in one line naming the file, the key and what is expected."""
    path = write(tmp_path, table)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path.resolve()))
    assert expected in message


def test_invalid_toml_is_a_config_error(tmp_path):
    """A pyproject.toml that is not TOML is a one-line error, not a traceback."""
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool.ci-tasks\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)


def test_missing_file_is_a_config_error(tmp_path):
    """Naming a pyproject.toml that does not exist is an error."""
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "pyproject.toml")


def test_nearest_pyproject_is_found(tmp_path, monkeypatch):
    """Without a path the nearest pyproject.toml above the working directory is used."""
    write(tmp_path, "[tool.ci-tasks.retry]\nattempts = 7\n")
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    assert load_config().retry.attempts == 7


@dataclasses.dataclass(frozen=True)
class Entry:
    id: str
    reason: str
    until: dt.date | None = None


@dataclasses.dataclass(frozen=True)
class Section:
    mode: Literal["fail", "warn"] = "fail"
    entries: tuple[Entry, ...] = ()


def test_adding_a_section_is_a_dataclass(tmp_path):
    """The loader validates any frozen dataclass section, including dates and arrays of tables."""
    loader = _Loader(tmp_path / "pyproject.toml")
    where = "tool.ci-tasks.section"
    built = loader.build(
        Section,
        {"mode": "warn", "entries": [{"id": "CVE-1", "reason": "r", "until": dt.date(2030, 1, 1)}]},
        where,
    )
    assert built.entries[0].until == dt.date(2030, 1, 1)
    assert loader.build(
        Section, {"entries": [{"id": "x", "reason": "r", "until": "2031-02-03"}]}, where
    ).entries[0].until == dt.date(2031, 2, 3)
    with pytest.raises(ConfigError, match=r"mode: expected one of 'fail', 'warn', got 'loud'"):
        loader.build(Section, {"mode": "loud"}, where)
    with pytest.raises(ConfigError, match=r"entries\[0\]\.until: expected a date"):
        loader.build(Section, {"entries": [{"id": "x", "reason": "r", "until": "soon"}]}, where)
    with pytest.raises(
        ConfigError, match=r"\[tool.ci-tasks.section.entries\[0\]\]: missing required key 'reason'"
    ):
        loader.build(Section, {"entries": [{"id": "x"}]}, where)


def test_defaults_object_is_consistent():
    """Config() and RetryConfig() give the same policy as an empty table."""
    assert Config().retry == RetryConfig()
    assert RetryConfig().policy().attempts == 3


def test_os_and_interpreters_beyond_cpython_are_read(tmp_path):
    """Runner labels, PyPy, free-threaded and -dev interpreters are all valid entries."""
    path = write(
        tmp_path,
        """\
        [tool.ci-tasks]
        python = ["3.12", "pypy3.11", "3.14t", "3.16-dev"]
        os = ["ubuntu-latest", "windows-2025", "macos-14"]
        """,
    )
    config = load_config(path)
    assert config.python == ("3.12", "pypy3.11", "3.14t", "3.16-dev")
    assert config.os == ("ubuntu-latest", "windows-2025", "macos-14")
    assert Config().os == ("ubuntu-latest",)


def test_a_stage_may_run_on_os_of_its_own_and_leave_out_pairs(tmp_path):
    """A stage's ``os`` replaces the shared one for it alone; ``exclude`` pairs are kept."""
    path = write(
        tmp_path,
        """\
        [tool.ci-tasks]
        python = ["3.12", "pypy3.11"]
        os = ["ubuntu-latest", "windows-latest"]

        [tool.ci-tasks.build]
        os = ["ubuntu-latest"]

        [tool.ci-tasks.tests]
        exclude = [{ python = "pypy3.11", os = "windows-latest" }]
        """,
    )
    config = load_config(path)
    assert config.runners("build") == ("ubuntu-latest",)
    assert config.runners("lint") == ("ubuntu-latest", "windows-latest")
    assert config.runners("docs") == config.os  # a session that is no stage: the shared list
    assert [(e.python, e.os) for e in config.excluded("tests")] == [("pypy3.11", "windows-latest")]
    assert config.excluded("build") == ()


def test_each_stage_owns_its_timeout_under_either_spelling(tmp_path):
    """``[tool.ci-tasks.<stage>] timeout`` and the older ``timeouts.<stage>`` set one value."""
    config = load_config(write(tmp_path, "[tool.ci-tasks.tests]\ntimeout = 3600\n"))
    assert config.section(TestsConfig).timeout == 3600.0 == config.timeout("tests")
    older = load_config(write(tmp_path, "[tool.ci-tasks.timeouts]\nsmoke = 90\n"))
    assert older.section(SmokeConfig).timeout == 90.0 == older.timeout("smoke")
    assert older.timeout("preflight") == 1800.0
    with pytest.raises(KeyError, match="no stage 'docs' has a timeout"):
        Config().timeout("docs")  # no silent fallback to another stage's budget


def test_a_section_is_read_typed_by_its_class():
    """``config.section(TestsConfig)`` is that stage's section; a stranger class is a bug."""
    config = Config()
    assert config.section(TestsConfig) == TestsConfig()
    changed = config.with_section(TestsConfig(shards=3))
    assert changed.section(TestsConfig).shards == 3
    assert config.section(TestsConfig).shards == 1
    with pytest.raises(TypeError, match="no configuration section of type RetryConfig"):
        config.section(RetryConfig)


def test_a_pyproject_that_is_not_utf8_is_a_one_line_config_error(tmp_path):
    """A file in another encoding is named with what TOML needs, never a traceback."""
    (tmp_path / "pyproject.toml").write_bytes(b'[project]\nname = "caf\xe9"\n')
    with pytest.raises(ConfigError, match=r"pyproject.toml: cannot be read \(.*\); TOML is UTF-8"):
        load_config(tmp_path)
