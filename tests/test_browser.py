"""End to end in a real browser: JupyterLab runs notebooks 02 and 07, and their widgets respond.

``make test-browser`` runs this file (``make test`` deselects it with ``-m "not browser"``).
It starts JupyterLab headless from this venv on a free port (empty token, the project as root
dir, a throw-away settings/workspaces/runtime dir, autosave off so the committed notebooks are
never rewritten), then drives Debian's chromium (/usr/bin/chromium, ``apt-get install
chromium``) with Playwright. Never ``playwright install``: it downloads a browser of its own.

For each notebook: Run > Run All Cells in a fresh kernel, wait until every code cell has run
and the kernel is idle, assert no cell shows an error or stderr and no widget failed to
render, then use the widget as a learner would (02: the backprop stepper's Next button; 07:
drag the depth slider of the gradient-flow explorer) and assert that its figure changed.
Screenshots go to test-artifacts/browser-*.png (git-ignored).
"""

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm
]
NB02 = "notebooks/02_computational_graphs_and_autodiff.ipynb"
NB07 = "notebooks/07_vanishing_and_exploding_gradients.ipynb"
SERVER_START_S = 90
NOTEBOOK_OPEN_S = 90
RUN_ALL_S = 180  # a loaded 2-core machine runs notebook 02 in ~50 s
WIDGET_UPDATE_S = 60
# Every process this file starts carries this variable (RUN:server for the server and its
# kernels, RUN:browser for chromium), so teardowns can find and end exactly those, and check
# that none is left.
MARKER = "BPKIT_BROWSER_TEST_RUN"

# User settings for the throw-away settings dir: nothing written back to the repository,
# every cell in the DOM (no virtual scrolling), no news/update pop-ups.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _marked_pids(token):
    """Pids of live processes whose environment holds MARKER=token (ours, and only ours)."""
    needle = f"{MARKER}={token}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                pids.append(int(entry.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return pids


def _end_marked(token, grace_s=10.0):
    """SIGTERM, then SIGKILL, every process carrying our marker; return those that were left."""
    left = _marked_pids(token)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in _marked_pids(token):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace_s
        while _marked_pids(token) and time.monotonic() < deadline:
            time.sleep(0.2)
        if not _marked_pids(token):
            break
    return left


def _digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def run_token():
    return uuid.uuid4().hex


