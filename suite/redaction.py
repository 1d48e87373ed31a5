"""No secret value leaves the run: every value the suite learns is registered and masked.

Registered values are replaced by `***` in every report the run writes: failure messages
and tracebacks (with --showlocals too), captured stdout/stderr/logging, the terminal, JUnit
XML and the HTML report (they are all written from the test reports masked here), and the
log records of the suite's own loggers. A value is also caught in its JSON-escaped,
URL-encoded, shell-quoted and repr() forms.
"""
from __future__ import annotations

import itertools
import json
import logging
import re
import shlex
import threading
import urllib.parse
from typing import Any, Iterable

import pytest

MASK = "***"
MIN_LENGTH = 4  # shorter strings would mask ordinary words
CUT = "..."  # where pytest's saferepr shortened a long value
FRAGMENT = 6  # the shortest piece of a cut secret worth masking
RECOMPILE_AFTER = 64  # forms registered since the pattern was compiled, looked for one by one until then


class SecretRegistry:
    def __init__(self) -> None:
        self._forms: set[str] = set()
        self._pattern: re.Pattern[str] | None = None  # every form but the pending ones
        self._pending: set[str] = set()  # registered since the pattern was compiled
        self._lock = threading.Lock()

    def register(self, value: Any) -> None:
        """Register a secret value (strings; dicts and lists are walked)."""
        if isinstance(value, dict):
            for item in value.values():
                self.register(item)
            return
        if isinstance(value, (list, tuple)):
            for item in value:
                self.register(item)
            return
        if not isinstance(value, str) or len(value) < MIN_LENGTH:
            return
        with self._lock:
            new = {form for form in encoded_forms(value) if len(form) >= MIN_LENGTH} - self._forms
            self._forms |= new
            self._pending |= new

    def register_secret_string(self, secret_string: str) -> None:
        """A SecretString: the whole value, and each value of its JSON keys that holds a secret."""
        self.register(secret_string)
        try:
            document = json.loads(secret_string)
        except ValueError:
            return
        if isinstance(document, dict):
            self.register([document[key] for key in document if key.lower() in SECRET_KEYS])

    @property
    def values(self) -> frozenset[str]:
        return frozenset(self._forms)

    def mask(self, text: str) -> str:
        if not self._forms or not text:
            return text
        masked = self._pattern_for(text).sub(MASK, text)
        return self._mask_cut_ends(masked) if CUT in masked else masked

    def _pattern_for(self, text: str) -> re.Pattern[str]:
        """The compiled pattern, compiled again (every form) only when a form registered since is in the text
        or many are: a run registers each rotation's password, and compiling hundreds of forms is what costs.
        Where no pending form occurs in the text, the pattern of the others masks exactly what all of them would."""
        with self._lock:
            pattern, pending = self._pattern, self._pending
            if pattern is not None and (not pending or len(pending) <= RECOMPILE_AFTER
                                        and not any(form in text for form in pending)):
                return pattern
            self._pattern, self._pending = re.compile(trie_pattern(self._forms)), set()
            return self._pattern

    def _mask_cut_ends(self, text: str) -> str:
        """pytest shortens a long repr to its start + '...' + its end: a secret cut in two no longer
        matches, so a piece of at least FRAGMENT characters that begins or ends a registered value
        and touches a cut is masked too."""
        forms = [form for form in self._forms if len(form) > FRAGMENT]
        out, position = [], 0
        for cut in re.finditer(re.escape(CUT), text):
            start, end = cut.start(), cut.end()
            before = _longest_start_of_a_form_ending_at(text, start, position, forms)
            after = _longest_end_of_a_form_starting_at(text, end, forms)
            out.append(text[position:start - before] + (MASK if before else "") + CUT)
            out.append(MASK if after else "")
            position = end + after
        out.append(text[position:])
        return "".join(out)


