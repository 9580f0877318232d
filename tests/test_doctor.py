"""doctor: one line per check, exit 0 here (the project venv has everything), 1 on any problem."""

import subprocess
import sys
from importlib import metadata

import pytest

from bpkit import doctor


def test_doctor_passes_in_the_project_environment():
    result = subprocess.run(
        [sys.executable, "-m", "bpkit", "doctor"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
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