@pytest.fixture(scope="module")
def lab_server(run_token):
    """A headless JupyterLab on a free port; yields its base URL; always shut down afterwards."""
    home = Path(tempfile.mkdtemp(prefix="bpkit-browser-"))
    settings = home / "settings"
    for name, values in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    port = _free_port()
    env = dict(os.environ)
    env.update(
        {
            MARKER: f"{run_token}:server",
            "JUPYTER_CONFIG_DIR": str(home / "config"),  # no ~/.jupyter config leaks in
            "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
            "OPENBLAS_NUM_THREADS": "1",  # small matrices; the machine is shared
        }
    )
    env.pop("MPLBACKEND", None)  # the kernel must use the notebooks' own %matplotlib inline
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
        f"--ServerApp.root_dir={ROOT}",
        f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={home / 'workspaces'}",
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: read the notebook model
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = (home / "server.log").open("wb")
    server = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"

    def server_log():
        log.flush()
        return (home / "server.log").read_text(errors="replace")[-4000:]

    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited with {server.returncode}:\n{server_log()}")
            try:
                with urllib.request.urlopen(f"{base}/api/status", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer within {SERVER_START_S} s:\n{server_log()}")
            time.sleep(0.5)
        print(f"JupyterLab up after {time.monotonic() - deadline + SERVER_START_S:.1f} s")
        yield base
    finally:
        # SIGTERM: the server shuts its kernels down, then exits; if it hangs, kill its group.
        with contextlib.suppress(ProcessLookupError):
            os.kill(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        _end_marked(f"{run_token}:server")  # kernels run in sessions of their own
        log.close()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def browser(run_token):
    """Debian's chromium through Playwright, headless; closed afterwards whatever happened."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the `browser` extra")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} missing: apt-get install -y chromium")
    playwright = sync_api.sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=CHROMIUM_FLAGS,
            headless=True,
            env={**os.environ, MARKER: f"{run_token}:browser"},
        )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@pytest.fixture(scope="module", autouse=True)
def nothing_left_behind(run_token):
    """After the module: no server, kernel or browser process of ours is still alive."""
    yield
    left = _end_marked(f"{run_token}:server") + _end_marked(f"{run_token}:browser")
    assert not left, f"processes left running after the browser tests (now ended): {left}"


@pytest.fixture(scope="module", autouse=True)
def committed_notebooks_untouched():
    """Running the notebooks in the browser must not rewrite them (autosave is off)."""
    before = {path: _digest(ROOT / path) for path in (NB02, NB07)}
    yield
    changed = [path for path in before if _digest(ROOT / path) != before[path]]
    assert not changed, f"the browser run rewrote {changed}"


@pytest.fixture
def page(browser, lab_server):
    """A fresh page on the server, with JavaScript errors collected in ``page.js_errors``."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, base_url=lab_server)
    page = context.new_page()
    page.set_default_timeout(60_000)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.js_errors = errors
    try:
        yield page
    finally:
        context.close()


@contextlib.contextmanager
def _screenshot_on_failure(page, name):
    """If the body fails, save what the page showed as test-artifacts/browser-FAILED-<name>.png."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):
            _screenshot(page, f"browser-FAILED-{name}.png")
        raise


# --- driving JupyterLab ----------------------------------------------------------------------

# The notebook panel showing `path` (an arg), through window.jupyterapp.
_PANEL_JS = """
(path) => {
  const app = window.jupyterapp;
  const panel = app && app.shell.currentWidget;
  return panel && panel.context && panel.context.path === path ? panel : null;
}
"""


def _js(body):
    """A JS function of `path` whose body sees the notebook panel as `panel` (null if not shown)."""
    return "(path) => { const panel = (" + _PANEL_JS + ")(path); " + body + " }"


_READY_JS = _js("""
  if (!panel || !panel.context.isReady) return false;
  const session = panel.sessionContext.session;
  return !!(session && session.kernel && session.kernel.status === 'idle');
""")

# Every non-empty code cell numbered 1, 2, 3... by a fresh kernel, and the kernel idle: done.
# An error output stops Run All, so report it at once instead of waiting for the timeout.
_RUN_STATE_JS = _js("""
  const cells = panel.content.widgets.filter(
    (cell) => cell.model.type === 'code' && cell.model.sharedModel.getSource().trim() !== '');
  let errored = false;
  for (const cell of cells) {
    for (let k = 0; k < cell.model.outputs.length; k++) {
      if (cell.model.outputs.get(k).type === 'error') errored = true;
    }
  }
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const idle = !!kernel && kernel.status === 'idle';
  const numbered = cells.every((cell, i) => cell.model.executionCount === i + 1);
  return (idle && (numbered || errored)) ? {numbered, errored, cells: cells.length} : false;
""")

_CLEARED_JS = _js("""
  return panel.content.widgets.every((cell) => cell.model.type !== 'code' ||
    (cell.model.executionCount === null && cell.model.outputs.length === 0));
""")

# Error and stderr outputs of every code cell, with the cell's index and tags.
_BAD_OUTPUTS_JS = _js("""
  const bad = [];
  panel.content.widgets.forEach((cell, index) => {
    if (cell.model.type !== 'code') return;
    const tags = cell.model.getMetadata('tags') || [];
    for (let k = 0; k < cell.model.outputs.length; k++) {
      const output = cell.model.outputs.get(k).toJSON();
      if (output.output_type === 'error' ||
          (output.output_type === 'stream' && output.name === 'stderr')) {
        bad.push({cell: index, tags, output});
      }
    }
  });
  return bad;
""")

_IMAGE_SHA256_JS = """
async (img) => {
  const bytes = await (await fetch(img.src)).arrayBuffer();
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(digest)).map((b) => b.toString(16).padStart(2, '0')).join('');
}
"""


def _screenshot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))


def _open_notebook(page, path):
    """Open `path` in JupyterLab and wait for its fresh kernel; returns the panel's locator."""
    started = time.monotonic()
    page.goto(f"/lab/tree/{path}?reset")  # ?reset: no tabs restored from an earlier test
    page.wait_for_function(_READY_JS, arg=path, timeout=NOTEBOOK_OPEN_S * 1000, polling=250)
    print(f"{path}: open with an idle kernel after {time.monotonic() - started:.1f} s")
    panel_id = page.evaluate(_js("return panel.id;"), path)
    return page.locator(f"[id='{panel_id}']")


def _run_all_cells(page, path):
    """Clear every output, then Run > Run All Cells as a learner would; wait until all ran.

    Clearing first means that every output and widget checked afterwards comes from this run,
    and that the stored execution counts cannot pass for a finished run.
    """
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
    page.wait_for_function(_CLEARED_JS, arg=path, polling=250)
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator("#jp-mainmenu-run li.lm-Menu-item").filter(
        has=page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$"))
    ).click()
    started = time.monotonic()
    state = page.wait_for_function(_RUN_STATE_JS, arg=path, timeout=RUN_ALL_S * 1000, polling=500)
    state = state.json_value()
    return state, time.monotonic() - started


def _assert_clean_outputs(page, panel, path):
    """No error or stderr output in the model or on screen, no widget that failed to render."""
    bad = page.evaluate(_BAD_OUTPUTS_JS, path)
    bad = [
        b
        for b in bad
        if not (b["output"]["output_type"] == "error" and "raises-exception" in b["tags"])
    ]
    assert not bad, f"{path}: error/stderr outputs:\n" + "\n".join(
        f"cell {b['cell']}: "
        + (
            f"{b['output']['ename']}: {b['output']['evalue']}"
            if b["output"]["output_type"] == "error"
            else "stderr: " + "".join(b["output"]["text"])[:800]
        )
        for b in bad
    )
    stderr_mime = "application/vnd.jupyter.stderr"  # how JupyterLab shows errors and stderr
    on_screen = panel.locator(f".jp-OutputArea-output[data-mime-type='{stderr_mime}']")
    assert on_screen.count() == 0, f"{path}: {on_screen.count()} error/stderr outputs shown"
    broken = panel.get_by_text(re.compile("Error displaying widget|Error rendering"))
    assert broken.count() == 0, f"{path}: a widget failed to render: {broken.first.inner_text()}"
    assert not page.js_errors, f"{path}: JavaScript errors in the page: {page.js_errors}"


def _image_sha256(image):
    image.wait_for(state="visible")
    return image.evaluate(_IMAGE_SHA256_JS)


def _wait_for_new_image(image, old_sha, what):
    deadline = time.monotonic() + WIDGET_UPDATE_S
    while time.monotonic() < deadline:
        sha = _image_sha256(image)
        if sha != old_sha:
            return sha
        time.sleep(0.25)
    pytest.fail(f"{what}: the widget's figure did not change within {WIDGET_UPDATE_S} s")


def _notebook_json(path):
    return nbformat.read(ROOT / path, as_version=4)


# --- the tests -------------------------------------------------------------------------------


def test_notebook_02_runs_and_backprop_stepper_steps(page):
    with _screenshot_on_failure(page, "02"):
        assert any("backprop_stepper" in cell.source for cell in _notebook_json(NB02).cells)
        panel = _open_notebook(page, NB02)
        state, seconds = _run_all_cells(page, NB02)
        print(f"{NB02}: {state['cells']} code cells ran in {seconds:.1f} s")
        _assert_clean_outputs(page, panel, NB02)
        assert state["numbered"], f"{NB02}: Run All stopped early: {state}"

        stepper = (
            panel.locator(".jp-OutputArea-output .widget-vbox")
            .filter(has=page.locator(".widget-button", has_text="Next"))
            .first
        )
        stepper.scroll_into_view_if_needed()
        assert panel.locator(".jupyter-widgets").count() > 0
        image = stepper.locator("img.widget-image")
        explanation = stepper.locator(".widget-html")
        next_button = stepper.locator(".widget-button", has_text="Next")
        # The tested cell below the widget steps once and back: the widget shows the start.
        page.wait_for_function(
            "(el) => el.innerText.includes('Start:')", arg=explanation.element_handle()
        )
        before = _image_sha256(image)
        _screenshot(page, "browser-02-after-run.png")

        next_button.click()
        page.wait_for_function(
            "(el) => el.innerText.includes('Processing L')",
            arg=explanation.element_handle(),
            timeout=WIDGET_UPDATE_S * 1000,
        )
        after = _wait_for_new_image(image, before, "02 stepper Next")
        stepper.scroll_into_view_if_needed()
        _screenshot(page, "browser-02-after-next.png")
        assert after != before
        assert "v.grad += -2 * 1" in explanation.inner_text()
        assert stepper.locator(".widget-button", has_text="Back").is_enabled()


def test_notebook_07_runs_and_depth_slider_redraws(page):
    with _screenshot_on_failure(page, "07"):
        panel = _open_notebook(page, NB07)
        state, seconds = _run_all_cells(page, NB07)
        print(f"{NB07}: {state['cells']} code cells ran in {seconds:.1f} s")
        _assert_clean_outputs(page, panel, NB07)
        assert state["numbered"], f"{NB07}: Run All stopped early: {state}"

        explorer = (
            panel.locator(".jp-OutputArea-output .widget-vbox")
            .filter(has=page.locator(".widget-slider"))
            .first
        )
        explorer.scroll_into_view_if_needed()
        slider = explorer.locator(".widget-slider").first
        assert slider.locator(".widget-label").inner_text().strip() == "depth"
        readout = slider.locator(".widget-readout")
        image = explorer.locator("img.widget-image")
        status = explorer.locator(".widget-html")
        depth_before, status_before = readout.inner_text().strip(), status.inner_text()
        before = _image_sha256(image)
        _screenshot(page, "browser-07-before-slider.png")

        # Drag the depth slider's handle to the right, as a learner would with the mouse.
        handle = slider.locator(".noUi-handle")
        box = handle.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + 60, y, steps=6)
        page.mouse.up()

        after = _wait_for_new_image(image, before, "07 depth slider")
        page.wait_for_function(
            "([el, old]) => el.innerText !== old",
            arg=[status.element_handle(), status_before],
            timeout=WIDGET_UPDATE_S * 1000,
        )
        explorer.scroll_into_view_if_needed()
        _screenshot(page, "browser-07-after-slider.png")
        depth_after = readout.inner_text().strip()
        print(f"{NB07}: depth {depth_before} -> {depth_after}")
        assert int(depth_after) > int(depth_before)
        assert after != before
