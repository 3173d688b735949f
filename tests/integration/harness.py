"""Runs real chatd daemons on loopback for the integration tests.

Each Daemon has its own temporary directory (config, control socket, SQLite
state, log). Binaries come from $CHATD_BIN / $CHATCLI_BIN (set by ctest),
else from ../../build.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(HERE, "..", "..", "build")
CHATD = os.environ.get("CHATD_BIN", os.path.join(BUILD, "chatd", "chatd"))
CHATCLI = os.environ.get("CHATCLI_BIN", os.path.join(BUILD, "chatcli", "chatcli"))
# Sanitizer builds run slower; give them room.
SLOW = float(os.environ.get("CHAT_TEST_SLOWDOWN", "1"))


def wait_for(predicate, timeout=10.0, interval=0.02, what="condition"):
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def free_udp_port(host="127.0.0.1"):
    """A port free right now, for a daemon that must not start yet."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Daemon:
    def __init__(self, root, name, host="127.0.0.1", port=0, **config):
        self.name = name
        self.dir = os.path.join(root, name)
        os.makedirs(self.dir, exist_ok=True)
        self.socket = os.path.join(self.dir, "chatd.sock")
        self.host = host
        self.port = port
        self.config = {
            "socket": self.socket,
            "state_dir": os.path.join(self.dir, "state"),
            "name": name,
            "log_level": "debug",
            "retry_initial_ms": 50,
            "retry_max_ms": 400,
            "transfer": {"workers": 2},
        }
        self.config.update(config)
        self.proc = None
        self.env = {}  # extra environment for chatd
        self.wrap = []  # a command prefix, e.g. ["ip", "netns", "exec", "ns1"]
        self.log_path = os.path.join(self.dir, "chatd.log")

    @property
    def address(self):
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def write_config(self):
        self.config["listen"] = self.address
        path = os.path.join(self.dir, "chatd.json")
        with open(path, "w") as f:
            json.dump(self.config, f)
        return path

    def start(self):
        path = self.write_config()
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([*self.wrap, CHATD, "--config", path], stdout=log, stderr=log,
                                     env={**os.environ, **self.env})
        log.close()

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(f"chatd {self.name} exited {self.proc.returncode}:\n{self.log()}")
            r = self.cli("--json", "status", check=False)
            return json.loads(r.stdout) if r.returncode == 0 else None

        status = wait_for(ready, what=f"chatd {self.name} to start")
        self.port = int(status["listen"].rsplit(":", 1)[1])  # keep it across restarts
        return self

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=20 * SLOW)
        rc = self.proc.returncode if self.proc else None
        self.proc = None
        return rc

    def kill(self):
        return self.stop(signal.SIGKILL)

    def reload(self):
        """Writes self.config and sends SIGHUP."""
        self.write_config()
        self.proc.send_signal(signal.SIGHUP)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def cli(self, *args, input=None, check=True, timeout=30):
        r = subprocess.run([CHATCLI, "--socket", self.socket, *args], input=input,
                           capture_output=True, timeout=timeout * SLOW,
                           text=not isinstance(input, bytes))
        if check and r.returncode != 0:
            raise AssertionError(f"chatcli {' '.join(args)} exited {r.returncode}: {r.stderr}")
        return r

    def status(self):
        return json.loads(self.cli("--json", "status").stdout)

    def worker_pids(self):
        """The live workers: a slot being replaced reads -1, and a test that
        killed pid -1 would signal every process it may."""
        return [p for p in self.status()["workers"]["pids"] if p > 0]

    def counters(self):
        return self.status()["counters"]

    def request_counters(self):
        """The counters without starting chatcli: for tight polling loops."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
            c.connect(self.socket)
            c.sendall(b'{"cmd":"status"}\n')
            return json.loads(c.makefile().readline())["counters"]

    def send_many(self, peer, texts):
        """Sends each text with its own control request (wait false), as
        fast as the daemon takes them; returns the texts whose send was ok."""
        accepted = []
        for text in texts:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
                c.connect(self.socket)
                c.sendall(json.dumps({"cmd": "send", "peer": peer, "text": text,
                                      "wait": False}).encode() + b"\n")
                reply = json.loads(c.makefile().readline())
            if reply.get("ok"):
                accepted.append(text)
        return accepted

    def request_line(self, doc):
        """One control request and its final reply line as sent, without chatcli."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as c:
            c.connect(self.socket)
            c.sendall(json.dumps(doc).encode() + b"\n")
            return c.makefile().readline()

    def request(self, doc):
        """One control request and its final reply, without chatcli."""
        return json.loads(self.request_line(doc))

    def inbox(self, *args, limit=100000):
        out = self.cli("--json", "inbox", "--limit", str(limit), *args).stdout
        return [json.loads(line) for line in out.splitlines()]

    def history(self, *args):
        out = self.cli("--json", "history", "--limit", "100000", *args).stdout
        return [json.loads(line) for line in out.splitlines()]


class ChatTestCase(unittest.TestCase):
    """Fresh temporary directory per test; daemons stopped at the end."""

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="chatd-test-")
        self.daemons = []

    def tearDown(self):
        # A clean stop exits 0; a sanitizer report or a crash does not.
        bad_exits = [(d.name, rc) for d in self.daemons if (rc := d.stop()) not in (None, 0)]
        if bad_exits or self.failed():
            for d in self.daemons:
                if os.path.exists(d.log_path):
                    print(f"--- log of {d.name} ---\n" + "\n".join([l for l in d.log().splitlines() if "control client" not in l][-60:]))
        shutil.rmtree(self.root, ignore_errors=True)
        if bad_exits:
            self.fail(f"chatd exited badly on SIGTERM: {bad_exits}")

    def failed(self):
        """Whether this test has failed so far. Python 3.11 records the
        failure in the result before tearDown; `_outcome.success` stays True."""
        result = getattr(self._outcome, "result", None)
        recorded = result is not None and any(
            test is self for test, _ in result.failures + result.errors)
        return recorded or not getattr(self._outcome, "success", True)

    def daemon(self, name, start=True, **kwargs):
        d = Daemon(self.root, name, **kwargs)
        self.daemons.append(d)
        return d.start() if start else d

    def udp_socket(self, host="127.0.0.1"):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.bind((host, 0))
        s.settimeout(5 * SLOW)
        self.addCleanup(s.close)
        return s
