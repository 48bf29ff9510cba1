"""The README's commands run verbatim after its set-up command.

The demo is started exactly as the README's first command ends (``.venv/bin/fedcat demo``, serving
http://127.0.0.1:8000), in a fresh directory whose ``.venv`` is this checkout's. Then every shell block of
the README runs line by line, as written; the YAML block that the README says to save as ``fedcat.yaml``
is saved so. A line must exit 0; a ``curl`` line must get an answer that is not an error envelope; the
two long-running commands (``serve``, ``schedule``) must start and keep running until stopped.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from fedcat.api.demo import DEMO_BASE_PORT

REPO = Path(__file__).resolve().parent.parent
FEDCAT = REPO / ".venv" / "bin" / "fedcat"
DEMO_PORT = 8000
#: The README's set-up blocks (they create the venv, install, and run the demo or the tests).
SETUP = re.compile(r"python3 -m venv")
#: Commands that run until stopped: the API server and the scheduler.
LONG_RUNNING = re.compile(r"\s(serve|schedule)(\s|$)")
ASSIGNMENT = re.compile(r"^([A-Z_]+)=\$\((.*)\)(\s+#.*)?$")


def blocks(language: str) -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.S | re.M)


def commands() -> list[str]:
    lines = []
    for block in blocks("sh"):
        if SETUP.search(block):
            continue
        lines += [line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return lines


def port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind: TIME_WAIT is no obstacle
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def answering(url: str, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return bool(resp.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    return False


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    if not FEDCAT.exists():
        pytest.skip(f"{FEDCAT} is missing: the README's commands run after its set-up command creates .venv")
    for port in (DEMO_PORT, DEMO_BASE_PORT):
        if not port_free(port):
            pytest.skip(f"127.0.0.1:{port} is in use: the README's commands name the demo's ports")
    cwd = tmp_path_factory.mktemp("readme")
    (cwd / ".venv").symlink_to(REPO / ".venv")
    env = dict(os.environ, COLUMNS="120")
    log = (cwd / "demo.log").open("wb")
    proc = subprocess.Popen([".venv/bin/fedcat", "demo"], cwd=cwd, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        if not answering(f"http://127.0.0.1:{DEMO_PORT}/api/v1/health", time.monotonic() + 180):
            pytest.fail("the demo did not start:\n" + (cwd / "demo.log").read_text(encoding="utf-8", errors="replace"))
        yield cwd
    finally:
        stop(proc)
        log.close()


def run_line(line: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", line], cwd=cwd, env=env, capture_output=True, text=True, timeout=180)


def run_long(line: str, cwd: Path, env: dict[str, str]) -> None:
    """Start it, see it keep running (and the server answer), stop it."""
    proc = subprocess.Popen(["bash", "-c", f"exec {line}"], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        port = re.search(r"--port (\d+)", line)
        if port:
            assert answering(f"http://127.0.0.1:{port.group(1)}/api/v1/health", time.monotonic() + 60), line
        else:
            time.sleep(3)
        assert proc.poll() is None, f"{line!r} stopped: {proc.stdout.read().decode() if proc.stdout else ''}"
    finally:
        stop(proc)


def test_the_readme_examples_run_verbatim_against_the_demo(demo: Path) -> None:
    configs = [b for b in blocks("yaml") if "data_dir:" in b]
    assert len(configs) == 1, "the README shows one config to save as fedcat.yaml"
    (demo / "fedcat.yaml").write_text(configs[0], encoding="utf-8")
    env = dict(os.environ, COLUMNS="120")
    env.pop("FEDCAT_CONFIG", None)
    lines = commands()
    assert len(lines) >= 20, lines
    ran = []
    for line in lines:
        assigned = ASSIGNMENT.match(line)
        if assigned:
            done = run_line(assigned.group(2), demo, env)
            assert done.returncode == 0, f"{line}\n{done.stderr}"
            env[assigned.group(1)] = done.stdout.strip()
        elif LONG_RUNNING.search(line):
            run_long(line.split("#")[0].strip(), demo, env)
        else:
            done = run_line(line, demo, env)
            assert done.returncode == 0, f"{line}\nstdout: {done.stdout[-2000:]}\nstderr: {done.stderr[-2000:]}"
            if line.startswith("curl"):
                assert done.stdout.strip() and '"error":' not in done.stdout[:200], f"{line}\n{done.stdout[:500]}"
        ran.append(line)
    assert ran == lines
