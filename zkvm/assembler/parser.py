"""Lexer and parser of the assembly language (docs/assembly.md).

``parse(text, filename)`` returns a list of statements; every error is an
:class:`AssemblyError` whose message starts ``FILE:LINE:COL: error:``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..isa.errors import ZkvmError
from ..isa.tensor import MAX_SCALE, VISIBILITIES


class AssemblyError(ZkvmError):
    """Malformed assembly, or a program the ISA refuses (with file:line:col)."""


@dataclass(frozen=True)
class Pos:
    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Word:
    """A bare identifier used as a value (a tensor name or a keyword value)."""

    name: str
    pos: Pos


@dataclass
class Call:
    """``file("...")`` or ``quantize(...)`` in a weight declaration."""

    fn: str
    arg: Any
    pos: Pos


@dataclass
class Stmt:
    kind: str  # meta | input | weight | output | instr
    pos: Pos
    name: str = ""
    names: list[str] = field(default_factory=list)
    visibilities: list[str | None] = field(default_factory=list)  # per output name
    bits: int | None = None
    shape: tuple[int, ...] = ()
    scale: int = 0
    visibility: str | None = None
    value_range: tuple[int, int] | None = None
    value: Any = None
    opcode: str = ""
    opcode_pos: Pos | None = None
    args: list[tuple[Any, Pos]] = field(default_factory=list)
    kwargs: dict[str, tuple[Any, Pos]] = field(default_factory=dict)


_TOKEN = re.compile(
    r"""(?P<ws>[ \t\r]+)|(?P<comment>\#[^\n]*)|(?P<nl>\n)
    |(?P<float>-?(?:[0-9]+\.[0-9]*(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+))
    |(?P<int>-?(?:0[xX][0-9a-fA-F]+|[0-9]+))
    |(?P<name>[A-Za-z_][A-Za-z0-9_.]*)
    |(?P<string>"(?:[^"\\\n]|\\.)*")
    |(?P<punct>[:=,\[\]()])""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Tok:
    kind: str
    text: str
    pos: Pos


def tokenize(text: str, filename: str) -> list[Tok]:
    """Split ``text`` into tokens; newlines inside brackets are dropped."""
    toks, i, line, col0, depth = [], 0, 1, 0, 0
    while i < len(text):
        m = _TOKEN.match(text, i)
        pos = Pos(filename, line, i - col0 + 1)
        if m is None:
            raise AssemblyError(f"{pos}: error: unexpected character {text[i]!r}")
        kind, s = m.lastgroup, m.group()
        i = m.end()
        if kind == "nl":
            line, col0 = line + 1, i
            if depth == 0:
                toks.append(Tok("nl", s, pos))
        elif kind in ("ws", "comment"):
            pass
        else:
            if s in "[(":
                depth += 1
            elif s in "])":
                depth = max(0, depth - 1)
            toks.append(Tok(kind, s, pos))
    toks.append(Tok("nl", "", Pos(filename, line, i - col0 + 1)))
    toks.append(Tok("eof", "", Pos(filename, line, i - col0 + 1)))
    return toks


def _int(text: str) -> int:
    body = text.lstrip("-")
    v = int(body, 16) if body[:2].lower() == "0x" else int(body, 10)
    return -v if text.startswith("-") else v


_ESC = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}


