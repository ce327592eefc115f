"""FHIRPath expressions as a small syntax tree, parsed with fhirpathpy's ANTLR grammar.

fhirpathpy ships the official FHIRPath ANTLR grammar, generated for Python; we reuse its
lexer and parser (not its evaluator) and convert the parse tree into the frozen dataclasses
below, which the SQL compiler pattern-matches on. Parsing ``entireExpression`` (not just
``expression``) and raising on the first syntax error means trailing garbage such as
``name family`` is rejected instead of silently ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from medlake.views.errors import ViewDefinitionError


@dataclass(frozen=True)
class Literal:
    """A literal; ``type`` is a FHIR type code (``string``, ``decimal``, ``Quantity``, …) or ``null``."""

    value: object
    type: str


@dataclass(frozen=True)
class Quantity:
    """A quantity literal's number (as written) and unit: a UCUM code or a calendar duration word."""

    number: str
    unit: str
    calendar: bool  # a calendar duration word (``days``) rather than a UCUM code (``'d'``)


@dataclass(frozen=True)
class Member:
    """An identifier at the start of a path: an element of ``$this`` (or a type name)."""

    name: str


@dataclass(frozen=True)
class Navigate:
    """``base.name``."""

    base: Node
    name: str


@dataclass(frozen=True)
class Call:
    """``base.name(args)``; ``base`` is None for a function applied to ``$this``."""

    base: Node | None
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class This:
    """``$this``."""


@dataclass(frozen=True)
class IndexVar:
    """``$index``."""


@dataclass(frozen=True)
class TotalVar:
    """``$total``."""


@dataclass(frozen=True)
class Constant:
    """``%name``: a view constant or an environment variable such as ``%rowIndex``."""

    name: str


@dataclass(frozen=True)
class Indexer:
    """``base[index]``."""

    base: Node
    index: Node


@dataclass(frozen=True)
class Unary:
    op: str
    operand: Node


@dataclass(frozen=True)
class Binary:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class TypeOp:
    """``operand is Type`` / ``operand as Type``."""

    op: str
    operand: Node
    type_name: str


Node = (
    Literal
    | Member
    | Navigate
    | Call
    | This
    | IndexVar
    | TotalVar
    | Constant
    | Indexer
    | Unary
    | Binary
    | TypeOp
)


class _RaisingErrorListener:
    """ANTLR error listener that turns the first syntax error into a ViewDefinitionError."""

    def __init__(self, expression: str) -> None:
        self.expression = expression

    def syntaxError(self, recognizer, offending, line, column, msg, e):
        raise ViewDefinitionError(f"invalid FHIRPath {self.expression!r} at column {column}: {msg}")

    def reportAmbiguity(self, *args):
        pass

    def reportAttemptingFullContext(self, *args):
        pass

    def reportContextSensitivity(self, *args):
        pass


@lru_cache(maxsize=2048)
def parse(expression: str) -> Node:
    """Parse a FHIRPath expression; raise :class:`ViewDefinitionError` if it is not valid."""
    if not isinstance(expression, str) or not expression.strip():
        raise ViewDefinitionError(f"a FHIRPath expression must be a non-empty string, got {expression!r}")
    from antlr4 import CommonTokenStream, InputStream
    from fhirpathpy.parser.generated.FHIRPathLexer import FHIRPathLexer
    from fhirpathpy.parser.generated.FHIRPathParser import FHIRPathParser

    listener = _RaisingErrorListener(expression)
    lexer = FHIRPathLexer(InputStream(expression))
    lexer.removeErrorListeners()
    lexer.addErrorListener(listener)
    parser = FHIRPathParser(CommonTokenStream(lexer))
    parser.removeErrorListeners()
    parser.addErrorListener(listener)
    try:
        tree = parser.entireExpression()
    except ViewDefinitionError:
        raise
    except Exception as exc:  # ANTLR raises its own recognition errors from the lexer
        raise ViewDefinitionError(f"invalid FHIRPath {expression!r}: {exc}") from exc
    return _Builder(expression).expression(tree.expression())


