"""Vote rules: a small language that turns FER+ vote counts into classes of your own.

A rule is a class and conditions over the vote columns, such as ``anger + disgust >= 4`` or
``max(sadness, fear) > neutral``; each row takes the class of the first rule it matches
(seed 002's Neutral / Angry / Focused / Bored, ``configs/ferplus_seed002_rules.yaml``).
"""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ferkit.data.samples import Samples
from ferkit.data.sources.common import OnError
from ferkit.data.sources.fer2013 import Usage
from ferkit.data.sources.ferplus import FERPLUS_VOTE_COLUMNS, aligned_frames, report_dropped
from ferkit.errors import VoteRuleError
from ferkit.runs import read_yaml


_TOKEN = re.compile(r"\s*(?:(?P<number>\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
                    r"|(?P<compare>>=|<=|==|!=|>|<)|(?P<symbol>[-+(),]))")
_COMPARE = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal,
            "==": np.equal, "!=": np.not_equal}
_FUNCTIONS = {"max": np.max, "min": np.min, "sum": np.sum}


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text.rstrip()):
        match = _TOKEN.match(text, position)
        if not match:
            raise ValueError(f"unexpected {text[position:].strip()[:10]!r} at character {position}")
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


@dataclasses.dataclass(frozen=True)
class _Term:
    """A number, a vote column, or max/min/sum over vote columns, with its sign."""

    sign: int
    number: int | None = None
    columns: tuple[str, ...] = ()
    function: str | None = None

    def value(self, frame: pd.DataFrame) -> np.ndarray | int:
        if self.number is not None:
            return self.sign * self.number
        data = frame[list(self.columns)].to_numpy(dtype="int64")
        reduce = _FUNCTIONS[self.function] if self.function else np.sum
        return self.sign * reduce(data, axis=1)


def _parse_term(tokens: list[tuple[str, str]], at: int, sign: int) -> tuple[_Term, int]:
    if at >= len(tokens):
        raise ValueError("expression ends where a number or vote column was expected")
    kind, text = tokens[at]
    if kind == "number":
        return _Term(sign, number=int(text)), at + 1
    if kind != "name":
        raise ValueError(f"expected a number, a vote column or max(...), got {text!r}")
    if text not in _FUNCTIONS:
        return _Term(sign, columns=(text,)), at + 1
    return _parse_call(tokens, at, sign)


def _parse_call(tokens: list[tuple[str, str]], at: int, sign: int) -> tuple[_Term, int]:
    """``max(a, b, ...)``: a function over one or more vote columns."""
    function, at = tokens[at][1], at + 1
    if at >= len(tokens) or tokens[at][1] != "(":
        raise ValueError(f"{function} needs '(' and vote columns, e.g. {function}(anger, fear)")
    columns, at = [], at + 1
    while True:
        if at >= len(tokens) or tokens[at][0] != "name" or tokens[at][1] in _FUNCTIONS:
            raise ValueError(f"{function}(...) takes vote column names separated by commas")
        columns.append(tokens[at][1])
        if at + 1 < len(tokens) and tokens[at + 1][1] == ",":
            at += 2
            continue
        if at + 1 < len(tokens) and tokens[at + 1][1] == ")":
            return _Term(sign, columns=tuple(columns), function=function), at + 2
        raise ValueError(f"{function}(...) is missing its closing ')'")


def _parse_expression(tokens: list[tuple[str, str]]) -> tuple[_Term, ...]:
    terms, at, sign = [], 0, 1
    while True:
        term, at = _parse_term(tokens, at, sign)
        terms.append(term)
        if at == len(tokens):
            return tuple(terms)
        if tokens[at][1] not in ("+", "-"):
            raise ValueError(f"expected '+' or '-' after a term, got {tokens[at][1]!r}")
        sign, at = (1 if tokens[at][1] == "+" else -1), at + 1


@dataclasses.dataclass(frozen=True)
class VoteCondition:
    """``<expression> <comparison> <expression>`` over vote columns, e.g. ``anger + 2 < sadness``.

    An expression adds and subtracts whole numbers, vote columns and ``max(...)``, ``min(...)``
    or ``sum(...)`` of vote columns. Comparisons: ``> >= < <= == !=``. Parsed, never evaluated
    as Python.
    """

    text: str
    left: tuple[_Term, ...]
    compare: str
    right: tuple[_Term, ...]

    @classmethod
    def parse(cls, text: str, columns: Sequence[str] | None = FERPLUS_VOTE_COLUMNS) -> "VoteCondition":
        """Parse ``text``; with ``columns``, every column it names must be one of them."""
        tokens = _tokenize(text)
        compares = [i for i, (kind, _) in enumerate(tokens) if kind == "compare"]
        if len(compares) != 1:
            raise ValueError(f"needs exactly one comparison (> >= < <= == !=), found {len(compares)}")
        at = compares[0]
        if at == 0 or at == len(tokens) - 1:
            raise ValueError(f"comparison {tokens[at][1]!r} needs an expression on both sides")
        condition = cls(text, _parse_expression(tokens[:at]), tokens[at][1],
                        _parse_expression(tokens[at + 1:]))
        if not condition.columns:
            raise ValueError("compares only numbers; name at least one vote column")
        unknown = sorted(set(condition.columns) - set(columns)) if columns is not None else []
        if unknown:
            raise ValueError(f"unknown vote column(s) {unknown}; vote columns are {list(columns)}")
        return condition

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(c for term in self.left + self.right for c in term.columns)

    def holds(self, frame: pd.DataFrame) -> np.ndarray:
        """Boolean mask of the rows of ``frame`` where the condition holds."""
        left = sum(term.value(frame) for term in self.left)
        right = sum(term.value(frame) for term in self.right)
        return np.broadcast_to(_COMPARE[self.compare](left, right), (len(frame),))


