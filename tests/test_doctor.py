"""doctor: one line per check, exit 0 here (the project venv has everything), 1 on any problem."""

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

import bpkit
from bpkit import doctor


def run_doctor(cwd=None):
    """`python -m bpkit doctor` in a fresh interpreter, as a learner runs it."""
    return subprocess.run(
        [sys.executable, "-m", "bpkit", "doctor"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def test_doctor_passes_in_the_project_environment():
    result = run_doctor()
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    checks = lines[:-1]
    assert all(line[0] in "✓-" for line in checks), result.stdout
    text = result.stdout
    for name in (
        "python 3.",
        "bpkit ",
        "numpy ",
        "matplotlib ",
        "ipywidgets ",
        "jupyterlab ",
        "ipykernel ",
        "nbval ",
        "kernel python3",
        "widget extension",
        "matplotlib backend",
        "bpkit core",
    ):
        assert name in text, name
    assert metadata.version("numpy") in text


def _report():
    lines = []
    code = doctor.run_doctor(print_fn=lines.append)
    return code, "\n".join(lines)


def test_missing_required_package_is_a_problem_with_a_fix(monkeypatch):
    real = metadata.version

    def fake(dist):
        if dist == "ipywidgets":
            raise metadata.PackageNotFoundError(dist)
        return real(dist)

    monkeypatch.setattr(doctor.metadata, "version", fake)
    code, text = _report()
    assert code == 1
    assert "✗ ipywidgets not installed (need >= 8.1)\n    fix: pip install" in text
    assert "1 problem(s) found" in text


def test_old_package_is_a_problem(monkeypatch):
    real = metadata.version
    monkeypatch.setattr(
        doctor.metadata, "version", lambda dist: "1.26.4" if dist == "numpy" else real(dist)
    )
    check = doctor.check_package("numpy", "numpy", (2, 0), True)
    assert (
        check.mark == doctor.BAD
        and "1.26.4 is too old" in check.text
        and "numpy>=2.0" in check.hint
    )


def test_missing_optional_package_is_not_a_problem(monkeypatch):
    def fake(dist):
        raise metadata.PackageNotFoundError(dist)

    monkeypatch.setattr(doctor.metadata, "version", fake)
    assert doctor.check_package("nbval", "nbval", (0, 11), False).mark == doctor.OPTIONAL


def test_version_parsing():
    assert doctor._version_tuple("2.4.6") == (2, 4, 6)
    assert doctor._version_tuple("1.0rc1") == (1,)
    assert doctor._version_tuple("0.11.0") >= (0, 11)


class _Spec:
    def __init__(self, argv):
        self.argv = argv
        self.resource_dir = "/somewhere/kernels/python3"


@pytest.mark.parametrize(
    "argv0, mark",
    [
        ("python", doctor.OK),
        (sys.executable, doctor.OK),
        ("/opt/other-env/bin/python", doctor.BAD),
    ],
)
def test_kernel_must_run_this_python(monkeypatch, argv0, mark):
    from jupyter_client import kernelspec

    monkeypatch.setattr(
        kernelspec.KernelSpecManager,
        "get_kernel_spec",
        lambda self, name: _Spec([argv0, "-m", "ipykernel_launcher"]),
    )
    check = doctor.check_kernel()
    assert check.mark == mark, check
    if mark == doctor.BAD:
        assert "ipykernel install" in check.hint and "/opt/other-env" in check.text


def test_missing_kernel(monkeypatch):
    from jupyter_client import kernelspec

    def missing(self, name):
        raise kernelspec.NoSuchKernel(name)

    monkeypatch.setattr(kernelspec.KernelSpecManager, "get_kernel_spec", missing)
    check = doctor.check_kernel()
    assert check.mark == doctor.BAD and "no Jupyter kernel named python3" in check.text


def test_widget_extension_folder_must_exist(monkeypatch, tmp_path):
    import jupyter_core.paths

    assert doctor.check_widgets().mark == doctor.OK
    monkeypatch.setattr(jupyter_core.paths, "jupyter_path", lambda *parts: [str(tmp_path)])
    check = doctor.check_widgets()
    assert check.mark == doctor.BAD and "labextension" in check.text


def test_exported_agg_backend_is_flagged(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    check = doctor.check_matplotlib()
    assert check.mark == doctor.BAD and "unset MPLBACKEND" in check.hint


def test_broken_gradients_are_caught(monkeypatch):
    import bpkit
    from bpkit.gradcheck import GradcheckReport

    monkeypatch.setattr(
        bpkit, "gradcheck", lambda *a, **k: GradcheckReport(0.5, 0, (), 1.0, 2.0, 1e-6, False)
    )
    check = doctor.check_core()
    assert check.mark == doctor.BAD and "disagree with finite differences" in check.text


def test_core_check_passes_for_the_real_engine():
    check = doctor.check_core()
    assert check.mark == doctor.OK and "match finite differences" in check.text


# --- paths: relative to the project, else ~/..., absolute only as a last resort (issue 9) ---


def test_report_shows_no_absolute_paths_of_this_machine():
    """The report (and notebook 00's stored copy of it) must not publish this machine's layout."""
    result = run_doctor(cwd=Path(__file__).resolve().parents[1] / "notebooks")  # as in notebook 00
    text = result.stdout
    root = Path(__file__).resolve().parents[1]
    assert f"{root}/" not in text and f"({root})" not in text, text
    home = Path.home()
    if home != home.parent:
        assert f"{home}/" not in text, text
    if Path(sys.executable).absolute().is_relative_to(root):
        python = Path(sys.executable).absolute().relative_to(root).as_posix()
        assert f"python 3.{sys.version_info[1]}.{sys.version_info[2]} ({python})" in text, text
    if (root / "bpkit" / "__init__.py").samefile(bpkit.__file__):  # the editable install
        assert f"✓ bpkit {bpkit.__version__} (bpkit/)" in text, text


def test_project_root_is_this_clone():
    assert doctor.project_root() == Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "path, shown",
    [
        ("/proj/.venv/bin/python", ".venv/bin/python"),  # inside the project: relative to it
        ("/proj", "."),
        ("/proj/notebooks/../bpkit", "bpkit"),  # ".." folded before comparing
        ("/home/ada/.local/share/jupyter/kernels", "~/.local/share/jupyter/kernels"),
        ("/home/ada", "~"),
        ("/opt/conda/bin/python", "/opt/conda/bin/python"),  # neither: in full, the last resort
        ("python", "python"),  # a bare command name is not a place
    ],
)
def test_display_path(path, shown):
    assert doctor.display_path(path, root=Path("/proj"), home=Path("/home/ada")) == shown


def test_project_beats_home_and_commands_skip_the_project_form():
    root, home = Path("/home/ada/bpkit"), Path("/home/ada")
    assert doctor.display_path("/home/ada/bpkit/.venv/bin/python", root, home) == ".venv/bin/python"
    assert (
        doctor.display_path("/home/ada/bpkit/.venv/bin/python", root, home, project=False)
        == "~/bpkit/.venv/bin/python"
    )


def test_symlinked_paths_are_recognised(tmp_path):
    real = tmp_path / "real"
    (real / "bin").mkdir(parents=True)
    link = tmp_path / "link"
    link.symlink_to(real)
    assert doctor.display_path(link / "bin", root=real, home=Path("/nonexistent")) == "bin"


def test_a_home_of_slash_does_not_swallow_every_path():
    assert doctor.display_path("/opt/x", root=Path("/proj"), home=Path("/")) == "/opt/x"


def test_wrong_kernel_message_uses_short_paths(monkeypatch):
    from jupyter_client import kernelspec

    monkeypatch.setattr(
        kernelspec.KernelSpecManager,
        "get_kernel_spec",
        lambda self, name: _Spec([str(Path.home() / "other-env/bin/python"), "-m", "x"]),
    )
    check = doctor.check_kernel()
    assert check.mark == doctor.BAD
    assert "runs ~/other-env/bin/python" in check.text, check.text
