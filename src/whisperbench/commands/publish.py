"""``whisperbench publish --repo ORG/NAME``: this machine's saved runs into a Hugging Face
dataset repository shared by many machines (``fleet.hub``)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from whisperbench.commands import _options

LABEL_ENV = "WHISPERBENCH_MACHINE_LABEL"


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "publish",
        description=(
            "Upload each saved run of --storage that the dataset repo does not hold yet, one "
            "commit per run, to runs/MACHINE/RUN.DIGEST.json (MACHINE: --machine-label, else "
            "what the machine is, never its hostname; DIGEST: of the run's content, so no two "
            "machines write the same path and a run already there is never uploaded again nor "
            "rewritten). Creates the dataset repo when it does not exist. Needs the Hub and a "
            "token with write access (HF_TOKEN or `hf auth login`). Read the runs back with "
            "`whisperbench report --storage hf://datasets/ORG/NAME`."
        ),
    )
    parser.add_argument(
        "--repo",
        required=True,
        metavar="ORG/NAME",
        help="the dataset repo (created when missing)",
    )
    _options.add_storage(parser)
    parser.add_argument(
        "--machine-label",
        default=os.environ.get(LABEL_ENV) or None,
        metavar="LABEL",
        help=(
            "the team's name for this machine (letters, digits, '.', '_', '-'): the folder its "
            "runs take and the name the fleet report gives it (default: what the machine is; "
            f"${LABEL_ENV} sets it too)"
        ),
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from whisperbench.fleet import hub

    done = hub.publish(
        args.storage,
        args.repo,
        label=args.machine_label,
        progress=print,
        warn=lambda line: print(f"warning: {line}", file=sys.stderr),
    )
    for line in hub.published_lines(done, args.repo):
        print(line)
    return 0
