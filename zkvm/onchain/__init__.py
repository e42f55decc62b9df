"""On-chain verification: a Solidity verifier for a program's key, and proofs as its calldata.

``solidity.export_verifier`` generates the contract, ``calldata.encode_proof``
lays a proof out for it (both need only the verifying key and the proof);
``evm`` compiles and runs contracts in-process for tests and gas figures
(optional: py-evm and the npm ``solc``). See docs/onchain.md.
"""
