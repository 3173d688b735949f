"""What a hostile or careless neighbour can do, and what chatd does about
it: floods of garbage datagrams and idle control connections, another
local user at the control socket, a damaged or locked store at start.
Each test prints what it tried."""
import json
import os
import resource
import shutil
import socket
import sqlite3
import subprocess
import time
import unittest

from harness import CHATCLI, CHATD, SLOW, ChatTestCase, wait_for


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))


class FloodTest(ChatTestCase):
    def test_garbage_datagrams_and_idle_connections_leave_chatd_responsive(self):
        a, b = self.daemon("alice"), self.daemon("bob")
        before = rss_kib(b.proc.pid)
        s = self.udp_socket()
        garbage = [b"{", b"\xff\xfe", b"{\"chatd\":1}", b"[" * 9 + b"]" * 9, b" ", b"{\"chatd\":2,\"type\":\"msg\"}"]
        count = 100_000
        for i in range(count):
            s.sendto(garbage[i % len(garbage)], ("127.0.0.1", b.port))
            if i % 200 == 199:
                # The socket buffer holds a few hundred: stay within it, so that
                # what is measured is chatd's handling, not the kernel's drops.
                wait_for(lambda: b.request_counters()["dropped_malformed"] >= i - 200,
                         what=f"datagram {i - 200} to be handled")
        # 1,000 control connections opened and left idle.
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        idle = []
        for _ in range(1000):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.connect(b.socket)
            idle.append(c)
        self.addCleanup(lambda: [c.close() for c in idle])
        # Still answering, and a real message still arrives.
        started = time.monotonic()
        a.cli("send", b.address, "still there?")
        answered_in = time.monotonic() - started
        self.assertEqual([m["text"] for m in b.inbox()], ["still there?"])
        dropped = b.counters()["dropped_malformed"]
        after = rss_kib(b.proc.pid)
        print(f"flood: {count} garbage datagrams sent, {dropped} received, counted and dropped; "
              f"1000 idle control connections; a send then took {answered_in * 1000:.0f} ms; "
              f"RSS {before} -> {after} KiB")
        self.assertGreaterEqual(dropped, count * 0.99)
        if not os.environ.get("CHAT_SANITIZED"):  # sanitizer runtimes hold freed memory back
            self.assertLess(after - before, 64 * 1024, "memory grew by more than 64 MiB")


class OtherUserTest(ChatTestCase):
    def test_another_local_user_cannot_use_the_control_socket(self):
        if os.geteuid() != 0 or not shutil.which("setpriv"):
            self.skipTest("needs root and setpriv to act as another user")
        d = self.daemon("alice")
        # The test directory must be traversable for the other user to reach
        # the socket at all; the socket's own mode is what must stop it.
        for path in (self.root, d.dir):
            os.chmod(path, 0o755)
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", CHATCLI,
                            "--socket", d.socket, "send", "127.0.0.1:9", "hi"],
                           capture_output=True, text=True, timeout=30 * SLOW)
        print(f"control socket mode {oct(os.stat(d.socket).st_mode & 0o777)}; as uid 65534: "
              f"exit {r.returncode}: {r.stderr.strip().splitlines()[1] if r.stderr else ''}")
        self.assertEqual(r.returncode, 3)
        self.assertIn("Permission denied", r.stderr)
        self.assertEqual(d.status()["outbox"], 0)


class DamagedStoreTest(ChatTestCase):
    def start_expecting_failure(self, d):
        path = d.write_config()
        r = subprocess.run([CHATD, "--config", path], capture_output=True, text=True, timeout=30 * SLOW)
        return r

    def test_a_truncated_store_is_refused_with_its_name_and_left_as_it_is(self):
        d = self.daemon("alice")
        d.cli("send", "--no-wait", "127.0.0.1:9", "queued before the damage")
        d.stop()
        db = os.path.join(d.dir, "state", "chatd.db")
        for suffix in ("-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)
        with open(db, "r+b") as f:
            f.truncate(100)  # the header survives, the rest does not
        with open(db, "rb") as f:
            damaged = f.read()
        r = self.start_expecting_failure(d)
        print(f"truncated store: exit {r.returncode}: {r.stderr.strip().splitlines()[-1]}")
        self.assertEqual(r.returncode, 1)
        self.assertIn(db, r.stderr)
        with open(db, "rb") as f:
            self.assertEqual(f.read(), damaged)  # not "repaired" into an empty store

    def test_a_store_locked_by_another_process_is_refused_in_time(self):
        d = self.daemon("alice")
        d.stop()
        db = os.path.join(d.dir, "state", "chatd.db")
        holder = sqlite3.connect(db, timeout=0)
        holder.execute("BEGIN EXCLUSIVE")
        self.addCleanup(holder.close)
        started = time.monotonic()
        r = self.start_expecting_failure(d)
        took = time.monotonic() - started
        print(f"locked store: exit {r.returncode} after {took:.1f} s: {r.stderr.strip().splitlines()[-1]}")
        self.assertEqual(r.returncode, 1)
        self.assertIn("locked", r.stderr)
        holder.rollback()
        d.start()  # and once it is free, everything is still there
        self.assertEqual(d.status()["outbox"], 0)


if __name__ == "__main__":
    unittest.main()
