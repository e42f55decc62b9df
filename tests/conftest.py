"""Shared pytest fixtures (keep this file small: every test module sees it)."""

from __future__ import annotations

import importlib

import pytest


@pytest.fixture(scope="session", params=["kernels", "reference"])
def field_impl(request):
    """Each implementation of the field array API: the numba kernels and the plain reference twin."""
    return importlib.import_module(f"zkvm.field.{request.param}")


@pytest.fixture(scope="session")
def gf_p():
    """galois.GF(p) for Goldilocks: the independent oracle."""
    import galois

    from zkvm.field.scalar import P

    return galois.GF(P)
