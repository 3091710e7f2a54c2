"""What ``bench_mpesa_scale_odoo.py`` prints: the prepare and disburse tables
with their sanity checks, and the closing summary."""

import math

# Odoo's default worker limits, which the longest job and each worker must fit.
LIMIT_TIME_REAL = 120.0
LIMIT_MEMORY_HARD_MIB = 2560.0


def _limits(seconds, peak):
    ok_time = seconds <= LIMIT_TIME_REAL
    ok_mem = peak <= LIMIT_MEMORY_HARD_MIB
    return ("yes" if ok_time else "NO") + " / " + ("yes" if ok_mem else "NO")


def report_prepare(conf, n, args, rows):
    print()
    print(
        f"prepare on {conf['base']}: {n} entitlements, batches of {args.batch_size}, "
        f"chunks of {conf['chunk_size']}, {args.workers} workers"
    )
    print(
        f"{'variant':<34} {'seconds':>8} {'pay/s':>7} {'peak RSS':>9} {'growth':>7} "
        f"{'longest job':>11} {'jobs':>5}  within 120 s / 2.5 GB"
    )
    for name, data in rows:
        if data is None:
            print(f"{name:<34} {'not run':>8}")
            continue
        if "timeout" in data:
            print(
                f"{name:<34} {'>' + format(data['timeout'], '.0f'):>8} "
                f"{'<' + format(n / data['timeout'], '.0f'):>7}   (stopped)"
                f"{'':>28}  NO / ?"
            )
            continue
        if "workers" in data:
            click, workers = data["click"], data["workers"]
            times = [t for w in workers for t in w["job_seconds"]]
            longest = max(times + [click["seconds"]])
            peak = max([w["peak_mib"] for w in workers] + [click["peak_mib"]])
            growth = max(w["peak_mib"] - w["base_mib"] for w in workers)
            jobs = sum(w["jobs"] for w in workers)
        else:
            longest, peak = data["seconds"], data["peak_mib"]
            growth, jobs = peak - data["base_mib"], 1
        print(
            f"{name:<34} {data['seconds']:>8.1f} {n / data['seconds']:>7.0f} "
            f"{peak:>8.0f}M {growth:>6.0f}M {longest:>10.1f}s {jobs:>5}  "
            f"{_limits(longest, peak)}"
        )
        _check(name, data, n, args.batch_size)
    chunked = rows[-1][1]
    click = chunked["click"]
    print(
        f"  chunked: the click (plan + queue {click['jobs']} jobs) took "
        f"{click['seconds']:.1f} s, peak {click['peak_mib']:.0f} MiB; per worker "
        + ", ".join(
            f"{w['jobs']} jobs, peak {w['peak_mib']:.0f} MiB "
            f"(+{w['peak_mib'] - w['base_mib']:.0f})"
            for w in chunked["workers"]
        ),
        flush=True,
    )


def _check(name, data, n, batch_size):
    problems = []
    if data["payments"] != n:
        problems.append(f"{data['payments']} payments, expected {n}")
    if data["batches"] != math.ceil(n / batch_size):
        problems.append(
            f"{data['batches']} batches, expected {math.ceil(n / batch_size)}"
        )
    if data["largest_batch"] > batch_size:
        problems.append(f"a batch of {data['largest_batch']}")
    if data["paid_twice"]:
        problems.append(f"{data['paid_twice']} entitlements with two payments")
    if problems:
        raise SystemExit(f"{name}: " + "; ".join(problems))


def _disburse_check(ours, n):
    problems = []
    if ours["paid"] != n:
        problems.append(f"{ours['paid']}/{n} paid (states {ours.get('states')})")
    if ours["accounts_paid_once"] != n:
        problems.append(f"{ours['accounts_paid_once']}/{n} payees paid exactly once")
    if ours["accounts_paid_twice"]:
        problems.append(f"{ours['accounts_paid_twice']} payees paid twice")
    if ours.get("accounts_not_ours"):
        problems.append(f"{ours['accounts_not_ours']} deposits to unknown payees")
    if ours.get("gateway") == "daraja-b2c":
        if ours["receipts"] != n:
            problems.append(f"{ours['receipts']}/{n} payments with an M-Pesa receipt")
        if ours["callbacks_refused"]:
            problems.append(
                f"{ours['callbacks_refused']} callbacks refused: "
                + "; ".join(ours["callback_problems"])
            )
    if problems:
        raise SystemExit(f"disburse ({ours.get('gateway')}): " + "; ".join(problems))


def _retained(first, last, key, scale):
    span = max(last["paid"] - first["paid"], 1)
    return (last[key] - first[key]) * scale / span


