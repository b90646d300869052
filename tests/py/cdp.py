"""Drive headless Chromium through its DevTools protocol over a pipe (stdlib only).

`load_page(url)` starts `chromium --headless --remote-debugging-pipe` (the browser reads
commands on its fd 3 and writes replies and events on its fd 4, each a JSON message ended by
a NUL byte), attaches to the first page, enables the Runtime, Log and Page domains,
navigates, waits for the load event, then reports: console errors and uncaught exceptions,
Log entries of level error (failed resource loads land there), each image's
(src, complete, naturalWidth), and a PNG screenshot of the whole page.
"""
import base64
import fcntl
import json
import os
import select
import subprocess
import time

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
         "--window-size=1400,1000", "--remote-debugging-pipe"]


class CdpError(Exception):
    pass


class Browser:
    def __init__(self, profile_dir, timeout=45):
        self.deadline = time.monotonic() + timeout
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()
        # copies above fd 4, so that placing them at 3 and 4 in the child cannot clobber each other
        high_r = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
        high_w = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
        os.close(to_child_r)
        os.close(from_child_w)

        def child_fds():
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        os.makedirs(profile_dir, exist_ok=True)
        self.log = open(os.path.join(profile_dir, "chromium-stderr.log"), "wb")
        try:
            self.proc = subprocess.Popen([CHROMIUM] + FLAGS + [f"--user-data-dir={profile_dir}", "about:blank"],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=self.log, pass_fds=(3, 4, high_r, high_w),
                                         preexec_fn=child_fds)
        finally:
            os.close(high_r)
            os.close(high_w)
        self.buf = b""
        self.next_id = 0
        self.events = []

    def send(self, method, params=None, session=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_child, json.dumps(msg).encode() + b"\0")
        return self.wait_reply(self.next_id, method)

    def read_message(self):
        while b"\0" not in self.buf:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise CdpError("timed out waiting for chromium")
            r, _, _ = select.select([self.from_child], [], [], left)
            if not r:
                continue
            chunk = os.read(self.from_child, 1 << 20)
            if not chunk:
                raise CdpError("chromium closed the pipe: " + self.stderr_tail())
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def wait_reply(self, msg_id, method):
        while True:
            m = self.read_message()
            if m.get("id") == msg_id:
                if "error" in m:
                    raise CdpError(f"{method}: {m['error']}")
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    def wait_event(self, name):
        for i, e in enumerate(self.events):
            if e["method"] == name:
                return self.events.pop(i)
        while True:
            m = self.read_message()
            if m.get("method") == name:
                return m
            if "method" in m:
                self.events.append(m)

    def stderr_tail(self):
        try:
            self.log.flush()
            with open(self.log.name, "rb") as f:
                return f.read()[-2000:].decode(errors="replace")
        except OSError:
            return ""

    def close(self):
        try:
            if self.proc.poll() is None:
                try:
                    os.write(self.to_child, json.dumps({"id": 999999, "method": "Browser.close"}).encode() + b"\0")
                    self.proc.wait(timeout=10)
                except (OSError, subprocess.TimeoutExpired):
                    self.proc.kill()
                    self.proc.wait(timeout=10)
            self.log.close()
        finally:
            for fd in (self.to_child, self.from_child):
                try:
                    os.close(fd)
                except OSError:
                    pass


def load_page(url, profile_dir, timeout=45):
    """Load url; return dict(errors=[...], images=[(src, complete, naturalWidth)], screenshot=bytes)."""
    b = Browser(profile_dir, timeout)
    try:
        targets = b.send("Target.getTargets")["targetInfos"]
        page = next((t for t in targets if t["type"] == "page"), None)
        if page is None:
            page = {"targetId": b.send("Target.createTarget", {"url": "about:blank"})["targetId"]}
        sid = b.send("Target.attachToTarget", {"targetId": page["targetId"], "flatten": True})["sessionId"]
        for dom in ("Runtime.enable", "Log.enable", "Page.enable"):
            b.send(dom, session=sid)
        b.send("Page.navigate", {"url": url}, session=sid)
        b.wait_event("Page.loadEventFired")
        imgs = b.send("Runtime.evaluate", {
            "expression": "JSON.stringify(Array.from(document.images).map("
                          "i => [i.getAttribute('src'), i.complete, i.naturalWidth]))",
            "returnByValue": True}, session=sid)["result"]["value"]
        shot = b.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session=sid)
        b.send("Runtime.evaluate", {"expression": "1"}, session=sid)  # flush pending events
        errors = []
        for e in b.events:
            p = e.get("params", {})
            if e["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                errors.append("console." + p["type"] + ": " + " ".join(str(a.get("value", a.get("description", "")))
                                                                        for a in p.get("args", [])))
            elif e["method"] == "Runtime.exceptionThrown":
                errors.append("exception: " + p.get("exceptionDetails", {}).get("text", ""))
            elif e["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                en = p["entry"]
                errors.append(f"log: {en.get('text', '')} {en.get('url', '')}".strip())
        return {"errors": errors, "images": [tuple(x) for x in json.loads(imgs)],
                "screenshot": base64.b64decode(shot["data"])}
    finally:
        b.close()
