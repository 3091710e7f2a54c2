"""Printing bench_cycle_odoo.py's results: one block per run, then the table."""

import os


def _job_counts(jobs):
    done = sum(1 for j in jobs if j["state"] == "done")
    failed = sum(1 for j in jobs if j["state"] == "failed")
    retried = sum(1 for j in jobs if (j["retry"] or 0) > 1)
    return done, failed, retried


def print_run(result, args):
    done, failed, retried = _job_counts(result["jobs"])
    rate = result["vouchers"] / result["seconds"] if result["seconds"] else 0
    print(
        f"run '{result['label']}': {result['outcome']} in {result['seconds']:.1f} s, "
        f"{result['vouchers']}/{result['count']} vouchers ({rate:.1f}/s), "
        f"click answered in {result['click_s'] or 0:.1f} s, machine load "
        f"{result['load'][0]:.1f} -> {result['load'][1]:.1f}"
        + (f" ({result['click_error']})" if result["click_error"] else ""),
        flush=True,
    )
    print(
        f"  jobs: {len(result['jobs'])} created, {done} done, {failed} failed, "
        f"{retried} retried by queue_job, {result['reruns']} re-run by another "
        "worker"
    )
    odoo_cpu, pg_cpu = result["cpu"]
    if result["vouchers"]:
        per = 1000.0 / result["vouchers"]
        print(
            f"  CPU: Odoo + wkhtmltopdf {odoo_cpu:.1f} s, PostgreSQL {pg_cpu:.1f} s"
            f" = {(odoo_cpu + pg_cpu) * per:.1f} ms per voucher; on "
            f"{os.cpu_count()} idle cores that is at most "
            f"{idle_rate(result):.0f} vouchers/s"
        )
    for pid, what in result["limits"]:
        print(f"  Odoo stopped worker {pid or '?'}: {what}")
    for role, pid, mib in result["memory"]:
        print(f"  peak RSS {role:<28} pid {pid:>7}: {mib:7.1f} MiB")
    for problem in result["problems"]:
        print(f"  SANITY: {problem}")


def idle_rate(result):
    """Vouchers/s the run's CPU use allows on this machine's cores, idle."""
    cpu = sum(result["cpu"])
    return result["vouchers"] * os.cpu_count() / cpu if cpu else 0.0


def _worker_peaks(result):
    return [mib for role, _pid, mib in result["memory"] if role == "WorkerHTTP"]


def print_table(results, args):
    print()
    print(
        f"{args.base} base, {args.workers} workers, limit_time_real "
        f"{args.limit_time_real} s, limit_time_cpu {args.limit_time_cpu} s, "
        f"memory soft/hard {args.limit_memory_soft_mib}/"
        f"{args.limit_memory_hard_mib} MiB, runner root:{args.channels}"
    )
    print(
        f"{'variant':<24} {'N':>7} {'chunk':>6} {'outcome':<24} {'s':>7} "
        f"{'vouch/s':>7} {'click s':>7} {'jobs ok/fail/retry':>18}  "
        f"{'peak RSS per worker MiB':<24} {'wkhtml':>6} {'DB +MiB':>7} "
        f"{'files +MiB':>10} {'CPU ms/v':>8} {'idle/s':>6}"
    )
    for r in results:
        done, failed, retried = _job_counts(r["jobs"])
        jobs = f"{done}/{failed}/{retried + r['reruns']}"
        peaks = " ".join(f"{mib:.0f}" for mib in _worker_peaks(r)) or "-"
        helper = max(
            (mib for role, _pid, mib in r["memory"] if "largest" in role), default=0
        )
        rate = r["vouchers"] / r["seconds"] if r["seconds"] else 0
        print(
            f"{r['label']:<24} {r['count']:>7} {r['chunk'] or '-':>6} "
            f"{r['outcome'][:24]:<24} {r['seconds']:>7.1f} {rate:>7.1f} "
            f"{r['click_s'] or 0:>7.1f} {jobs:>18}  {peaks[:24]:<24} "
            f"{helper:>6.0f} {r['db_growth'] / 2**20:>7.1f} "
            f"{r['store_growth'] / 2**20:>10.1f} "
            f"{sum(r['cpu']) * 1000 / max(r['vouchers'], 1):>8.1f} "
            f"{idle_rate(r):>6.0f}"
        )
    print(
        "worker peak = VmHWM of each HTTP worker process seen during the run "
        "(recycled ones included); wkhtml = largest wkhtmltopdf process; "
        "retry = retried by queue_job + re-run by another worker; CPU ms/v = "
        "CPU of the Odoo server (workers, job runner, wkhtmltopdf) and of "
        "PostgreSQL (less this script's progress polls) per voucher; idle/s = "
        "the rate that CPU use allows on this machine's cores when nothing "
        "else runs"
    )


def print_above_baseline(results, args):
    """What happens to the one-job shape above the size it survives."""
    base = next((r for r in results if r["label"] == "baseline (one job)"), None)
    probe = next((r for r in results if r["label"].startswith("one job, probe")), None)
    if base and base["outcome"] == "done" and base["seconds"]:
        rate = base["vouchers"] / base["seconds"]
        print(
            f"one job for a whole cycle ran at {rate:.1f} vouchers/s: within "
            f"limit_time_real {args.limit_time_real} s it can make about "
            f"{rate * args.limit_time_real:,.0f} vouchers (estimate from this run; "
            f"limit_time_cpu {args.limit_time_cpu} s of Python may stop it first)"
        )
    if probe:
        killed = ", ".join(sorted({what for _pid, what in probe["limits"]})) or "none"
        print(
            f"one job on {probe['count']} payments: {probe['outcome']} after "
            f"{probe['seconds']:.0f} s with {probe['vouchers']} vouchers; Odoo "
            f"stopped workers for: {killed}"
        )