class _Builder:
    """Parse tree → :data:`Node`."""

    def __init__(self, source: str) -> None:
        self.source = source
        from fhirpathpy.parser.generated.FHIRPathParser import FHIRPathParser

        self.P = FHIRPathParser

    def expression(self, ctx) -> Node:
        P = self.P
        if isinstance(ctx, P.TermExpressionContext):
            return self.term(ctx.term())
        if isinstance(ctx, P.InvocationExpressionContext):
            return self.invocation(ctx.invocation(), self.expression(ctx.expression()))
        if isinstance(ctx, P.IndexerExpressionContext):
            return Indexer(self.expression(ctx.expression(0)), self.expression(ctx.expression(1)))
        if isinstance(ctx, P.PolarityExpressionContext):
            return Unary(ctx.getChild(0).getText(), self.expression(ctx.expression()))
        if isinstance(ctx, P.TypeExpressionContext):
            return TypeOp(
                ctx.getChild(1).getText(), self.expression(ctx.expression()), ctx.typeSpecifier().getText()
            )
        binary = (
            P.MultiplicativeExpressionContext,
            P.AdditiveExpressionContext,
            P.UnionExpressionContext,
            P.InequalityExpressionContext,
            P.EqualityExpressionContext,
            P.MembershipExpressionContext,
            P.AndExpressionContext,
            P.OrExpressionContext,
            P.ImpliesExpressionContext,
        )
        if isinstance(ctx, binary):
            op = ctx.getChild(1).getText()
            return Binary(op, self.expression(ctx.expression(0)), self.expression(ctx.expression(1)))
        raise ViewDefinitionError(f"unsupported FHIRPath construct {ctx.getText()!r} in {self.source!r}")

    def term(self, ctx) -> Node:
        P = self.P
        if isinstance(ctx, P.InvocationTermContext):
            return self.invocation(ctx.invocation(), None)
        if isinstance(ctx, P.LiteralTermContext):
            return self.literal(ctx.literal())
        if isinstance(ctx, P.ExternalConstantTermContext):
            const = ctx.externalConstant()
            if const.identifier() is not None:
                return Constant(_identifier(const.identifier().getText()))
            return Constant(_unescape(const.STRING().getText()[1:-1]))
        if isinstance(ctx, P.ParenthesizedTermContext):
            return self.expression(ctx.expression())
        raise ViewDefinitionError(f"unsupported FHIRPath term {ctx.getText()!r} in {self.source!r}")

    def invocation(self, ctx, base: Node | None) -> Node:
        P = self.P
        if isinstance(ctx, P.MemberInvocationContext):
            name = _identifier(ctx.identifier().getText())
            return Member(name) if base is None else Navigate(base, name)
        if isinstance(ctx, P.FunctionInvocationContext):
            fn = ctx.functn()
            params = fn.paramList()
            args = tuple(self.expression(e) for e in params.expression()) if params is not None else ()
            return Call(base, _identifier(fn.identifier().getText()), args)
        if isinstance(ctx, P.ThisInvocationContext):
            return This() if base is None else _chain_error(self.source, "$this")
        if isinstance(ctx, P.IndexInvocationContext):
            return IndexVar() if base is None else _chain_error(self.source, "$index")
        if isinstance(ctx, P.TotalInvocationContext):
            return TotalVar() if base is None else _chain_error(self.source, "$total")
        raise ViewDefinitionError(f"unsupported FHIRPath invocation {ctx.getText()!r} in {self.source!r}")

    def literal(self, ctx) -> Node:
        P = self.P
        if isinstance(ctx, P.NullLiteralContext):
            return Literal(None, "null")
        if isinstance(ctx, P.BooleanLiteralContext):
            return Literal(ctx.getText() == "true", "boolean")
        if isinstance(ctx, P.StringLiteralContext):
            return Literal(_unescape(ctx.getText()[1:-1]), "string")
        if isinstance(ctx, P.NumberLiteralContext):
            text = ctx.getText()
            return Literal(text, "decimal") if "." in text else Literal(int(text), "integer")
        if isinstance(ctx, P.DateTimeLiteralContext):
            text = ctx.getText()[1:]
            return Literal(text, "dateTime" if "T" in text else "date")
        if isinstance(ctx, P.TimeLiteralContext):
            return Literal(ctx.getText()[2:], "time")
        if isinstance(ctx, P.QuantityLiteralContext):
            quantity = ctx.quantity()
            unit = quantity.unit()
            number = quantity.NUMBER().getText()
            if unit is None or unit.STRING() is not None:  # a UCUM unit ('1' when none is written)
                code = "1" if unit is None else _unescape(unit.STRING().getText()[1:-1])
                return Literal(Quantity(number, code, calendar=False), "Quantity")
            # a calendar duration: year(s), month(s), week(s), day(s), hour(s), …
            return Literal(Quantity(number, unit.getText(), calendar=True), "Quantity")
        raise ViewDefinitionError(f"unsupported FHIRPath literal {ctx.getText()!r} in {self.source!r}")


def _chain_error(source: str, name: str) -> Node:
    raise ViewDefinitionError(f"{name} cannot follow '.' in FHIRPath {source!r}")


def _identifier(text: str) -> str:
    if text.startswith("`") and text.endswith("`"):
        return _unescape(text[1:-1])
    return text


_ESCAPES = {"'": "'", '"': '"', "`": "`", "\\": "\\", "/": "/", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _unescape(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        code = match.group(1)
        if code.startswith("u"):
            return chr(int(code[1:], 16))
        return _ESCAPES.get(code, code)

    return re.sub(r"\\(u[0-9a-fA-F]{4}|.)", replace, text)


def type_name_of(node: Node) -> str | None:
    """The qualified type name an argument spells (``Patient``, ``FHIR.string``), if it is one."""
    if isinstance(node, Member):
        return node.name
    if isinstance(node, Navigate):
        base = type_name_of(node.base)
        return None if base is None else f"{base}.{node.name}"
    return None


def member_names(node: Node) -> list[str]:
    """Every element name navigated in ``node``, in order (used to bound ``repeat``)."""
    found: list[str] = []

    def walk(n: Node | None) -> None:
        if n is None:
            return
        if isinstance(n, Member):
            found.append(n.name)
        elif isinstance(n, Navigate):
            walk(n.base)
            found.append(n.name)
        elif isinstance(n, Call):
            walk(n.base)
            for arg in n.args:
                walk(arg)
        elif isinstance(n, Indexer):
            walk(n.base)
            walk(n.index)
        elif isinstance(n, Unary):
            walk(n.operand)
        elif isinstance(n, Binary):
            walk(n.left)
            walk(n.right)
        elif isinstance(n, TypeOp):
            walk(n.operand)

    walk(node)
    return found
