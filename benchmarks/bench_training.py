"""Training-speed benchmark: kansr against pykan, in one run, on the same data.

Usage::

    PYTHONPATH=. .venv/bin/python benchmarks/bench_training.py [--quick]
        [--shapes 2-5-1:5,4-8-8-1:10,6-16-16-1:20] [--samples 1000,10000]
        [--threads 2] [--ops fwdbwd,adam,lbfgs,fit_adam,fit_lbfgs]
        [--fit-steps S] [--repeats R] [--interleave | --only kansr|pykan | --no-pykan]
        [--no-same-init] [--profile] [--json OUT] [--strict]

For every shape (``width:G``) and sample count it times, on float32 CPU
tensors shared by both libraries:

``fwdbwd``     forward + MSE loss + backward (gradients reset untimed).
``adam``       one Adam step: zero_grad, forward, MSE, backward, step.
``lbfgs``      one LBFGS step (max_iter=20, history_size=10, strong Wolfe),
               restarted from the same parameters and a fresh optimiser at
               every repeat; the number of loss evaluations is reported.
``fit_adam``   ``kansr.train._fit.fit(..., optimizer="adam")`` against
``fit_lbfgs``  ``pykan_model.fit(dataset, opt=...)`` for S steps, no grid
               updates, both evaluating a held-out set every step.

Each library is timed in its own child process, kansr first, then pykan,
in the same run; the reported figure is the median (the minimum is printed
as a ratio and kept in the JSON output).  ``--interleave`` instead alternates
the two libraries' calls in one process, so that load from other processes
hits both alike; that penalises the faster library, whose short step then
always starts cold after the other's long one (``bench_gap.py`` measures
this; see benchmarks/README.md).  pykan (``import kan``) is optional:
without it only kansr is timed.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import gc
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from a source checkout
    sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from kansr.nn import KAN  # noqa: E402
from kansr.train import (  # noqa: E402
    fit,
    make_optimizer,
    tune_allocator,  # noqa: E402
)

DEFAULT_SHAPES = "2-5-1:5,4-8-8-1:10,6-16-16-1:20"
ALL_OPS = ("fwdbwd", "adam", "lbfgs", "fit_adam", "fit_lbfgs")
ADAM_LR = 1e-2
LBFGS_LR = 1.0
# (width, G, n) -> minimum pykan/kansr ratio of the Adam step (project bars).
BARS = {
    ((6, 16, 16, 1), 20, 10_000): 10.0,
    ((4, 8, 8, 1), 10, 10_000): 10.0,
    ((2, 5, 1), 5, 1_000): 5.0,
}


# --------------------------------------------------------------------- setup
def parse_shapes(text: str) -> list[tuple[tuple[int, ...], int]]:
    out = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            width, grid = item.split(":")
            out.append((tuple(int(v) for v in width.split("-")), int(grid)))
        except ValueError:
            raise SystemExit(f"bad shape {item!r}: expected e.g. 6-16-16-1:20 (widths joined by '-', then ':G')") from None
    return out


def make_data(n: int, d: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs uniform on [-1, 1]^d and a smooth target, float32."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, d, generator=gen, dtype=torch.float64) * 2 - 1
    y = torch.sin(torch.pi * x[:, :1]) + (x**2).mean(1, keepdim=True) + 0.5 * x.prod(1, keepdim=True)
    return x.float().contiguous(), y.float().contiguous()


def import_pykan():
    """pykan's KAN class and its LBFGS optimiser, or None when not installed."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            import kan
            from kan.LBFGS import LBFGS
    except Exception as exc:  # pragma: no cover - depends on the environment
        print(f"pykan not available ({type(exc).__name__}: {exc}); timing kansr only")
        return None
    # pykan's fit draws a tqdm bar; give it a silent one.
    from tqdm import tqdm as _tqdm

    def quiet_tqdm(*args, **kwargs):
        kwargs["disable"] = True
        return _tqdm(*args, **kwargs)

    # (kan/__init__ re-exports the class MultKAN, so reach the module via sys.modules.)
    sys.modules["kan.MultKAN"].tqdm = quiet_tqdm
    return {"KAN": kan.KAN, "LBFGS": LBFGS, "version": getattr(kan, "__version__", None) or _dist_version("pykan")}


