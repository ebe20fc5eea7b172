"""Declarative response conditions, Gatus-style: parsed by a small grammar, never ``eval``.

A condition is ``subject operator value``::

    status == 200            status < 500             response_time < 500   (milliseconds)
    body contains "ready"    body.status == "ok"      body.checks[0].healthy == true
    header.content-type contains "json"               certificate_expires_in > 14d

Subjects: ``status``, ``response_time`` (ms; a value may carry a unit: ``2s``),
``body`` (the text), ``body.<path>`` (a JSON path of keys and ``[index]``),
``header.<name>`` (case-insensitive), ``certificate_expires_in`` (a duration: ``14d``).
Operators: ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``contains``. Values: integers,
numbers, double-quoted strings, ``true``, ``false``, ``null``, durations (``ms s m h d``).

:func:`parse` raises :class:`ConditionError` (a ``ValueError``, so the configuration
loader reports it as a one-line config error before any request is sent);
:func:`evaluate` is pure and returns an :class:`Outcome` that prints as Gatus does:
``status (503) == 200``.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Op = Literal["==", "!=", "<", "<=", ">", ">=", "contains"]
Kind = Literal["status", "response_time", "body", "header", "certificate_expires_in"]
Value = str | int | float | bool | None

_ORDERING: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_UNITS_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<duration>\d+(?:\.\d+)?(?:ms|s|m|h|d)\b)
  | (?P<number>-?\d+(?:\.\d+)?\b)
  | (?P<op>==|!=|<=|>=|<|>)
  | (?P<word>[A-Za-z_][\w\-]*(?:\.[\w\-]+|\[\d+\])*)
    """,
    re.VERBOSE,
)
_PATH_PART = re.compile(r"\.([\w\-]+)|\[(\d+)\]")


class ConditionError(ValueError):
    """A condition that does not follow the grammar; says where and what is expected."""


@dataclass(frozen=True)
class Duration:
    """A duration literal, kept as written for messages."""

    seconds: float
    text: str


@dataclass(frozen=True)
class Subject:
    """What a condition looks at."""

    kind: Kind
    path: tuple[str | int, ...] = ()
    """JSON path for ``body.<path>``; the header name for ``header.<name>``."""

    def __str__(self) -> str:
        if self.kind == "header":
            return f"header.{self.path[0]}"
        if self.kind == "body" and self.path:
            parts = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in self.path)
            return f"body{parts}"
        return self.kind


@dataclass(frozen=True)
class Condition:
    """One parsed condition."""

    subject: Subject
    op: Op
    value: Value | Duration
    text: str = field(compare=False)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Observation:
    """What one request saw: the input to :func:`evaluate`."""

    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    """Header names in lower case."""
    body: str = ""
    time_ms: float = 0.0
    certificate_expires_in: float | None = None
    """Seconds until the server's TLS certificate expires; ``None`` without TLS."""
    error: str | None = None
    """Why there is no response (connection refused, timed out); ``None`` when there is one."""


@dataclass(frozen=True)
class Outcome:
    """A condition with what was observed and whether it held."""

    condition: Condition
    passed: bool
    observed: str

    def __str__(self) -> str:
        c = self.condition
        shown = c.value.text if isinstance(c.value, Duration) else _literal(c.value)
        return f"{c.subject} ({self.observed}) {c.op} {shown}"


def _literal(value: Value) -> str:
    return json.dumps(value)


def _tokens(text: str) -> list[tuple[str, str, int]]:
    tokens = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            msg = f"condition {text!r}: unexpected {text[pos:]!r} at column {pos + 1}"
            raise ConditionError(msg)
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append((kind, match.group(), pos + 1))
        pos = match.end()
    return tokens


def _subject(text: str, word: str) -> Subject:
    head, _, rest = word.partition(".")
    bracket = head.find("[")
    if bracket >= 0:  # body[0]
        head, rest = head[:bracket], word[bracket:]
    elif rest:
        rest = "." + rest
    if head in ("status", "response_time", "certificate_expires_in") and not rest:
        return Subject(head)  # type: ignore[arg-type]
    if head == "body":
        parts = tuple(
            m.group(1) if m.group(1) is not None else int(m.group(2))
            for m in _PATH_PART.finditer(rest)
        )
        return Subject("body", parts)
    if head == "header" and rest.startswith(".") and "[" not in rest:
        return Subject("header", (rest[1:].lower(),))
    msg = (
        f"condition {text!r}: unknown subject {word!r}; expected status, response_time, "
        "body, body.<json path>, header.<name> or certificate_expires_in"
    )
    raise ConditionError(msg)


def _value(text: str, kind: str, raw: str) -> Value | Duration:
    if kind == "string":
        return str(json.loads(raw))
    if kind == "number":
        return float(raw) if "." in raw else int(raw)
    if kind == "duration":
        number = raw.rstrip("mshd")  # the token pattern guarantees one known unit
        return Duration(float(number) * _UNITS_S[raw[len(number) :]], raw)
    if kind == "word" and raw in ("true", "false", "null"):
        return {"true": True, "false": False, "null": None}[raw]
    hint = f'; strings are quoted: "{raw}"' if kind == "word" else ""
    msg = f"condition {text!r}: expected a value after the operator, got {raw!r}{hint}"
    raise ConditionError(msg)


