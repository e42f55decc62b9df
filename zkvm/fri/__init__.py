"""Merkle commitments (blake3), the Fiat-Shamir transcript, FRI and security parameters."""
