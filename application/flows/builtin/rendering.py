"""Prompt templates: Jinja2's immutable sandbox, with every way a template could grow without bound closed.

A step's prompt is user text, so it is never given to ``str.format``: it is a Jinja2 template run in
``ImmutableSandboxedEnvironment`` (no attribute tricks, no private attributes, no mutation of the
inputs) with ``StrictUndefined`` (a name the run does not hold is an error, not an empty string).
The sandbox alone still lets a template ask for a gigabyte (``'x' * 10**9``, ``s.ljust(10**9)``,
doubling a string in a loop) or loop for hours, so this renderer also:

- refuses, when the template is compiled (at define time), macros, call blocks, recursive loops,
  ``include``/``import``/``extends`` and the ``~`` operator (whose joins cannot be intercepted; use
  ``{{ a }}{{ b }}`` or ``+``);
- bounds every value an operator, a call or a filter makes (``MAX_VALUE``) and every integer given to
  a call or a filter (``MAX_INT_ARGUMENT``), checking what it can before the work is done;
- counts the iterations of every ``for`` loop of one render (``MAX_ITERATIONS``);
- keeps only filters and string methods whose cost it can bound;
- streams the output and stops as soon as it passes the step's byte limit.

Anything a template does wrong at run time is ``AgentFailed`` (not retryable: the same inputs fail the
same way), with a one-line reason, never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from jinja2 import Environment, StrictUndefined, TemplateError, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from application.flows.agents import AgentFailed, ConfigProblem, Json
from domain.shared.text import unstorable

MAX_OUTPUT_BYTES = 64 * 1024
MAX_VALUE = 64 * 1024  # characters of a string, items of a list or dict, made inside one render
MAX_INT_ARGUMENT = 100_000
MAX_INT_BITS = 4096
MAX_ITERATIONS = 100_000  # loop iterations of one render, all loops together
_GUARD = "__chronicle_loop_guard"

# Filters whose work is linear in bounded values (the rest, ``format`` above all, are not offered).
_FILTERS = frozenset(
    {
        "abs",
        "batch",
        "capitalize",
        "count",
        "d",
        "default",
        "dictsort",
        "first",
        "float",
        "int",
        "items",
        "join",
        "last",
        "length",
        "list",
        "lower",
        "map",
        "max",
        "min",
        "reject",
        "rejectattr",
        "replace",
        "reverse",
        "round",
        "select",
        "selectattr",
        "slice",
        "sort",
        "string",
        "striptags",
        "title",
        "tojson",
        "trim",
        "truncate",
        "unique",
        "upper",
        "urlencode",
        "wordcount",
        "center",
        "wordwrap",
    }
)
# String methods a template may call (``format``, ``format_map`` and ``expandtabs`` are not among them).
_STR_METHODS = frozenset(
    {
        "capitalize",
        "casefold",
        "center",
        "count",
        "endswith",
        "find",
        "index",
        "isalnum",
        "isalpha",
        "isdecimal",
        "isdigit",
        "islower",
        "isnumeric",
        "isspace",
        "istitle",
        "isupper",
        "join",
        "ljust",
        "lower",
        "lstrip",
        "partition",
        "removeprefix",
        "removesuffix",
        "replace",
        "rfind",
        "rindex",
        "rjust",
        "rpartition",
        "rsplit",
        "rstrip",
        "split",
        "splitlines",
        "startswith",
        "strip",
        "swapcase",
        "title",
        "upper",
        "zfill",
    }
)
_DICT_METHODS = frozenset({"get", "items", "keys", "values"})
_REFUSED_NODES: dict[type[nodes.Node], str] = {
    nodes.Macro: "macros are not allowed",
    nodes.CallBlock: "call blocks are not allowed",
    nodes.Include: "include is not allowed",
    nodes.Import: "import is not allowed",
    nodes.FromImport: "import is not allowed",
    nodes.Extends: "extends is not allowed",
    nodes.Concat: "the ~ operator is not allowed (write {{ a }}{{ b }}, or a + b)",
}


class _Refused(SecurityError):
    """A template asked for more than a render may use."""


def _size(value: object) -> int:
    if isinstance(value, str | bytes | list | tuple | dict | set | frozenset):
        return len(value)
    return 0


def _check_value(value: Any) -> Any:
    if _size(value) > MAX_VALUE:
        raise _Refused(f"a value of more than {MAX_VALUE} characters or items")
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
        raise _Refused(f"an integer of more than {MAX_INT_BITS} bits")
    return value


def _check_arguments(args: Iterable[Any]) -> None:
    for arg in args:
        if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > MAX_INT_ARGUMENT:
            raise _Refused(f"an argument above {MAX_INT_ARGUMENT}")


def _joinable(parts: Any, separator: object) -> list[Any]:
    """``parts`` as a list (a generator is drawn once), refused when joining them would pass ``MAX_VALUE``."""
    items = list(parts)
    if len(items) > MAX_VALUE:
        raise _Refused(f"a value of more than {MAX_VALUE} characters or items")
    total = sum(len(p) if isinstance(p, str) else 32 for p in items) + _size(separator) * len(items)
    if total > MAX_VALUE:
        raise _Refused(f"a joined value of more than {MAX_VALUE} characters")
    return items


def _check_replace(text: object, old: object, new: object) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        grows = len(new) - len(old)
        if grows > 0 and len(text) + text.count(old) * grows > MAX_VALUE:
            raise _Refused(f"a replaced value of more than {MAX_VALUE} characters")


def _guarded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(*args: Any, **kwargs: Any) -> Any:
        passed = sum(1 for a in args[:1] if isinstance(a, Context | EvalContext | Environment))
        values = list(args[passed:])
        _check_arguments([*values[1:], *kwargs.values()])
        if name == "join" and values:
            values[0] = _joinable(values[0], values[1] if len(values) > 1 else kwargs.get("d", ""))
        if name == "replace" and len(values) >= 3:
            _check_replace(values[0], values[1], values[2])
        return _check_value(function(*args[:passed], *values, **kwargs))

    if hasattr(function, "jinja_pass_arg"):
        guarded.jinja_pass_arg = function.jinja_pass_arg  # type: ignore[attr-defined]
    return guarded


class _LoopGuard:
    """Counts the iterations of one render's loops (every ``for`` iterates through it)."""

    def __init__(self, limit: int) -> None:
        self.left = limit

    def __call__(self, iterable: Iterable[Any]) -> Iterator[Any]:
        for item in iterable:
            self.left -= 1
            if self.left < 0:
                raise _Refused(f"more than {MAX_ITERATIONS} loop iterations")
            yield item


