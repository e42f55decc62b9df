"""On-chain verification benchmark (issue 13): gas on a real EVM, and the on-chain profile's
prover cost against the default profile.

    python bench/bench_onchain.py [--models tiny,mlp,...] [--runs 3] [--breakdown mlp]
        [--out bench/results/onchain.json]

For each model: the proving key at ``standard`` and at ``onchain`` (derived before the clock
starts), the median prove time of ``--runs`` proofs at each after one warm-up (``ratio`` =
onchain / standard); then ``zkvm export-verifier``'s contract compiled with the npm-pinned
solc (via-IR, optimizer 200 runs), deployed on py-evm (Cancun) with its plan data
contracts, and one ``verify`` transaction with the proof's ``zkvm calldata``: ``gas`` is the
whole transaction as the EVM charges it (21,000 base + calldata + execution), ``calldata``
its calldata part at 16/4 gas per nonzero/zero byte (EIP-7623's floor does not bind: the
execution is far above it). The same proof is verified in Python too. ``--breakdown``
models are also run through a profiled build of the contract (``gasleft()`` around each
step, ``zkvm.onchain.solidity.PROFILE_STEPS``), whose figures add a little overhead of their
own. Deployment gas is reported apart (paid once per program).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if sys.path and os.path.abspath(sys.path[0]) == HERE:
    sys.path[0] = ROOT
elif ROOT not in sys.path:
    sys.path.insert(0, ROOT)

DEFAULT_MODELS = ("tiny", "mlp", "cnn", "attention", "lenet", "transformer", "mlp1m")
TX_GAS = 150_000_000  # above any mainnet block: big models are measured, then flagged


def _prove_times(model, security: str, runs: int):
    import zkvm.api as api

    key = api.setup(model.program, security)
    api.prove(model.program, model.inputs, security, key=key)  # warm-up
    ts, proof = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        proof = api.prove(model.program, model.inputs, security, key=key)
        ts.append(time.perf_counter() - t0)
    return key, proof, statistics.median(ts)


def _deploy(ex, evm):
    t0 = time.perf_counter()
    cs = evm.compile_solidity({"Verifier.sol": ex.source}, via_ir=True)
    t_compile = time.perf_counter() - t0
    chain = evm.Chain(block_gas_limit=TX_GAS + 10_000_000)
    deploy_gas = 0
    plan = []
    for i in range(len(ex.plan_chunks)):
        plan.append(chain.deploy(cs[f"ZkvmPlanData{i}"], gas=TX_GAS))
        deploy_gas += chain.last_deploy_gas
    addr = chain.deploy(cs["ZkvmVerifier"], plan, gas=TX_GAS)
    deploy_gas += chain.last_deploy_gas
    return chain, addr, cs["ZkvmVerifier"].runtime_size, deploy_gas, t_compile


def measure(name: str, runs: int, breakdown: bool) -> dict:
    import zkvm.api as api
    from zkvm.examples.models import build
    from zkvm.onchain import evm
    from zkvm.onchain.calldata import encode_proof, public_arrays
    from zkvm.onchain.solidity import PROFILE_STEPS, export_verifier

    model = build(name)
    _, _, t_std = _prove_times(model, "standard", runs)
    key, proof, t_on = _prove_times(model, "onchain", runs)
    api.verify(proof, key.vk, security="onchain")
    ex = export_verifier(key.vk)
    chain, addr, size, deploy_gas, t_compile = _deploy(ex, evm)
    body = encode_proof(key.vk, proof)
    ins, outs = public_arrays(key.vk, proof)
    row = {"model": name, "params": model.n_params, "macs": model.macs,
           "prove_standard_s": t_std, "prove_onchain_s": t_on, "ratio": t_on / t_std,
           "proof_calldata_bytes": len(body), "calldata_gas": evm.calldata_gas(body),
           "runtime_bytes": size, "plan_chunks": len(ex.plan_chunks),
           "deploy_gas": deploy_gas, "compile_s": t_compile}
    try:
        ok, gas = chain.call(addr, "verify", body, ins, outs, gas=TX_GAS)
        row.update(verified=bool(ok), gas=gas)
    except evm.EvmRevert as e:
        row.update(verified=False, gas=e.gas_used, revert=str(e))
    if breakdown:
        exp = export_verifier(key.vk, profile=True)
        pchain, paddr, _, _, _ = _deploy(exp, evm)
        try:
            pchain.call(paddr, "verify", body, ins, outs, gas=TX_GAS)
        except evm.EvmRevert as e:
            row["breakdown"] = {n: int.from_bytes(e.data[32 * k:32 * k + 32], "big")
                                for k, n in enumerate(PROFILE_STEPS)}
            row["breakdown"]["calldata"] = row["calldata_gas"]
    return row


def print_row(r: dict) -> None:
    flag = "" if r.get("verified") else "  NOT VERIFIED: " + r.get("revert", "")
    print(f"{r['model']:<12} gas {r['gas'] / 1e6:6.2f}M (calldata {r['calldata_gas'] / 1e6:5.2f}M,"
          f" {r['proof_calldata_bytes'] / 1024:6.1f} KiB)  runtime {r['runtime_bytes']} B, "
          f"{r['plan_chunks']} plan contracts, deploy {r['deploy_gas'] / 1e6:.1f}M  |  prove "
          f"standard {r['prove_standard_s']:.2f}s onchain {r['prove_onchain_s']:.2f}s "
          f"({r['ratio']:.2f}x){flag}", flush=True)
    for k, v in r.get("breakdown", {}).items():
        print(f"    {k:<28} {v / 1e6:6.2f}M")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=",".join(DEFAULT_MODELS))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--breakdown", default="mlp", help="models to profile step by step")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "onchain.json"))
    a = ap.parse_args(argv)
    from zkvm.onchain import evm
    from zkvm.platform_info import cpu_model

    prof = set(filter(None, a.breakdown.split(",")))
    rows = []
    for name in filter(None, a.models.split(",")):
        rows.append(measure(name, a.runs, name in prof))
        print_row(rows[-1])
    doc = {"machine": {"cpu": cpu_model(), "cores": os.cpu_count(),
                       "python": platform.python_version(), "solc": evm.solc_version()},
           "runs": a.runs, "rows": rows}
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=1)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