def _check_types(text: str, subject: Subject, op: Op, value: Value | Duration) -> None:  # noqa: C901
    def bad(expected: str) -> ConditionError:
        return ConditionError(f"condition {text!r}: {subject} {expected}")

    number = isinstance(value, int | float) and not isinstance(value, bool)
    if subject.kind == "status":
        if op == "contains" or not isinstance(value, int) or isinstance(value, bool):
            raise bad("compares (==, !=, <, <=, >, >=) with an integer, e.g. status == 200")
    elif subject.kind == "response_time":
        if op == "contains" or not (number or isinstance(value, Duration)):
            raise bad("compares with milliseconds or a duration, e.g. response_time < 500")
    elif subject.kind == "certificate_expires_in":
        if op == "contains" or not isinstance(value, Duration):
            raise bad("compares with a duration, e.g. certificate_expires_in > 14d")
    elif subject.kind == "header" or (subject.kind == "body" and not subject.path):
        if op not in ("==", "!=", "contains") or not isinstance(value, str):
            raise bad('takes ==, != or contains with a quoted string, e.g. body contains "ok"')
    elif isinstance(value, Duration):
        raise bad("compares with a JSON value (a string, number, true, false or null)")
    elif op == "contains" and not isinstance(value, str | int | float):
        raise bad("contains takes a string or a number")
    elif op in ("<", "<=", ">", ">=") and not number:
        raise bad(f"{op} needs a number")


def parse(text: str) -> Condition:
    """Parse one condition; raises :class:`ConditionError` saying what is wrong."""
    tokens = _tokens(text)
    if not tokens:
        msg = "condition is empty; expected e.g. 'status == 200'"
        raise ConditionError(msg)
    kind, word, _ = tokens[0]
    if kind != "word":
        msg = f"condition {text!r}: expected a subject (status, body, ...) first, got {word!r}"
        raise ConditionError(msg)
    subject = _subject(text, word)
    if len(tokens) < 2 or not (tokens[1][0] == "op" or tokens[1][1] == "contains"):  # noqa: PLR2004
        got = repr(tokens[1][1]) if len(tokens) > 1 else "nothing"
        msg = (
            f"condition {text!r}: expected an operator (==, !=, <, <=, >, >=, contains) "
            f"after {word!r}, got {got}"
        )
        raise ConditionError(msg)
    op: Op = tokens[1][1]  # type: ignore[assignment]
    if len(tokens) < 3:  # noqa: PLR2004
        msg = f"condition {text!r}: expected a value after {op!r}"
        raise ConditionError(msg)
    if len(tokens) > 3:  # noqa: PLR2004
        msg = f"condition {text!r}: unexpected {tokens[3][1]!r} at column {tokens[3][2]}"
        raise ConditionError(msg)
    value = _value(text, tokens[2][0], tokens[2][1])
    _check_types(text, subject, op, value)
    return Condition(subject, op, value, text.strip())


_MISSING = object()


def _json_path(body: str, path: tuple[str | int, ...]) -> tuple[Any, str | None]:
    """The value at *path*, or ``(_MISSING, why)``."""
    try:
        node: Any = json.loads(body)
    except ValueError:
        return _MISSING, "body is not JSON"
    for part in path:
        in_list = isinstance(part, int) and isinstance(node, list) and part < len(node)
        if in_list or (isinstance(part, str) and isinstance(node, dict) and part in node):
            node = node[part]
        else:
            return _MISSING, "missing"
    return node, None


def _compare(op: Op, observed: Any, expected: Any) -> bool:
    if op == "contains":
        if isinstance(observed, str):
            return str(expected) in observed
        if isinstance(observed, list):
            return expected in observed
        return False
    if op in ("==", "!="):
        # true is not 1 in JSON: booleans and null compare by identity.
        if any(isinstance(v, bool) or v is None for v in (observed, expected)):
            same = observed is expected
        else:
            same = observed == expected
        return same if op == "==" else not same
    numeric = all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in (observed, expected)
    )
    return numeric and _ORDERING[op](observed, expected)


def _days(seconds: float) -> str:
    return f"{seconds / 86400:.1f}d"


def evaluate(condition: Condition, seen: Observation) -> Outcome:  # noqa: C901 - one branch per subject
    """Whether *condition* holds for *seen*, with the observed value as it will be shown."""
    subject, op, value = condition.subject, condition.op, condition.value
    if seen.error is not None and subject.kind != "certificate_expires_in":
        return Outcome(condition, passed=False, observed=seen.error)
    observed: Any
    if subject.kind == "status":
        observed, shown = seen.status, str(seen.status)
    elif subject.kind == "response_time":
        observed, shown = seen.time_ms, f"{seen.time_ms:.0f}"
        if isinstance(value, Duration):
            value = value.seconds * 1000
    elif subject.kind == "certificate_expires_in":
        if seen.certificate_expires_in is None:
            return Outcome(condition, passed=False, observed=seen.error or "no TLS certificate")
        observed, shown = seen.certificate_expires_in, _days(seen.certificate_expires_in)
        value = value.seconds if isinstance(value, Duration) else value
    elif subject.kind == "header":
        observed = seen.headers.get(str(subject.path[0]))
        if observed is None:
            return Outcome(condition, passed=op == "!=", observed="missing")
        shown = json.dumps(observed)
    elif not subject.path:
        observed, shown = seen.body, json.dumps(_shorten(seen.body))
    else:
        observed, why = _json_path(seen.body, subject.path)
        if observed is _MISSING:
            return Outcome(condition, passed=False, observed=why or "missing")
        shown = _shorten(json.dumps(observed))
    return Outcome(condition, passed=_compare(op, observed, value), observed=shown)


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
