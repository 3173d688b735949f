"""Folder transfer between two real daemons on loopback: what arrives is
what was sent (bytes, modes, mtimes, links), nothing partial is visible,
and what must be refused is."""
import hashlib
import json
import os
import resource
import signal
import socket
import stat
import subprocess
import time
import unittest

from harness import CHATCLI, SLOW, ChatTestCase, wait_for


def make_tree(root):
    """A tree with the awkward cases, and 1,000+ small files."""
    photos = os.path.join(root, "photos")
    os.makedirs(os.path.join(photos, "2024", "deep", "er"))
    os.makedirs(os.path.join(photos, "empty dir"))
    for i in range(1000):
        d = os.path.join(photos, "many", f"d{i % 10}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"f{i}.txt"), "w") as f:
            f.write(f"file {i}\n" * (i % 7))
    with open(os.path.join(photos, "2024", "a b.jpg"), "wb") as f:
        f.write(os.urandom(3 << 20))
    with open(os.path.join(photos, "line\nbreak and spaces.txt"), "w") as f:
        f.write("odd name")
    with open(os.path.join(photos, "été 日本.txt"), "w") as f:
        f.write("unicode")
    # Job parameters and events are written as JSON text directly: escapes.
    with open(os.path.join(photos, 'a "quote" and a \\'), "w") as f:
        f.write("escaped")
    open(os.path.join(photos, "empty"), "w").close()
    os.chmod(os.path.join(photos, "2024", "a b.jpg"), 0o640)
    os.chmod(os.path.join(photos, "empty"), 0o600)
    os.chmod(os.path.join(photos, "2024", "deep"), 0o700)
    os.symlink("2024/a b.jpg", os.path.join(photos, "latest"))
    os.symlink("/etc/passwd", os.path.join(photos, "escape"))
    os.mkfifo(os.path.join(photos, "fifo"))
    os.utime(os.path.join(photos, "2024", "a b.jpg"), ns=(1_600_000_000_123_456_789, 1_600_000_000_123_456_789))
    return photos


def snapshot(root):
    """path -> (kind, mode, mtime_ns, sha256 or link target), for comparing trees."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode), st.st_mtime_ns)
            elif stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
                out[rel] = ("file", stat.S_IMODE(st.st_mode), st.st_mtime_ns, digest)
    return out


class TransferTest(ChatTestCase):
    def setUp(self):
        super().setUp()
        self.src = make_tree(os.path.join(self.root, "src"))

    def start_transfer(self, a, b, *paths, json_out=True):
        args = [CHATCLI, "--socket", a.socket] + (["--json"] if json_out else []) + ["transfer", b.address]
        return subprocess.Popen(args + list(paths or [self.src]), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def transfers(self, d):
        return [json.loads(l) for l in d.cli("--json", "transfers").stdout.splitlines()]

    def test_a_tree_arrives_identical_after_accept(self):
        a, b = self.daemon("alice"), self.daemon("bob")
        follower = subprocess.Popen([CHATCLI, "--socket", b.socket, "--json", "inbox", "--follow"],
                                    stdout=subprocess.PIPE, text=True)
        self.addCleanup(follower.stdout.close)
        self.addCleanup(follower.wait)
        self.addCleanup(follower.terminate)
        sender = self.start_transfer(a, b)
        offer = json.loads(follower.stdout.readline())["offer"]
        self.assertEqual((offer["from"], offer["name"], offer["names"]), (a.address, "alice", ["photos"]))
        self.assertEqual(offer["files"], 1005)
        download = os.path.join(b.dir, "state", "incoming")
        self.assertFalse(os.path.exists(os.path.join(download, "photos")))

        b.cli("accept", str(offer["id"]))
        out, err = sender.communicate(timeout=120)
        self.assertEqual(sender.returncode, 0, err)
        events = [json.loads(l) for l in out.splitlines()]
        kinds = [e.get("event") for e in events if "event" in e]
        self.assertEqual(kinds[:3], ["offered", "waiting", "accepted"])
        self.assertEqual(kinds[-1], "done")
        self.assertTrue(events[-1]["ok"])
        self.assertIn("skipped 'photos/escape -> /etc/passwd'", err)
        self.assertIn("skipped 'photos/fifo'", err)

        wait_for(lambda: self.transfers(b)[0]["state"] == "done", what="the receiver to publish")
        got = snapshot(os.path.join(download, "photos"))
        want = snapshot(self.src)
        del want["escape"]  # a link outside what is sent is not sent
        self.assertEqual(got, want)
        self.assertEqual([n for n in os.listdir(download)], ["photos"])  # no staging left
        print(f"transfer: {len(got)} entries compared by sha256, mode and mtime")

    def test_the_daemon_starts_with_room_for_a_large_trees_descriptors(self):
        # Grown later, under threads, each doubling of the descriptor table
        # waits for an RCU grace period: five of them (~90 ms) came before
        # the offer of a 20,000-file tree.
        a = self.daemon("alice", log_level="warn")
        with open(f"/proc/{a.proc.pid}/status") as f:
            size = int(next(line for line in f if line.startswith("FDSize:")).split()[1])
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        self.assertGreaterEqual(size, min(65536, hard))

    @unittest.skipUnless(os.environ.get("CHAT_JEMALLOC") == "1", "built without jemalloc")
    def test_the_daemon_and_its_workers_run_on_jemalloc(self):
        # glibc's malloc would still be linked if jemalloc's symbols did not
        # win: the figure in status would then count nothing.
        a = self.daemon("alice", log_level="warn", transfer={"workers": 2})
        pids = [a.proc.pid] + wait_for(lambda: [p for p in a.status()["workers"]["pids"] if p > 0],
                                       what="a worker")
        for pid in pids:
            with open(f"/proc/{pid}/maps") as f:
                self.assertIn("libjemalloc", f.read(), f"process {pid}")
        self.assertGreater(a.status()["heap_bytes"], 100_000)

    @unittest.skipIf(os.environ.get("CHAT_SANITIZED"), "the heap figure is the allocator's")
    def test_finished_transfers_do_not_keep_their_trees_in_memory(self):
        # A finished transfer keeps a summary of a few KiB, however big its
        # tree; clearing a big vector or string kept its capacity before.
        a = self.daemon("alice", log_level="warn")
        b = self.daemon("bob", log_level="warn", transfer={"workers": 2, "accept": "all",
                                         "download_dir": os.path.join(self.root, "in")})
        tree = os.path.join(self.root, "many")
        for i in range(3000):
            d = os.path.join(tree, f"folder {i % 30:02d}")
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, f"a file with a longish name {i:05d}.txt"), "w") as f:
                f.write("x")
        heap = []
        for run in range(5):
            a.cli("transfer", b.address, tree, timeout=120)
            if run in (1, 4):
                # Without SQLite's page cache, which fills to its bound.
                heap.append(tuple(s["heap_bytes"] - s["store_cache_bytes"]
                                  for s in (a.status(), b.status())))
        grown = [after - before for before, after in zip(*heap)]
        print(f"heap (less SQLite's) after transfers 2 and 5 of 3,000 files: alice {heap[0][0]} -> {heap[1][0]}, "
              f"bob {heap[0][1]} -> {heap[1][1]} bytes")
        for who, bytes_ in zip(("alice", "bob"), grown):
            self.assertLess(bytes_, 3 * 40_000, f"{who}'s heap grew {bytes_} bytes in 3 transfers")

    def test_accept_all_and_a_name_conflict(self):
        a = self.daemon("alice")
        b = self.daemon("bob", transfer={"workers": 2, "accept": "all"})
        download = os.path.join(b.dir, "state", "incoming")
        os.makedirs(os.path.join(download, "photos"))
        with open(os.path.join(download, "photos", "mine"), "w") as f:
            f.write("keep me")
        # Read with O_NOATIME: an access time older than the mtime (which
        # relatime would update on the first read) stays as it was.
        big = os.path.join(self.src, "2024", "a b.jpg")
        mtime = os.stat(big).st_mtime_ns
        os.utime(big, ns=(mtime - 3_600_000_000_000, mtime))
        sender = self.start_transfer(a, b, json_out=False)
        out, err = sender.communicate(timeout=120)
        self.assertEqual(sender.returncode, 0, err)
        self.assertIn("done: 1005 files", out)
        self.assertEqual(os.stat(big).st_atime_ns, mtime - 3_600_000_000_000)
        [t] = wait_for(lambda: (t := self.transfers(b)) and t[0]["state"] == "done" and t, what="publish")
        self.assertEqual(t["placed"], ["photos (1)"])
        with open(os.path.join(download, "photos", "mine")) as f:
            self.assertEqual(f.read(), "keep me")
        self.assertTrue(os.path.exists(os.path.join(download, "photos (1)", "2024", "a b.jpg")))

    def test_a_daemon_sends_to_itself_and_two_send_to_each_other_at_once(self):
        # A send job waits on the peer's receive job. With every worker held
        # by send jobs, the receive jobs here (the peer is this daemon, or is
        # sending here too) could not start until the streams timed out, 30 s
        # later, and the jobs were resumed: a folder to oneself took 97 s.
        # Two workers is the least that works, and the config's minimum.
        for workers in (2,):
            with self.subTest(workers=workers):
                a = self.daemon(f"alice{workers}", transfer={"workers": workers, "accept": "all"})
                b = self.daemon(f"bob{workers}", transfer={"workers": workers, "accept": "all"})
                self.assertEqual(len(a.status()["workers"]["pids"]), 2)
                to_self = self.start_transfer(a, a)
                out, err = to_self.communicate(timeout=120)
                self.assertEqual(to_self.returncode, 0, err)
                crossed = [self.start_transfer(a, b), self.start_transfer(b, a)]
                for sender in crossed:
                    out, err = sender.communicate(timeout=120)
                    self.assertEqual(sender.returncode, 0, err)
                for d in (a, b):
                    self.assertNotIn("job failed", d.log())  # none waited for a timeout
                self.assertEqual(sorted(t["state"] for t in self.transfers(a)), ["done"] * 4)

    def test_modes_arrive_whole_under_a_receiver_umask_that_would_strip_them(self):
        # Files are created with their final mode only when the umask
        # leaves it whole; under umask 077 each gets its fchmod.
        a = self.daemon("alice")
        b = self.daemon("bob", transfer={"workers": 2, "accept": "all"})
        b.stop()
        b.wrap = ["sh", "-c", 'umask 077 && exec "$0" "$@"']
        b.start()
        sender = self.start_transfer(a, b, json_out=False)
        out, err = sender.communicate(timeout=120)
        self.assertEqual(sender.returncode, 0, err)
        wait_for(lambda: self.transfers(b)[0]["state"] == "done", what="the receiver to publish")
        got = snapshot(os.path.join(b.dir, "state", "incoming", "photos"))
        want = snapshot(self.src)
        del want["escape"]
        self.assertEqual(got, want)
        self.assertEqual(got[os.path.join("many", "d0", "f0.txt")][1], 0o644)

    def start_with_a_slow_sync(self):
        """alice sends the tree to bob, whose sync before publishing takes
        2.5 s; returns once every file is verified, so the sync is under way."""
        a = self.daemon("alice")
        b = self.daemon("bob", transfer={"workers": 2, "accept": "all"})
        b.stop()
        b.env = {"CHATD_TEST_HOOKS": "1", "CHATD_TEST_SYNC_DELAY_MS": str(int(2500 * SLOW))}
        b.start()
        sender = self.start_transfer(a, b)
        files = 0
        while files < 1005:
            line = sender.stdout.readline()
            self.assertTrue(line, "the sender stopped before every file was verified")
            files += json.loads(line).get("event") == "file"
        return b, sender

    def assert_tree_arrived(self, b, sender):
        out, err = sender.communicate(timeout=60 * SLOW)
        self.assertEqual(sender.returncode, 0, err)
        self.assertEqual(json.loads(out.splitlines()[-1])["ok"], True)
        got = snapshot(os.path.join(b.dir, "state", "incoming", "photos"))
        want = snapshot(self.src)
        del want["escape"]
        self.assertEqual(got, want)

    def test_the_receiver_answers_while_the_received_files_are_synced(self):
        # The syncfs before publishing runs in a worker: made slow here, the
        # receiving daemon still answers at once, then publishes.
        b, sender = self.start_with_a_slow_sync()
        started = time.monotonic()
        status = b.status()
        answered = time.monotonic() - started
        self.assertIsNone(sender.poll(), "published before the sync was done")
        self.assertLess(answered, SLOW, f"status took {answered:.2f} s during the sync")
        self.assertEqual(status["transfers"], 1)  # still receiving
        self.assert_tree_arrived(b, sender)
        print(f"status answered in {answered * 1000:.0f} ms while the received files were synced")

    def test_a_worker_killed_during_the_sync_is_replaced_and_the_tree_still_arrives(self):
        b, sender = self.start_with_a_slow_sync()
        time.sleep(0.5 * SLOW)  # the last job's verdicts are in: the sync is running
        for pid in b.worker_pids():
            os.kill(pid, signal.SIGKILL)
        self.assert_tree_arrived(b, sender)
        self.assertIn("syncing the received files failed (the worker running it died", b.log())
        self.assertGreaterEqual(b.status()["workers"]["restarts"], 1)

    def test_reject_reaches_the_sender(self):
        a, b = self.daemon("alice"), self.daemon("bob")
        sender = self.start_transfer(a, b, json_out=False)
        t = wait_for(lambda: self.transfers(b), what="the offer")[0]
        self.assertEqual(b.cli("reject", str(t["id"])).stdout.strip(), f"rejected transfer #{t['id']}")
        out, err = sender.communicate(timeout=60)
        self.assertEqual(sender.returncode, 1)
        self.assertIn("rejected by " + b.address, err)
        self.assertEqual(os.listdir(os.path.join(b.dir, "state")).count("incoming"), 0)

    def test_a_rate_limit_below_the_job_count_still_limits_every_job(self):
        # 1 B/s over two jobs: each gets 1, none 0 (which would be no limit).
        a = self.daemon("alice", transfer={"workers": 3, "max_rate": 1})
        b = self.daemon("bob", transfer={"workers": 2, "accept": "all"})
        src = os.path.join(self.root, "two")
        os.makedirs(src)
        for name in ("a", "b"):
            with open(os.path.join(src, name), "wb") as f:
                f.write(os.urandom(1 << 20))
        sender = self.start_transfer(a, b, src, json_out=False)
        self.addCleanup(sender.kill)
        wait_for(lambda: self.transfers(b), what="the offer")
        time.sleep(3)
        self.assertIsNone(sender.poll(), "the transfer ran unlimited")
        self.assertNotEqual(self.transfers(b)[0]["state"], "done")

    def test_a_small_size_limit_refuses_the_offer(self):
        a = self.daemon("alice")
        b = self.daemon("bob", transfer={"workers": 2, "accept": "all", "max_bytes": 1000})
        sender = self.start_transfer(a, b, json_out=False)
        _, err = sender.communicate(timeout=60)
        self.assertEqual(sender.returncode, 1)
        self.assertIn("over this peer's limit", err)

    def test_not_enough_free_space_is_refused_and_the_sender_says_so(self):
        if os.geteuid() != 0:
            self.skipTest("mounting a small tmpfs needs root")
        small = os.path.join(self.root, "small")
        os.makedirs(small)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", small]).returncode != 0:
            self.skipTest("cannot mount a tmpfs here")
        self.addCleanup(subprocess.run, ["umount", small])
        a = self.daemon("alice")
        b = self.daemon("bob", transfer={"workers": 2, "accept": "all", "download_dir": small})
        sender = self.start_transfer(a, b, json_out=False)
        _, err = sender.communicate(timeout=60)
        self.assertEqual(sender.returncode, 1)
        # The sender hears the sizes, not the receiver's paths; they are local.
        self.assertIn(f"rejected by {b.address}: not enough free space on the receiver: ", err)
        self.assertNotIn(small, err)
        self.assertIn("not enough free space in " + small, self.transfers(b)[0]["reason"])
        self.assertEqual(os.listdir(small), [])

    def test_an_unanswered_offer_expires(self):
        a = self.daemon("alice")
        b = self.daemon("bob", transfer={"workers": 2, "offer_ttl_seconds": 1})
        sender = self.start_transfer(a, b, json_out=False)
        t = wait_for(lambda: self.transfers(b), what="the offer")[0]
        time.sleep(1.2)
        r = b.cli("accept", str(t["id"]), check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("is expired, not waiting for an answer", r.stderr)
        _, err = sender.communicate(timeout=60)
        self.assertEqual(sender.returncode, 1)
        self.assertIn("the offer expired unanswered", err)

    def test_a_receiving_worker_killed_mid_transfer_is_replaced_and_the_file_resumes(self):
        # Held to 16 MiB/s, the 48 MiB file takes 3 s: time to kill mid-file.
        a = self.daemon("alice", transfer={"workers": 2, "max_rate": 16 << 20})
        b = self.daemon("bob", transfer={"workers": 2, "accept": "all"})
        big = os.path.join(self.root, "big")
        os.makedirs(big)
        with open(os.path.join(big, "blob"), "wb") as f:
            for _ in range(48):
                f.write(os.urandom(1 << 20))
        sender = self.start_transfer(a, b, big, json_out=False)
        pid = b.worker_pids()[0]

        def mid_transfer():
            t = self.transfers(b)
            return t and (4 << 20) <= t[0].get("bytes_done", 0) < t[0]["bytes"]
        wait_for(mid_transfer, interval=0.01, what="the transfer to be under way")
        os.kill(pid, 9)
        out, err = sender.communicate(timeout=120)
        self.assertEqual(sender.returncode, 0, err)
        self.assertIn(" already there), ", out)  # not all of it was sent twice
        wait_for(lambda: self.transfers(b)[0]["state"] == "done", what="publish")
        self.assertEqual(snapshot(os.path.join(b.dir, "state", "incoming", "big")), snapshot(big))
        self.assertEqual(b.status()["workers"]["restarts"], 1)
        self.assertIn("resuming it", a.log())

    def test_accept_errors(self):
        b = self.daemon("bob")
        r = b.cli("accept", "42", check=False)
        self.assertEqual((r.returncode, r.stderr.strip()), (1, "chatcli: no transfer 42"))
        r = b.cli("accept", "x", check=False)
        self.assertEqual(r.returncode, 2)

    def test_a_connection_without_the_token_writes_nothing(self):
        a, b = self.daemon("alice"), self.daemon("bob")
        sender = self.start_transfer(a, b, json_out=False)
        t = wait_for(lambda: self.transfers(b), what="the offer")[0]
        os.makedirs(os.path.join(self.root, "dl"))
        b.cli("accept", str(t["id"]), "--to", os.path.join(self.root, "dl"))
        for header in (b"not json\n",
                       b'{"transfer":"00000000000000000000000000000000","token":"x","files":[0]}\n',
                       b'{"transfer":"x","token":5}\n',  # a wrong type must not end the daemon
                       b'{"transfer":"x","token":"y","manifest":"{\\"version\\":1,\\"entries\\":[{\\"t\\":\\"f\\",\\"p\\":\\"../evil\\",\\"s\\":1}]}"}\n'):
            with socket.create_connection(("127.0.0.1", b.port), timeout=5) as c:
                c.sendall(header)
                c.settimeout(5)
                self.assertEqual(c.recv(100), b"")  # closed without a word
        # A header line that arrives in pieces is read whole, then refused.
        refusals = b.log().count("refused a transfer connection")
        with socket.create_connection(("127.0.0.1", b.port), timeout=5) as c:
            for piece in (b'{"transfer":"x",', b'"token":"y",', b'"files":[0]}\n'):
                c.sendall(piece)
                time.sleep(0.05)
            c.settimeout(5)
            self.assertEqual(c.recv(100), b"")
        wait_for(lambda: b.log().count("refused a transfer connection") == refusals + 1,
                 what="the header in pieces to be read and refused")
        # One without a newline in its first 64 MiB is cut off there.
        with socket.create_connection(("127.0.0.1", b.port), timeout=30) as c:
            try:
                c.sendall(b"x" * (64 << 20))
                c.settimeout(30)
                self.assertEqual(c.recv(100), b"")
            except ConnectionResetError:
                pass  # closed while the last bytes were on their way: as good
        self.assertEqual(b.request({"cmd": "status"})["ok"], True)
        self.assertIn("refused a transfer connection", b.log())
        sender.communicate(timeout=120)
        self.assertFalse(os.path.exists(os.path.join(self.root, "evil")))
        self.assertFalse(os.path.exists(os.path.join(self.root, "dl", "..", "evil")))


class WhatIsNotSentTest(ChatTestCase):
    """What chatcli's walk leaves out, and a walk that leaves nothing."""

    def transfer(self, a, b, *paths):
        return subprocess.run([CHATCLI, "--socket", a.socket, "transfer", b.address, *paths],
                              capture_output=True, text=True, timeout=120)

    def transfers(self, d):
        return [json.loads(l) for l in d.cli("--json", "transfers").stdout.splitlines()]

    def test_links_out_of_their_top_level_entry_are_skipped(self):
        # Issue 18: both arrived, pointing at incoming/notes.txt (another transfer's).
        a, b = self.daemon("alice"), self.daemon("bob", transfer={"workers": 2, "accept": "all"})
        src = os.path.join(self.root, "src")
        box = os.path.join(src, "box")
        os.makedirs(os.path.join(box, "sub"))
        with open(os.path.join(src, "notes.txt"), "w") as f:
            f.write("beside the box")
        with open(os.path.join(box, "f"), "w") as f:
            f.write("in the box")
        os.symlink("../notes.txt", os.path.join(box, "up1"))
        os.symlink("../../notes.txt", os.path.join(box, "sub", "up2"))
        os.symlink("../f", os.path.join(box, "sub", "in"))
        done = self.transfer(a, b, box + "/")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stderr.splitlines()[:2], [
            "chatcli: skipped 'box/sub/up2 -> ../../notes.txt': link points outside 'box'",
            "chatcli: skipped 'box/up1 -> ../notes.txt': link points outside 'box'"])
        wait_for(lambda: self.transfers(b)[0]["state"] == "done", what="the receiver to publish")
        got = snapshot(os.path.join(b.dir, "state", "incoming", "box"))
        self.assertEqual(sorted(got), ["f", "sub", "sub/in"])
        self.assertEqual(got["sub/in"], ("link", "../f"))

    def test_nothing_to_send_is_refused_before_any_offer(self):
        a, b = self.daemon("alice"), self.daemon("bob", transfer={"workers": 2, "accept": "all"})
        src = os.path.join(self.root, "src")
        os.makedirs(os.path.join(src, "empty dir"))
        os.mkfifo(os.path.join(src, "fifo"))
        os.symlink("fifo", os.path.join(src, "link"))
        refused = self.transfer(a, b, os.path.join(src, "fifo"), os.path.join(src, "link"))
        self.assertEqual((refused.returncode, refused.stdout), (2, ""))
        self.assertEqual(refused.stderr.splitlines(), [
            "chatcli: skipped 'fifo': not a regular file, directory or link",
            "chatcli: skipped 'link -> fifo': link points outside 'link'",
            "chatcli: nothing to send: every path was skipped (see above)"])
        self.assertEqual((self.transfers(a), self.transfers(b)), ([], []))
        # An empty directory is something to send.
        sent = self.transfer(a, b, os.path.join(src, "empty dir"), os.path.join(src, "fifo"))
        self.assertEqual(sent.returncode, 0, sent.stderr)
        wait_for(lambda: self.transfers(b)[0]["state"] == "done", what="the receiver to publish")
        self.assertTrue(os.path.isdir(os.path.join(b.dir, "state", "incoming", "empty dir")))


