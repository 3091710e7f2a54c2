"""What ``bench_mpesa_odoo.py`` prints: the timing table, the memory report
of the traced runs (the simulator's own allocations apart) and the profile."""

import cProfile
import io
import pstats
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# The in-process simulator keeps per-deposit records; its memory is not ours.
SIM_FILE = "*/g2p_simulators/simple_mpesa.py"
SIM_FILTER = tracemalloc.Filter(True, SIM_FILE, all_frames=True)


def report(args, ours, base):
    n, latency = args.payments, args.latency_ms
    rows = []
    for name, data in (
        ("baseline (upstream style)", base),
        ("ours (Odoo cron, commits)", ours),
    ):
        secs = data["seconds"]
        per = secs / n * 1000.0
        http = data["timers"]["http"] / n * 1000.0
        commit = data["timers"]["commit"] / n * 1000.0
        rows.append(
            (name, secs, n / secs, per, per - latency, data["commits"]["cursor"])
            + (http, commit, per - http - commit)
        )
    print()
    print(
        f"{n} payments, batches of {args.batch_size}, gateway latency {latency:g} ms "
        f"(in-process simulator)"
    )
    print(
        f"{'variant':<26} {'seconds':>7} {'pay/s':>6} {'ms/pay':>6} "
        f"{'beyond latency':>14} {'COMMITs':>7} | ms/pay in: {'deposit':>7} "
        f"{'COMMIT':>6} {'rest':>5}"
    )
    for name, secs, rate, per, beyond, commits, http, commit, rest in rows:
        print(
            f"{name:<26} {secs:>7.2f} {rate:>6.1f} {per:>6.2f} {beyond:>14.2f} "
            f"{commits:>7} |            {http:>7.2f} {commit:>6.2f} {rest:>5.2f}"
        )
    ratio = rows[1][2] / rows[0][2] * 100.0
    print(
        f"ours throughput = {ratio:.1f} % of baseline (goal: >= 80 %); "
        f"ours: {ours['commits']['mpesa']} _mpesa_commit calls "
        f"({ours['commits']['mpesa'] / n:.2f}/payment), "
        f"{ours['commits']['cursor']} cursor COMMITs in all, "
        f"SQL queries/payment {ours['commits']['queries'] / n:.1f} "
        f"(baseline {base['commits']['queries'] / n:.1f}), "
        f"{ours['passes']} cron pass(es), {ours['requests']} gateway requests"
    )
    print(
        "deposit = time in the deposit request (client side); COMMIT = time in "
        "cursor commits incl. their ORM flush; rest = ORM, claims, Python"
    )
    print(
        "sanity: every payment paid, exactly one deposit per account (both)",
        flush=True,
    )


def profile_ours(bench, n, top):
    profiler = cProfile.Profile()
    profiler.enable()
    bench.run_ours(n)
    profiler.disable()
    print()
    print(f"cProfile of ours, {n} payments, top {top} by own time:")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    lines = out.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if "ncalls" in line)
    print("\n".join(line for line in lines[start:] if line.strip()))


def _split_sim(snapshot):
    total = sum(stat.size for stat in snapshot.statistics("filename"))
    sim = sum(
        stat.size
        for stat in snapshot.filter_traces([SIM_FILTER]).statistics("filename")
    )
    return total, sim


def memory_report(mem):
    (small_n, small), (big_n, big) = mem
    small_snap, big_snap = small["snapshot"], big["snapshot"]
    print()
    print("ours, tracemalloc (0 ms latency, untimed runs), KiB:")
    print(
        f"{'payments':>8} {'peak':>8} {'held at end':>11} {'after gc':>9} "
        f"{'of which simulator':>19} {'RSS MiB':>8}"
    )
    for n, data in mem:
        total, sim = _split_sim(data["snapshot"])
        print(
            f"{n:>8} {data['peak'] / 1024:>8.0f} {data['held'] / 1024:>11.0f} "
            f"{total / 1024:>9.0f} {sim / 1024:>19.0f} {data['rss_mib']:>8.0f}"
        )
    total_small, sim_small = _split_sim(small_snap)
    total_big, sim_big = _split_sim(big_snap)
    own_growth = (total_big - sim_big) - (total_small - sim_small)
    span = max(big_n - small_n, 1)
    print(
        f"peak ratio {big_n}/{small_n} payments: {big['peak'] / small['peak']:.2f}; "
        f"held at the end grows by {(big['held'] - small['held']) / span:.0f} "
        f"bytes/payment (collectable cycles included); after gc.collect(), "
        f"retained outside the simulator grows by {own_growth / span:.0f} "
        f"bytes/payment"
    )
    not_sim = [tracemalloc.Filter(False, SIM_FILE, all_frames=True)]
    diff = big_snap.filter_traces(not_sim).compare_to(
        small_snap.filter_traces(not_sim), "traceback"
    )
    growth = {}
    for stat in diff:
        # Innermost line, and the innermost line of this project that led there.
        inner = stat.traceback[-1]
        ours = next(
            (f for f in reversed(stat.traceback) if str(REPO) in f.filename), None
        )
        key = (
            f"{_short(inner.filename)}:{inner.lineno}",
            f"{_short(ours.filename)}:{ours.lineno}" if ours else "-",
        )
        growth[key] = growth.get(key, 0) + stat.size_diff
    print("largest retained growth outside the simulator (line <- project line):")
    for (inner, ours), size in sorted(growth.items(), key=lambda kv: -kv[1])[:6]:
        print(f"  {size / 1024:>+8.0f} KiB  {inner}  <-  {ours}", flush=True)


def _short(path):
    if path.startswith(str(REPO) + "/"):
        return path[len(str(REPO)) + 1 :]
    for marker in ("/odoo/", "/site-packages/", "/lib/python"):
        if marker in path:
            return path[path.index(marker) + 1 :]
    return path
