"""Cost models of bench/bench_segments.py: medians per width, least-squares fits.

The MLP family's proving cost is fitted on the per-width medians of
interleaved runs (wall and CPU seconds, unsegmented and segmented): a + b MACs
(the issue's "linear in MACs"), and the models the residuals ask for -- a term
n log n in the committed trace cells (NTTs, Merkle trees and FRI over
power-of-two tables, read from the verifying keys) and a fixed cost per
segment proof. Each fit reports its coefficients, R² and the largest relative
residual (R² alone hides a 30% miss on the small widths next to 20-second
points). ``refit_cost`` refits a saved run or pools several runs of the same
command.
"""

from __future__ import annotations

import json
import statistics


def fit_model(features: list[list[float]], ys: list[float]) -> dict:
    """Least squares ``y = c0 + c1 f1 + c2 f2 ...`` over points (rows of ``features``).

    Returns ``coef`` (intercept first), ``r2``, ``max_rel_resid`` (the largest
    ``|y - fit| / y``), ``rel_resid`` per point and ``n`` points.
    """
    import numpy as np

    y = np.asarray(ys, dtype=float)
    m = np.column_stack([np.ones(len(y)), np.asarray(features, dtype=float)])
    if len(y) < m.shape[1]:
        raise ValueError(f"{len(y)} points cannot fit {m.shape[1]} coefficients")
    c = np.linalg.lstsq(m, y, rcond=None)[0]
    res = y - m @ c
    ss = float(((y - y.mean()) ** 2).sum())
    rel = res / y
    return {"coef": [float(v) for v in c], "r2": 1 - float((res ** 2).sum()) / ss if ss else 1.0,
            "max_rel_resid": float(np.abs(rel).max()), "rel_resid": [float(v) for v in rel],
            "n": len(y)}


# The cost models fitted on the per-width medians: name, the run kinds it is
# fitted for, its coefficients after the intercept ``a``, the features of a
# point (``k``: "plain" or "seg", whose trace shape is used) and the formula.
# ``c``: the NTT/Merkle/FRI work, n log n in the committed cells; ``d``: the
# fixed cost of one more segment proof (range table, transcript, FRI layers).
MODELS = (
    ("linear", ("plain", "seg"), "b", lambda r, k: [r["macs"]], "a + b MACs"),
    ("linear+segments", ("seg",), "bd", lambda r, k: [r["macs"], r["segments"]],
     "a + b MACs + d segments"),
    ("nlogn", ("plain",), "c", lambda r, k: [r[f"{k}_cells_log"]],
     "a + c Σ cells log2(height)"),
    ("nlogn+segments", ("seg",), "cd", lambda r, k: [r[f"{k}_cells_log"], r["segments"]],
     "a + c Σ cells log2(height) + d segments"),
)


def cost_fits(rows: list[dict]) -> list[dict]:
    """Every model of ``MODELS`` on wall and CPU seconds, plain and segmented.

    A model needs one more point than it has coefficients (an exact fit says
    nothing); the trace-shape models need the keys' shapes (``shape_keys``).
    """
    fits = []
    for kind in ("plain", "seg"):
        for measure in ("s", "cpu_s"):
            for name, kinds, coefs, feats, formula in MODELS:
                if kind not in kinds or ("c" in coefs and
                                         any(f"{kind}_cells_log" not in r for r in rows)):
                    continue
                if len(rows) < len(feats(rows[0], kind)) + 2:
                    continue
                f = fit_model([feats(r, kind) for r in rows], [r[f"{kind}_{measure}"]
                                                               for r in rows])
                fits.append({"kind": kind, "measure": "wall" if measure == "s" else "cpu",
                             "model": name, "formula": formula, "coef_names": "a" + coefs,
                             **f})
    return fits


def print_fits(fits: list[dict]) -> None:
    print("| run | seconds | model | a (s) | b (s per M MACs) | c (s per G cell-logs) | "
          "d (s per segment) | R² | largest rel. residual |")
    print("|" + " --- |" * 9)
    for f in fits:
        c = dict(zip(f["coef_names"], f["coef"]))
        cell = {"a": lambda v: f"{v:.2f}", "b": lambda v: f"{v * 1e6:.3f}",
                "c": lambda v: f"{v * 1e9:.1f}", "d": lambda v: f"{v:.2f}"}
        vals = " | ".join(cell[t](c[t]) if t in c else "-" for t in ("a", "b", "c", "d"))
        print(f"| {'segmented' if f['kind'] == 'seg' else 'plain'} | {f['measure']} | "
              f"{f['formula']} | {vals} | {f['r2']:.4f} | "
              f"{f['max_rel_resid'] * 100:.1f}% |")