def _dist_version(name: str) -> str:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:
        return "?"


def make_pykan(pk, width, G):
    with contextlib.redirect_stdout(io.StringIO()):
        return pk["KAN"](width=list(width), grid=G, k=3, seed=0, auto_save=False)


def pykan_fit_mode(model) -> None:
    """The flags pykan's ``fit`` sets for its forward passes when ``lamb == 0``
    and no edge is symbolic (``disable_symbolic_in_fit``)."""
    model.save_act = False
    model.symbolic_enabled = False


def copy_pykan_init(kmodel: KAN, pmodel) -> float:
    """Give the kansr model pykan's initial edge functions; return max |output difference|.

    pykan stores coefficients as (in, out, G+k), kansr as (in, G+k, out); the
    residual and spline weights have the same layout, biases start at zero.
    """
    with torch.no_grad():
        for layer, act in zip(kmodel.layers, pmodel.act_fun):
            if layer.grid.shape != act.grid.shape or not torch.allclose(layer.grid, act.grid):
                raise RuntimeError("kansr and pykan grids differ; cannot share the initialisation")
            layer.coef.copy_(act.coef.permute(0, 2, 1))
            layer.scale_base.copy_(act.scale_base)
            layer.scale_sp.copy_(act.scale_sp)
            layer.bias.zero_()
        x, _ = make_data(512, kmodel.width_in, seed=123)
        pykan_fit_mode(pmodel)
        return float((kmodel(x) - pmodel(x)).abs().max())


# --------------------------------------------------------------------- timing
class Timed:
    """One thing to time: ``setup()`` runs untimed before every ``run()``."""

    def __init__(self, run: Callable[[], object], setup: Callable[[], None] | None = None):
        self.run, self.setup = run, setup or (lambda: None)
        self.times: list[float] = []
        self.extra: list[object] = []

    def once(self, record: bool) -> None:
        self.setup()
        t0 = time.perf_counter()
        out = self.run()
        dt = time.perf_counter() - t0
        if record:
            self.times.append(dt * 1e3)
            self.extra.append(out)


def measure(items: list[Timed], repeats: int, warmup: int) -> None:
    """Warm up, then time the items alternately ``repeats`` times each."""
    gc.collect()
    for _ in range(warmup):
        for it in items:
            it.once(record=False)
    for _ in range(repeats):
        for it in items:
            it.once(record=True)


def mse(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.mean((pred - y) ** 2)


def fwdbwd_case(model, x, y, prepare=None) -> Timed:
    def setup():
        if prepare:
            prepare()
        for p in model.parameters():
            p.grad = None

    def run():
        mse(model(x), y).backward()

    return Timed(run, setup)


def adam_case(model, x, y, prepare=None) -> Timed:
    # Each library's Adam as its own fit builds it: kansr's make_optimizer
    # (fused update), pykan's plain torch.optim.Adam.
    if isinstance(model, KAN):
        opt = make_optimizer("adam", model.parameters(), ADAM_LR)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=ADAM_LR)

    def run():
        # pykan's fit: forward, loss, zero_grad, backward, step (kansr's: zero_grad first).
        opt.zero_grad()
        loss = mse(model(x), y)
        loss.backward()
        opt.step()

    return Timed(run, prepare)


def lbfgs_case(model, x, y, make_opt, prepare=None) -> Timed:
    start = copy.deepcopy(model.state_dict())
    state: dict = {}

    def setup():
        if prepare:
            prepare()
        model.load_state_dict(start)
        state["opt"] = make_opt(model.parameters())
        state["evals"] = 0

    def closure():
        state["evals"] += 1
        state["opt"].zero_grad()
        loss = mse(model(x), y)
        loss.backward()
        return loss

    def run():
        state["opt"].step(closure)
        return state["evals"]

    return Timed(run, setup)


def kansr_lbfgs(params):
    # The optimiser kansr.train._fit.fit builds for optimizer="lbfgs".
    return torch.optim.LBFGS(params, lr=LBFGS_LR, max_iter=20, history_size=10, line_search_fn="strong_wolfe",
                             tolerance_grad=1e-32, tolerance_change=1e-32)


