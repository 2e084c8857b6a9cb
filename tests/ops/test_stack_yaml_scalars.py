"""Plain YAML scalars reach the program as the Pulumi CLI reads them: yaml.v3 (YAML 1.2), not YAML 1.1.

The CLI decodes stack and project files with gopkg.in/yaml.v3 and hands each value to the program as
text, numbers and booleans as Go's JSON writes them (sdk/go/common/resource/config/object.go). PyYAML's
YAML 1.1 rules differ: `yes`/`on` are booleans there, `1e3` is text, `1:20` is 80.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from certless_ops.errors import UserError
from certless_ops.plan.config import load_stack_config


def _project(tmp: Path, stack_body: str, project_config: str = "") -> Path:
    (tmp / "Pulumi.yaml").write_text(
        f"name: demo\nruntime: python\nconfig:\n  k: {{default: x}}\n{project_config}"
    )
    (tmp / "Pulumi.s.yaml").write_text("config:\n" + stack_body)
    (tmp / "__main__.py").write_text("import pulumi\n")
    return tmp


@pytest.mark.parametrize(
    ("written", "program_sees"),
    [
        # YAML 1.1 booleans are text in YAML 1.2.
        ("yes", "yes"),
        ("No", "No"),
        ("on", "on"),
        ("off", "off"),
        ("y", "y"),
        ("True", "true"),
        ("FALSE", "false"),
        # Numbers as Go writes them.
        ("1.0", "1"),
        ("1.50", "1.5"),
        ("1e3", "1000"),
        ("1.0e+3", "1000"),
        ("0.00001", "0.00001"),
        ("1e21", "1e+21"),
        ("1.5e-7", "1.5e-7"),
        (".5", "0.5"),
        ("0x1F", "31"),
        ("0o17", "15"),
        ("017", "15"),
        ("08", "8"),
        ("0b101", "5"),
        ("1_000", "1000"),
        ("+7", "7"),
        ("-0", "0"),
        # Text that YAML 1.1 would read as a number or a date stays text.
        ("1:20", "1:20"),
        ("2020-01-01", "2020-01-01"),
        ("1.2.3", "1.2.3"),
        # Null (and nothing at all) is an empty value.
        ("~", ""),
        ("null", ""),
        ("", ""),
        ("'yes'", "yes"),
    ],
)
def test_a_plain_scalar_reaches_the_program_as_the_cli_reads_it(
    tmp_path: Path, written: str, program_sees: str
) -> None:
    cfg = load_stack_config(_project(tmp_path, f"  demo:k: {written}\n"), "s")
    assert cfg.wire["demo:k"] == program_sees


def test_structured_values_reach_the_program_as_go_writes_json(tmp_path: Path) -> None:
    body = "  demo:k:\n    zeta: 1.0\n    alpha: [on, 2.50, 1e3, True]\n"
    cfg = load_stack_config(_project(tmp_path, body), "s")
    assert cfg.wire["demo:k"] == '{"alpha":["on",2.5,1000,true],"zeta":1}'
    assert json.loads(cfg.wire["demo:k"])["zeta"] == 1 and isinstance(
        json.loads(cfg.wire["demo:k"])["zeta"], int
    )


def test_a_boolean_key_refuses_yes_as_the_cli_does(tmp_path: Path) -> None:
    with pytest.raises(UserError) as err:
        load_stack_config(_project(tmp_path, "  demo:b: yes\n", "  b: {type: boolean}\n"), "s")
    assert str(err.value) == "Stack 's' with configuration key 'b' must be of type 'boolean'"


@pytest.mark.parametrize("written", [".inf", "-.Inf", ".nan"])
def test_a_value_json_cannot_hold_is_refused_naming_the_key(tmp_path: Path, written: str) -> None:
    with pytest.raises(UserError) as err:
        load_stack_config(_project(tmp_path, f"  demo:k: {written}\n"), "s")
    message = str(err.value)
    assert "'demo:k'" in message and "\n" not in message


@pytest.mark.parametrize("key", ["1", "true", "null", "1.5"])
def test_a_mapping_key_yaml_reads_as_no_text_is_refused(tmp_path: Path, key: str) -> None:
    # The CLI keeps only text keys (workspace.SimplifyMarshalledValue: "expected only string keys").
    with pytest.raises(UserError) as err:
        load_stack_config(_project(tmp_path, f"  demo:k:\n    {key}: a\n"), "s")
    message = str(err.value)
    assert "text" in message and "at line 3" in message and "\n" not in message


def test_quoted_keys_that_look_like_numbers_are_text(tmp_path: Path) -> None:
    cfg = load_stack_config(_project(tmp_path, "  demo:k:\n    '1': a\n    yes: b\n"), "s")
    assert cfg.values["demo:k"] == {"1": "a", "yes": "b"}


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ("  demo:k:\n    web:\n      port: .nan\n", "'demo:k.web.port'"),
        ("  demo:k:\n    ports: [1, -.inf]\n", "'demo:k.ports[1]'"),
    ],
)
def test_a_nested_value_json_cannot_hold_names_its_own_path(tmp_path: Path, body: str, names: str) -> None:
    # The value is deep inside an object: the error names where, not the whole object it sits in.
    with pytest.raises(UserError) as err:
        load_stack_config(_project(tmp_path, body), "s")
    message = str(err.value)
    assert names in message and "\n" not in message
    assert "{" not in message  # the enclosing object is not echoed
