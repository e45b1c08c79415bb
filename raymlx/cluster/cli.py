"""``raymlx cluster status | template | token``: the live report, deploy templates, tokens."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cluster", help="cluster report, deploy templates, auth tokens")
    csub = p.add_subparsers(dest="cluster_command", required=True)
    st = csub.add_parser("status", help="nodes, and what each running fit uses on them")
    st.add_argument("--address", default=None,
                    help="Ray cluster address (default RAY_ADDRESS or a local `ray start`)")
    st.add_argument("--fit", default=None, help="only this fit (its folder's name)")
    st.add_argument("--json", action="store_true", help="print the report as JSON")
    tp = csub.add_parser("template", help="print a deploy template")
    from raymlx.cluster.templates import TEMPLATES

    tp.add_argument("name", help="; ".join(f"{k}: {v}" for k, v in TEMPLATES.items()))
    tp.add_argument("--output", default=None, help="write it to this file instead")
    tk = csub.add_parser("token", help="write a Ray auth token file readable by you only")
    tk.add_argument("--file", default="~/.raymlx/ray_token", help="where (default %(default)s)")
    tk.add_argument("--force", action="store_true", help="replace an existing token")


def run(args: argparse.Namespace) -> None:
    {"status": _status, "template": _template, "token": _token}[args.cluster_command](args)


def _status(args) -> None:
    import ray

    from raymlx._internal.ray_session import ensure_ray
    from raymlx.cluster.inventory import read_nodes
    from raymlx.cluster.manager import get_manager, running_managers
    from raymlx.cluster.report import format_report
    from raymlx.errors import InputError

    ensure_ray(args.address, start_local=False)
    fits = running_managers()
    if args.fit is not None:
        if args.fit not in fits:
            raise InputError(f"no running fit called {args.fit!r}; running: "
                             f"{', '.join(fits) or 'none'}")
        fits = [args.fit]
    reports = []
    for fit in fits:
        try:
            reports.append(ray.get(get_manager(fit).report.remote(), timeout=30))
        except (ValueError, ray.exceptions.RayError):  # the fit ended meanwhile
            continue
    fits = [r["fit"] for r in reports]
    if not reports:  # no fit running: the nodes as Ray sees them
        reports = [{"fit": None, "nodes": [
            {**n.to_dict(), "head": n.is_head, "running": []} for n in read_nodes()]}]
    if args.json:
        print(json.dumps(reports if len(reports) > 1 else reports[0], indent=1, default=str))
        return
    if not fits:
        print("no raymlx fit is running on this cluster")
    print("\n\n".join(format_report(r) for r in reports))


def _template(args) -> None:
    from raymlx.cluster.templates import template_text

    text = template_text(args.name)
    if args.output:
        Path(args.output).expanduser().write_text(text)
        print(f"wrote {args.name} to {args.output}")
    else:
        print(text, end="")


def _token(args) -> None:
    from raymlx.cluster.auth import write_token_file

    path, created = write_token_file(args.file, force=args.force)
    print(f"{'wrote a new' if created else 'kept the existing'} token in {path} (mode 600)")
    print(f"use it with: export RAY_AUTH_MODE=token RAY_AUTH_TOKEN_PATH={path}")
