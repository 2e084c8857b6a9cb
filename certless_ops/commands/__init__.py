"""Subcommands of ``certless-ops`` (``./dev <command>`` in the repository).

Each module here is one subcommand named after the module (underscores become dashes). It exposes
``HELP: str``, ``add_arguments(parser: argparse.ArgumentParser) -> None`` and
``run(args: argparse.Namespace) -> int``. Modules are imported only when their subcommand runs, so that
``plan`` does not pay for the policy engine and ``review`` does not pay for the emulator.
"""