def pykan_lbfgs(pk):
    def make(params):
        # What pykan's fit passes to its own LBFGS class (max_iter keeps its default 20).
        return pk["LBFGS"](params, lr=LBFGS_LR, history_size=10, line_search_fn="strong_wolfe",
                           tolerance_grad=1e-32, tolerance_change=1e-32, tolerance_ys=1e-32)

    return make


def kansr_fit_case(model, x, y, xt, yt, opt: str, steps: int) -> Timed:
    start = copy.deepcopy(model.state_dict())
    lr = ADAM_LR if opt == "adam" else LBFGS_LR

    def setup():
        model.load_state_dict(start)

    def run():
        fit(model, x, y, steps=steps, optimizer=opt, lr=lr, update_grid=False, progress=False, X_val=xt, y_val=yt)

    return Timed(run, setup)


def pykan_fit_case(model, x, y, xt, yt, opt: str, steps: int) -> Timed:
    start = copy.deepcopy(model.state_dict())
    dataset = {"train_input": x, "train_label": y, "test_input": xt, "test_label": yt}
    lr = ADAM_LR if opt == "adam" else LBFGS_LR
    name = "Adam" if opt == "adam" else "LBFGS"

    def setup():
        model.load_state_dict(start)
        model.save_act, model.symbolic_enabled = True, True  # as constructed

    def run():
        with contextlib.redirect_stdout(io.StringIO()):
            model.fit(dataset, opt=name, steps=steps, lr=lr, update_grid=False)

    return Timed(run, setup)


# --------------------------------------------------------------------- driver
NOISY_SPREAD = 1.5  # median / min above this: the repeats disagree, other processes probably interfered


def summarise(t: Timed) -> dict:
    med, low = statistics.median(t.times), min(t.times)
    return {"median_ms": med, "min_ms": low, "spread": med / low, "times_ms": t.times}


def is_noisy(row: dict) -> bool:
    return any(row[lib]["spread"] > NOISY_SPREAD for lib in ("kansr", "pykan") if lib in row)


def finish_row(row: dict) -> dict:
    """Add the ratios and the noise flag once both libraries' timings are in."""
    if "kansr" in row and "pykan" in row:
        row["ratio"] = row["pykan"]["median_ms"] / row["kansr"]["median_ms"]
        row["ratio_min"] = row["pykan"]["min_ms"] / row["kansr"]["min_ms"]
    row["noisy"] = is_noisy(row)
    return row


def bench_config(width, G, n, args, pk, settings) -> list[dict]:
    d = width[0]
    x, y = make_data(n, d, seed=0)
    xt, yt = make_data(n, d, seed=1)
    km = KAN(list(width), grid=G, k=3, seed=0)
    pm = make_pykan(pk, width, G) if pk else None
    init_diff = copy_pykan_init(km, pm) if pm is not None and args.same_init else None
    prep = (lambda: pykan_fit_mode(pm)) if pm is not None else None
    time_k = args.only != "pykan"
    time_p = pm is not None and args.only != "kansr"
    rows = []
    # fwd+bwd / Adam run first and warm both libraries up; the long ops then need no warm-up call.
    warmed = "fwdbwd" in args.ops or "adam" in args.ops
    for op in args.ops:
        k = p = None
        if op == "fwdbwd":
            k = fwdbwd_case(km, x, y) if time_k else None
            p = fwdbwd_case(pm, x, y, prep) if time_p else None
            reps, warm = settings["repeats"], settings["warmup"]
        elif op == "adam":
            k = adam_case(km, x, y) if time_k else None
            p = adam_case(pm, x, y, prep) if time_p else None
            reps, warm = settings["repeats"], settings["warmup"]
        elif op == "lbfgs":
            k = lbfgs_case(km, x, y, kansr_lbfgs) if time_k else None
            p = lbfgs_case(pm, x, y, pykan_lbfgs(pk), prep) if time_p else None
            reps, warm = settings["lbfgs_repeats"], 0 if warmed else 1
        else:
            opt = op.split("_")[1]
            k = kansr_fit_case(km, x, y, xt, yt, opt, settings["fit_steps"]) if time_k else None
            p = pykan_fit_case(pm, x, y, xt, yt, opt, settings["fit_steps"]) if time_p else None
            reps, warm = settings["fit_repeats"], 0 if warmed else 1
        measure([t for t in (k, p) if t is not None], reps, warm)
        row = {"width": list(width), "G": G, "n": n, "op": op, "repeats": reps}
        for lib, t in (("kansr", k), ("pykan", p)):
            if t is not None:
                row[lib] = summarise(t)
                if op == "lbfgs":
                    row[lib]["evals"] = t.extra[0]
        if op.startswith("fit_"):
            row["steps"] = settings["fit_steps"]
        if init_diff is not None:
            row["init_max_abs_diff"] = init_diff
        rows.append(finish_row(row))
        print_row(row)
        sys.stdout.flush()
    return rows


