"""Programs: tensors, instructions, weights, addresses; and the validating builder.

A :class:`Program` is immutable once built. The only way to make one is
:class:`ProgramBuilder` (used by the assembler, the model compilers and the
file reader alike), which checks each declaration and instruction as it is
added: names are defined once and before use, shapes and scales agree, and the
worst-case interval of every result fits its declared width (docs/isa.md).

Addresses (docs/architecture.md §5): address 0 is the constant 0; materialised
tensors (inputs, weights, results of compute instructions) own contiguous
row-major ranges starting at 1, in the order they are declared; a view's
addresses are gathered from its sources'.

Hidden weights (docs/visibility.md). A ``private`` or ``hashed`` weight is
declared with its width and, when known, its values; the public program
never depends on the values: bounds start from the declared width (the
prover range-checks the values to it), and a ``hashed`` weight is bound by
the :class:`~zkvm.isa.hidden.ModelCommitment` that ``build`` computes. A
program *bound* to its hidden values (built with them, or
:meth:`Program.bind_weights`) can be executed; its digest and file are the
public program's. Because worst-case bounds through a hidden weight are only
width-based, a ``rescale``/``div`` whose operand depends on one may declare a
result narrower than the worst case: its chip range-checks the result to the
declared width, and the VM refuses a run that leaves it.

Calibrated widths (docs/onnx.md "Quantization"). The same holds for any
``rescale``/``div``: the model compiler declares a rescaled activation at the
width its calibrated range needs, not at its worst case, and the declared
width becomes the interval the analysis carries on with (sound: the chip's
exact range check is part of the proof, and ``execute`` refuses a run that
leaves it, naming the instruction and the tensor). Accumulators keep the
worst-case guarantee below ``2^62`` (DESIGN.md checklist 8). Hand-written
assembly may narrow a ``rescale``/``div`` the same way (``h : i8 = rescale
acc, 4``), and compiled programs round-trip through the assembler.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np

from .addresses import Addresses, TensorIndex
from .analysis import Interval, interval
from .errors import IsaError, ProgramFileError, ProgramOverflowError, ZkvmError
from .fileformat import file_version
from .hidden import ModelCommitment
from .program_hidden import HiddenWeightsMixin, WeightsError  # noqa: F401  (re-exported)
from .ops import OPS, check_size
from .tensor import (
    FIELD_SAFE_BITS,
    MAX_SCALE,
    STANDARD_BITS,
    VISIBILITIES,
    Instruction,
    TensorInfo,
    bits_range,
)

_LIMIT = 1 << FIELD_SAFE_BITS
#: ops whose chips range-check the result to its declared width (see module docstring)
CHECKED_RESULT_OPS = ("rescale", "div")


class Program(HiddenWeightsMixin):
    """A validated tensor program. Build one with :class:`ProgramBuilder`.

    Attributes:
        tensors: every tensor by name, in declaration order.
        instructions: the instructions, in execution order.
        weights: weight values known to this object (int64 arrays of the declared
            shapes): every public weight, and hidden ones only when bound.
        outputs: output names, in order.
        commitment: the model commitment (hashed weights), or None.
        metadata: free-form strings (not part of the digest).
        intervals: worst-case ``(lo, hi)`` of every tensor.
        acc_bounds: for ``matmul``/``sum`` results, a bound on every partial sum.
    """

    def __init__(self, b: ProgramBuilder) -> None:
        self.tensors: dict[str, TensorInfo] = dict(b.tensors)
        self.instructions: list[Instruction] = list(b.instructions)
        self.weights: dict[str, np.ndarray] = dict(b.weights)
        self.outputs: list[str] = list(b.outputs)
        self.metadata: dict[str, str] = dict(b.metadata)
        self.intervals: dict[str, Interval] = dict(b.intervals)
        self.acc_bounds: dict[str, int] = dict(b.acc_bounds)
        self.n_addresses: int = b.next_addr
        self.commitment: ModelCommitment | None = b.commitment
        self.weight_salt: tuple[int, ...] | None = b.weight_salt
        self._addr = b.addr
        self._base = b.base
        #: which materialised tensor owns each address (views gather through it)
        self.index = b.index
        self._producer = {ins.output: i for i, ins in enumerate(self.instructions)}

    @property
    def inputs(self) -> list[TensorInfo]:
        """Input tensors in declaration order."""
        return [t for t in self.tensors.values() if t.kind == "input"]

    def tensor(self, name: str) -> TensorInfo:
        """Metadata of tensor ``name`` (raises IsaError if unknown)."""
        try:
            return self.tensors[name]
        except KeyError:
            raise IsaError(f"program has no tensor named '{name}'") from None

    def addresses(self, name: str) -> np.ndarray:
        """int64 array of the tensor's shape: each element's address (0 = constant 0)."""
        self.tensor(name)
        return self._addr[name]

    def base(self, name: str) -> int:
        """First address of a materialised tensor (raises IsaError for a view)."""
        if name not in self._base:
            raise IsaError(f"tensor '{name}' is a view; it owns no address range")
        return self._base[name]

    def producer(self, name: str) -> int | None:
        """Index of the instruction that defines ``name`` (None for inputs/weights)."""
        return self._producer.get(name)

    @property
    def n_params(self) -> int:
        """Number of weight values (hidden ones included)."""
        return sum(t.size for t in self.tensors.values() if t.kind == "weight")

    @cached_property
    def digest(self) -> bytes:
        """blake3 of the canonical encoding (docs/isa.md "Program file")."""
        from .fileformat import program_digest

        return program_digest(self)

    @property
    def digest_hex(self) -> str:
        return self.digest.hex()

    def to_bytes(self) -> bytes:
        from .fileformat import dump_program

        return dump_program(self)

    @staticmethod
    def from_bytes(data: bytes) -> Program:
        """Decode and re-validate a program file's bytes.

        Raises:
            ProgramFileError: not a program file, wrong version, corrupt,
                truncated or inconsistent.
        """
        from .fileformat import decode_program

        return _replay(*decode_program(data))

    def save(self, path: str) -> None:
        """Write the program file (``.zkvm``)."""
        from .fileformat import write_program

        with open(path, "wb") as f:
            write_program(self, f)  # streamed: the same bytes as to_bytes()

    @staticmethod
    def load(path: str) -> Program:
        """Read a program file; raises ProgramFileError when it is not a valid one."""
        from zkvm.envelope import load_file

        return load_file(path, Program.from_bytes, ProgramFileError, "program")


class ProgramBuilder:
    """Builds a :class:`Program`, checking every step (see module docstring)."""

    def __init__(self) -> None:
        self.tensors: dict[str, TensorInfo] = {}
        self.instructions: list[Instruction] = []
        self.weights: dict[str, np.ndarray] = {}
        self.outputs: list[str] = []
        self.metadata: dict[str, str] = {}
        self.intervals: dict[str, Interval] = {}
        self.acc_bounds: dict[str, int] = {}
        #: addresses by tensor (a materialised tensor's range is made when asked for)
        self.addr = Addresses()
        self.base: dict[str, int] = {}
        #: which materialised tensor owns an address (for views' static values)
        self.index = TensorIndex()
        self.next_addr = 1
        #: tensors whose bound depends on a hidden weight (see module docstring)
        self.hidden: set[str] = set()
        #: set by the file reader (public programs); computed by ``build`` otherwise
        self.commitment: ModelCommitment | None = None
        self.weight_salt: tuple[int, ...] | None = None

    # ----------------------------------------------------------- declarations
    def _new_name(self, name: str, where: str) -> None:
        if not name or not isinstance(name, str):
            raise IsaError(f"{_loc(where)}tensor names must be non-empty strings")
        if name in self.tensors:
            raise IsaError(
                f"{_loc(where)}'{name}' is already defined (programs are single-assignment; "
                "pick a new name)"
            )

    def _materialise(self, info: TensorInfo) -> None:
        self.base[info.name] = self.next_addr
        self.addr.materialise(info.name, self.next_addr, info.shape)
        self.index.add(info.name, self.next_addr, info.size)
        self.next_addr += info.size

    def input(
        self,
        name: str,
        shape: tuple[int, ...],
        bits: int,
        scale: int,
        visibility: str = "public",
        value_range: tuple[int, int] | None = None,
        where: str = "",
    ) -> TensorInfo:
        """Declare an input tensor."""
        self._new_name(name, where)
        shape = _shape(shape, where)
        lo, hi = _bits(bits, where)
        _visibility(visibility, where, name)
        if value_range is not None:
            value_range = (int(value_range[0]), int(value_range[1]))
            if not lo <= value_range[0] <= value_range[1] <= hi:
                raise IsaError(
                    f"{_loc(where)}range [{value_range[0]}, {value_range[1]}] of input '{name}' "
                    f"must be non-empty and inside i{bits} [{lo}, {hi}]"
                )
        info = TensorInfo(name, shape, int(bits), _scale(scale, where), "input", visibility,
                          value_range)
        self.tensors[name] = info
        self.intervals[name] = (info.lo, info.hi)
        self._materialise(info)
        return info

    def weight(
        self,
        name: str,
        values: Any,
        bits: int,
        scale: int,
        shape: tuple[int, ...] | None = None,
        visibility: str = "public",
        where: str = "",
    ) -> TensorInfo:
        """Declare a weight tensor from integer values.

        ``visibility`` is ``public`` (values in the program), ``private`` or
        ``hashed`` (values only in the private weights file; bounds from the
        declared width). A hidden weight's ``values`` may be ``None`` (a public
        program read from its file); ``shape`` is then required.
        """
        self._new_name(name, where)
        scale = _scale(scale, where)
        _visibility(visibility, where)
        if values is None:
            if visibility == "public" or shape is None:
                raise IsaError(f"{_loc(where)}weight '{name}' has no values (only private or "
                               "hashed weights of a public program may omit them)")
            shape = _shape(shape, where)
            lo, hi = _bits(bits, where)
            info = TensorInfo(name, shape, int(bits), int(scale), "weight", visibility)
            self.tensors[name] = info
            self.intervals[name] = (lo, hi)
            self.hidden.add(name)
            self._materialise(info)
            return info
        arr = np.asarray(values)
        if arr.dtype == object or arr.dtype.kind not in "iub":
            raise IsaError(
                f"{_loc(where)}weight '{name}' must hold integers (at scale {scale}); "
                "wrap float values in quantize(...)"
            )
        if shape is not None and tuple(arr.shape) != tuple(shape):
            raise IsaError(
                f"{_loc(where)}weight '{name}' is declared {list(shape)} but its values have "
                f"shape {list(arr.shape)}"
            )
        arr = arr.astype(np.int64)
        lo, hi = _bits(bits, where)
        if arr.size and (int(arr.min()) < lo or int(arr.max()) > hi):
            raise ProgramOverflowError(
                f"{_loc(where)}weight '{name}' has values in [{arr.min()}, {arr.max()}] that do "
                f"not fit i{bits} [{lo}, {hi}]; declare a wider width or a smaller scale"
            )
        info = TensorInfo(name, tuple(arr.shape), int(bits), int(scale), "weight", visibility)
        self.tensors[name] = info
        self.weights[name] = arr
        arr.flags.writeable = False
        if visibility == "public":
            self.intervals[name] = (int(arr.min()), int(arr.max())) if arr.size else (0, 0)
        else:  # the public program must not depend on hidden values
            self.intervals[name] = (lo, hi)
            self.hidden.add(name)
        self._materialise(info)
        return info

    def meta(self, key: str, value: str) -> None:
        """Attach free-form metadata (not part of the digest)."""
        self.metadata[str(key)] = str(value)

    def output(self, name: str, where: str = "", visibility: str = "public") -> None:
        """Mark the result of an instruction as a program output.

        ``visibility``: ``public`` (the verifier learns it), ``hashed`` (the
        verifier learns its salted digest) or ``private`` (nothing).
        """
        _visibility(visibility, where, name)
        info = self.tensors.get(name)
        if info is None:
            raise IsaError(f"{_loc(where)}output '{name}' is not defined")
        if info.kind in ("input", "weight"):
            raise IsaError(f"{_loc(where)}output '{name}' must be the result of an instruction")
        if name in self.outputs:
            raise IsaError(f"{_loc(where)}'{name}' is already an output")
        self.outputs.append(name)
        self.tensors[name] = _replace(info, kind="output", visibility=visibility)

    # ----------------------------------------------------------- instructions
    def instruction(
        self,
        op: str,
        inputs: list[str] | tuple[str, ...],
        output: str,
        attrs: dict[str, Any] | None = None,
        bits: int | None = None,
        where: str = "",
        widen: bool = False,
    ) -> TensorInfo:
        """Append ``output = op inputs, attrs`` and return the result's metadata.

        ``widen``: when the declared ``bits`` do not hold the worst case, pick
        a wider width instead of refusing (used when weights become hidden and
        bounds grow; see :func:`zkvm.isa.visibility.with_visibility`).

        Raises:
            IsaError: unknown opcode/name, bad attributes, redefinition.
            ShapeError: shapes or scales that do not agree.
            ProgramOverflowError: a worst-case bound does not fit.
        """
        attrs = dict(attrs or {})
        desc = Instruction(op, tuple(inputs), output, attrs, where).describe()
        spec = OPS.get(op)
        if spec is None:
            raise IsaError(
                f"{_loc(where)}unknown opcode '{op}' (expected one of: {', '.join(sorted(OPS))})"
            )
        self._new_name(output, where)
        lo_n, hi_n = spec.arity
        if len(inputs) < lo_n or (hi_n is not None and len(inputs) > hi_n):
            want = f"{lo_n}" if lo_n == hi_n else f"{lo_n}..{hi_n or 'n'}"
            raise IsaError(f"{desc}: {op} takes {want} tensor operand(s), got {len(inputs)}")
        ins = []
        for n in inputs:
            if n not in self.tensors:
                raise IsaError(f"{desc}: '{n}' is not defined (define it before this line)")
            ins.append(self.tensors[n])
        try:
            attrs = spec.normalize(ins, attrs)
            shape, scale = spec.infer(ins, attrs)
            check_size(shape)
        except ZkvmError as e:
            raise type(e)(f"{desc}: {e}") from None
        except (TypeError, ValueError, OverflowError) as e:  # malformed attribute values
            raise IsaError(f"{desc}: bad attribute value ({e})") from None
        inst = Instruction(op, tuple(inputs), output, attrs, where)
        if spec.view:
            addr = spec.addr([self.addr[n] for n in inputs], attrs)
            ivs = [self.intervals[n] for n in inputs]
            lo, hi = min(i[0] for i in ivs), max(i[1] for i in ivs)
            if addr.size and (addr == 0).any():
                lo, hi = min(lo, 0), max(hi, 0)
            iv, acc = (lo, hi), 0
        else:
            static = [self._static(n) for n in inputs]
            iv, acc = interval(op, attrs, ins, [self.intervals[n] for n in inputs], static)
        if bits is None and spec.view:
            bits = max(t.bits for t in ins)
        dep = any(n in self.hidden for n in inputs)
        iv, bits = self._check_bounds(desc, output, iv, acc, bits,
                                      checked=op in CHECKED_RESULT_OPS, widen=widen)
        if dep:
            self.hidden.add(output)
        info = TensorInfo(output, tuple(shape), bits, scale, view=spec.view)
        self.tensors[output] = info
        self.instructions.append(inst)
        self.intervals[output] = iv
        if acc:
            self.acc_bounds[output] = acc
        if spec.view:
            self.addr.view(output, addr)
        else:
            self._materialise(info)
        return info

    def _check_bounds(self, desc: str, name: str, iv: Interval, acc: int, bits: int | None,
                      checked: bool = False, widen: bool = False) -> tuple[Interval, int]:
        """``(interval, bits)`` of a result; refuses bounds that do not fit.

        ``checked``: the result is range-checked to its declared width by its
        chip, so an explicit width narrower than the worst case is allowed and
        becomes the interval. ``widen``: a too-narrow explicit width is widened.
        """
        worst = max(abs(iv[0]), abs(iv[1]), acc)
        if worst >= _LIMIT:
            raise ProgramOverflowError(
                f"{desc}: worst-case magnitude {_big(worst)} of '{name}' (or of a partial sum) "
                f"reaches 2^{FIELD_SAFE_BITS}, the largest value the field holds safely; rescale "
                "the operands first, use smaller widths/scales, or declare a narrower input range"
            )
        if bits is None:
            for b in STANDARD_BITS:
                lo, hi = bits_range(b)
                if lo <= iv[0] and iv[1] <= hi:
                    return iv, b
            return iv, STANDARD_BITS[-1]
        lo, hi = _bits(bits, desc)
        if iv[0] < lo or iv[1] > hi:
            if checked:
                return (max(iv[0], lo), min(iv[1], hi)), int(bits)
            need = _fit_bits(iv)
            if widen:
                return iv, max(int(bits), next((b for b in STANDARD_BITS if b >= need), need))
            raise ProgramOverflowError(
                f"{desc}: worst-case range [{_big(iv[0])}, {_big(iv[1])}] of '{name}' does not "
                f"fit i{bits} [{lo}, {hi}]; declare it i{need} or wider, rescale earlier, or "
                "declare a narrower input range"
            )
        return iv, int(bits)

    def _static(self, name: str) -> np.ndarray | None:
        """Values of ``name`` fixed by the public program (a public weight or a view of them)."""
        if name in self.hidden:
            return None
        if name in self.weights:
            return self.weights[name]
        info = self.tensors[name]
        if not info.view:
            return None
        # Gather only the view's addresses from the public weights holding them (address 0
        # is the constant zero), found by a binary search in the increasing bases: a memory
        # image of the whole program per call made building an 85M-parameter program
        # quadratic, and so did sorting the weights per call.
        def public(w: str) -> np.ndarray | None:
            if w in self.hidden or w not in self.weights:
                return None
            return self.weights[w].reshape(-1)

        return self.index.gather(self.addr[name], public)

    def build(self, salt: list[int] | None = None) -> Program:
        """Finish: at least one output is required.

        With hashed weights whose values are known, computes the model
        commitment under ``salt`` (random from the OS CSPRNG when None; give
        one only for reproducible tests). A file reader sets ``commitment``
        instead (values unknown).
        """
        if not self.outputs:
            raise IsaError("program declares no output (add a line 'output NAME')")
        hashed = [n for n, t in self.tensors.items() if t.kind == "weight"
                  and t.visibility == "hashed"]
        if self.commitment is not None:
            if list(self.commitment.tensors) != hashed:
                raise IsaError(f"the model commitment covers {list(self.commitment.tensors)} but "
                               f"the hashed weights are {hashed}")
        elif hashed:
            if not all(n in self.weights for n in hashed):
                raise IsaError("hashed weights without values need the model commitment")
            from .hidden import make_commitment

            self.commitment, self.weight_salt = make_commitment(
                [self.tensors[n] for n in hashed], [self.weights[n] for n in hashed], salt)
        return Program(self)


def _replay(version: int, body: Any, meta: Any) -> Program:
    """Rebuild a decoded program file (``fileformat.decode_program``) through the builder.

    Every declaration and instruction is checked again, so a file that decodes
    but describes an inconsistent program is refused.

    Raises:
        ProgramFileError: the body is corrupt or describes an invalid program.
    """
    try:
        b = ProgramBuilder()
        for k, v in dict(meta).items():
            b.meta(k, v)
        instructions = iter(body["instructions"])
        for t in body["tensors"]:
            if t["kind"] == "input":
                rng = tuple(t["range"]) if t["range"] is not None else None
                b.input(t["name"], t["shape"], t["bits"], t["scale"], t["visibility"], rng)
            elif t["kind"] == "weight":
                values = body["weights"][t["name"]] if t["visibility"] == "public" else None
                b.weight(t["name"], values, t["bits"], t["scale"], tuple(t["shape"]),
                         t["visibility"])
            else:
                ins = next(instructions)
                if ins["output"] != t["name"]:
                    raise ProgramFileError("tensor table and instructions are out of order")
                info = b.instruction(ins["op"], ins["inputs"], ins["output"], ins["attrs"],
                                     t["bits"])
                if list(info.shape) != list(t["shape"]) or info.scale != t["scale"]:
                    raise ProgramFileError(f"tensor '{info.name}' does not match its instruction")
        if next(instructions, None) is not None:
            raise ProgramFileError("program file has instructions with no tensor entry")
        vis = {t["name"]: t["visibility"] for t in body["tensors"]}
        for name in body["outputs"]:
            b.output(name, visibility=vis.get(name, "public"))
        if body.get("commitment") is not None:
            b.commitment = ModelCommitment.from_body(body["commitment"])
        if version == 1 and (b.commitment is not None or b.hidden):
            raise ProgramFileError("a version 1 program file cannot hold hidden weights")
        prog = b.build()
        if file_version(prog) != version:
            raise ProgramFileError(f"program file says version {version} but describes a "
                                   f"version {file_version(prog)} program")
    except ProgramFileError:
        raise
    except ZkvmError as e:
        raise ProgramFileError(f"program file describes an invalid program: {e}") from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, StopIteration) as e:
        raise ProgramFileError(f"program file is corrupt ({type(e).__name__}: {e})") from None
    return prog


def _loc(where: str) -> str:
    return f"{where}: " if where else ""


def _big(v: int) -> str:
    return str(v) if abs(v) < 10**9 else f"{v:.3e} (~2^{abs(v).bit_length()})"


def _fit_bits(iv: Interval) -> int:
    for b in range(2, 64):
        lo, hi = bits_range(b)
        if lo <= iv[0] and iv[1] <= hi:
            return b
    return 63


def _visibility(v: str, where: str, name: str | None = None) -> None:
    if v not in VISIBILITIES:
        raise IsaError(f"{_loc(where)}visibility must be one of {', '.join(VISIBILITIES)}, "
                       f"got {v!r}")
    if v == "hashed" and name is not None and (name == "model" or name.startswith("model:")):
        raise IsaError(f"{_loc(where)}a hashed input or output cannot be named {name!r}: the "
                       "verifier reports the model commitment under that name; rename it")


def _scale(scale: int, where: str) -> int:
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or abs(scale) > MAX_SCALE:
        raise IsaError(f"{_loc(where)}scale {scale!r} must be an integer in "
                       f"[-{MAX_SCALE}, {MAX_SCALE}]")
    return int(scale)


def _bits(bits: int, where: str) -> tuple[int, int]:
    try:
        return bits_range(int(bits))
    except IsaError as e:
        raise IsaError(f"{_loc(where)}{e}") from None


def _shape(shape: Any, where: str) -> tuple[int, ...]:
    try:
        out = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise IsaError(f"{_loc(where)}shape must be a list of integers, got {shape!r}") from None
    if any(d < 0 for d in out):
        raise IsaError(f"{_loc(where)}shape {list(out)} has a negative dimension")
    try:
        check_size(out)
    except IsaError as e:
        raise IsaError(f"{_loc(where)}{e}") from None
    return out


def _replace(info: TensorInfo, **kw: Any) -> TensorInfo:
    from dataclasses import replace

    return replace(info, **kw)
