"""Malicious provers: the real prover with one step corrupted (issue 12, point 6).

Each attack is a context manager that patches one step of the real prover
(``zkvm.stark.prover`` / ``zkvm.fri.fri``) through a seam the prover calls
by module attribute. The corrupted prover then carries on *consistently*:
it absorbs its lie into the Fiat-Shamir transcript and derives every later
challenge from it, so the verifier has to catch the lie with the check
designed for it, not by a transcript mismatch.

* :func:`wrong_chip_row`: one cell of one chip's trace changed before it is
  committed (the quotient is then not a polynomial; the prover truncates it).
* :func:`changed_output_after_trace`: honest traces, but the claimed public
  output (and its bus term) changed before the transcript is seeded.
* :func:`ood_lie_on_quotient_chunk`: a false trace, and the out-of-domain
  value of quotient chunk 0 set so that every table's constraint identity at
  z *holds*; only DEEP + FRI can see that chunk 0's value is not its
  polynomial's.
* :func:`final_poly_interpolated_on_part_of_domain`: the lie above, and FRI's
  final polynomial interpolated through only the first ``final_poly_len``
  points of the (not low-degree) last codeword, so that queries landing
  there pass the final check.
"""

from __future__ import annotations

import contextlib

import numpy as np

import zkvm.fri.fri as fri_mod
import zkvm.stark.prover as prover
from zkvm.field.scalar import P, root_of_unity
from zkvm.poly.dense import interpolate
from zkvm.stark.ood import table_identity_at_z


@contextlib.contextmanager
def _patched(module, name, value):
    old = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, old)


def bump_cell(traces, table: int, col: int = 0, row: int = 0):
    """Traces with one cell of ``table`` changed by +1 (a copy)."""
    out = [np.array(t, dtype=np.uint64, copy=True) for t in traces]
    out[table][col, row] = np.uint64((int(out[table][col, row]) + 1) % P)
    return out


def constraint_breaking_cell(key, prog, ints) -> tuple[int, int, int]:
    """``(table, col, row)`` of a main cell whose change breaks a table's own constraints
    but keeps the bus balanced (checked with the debug checker): a lie only the quotient
    (and, once the prover lies at z, only DEEP/FRI) can expose."""
    from zkvm.air.chips import io as io_terms
    from zkvm.runtime import execute
    from zkvm.stark.debug import check_bus, check_constraints
    from zkvm.stark.prover import ProverError
    from zkvm.stark.rand import Randomness

    ex = execute(prog, ints)
    traces, _ = key.statement.witness(ex, {})
    lay = key.pk.layout
    pubs = lay.publics([[] for _ in traces])
    pub_in = {t.name: [int(v) for v in ex.values[t.name].ravel()]
              for t in prog.inputs if t.visibility == "public"}
    outs = {o: [int(v) for v in ex.values[o].ravel()] for o in prog.outputs
            if prog.tensors[o].visibility == "public"}
    terms = io_terms.bus_terms(key.statement.io, pub_in, outs)
    for i, tr in enumerate(traces):
        for col, row in np.argwhere(np.asarray(tr) != 0)[:64].tolist():
            full = prover._with_blinding(lay, bump_cell(traces, i, col, row), Randomness(b"c"))
            main = {t.index: f for t, f in zip(lay.tables, full)}
            try:
                check_bus(lay, main, key.pk.pre_trace, pubs, terms)
            except ProverError:
                continue
            try:
                check_constraints(lay, main, key.pk.pre_trace, pubs)
            except ProverError:
                return i, col, row
    raise AssertionError("no cell breaks a constraint alone")


@contextlib.contextmanager
def wrong_chip_row(cell: tuple[int, int, int]):
    """Yields the ``_tamper`` argument for ``api.prove``: the chip cell ``cell`` changed."""
    def tamper(traces):
        return bump_cell(traces, *cell)
    yield tamper


@contextlib.contextmanager
def changed_output_after_trace(out_name: str, delta: int = 1):
    """Claim ``out_name[0] + delta``: the public values the real prover is handed are edited."""
    from zkvm.air.chips import io as io_terms

    real = prover.prove

    def prove(pk, traces, public, **kw):
        out = list(public.meta["outputs"][out_name])
        out[0] += delta
        public.meta["outputs"][out_name] = out
        io = pk.vk.meta["io"]
        public.bus_terms = io_terms.bus_terms(io, public.meta["inputs"], public.meta["outputs"],
                                              public.meta.get("digests"))
        return real(pk, traces, public, **kw)

    with _patched(prover, "prove", prove):
        yield


def _lie_at_z(t, vals, z, alpha, bus_alpha, betas, claimed, public, allow_invalid) -> None:
    """Set quotient chunk 0's value at z so that ``C(z) = q(z) Z_H(z)`` holds."""
    acc, vanishing, q = table_identity_at_z(t, vals, z, alpha, bus_alpha, betas, claimed,
                                            public)
    if acc != q * vanishing:
        k = t.air.pre_width + t.air.main_width + t.n_perm  # chunk 0 (its coefficient of zn^0)
        vals[k] = vals[k] + (acc / vanishing - q)
        acc, vanishing, q = table_identity_at_z(t, vals, z, alpha, bus_alpha, betas, claimed,
                                                public)
        assert acc == q * vanishing  # the lie holds at z


@contextlib.contextmanager
def ood_lie_on_quotient_chunk():
    with _patched(prover, "_check_at_z", _lie_at_z):
        yield


@contextlib.contextmanager
def final_poly_interpolated_on_part_of_domain(record: dict | None = None):
    """The OOD lie, and a final polynomial through part of the last codeword.

    ``record`` (optional) receives ``"agree"``: how many points of the last
    codeword the sent polynomial matches.
    """
    def final(f, shift, length):
        n, d = f.shape
        w = root_of_unity(n.bit_length() - 1)
        xs = [shift * pow(w, i, P) % P for i in range(length)]
        coeffs = np.zeros((length, d), dtype=np.uint64)
        for j in range(d):
            coeffs[:, j] = interpolate(xs, [int(v) for v in f[:length, j]])
        if record is not None:
            xs_all = [shift * pow(w, i, P) % P for i in range(n)]
            agree = 0
            for i, x in enumerate(xs_all):
                ok = all(sum(int(c) * pow(x, k, P) for k, c in enumerate(coeffs[:, j])) % P
                         == int(f[i, j]) for j in range(d))
                agree += ok
            record["agree"], record["points"] = agree, n
        return coeffs

    with _patched(prover, "_check_at_z", _lie_at_z), _patched(fri_mod, "_final_polynomial", final):
        yield


__all__ = ["wrong_chip_row", "changed_output_after_trace", "ood_lie_on_quotient_chunk",
           "final_poly_interpolated_on_part_of_domain"]
