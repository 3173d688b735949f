"""Each sender's messages are shown in the order it sent them, whatever
order the datagrams arrive in: a sealed Python peer (sealed_peer.py) plays
the sender, so the test picks the order, the losses and the floors; then two
real daemons."""
import json
import subprocess
import time
import unittest

import sealed_peer as sp
from harness import CHATCLI, ChatTestCase, wait_for

STREAM = "5" * 32


def envelope(seq, floor, text=None, stream=STREAM):
    msg_id = f"{seq:032x}" if stream == STREAM else f"{seq:016x}{stream[:16]}"
    return sp.msg(msg_id, text or f"m{seq}", name="raw", stream=stream, seq=seq, floor=floor)


class MessageOrderTest(ChatTestCase):
    def send(self, s, daemon, seq, floor, **kwargs):
        """Sends one ordered message and waits for its ack: held or not, it is stored."""
        s.send(envelope(seq, floor, **kwargs))
        ack = json.loads(s.recv())
        self.assertEqual(ack["type"], "ack")

    def shown(self, daemon):
        return [m["text"] for m in daemon.inbox()]

    def test_a_message_ahead_of_a_gap_waits_for_it_and_both_show_in_order(self):
        b = self.daemon("bob")
        s = sp.sealed_channel(self, b)
        self.send(s, b, 1, 1)
        self.send(s, b, 3, 1)
        self.send(s, b, 4, 1)
        self.assertEqual(self.shown(b), ["m1"])  # acked, stored, not shown yet
        self.send(s, b, 2, 1)
        self.assertEqual(self.shown(b), ["m1", "m2", "m3", "m4"])
        self.send(s, b, 3, 1)  # a late copy: acked again, shown once
        self.assertEqual(self.shown(b), ["m1", "m2", "m3", "m4"])
        counters = b.counters()
        self.assertEqual((counters["received"], counters["duplicates"]), (4, 1))

    def test_the_floor_releases_what_waits_for_a_message_the_sender_gave_up(self):
        b = self.daemon("bob")
        s = sp.sealed_channel(self, b)
        self.send(s, b, 1, 1)
        self.send(s, b, 3, 2)
        self.assertEqual(self.shown(b), ["m1"])
        self.send(s, b, 4, 3)  # 2 expired at the sender: nothing below 3 will come
        self.assertEqual(self.shown(b), ["m1", "m3", "m4"])

    def test_a_follower_sees_the_same_order(self):
        b = self.daemon("bob")
        s = sp.sealed_channel(self, b)
        follow = subprocess.Popen([CHATCLI, "--socket", b.socket, "--json", "inbox", "--follow"],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(follow.stdout.close)
        self.addCleanup(follow.wait)
        self.addCleanup(follow.terminate)
        wait_for(lambda: b.status()["followers"] == 1, what="the follower")
        for seq in (3, 2, 1):
            self.send(s, b, seq, 1)
        lines = [json.loads(follow.stdout.readline())["text"] for _ in range(3)]
        self.assertEqual(lines, ["m1", "m2", "m3"])

    def test_what_waits_survives_a_restart(self):
        b = self.daemon("bob")
        s = sp.sealed_channel(self, b)
        self.send(s, b, 1, 1)
        self.send(s, b, 3, 1)
        b.kill()
        b.start()
        s.connect()  # the restarted daemon knows no session: a new handshake
        self.assertEqual(self.shown(b), ["m1"])
        self.send(s, b, 2, 1)
        self.assertEqual(self.shown(b), ["m1", "m2", "m3"])

    def test_a_gap_that_never_fills_is_skipped_after_the_hold_limit(self):
        # retry_max_ms 400 in the harness: a gap is given 1.6 s.
        b = self.daemon("bob")
        s = sp.sealed_channel(self, b)
        self.send(s, b, 1, 1)
        self.send(s, b, 3, 1)
        started = time.monotonic()
        self.assertEqual(self.shown(b), ["m1"])
        wait_for(lambda: self.shown(b) == ["m1", "m3"], timeout=10, interval=0.1,
                 what="the held message to show after the hold limit")
        self.assertGreater(time.monotonic() - started, 1.0)
        self.assertIn("never came", b.log())

    def test_streams_are_apart_and_unordered_messages_show_at_once(self):
        b = self.daemon("bob")
        s = sp.sealed_channel(self, b)
        self.send(s, b, 2, 1)  # waits for 1 of STREAM
        self.send(s, b, 1, 1, stream="6" * 32)  # another sender's store
        s.send(sp.msg("a" * 32, "old peer"))  # no order stamp, as a chatd before order sent
        s.recv()
        self.assertEqual(self.shown(b), ["m1", "old peer"])


class DaemonOrderTest(ChatTestCase):
    def test_a_burst_to_a_peer_that_comes_back_is_shown_in_send_order(self):
        # Sent while bob is down, so every message waits in the outbox and
        # the retries race; bob must still show them in order.
        a = self.daemon("alice")
        b = self.daemon("bob")
        port = b.port
        b.stop()
        for i in range(60):
            a.cli("send", "--no-wait", f"127.0.0.1:{port}", f"n{i:02d}")
        b.start()
        wait_for(lambda: len(b.inbox()) == 60, timeout=30, what="all 60 messages at bob")
        self.assertEqual([m["text"] for m in b.inbox()], [f"n{i:02d}" for i in range(60)])
        wait_for(lambda: a.status()["outbox"] == 0, what="alice's outbox to empty")


if __name__ == "__main__":
    unittest.main()
