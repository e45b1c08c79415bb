"""The resource manager's report as text: one row per node, then the totals."""

from __future__ import annotations

from typing import Any


def _gib(value: float | None) -> str:
    return "-" if not value else f"{value / 2**30:.1f}"


def format_report(report: dict[str, Any]) -> str:
    """A table of the nodes and what raymlx runs on them (``raymlx cluster status``)."""
    lines = []
    if report.get("fit"):
        left = report.get("time_left_s")
        lines.append(f"fit {report['fit']}: {report['elapsed_s']:.0f} s elapsed"
                     + (f", {left:.0f} s left" if left is not None else "")
                     + f"; trials running {report['trials_running']}"
                     + (f" ({report['workers_running']} workers)"
                        if report.get("workers_running", 0) > report["trials_running"] else "")
                     + f", finished "
                       f"{report['trials_finished']}, retried {report['retries']}, memory "
                       f"overruns {len(report.get('memory_overruns', {}))}")
    parallel = (report.get("plan") or {}).get("data_parallel")
    if parallel:
        lines.append(data_parallel_line(parallel))
    header = (f"{'node':<10} {'address':<15} {'state':<6} {'CPU used/total':>14} "
              f"{'GPU used/total':>14} {'mem GiB used/total':>18}  running")
    lines.append(header)
    for row in report["nodes"]:
        state = ("head" if row.get("head") else "alive") if row["alive"] else "LOST"
        # a fit's row: what its trials hold; a bare node row: what Ray has handed out
        cpu_used = row.get("cpus_in_use", row["cpus"] - row.get("free_cpus", row["cpus"]))
        gpu_used = row.get("gpus_in_use", row["gpus"] - row.get("free_gpus", row["gpus"]))
        running = ", ".join(row.get("running", [])) or "-"
        lines.append(f"{row['node_id'][:8]:<10} {row['address']:<15} {state:<6} "
                     f"{cpu_used:>6g}/{row['cpus']:<7g} {gpu_used:>6g}/{row['gpus']:<7g} "
                     f"{_gib(row.get('memory_used')):>8}/{_gib(row.get('memory_total')):<9} "
                     f"{running}")
    return "\n".join(lines)


def data_parallel_line(plan: dict[str, Any]) -> str:
    """The large-data path's plan: workers per trial, trials at once, memory per worker."""
    gpu = " + 1 GPU" if plan.get("use_gpu") else ""
    memory = plan.get("memory_per_worker")
    return (f"large-data path: {plan['num_workers']} workers x {plan['cpus_per_worker']:g} "
            f"CPU{gpu} per trial, {plan['concurrent_trials']} trial(s) at once"
            + (f", {memory / 2**30:.2f} GiB memory per worker" if memory else ""))


def utilisation_line(summary: dict[str, Any]) -> str:
    """One line for the fit's last log message: CPU utilisation per node, retries."""
    parts = []
    for row in summary.get("nodes", []):
        util = row.get("cpu_utilisation")
        if util is not None:
            parts.append(f"{row['node_id'][:6]} {100 * util:.0f}%")
    text = "CPU busy " + ", ".join(parts) if parts else "no node report"
    if summary.get("retries"):
        text += f"; {summary['retries']} trial(s) retried"
    if summary.get("lost_nodes"):
        text += f"; {len(summary['lost_nodes'])} node(s) lost"
    return text
