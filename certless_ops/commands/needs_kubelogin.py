"""Print whether a stack's deployment runs kubelogin (true/false): an AKS workload in a kubelogin mode."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from certless_ops.cli import add_json_option, human_stream, write_json
from certless_ops.errors import UserError

HELP = (
    "Print 'true' when `pulumi preview`/`up` of the stack will exec kubelogin (an AKS workload with "
    "aks.credentials azurecli, workloadidentity, msi or spn), else 'false'; the workflow installs "
    "kubelogin only then. Reads the stack configuration only: no plan, no cloud."
)

REPO = Path(__file__).resolve().parents[2]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", metavar="NAME", required=True, help="reads Pulumi.NAME.yaml")
    parser.add_argument("--config-file", metavar="PATH", type=Path, help="instead of Pulumi.NAME.yaml")
    add_json_option(parser, "the answer and the workloads that need kubelogin")


def workloads_needing_kubelogin(stack: str, config_file: Path | None = None) -> dict[str, str]:
    """Workload name -> its kubelogin mode, for the AKS workloads whose kubeconfig execs kubelogin."""
    from certless_ops.plan.config import load_stack_config
    from stackconfig import ConfigError, load
    from stackconfig.aks_credentials import needs_kubelogin

    cfg = load_stack_config(REPO, stack, config_file)
    try:
        config = load(cfg.wire, cfg.secret_keys, cfg.stack)
    except ConfigError as err:
        raise UserError(str(err)) from None
    return {
        name: w.aks.credentials
        for name, w in sorted(config.workloads.items())
        if w.aks is not None and needs_kubelogin(w.aks.credentials)
    }


def run(args: argparse.Namespace) -> int:
    found = workloads_needing_kubelogin(args.stack, args.config_file)
    for name, mode in found.items():
        print(f"{name}: aks.credentials {mode} runs kubelogin", file=sys.stderr)
    if args.json is not None:
        write_json({"stack": args.stack, "needsKubelogin": bool(found), "workloads": found}, args.json)
    if args.json != "-":
        print("true" if found else "false", file=human_stream(args))
    return 0
