"""Compile Solidity and run it on an in-process EVM, for tests and gas figures.

What: ``compile_solidity`` drives the npm-pinned solcjs (``solc_compile.js``,
standard-JSON in and out, evmVersion ``cancun``); ``Chain`` is a py-evm
``MiningChain`` at the Cancun fork with one funded account, which deploys
contracts and sends real, mined transactions, so the gas it reports is what a
user pays (21000 base + calldata + execution, less refunds).

Why here and lazily: the on-chain STARK verifier is tested by running it, not
by trusting a model of the EVM. py-evm, eth-abi and node are needed only for
that, so this module imports them inside functions: ``import zkvm`` (and
``import zkvm.onchain.evm``) never needs them. Install them with
``pip install 'zkvm[evm]'`` and ``npm ci`` at the repo root.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "Contract", "Chain", "EvmRevert", "SolidityCompileError", "EvmToolchainMissing",
    "compile_solidity", "calldata_gas", "solc_version", "SOLC_JS",
]

SOLC_JS: Path = Path(__file__).with_name("solc_compile.js")
"""The Node script that runs solcjs (standard-JSON on stdin -> stdout)."""
EVM_VERSION = "cancun"
"""The hard fork both the compiler targets and the chain runs."""

_INSTALL_HINT = "install with `pip install 'zkvm[evm]'` and run `npm ci` at the repo root"


class EvmToolchainMissing(RuntimeError):
    """node, the npm ``solc`` package, py-evm or eth-abi is not installed."""


class SolidityCompileError(RuntimeError):
    """solc reported errors; the message is solc's formatted messages."""


class EvmRevert(Exception):
    """A call reverted (or failed otherwise, e.g. out of gas).

    Attributes:
        reason: the decoded ``Error(string)`` message, ``"Panic(0x..)"`` for a
            ``Panic(uint256)``, ``None`` otherwise.
        selector: the first 4 bytes of the revert data (a custom error's
            selector), or ``None`` when the data is shorter.
        data: the raw revert data.
        gas_used: the gas the (mined) transaction consumed, or ``None`` for a
            static call.
    """

    def __init__(self, reason: str | None, selector: bytes | None, data: bytes,
                 gas_used: int | None = None, error: str = "revert"):
        self.reason, self.selector, self.data, self.gas_used = reason, selector, data, gas_used
        shown = reason if reason is not None else (
            f"custom error 0x{selector.hex()}" if selector else error)
        super().__init__(f"EVM revert: {shown}")


