"""Chip registry: rebuild an ``Air`` from the spec a verifying key stores.

A chip class registers itself under its ``name`` with ``@register``; the
verifier rebuilds every table's AIR from ``{"kind", "log_height", "params"}``
with ``build``. Unknown kinds are refused (the key names a chip this version
does not know).
"""

from __future__ import annotations

from zkvm.air.air import Air

_REGISTRY: dict[str, type[Air]] = {}


def register(cls: type[Air]) -> type[Air]:
    """Class decorator: make ``cls`` buildable from its ``name``."""
    prev = _REGISTRY.get(cls.name)
    if prev is not None and prev is not cls:
        raise ValueError(f"two chips registered under the name {cls.name!r}")
    _REGISTRY[cls.name] = cls
    return cls


def build(spec: dict) -> Air:
    """Rebuild an AIR from ``Air.spec()``; raises ``KeyError`` for an unknown kind."""
    kind = spec["kind"]
    if kind not in _REGISTRY:
        raise KeyError(f"unknown chip kind {kind!r}")
    return _REGISTRY[kind](int(spec["log_height"]), dict(spec.get("params") or {}))