class HostileSenderTest(ChatTestCase):
    """The test plays a sender that holds a valid token: an offer from a
    sealed Python peer, the token from its answer, then forged manifests and
    data over TCP."""

    TRANSFER = "0123456789abcdef0123456789abcdef"

    def offer_and_token(self, b, files, size):
        # Imported here: test_netns, test_crash and test_resume import this
        # module for snapshot() under an interpreter without dissononce.
        import sealed_peer as sp
        s = sp.sealed_channel(self, b)
        s.send(sp.envelope("offer", id=self.TRANSFER, files=files, bytes=size, entries=files + 1,
                           names=["x"]))
        answer = json.loads(s.recv())
        self.assertEqual(answer["state"], "accepted")
        self.answer = answer
        return answer["token"], answer["port"]

    def send_header(self, port, header, then=b""):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            c.sendall((json.dumps(header) + "\n").encode() + then)
            c.settimeout(10)
            data = b""
            while chunk := c.recv(4096):
                data += chunk
            return data

    def manifest(self, entries):
        return json.dumps({"version": 1, "entries": entries})

    def assert_nothing_outside(self, b):
        download = os.path.join(b.dir, "state", "incoming")
        self.assertFalse(os.path.exists(os.path.join(b.dir, "state", "evil")))
        self.assertFalse(os.path.exists("/tmp/chatd-evil"))
        for dirpath, _, filenames in os.walk(download):
            self.assertEqual(filenames, [], dirpath)  # no file was written anywhere

    def test_forged_manifests_are_refused_even_with_the_token(self):
        forged = {
            "dot-dot": [{"t": "d", "p": "x"}, {"t": "f", "p": "x/../../evil", "s": 1}],
            "absolute": [{"t": "d", "p": "x"}, {"t": "f", "p": "/tmp/chatd-evil", "s": 1}],
            "file through a link": [{"t": "d", "p": "x"}, {"t": "l", "p": "x/l", "l": "."},
                                    {"t": "f", "p": "x/l/f", "s": 1}],
            "link outside, then through it": [{"t": "d", "p": "x"}, {"t": "l", "p": "x/out", "l": "../../.."},
                                              {"t": "f", "p": "x/y", "s": 1}],
        }
        for what, entries in forged.items():
            with self.subTest(what):
                b = self.daemon("bob-" + what.replace(" ", "-"), transfer={"workers": 2, "accept": "all"})
                token, port = self.offer_and_token(b, 1, 1)
                reply = self.send_header(port, {"transfer": self.TRANSFER, "token": token,
                                                "manifest": self.manifest(entries)})
                self.assertFalse(json.loads(reply)["ok"], what)
                self.assertIn("manifest entry", json.loads(reply)["error"])
                self.assertEqual(self.transfers_of(b)[0]["state"], "failed")
                self.assert_nothing_outside(b)

    def test_links_out_of_their_top_level_entry_are_refused(self):
        # Issue 18: x/up1 -> ../notes.txt was published, pointing at incoming/notes.txt.
        forged = {
            "up out of x": ([{"t": "d", "p": "x"}, {"t": "l", "p": "x/up1", "l": "../notes.txt"}],
                            "manifest entry 1 ('x/up1'): link points outside 'x'"),
            "up out of x, from deeper": (
                [{"t": "d", "p": "x"}, {"t": "d", "p": "x/sub"},
                 {"t": "l", "p": "x/sub/up2", "l": "a/../../../notes.txt"}],
                "manifest entry 2 ('x/sub/up2'): link points outside 'x'"),
            "up through another link": (
                [{"t": "d", "p": "x"}, {"t": "l", "p": "x/via", "l": "here/../notes.txt"},
                 {"t": "l", "p": "x/here", "l": "."}],
                "manifest entry 1 ('x/via'): link target has '..' after another link ('x/here')"),
            "a link at the top": ([{"t": "l", "p": "x", "l": "notes.txt"}],
                                  "manifest entry 0 ('x'): link points outside 'x'"),
        }
        for what, (entries, error) in forged.items():
            with self.subTest(what):
                b = self.daemon("bob-" + what.replace(" ", "-").replace(",", ""),
                                transfer={"workers": 2, "accept": "all"})
                token, port = self.offer_and_token(b, 0, 0)
                reply = json.loads(self.send_header(port, {"transfer": self.TRANSFER, "token": token,
                                                           "manifest": self.manifest(entries)}))
                self.assertEqual(reply, {"ok": False, "error": error})
                [t] = self.transfers_of(b)
                self.assertEqual((t["state"], t["reason"]),
                                 ("failed", "the sender's manifest was refused: " + error))
                self.assertEqual(os.listdir(os.path.join(b.dir, "state", "incoming")), [])

    def test_a_manifest_on_its_own_line_is_checked_the_same(self):
        b = self.daemon("bob", transfer={"workers": 2, "accept": "all"})
        token, port = self.offer_and_token(b, 1, 1)
        self.assertIs(self.answer.get("manifest_line"), True)  # the receiver offers it
        entries = [{"t": "d", "p": "x"}, {"t": "f", "p": "x/../../evil", "s": 1}]
        # Without the token, the line after the header is never read.
        self.assertEqual(self.send_header(port, {"transfer": self.TRANSFER, "token": "f" * 32,
                                                 "manifest_follows": True},
                                          then=self.manifest(entries).encode() + b"\n"), b"")
        self.assertEqual(self.transfers_of(b)[0]["state"], "accepted")
        reply = json.loads(self.send_header(port, {"transfer": self.TRANSFER, "token": token,
                                                   "manifest_follows": True},
                                            then=self.manifest(entries).encode() + b"\n"))
        self.assertFalse(reply["ok"])
        self.assertIn("manifest entry 1 ('x/../../evil')", reply["error"])
        self.assertEqual(self.transfers_of(b)[0]["state"], "failed")
        self.assert_nothing_outside(b)

    def test_a_manifest_that_lies_about_the_offer_is_refused(self):
        b = self.daemon("bob", transfer={"workers": 2, "accept": "all"})
        token, port = self.offer_and_token(b, 1, 5)
        entries = [{"t": "d", "p": "x"}, {"t": "f", "p": "x/f", "s": 5_000_000}]
        reply = json.loads(self.send_header(port, {"transfer": self.TRANSFER, "token": token,
                                                   "manifest": self.manifest(entries)}))
        self.assertEqual(reply, {"ok": False, "error": "the manifest does not match the offer"})
        self.assert_nothing_outside(b)

    def test_more_bytes_than_declared_are_never_published(self):
        b = self.daemon("bob", transfer={"workers": 2, "accept": "all"})
        token, port = self.offer_and_token(b, 1, 4)
        entries = [{"t": "d", "p": "x"}, {"t": "f", "p": "x/f", "s": 4}]
        self.assertTrue(json.loads(self.send_header(port, {"transfer": self.TRANSFER, "token": token,
                                                           "manifest": self.manifest(entries)}))["ok"])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            c.settimeout(10)
            c.sendall((json.dumps({"transfer": self.TRANSFER, "token": token, "files": [1]}) + "\n").encode())
            resume = c.makefile("rb").readline()
            self.assertEqual(json.loads(resume), {"resume": {}})  # nothing staged: nothing listed
            # Four declared bytes, then more where the hash line should be.
            c.sendall(b'{"file":1,"offset":0}\n' + b"abcd" + b"EXTRA BYTES THAT LIE\n")
            time.sleep(0.5)
        wait_for(lambda: b.status()["workers"]["busy"] == 0, what="the receiving job to end")
        t = self.transfers_of(b)[0]
        self.assertEqual(t["state"], "receiving")  # not done: nothing was published
        self.assertFalse(os.path.exists(os.path.join(b.dir, "state", "incoming", "x")))
        self.assertIn("a receiving job failed", b.log())

    def transfers_of(self, d):
        return [json.loads(l) for l in d.cli("--json", "transfers").stdout.splitlines()]


if __name__ == "__main__":
    unittest.main()
