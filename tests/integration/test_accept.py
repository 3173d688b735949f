"""Where `chatcli accept --to DIR` may put a transfer: only where the user
who asked could write (chatd may be root), and a directory that will not
do is a usage error for that user (exit 2) that leaves the offer pending
and tells the sender nothing about local paths."""
import grp
import json
import os
import pwd
import shutil
import subprocess
import unittest

from harness import CHATCLI, SLOW, ChatTestCase, wait_for

SHARED_GID = 4242  # a group only the test's chatcli holds, as a supplementary group


class AcceptTest(ChatTestCase):
    def setUp(self):
        super().setUp()
        self.src = os.path.join(self.root, "src")
        os.makedirs(os.path.join(self.src, "sub"))
        with open(os.path.join(self.src, "sub", "a.txt"), "w") as f:
            f.write("a\n")

    def start_transfer(self, a, b):
        return subprocess.Popen([CHATCLI, "--socket", a.socket, "transfer", b.address, self.src],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def transfers(self, d):
        return [json.loads(l) for l in d.cli("--json", "transfers").stdout.splitlines()]

    def offer(self, b):
        return wait_for(lambda: self.transfers(b), what="the offer")[0]

    def assert_still_pending(self, b, sender, number):
        [t] = self.transfers(b)
        self.assertEqual((t["id"], t["state"]), (number, "offered"))
        self.assertIsNone(sender.poll(), "the sender heard of it")

    def assert_arrives(self, b, sender, number, into, cli=None):
        r = (cli or b.cli)("accept", str(number), "--to", into)
        self.assertEqual(r.returncode, 0, r.stderr)
        out, err = sender.communicate(timeout=60)
        self.assertEqual(sender.returncode, 0, err)
        with open(os.path.join(into, "src", "sub", "a.txt")) as f:
            self.assertEqual(f.read(), "a\n")
        return out + err

    # ---- as another user -------------------------------------------------

    def as_nobody(self, b, extra_groups=()):
        """chatcli as uid nobody, a member of the socket's group."""
        if os.geteuid() != 0:
            self.skipTest("running chatcli as another user needs root")
        nobody = pwd.getpwnam("nobody")
        # nobody must reach the socket and run chatcli: the harness keeps
        # both under directories only root may enter.
        cli = os.path.join(self.root, "chatcli")
        shutil.copy(CHATCLI, cli)
        os.chmod(cli, 0o755)
        os.chmod(self.root, 0o711)
        os.chmod(b.dir, 0o711)

        def run(*args):
            return subprocess.run([cli, "--socket", b.socket, *args], capture_output=True, text=True,
                                  timeout=30, user=nobody.pw_uid, group=nobody.pw_gid,
                                  extra_groups=list(extra_groups), env={"PATH": "/usr/bin:/bin"})
        return nobody.pw_uid, run

    def receiver_for_nobody(self):
        group = grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name if os.geteuid() == 0 else ""
        return self.daemon("alice"), self.daemon("bob", socket_group=group)

    def test_a_user_cannot_accept_into_a_directory_they_cannot_write(self):
        if os.geteuid() != 0:
            self.skipTest("needs root")
        a, b = self.receiver_for_nobody()
        uid, nobody_cli = self.as_nobody(b)
        sender = self.start_transfer(a, b)
        number = self.offer(b)["id"]
        private = os.path.join(self.root, "private")  # root's, 0700
        os.mkdir(private, 0o700)
        locked = os.path.join(self.root, "locked")  # holds an open directory
        os.makedirs(os.path.join(locked, "open"))
        os.chmod(os.path.join(locked, "open"), 0o777)
        os.chmod(locked, 0o700)
        cases = [
            (private, f"uid {uid} may not write there"),
            (os.path.join(locked, "open"), f"uid {uid} may not search {locked}"),
            # What is in a directory nobody may search is not told, not even
            # whether it exists.
            (os.path.join(locked, "typo"), f"uid {uid} may not search {locked}"),
        ]
        for into, why in cases:
            r = nobody_cli("accept", str(number), "--to", into)
            self.assertEqual((r.returncode, r.stderr.strip()),
                             (2, f"chatcli: cannot accept into {into}: {why}"))
        self.assertEqual(os.listdir(private), [])
        self.assertEqual(os.listdir(os.path.join(locked, "open")), [])
        self.assert_still_pending(b, sender, number)
        # Through a link, the check is on the directory it leads to.
        link = os.path.join(self.root, "to-private")
        os.symlink(private, link)
        r = nobody_cli("accept", str(number), "--to", link)
        self.assertEqual((r.returncode, r.stderr.strip()),
                         (2, f"chatcli: cannot accept into {link}: uid {uid} may not write there"))
        self.assert_still_pending(b, sender, number)
        # Root may write anywhere.
        self.assert_arrives(b, sender, number, private)

    def test_a_user_may_accept_where_a_supplementary_group_lets_them_write(self):
        if os.geteuid() != 0:
            self.skipTest("needs root")
        a, b = self.receiver_for_nobody()
        _, nobody_cli = self.as_nobody(b, extra_groups=[SHARED_GID])
        sender = self.start_transfer(a, b)
        number = self.offer(b)["id"]
        shared = os.path.join(self.root, "shared")
        os.mkdir(shared)
        os.chown(shared, 0, SHARED_GID)
        os.chmod(shared, 0o770)
        self.assert_arrives(b, sender, number, shared, cli=nobody_cli)
        self.assertEqual(self.transfers(b)[0]["dir"], shared)

    def test_after_a_restart_the_directory_is_checked_again_for_who_accepted(self):
        if os.geteuid() != 0:
            self.skipTest("needs root")
        group = grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name
        # Slow, so the transfer is still under way at the restart.
        a = self.daemon("alice", transfer={"max_rate": 1000})
        b = self.daemon("bob", socket_group=group)
        uid, nobody_cli = self.as_nobody(b)
        with open(os.path.join(self.src, "big"), "wb") as f:
            f.write(os.urandom(1 << 20))
        sender = self.start_transfer(a, b)
        self.addCleanup(sender.kill)
        number = self.offer(b)["id"]
        mine = os.path.join(self.root, "mine")
        os.mkdir(mine)
        os.chown(mine, uid, -1)
        os.chmod(mine, 0o777)  # nobody's uid is the kernel's "unknown": others' bits count
        r = nobody_cli("accept", str(number), "--to", mine)
        self.assertEqual(r.returncode, 0, r.stderr)
        b.stop()
        # nobody's directory becomes a link to one only root may write.
        private = os.path.join(self.root, "private")
        os.mkdir(private, 0o700)
        os.rename(mine, mine + ".old")
        os.symlink(private, mine)
        b.start()
        [t] = self.transfers(b)
        self.assertEqual((t["state"], t["reason"]),
                         ("failed", f"cannot use {mine} after a restart: cannot accept into "
                                    f"{mine}: uid {uid} may not write there"))
        self.assertEqual(os.listdir(private), [])

    # ---- mistakes and failures -------------------------------------------

    def test_a_typo_in_accept_to_is_a_usage_error_and_the_offer_stays_pending(self):
        a, b = self.daemon("alice"), self.daemon("bob")
        sender = self.start_transfer(a, b)
        number = self.offer(b)["id"]
        typo = os.path.join(self.root, "dowmloads")
        a_file = os.path.join(self.src, "sub", "a.txt")
        for into, why in [(typo, "No such file or directory"), (a_file, "Not a directory"),
                          (os.path.join(a_file, "x"), "Not a directory")]:
            r = b.cli("accept", str(number), "--to", into, check=False)
            self.assertEqual((r.returncode, r.stderr.strip()),
                             (2, f"chatcli: cannot accept into {into}: {why}"))
            self.assert_still_pending(b, sender, number)
        downloads = os.path.join(self.root, "downloads")
        os.mkdir(downloads)
        said = self.assert_arrives(b, sender, number, downloads)
        self.assertNotIn(self.root, said)  # nothing of the receiver's paths

    def test_a_receiver_that_cannot_store_tells_the_sender_no_local_path(self):
        in_a_file = os.path.join(self.src, "sub", "a.txt", "incoming")
        a = self.daemon("alice")
        b = self.daemon("bob", transfer={"workers": 2, "accept": "all", "download_dir": in_a_file})
        sender = self.start_transfer(a, b)
        _, err = sender.communicate(timeout=60)
        self.assertEqual((sender.returncode, err.strip().splitlines()[-1]),
                         (1, f"chatcli: rejected by {b.address}: the receiver could not store the transfer"))
        [t] = self.transfers(b)
        self.assertEqual((t["state"], t["reason"]),
                         ("rejected", f"cannot use {in_a_file}: Not a directory"))

    def test_a_sender_asking_again_hears_accepted_only_once_the_accept_is_stored(self):
        # The sender re-offers every 100 ms while it waits; the receiver's
        # store is stalled across the accept, so every re-offer comes while
        # the accept is not yet durable and must go unanswered.
        a = self.daemon("alice", retry_max_ms=100)
        b = self.daemon("bob", start=False)
        b.env["CHATD_TEST_HOOKS"] = "1"
        b.start()
        sender = self.start_transfer(a, b)
        self.addCleanup(sender.kill)
        number = self.offer(b)["id"]
        downloads = os.path.join(self.root, "downloads")
        os.mkdir(downloads)
        # Not scaled by SLOW: chatcli's accept waits 5 s for its answer, which
        # must come after the stall; 3 s is still thirty re-offers.
        self.assertEqual(b.request({"cmd": "stall", "loop": "store", "seconds": 3}),
                         {"ok": True})
        commits = b.counters()["store_commits"]  # none more until the stall ends
        accept = subprocess.Popen([CHATCLI, "--socket", b.socket, "accept", str(number), "--to",
                                   downloads], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
        self.addCleanup(accept.kill)
        wait_for(lambda: self.transfers(b)[0]["state"] != "offered", what="the accept")
        offers = a.counters()["sent"]

        def heard_accepted():
            return f"transfer {number} accepted by" in a.log()

        wait_for(lambda: heard_accepted() or a.counters()["sent"] >= offers + 3,
                 what="the sender to offer again")
        # Read in this order: a sender told only after the commit has
        # seen one by the time the counter is read.
        heard = heard_accepted()
        stored = b.counters()["store_commits"] > commits
        self.assertFalse(heard and not stored, "the sender heard 'accepted' before it was stored")
        out, err = accept.communicate(timeout=30 * SLOW)
        self.assertEqual((accept.returncode, out.strip(), err),
                         (0, f"accepted transfer #{number} into {downloads}", ""))
        _, err = sender.communicate(timeout=60 * SLOW)
        self.assertEqual(sender.returncode, 0, err)
        with open(os.path.join(downloads, "src", "sub", "a.txt")) as f:
            self.assertEqual(f.read(), "a\n")
        self.assertEqual(self.transfers(b)[0]["state"], "done")


if __name__ == "__main__":
    unittest.main()
