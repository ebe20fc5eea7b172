"""Secret masking: values of secret variables never reach output, reports or exceptions."""

from __future__ import annotations

import json

import pytest

from ci_tasks import CITasksError, CommandFailed
from ci_tasks.core import masking
from ci_tasks.core.reports import write_json


def test_secret_values_from_env_are_masked(masker):
    """Values of GITHUB_TOKEN, SLACK_WEBHOOK_URL and configured names become ***."""
    env = {
        "GITHUB_TOKEN": "ghp_abcdef123456",
        "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/X",
        "MY_KEY": "k3y-value",
    }
    masking.register_secret_variables(["MY_KEY"], env)
    text = masker.mask(
        "token ghp_abcdef123456 url https://hooks.slack.com/services/T/B/X key k3y-value"
    )
    assert text == "token *** url *** key ***"


def test_url_encoded_secret_is_masked(masker):
    """A secret that appears URL-encoded (in a query string) is masked too."""
    masker.add("a b/c+d")
    assert masker.mask("https://x/?t=a%20b%2Fc%2Bd") == "https://x/?t=***"


def test_short_values_are_not_masked(masker):
    """Values shorter than four characters are ignored: masking every '1' protects nothing."""
    assert not masker.add("1")
    assert masker.mask("a1b1") == "a1b1"


def test_longest_secret_wins(masker):
    """A secret containing another is masked whole, not partially."""
    masker.add("abcd")
    masker.add("abcdefgh")
    assert masker.mask("xabcdefghx") == "x***x"


def test_exceptions_are_masked_when_made(masker):
    """Error messages, command lines and tails are masked as the exception is made."""
    masker.add("s3cr3t-token")
    assert "s3cr3t-token" not in str(CITasksError("bad s3cr3t-token"))
    err = CommandFailed("curl -H s3cr3t-token", 1, "401 for s3cr3t-token")
    assert "s3cr3t-token" not in str(err)
    assert "s3cr3t-token" not in err.command + err.tail


def test_reports_are_masked(masker, tmp_path):
    """JSON written through reports.write_json never contains a secret."""
    masker.add("xoxb-secret-value")
    path = tmp_path / "r.json"
    write_json(path, {"message": "posted with xoxb-secret-value"})
    assert "xoxb-secret-value" not in path.read_text()
    assert json.loads(path.read_text())["message"] == "posted with ***"


def test_a_secret_url_is_masked_by_its_pieces(masker):
    """A webhook URL is masked whole, and by its path, query, userinfo and query values."""
    masker.add("https://bot:pa55word@hooks.example.com/services/T0/B0/XyZsecret?sig=s1gnature")
    lines = {
        '"POST /services/T0/B0/XyZsecret?sig=s1gnature HTTP/1.1" 200': '"POST *** HTTP/1.1" 200',
        "Retrying after connection broken: /services/T0/B0/XyZsecret": (
            "Retrying after connection broken: ***"
        ),
        "user bot:pa55word, password pa55word": "user ***, password ***",
        "signed with s1gnature": "signed with ***",
        "host hooks.example.com": "host hooks.example.com",
    }
    for line, masked in lines.items():
        assert masker.mask(line) == masked


def test_a_url_carrying_secrets_keeps_its_host_and_path(masker):
    """STAGING_URL: its userinfo and query values are masked, its host and path stay."""
    masking.register_secret_variables(
        [], {"STAGING_URL": "https://deploy:hunter2secret@staging.example.com/app?token=t0k3n%2Fx"}
    )
    text = "GET https://staging.example.com/app/health?token=t0k3n%2Fx as deploy:hunter2secret"
    assert masker.mask(text) == "GET https://staging.example.com/app/health?token=*** as ***"
    assert masker.mask("decoded t0k3n/x") == "decoded ***"


@pytest.mark.usefixtures("masker")
def test_every_value_handed_to_the_actions_runner():
    """register_secret_variables returns each value and piece, even those known before."""
    env = {"SLACK_WEBHOOK_URL": "https://hooks.example.com/services/T/B/XyZ?sig=s1g9"}
    first = masking.register_secret_variables([], env)
    assert masking.register_secret_variables([], env) == first
    assert {env["SLACK_WEBHOOK_URL"], "/services/T/B/XyZ", "s1g9"} <= set(first)
    assert "hooks.example.com" not in first


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("AssertionError: 's3cr3t-value-4...' != 'x'", "AssertionError: '***...' != 'x'"),
        ("token: ...value-42-long-token!", "token: ...***!"),
        ("s3cr3t-v\u2026 twice s3cr3t-value...", "***\u2026 twice ***..."),
        ("s3cr3... is too short a fragment", "s3cr3... is too short a fragment"),
        ("s3cr3t-value without an ellipsis", "s3cr3t-value without an ellipsis"),
    ],
)
def test_a_secret_cut_short_beside_an_ellipsis_is_masked(masker, text, expected):
    """A shortened secret (pytest's and reprlib's '...') leaks its start: that is masked too."""
    masker.add("s3cr3t-value-42-long-token")
    assert masker.mask(text) == expected
