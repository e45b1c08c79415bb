"""The ``raymlx`` command: ``fit``, ``predict``, ``leaderboard``, ``explain`` and ``serve``
(the tabular product), ``nas`` and ``cluster``; each product adds its own subcommands.

Errors a user can fix print one line (``raymlx: error: ...``) and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys

from raymlx.errors import FitError, InputError


def _parser() -> argparse.ArgumentParser:
    from raymlx.cluster import cli as cluster_cli
    from raymlx.nas import cli as nas_cli
    from raymlx.tabular import cli as tabular_cli

    p = argparse.ArgumentParser(prog="raymlx", description="Ray-native AutoML for tables.")
    sub = p.add_subparsers(dest="command", required=True)
    for product in (tabular_cli, nas_cli, cluster_cli):
        product.add_parser(sub)
    return p


def _run(args: argparse.Namespace) -> None:
    if args.command == "nas":
        from raymlx.nas.cli import run
    elif args.command == "cluster":
        from raymlx.cluster.cli import run
    else:
        from raymlx.tabular.cli import run
    run(args)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        _run(args)
    except (InputError, FitError) as exc:
        print(f"raymlx: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("raymlx: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
