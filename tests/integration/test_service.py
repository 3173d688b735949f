"""chatd as a systemd service: the sd_notify protocol on a socket the test
owns (READY, STATUS, WATCHDOG, STOPPING, in order), watchdog pings withheld
while a loop is stalled (through a test-only hook), and SIGHUP reloads."""
import json
import os
import signal
import socket
import time
import unittest

from harness import SLOW, ChatTestCase, free_udp_port, wait_for

WATCHDOG_USEC = 200_000  # pings every 0.1 s


class NotifyTest(ChatTestCase):
    def start_notified(self, **env):
        path = os.path.join(self.root, "notify.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        listener.bind(path)
        self.addCleanup(listener.close)
        d = self.daemon("alice", start=False)
        d.env = {"NOTIFY_SOCKET": path, **env}
        d.start()
        return d, listener

    def read(self, listener, until, timeout=5.0):
        """(time, message) pairs up to and including the first that `until` accepts."""
        out = []
        deadline = time.monotonic() + timeout * SLOW
        while time.monotonic() < deadline:
            listener.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                message = listener.recv(4096).decode()
            except socket.timeout:
                break
            out.append((time.monotonic(), message))
            if until(message):
                return out
        self.fail(f"no such notification; got {[m for _, m in out]}")

    def test_ready_status_watchdog_then_stopping(self):
        d, listener = self.start_notified(WATCHDOG_USEC=str(WATCHDOG_USEC))
        first = self.read(listener, lambda m: True)[0][1]
        self.assertTrue(first.startswith("READY=1\nSTATUS=listening on " + d.address), first)
        seen = []
        for _ in range(3):
            seen += [m for _, m in self.read(listener, lambda m: m == "WATCHDOG=1")]
        self.assertEqual(seen.count("WATCHDOG=1"), 3)
        d.stop()
        rest = [m for _, m in self.read(listener, lambda m: m == "STOPPING=1")]
        self.assertEqual(rest[-1], "STOPPING=1")
        self.assertNotIn("READY=1", "".join(rest))

    def test_a_status_line_follows_what_changes(self):
        d, listener = self.start_notified(WATCHDOG_USEC=str(WATCHDOG_USEC))
        d.cli("send", "--no-wait", f"127.0.0.1:{free_udp_port()}", "nobody listens")
        self.read(listener, lambda m: m.startswith("STATUS=") and "1 messages awaiting an ack" in m)

    def test_without_a_watchdog_there_are_no_pings(self):
        _, listener = self.start_notified()
        self.assertTrue(self.read(listener, lambda m: True)[0][1].startswith("READY=1"))
        listener.settimeout(0.5)
        with self.assertRaises(socket.timeout):
            listener.recv(4096)

    def test_a_stalled_loop_stops_the_pings_until_it_recovers(self):
        d, listener = self.start_notified(WATCHDOG_USEC=str(WATCHDOG_USEC), CHATD_TEST_HOOKS="1")
        self.read(listener, lambda m: m == "WATCHDOG=1")
        for loop in ("receiver", "sender", "store", "control"):
            with self.subTest(loop=loop):
                self.read(listener, lambda m: m == "WATCHDOG=1")
                stalled_at = time.monotonic()
                self.stall(d, loop, 1.2)
                # Pings stop within a tick or two and come back once it answers.
                times = [stalled_at]
                while time.monotonic() - stalled_at < 2.5 * SLOW:
                    times += [t for t, m in self.read(listener, lambda m: m == "WATCHDOG=1")
                              if m == "WATCHDOG=1"]
                gap = max(b - a for a, b in zip(times, times[1:]))
                self.assertGreater(gap, 0.9, f"{loop}: the longest gap in pings was {gap:.2f} s")
                self.assertGreater(times[-1], stalled_at + 1.2, f"{loop}: pings did not resume")
        log = d.log()
        self.assertIn("stopped answering; withholding the watchdog ping", log)
        self.assertIn("watchdog pings resumed", log)

    def stall(self, d, loop, seconds):
        """The test hook has no chatcli command: speak the control protocol."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(d.socket)
            s.sendall((json.dumps({"cmd": "stall", "loop": loop, "seconds": seconds}) + "\n").encode())
            if loop != "control":
                self.assertEqual(json.loads(s.makefile().readline()), {"ok": True})

    def test_the_stall_hook_is_off_without_the_variable(self):
        d = self.daemon("bob")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(d.socket)
            s.sendall(b'{"cmd":"stall","loop":"receiver","seconds":1}\n')
            reply = json.loads(s.makefile().readline())
        self.assertEqual(reply["code"], "bad_request")
        self.assertIn("CHATD_TEST_HOOKS=1", reply["error"])


class ReloadTest(ChatTestCase):
    def test_sighup_changes_aliases_and_log_level_and_keeps_the_queue(self):
        carol_port = free_udp_port()
        a = self.daemon("alice", log_level="info", peers={"carol": f"127.0.0.1:{carol_port}"})
        b = self.daemon("bob")
        # Queued for a peer that is not up yet: it must survive the reload.
        a.cli("send", "--no-wait", "carol", "sent before the reload")
        self.assertEqual(a.status()["outbox"], 1)
        pid = a.proc.pid

        a.config["peers"] = {"carol": f"127.0.0.1:{carol_port}", "bobby": b.address}
        a.config["log_level"] = "debug"
        a.config["listen"] = "127.0.0.1:1"  # needs a restart: named, not applied
        a.reload()
        wait_for(lambda: "configuration reloaded" in a.log(), what="the reload")
        self.assertIn("changed: log_level, peers", a.log())
        self.assertIn("not changed until a restart: listen", a.log())
        a.cli("send", "bobby", "through the new alias")
        self.assertEqual([m["text"] for m in b.inbox()], ["through the new alias"])
        self.assertIn("debug: control client: pid", a.log())  # the new level is in force
        self.assertEqual((a.proc.pid, a.status()["listen"], a.status()["outbox"]), (pid, a.address, 1))

        carol = self.daemon("carol", port=carol_port)
        wait_for(lambda: carol.inbox(), timeout=15, what="the queued message")
        self.assertEqual([m["text"] for m in carol.inbox()], ["sent before the reload"])

    def test_a_broken_config_is_refused_and_the_running_one_stays(self):
        a = self.daemon("alice", peers={"bob": "127.0.0.1:9"})
        with open(os.path.join(a.dir, "chatd.json"), "w") as f:
            f.write('{"peers": {"bob": ')
        a.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "reload refused" in a.log(), what="the refusal")
        config = os.path.join(a.dir, "chatd.json")
        self.assertIn(f"reload refused, the running configuration stays: {config}: config: not valid JSON",
                      a.log())
        with open(os.path.join(a.dir, "chatd.json"), "w") as f:
            f.write('{"transfer": {"accept": "sometimes"}}')
        a.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: a.log().count("reload refused") == 2, what="the second refusal")
        self.assertIn("transfer.accept", a.log().split("reload refused")[-1])
        self.assertEqual(json.loads(a.cli("--json", "peers").stdout)["aliases"], {"bob": "127.0.0.1:9"})


if __name__ == "__main__":
    unittest.main()
