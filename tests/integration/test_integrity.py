"""What chatd does to its state directory and its paths, whom it takes for a
plain peer, and which destinations it refuses: each checked against real
daemons on loopback."""
import json
import os
import socket
import stat
import subprocess
import time
import unittest

import sealed_peer as sp
from harness import CHATD, SLOW, ChatTestCase, free_udp_port, wait_for


def send_state(daemon, *args):
    reply = json.loads(daemon.cli("--json", "send", *args).stdout)
    return reply["state"], reply["plain"]


class StateDirectoryLockTest(ChatTestCase):
    def test_a_second_daemon_on_a_state_directory_in_use_is_refused_at_once(self):
        a, b = self.daemon("alice"), self.daemon("bob")
        b.stop()
        a.cli("send", "--no-wait", b.address, "waits in alice's outbox")
        state_dir = a.config["state_dir"]
        started = time.monotonic()
        r = subprocess.run([CHATD, "--listen", "127.0.0.1:0", "--socket",
                            os.path.join(self.root, "second.sock"), "--state-dir", state_dir],
                           capture_output=True, text=True, timeout=10 * SLOW)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertLess(time.monotonic() - started, 5 * SLOW)
        self.assertIn(f"state directory {state_dir} is in use by chatd pid {a.proc.pid} "
                      f"(it holds {state_dir}/chatd.lock)", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.root, "second.sock")))
        # The outbox is still alice's, and she delivers it.
        self.assertEqual(a.status()["outbox"], 1)
        b.start()
        wait_for(lambda: b.inbox(), what="the queued message")
        # Once alice is gone, the directory is free again.
        a.stop()
        a.start()
        self.assertEqual(a.status()["name"], "alice")

    def test_workers_do_not_inherit_the_lock(self):
        a = self.daemon("alice")
        lock = os.path.join(a.config["state_dir"], "chatd.lock")
        with open(lock) as f:
            self.assertEqual(f.read(), f"{a.proc.pid}\n")
        pids = a.worker_pids()
        self.assertGreaterEqual(len(pids), 2)
        for pid in pids:
            fds = os.listdir(f"/proc/{pid}/fd")
            targets = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in fds
                       if os.path.exists(f"/proc/{pid}/fd/{fd}")]
            self.assertNotIn(lock, targets, f"worker {pid}")


class StoreFileModeTest(ChatTestCase):
    def assert_private(self, state_dir):
        modes = {}
        for name in os.listdir(state_dir):
            st = os.lstat(os.path.join(state_dir, name))
            modes[name] = oct(stat.S_IMODE(st.st_mode))
        for name in ("chatd.db", "chatd.db-wal", "chatd.db-shm", "chatd.lock"):
            self.assertIn(name, modes)
        self.assertEqual(modes, {name: "0o600" for name in modes})

    def test_every_file_in_an_existing_0755_state_directory_is_0600(self):
        a = self.daemon("alice", start=False)
        state_dir = a.config["state_dir"]
        os.makedirs(state_dir)
        os.chmod(state_dir, 0o755)
        a.start()
        b = self.daemon("bob")
        self.assertEqual(send_state(a, b.address, "private text"), ("delivered", False))
        b.cli("send", a.address, "private reply")
        wait_for(lambda: a.inbox(), what="the reply")
        self.assert_private(state_dir)

    def test_a_readable_store_left_by_an_older_chatd_is_made_private(self):
        a = self.daemon("alice", start=False)
        state_dir = a.config["state_dir"]
        os.makedirs(state_dir)
        os.chmod(state_dir, 0o755)
        for name in ("chatd.db", "chatd.db-wal", "chatd.db-shm"):
            fd = os.open(os.path.join(state_dir, name), os.O_CREAT | os.O_WRONLY, 0o644)
            os.close(fd)
            os.chmod(os.path.join(state_dir, name), 0o644)
        a.start()
        b = self.daemon("bob")
        a.cli("send", b.address, "private text")
        self.assert_private(state_dir)

    def test_an_existing_0755_default_download_directory_is_made_0700(self):
        a = self.daemon("alice", start=False)
        incoming = os.path.join(a.config["state_dir"], "incoming")
        os.makedirs(incoming)
        os.chmod(incoming, 0o755)
        given = os.path.join(self.root, "downloads")  # the user's choice of mode stays
        os.makedirs(given)
        os.chmod(given, 0o755)
        a.start()
        self.assertEqual(oct(stat.S_IMODE(os.stat(incoming).st_mode)), "0o700")
        b = self.daemon("bob", transfer={"workers": 2, "download_dir": given})
        self.assertEqual(oct(stat.S_IMODE(os.stat(given).st_mode)), "0o755")
        b.stop()
        os.makedirs(os.path.join(b.config["state_dir"], "incoming"), mode=0o755)
        os.chmod(os.path.join(b.config["state_dir"], "incoming"), 0o755)
        b.start()  # not the directory it receives into: left as it is
        self.assertEqual(oct(stat.S_IMODE(os.stat(
            os.path.join(b.config["state_dir"], "incoming")).st_mode)), "0o755")