def run_isolated(argv: list[str], only: str) -> dict:
    """Run this script in a child process that times one library only; return its JSON."""
    import subprocess

    with tempfile.TemporaryDirectory(prefix="kansr_bench_child_") as tmp:
        out = Path(tmp) / "rows.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), *argv, "--only", only, "--json", str(out)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0 or not out.exists():
            sys.stderr.write(proc.stdout + proc.stderr)
            raise SystemExit(f"the {only}-only child process failed (exit status {proc.returncode})")
        return json.loads(out.read_text())


def merge_isolated(kansr_run: dict, pykan_run: dict) -> list[dict]:
    key = lambda r: (tuple(r["width"]), r["G"], r["n"], r["op"])  # noqa: E731
    pyk = {key(r): r for r in pykan_run["rows"]}
    rows = []
    for r in kansr_run["rows"]:
        other = pyk.get(key(r))
        if other is not None and "pykan" in other:
            r["pykan"] = other["pykan"]
        rows.append(finish_row(r))
    return rows


def op_label(row: dict) -> str:
    op = row["op"]
    if op == "lbfgs":
        evals = "/".join(str(row[lib]["evals"]) for lib in ("kansr", "pykan") if lib in row)
        return f"lbfgs step ({evals} ev)"
    if op.startswith("fit_"):
        return f"{op} x{row['steps']}"
    return {"fwdbwd": "fwd+bwd", "adam": "adam step"}[op]


HEADER = (f"{'shape':<14} {'G':>3} {'n':>6}  {'op':<22} {'kansr ms':>10} {'pykan ms':>10} {'ratio':>7} "
          f"{'ratio(min)':>10}  note")


def print_row(row: dict) -> None:
    shape = "[" + ",".join(str(v) for v in row["width"]) + "]"
    k = f"{row['kansr']['median_ms']:10.2f}" if "kansr" in row else f"{'-':>10}"
    if "ratio" in row:
        p = f"{row['pykan']['median_ms']:10.2f}"
        r = f"{row['ratio']:6.1f}x"
        rm = f"{row['ratio_min']:9.1f}x"
    else:
        p = f"{row['pykan']['median_ms']:10.2f}" if "pykan" in row else f"{'-':>10}"
        r, rm = f"{'-':>7}", f"{'-':>10}"
    note = "noisy" if row["noisy"] else ""
    print(f"{shape:<14} {row['G']:>3} {row['n']:>6}  {op_label(row):<22} {k} {p} {r} {rm}  {note}")