@dataclasses.dataclass(frozen=True)
class VoteRule:
    """Rows whose votes meet every condition (an empty list matches every row) get ``label``."""

    label: str
    conditions: tuple[VoteCondition, ...]

    def matches(self, frame: pd.DataFrame) -> np.ndarray:
        mask = np.ones(len(frame), dtype=bool)
        for condition in self.conditions:
            mask &= condition.holds(frame)
        return mask


@dataclasses.dataclass(frozen=True)
class VoteRules:
    """Ordered rules (first match wins) and the class order that labels index."""

    rules: tuple[VoteRule, ...]
    classes: tuple[str, ...]


#: What the rule functions accept: parsed rules, plain rule data, or a YAML file path.
RuleSource = VoteRules | Sequence[VoteRule | Mapping] | Mapping | str | Path


def _conditions_of(when: Any) -> list[str]:
    """Condition texts from a list of strings or a ``{column: "op value" | [..] | int}`` map."""
    if isinstance(when, str):
        return [when]
    if isinstance(when, Mapping):
        texts = []
        for column, tests in when.items():
            for test in tests if isinstance(tests, list) else [tests]:
                if isinstance(test, bool) or not isinstance(test, (int, str)):
                    raise ValueError(f"'when' entry for {column!r} must be a comparison such as "
                                     f"'>= 5' or a whole number, got {test!r}")
                texts.append(f"{column} == {test}" if isinstance(test, int) else f"{column} {test}")
        return texts
    if isinstance(when, list) and all(isinstance(t, str) for t in when):
        return list(when)
    raise ValueError("'when' must be a list of conditions such as 'anger > 2', or a mapping "
                     f"such as {{neutral: '>= 5'}}; got {when!r}")


def _parse_rule(spec: Any, number: int, columns: Sequence[str] | None) -> VoteRule:
    where = f"rule {number}"
    if isinstance(spec, VoteRule):
        return spec
    if not isinstance(spec, Mapping):
        raise VoteRuleError(f"{where}: must be a mapping with 'class' and 'when', got {spec!r}")
    extra = sorted(set(spec) - {"class", "when"})
    if extra:
        raise VoteRuleError(f"{where}: unknown field(s) {extra}; a rule has 'class' and 'when'")
    for field in ("class", "when"):
        if field not in spec:
            raise VoteRuleError(f"{where}: field '{field}' is missing")
    label = spec["class"]
    if not isinstance(label, str) or not label.strip():
        raise VoteRuleError(f"{where}, field 'class': must be a non-empty name, got {label!r}")
    where = f"rule {number} ({label!r})"
    if spec["when"] is None:
        raise VoteRuleError(f"{where}, field 'when': is empty; write 'when: []' for a rule "
                            "that matches every row")
    try:
        texts = _conditions_of(spec["when"])
    except ValueError as error:
        raise VoteRuleError(f"{where}, field 'when': {error}") from None
    conditions = []
    for text in texts:
        try:
            conditions.append(VoteCondition.parse(text, columns))
        except ValueError as error:
            raise VoteRuleError(f"{where}, field 'when', condition {text!r}: {error}") from None
    return VoteRule(label.strip(), tuple(conditions))


def parse_vote_rules(spec: Any, columns: Sequence[str] | None = FERPLUS_VOTE_COLUMNS) -> VoteRules:
    """Rules from plain data: a list of ``{"class": ..., "when": ...}`` or a mapping with
    ``rules`` and optionally ``classes`` (the label order; default: first appearance).

    ``columns`` are the allowed vote column names (None: any name). Rules are numbered from
    1 in messages.
    """
    if isinstance(spec, VoteRules):
        return spec
    classes = None
    if isinstance(spec, Mapping):
        extra = sorted(set(spec) - {"rules", "classes", "description"})
        if extra:
            raise VoteRuleError(f"unknown top-level field(s) {extra}; expected 'rules', "
                                "optional 'classes' and 'description'")
        if "rules" not in spec:
            raise VoteRuleError("top-level field 'rules' is missing")
        classes, spec = spec.get("classes"), spec["rules"]
    if not isinstance(spec, list) or not spec:
        raise VoteRuleError(f"'rules' must be a non-empty list of rules, got {spec!r}")
    rules = tuple(_parse_rule(item, number, columns) for number, item in enumerate(spec, start=1))
    return VoteRules(rules, _rule_classes(rules, classes))


