"""Gatus-style conditions: the grammar, type checks and what a failure prints."""

from __future__ import annotations

import json

import pytest

from ci_tasks.stages.smoke.conditions import ConditionError, Observation, evaluate, parse

OK_JSON = Observation(
    status=200,
    headers={"content-type": "application/json"},
    body=json.dumps({"status": "ok", "checks": [{"name": "db", "healthy": True}], "n": 3}),
    time_ms=120.0,
)


@pytest.mark.parametrize(
    "text",
    [
        "status == 200",
        "status < 500",
        "status>=200",
        'body contains "ok"',
        'body.status == "ok"',
        "body.checks[0].healthy == true",
        'body.checks[0].name != "cache"',
        "body.n > 2",
        "body.checks contains 1 ",
        'header.content-type contains "json"',
        "response_time < 500",
        "response_time <= 1s",
    ],
)
def test_valid_conditions_hold_for_a_healthy_answer(text):
    """Each supported form parses, and holds for a healthy JSON answer (except one)."""
    outcome = evaluate(parse(text), OK_JSON)
    assert outcome.passed is (text != "body.checks contains 1 ")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("status == 200", "status (503) == 200"),
        ('body.status == "ok"', 'body.status ("degraded") == "ok"'),
        ("body.missing == 1", "body.missing (missing) == 1"),
        (
            'header.content-type contains "json"',
            'header.content-type ("text/html") contains "json"',
        ),
        ('header.x-absent == "1"', 'header.x-absent (missing) == "1"'),
        ("response_time < 500", "response_time (812) < 500"),
        ('body contains "ready"', 'body ("{\\"status\\": \\"degraded\\"}") contains "ready"'),
        ("certificate_expires_in > 14d", "certificate_expires_in (no TLS certificate) > 14d"),
    ],
)
def test_a_failed_condition_prints_the_observed_value(text, shown):
    """A failure reads like Gatus's: subject (observed) operator expected."""
    seen = Observation(
        status=503,
        headers={"content-type": "text/html"},
        body=json.dumps({"status": "degraded"}),
        time_ms=812.4,
    )
    outcome = evaluate(parse(text), seen)
    assert not outcome.passed
    assert str(outcome) == shown


def test_body_that_is_not_json_says_so():
    """A JSON path on a non-JSON body fails naming why, not with a traceback."""
    outcome = evaluate(parse('body.status == "ok"'), Observation(status=200, body="<html>"))
    assert str(outcome) == 'body.status (body is not JSON) == "ok"'


def test_true_is_not_one():
    """JSON booleans compare by identity: true is not 1."""
    assert not evaluate(parse("body.a == 1"), Observation(body='{"a": true}')).passed
    assert evaluate(parse("body.a == true"), Observation(body='{"a": true}')).passed


def test_transport_error_fails_every_condition_with_the_error():
    """Without a response, the error is what was observed."""
    outcome = evaluate(parse("status < 500"), Observation(error="connection refused"))
    assert str(outcome) == "status (connection refused) < 500"


def test_certificate_expiry_compares_durations():
    """certificate_expires_in compares seconds left with a duration."""
    cond = parse("certificate_expires_in > 14d")
    assert evaluate(cond, Observation(status=200, certificate_expires_in=30 * 86400)).passed
    failed = evaluate(cond, Observation(status=200, certificate_expires_in=3 * 86400))
    assert str(failed) == "certificate_expires_in (3.0d) > 14d"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty"),
        ("status = 200", "unexpected '= 200' at column 8"),
        ('status == "200"', "with an integer"),
        ("foo == 1", "unknown subject 'foo'"),
        ("body.status == ok", 'strings are quoted: "ok"'),
        ("status ==", "expected a value after '=='"),
        ("status 200", "expected an operator"),
        ("status == 200 and", "unexpected 'and'"),
        ("header.server < 3", "quoted string"),
        ("certificate_expires_in > 14", "a duration"),
        ('body.n > "x"', "needs a number"),
        ("__import__('os') == 1", "unexpected"),
    ],
)
def test_invalid_conditions_are_rejected_with_a_reason(text, says):
    """Anything outside the grammar is a ConditionError naming the problem (never eval'd)."""
    with pytest.raises(ConditionError, match=None) as info:
        parse(text)
    assert says in str(info.value)