def summarize(row: dict, plain: list[dict], segd: list[dict]) -> dict:
    """``row`` with the runs and their medians (wall, CPU, peak) and per-pair ratios."""
    med = statistics.median
    row = {**row, "runs": len(plain), "plain_runs": plain, "seg_runs": segd}
    for kind, rs in (("plain", plain), ("seg", segd)):
        row[f"{kind}_s"] = med(r["seconds"] for r in rs)
        row[f"{kind}_cpu_s"] = med(r["cpu_s"] for r in rs)
        row[f"{kind}_process_cpu_s"] = med(r["process_cpu_s"] for r in rs)
        row[f"{kind}_peak_mib"] = med(r["peak_mib"] for r in rs)
    # per-pair ratios (the two runs of a pair ran back to back)
    row["ratio_s"] = med(s["seconds"] / p["seconds"] for p, s in zip(plain, segd))
    row["ratio_cpu"] = med(s["cpu_s"] / p["cpu_s"] for p, s in zip(plain, segd))
    return row


def print_largest(rows: list[dict]) -> None:
    """The memory/time targets at the largest width (issue 14: MLP-4096, 2 GiB, 1.3x)."""
    r = max(rows, key=lambda r: r["width"])
    print(f"width {r['width']} ({r['runs']} pairs, medians): segmented peak "
          f"{r['seg_peak_mib']:.0f} MiB (plain {r['plain_peak_mib']:.0f} MiB), "
          f"{r['segments']} segments; time segmented/plain {r['ratio_s']:.2f} wall, "
          f"{r['ratio_cpu']:.2f} CPU (pair ratios; max "
          f"{max(s['seconds'] / p['seconds'] for p, s in zip(r['plain_runs'], r['seg_runs'])):.2f}"
          " wall)")


def refit_cost(path: str, merge: str = "") -> None:
    """Refit the cost models on a previous run's medians (``path``), or pool the runs
    of the result files ``merge`` (comma-separated; the same command run several
    times) into new medians written to ``path``."""
    if merge:
        docs = []
        for m in merge.split(","):
            with open(m) as fh:
                docs.append(json.load(fh))
        doc = {**docs[0], "pooled_from": merge.split(","), "rows": [],
               "load_avg": [[d["load_avg_start"], d["load_avg_end"]] for d in docs]}
        for row in docs[0]["rows"]:
            same = [r for d in docs for r in d["rows"] if r["width"] == row["width"]]
            if len(same) != len(docs) or any(
                    (r["macs"], r["segments"]) != (row["macs"], row["segments"]) for r in same):
                raise SystemExit(f"--merge: width {row['width']} is not in every file with the "
                                 "same MACs and segments (pool runs of one command only)")
            doc["rows"].append(summarize(
                {k: v for k, v in row.items()   # single-run verify figures: not pooled
                 if not k.endswith("_runs") and "_verify_" not in k},
                [p for r in same for p in r["plain_runs"]],
                [s for r in same for s in r["seg_runs"]]))
    else:
        with open(path) as fh:
            doc = json.load(fh)
    print_table(doc["rows"])
    doc["fits"] = cost_fits(doc["rows"]) if len(doc["rows"]) >= 3 else []
    print_fits(doc["fits"])
    print_largest(doc["rows"])
    with open(path, "w") as fh:
        json.dump(doc, fh, indent=1)


def print_table(rows: list[dict]) -> None:
    print("| width | params | MACs | runs | plain s | seg s | ratio | plain cpu s | seg cpu s | "
          "cpu ratio | plain peak MiB | seg peak MiB | segs | plain KiB | bundle KiB | "
          "verify --program plain/seg s (MiB) | verify --key plain/seg s (MiB) |")
    print("|" + " --- |" * 17)
    for r in rows:
        v = ""
        for mode in ("program", "key"):
            if f"plain_verify_{mode}_s" in r:
                pv, sv = f"plain_verify_{mode}", f"seg_verify_{mode}"
                v += (f" {r[pv + '_s']:.2f} / {r[sv + '_s']:.2f} "
                      f"({r[pv + '_mib']:.0f} / {r[sv + '_mib']:.0f}) |")
            else:
                v += " - |"
        print(f"| {r['width']} | {r['params']:,} | {r['macs']:,} | {r['runs']} | "
              f"{r['plain_s']:.2f} | {r['seg_s']:.2f} | {r['ratio_s']:.2f} | "
              f"{r['plain_cpu_s']:.2f} | {r['seg_cpu_s']:.2f} | {r['ratio_cpu']:.2f} | "
              f"{r['plain_peak_mib']:.0f} | {r['seg_peak_mib']:.0f} | {r['segments']} | "
              f"{r['plain_kib']:.0f} | {r['seg_kib']:.0f} |{v}", flush=True)