@dataclass(frozen=True)
class Contract:
    """One compiled contract: its ABI, creation bytecode and runtime size."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: bytes
    """Creation (init) code, to deploy with ``Chain.deploy``."""
    runtime_size: int
    """Deployed (runtime) bytecode size in bytes (EIP-170 caps it at 24576)."""
    source: str = ""
    functions: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    """ABI entries of the functions, by name and by ``name(types)`` signature."""


def calldata_gas(data: bytes) -> int:
    """Intrinsic calldata gas: 16 per nonzero byte, 4 per zero byte (EIP-2028).

    This is the Cancun price the ``Chain`` charges. EIP-7623's floor pricing
    (Prague: at least 10/40 per zero/nonzero byte when execution is small) is
    ignored: it does not apply at Cancun, and a verifier's execution gas is far
    above the floor anyway.
    """
    zeros = data.count(0)
    return 4 * zeros + 16 * (len(data) - zeros)


# ---------------------------------------------------------------------------
# compiler


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        raise EvmToolchainMissing(f"node is not on PATH: {_INSTALL_HINT}")
    return node


def _run_solc(payload: str, *args: str) -> str:
    proc = subprocess.run([_node(), str(SOLC_JS), *args], input=payload, capture_output=True,
                          text=True, env=os.environ.copy())
    if proc.returncode == 3:
        raise EvmToolchainMissing(proc.stderr.strip() + f" ({_INSTALL_HINT})")
    if proc.returncode != 0:
        raise RuntimeError(f"solc_compile.js failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def solc_version() -> str:
    """The long version string of the solcjs that ``compile_solidity`` uses."""
    return _run_solc("", "--version").strip()


def _canonical_type(param: dict[str, Any]) -> str:
    """ABI type string of a parameter, with tuples expanded: ``(uint256,bool)[]``."""
    t = param["type"]
    if t.startswith("tuple"):
        inner = ",".join(_canonical_type(c) for c in param["components"])
        return f"({inner}){t[len('tuple'):]}"
    return t


def _index_functions(abi: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    names: dict[str, int] = {}
    for entry in abi:
        if entry.get("type") != "function":
            continue
        sig = f"{entry['name']}({','.join(_canonical_type(p) for p in entry['inputs'])})"
        out[sig] = entry
        names[entry["name"]] = names.get(entry["name"], 0) + 1
    for sig, entry in list(out.items()):
        if names[entry["name"]] == 1:      # overloaded names are reachable by signature only
            out[entry["name"]] = entry
    return out


def compile_solidity(sources: dict[str, str], optimize_runs: int = 200,
                     via_ir: bool = False) -> dict[str, Contract]:
    """Compile ``{file name: source}`` with the pinned solc for Cancun.

    Returns every contract by name (and by ``"file:Name"``); libraries with
    only internal functions are inlined into the contracts that use them.
    Raises ``SolidityCompileError`` with solc's formatted messages on errors
    (warnings are ignored), ``EvmToolchainMissing`` without node or solc.
    """
    request = {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sources.items()},
        "settings": {
            "evmVersion": EVM_VERSION,
            "optimizer": {"enabled": optimize_runs > 0, "runs": max(optimize_runs, 1)},
            "viaIR": via_ir,
            "outputSelection": {"*": {"*": [
                "abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
        },
    }
    result = json.loads(_run_solc(json.dumps(request)))
    errors = [e for e in result.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise SolidityCompileError("\n".join(
            e.get("formattedMessage") or e.get("message", "") for e in errors))
    contracts: dict[str, Contract] = {}
    for file_name, by_name in result.get("contracts", {}).items():
        for name, out in by_name.items():
            c = Contract(
                name=name, abi=out["abi"], source=file_name,
                bytecode=bytes.fromhex(out["evm"]["bytecode"]["object"]),
                runtime_size=len(out["evm"]["deployedBytecode"]["object"]) // 2,
                functions=_index_functions(out["abi"]))
            contracts[f"{file_name}:{name}"] = c
            contracts.setdefault(name, c)
    return contracts


# ---------------------------------------------------------------------------
# chain


def _require_py_evm():
    try:
        import eth  # noqa: F401
        import eth_abi  # noqa: F401
        import eth_keys  # noqa: F401
    except ImportError as e:
        raise EvmToolchainMissing(f"py-evm/eth-abi missing ({e}): {_INSTALL_HINT}") from e


def _decode_revert(data: bytes) -> tuple[str | None, bytes | None]:
    import eth_abi

    selector = data[:4] if len(data) >= 4 else None
    try:
        if selector == bytes.fromhex("08c379a0"):          # Error(string)
            return eth_abi.decode(["string"], data[4:])[0], selector
        if selector == bytes.fromhex("4e487b71"):          # Panic(uint256)
            return f"Panic(0x{eth_abi.decode(['uint256'], data[4:])[0]:02x})", selector
    except Exception:  # malformed revert data: report the selector only
        pass
    return None, selector


class Chain:
    """An in-process Cancun chain (py-evm) with one funded account.

    Each ``deploy``/``call`` is a signed legacy transaction that is applied and
    mined in its own block, so ``gas_used`` is exactly that transaction's gas.
    ``block_gas_limit`` defaults to 60M (mainnet-like; raise it for big tests).
    """

    SENDER_KEY = b"\x01" * 32
    """Private key of the funded account (a test key, publicly known)."""

    def __init__(self, block_gas_limit: int = 60_000_000):
        _require_py_evm()
        from eth import constants
        from eth.chains.base import MiningChain
        from eth.db.atomic import AtomicDB
        from eth.tools.builder.chain import build, cancun_at, disable_pow_check, genesis
        from eth_keys import keys

        self._key = keys.PrivateKey(self.SENDER_KEY)
        self.sender: bytes = self._key.public_key.to_canonical_address()
        self.block_gas_limit = block_gas_limit
        self._chain = build(
            MiningChain, cancun_at(0), disable_pow_check(),
            genesis(db=AtomicDB(),
                    params={"gas_limit": block_gas_limit, "difficulty": 0, "nonce": b"\x00" * 8},
                    state={self.sender: {"balance": 10**30}}))
        self._zero = constants.ZERO_ADDRESS
        self._contracts: dict[bytes, Contract] = {}

    # -- transactions --------------------------------------------------------

    def _send(self, to: bytes, data: bytes, gas: int | None):
        vm = self._chain.get_vm()
        nonce = vm.state.get_nonce(self.sender)
        gas_price = max(vm.state.base_fee, 1)
        tx = vm.create_unsigned_transaction(
            nonce=nonce, gas_price=gas_price, gas=gas or 30_000_000,
            to=to, value=0, data=data).as_signed_transaction(self._key)
        _, receipt, computation = self._chain.apply_transaction(tx)
        self._chain.mine_block()
        return receipt.gas_used, computation

    @staticmethod
    def _raise_if_error(computation, gas_used: int | None) -> None:
        if computation.is_error:
            data = bytes(computation.output or b"")
            reason, selector = _decode_revert(data)
            raise EvmRevert(reason, selector, data, gas_used,
                            error=type(computation.error).__name__)

    def deploy(self, contract: Contract, *ctor_args: Any, gas: int | None = None) -> bytes:
        """Deploy ``contract`` (constructor args ABI-encoded); return its address."""
        import eth_abi
        from eth._utils.address import generate_contract_address

        ctor = next((e for e in contract.abi if e.get("type") == "constructor"), None)
        types = [_canonical_type(p) for p in ctor["inputs"]] if ctor else []
        nonce = self._chain.get_vm().state.get_nonce(self.sender)
        gas_used, computation = self._send(
            b"", contract.bytecode + eth_abi.encode(types, list(ctor_args)), gas)
        self._raise_if_error(computation, gas_used)
        address = generate_contract_address(self.sender, nonce)
        self._contracts[address] = contract
        self.last_deploy_gas = gas_used
        return address

    def _encode(self, address: bytes, fn: str, args: tuple) -> tuple[bytes, dict[str, Any]]:
        import eth_abi
        from eth_utils import keccak

        contract = self._contracts.get(address)
        if contract is None:
            raise KeyError(f"no contract deployed by this Chain at 0x{address.hex()}")
        entry = contract.functions.get(fn)
        if entry is None:
            raise KeyError(f"{contract.name} has no function {fn!r} (overloads need a signature)")
        types = [_canonical_type(p) for p in entry["inputs"]]
        selector = keccak(text=f"{entry['name']}({','.join(types)})")[:4]
        return selector + eth_abi.encode(types, list(args)), entry

    @staticmethod
    def _decode(entry: dict[str, Any], output: bytes) -> Any:
        import eth_abi

        types = [_canonical_type(p) for p in entry["outputs"]]
        values = eth_abi.decode(types, output) if types else ()
        if len(values) == 0:
            return None
        return values[0] if len(values) == 1 else tuple(values)

    def call(self, address: bytes, fn: str, *args: Any, gas: int | None = None) -> tuple[Any, int]:
        """Send ``fn(*args)`` as a mined transaction; return ``(value, gas_used)``.

        ``fn`` is a function name, or ``name(types)`` for an overload. The
        value is ``None`` / the single return value / a tuple of them. The gas
        is the whole transaction's (21000 + calldata + execution - refund).
        """
        data, entry = self._encode(address, fn, args)
        gas_used, computation = self._send(address, data, gas)
        self._raise_if_error(computation, gas_used)
        return self._decode(entry, computation.output), gas_used

    def static_call(self, address: bytes, fn: str, *args: Any) -> Any:
        """Run ``fn(*args)`` without a transaction (like ``eth_call``); return its value."""
        data, entry = self._encode(address, fn, args)
        vm = self._chain.get_vm()
        tx = vm.create_unsigned_transaction(
            nonce=vm.state.get_nonce(self.sender), gas_price=0, gas=self.block_gas_limit,
            to=address, value=0, data=data).as_signed_transaction(self._key)
        with vm.in_costless_state() as state:
            computation = state.costless_execute_transaction(tx)
        self._raise_if_error(computation, None)
        return self._decode(entry, computation.output)