def _rule_classes(rules: Sequence[VoteRule], classes: Any) -> tuple[str, ...]:
    used = list(dict.fromkeys(rule.label for rule in rules))
    if classes is None:
        return tuple(used)
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise VoteRuleError(f"field 'classes': must be a list of class names, got {classes!r}")
    if len(set(classes)) != len(classes):
        raise VoteRuleError(f"field 'classes': names repeat in {classes}")
    for number, rule in enumerate(rules, start=1):
        if rule.label not in classes:
            raise VoteRuleError(f"rule {number}, field 'class': {rule.label!r} is not in "
                                f"'classes' {classes}")
    unused = [c for c in classes if c not in used]
    if unused:
        raise VoteRuleError(f"field 'classes': {unused} have no rule, so they would stay empty")
    return tuple(classes)


def load_vote_rules(path: str | Path) -> VoteRules:
    """Read vote rules from a YAML file (see :func:`parse_vote_rules` for the layout)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"vote rules file {path} does not exist")
    spec = read_yaml(path, VoteRuleError)  # safe loader: plain data, no alias bombs
    try:
        return parse_vote_rules(spec)
    except VoteRuleError as error:
        raise VoteRuleError(f"vote rules {path}: {error}") from None


def _as_rules(rules: RuleSource) -> VoteRules:
    if isinstance(rules, (str, Path)):
        return load_vote_rules(rules)
    return parse_vote_rules(list(rules) if isinstance(rules, tuple) else rules)


def apply_vote_rules(votes_frame: pd.DataFrame, rules: RuleSource) -> pd.DataFrame:
    """Label each row with the class of the first rule it matches.

    Returns the matching rows with ``label`` (index into the rules' ``classes``),
    ``class_name`` and ``rule`` (1-based number of the rule that matched). Rows matching no
    rule are dropped and reported: ``attrs["dropped"] == {"no_rule_matched": n}`` and
    ``attrs["dropped_rows"]`` (their ``row`` values, or index labels without a ``row``
    column). ``attrs["classes"]`` holds the class order.
    """
    rules = _as_rules(rules)
    needed = sorted({c for rule in rules.rules for cond in rule.conditions for c in cond.columns})
    missing = [c for c in needed if c not in votes_frame.columns]
    if missing:
        raise ValueError(f"vote rules use column(s) {missing} that the frame lacks "
                         f"(it has {list(votes_frame.columns)})")
    matched = np.zeros(len(votes_frame), dtype=np.int64)  # 0 = none yet, else rule number
    for number, rule in enumerate(rules.rules, start=1):
        matched[(matched == 0) & rule.matches(votes_frame)] = number
    labels = np.array([rules.classes.index(rule.label) for rule in rules.rules], dtype=np.int64)
    kept = matched > 0
    ids = votes_frame["row"] if "row" in votes_frame.columns else votes_frame.index.to_series()
    frame = votes_frame[kept].assign(
        label=labels[matched[kept] - 1],
        class_name=np.asarray(rules.classes, dtype=object)[labels[matched[kept] - 1]],
        rule=matched[kept])
    report_dropped({"no_rule_matched": ids[~kept].tolist()}, frame, "vote rules")
    frame.attrs["classes"] = list(rules.classes)
    return frame


def load_ferplus_rules(fer2013_path: str | Path, ferplus_path: str | Path,
                       rules: RuleSource, *,
                       usage: Usage | Sequence[Usage] | None = None,
                       on_error: OnError = "raise") -> Samples:
    """FER2013 images labelled by vote rules applied to the raw FER+ votes (no vote is
    dropped first); ``classes`` are the rules' classes.

    The frame is :func:`load_ferplus`'s without ``target_*`` columns, plus ``class_name`` and
    ``rule``. ``attrs["dropped"]`` / ``attrs["dropped_rows"]`` report rows without an image
    name, skipped bad rows and rows no rule matched.
    """
    rules = _as_rules(rules)
    frame, images, dropped, skipped = aligned_frames(fer2013_path, ferplus_path, usage, on_error)
    labelled = apply_vote_rules(frame, rules).reset_index(drop=True)
    dropped.update(labelled.attrs["dropped_rows"])
    source = f"FER+ vote rules {ferplus_path}"
    report_dropped(dropped, labelled, source)
    labelled.attrs.update(classes=list(rules.classes), skipped=skipped)
    return Samples(frame=labelled, classes=rules.classes, images=images, source=source)