def check_bars(rows: list[dict]) -> list[dict]:
    verdicts = []
    for (width, G, n), bar in BARS.items():
        row = next((r for r in rows if tuple(r["width"]) == width and r["G"] == G and r["n"] == n
                    and r["op"] == "adam"), None)
        shape = "[" + ",".join(str(v) for v in width) + "]"
        if row is None or "ratio" not in row:
            status, ratio = "n/a", None
        else:
            ratio = row["ratio"]
            status = "PASS" if ratio >= bar else "FAIL"
        noisy = bool(row and row.get("noisy"))
        verdicts.append({"width": list(width), "G": G, "n": n, "bar": bar, "ratio": ratio, "status": status,
                         "ratio_min": row.get("ratio_min") if row else None, "noisy": noisy})
        shown = "not measured" if ratio is None else f"{ratio:.1f}x (from minima {row['ratio_min']:.1f}x)"
        warn = "  [noisy timings: rerun on a quiet machine]" if noisy else ""
        print(f"  Adam step {shape} G={G} n={n}: need >= {bar:.0f}x, got {shown}  {status}{warn}")
    return verdicts


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def profile_adam(width, G, n, steps: int = 5) -> None:
    """Which torch ops dominate kansr's Adam step (printed table)."""
    from torch.profiler import ProfilerActivity, profile

    x, y = make_data(n, width[0], seed=0)
    model = KAN(list(width), grid=G, k=3, seed=0)
    opt = torch.optim.Adam(model.parameters(), lr=ADAM_LR)

    def step():
        opt.zero_grad()
        mse(model(x), y).backward()
        opt.step()

    for _ in range(3):
        step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    shape = "[" + ",".join(str(v) for v in width) + "]"
    print(f"\nkansr Adam step profile, {shape} G={G} n={n}, {steps} steps (self CPU time):")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repeats and fit steps (< 5 minutes)")
    ap.add_argument("--shapes", default=DEFAULT_SHAPES, help=f"comma-separated width:G items (default {DEFAULT_SHAPES})")
    ap.add_argument("--samples", default="1000,10000", help="comma-separated sample counts (default 1000,10000)")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    ap.add_argument("--ops", default=",".join(ALL_OPS), help=f"subset of {','.join(ALL_OPS)}")
    ap.add_argument("--repeats", type=int, default=None, help="timed repeats of fwd+bwd and Adam (default 15, quick 5)")
    ap.add_argument("--fit-steps", type=int, default=None, help="steps of the full fits (default 5, quick 2)")
    ap.add_argument("--no-pykan", action="store_true", help="time kansr only")
    ap.add_argument("--no-same-init", dest="same_init", action="store_false",
                    help="keep kansr's own initialisation instead of copying pykan's")
    ap.add_argument("--profile", action="store_true", help="also profile kansr's Adam step on the largest config")
    ap.add_argument("--json", default=None, help="write all timings to this file")
    ap.add_argument("--strict", action="store_true", help="exit with status 1 when a project bar FAILs")
    ap.add_argument("--isolate", action="store_true",
                    help="time each library in its own child process, one after the other (the default "
                         "when pykan is installed; see the README)")
    ap.add_argument("--interleave", action="store_true",
                    help="alternate the two libraries' calls in one process instead (see the README)")
    ap.add_argument("--only", choices=("kansr", "pykan"), default=None,
                    help="time one library only (pykan is still built for the shared initialisation)")
    raw_argv = list(sys.argv[1:] if argv is None else argv)
    args = ap.parse_args(raw_argv)
    if args.isolate and (args.only or args.no_pykan or args.interleave):
        ap.error("--isolate runs both libraries in turn; drop --only/--no-pykan/--interleave")
    if args.interleave and (args.only or args.no_pykan):
        ap.error("--interleave runs both libraries; drop --only/--no-pykan")
    args.isolate = not (args.interleave or args.only or args.no_pykan)

    requested = [o.strip() for o in args.ops.split(",") if o.strip()]
    bad = [o for o in requested if o not in ALL_OPS]
    if bad:
        ap.error(f"unknown op(s) {bad}; choose from {', '.join(ALL_OPS)}")
    args.ops = [o for o in ALL_OPS if o in requested]  # cheap ops first: they warm up both libraries
    shapes = parse_shapes(args.shapes)
    samples = [int(s) for s in args.samples.split(",") if s.strip()]
    if args.quick:
        settings = {"repeats": 5, "warmup": 2, "lbfgs_repeats": 2, "fit_repeats": 1, "fit_steps": 2}
    else:
        settings = {"repeats": 15, "warmup": 3, "lbfgs_repeats": 5, "fit_repeats": 3, "fit_steps": 5}
    if args.repeats is not None:
        settings["repeats"] = max(1, args.repeats)
    if args.fit_steps is not None:
        settings["fit_steps"] = max(1, args.fit_steps)
    json_out = Path(args.json).resolve() if args.json else None

    torch.set_num_threads(args.threads)
    # Tune glibc's allocator (kansr.tune_allocator, opt-in) up front so both
    # libraries run with the same allocator in every measured case.
    allocator_tuned = tune_allocator()
    torch.set_default_dtype(torch.float32)
    pk = None if args.no_pykan else import_pykan()
    if args.only == "pykan" and pk is None:
        raise SystemExit("--only pykan needs pykan installed")

    info = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "pykan": pk["version"] if pk else None,
        "mode": "quick" if args.quick else "full",
        "settings": settings,
        "same_init": bool(args.same_init and pk),
        "timing": "isolated" if args.isolate else ("only " + args.only if args.only else "interleaved"),
        "allocator_tuned": allocator_tuned,
    }
    print(f"kansr training benchmark ({info['mode']}): torch {info['torch']}, pykan {info['pykan']}, "
          f"{info['threads']} thread(s), CPU {info['cpu']} ({info['cores']} cores), "
          f"allocator tuned for both: {'yes' if allocator_tuned else 'no'}")
    print(f"median of {settings['repeats']} (fwd+bwd, adam; after {settings['warmup']} warm-up), "
          f"{settings['lbfgs_repeats']} (lbfgs), {settings['fit_repeats']} (fits of {settings['fit_steps']} steps); "
          f"ratio = pykan / kansr; 'noisy' = median > {NOISY_SPREAD}x min for a library")
    if args.isolate:
        print("isolated: each library timed in its own process, one after the other (no interleaving)")
    else:
        print(f"calls {'of one library' if args.only or not pk else 'of the two libraries alternate'} in one process")
    print()

    load_before = os.getloadavg()
    t_start = time.perf_counter()
    rows: list[dict] = []
    if args.isolate and pk is not None:
        child_argv = [a for a in raw_argv if a not in ("--isolate", "--interleave")]
        if args.json:  # drop "--json OUT" / "--json=OUT"; the children write their own files
            i = next((j for j, a in enumerate(child_argv) if a == "--json"), None)
            child_argv = child_argv[:i] + child_argv[i + 2:] if i is not None else child_argv
            child_argv = [a for a in child_argv if not a.startswith("--json=")]
        print("timing kansr in a child process ...", flush=True)
        kansr_run = run_isolated(child_argv, "kansr")
        print("timing pykan in a child process ...\n", flush=True)
        pykan_run = run_isolated(child_argv, "pykan")
        print(HEADER)
        print("-" * len(HEADER))
        rows = merge_isolated(kansr_run, pykan_run)
        for row in rows:
            print_row(row)
    else:
        print(HEADER)
        print("-" * len(HEADER))
        old_cwd = os.getcwd()
        with tempfile.TemporaryDirectory(prefix="kansr_bench_") as tmp:
            os.chdir(tmp)  # pykan may write model/ or video/ folders into the cwd
            try:
                for width, G in shapes:
                    for n in samples:
                        rows += bench_config(width, G, n, args, pk, settings)
            finally:
                os.chdir(old_cwd)
    elapsed = time.perf_counter() - t_start

    diffs = [r["init_max_abs_diff"] for r in rows if "init_max_abs_diff" in r]
    if diffs:
        print(f"\nshared initialisation: max |kansr(x) - pykan(x)| at start = {max(diffs):.2e}")
    print("\nproject bars (Adam step, pykan/kansr median ratio):")
    verdicts = check_bars(rows)
    info["loadavg_before"], info["loadavg_after"] = load_before, os.getloadavg()
    busy = max(load_before[0], info["loadavg_after"][0]) > (os.cpu_count() or 1)
    print(f"\ntotal {elapsed:.0f} s; 1-min load average {load_before[0]:.2f} before, {info['loadavg_after'][0]:.2f} after"
          + ("  (above the core count: other processes competed for the CPU, expect noise)" if busy else ""))

    if args.profile:
        width, G = max(shapes, key=lambda s: (sum(a * b for a, b in zip(s[0], s[0][1:])) * s[1]))
        profile_adam(width, G, max(samples))

    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps({"info": info, "rows": rows, "bars": verdicts, "seconds": elapsed}, indent=1))
        print(f"wrote {os.path.relpath(json_out)}")  # no machine path in saved logs
    return 1 if args.strict and any(v["status"] == "FAIL" for v in verdicts) else 0


if __name__ == "__main__":
    sys.exit(main())