class GivenPathTest(ChatTestCase):
    def run_chatd(self, *args, env=None):
        return subprocess.run([CHATD, "--listen", "127.0.0.1:0", *args], capture_output=True,
                              text=True, timeout=10 * SLOW, env=env)

    def test_a_socket_in_a_directory_that_does_not_exist_is_refused(self):
        missing = os.path.join(self.root, "nonexistentdir")
        state_dir = os.path.join(self.root, "state")
        r = self.run_chatd("--socket", f"{missing}/x.sock", "--state-dir", state_dir)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(r.stderr, f"chatd: cannot use control socket {missing}/x.sock: directory "
                                   f"{missing} does not exist (chatd creates only its default "
                                   "directories)\n")
        self.assertEqual(os.listdir(self.root), [])  # neither the socket's nor the state's

    def test_the_same_for_a_socket_from_the_config_or_the_environment(self):
        missing = os.path.join(self.root, "nonexistentdir")
        config = os.path.join(self.root, "chatd.json")
        with open(config, "w") as f:
            json.dump({"socket": f"{missing}/x.sock", "state_dir": os.path.join(self.root, "st")}, f)
        r = self.run_chatd("--config", config)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(f"cannot use control socket {missing}/x.sock", r.stderr)
        env = {**os.environ, "CHATD_SOCKET": f"{missing}/y.sock"}
        r = self.run_chatd("--state-dir", os.path.join(self.root, "st"), env=env)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(f"cannot use control socket {missing}/y.sock", r.stderr)
        self.assertEqual(sorted(os.listdir(self.root)), ["chatd.json"])

    def test_a_state_directory_is_created_only_if_its_parent_exists(self):
        deep = os.path.join(self.root, "nonexistent", "a", "b")
        sock = os.path.join(self.root, "x.sock")
        r = self.run_chatd("--socket", sock, "--state-dir", deep)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(r.stderr, f"chatd: cannot use state directory {deep}: directory "
                                   f"{os.path.dirname(deep)} does not exist (chatd creates a "
                                   "given state directory, not its parents)\n")
        self.assertEqual(os.listdir(self.root), [])
        a = self.daemon("alice", start=False)
        os.makedirs(a.dir, exist_ok=True)
        a.config["state_dir"] = os.path.join(a.dir, "fresh")
        a.start()
        self.assertEqual(oct(stat.S_IMODE(os.stat(a.config["state_dir"]).st_mode)), "0o700")
        with open(os.path.join(self.root, "file"), "w"):
            pass
        r = self.run_chatd("--socket", sock, "--state-dir", os.path.join(self.root, "file"))
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(f"cannot use state directory {self.root}/file: not a directory", r.stderr)

    def test_a_failed_start_leaves_none_of_the_default_directories_behind(self):
        # TCP takes the UDP port's number for transfers: holding it fails
        # the start after the state and socket directories were made.
        port = free_udp_port()
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(tcp.close)
        tcp.bind(("127.0.0.1", port))
        tcp.listen()
        home = os.path.join(self.root, "home")
        runtime = os.path.join(self.root, "run", "user")
        os.makedirs(home)
        env = {k: v for k, v in os.environ.items()
               if k not in ("CHATD_SOCKET", "RUNTIME_DIRECTORY", "STATE_DIRECTORY",
                            "XDG_STATE_HOME", "XDG_RUNTIME_DIR")}
        env.update(HOME=home, XDG_RUNTIME_DIR=runtime)
        r = subprocess.run([CHATD, "--listen", f"127.0.0.1:{port}"], capture_output=True,
                           text=True, timeout=10 * SLOW, env=env)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(f"cannot bind TCP 127.0.0.1:{port} for transfers", r.stderr)
        self.assertEqual(os.listdir(home), [])
        self.assertEqual(os.listdir(self.root), ["home"])
        # And a start that works makes them, as before.
        tcp.close()
        proc = subprocess.Popen([CHATD, "--listen", "127.0.0.1:0"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=env)
        try:
            wait_for(lambda: os.path.exists(os.path.join(runtime, "chatd.sock")),
                     what="the default socket")
            self.assertTrue(os.path.isfile(os.path.join(home, ".local/state/chatd/chatd.db")))
        finally:
            proc.terminate()
            self.assertEqual(proc.wait(timeout=20 * SLOW), 0)


class PlainPeerTest(ChatTestCase):
    def test_a_plain_datagram_does_not_downgrade_an_envelope_peer(self):
        a, b = self.daemon("alice"), self.daemon("bob")
        why = sp.sealed_missing(a)
        if why:
            self.fail(why)
        self.assertEqual(send_state(a, b.address, "envelope"), ("delivered", False))
        # Each has the other's key pinned now (wire 2): bob's chatd refuses to
        # send alice plain text (it would be readable and unauthenticated),
        # and stores nothing; a raw plain line from his address is refused
        # by alice as a downgrade (the next test).
        r = b.cli("send", "--plain", a.address, "one plain line", check=False)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("has a pinned key: plain text would be readable by anyone", r.stderr)
        self.assertEqual([m for m in b.history() if m["direction"] == "out"], [])
        self.assertEqual(a.inbox(), [])
        for _ in range(2):
            self.assertEqual(send_state(a, b.address, "still an envelope"), ("delivered", False))
            self.assertEqual(send_state(b, a.address, "and back"), ("delivered", False))
            a.stop(), b.stop()
            a.start(), b.start()
        peers = json.loads(a.cli("--json", "peers").stdout)["peers"]
        self.assertEqual([(p["address"], p["speaks"]) for p in peers], [(b.address, "chatd")])
        self.assertEqual([m["text"] for m in a.inbox()], ["and back"] * 2)

    def test_plain_from_the_address_of_a_sealed_peer_is_refused_and_it_stays_sealed(self):
        # Before wire 2 both were shown and the peer was remembered as
        # speaking both; now the plain line is a downgrade.
        b = self.daemon("bob")
        s = sp.sealed_channel(self, b)
        s.send(sp.msg("00112233445566778899aabbccddeeff", "an envelope", name="raw"))
        s.peer.sendto(b"then plain", ("127.0.0.1", b.port))
        wait_for(lambda: b.counters()[sp.COUNTERS["downgrade"]] == 1, what="the refusal")
        self.assertEqual([(m["text"], m["plain"]) for m in b.inbox()], [("an envelope", False)])
        b.stop()
        b.start()
        peer = s.address
        peers = json.loads(b.cli("--json", "peers").stdout)["peers"]
        self.assertEqual([(p["address"], p["speaks"]) for p in peers], [(peer, "chatd")])
        r = json.loads(b.cli("--json", "send", "--no-wait", peer, "x").stdout)
        self.assertFalse(r["plain"])

    def test_daemons_whose_first_contact_is_plain(self):
        # Bob cannot tell alice from nc, nor she him once he answers in
        # plain: both speak plain until an envelope passes, and a transfer
        # offer is one; from then on both send envelopes.
        a, b = self.daemon("alice"), self.daemon("bob")
        self.assertEqual(send_state(a, "--plain", b.address, "hello in plain"), ("sent", True))
        wait_for(lambda: b.inbox(), what="the plain line")
        self.assertEqual(send_state(b, a.address, "answered in plain"), ("sent", True))
        wait_for(lambda: a.inbox(), what="bob's plain answer")
        self.assertEqual(send_state(a, b.address, "plain too"), ("sent", True))
        path = os.path.join(self.root, "notes.txt")
        with open(path, "w") as f:
            f.write("notes")
        a.cli("transfer", "--no-wait", b.address, path)
        wait_for(lambda: b.cli("--json", "transfers").stdout.strip(), what="the offer")
        self.assertEqual(send_state(b, a.address, "an envelope"), ("delivered", False))
        self.assertEqual(send_state(a, b.address, "envelopes now"), ("delivered", False))


class DestinationTest(ChatTestCase):
    def test_an_ipv6_daemon_refuses_an_ipv4_peer_at_once(self):
        try:
            free_udp_port("::1")
        except OSError:
            self.skipTest("no ::1 on this machine")
        a = self.daemon("alice", host="::1")
        started = time.monotonic()
        r = a.cli("send", "127.0.0.1:7890", "x", check=False)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertLess(time.monotonic() - started, 5 * SLOW)
        self.assertIn(f"cannot reach IPv4 peer 127.0.0.1:7890 from the IPv6 address {a.address}; "
                      "listen on [::]:PORT to reach both", r.stderr)
        self.assertEqual(a.status()["outbox"], 0)

    def test_what_is_not_a_single_host_is_refused_before_anything_is_sent(self):
        a = self.daemon("alice")
        cases = {
            "0.0.0.0:7890": "the unspecified address",
            "255.255.255.255:7890": "the broadcast address",
            "224.0.0.1:7890": "a multicast address",
            "239.255.255.250:1900": "a multicast address",
        }
        for peer, why in cases.items():
            for args in (["send", peer, "x"], ["send", "--plain", peer, "x"],
                         ["send", "--no-wait", peer, "x"]):
                r = a.cli(*args, check=False)
                self.assertEqual(r.returncode, 2, (args, r.stderr))
                self.assertIn(f"cannot send to {peer}: not a single host ({why})", r.stderr)
        counters = a.counters()
        self.assertEqual((a.status()["outbox"], counters.get("sent", 0)), (0, 0), counters)
        self.assertEqual(a.history(), [])

    def test_ipv6_unspecified_and_multicast_are_refused(self):
        try:
            free_udp_port("::")
        except OSError:
            self.skipTest("no IPv6")
        a = self.daemon("alice", host="::")
        for peer, why in {"[::]:7890": "the unspecified address",
                          "[ff02::1]:7890": "a multicast address",
                          "[::ffff:255.255.255.255]:7890": "the broadcast address"}.items():
            r = a.cli("send", peer, "x", check=False)
            self.assertEqual(r.returncode, 2, r.stderr)
            shown = "255.255.255.255:7890" if "ffff" in peer else peer
            self.assertIn(f"cannot send to {shown}: not a single host ({why})", r.stderr)
        self.assertEqual(a.history(), [])

    def test_a_transfer_to_the_broadcast_address_is_refused(self):
        a = self.daemon("alice")
        path = os.path.join(self.root, "file.txt")
        with open(path, "w") as f:
            f.write("x")
        r = a.cli("transfer", "--no-wait", "255.255.255.255:7890", path, check=False)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("cannot send to 255.255.255.255:7890: not a single host", r.stderr)


class WorkersConfigTest(ChatTestCase):
    def test_one_worker_is_refused_naming_the_minimum(self):
        config = os.path.join(self.root, "chatd.json")
        with open(config, "w") as f:
            json.dump({"socket": os.path.join(self.root, "x.sock"),
                       "state_dir": os.path.join(self.root, "st"), "transfer": {"workers": 1}}, f)
        r = subprocess.run([CHATD, "--config", config], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("'transfer.workers' must be between 2 and 64, got 1 (one worker is kept for "
                      "receiving, so at least 2)", r.stderr)
        self.assertEqual(sorted(os.listdir(self.root)), ["chatd.json"])


if __name__ == "__main__":
    unittest.main()
