"""Shared pytest fixtures: start a real `glmserve serve` on a free 127.0.0.1 port, wait for it,
and always kill it afterwards.

Reuse from any test file:

    def test_x(tiny_server):                 # module-scoped server on the glm45-tiny fixture
        r = httpx.post(tiny_server.url + "/generate", json={...})

    def test_y(glmserve_launcher):           # any flags, one server per `with`
        with glmserve_launcher("glm45-tiny", "--api-key", "k") as srv:
            ...

`srv.url` is "http://127.0.0.1:PORT", `srv.openai()` an openai.OpenAI client for it,
`srv.log()` what the server wrote to stderr so far.
"""
import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
SHARED = REPO.parent / "shared"
STARTUP_TIMEOUT_S = 180
# Printed by the server when a module it needs is not built yet (the tests then skip, not fail).
NOT_BUILT_MARKER = "is not part of this build yet"


def glmserve_binary():
    path = os.environ.get("GLMSERVE_BIN") or str(REPO / "build" / "glmserve")
    return path if os.path.exists(path) else None


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RunningServer:
    def __init__(self, proc, port, log_path, api_key=None, model_name=None):
        self.proc, self.port, self.log_path = proc, port, log_path
        self.url = f"http://127.0.0.1:{port}"
        self.api_key = api_key
        self.model_name = model_name

    def log(self):
        try:
            return Path(self.log_path).read_text(errors="replace")
        except OSError:
            return ""

    def openai(self, **kw):
        import openai

        return openai.OpenAI(base_url=self.url + "/v1", api_key=self.api_key or "none", max_retries=0, **kw)

    def headers(self):
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}


@contextlib.contextmanager
def launch_glmserve(model, *flags, wait_ready=True, prefix=()):
    """Starts glmserve on `model` (a fixture name or a path) with `flags`; yields RunningServer.
    prefix: a launcher in front of the binary (e.g. mpirun -np 2 for tensor parallelism)."""
    import httpx

    binary = glmserve_binary()
    if binary is None:
        pytest.skip("glmserve is not built (set GLMSERVE_BIN)")
    model_dir = model if os.path.isabs(model) else str(FIXTURES / model)
    if not os.path.isdir(model_dir):
        pytest.skip(f"fixture model {model_dir} is missing")
    port = free_port()
    api_key = None
    model_name = model_dir
    flags = list(flags)
    # One compute thread unless the test asks for more: the tiny fixtures gain nothing from a second
    # one, and its spinning competes with this client (and anything else) for the 2 CI cores. That
    # results do not depend on the thread count is tested in the C++ model and kernel tests.
    if "--threads" not in flags:
        flags += ["--threads", "1"]
    for i, f in enumerate(flags[:-1]):
        if f == "--api-key":
            api_key = flags[i + 1]
        if f == "--served-model-name":
            model_name = flags[i + 1]
    log = tempfile.NamedTemporaryFile(prefix="glmserve-", suffix=".log", delete=False)
    cmd = [*prefix, binary, "serve", "--model-path", model_dir, "--host", "127.0.0.1", "--port", str(port), *flags]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    srv = RunningServer(proc, port, log.name, api_key, model_name)
    try:
        if wait_ready:
            deadline = time.time() + STARTUP_TIMEOUT_S
            while True:
                if proc.poll() is not None:
                    text = srv.log()
                    if NOT_BUILT_MARKER in text:
                        pytest.skip("glmserve cannot serve yet: " + text.strip().splitlines()[-1])
                    pytest.fail(f"glmserve exited with {proc.returncode} during startup:\n{text[-3000:]}")
                try:
                    r = httpx.get(srv.url + "/health", headers=srv.headers(), timeout=30)
                    if r.status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.time() > deadline:
                    pytest.fail(f"glmserve not healthy after {STARTUP_TIMEOUT_S}s:\n{srv.log()[-3000:]}")
                time.sleep(0.2)
        yield srv
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        log.close()
        with contextlib.suppress(OSError):
            os.unlink(log.name)


@pytest.fixture(scope="session")
def glmserve_launcher():
    return launch_glmserve


# The everyday test server: both parsers, custom processors allowed, metrics on, a context small
# enough that over-long prompts are cheap to build.
TINY_SERVER_FLAGS = (
    "--served-model-name", "glm-tiny",
    "--tool-call-parser", "glm45",
    "--reasoning-parser", "glm45",
    "--enable-custom-logit-processor",
    "--enable-metrics",
    "--enable-cache-report",
    "--context-length", "4096",
)


@pytest.fixture(scope="module")
def tiny_server():
    with launch_glmserve("glm45-tiny", *TINY_SERVER_FLAGS) as srv:
        yield srv