def report_disburse(conf, n, args, ours, base):
    gateway = ours.get("gateway", "simple-mpesa")
    print()
    if gateway == "daraja-b2c":
        print(
            f"disburse on {conf['base']} (daraja-b2c): {n} payments, at most "
            f"{args.per_run} per cron pass, {args.daraja_concurrency} requests in "
            f"flight, Daraja simulator in its own process "
            f"({args.daraja_latency_ms:.0f} ms latency); results applied between "
            f"passes through _daraja_receive_callback"
        )
    else:
        print(
            f"disburse on {conf['base']} (simple-mpesa): {n} payments, at most "
            f"{args.per_run} per cron pass, simulator in its own process "
            f"({args.simple_latency_ms:.0f} ms latency)"
        )
    _disburse_check(ours, n)
    trace = "traced_kib" in ours["marks"][0]
    print(
        f"{'paid':>8} {'passes':>6} {'seconds':>8} {'RSS MiB':>8} {'after gc':>8}"
        + (f" {'traced KiB':>11} {'after gc KiB':>12}" if trace else "")
    )
    for m in ours["marks"]:
        line = (
            f"{m['paid']:>8} {m['passes']:>6} {m['seconds']:>8.1f} "
            f"{m['rss_mib']:>8.0f} {m['rss_after_gc_mib']:>8.0f}"
        )
        if trace:
            line += f" {m['traced_kib']:>11.0f} {m['traced_after_gc_kib']:>12.0f}"
        print(line)
    first, last = ours["marks"][0], ours["marks"][-1]
    per = f"RSS after gc {_retained(first, last, 'rss_after_gc_mib', 1048576):+.0f}"
    if trace:
        per += f", traced {_retained(first, last, 'traced_kib', 1024):+.0f}"
        per += (
            f", traced after gc "
            f"{_retained(first, last, 'traced_after_gc_kib', 1024):+.0f}"
        )
    print(
        f"bytes retained per payment from {first['paid']} to {last['paid']} paid: "
        + per
    )
    for where, size, count in ours.get("top_growth") or ():
        print(f"  grew {size / 1024:+9.1f} KiB {count:+7d} blocks  {where}")
    if gateway == "daraja-b2c":
        stats = ours["sim_stats"]
        print(
            f"  time: cron passes {ours['cron_seconds']:.0f} s, applying "
            f"{ours['callbacks_applied']} result callbacks "
            f"{ours['after_pass_seconds']:.0f} s; simulator: {stats['requests']} "
            f"payment requests, {stats['duplicates']} duplicates, at most "
            f"{stats['peak_in_flight']} in flight, {stats['tokens_issued']} tokens"
        )
    print(
        f"ours: {ours['seconds']:.0f} s, {n / ours['seconds']:.0f} payments/s, "
        f"{ours['passes']} passes; peak RSS {ours['peak_mib']:.0f} MiB (registry "
        f"loaded: {ours['base_mib']:.0f} MiB); the simulator's own process: "
        f"{ours['sim_rss_mib']:.0f} MiB for its {ours['sim_deposits']} deposit records "
        f"(not ours); every payee paid exactly once"
        + (", every payment paid with its receipt" if gateway == "daraja-b2c" else ""),
        flush=True,
    )
    if base is None:
        return
    if "timeout" in base:
        print(
            "baseline (upstream style, one request): stopped after "
            f"{base['timeout']:.0f} s"
        )
        return
    print(
        f"baseline (upstream style, one request): {base['seconds']:.0f} s, "
        f"{n / base['seconds']:.0f} payments/s, peak RSS {base['peak_mib']:.0f} MiB "
        f"(+{base['peak_mib'] - base['base_mib']:.0f} MiB over the loaded registry)",
        flush=True,
    )


def print_summary(summary):
    print()
    print("summary (peak RSS per process, MiB):")
    for base, n, phase, data in summary:
        if phase == "prepare":
            chunked = data[-1][1]
            longest = max(t for w in chunked["workers"] for t in w["job_seconds"])
            peaks = "/".join(f"{w['peak_mib']:.0f}" for w in chunked["workers"])
            one = data[1][1]
            print(
                f"  {base:<8} {n:>7} prepare: chunked {chunked['seconds']:.0f} s wall, "
                f"longest job {longest:.1f} s, worker peaks {peaks}; one job "
                f"{one['seconds']:.0f} s, peak {one['peak_mib']:.0f}"
            )
        else:
            first, last = data["marks"][0], data["marks"][-1]
            parts = [
                f"RSS after gc "
                f"{_retained(first, last, 'rss_after_gc_mib', 1048576):+.0f}"
            ]
            if "traced_after_gc_kib" in last:
                parts.append(
                    f"traced after gc "
                    f"{_retained(first, last, 'traced_after_gc_kib', 1024):+.0f}"
                )
            print(
                f"  {base:<8} {n:>7} disburse {data.get('gateway', 'simple-mpesa')}: "
                f"{data['seconds']:.0f} s, {n / data['seconds']:.0f}/s, "
                f"{data['passes']} passes, peak {data['peak_mib']:.0f} (loaded "
                f"{data['base_mib']:.0f}), retained {', '.join(parts)} B/payment, "
                f"simulator {data['sim_rss_mib']:.0f} apart"
            )
    _print_ratios(summary)


def _print_ratios(summary):
    """Daraja against simple-mpesa where both ran on the same base and size."""
    runs = {
        (base, n, data.get("gateway", "simple-mpesa")): data
        for base, n, phase, data in summary
        if phase == "disburse"
    }
    for (base, n, gateway), daraja in runs.items():
        simple = runs.get((base, n, "simple-mpesa"))
        if gateway != "daraja-b2c" or simple is None:
            continue
        simple_rate = n / simple["seconds"]
        sending = n / daraja["cron_seconds"]
        whole = n / daraja["seconds"]
        print(
            f"  {base:<8} {n:>7} throughput through the cron: simple-mpesa "
            f"{simple_rate:.1f}/s; daraja-b2c sending {sending:.1f}/s "
            f"(x{sending / simple_rate:.1f}), with every result applied in the "
            f"same process {whole:.1f}/s (x{whole / simple_rate:.1f})"
        )
