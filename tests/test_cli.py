"""The command line's shape: python -m bpkit with subcommands, main(argv) -> exit code."""

import subprocess
import sys
from pathlib import Path

import pytest

from bpkit import __version__
from bpkit.__main__ import build_parser, main

ROOT = Path(__file__).resolve().parents[1]


def test_help_lists_the_three_commands():
    result = subprocess.run(
        [sys.executable, "-m", "bpkit", "--help"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    for command in ("make-exercises", "grade", "doctor"):
        assert command in result.stdout


@pytest.mark.parametrize(
    "command, options",
    [
        ("make-exercises", ["--check", "--solutions", "--exercises", "--prune"]),
        (
            "grade",
            ["PATH", "--timeout", "--total-timeout", "--solutions", "--as-submitted", "--jobs"],
        ),
        ("doctor", []),
    ],
)
def test_each_command_has_help(command, options, capsys):
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    for option in options:
        assert option in out


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "make-exercises" in capsys.readouterr().out


def test_unknown_command_or_option_is_a_usage_error(capsys):
    assert main(["frobnicate"]) == 2
    assert main(["make-exercises", "--nope"]) == 2
    assert main(["grade"]) == 2  # PATH is required
    assert "usage:" in capsys.readouterr().err


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"bpkit {__version__}"


def test_grade_defaults():
    args = build_parser().parse_args(["grade", "a.ipynb"])
    assert (args.timeout, args.total_timeout) == (60.0, 600.0)
    assert (args.solutions, args.as_submitted, args.jobs) == (None, False, None)  # jobs: the cores
    assert build_parser().parse_args(["grade", "d", "-j", "3"]).jobs == 3


def test_jobs_must_be_a_positive_whole_number(capsys):
    assert main(["grade", "d", "-j", "0"]) == 2
    assert main(["grade", "d", "--jobs", "two"]) == 2
    err = capsys.readouterr().err
    assert "must be at least 1" in err and "expected a whole number" in err


def test_console_script_points_at_main():
    text = (ROOT / "pyproject.toml").read_text()
    assert 'bpkit = "bpkit.__main__:main"' in text
