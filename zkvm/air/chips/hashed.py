"""Hashed tensors in a statement: the model commitment and the digests of hashed inputs/outputs.

For every hashed thing (docs/visibility.md) the statement proves
``digest = hash_elements(mem[value addresses], salt)`` with one Poseidon2
sponge (``zkvm.air.chips.poseidon2``) that *reads* the values from the memory
bus at program-fixed addresses, so the hashed values are exactly the ones the
rest of the program reads:

* ``weights``: one sponge per group of the model commitment
  (``zkvm.isa.hidden.ModelCommitment.groups``: ``name = "model"`` for a
  one-sponge commitment, ``"model:W"`` for tensor W's part of a per-tensor
  one): the group's public header (shapes,
  widths, scales: ``zkvm.isa.hidden.commitment_header``, written by a
  ``ConstChip``: preprocessed, fixed by the key) then the group's hashed weight
  tensors in declaration order, *packed* (``zkvm.isa.hidden.pack_tensor``:
  the ``PrivateWeightsChip`` that range-checks the values also writes their
  packed elements at addresses given here), under the model commitment's
  group's salt; the digest is the
  program's published commitment (or part), which the verifier takes from the
  verifying key (``io["digests"][i]["value"]``, made from the program at
  setup), never from the proof;
* ``input`` / ``output`` (``name`` = the tensor): one sponge per hashed
  tensor under a per-proof salt; the digest is a public value of the proof
  (``proof.public.meta["digests"]``), bound in the transcript.

Salts and digests need addresses: the statement gives each job ``SALT_LEN``
salt and 4 digest addresses past the program's last address. A ``SaltChip``
writes the salts (private, unconstrained: they only blind); the Poseidon2
chip writes the digests, and the verifier reads each digest element once as
a bus term (``zkvm.air.chips.io``), with the value it knows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zkvm.air.chips.memory import ConstChip
from zkvm.air.chips.poseidon2 import HashJob, Poseidon2Chip, SaltChip
from zkvm.hash.poseidon2 import DIGEST_LEN, SALT_LEN
from zkvm.isa.hidden import commitment_header, pack_factor


@dataclass
class HashedTensor:
    """One hash the statement proves (``kind``: weights, input or output)."""

    kind: str
    name: str
    value_addrs: np.ndarray
    salt_addrs: np.ndarray
    digest_addrs: np.ndarray
    digest: list[int] | None = None   # known from the program (the model commitment)
    header: list[int] | None = None   # public elements absorbed first (weights)
    header_addrs: np.ndarray | None = None
    packed: dict | None = None        # weights: tensor name -> packed elements' addresses
    group: int = 0                    # weights: which of the commitment's groups (its salt)

    @property
    def key(self) -> str:
        """Name of its salt and digest: ``model`` (one-sponge commitment) or ``model:W``
        (W's part of a per-tensor one) for weights, else the tensor's name."""
        return self.name

    def meta(self) -> dict:
        """The verifying key's record (``io["digests"]``)."""
        d = {"kind": self.kind, "name": self.name, "addr": int(self.digest_addrs[0])}
        if self.digest is not None:
            d["value"] = [int(v) for v in self.digest]
        return d


def plan_hashes(ctx, first_free: int
                ) -> tuple[list[HashedTensor], list, int, dict[str, np.ndarray]]:
    """Hash jobs of ``ctx.program`` with addresses from ``first_free`` on.

    Returns:
        ``(hashed, chips, next_free, packed)``: the jobs, the chips proving
        them (the commitment header's ``ConstChip``, a ``SaltChip`` and one
        ``Poseidon2Chip`` table for all jobs; none when nothing is hashed),
        the first address left unused, and the packed elements' addresses of
        each hashed weight (for ``plan_private_weights``).
    """
    prog = ctx.program
    todo: list[tuple[str, str, np.ndarray, list[int] | None, int]] = []
    hashed, chips, nxt = [], [], first_free
    packed: dict[str, np.ndarray] = {}
    groups = []
    if prog.commitment is not None:
        # one sponge per group (zkvm.isa.hidden.ModelCommitment): the whole commitment, or
        # one per tensor; all headers are written by one ConstChip
        c = prog.commitment
        heads, head_addrs = [], []
        for gi, (names, digest) in enumerate(c.groups()):
            header = commitment_header([prog.tensors[n] for n in names])
            h_addrs = np.arange(nxt, nxt + len(header), dtype=np.int64)
            nxt += len(header)
            mine = {}
            for n in names:
                count = -(-prog.tensors[n].size // pack_factor(prog.tensors[n].bits))
                mine[n] = packed[n] = np.arange(nxt, nxt + count, dtype=np.int64)
                nxt += count
            addrs = np.concatenate([h_addrs] + [mine[n] for n in names])
            name = "model" if not c.per_tensor else f"model:{names[0]}"
            todo.append(("weights", name, addrs, list(digest), c.salt_len))
            groups.append((gi, header, h_addrs, mine))
            heads += header
            head_addrs.append(h_addrs)
        all_heads = np.concatenate(head_addrs)
        hc = ConstChip(ctx.log_height(all_heads.size), {},
                       {"addr": all_heads, "value": np.array(heads, dtype=np.int64),
                        "write_addrs": all_heads})
        hc.source = "commitment header"
        chips.append(hc)
    for t in prog.inputs:
        if t.visibility == "hashed":
            todo.append(("input", t.name, _span(prog, t.name), None, SALT_LEN))
    for o in prog.outputs:
        if prog.tensors[o].visibility == "hashed":
            addrs = np.asarray(prog.addresses(o), dtype=np.int64).ravel()
            todo.append(("output", o, addrs, None, SALT_LEN))
    if not todo:
        return [], [], first_free, packed
    for j, (kind, name, addrs, digest, n_salt) in enumerate(todo):
        salt = np.arange(nxt, nxt + n_salt, dtype=np.int64)
        dig = np.arange(nxt + n_salt, nxt + n_salt + DIGEST_LEN, dtype=np.int64)
        nxt += n_salt + DIGEST_LEN
        h = HashedTensor(kind, name, addrs, salt, dig, digest)
        if kind == "weights":
            h.group, h.header, h.header_addrs, h.packed = groups[j]
        hashed.append(h)
    salt_addrs = np.concatenate([h.salt_addrs for h in hashed])
    salt_chip = SaltChip(ctx.log_height(salt_addrs.size), {},
                         {"addr": salt_addrs, "write_addrs": salt_addrs})
    jobs = [HashJob(h.value_addrs, h.salt_addrs, h.digest_addrs) for h in hashed]
    rows = sum(j.n_rows for j in jobs)
    hash_chip = Poseidon2Chip.for_jobs(jobs, ctx.log_height(rows))
    hash_chip.source = tuple(h.key for h in hashed)
    return hashed, chips + [salt_chip, hash_chip], nxt, packed


def _span(prog, name: str) -> np.ndarray:
    base = prog.base(name)
    return np.arange(base, base + prog.tensors[name].size, dtype=np.int64)
