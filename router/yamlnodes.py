"""Reading a composed YAML tree with line numbers: every problem is collected, none raised.

The rules file is composed, not loaded (`yaml.compose` with the safe loader), so every value
still knows the line it came from and each problem can say `rules.yaml:12: rule 'x': ...`.
Readers return None for a value they could not read and carry on, so one pass reports them all.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from core.errors import RuleError
from core.model import ascii_digits

NULL_TAG = "tag:yaml.org,2002:null"
BOOL_TAG = "tag:yaml.org,2002:bool"
INT_TAG = "tag:yaml.org,2002:int"
MAX_DIGITS = 18
"""A whole number in the rules is small (a minute count, a limit); longer ones are refused
before `int` (which refuses over 4,300 digits) or SQLite (over 2**63) would."""


def suggest(word: str, choices: Iterable[str]) -> str:
    """` (did you mean 'x'?)` for the closest choice, or nothing."""
    close = difflib.get_close_matches(word, [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def line_of(node: Node) -> int:
    return node.start_mark.line + 1


# libyaml's loader composes a 1,000-rule file in a tenth of the pure-Python loader's time.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def compose(text: str, filename: str) -> Node | None:
    """The node tree of one YAML document; RuleError naming the line for bad YAML."""
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = f"{filename}{line}: not valid YAML: {exc.problem or exc.context}"
        raise RuleError(f"{filename}: not valid YAML", (problem,)) from exc
    except yaml.YAMLError as exc:
        raise RuleError(f"{filename}: not valid YAML", (f"{filename}: {exc}",)) from exc
    except UnicodeEncodeError as exc:  # a lone surrogate (a JSON "\ud800"): libyaml needs UTF-8
        at = text.count("\n", 0, exc.start) + 1
        problem = f"{filename}:{at}: not valid YAML: U+{ord(text[exc.start]):04X} is no character"
        raise RuleError(f"{filename}: not valid YAML", (problem,)) from exc
    if root is not None:
        _refuse_aliases(root, filename)
    return root


def _refuse_aliases(root: Node, filename: str) -> None:
    """An alias makes one node appear twice in the tree; a few of them nested expand a small
    file into a huge one (the billion-laughs attack). Refused at their first repeat."""
    seen: set[int] = set()
    stack: list[tuple[Node, Node]] = [(root, root)]
    while stack:
        node, parent = stack.pop()
        if id(node) in seen:
            problem = f"{filename}:{line_of(parent)}: YAML aliases (*name) are not supported"
            raise RuleError(f"{filename}: not valid YAML", (problem,))
        seen.add(id(node))
        # Pushed in reverse so nodes are visited in document order: the repeat is the alias.
        if isinstance(node, MappingNode):
            for key, value in reversed(node.value):
                stack.extend(((value, key), (key, key)))
        elif isinstance(node, SequenceNode):
            stack.extend((item, node) for item in reversed(node.value))


def is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == NULL_TAG


def describe(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return "nothing" if node.tag == NULL_TAG else f"{node.value!r}"


@dataclass
class Reader:
    """Reads typed values out of nodes and collects `file:line: where: message` problems."""

    filename: str
    problems: list[tuple[int, str]] = field(default_factory=list)

    def report(self, node: Node, where: str, message: str) -> None:
        line = line_of(node)
        context = f"{where}: " if where else ""
        self.problems.append((line, f"{self.filename}:{line}: {context}{message}"))

    def sorted_problems(self) -> tuple[str, ...]:
        return tuple(text for _, text in sorted(self.problems, key=lambda p: p[0]))

    def entries(self, node: Node, where: str, what: str) -> list[tuple[str, Node, Node]]:
        """(key, key node, value node) of a mapping; non-text and duplicate keys reported."""
        if not isinstance(node, MappingNode):
            self.report(node, where, f"{what} must be a mapping, not {describe(node)}")
            return []
        seen: dict[str, int] = {}
        out: list[tuple[str, Node, Node]] = []
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == NULL_TAG:
                self.report(key_node, where, f"keys of {what} must be names")
                continue
            key = str(key_node.value)
            if key in seen:
                self.report(key_node, where, f"{key!r} is given twice (first at line {seen[key]})")
                continue
            seen[key] = line_of(key_node)
            out.append((key, key_node, value_node))
        return out

    def fields(
        self,
        node: Node,
        where: str,
        what: str,
        allowed: Collection[str],
        required: Collection[str] = (),
    ) -> dict[str, Node]:
        """A mapping with a fixed set of keys; unknown and missing keys are reported."""
        out: dict[str, Node] = {}
        for key, key_node, value_node in self.entries(node, where, what):
            if key in allowed:
                out[key] = value_node
            else:
                hint = suggest(key, allowed)
                self.report(key_node, where, f"unknown key {key!r} in {what}{hint}")
        if isinstance(node, MappingNode):
            for key in required:
                if key not in out:
                    self.report(node, where, f"{what} needs {key!r}")
        return out

    def text(self, node: Node, where: str, what: str) -> str | None:
        if not isinstance(node, ScalarNode) or node.tag == NULL_TAG or not str(node.value):
            self.report(node, where, f"{what} must be text, not {describe(node)}")
            return None
        return str(node.value)

    def texts(self, node: Node, where: str, what: str, limit: int) -> tuple[str, ...] | None:
        """One text or a non-empty list of texts."""
        items = node.value if isinstance(node, SequenceNode) else [node]
        if not items:
            self.report(node, where, f"{what} must not be an empty list")
            return None
        if len(items) > limit:
            self.report(node, where, f"{what} has {len(items)} values (the limit is {limit})")
            return None
        values = [self.text(item, where, what) for item in items]
        texts = [v for v in values if v is not None]
        return tuple(texts) if len(texts) == len(values) else None

    def flag(self, node: Node, where: str, what: str) -> bool | None:
        if not isinstance(node, ScalarNode) or node.tag != BOOL_TAG:
            self.report(node, where, f"{what} must be true or false, not {describe(node)}")
            return None
        return str(node.value).lower() in {"true", "yes", "on"}

    def integer(self, node: Node, where: str, what: str) -> int | None:
        if isinstance(node, ScalarNode) and node.tag == INT_TAG:
            digits = str(node.value).replace("_", "")
            if ascii_digits(digits.lstrip("+-")) and len(digits) <= MAX_DIGITS:
                return int(digits)
        self.report(node, where, f"{what} must be a whole number, not {describe(node)}")
        return None

    def choice(self, node: Node, where: str, what: str, choices: Collection[str]) -> str | None:
        value = self.text(node, where, what)
        if value is None or value in choices:
            return value
        options = ", ".join(choices)
        self.report(
            node, where, f"unknown {what} {value!r}{suggest(value, choices)}; use {options}"
        )
        return None
