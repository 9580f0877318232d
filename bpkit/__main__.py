"""The bpkit command line: ``python -m bpkit <command>`` (or ``bpkit <command>``).

    make-exercises   regenerate exercises/ from solutions/ (--check: only compare)
    grade PATH       grade a student notebook (or a folder) against the instructor's
    doctor           check the environment: versions, Jupyter kernel, widgets, bpkit itself

Exit codes: 0 success, 1 the check failed (stale exercises, an exercise not
passed, a problem found), 2 a usage error (missing or unreadable file).
Each command imports what it needs when it runs, so ``--help`` is instant.
"""

import argparse
import sys
from pathlib import Path

__all__ = ["main"]


def _make_exercises(args):
    from bpkit.exercises import make_exercises

    root = Path.cwd()
    solutions = Path(args.solutions) if args.solutions else root / "solutions"
    exercises = Path(args.exercises) if args.exercises else root / "exercises"
    if not solutions.is_dir():
        print(
            f"bpkit make-exercises: error: no solutions folder at {solutions} "
            "(run from the project root, or pass --solutions DIR)",
            file=sys.stderr,
        )
        return 2
    report = make_exercises(solutions, exercises, check=args.check, prune=args.prune)
    for message in report.errors:
        print(f"error: {message}", file=sys.stderr)
    shown = exercises if not exercises.is_relative_to(root) else exercises.relative_to(root)
    for name in report.written:
        print(f"wrote      {shown / name}")
    for name in report.removed:
        print(f"removed    {shown / name}")
    for name in report.stale:
        print(f"stale      {shown / name} differs from {name} in solutions")
    for name in report.missing:
        print(f"missing    {shown / name} (not generated yet)")
    for name in report.extra:
        print(
            f"extra      {shown / name} has no solution notebook (delete it, or run with --prune)"
        )
    total = len(report.written) + len(report.unchanged) + len(report.stale) + len(report.missing)
    if report.ok:
        verb = "up to date" if args.check or not report.written else "generated"
        print(f"{total} exercise notebook(s) {verb} in {shown}")
        return 0
    if args.check and (report.stale or report.missing or report.extra):
        print("exercises are out of date: run `python -m bpkit make-exercises`", file=sys.stderr)
    return 1


def _grade(args):
    from bpkit.grading import GradingError, grade_path

    try:
        return grade_path(
            args.path,
            timeout=args.timeout,
            total_timeout=args.total_timeout,
            csv_path=args.csv,
            solutions=args.solutions,
            as_submitted=args.as_submitted,
            jobs=args.jobs,
        )
    except GradingError as exc:
        print(f"bpkit grade: error: {exc}", file=sys.stderr)
        return 2


def _doctor(args):
    from bpkit.doctor import run_doctor

    return run_doctor()


def _positive_seconds(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
    return value


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value


def build_parser():
    """The argparse parser with one sub-parser per command."""
    from bpkit import __version__

    parser = argparse.ArgumentParser(
        prog="bpkit",
        description="bpkit: backpropagation, learned by building it. Course tools.",
    )
    parser.add_argument("--version", action="version", version=f"bpkit {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    make = commands.add_parser(
        "make-exercises",
        help="generate the student notebooks in exercises/ from solutions/",
        description="Generate exercises/NN_name.ipynb from every solutions/NN_name.ipynb: answers "
        "replaced by `raise NotImplementedError()`, hidden tests removed, outputs cleared. "
        "See bpkit/exercises.py for the notebook conventions.",
    )
    make.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 and list the notebooks that are stale, missing or extra",
    )
    make.add_argument(
        "--solutions", metavar="DIR", help="solution notebooks (default: ./solutions)"
    )
    make.add_argument("--exercises", metavar="DIR", help="student notebooks (default: ./exercises)")
    make.add_argument(
        "--prune",
        action="store_true",
        help="delete exercise notebooks whose solution notebook is gone",
    )
    make.set_defaults(run=_make_exercises)

    grade = commands.add_parser(
        "grade",
        help="grade a student notebook against the instructor's and report each exercise",
        description="Grade PATH (a .ipynb, or a folder of them): the instructor's notebook from "
        "the solutions folder (same file name, or a name ending in '-' plus it) runs in a fresh "
        "python3 kernel with only the student's answer cells put in, so checks, hidden tests and "
        "points are the instructor's; changes a submission makes to bpkit, numpy or the kernel are "
        "undone before each check, and a submission that writes into the bpkit package gets no "
        "points. Prints points, status and diagnosis per exercise; a folder's results also go to "
        "a CSV (one row per exercise). Exit 0 only if every exercise passed. See bpkit/grading.py.",
    )
    grade.add_argument("path", metavar="PATH", help="a notebook, or a folder of notebooks")
    grade.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=60.0,
        metavar="SECONDS",
        help="time limit per cell (default: 60)",
    )
    grade.add_argument(
        "--total-timeout",
        type=_positive_seconds,
        default=600.0,
        metavar="SECONDS",
        help="time limit per notebook (default: 600)",
    )
    grade.add_argument(
        "--csv",
        metavar="FILE",
        help="write one row per exercise to FILE (default for a folder: PATH/grades.csv)",
    )
    grade.add_argument(
        "--solutions",
        metavar="DIR",
        help="the instructor's notebooks: a folder, or one notebook for every submission "
        "(default: ./solutions, else the solutions/ of the checkout bpkit is installed from)",
    )
    grade.add_argument(
        "--as-submitted",
        action="store_true",
        help="run the notebook as it stands, its own checks included (a self-check without the "
        "instructor's copy; NOT tamper-proof)",
    )
    grade.add_argument(
        "-j",
        "--jobs",
        type=_positive_int,
        default=None,
        metavar="N",
        help="grade N notebooks of a folder at a time, each in its own process "
        "(default: the number of cores); the CSV is the same whatever N is",
    )
    grade.set_defaults(run=_grade)

    doctor = commands.add_parser(
        "doctor",
        help="check the environment: versions, Jupyter kernel, widgets, bpkit itself",
        description="Check what the course needs; exit 1 if anything is missing or broken.",
    )
    doctor.set_defaults(run=_doctor)
    return parser


def main(argv=None):
    """Run the command line with ``argv`` (default: sys.argv[1:]); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors: argparse has printed already
        return exc.code if isinstance(exc.code, int) else 2
    if args.command is None:
        parser.print_help()
        return 2
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