class _Environment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        if operator_ == "%" and isinstance(left, str):
            raise _Refused("the % operator on text is not allowed")
        if operator_ == "*":
            for sequence, times in ((left, right), (right, left)):
                if _size(sequence) and isinstance(times, int) and _size(sequence) * times > MAX_VALUE:
                    raise _Refused(f"a value of more than {MAX_VALUE} characters or items")
        if operator_ == "**" and isinstance(left, int | float) and isinstance(right, int | float):
            magnitude = abs(left).bit_length() if isinstance(left, int) else 64
            if abs(right) > MAX_INT_BITS or magnitude * abs(right) > MAX_INT_BITS:
                raise _Refused(f"a power of more than {MAX_INT_BITS} bits")
        return _check_value(super().call_binop(context, operator_, left, right))

    def wrap_str_format(self, value: Any) -> None:
        return None  # ``format`` and ``format_map`` are not offered (a width in a spec is not bounded)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str) and callable(value):
            return attr in _STR_METHODS
        if isinstance(obj, Mapping) and callable(value):
            return attr in _DICT_METHODS
        if callable(value) and not isinstance(obj, _LoopGuard):
            return False
        return bool(super().is_safe_attribute(obj, attr, value))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _check_arguments([*args, *kwargs.values()])
        owner = getattr(__obj, "__self__", None)
        name = getattr(__obj, "__name__", "")
        if isinstance(owner, str) and name == "join" and args:
            args = (_joinable(args[0], owner), *args[1:])
        if isinstance(owner, str) and name == "replace" and len(args) >= 2:
            _check_replace(owner, args[0], args[1])
        return _check_value(super().call(__context, __obj, *args, **kwargs))