class _Parser:
    def __init__(self, toks: list[Tok]) -> None:
        self.toks, self.i = toks, 0

    @property
    def tok(self) -> Tok:
        return self.toks[self.i]

    def err(self, what: str, tok: Tok | None = None) -> AssemblyError:
        tok = tok or self.tok
        got = "end of line" if tok.kind in ("nl", "eof") else repr(tok.text)
        return AssemblyError(f"{tok.pos}: error: expected {what}, got {got}")

    def take(self, text: str) -> Tok:
        if self.tok.text != text or self.tok.kind in ("string",):
            raise self.err(f"'{text}'")
        t = self.tok
        self.i += 1
        return t

    def accept(self, text: str) -> bool:
        if self.tok.text == text and self.tok.kind in ("punct", "name"):
            self.i += 1
            return True
        return False

    def name(self, what: str = "a name") -> Tok:
        if self.tok.kind != "name":
            raise self.err(what)
        t = self.tok
        self.i += 1
        return t

    def integer(self, what: str = "an integer") -> int:
        if self.tok.kind != "int":
            raise self.err(what)
        v = _int(self.tok.text)
        self.i += 1
        return v

    def end(self) -> None:
        if self.tok.kind != "nl":
            raise self.err("end of line")
        self.i += 1

    def value(self) -> Any:
        t = self.tok
        if t.kind == "int":
            self.i += 1
            return _int(t.text)
        if t.kind == "float":
            self.i += 1
            return float(t.text)
        if t.kind == "string":
            self.i += 1
            return re.sub(r"\\(.)", lambda m: _ESC.get(m.group(1), m.group(1)), t.text[1:-1])
        if t.kind == "name":
            self.i += 1
            if t.text in ("true", "false"):
                return t.text == "true"
            if t.text in ("file", "quantize") and self.tok.text == "(":
                self.take("(")
                arg = self.value()
                self.take(")")
                return Call(t.text, arg, t.pos)
            return Word(t.text, t.pos)
        if t.text == "[":
            self.i += 1
            items = []
            if not self.accept("]"):
                items.append(self.value())
                while self.accept(","):
                    items.append(self.value())
                self.take("]")
            return items
        raise self.err("a value (name, number, string or [list])")

    def type_(self, with_shape: bool) -> tuple[int, tuple[int, ...]]:
        t = self.name("a width such as i16")
        if not re.fullmatch(r"i[0-9]+", t.text):
            raise self.err("a width such as i8, i16 or i32", t)
        bits = int(t.text[1:])
        if not 2 <= bits <= 63:
            raise AssemblyError(f"{t.pos}: error: width {t.text} is not supported (use i2 .. i63)")
        shape: list[int] = []
        if with_shape:
            self.take("[")
            if not self.accept("]"):
                shape.append(self.integer("a dimension"))
                while self.accept(","):
                    shape.append(self.integer("a dimension"))
                self.take("]")
        return bits, tuple(shape)

    def statement(self) -> Stmt | None:
        t = self.tok
        if t.kind == "nl":
            self.i += 1
            return None
        if t.kind != "name":
            raise self.err("a statement (input, weight, output, meta or NAME = OPCODE ...)")
        nxt = self.toks[self.i + 1]
        if t.text == "meta" and nxt.kind == "name":
            self.i += 1
            key = self.name("a metadata key")
            self.take("=")
            if self.tok.kind != "string":
                raise self.err('a string "..."')
            s = Stmt("meta", t.pos, name=key.text, value=self.value())
        elif t.text in ("input", "weight") and nxt.kind == "name":
            self.i += 1
            s = self.declaration(t)
        elif t.text == "output" and nxt.kind == "name":
            self.i += 1
            s = Stmt("output", t.pos)
            while True:
                s.names.append(self.name("an output name").text)
                s.visibilities.append(self.visibility())
                if not self.accept(","):
                    break
        else:
            s = self.instruction()
        self.end()
        return s

    def declaration(self, kw: Tok) -> Stmt:
        name = self.name(f"the {kw.text}'s name")
        self.take(":")
        bits, shape = self.type_(True)
        s = Stmt(kw.text, kw.pos, name=name.text, bits=bits, shape=shape)
        if not self.accept("scale"):
            raise self.err("'scale' and an integer (e.g. scale 8)")
        stok = self.tok
        s.scale = self.integer("the scale exponent")
        if abs(s.scale) > MAX_SCALE:
            raise AssemblyError(f"{stok.pos}: error: scale {s.scale} is out of range "
                                f"(use -{MAX_SCALE} .. {MAX_SCALE})")
        s.visibility = self.visibility()
        if kw.text == "input":
            if self.accept("range"):
                self.take("[")
                lo = self.integer("the range's lower bound")
                self.take(",")
                hi = self.integer("the range's upper bound")
                self.take("]")
                s.value_range = (lo, hi)
        else:
            self.take("=")
            s.pos = kw.pos
            vtok = self.tok
            s.value = self.value()
            if isinstance(s.value, bool) or not isinstance(s.value, (list, Call, int, float)):
                raise self.err('weight values: [list], file("...") or quantize(...)', vtok)
        return s

    def visibility(self) -> str | None:
        """An optional ``public``/``private``/``hashed`` word."""
        if self.tok.kind == "name" and self.tok.text in VISIBILITIES:
            self.i += 1
            return self.toks[self.i - 1].text
        return None

    def instruction(self) -> Stmt:
        name = self.name("a result name")
        s = Stmt("instr", name.pos, name=name.text)
        if self.accept(":"):
            s.bits, _ = self.type_(False)
        self.take("=")
        op = self.name("an opcode")
        s.opcode, s.opcode_pos = op.text, op.pos
        if self.tok.kind == "nl":
            return s
        while True:
            t = self.tok
            if t.kind == "name" and self.toks[self.i + 1].text == "=":
                self.i += 2
                if t.text in s.kwargs:
                    raise AssemblyError(f"{t.pos}: error: keyword '{t.text}' given twice")
                s.kwargs[t.text] = (self.value(), t.pos)
            else:
                if s.kwargs:
                    raise self.err("a keyword argument (positional arguments come first)")
                s.args.append((self.value(), t.pos))
            if not self.accept(","):
                return s


def parse(text: str, filename: str = "<string>") -> list[Stmt]:
    """Parse assembly text into statements (raises AssemblyError)."""
    p = _Parser(tokenize(text, filename))
    out = []
    while p.tok.kind != "eof":
        s = p.statement()
        if s is not None:
            out.append(s)
    return out
