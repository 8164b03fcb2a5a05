"""JupyterLab and Notebook 7 servers and Chromium settings, for the browser tests and
``benchmarks/builder.py``: a private, quiet server on a free loopback port (the project's
notebook recipe), with no news, update or extension-manager queries."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

LAB_SETTINGS = {
    # no "get notified about Jupyter news?" toast, no update check
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    # every cell stays in the DOM, so off-screen outputs can be located
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}

LAB_FLAGS = [
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    "--LabApp.extension_manager=readonly",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def jupyter_server(
    base: Path, app: str, extra: list[str], settings_given: dict[str, Any] | None = None
) -> Iterator[SimpleNamespace]:
    """Run ``python -m <app>`` (jupyterlab or notebook) on a free loopback port with private
    config, settings (``LAB_SETTINGS``, then *settings_given*) and workspaces; yields its url,
    token and root folder."""
    root = base / "root"
    root.mkdir()
    settings = base / "settings"
    for name, value in {**LAB_SETTINGS, **(settings_given or {})}.items():
        plugin, _, file = name.partition("/")
        path = settings / plugin / file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    labconfig = base / "config" / "labconfig"
    labconfig.mkdir(parents=True)
    (labconfig / "page_config.json").write_text('{"buildCheck": false, "buildAvailable": false}')
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(base / "config"),
        JUPYTER_DATA_DIR=str(base / "data"),
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"),
        IPYTHONDIR=str(base / "ipython"),
    )
    port, token = free_port(), secrets.token_hex(16)
    cmd = [
        sys.executable,
        "-m",
        app,
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.allow_root=True",
        *extra,
    ]
    log = open(base / "server.log", "wb")  # noqa: SIM115  (closed after the server stops)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{app} exited {proc.returncode}:\n{(base / 'server.log').read_text()}"
                )
            try:
                req = urllib.request.Request(
                    f"{url}/api/status", headers={"Authorization": f"token {token}"}
                )
                with urllib.request.urlopen(req, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{app} did not start:\n" + (base / "server.log").read_text())
            time.sleep(0.1)
        print(f"\n[timing] {app} startup {time.perf_counter() - t0:.2f}s")
        yield SimpleNamespace(url=url, token=token, root=root, proc=proc, log=base / "server.log")
    finally:
        proc.terminate()  # SIGTERM: the server shuts its kernels down
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