class PromptRenderer:
    """Compiles and renders prompt templates (one instance serves every step; it keeps no run state)."""

    def __init__(self) -> None:
        environment = _Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
        environment.filters = {
            name: _guarded_filter(name, function) for name, function in environment.filters.items() if name in _FILTERS
        }
        environment.globals = {"range": environment.globals["range"]}
        self._environment = environment

    def problems(self, source: str, loc: tuple[str | int, ...] = ("prompt",)) -> list[ConfigProblem]:
        """Why ``source`` cannot serve as a prompt template (empty when it can)."""
        try:
            self._parse(source)
        except TemplateError as error:
            line = getattr(error, "lineno", None)
            where = f" (line {line})" if line else ""
            return [ConfigProblem(loc, f"the template does not compile{where}: {error.message}")]
        return []

    def render(
        self,
        source: str,
        *,
        inputs: Mapping[str, Json],
        outputs: Sequence[Mapping[str, Json]],
        max_bytes: int = MAX_OUTPUT_BYTES,
    ) -> str:
        """The template rendered with the run's ``inputs`` and the earlier steps' ``outputs``.

        The template sees ``inputs`` (the run's), ``outputs`` (a list, one per earlier step) and
        ``previous`` (the last of them, or an empty object).
        """
        try:
            template = self._environment.from_string(self._parse(source))
            chunks: list[str] = []
            size = 0
            context = {
                "inputs": inputs,
                "outputs": list(outputs),
                "previous": outputs[-1] if outputs else {},
                _GUARD: _LoopGuard(MAX_ITERATIONS),
            }
            for chunk in template.generate(context):
                size += len(chunk.encode("utf-8", "surrogatepass"))
                if size > max_bytes:
                    raise AgentFailed(f"the rendered prompt is larger than {max_bytes} bytes", retryable=False)
                chunks.append(chunk)
        except AgentFailed:
            raise
        except TemplateError as error:
            raise AgentFailed(f"the prompt does not render: {error.message}", retryable=False) from None
        except RecursionError:
            raise AgentFailed("the prompt does not render: it nests too deeply", retryable=False) from None
        except (ArithmeticError, LookupError, TypeError, ValueError) as error:
            raise AgentFailed(f"the prompt does not render: {type(error).__name__}: {error}", retryable=False) from None
        text = "".join(chunks)
        reason = unstorable(text, multi_line=True)
        if reason is not None:
            raise AgentFailed(f"the rendered prompt {reason}", retryable=False)
        return text

    def _parse(self, source: str) -> nodes.Template:
        tree = self._environment.parse(source)
        for node in tree.find_all(nodes.Node):
            for kind, reason in _REFUSED_NODES.items():
                if isinstance(node, kind):
                    raise _compile_error(reason, node)
            if isinstance(node, nodes.For):
                if node.recursive:
                    raise _compile_error("recursive loops are not allowed", node)
                node.iter = nodes.Call(nodes.Name(_GUARD, "load"), [node.iter], [], None, None, lineno=node.lineno)
            if isinstance(node, nodes.Name) and node.name == _GUARD and node.ctx != "load":
                raise _compile_error("that name is reserved", node)
        return tree


def _compile_error(reason: str, node: nodes.Node) -> TemplateError:
    return TemplateSyntaxError(reason, node.lineno)