def _longest_start_of_a_form_ending_at(text: str, start: int, position: int, forms: list[str]) -> int:
    """The longest k, FRAGMENT <= k < len(form), such that text[start - k:start] (not before `position`) is the
    first k characters of a form; 0 if none. Such a piece ends with the FRAGMENT characters before `start`: only
    where a form holds those is a k tried."""
    if start - position < FRAGMENT:
        return 0
    tail, best = text[start - FRAGMENT:start], 0
    for form in forms:
        index = form.find(tail)
        while index != -1:
            k = index + FRAGMENT
            if best < k < len(form) and start - k >= position and text[start - k:start] == form[:k]:
                best = k
            index = form.find(tail, index + 1)
    return best


def _longest_end_of_a_form_starting_at(text: str, end: int, forms: list[str]) -> int:
    """The longest k, FRAGMENT <= k < len(form), such that text[end:end + k] is the last k characters of a form; 0 if
    none. Such a piece begins with the FRAGMENT characters from `end`: only where a form holds those is a k tried."""
    head, best = text[end:end + FRAGMENT], 0
    if len(head) < FRAGMENT:
        return 0
    for form in forms:
        index = form.find(head)
        while index != -1:
            k = len(form) - index
            if best < k < len(form) and text[end:end + k] == form[index:]:
                best = k
            index = form.find(head, index + 1)
    return best


def trie_pattern(forms: Iterable[str]) -> str:
    """One regular expression matching any of `forms`, the longest where several begin at one place, as a
    trie: at each character one branch is followed, where an alternation of hundreds of values (every
    password a run has seen, in each of its encodings) tries each in turn at every position of the text."""
    def branch(suffixes: list[str]) -> str:
        """The trie below a node, from the suffixes of the forms through it (sorted, unique; "" ends one here)."""
        ends = suffixes[0] == ""  # sorted: the empty suffix comes first
        rest = suffixes[1:] if ends else suffixes
        if not rest:
            return ""
        if len(rest) == 1 and not ends:  # one form's tail, branching nowhere: its characters in a row
            return re.escape(rest[0])
        alternatives = [re.escape(character) + branch([suffix[1:] for suffix in group])
                        for character, group in itertools.groupby(rest, key=lambda suffix: suffix[0])]
        body = alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"
        return f"(?:{body})?" if ends else body  # greedy: the longer form is tried first

    unique = sorted(set(forms))
    return branch(unique) if unique else ""


SECRET_KEYS = {"password", "secretaccesskey", "secret_access_key", "sessiontoken", "session_token"}


def encoded_forms(value: str) -> Iterable[str]:
    yield value
    yield json.dumps(value)[1:-1]  # inside a JSON string
    yield json.dumps(json.dumps(value))[1:-1]  # JSON inside JSON (a SecretString in a response)
    yield urllib.parse.quote(value, safe="")
    yield urllib.parse.quote_plus(value)
    yield shlex.quote(value)
    yield repr(value)[1:-1]
    yield value.replace("'", "'\\''")  # inside a single-quoted shell word


REGISTRY = SecretRegistry()


def _masking_record_factory(original: Any) -> Any:
    """Every log record, whichever logger and handler: its message is masked at creation."""
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = original(*args, **kwargs)
        if REGISTRY.values:
            try:
                message = record.getMessage()
            except Exception:  # a malformed record is logging's business, not ours
                return record
            masked = REGISTRY.mask(message)
            if masked != message:
                record.msg, record.args = masked, None
        return record
    factory.masks_secrets = True  # type: ignore[attr-defined]
    return factory


def _mask_report(report: pytest.TestReport) -> None:
    if report.longrepr is not None:
        text = str(report.longrepr)
        masked = REGISTRY.mask(text)
        if masked != text:
            report.longrepr = masked
    report.sections = [(title, REGISTRY.mask(content)) for title, content in report.sections]
    for extra in getattr(report, "extras", []) or []:
        if isinstance(extra.get("content"), str):
            extra["content"] = REGISTRY.mask(extra["content"])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    outcome = yield
    _mask_report(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Any:
    outcome = yield
    report = outcome.get_result()
    if report.longrepr is not None:
        report.longrepr = REGISTRY.mask(str(report.longrepr))


def pytest_configure(config: pytest.Config) -> None:
    current = logging.getLogRecordFactory()
    if not getattr(current, "masks_secrets", False):
        logging.setLogRecordFactory(_masking_record_factory(current))
