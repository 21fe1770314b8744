"""The service files in config/ run the real command and carry no secret."""

from __future__ import annotations

import re
from pathlib import Path

from bots.matrix.config import PASSWORD_ENV, TOKEN_ENV

ROOT = Path(__file__).resolve().parent.parent
UNIT = (ROOT / "config" / "twinome.service").read_text("utf-8")
CONTAINER = (ROOT / "config" / "Containerfile").read_text("utf-8")


def settings(text: str) -> list[str]:
    """The lines that are not comments."""
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_the_unit_runs_the_bot_with_secrets_from_an_environment_file() -> None:
    lines = settings(UNIT)
    assert "ExecStart=/opt/twinome/bin/twinome matrix --config /etc/twinome/twinome.toml" in lines
    assert "EnvironmentFile=/etc/twinome/secrets.env" in lines
    assert "RestartPreventExitStatus=2" in lines and "User=twinome" in lines


def test_the_container_runs_the_bot_as_a_user_without_a_baked_secret() -> None:
    lines = settings(CONTAINER)
    assert 'CMD ["matrix", "--config", "/data/twinome.toml"]' in lines
    assert "USER twinome" in lines and 'ENTRYPOINT ["twinome"]' in lines


def test_no_secret_is_written_in_either_file() -> None:
    for text in (UNIT, CONTAINER):
        for name in (PASSWORD_ENV, TOKEN_ENV, "TWINOME_DISCORD_TOKEN"):
            assert not [line for line in settings(text) if name in line]
        assert not re.search(r"^(Environment|ENV|ARG)\b.*(PASSWORD|TOKEN)", text, re.MULTILINE)


def test_the_readme_says_how_to_deploy_and_make_the_account() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    assert "### Run it as a service" in readme and "register_new_matrix_user" in readme
    assert "config/twinome.service" in readme and "config/Containerfile" in readme
