"""`toolchain: uv` in Pulumi.yaml: the CLI looks `uv` up on PATH; every documented route puts it there."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _steps_before_first_pulumi_command(job: dict) -> list[str]:
    runs: list[str] = []
    for step in job["steps"]:
        run = step.get("run", "")
        if "pulumi " in run and "certless-ops" not in run:
            return runs
        runs.append(run)
    return []


def test_project_declares_the_uv_toolchain() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["runtime"]["options"]["toolchain"] == "uv"


def test_every_workflow_job_running_pulumi_puts_uv_on_path_first() -> None:
    workflow = yaml.safe_load((ROOT / ".github/workflows/infrastructure.yml").read_text())
    pulumi_jobs = {
        name: job
        for name, job in workflow["jobs"].items()
        if any("pulumi " in s.get("run", "") and "certless-ops" not in s.get("run", "") for s in job["steps"])
    }
    assert pulumi_jobs, "the workflow runs pulumi preview/up"
    for name, job in pulumi_jobs.items():
        before = "\n".join(_steps_before_first_pulumi_command(job))
        assert '.tools/bin" >> "$GITHUB_PATH"' in before, f"job {name} runs pulumi without uv on PATH"


def test_readme_deploy_steps_put_uv_on_path() -> None:
    readme = (ROOT / "README.md").read_text()
    deploy = readme.split("## Deploying for real with the Pulumi CLI", 1)[1].split("\n## ", 1)[0]
    assert 'export PATH="$PWD/.tools/bin:$PATH"' in deploy
    assert deploy.index("export PATH") < deploy.index("pulumi preview")


def test_every_job_running_pulumi_installs_kubelogin_when_the_stack_needs_it() -> None:
    workflow = yaml.safe_load((ROOT / ".github/workflows/infrastructure.yml").read_text())
    checked = 0
    for name, job in workflow["jobs"].items():
        steps = job["steps"]
        pulumi_at = next(
            (
                i
                for i, s in enumerate(steps)
                if "pulumi " in s.get("run", "") and "certless-ops" not in s.get("run", "")
            ),
            None,
        )
        if pulumi_at is None:
            continue
        checked += 1
        probe = next(i for i, s in enumerate(steps) if "certless-ops needs-kubelogin" in s.get("run", ""))
        install = next(
            i for i, s in enumerate(steps) if str(s.get("uses", "")).startswith("azure/use-kubelogin@")
        )
        assert probe < install < pulumi_at, f"job {name}: kubelogin must be installed before pulumi runs"
        assert steps[install]["if"] == f"steps.{steps[probe]['id']}.outputs.needed == 'true'"
    assert checked == 2  # preview and deploy


def test_needs_kubelogin_names_the_stacks_whose_aks_workloads_exec_kubelogin(tmp_path: Path) -> None:
    from certless_ops.commands.needs_kubelogin import workloads_needing_kubelogin

    assert workloads_needing_kubelogin("prod") == {"orders-worker": "azurecli"}
    assert workloads_needing_kubelogin("dev") == {}
    for mode, needed in [("user", False), ("admin", False), ("spn", True), ("msi", True)]:
        doc = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
        doc["config"]["certless:workloads"]["orders-worker"]["aks"]["credentials"] = mode
        (tmp_path / "Pulumi.prod.yaml").write_text(yaml.safe_dump(doc))
        assert bool(workloads_needing_kubelogin("prod", tmp_path / "Pulumi.prod.yaml")) is needed, mode


def test_kubelogin_workloadidentity_finds_its_client_and_tenant_in_every_pulumi_job() -> None:
    # kubelogin v0.2.x, `get-token --login workloadidentity`: the client ID and tenant come from
    # AZURE_CLIENT_ID / AZURE_TENANT_ID (pkg/internal/token/options.go, UpdateFromEnv); with the runner's
    # ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN set (id-token: write) it uses GitHub's OIDC token directly
    # (provider.go), and an empty client or tenant is refused there.
    workflow = yaml.safe_load((ROOT / ".github/workflows/infrastructure.yml").read_text())
    checked = 0
    for name, job in workflow["jobs"].items():
        for step in job["steps"]:
            if "pulumi " not in step.get("run", "") or "certless-ops" in step.get("run", ""):
                continue
            checked += 1
            env = {**workflow.get("env", {}), **job.get("env", {}), **step.get("env", {})}
            assert env.get("AZURE_CLIENT_ID") == "${{ vars.AZURE_CLIENT_ID }}", f"job {name}: {step['name']}"
            assert env.get("AZURE_TENANT_ID") == "${{ vars.AZURE_TENANT_ID }}", f"job {name}: {step['name']}"
            # The same deployer the providers sign in as.
            assert (
                env["AZURE_CLIENT_ID"] == env["ARM_CLIENT_ID"]
                and env["AZURE_TENANT_ID"] == env["ARM_TENANT_ID"]
            )
            assert job["permissions"]["id-token"] == "write"
            # A token file would be the AKS-pod path, which kubelogin skips in GitHub Actions.
            assert "AZURE_FEDERATED_TOKEN_FILE" not in env
    assert checked >= 4  # preview and up, plus the backend logins
