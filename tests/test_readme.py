"""The README and the docs stay true: examples load, commands exist, links resolve."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ci_tasks import load_config
from ci_tasks.registry import STAGES

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "benchmarks" / "README.md", *DOCS]
MAX_README_LINES = 250

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.DOTALL | re.MULTILINE)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _name(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


def _toml_blocks() -> list[tuple[str, str]]:
    return [
        (f"{_name(page)}#{n}", block)
        for page in [ROOT / "README.md", *DOCS]
        for n, block in enumerate(
            re.findall(r"```toml\n(.*?)```", page.read_text(encoding="utf-8"), re.DOTALL)
        )
    ]


TOML_BLOCKS = _toml_blocks()


def slugs(text: str) -> set[str]:
    """The anchors GitHub gives a markdown page's headings (code blocks are no headings)."""
    seen: dict[str, int] = {}
    for heading in HEADING.findall(FENCE.sub("", text)):
        plain = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
        slug = re.sub(r"[^\w\- ]", "", plain.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        if count:
            seen[f"{slug}-{count}"] = 1
    return set(seen)


def broken_links(page: Path) -> list[str]:
    """Each relative link of *page* whose file, or heading anchor, does not exist."""
    text = page.read_text(encoding="utf-8")
    prose = INLINE_CODE.sub("", FENCE.sub("", text))
    broken = []
    for target in LINK.findall(prose):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in slugs(dest.read_text("utf-8")):
            broken.append(f"{target}: no heading #{anchor} in {dest.name}")
    return broken


def test_readme_has_toml_examples():
    """The README and the docs show configuration examples."""
    assert len(TOML_BLOCKS) >= 4


@pytest.mark.parametrize(
    "section",
    [
        "[tool.ci-tasks]",
        "[tool.ci-tasks.retry]",
        "[tool.ci-tasks.timeouts]",
        "[tool.ci-tasks.lint]",
        "[tool.ci-tasks.tests]",
        "[[tool.ci-tasks.tests.rerun]]",
        "[tool.ci-tasks.security]",
        "[tool.ci-tasks.build]",
        "[tool.ci-tasks.readiness]",
        "[[tool.ci-tasks.smoke.endpoint]]",
        "[tool.ci-tasks.preflight]",
        "[tool.ci-tasks.hooks]",
    ],
)
def test_every_section_has_a_checked_example(section):
    """Every configuration section the docs describe has an example the loader checks."""
    assert any(
        line.split("#")[0].strip() == section
        for _, block in TOML_BLOCKS
        for line in block.splitlines()
    )


@pytest.mark.parametrize("block", [b for _, b in TOML_BLOCKS], ids=[w for w, _ in TOML_BLOCKS])
def test_every_readme_config_example_is_valid(tmp_path, block):
    """Each [tool.ci-tasks] example in the README and docs/ loads without a config error."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n' + block)
    load_config(tmp_path)


def test_readme_names_the_two_commands():
    """The README's quick start runs the main job and the tests as .ci/run does."""
    assert "uv run nox -s preflight" in README
    assert "uv run pytest" in README
    assert " run pytest" in (ROOT / ".ci" / "run").read_text()


def test_readme_reads_in_five_minutes():
    """The README stays short: the reference lives under docs/."""
    lines = len(README.splitlines())
    assert lines <= MAX_README_LINES, f"README.md has {lines} lines"


@pytest.mark.parametrize("stage", [spec.name for spec in STAGES])
def test_every_stage_has_its_page(stage):
    """Each stage in the registry has docs/<stage>.md, linked from the README's table."""
    assert (ROOT / "docs" / f"{stage}.md").is_file()
    assert f"(docs/{stage}.md)" in README


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_relative_links_resolve(page):
    """Every relative link (and its #anchor) in the README and the docs points somewhere."""
    assert broken_links(page) == []


def test_a_broken_link_or_anchor_is_found(tmp_path):
    """The link check finds a missing file and a missing heading, and accepts good ones."""
    (tmp_path / "other.md").write_text("# Other page\n\n## The `tests` stage\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Top\n\n"
        "[ok](other.md) [ok](other.md#the-tests-stage) [ok](#top) [web](https://x.invalid/y)\n"
        "[gone](missing.md) [bad](other.md#nowhere) [bad](#nowhere) `[code](x.md)`\n\n"
        "```python\n# not a heading\n[in code](nope.md)\n```\n"
    )
    assert broken_links(page) == [
        "missing.md: no such file",
        "other.md#nowhere: no heading #nowhere in other.md",
        "#nowhere: no heading #nowhere in page.md",
    ]
    assert "not-a-heading" not in slugs(page.read_text())
