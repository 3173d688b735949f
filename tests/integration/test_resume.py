"""Transfers interrupted on purpose: a daemon SIGKILLed on either side mid-
file, then resumed to an identical result; cancel from either side stops
the workers and leaves nothing behind. The sender is held to a byte rate
(transfer.max_rate) so that "mid-transfer" is a moment a test can catch."""
import json
import os
import subprocess
import unittest

from harness import CHATCLI, ChatTestCase, wait_for
from test_transfer import snapshot

MIB = 1 << 20
BLOB = 16 * MIB
RATE = 8 * MIB  # per transfer: the blob's job gets half, so about 4 s


class ResumeTest(ChatTestCase):
    def setUp(self):
        super().setUp()
        self.src = os.path.join(self.root, "big")
        os.makedirs(os.path.join(self.src, "sub"))
        with open(os.path.join(self.src, "blob"), "wb") as f:
            for _ in range(BLOB // MIB):
                f.write(os.urandom(MIB))
        with open(os.path.join(self.src, "sub", "small.txt"), "w") as f:
            f.write("small\n")

    def pair(self, sender_config=None, receiver_config=None):
        a = self.daemon("alice", transfer={"workers": 2, "max_rate": RATE, **(sender_config or {})})
        b = self.daemon("bob", transfer={"workers": 2, "accept": "all", **(receiver_config or {})})
        return a, b

    def start_transfer(self, a, b):
        return subprocess.Popen([CHATCLI, "--socket", a.socket, "--json", "transfer", b.address, self.src],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def transfers(self, d):
        return [json.loads(l) for l in d.cli("--json", "transfers").stdout.splitlines()]

    def wait_mid_transfer(self, b):
        """Until the receiver has some of the blob but not all of it."""
        def mid():
            t = self.transfers(b)
            return t and 4 * MIB <= t[0].get("bytes_done", 0) < BLOB and t[0]
        return wait_for(mid, timeout=20, interval=0.02, what="the transfer to be under way")

    def incoming(self, b):
        return os.path.join(b.dir, "state", "incoming")

    def test_a_sender_killed_mid_transfer_resumes_when_the_same_paths_are_sent_again(self):
        a, b = self.pair()
        first = self.start_transfer(a, b)
        self.wait_mid_transfer(b)
        a.kill()
        first.communicate(timeout=30)
        self.assertNotEqual(first.returncode, 0)  # its daemon died under it

        a.start()
        [t] = self.transfers(a)
        self.assertEqual(t["state"], "interrupted")
        self.assertIn("send the same paths again to resume", t["reason"])

        again = self.start_transfer(a, b)
        out, err = again.communicate(timeout=120)
        self.assertEqual(again.returncode, 0, err)
        events = [json.loads(l) for l in out.splitlines()]
        offered = next(e for e in events if e.get("event") == "offered")
        done = next(e for e in events if e.get("event") == "done")
        self.assertEqual((offered["id"], offered["resumed"]), (t["id"], True))
        self.assertEqual(done["placed"], ["big"])
        # Only what the receiver did not have crossed the wire again (the
        # small file too, if it had not gone yet: with two workers one send
        # job runs at a time, the other worker being kept for receiving).
        self.assertLessEqual(done["sent_bytes"], BLOB - 4 * MIB + len("small\n"))
        # What was there already is not shown as speed (it was 3-4 times the cap).
        rates = [e["rate"] for e in events if e.get("event") == "progress"]
        self.assertLess(max(rates), 2 * RATE, rates)
        print(f"progress rates of the resumed run: {[round(r / MIB, 1) for r in rates]} MiB/s")
        print(f"resume after the sender's SIGKILL: {done['sent_bytes']} of {done['bytes']} bytes sent again")

        [received] = self.transfers(b)  # the same transfer, not a second one
        self.assertEqual(received["state"], "done")
        self.assertEqual(snapshot(os.path.join(self.incoming(b), "big")), snapshot(self.src))
        self.assertEqual(os.listdir(self.incoming(b)), ["big"])  # no staging left
        self.assertEqual(a.status()["workers"]["restarts"], 0)

    def test_a_receiver_killed_mid_transfer_is_resumed_by_the_running_sender(self):
        a, b = self.pair()
        sender = self.start_transfer(a, b)
        self.wait_mid_transfer(b)
        b.kill()
        b.start()  # same port, same state directory
        out, err = sender.communicate(timeout=120)
        self.assertEqual(sender.returncode, 0, err)
        done = [json.loads(l) for l in out.splitlines() if '"event":"done"' in l][0]
        self.assertLess(done["sent_bytes"], done["bytes"])
        wait_for(lambda: self.transfers(b)[0]["state"] == "done", what="publish")
        self.assertEqual(snapshot(os.path.join(self.incoming(b), "big")), snapshot(self.src))
        self.assertEqual(os.listdir(self.incoming(b)), ["big"])
        self.assertIn("resuming it", a.log())

    def test_the_sender_cancels_mid_transfer(self):
        a, b = self.pair()
        sender = self.start_transfer(a, b)
        self.wait_mid_transfer(b)
        [t] = self.transfers(a)
        r = a.cli("cancel", str(t["id"]))
        self.assertEqual(r.stdout.strip(), f"cancelled transfer #{t['id']}")
        out, _ = sender.communicate(timeout=30)
        self.assertEqual(sender.returncode, 1)
        self.assertEqual(json.loads(out.splitlines()[-1])["error"], "cancelled by the sender")
        received = wait_for(lambda: (t := self.transfers(b)[0])["state"] == "cancelled" and t,
                            what="the receiver to hear of it")
        self.assertEqual(received["reason"], "cancelled by the sender")
        # The job stopped at once (it had seconds left), and nothing stays.
        wait_for(lambda: a.status()["workers"]["busy"] == 0, timeout=2, what="the sending job to stop")
        wait_for(lambda: b.status()["workers"]["busy"] == 0, timeout=40, what="the receiving job to end")
        self.assertEqual(os.listdir(self.incoming(b)), [])
        self.assertEqual(a.status()["workers"]["restarts"], 0)
        r = a.cli("cancel", str(t["id"]), check=False)
        self.assertEqual((r.returncode, r.stderr.strip()),
                         (1, f"chatcli: transfer {t['id']} is cancelled already"))

    def test_the_receiver_cancels_mid_transfer(self):
        a, b = self.pair()
        sender = self.start_transfer(a, b)
        received = self.wait_mid_transfer(b)
        b.cli("cancel", str(received["id"]))
        out, _ = sender.communicate(timeout=60)
        self.assertEqual(sender.returncode, 1)
        self.assertEqual(json.loads(out.splitlines()[-1])["error"],
                         f"stopped by {b.address}: cancelled by the receiver")
        self.assertEqual(os.listdir(self.incoming(b)), [])
        wait_for(lambda: a.status()["workers"]["busy"] == 0, timeout=5, what="the sending job to stop")
        r = b.cli("reject", str(received["id"]), check=False)
        self.assertEqual(r.returncode, 1)

    def assert_sent_again_as_a_new_offer(self, a, b, first_id):
        """The same paths after a cancel: a new transfer, not a resume."""
        again = self.start_transfer(a, b)
        out, err = again.communicate(timeout=120)
        self.assertEqual(again.returncode, 0, err)
        offered = next(json.loads(l) for l in out.splitlines() if '"event":"offered"' in l)
        self.assertFalse(offered["resumed"])
        self.assertNotEqual(offered["id"], first_id)
        self.assertEqual([t["state"] for t in self.transfers(b)], ["cancelled", "done"])

    def test_after_the_receiver_cancels_the_same_paths_make_a_new_offer(self):
        a, b = self.pair(sender_config={"max_rate": 2 * RATE})
        sender = self.start_transfer(a, b)
        received = self.wait_mid_transfer(b)
        b.cli("cancel", str(received["id"]))
        sender.communicate(timeout=60)
        self.assertEqual(sender.returncode, 1)
        [t] = self.transfers(a)
        self.assertEqual((t["state"], t["reason"]),
                         ("rejected", f"stopped by {b.address}: cancelled by the receiver"))
        self.assert_sent_again_as_a_new_offer(a, b, t["id"])

    def test_after_the_sender_cancels_the_same_paths_make_a_new_offer(self):
        a, b = self.pair(sender_config={"max_rate": 2 * RATE})
        sender = self.start_transfer(a, b)
        self.wait_mid_transfer(b)
        [t] = self.transfers(a)
        a.cli("cancel", str(t["id"]))
        sender.communicate(timeout=60)
        wait_for(lambda: self.transfers(b)[0]["state"] == "cancelled", what="the receiver to hear of it")
        self.assert_sent_again_as_a_new_offer(a, b, t["id"])

    def test_a_cancel_while_the_sender_was_restarted_is_not_resumed(self):
        a, b = self.pair(sender_config={"max_rate": 2 * RATE})
        first = self.start_transfer(a, b)
        received = self.wait_mid_transfer(b)
        a.kill()
        first.communicate(timeout=30)
        a.start()
        self.assertEqual(self.transfers(a)[0]["state"], "interrupted")
        b.cli("cancel", str(received["id"]))
        t = wait_for(lambda: (t := self.transfers(a)[0])["state"] == "rejected" and t,
                     what="the sender to hear of the cancel")
        self.assertEqual(t["reason"], f"rejected by {b.address}: cancelled by the receiver")
        self.assert_sent_again_as_a_new_offer(a, b, t["id"])

    def test_transfers_are_remembered_across_a_restart(self):
        a, b = self.pair(sender_config={"max_rate": 0})
        sender = self.start_transfer(a, b)
        out, err = sender.communicate(timeout=60)
        self.assertEqual(sender.returncode, 0, err)
        files = [json.loads(l) for l in out.splitlines() if '"event":"file"' in l]
        self.assertEqual(sorted(f["path"] for f in files), ["big/blob", "big/sub/small.txt"])
        wait_for(lambda: self.transfers(b)[0]["state"] == "done", what="publish")
        before = (self.transfers(a), self.transfers(b))
        a.stop()
        b.stop()
        a.start()
        b.start()
        after = (self.transfers(a), self.transfers(b))
        # A finished transfer still shows every file done, on both sides.
        keys = ("id", "state", "placed", "files", "files_done", "bytes", "bytes_done")
        self.assertEqual([[t.get(k) for k in keys] for t in after[0]],
                         [[t.get(k) for k in keys] for t in before[0]])
        self.assertEqual([[t.get(k) for k in keys + ("dir",)] for t in after[1]],
                         [[t.get(k) for k in keys + ("dir",)] for t in before[1]])
        self.assertEqual(after[1][0]["files_done"], after[1][0]["files"])
        # Sending the same paths again is a new transfer once the last one is done.
        again = self.start_transfer(a, b)
        out, err = again.communicate(timeout=60)
        self.assertEqual(again.returncode, 0, err)
        done = [json.loads(l) for l in out.splitlines() if '"event":"done"' in l][0]
        self.assertEqual(done["placed"], ["big (1)"])
        self.assertEqual(done["id"], before[0][0]["id"] + 1)


if __name__ == "__main__":
    unittest.main()
