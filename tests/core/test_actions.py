"""GitHub Actions output inside Actions, and plain readable text outside."""

from __future__ import annotations

import pytest

from ci_tasks.core import actions
from tests.conftest import Captured


def in_actions(tmp_path, **extra):
    summary = tmp_path / "summary.md"
    output = tmp_path / "output.txt"
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(output),
        **extra,
    }
    return Captured(env=env), summary, output


def test_group_in_actions(tmp_path):
    """A group is ::group::/::endgroup:: under Actions."""
    out, _, _ = in_actions(tmp_path)
    with out.group("lint"):
        out.line("inside")
    assert out.text == "::group::lint\ninside\n::endgroup::\n"


def test_group_outside_actions(out):
    """Outside Actions a group is a heading line, no workflow commands."""
    with out.group("lint"):
        out.line("inside")
    assert "::" not in out.text
    assert "lint" in out.text


def test_annotation_in_actions_escapes_properties(tmp_path):
    """Annotations carry file and line, with workflow-command escaping."""
    out, _, _ = in_actions(tmp_path)
    out.annotate("error", "bad\nthing 100%", file="src/a,b.py", line=3, title="B602: shell")
    assert out.text == "::error file=src/a%2Cb.py,line=3,title=B602%3A shell::bad%0Athing 100%25\n"


def test_annotation_outside_actions(out):
    """Outside Actions an annotation reads `level: file:line: title: message`."""
    out.annotate(
        "warning",
        "pinned by tag",
        file=".github/workflows/ci.yml",
        line=12,
        title="unpinned-action",
    )
    assert out.text == "warning: .github/workflows/ci.yml:12: unpinned-action: pinned by tag\n"


def test_summary_and_output_files(tmp_path):
    """Markdown goes to the step summary; outputs to GITHUB_OUTPUT, multiline with a delimiter."""
    out, summary, output = in_actions(tmp_path)
    assert out.summary("## Lint\n\nok\n")
    out.set_output("score", "93.5")
    out.set_output("body", "a\nb")
    assert summary.read_text() == "## Lint\n\nok\n"
    lines = output.read_text().splitlines()
    assert lines[0] == "score=93.5"
    assert lines[1].startswith("body<<ci_tasks_")
    assert lines[2:4] == ["a", "b"]
    assert lines[4] == lines[1].split("<<")[1]


def test_summary_respects_the_1mib_limit(tmp_path):
    """The step summary never grows past GitHub's 1 MiB limit; the cut is noted."""
    out, summary, _ = in_actions(tmp_path)
    out.summary("x" * (actions.STEP_SUMMARY_LIMIT - 100))
    out.summary("y" * 10_000)
    out.summary("z" * 10)
    data = summary.read_bytes()
    assert len(data) <= actions.STEP_SUMMARY_LIMIT
    assert b"truncated" in data


def test_no_summary_outside_actions(out):
    """Without GITHUB_STEP_SUMMARY, summary() writes nothing and says so."""
    assert out.summary("x") is False
    assert out.set_output("a", "b") is False


@pytest.mark.usefixtures("masker")
def test_add_mask_in_actions_registers_and_tells_runner(tmp_path):
    """add_mask tells the runner to hide the value and masks it in our own output."""
    out, _, _ = in_actions(tmp_path)
    out.add_mask("dynamic-secret-42")
    out.line("value dynamic-secret-42")
    assert out.text == "::add-mask::dynamic-secret-42\nvalue ***\n"


def test_colour_only_on_a_terminal_without_no_color():
    """Colour is used on a terminal, never when NO_COLOR is set or output is not a terminal."""

    class Tty(Captured):
        pass

    tty = Tty()
    tty.buffer.isatty = lambda: True  # type: ignore[method-assign]
    tty.line("ok", "ok")
    assert "\033[32m" in tty.text
    no_color = Captured(env={"NO_COLOR": "1"})
    no_color.buffer.isatty = lambda: True  # type: ignore[method-assign]
    no_color.line("ok", "ok")
    assert "\033[" not in no_color.text
    plain = Captured()
    plain.line("ok", "ok")
    assert plain.text == "ok\n"
