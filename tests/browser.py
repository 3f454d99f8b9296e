"""Render a page in headless Chromium (Debian's `chromium`): its DOM, the requests it made, a screenshot.

The page is driven through the DevTools protocol (--remote-debugging-pipe), and every request the
page's own target sends is recorded from Network.requestWillBeSent: a stylesheet, script, font or
image from anywhere but the page's file shows up by URL. As a safety net Chromium's proxy is a
recorder on loopback that answers 502 to everything, so nothing a page or the browser tries leaves
the machine.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Any

CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",  # tests run as root
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--disable-extensions",
    "--metrics-recording-only",
    "--no-pings",
    "--no-service-autorun",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-breakpad",
    "--disable-field-trial-config",
    "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,Translate,MediaRouter,"
    "AutofillServerCommunication,CertificateTransparencyComponentUpdater,SignInProfileCreation,"
    "ChromeSigninInterception,PrivacySandboxSettings4",
    "--proxy-bypass-list=<-loopback>",
]


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise RuntimeError("chromium is not installed: run `bash scripts/setup.sh` (installs Debian's chromium)")
    return path


@dataclass
class RecordingProxy:
    """An HTTP proxy on 127.0.0.1 that records each request line and answers 502 Bad Gateway."""

    requests: list[str] = field(default_factory=list)

    def __enter__(self) -> RecordingProxy:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    line = conn.recv(4096).split(b"\r\n", 1)[0].decode(errors="replace")
                    if line:
                        self.requests.append(line)
                    conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                except OSError:
                    pass

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()


@dataclass
class Rendered:
    dom: str
    requests: list[str]  # URLs the page itself asked for (its own file:// URL excluded)


def _pipe_fds(read_end: int, write_end: int) -> None:
    """In the child: the browser reads commands on fd 3 and writes answers on fd 4."""
    high_read = fcntl.fcntl(read_end, fcntl.F_DUPFD, 10)
    high_write = fcntl.fcntl(write_end, fcntl.F_DUPFD, 10)
    os.dup2(high_read, 3)
    os.dup2(high_write, 4)


class _DevTools:
    """Chrome DevTools Protocol over --remote-debugging-pipe (fd 3 in, fd 4 out, NUL-separated JSON)."""

    def __init__(self, argv: list[str]) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        self._proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(3, 4),  # placed by _pipe_fds in the child, before the other fds are closed
            preexec_fn=lambda: _pipe_fds(to_browser_r, from_browser_w),
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._next(deadline=time.monotonic() + 30)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"chromium: {method}: {reply['error']}")
                return dict(reply.get("result", {}))
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        if any(e.get("method") == method for e in self.events):
            return True
        while time.monotonic() < deadline:
            try:
                event = self._next(deadline)
            except TimeoutError:
                return False
            self.events.append(event)
            if event.get("method") == method:
                return True
        return False

    def _next(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise TimeoutError("chromium did not answer")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium exited")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\0", 1)
        return dict(json.loads(line))

    def close(self) -> None:
        try:
            os.write(self._to_browser, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
            self._proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self._proc.kill()
            self._proc.wait()
        finally:
            os.close(self._to_browser)
            os.close(self._from_browser)


def render(path: str, screenshot: str | None = None, settle: float = 1.0) -> Rendered:
    """The DOM of ``path`` after Chromium loaded it, the requests the page made, optionally a PNG."""
    url = f"file://{os.path.abspath(path)}"
    with RecordingProxy() as proxy, tempfile.TemporaryDirectory(prefix="steth-chromium-") as profile:
        argv = [
            chromium(),
            *CHROMIUM_FLAGS,
            f"--proxy-server=http://127.0.0.1:{proxy.port}",
            f"--user-data-dir={profile}",
            "--window-size=1280,1600",
            "--remote-debugging-pipe",
            "about:blank",
        ]
        browser = _DevTools(argv)
        try:
            target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            browser.send("Network.enable", session=session)
            browser.send("Page.enable", session=session)
            browser.send("Page.navigate", {"url": url}, session=session)
            if not browser.wait_for("Page.loadEventFired", timeout=30):
                raise RuntimeError(f"chromium did not load {url}")
            browser.wait_for("steth.never", timeout=settle)  # late requests (scripts, fonts)
            dom = browser.send(
                "Runtime.evaluate", {"expression": "document.documentElement.outerHTML"}, session=session
            )["result"]["value"]
            if screenshot:
                shot = browser.send("Page.captureScreenshot", {"format": "png"}, session=session)
                with open(screenshot, "wb") as fh:
                    fh.write(base64.b64decode(shot["data"]))
            requests = [
                e["params"]["request"]["url"]
                for e in browser.events
                if e.get("method") == "Network.requestWillBeSent" and e.get("sessionId") == session
            ]
        finally:
            browser.close()
    return Rendered(str(dom), [r for r in requests if r != url])
