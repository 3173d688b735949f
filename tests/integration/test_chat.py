"""Two real daemons on loopback: acks, duplicates, the durable outbox,
restarts, aliases, following the inbox."""
import grp
import json
import os
import signal
import socket
import sqlite3
import subprocess
import time
import unittest

import sealed_peer as sp
from harness import CHATCLI, CHATD, SLOW, ChatTestCase, free_udp_port, wait_for

MSG_ID = "00112233445566778899aabbccddeeff"


class ChatTest(ChatTestCase):
    def test_send_waits_for_the_ack_and_is_shown_once(self):
        a, b = self.daemon("alice"), self.daemon("bob")
        r = a.cli("send", b.address, "hello bob")
        self.assertEqual(r.stdout.strip(), f"delivered to {b.address}")
        [m] = b.inbox()
        self.assertEqual((m["text"], m["from"], m["name"], m["plain"]), ("hello bob", a.address, "alice", False))
        self.assertRegex(m["ts"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        [h] = a.history()
        self.assertEqual((h["direction"], h["to"], h["state"]), ("out", b.address, "delivered"))
        self.assertEqual(a.counters()["acked"], 1)
        self.assertEqual(b.counters()["received"], 1)
        human = b.cli("inbox").stdout
        self.assertIn(f"alice ({a.address}): hello bob", human)

    def test_send_json_reply(self):
        a, b = self.daemon("alice"), self.daemon("bob")
        reply = json.loads(a.cli("--json", "send", b.address, "hi").stdout)
        self.assertEqual((reply["ok"], reply["state"], reply["to"]), (True, "delivered", b.address))
        self.assertRegex(reply["id"], "^[0-9a-f]{32}$")

    def test_text_from_stdin(self):
        a, b = self.daemon("alice"), self.daemon("bob")
        a.cli("send", b.address, "-", input="long text\nsecond line\n")
        self.assertEqual(b.inbox()[0]["text"], "long text\nsecond line")

    def test_burst_of_messages_each_stored_once(self):
        a, b = self.daemon("alice"), self.daemon("bob")
        count = 200
        for i in range(count):
            a.cli("send", "--no-wait", b.address, f"message {i}")
        wait_for(lambda: len(b.inbox()) >= count, what="all messages to arrive")
        texts = [m["text"] for m in b.inbox()]
        self.assertEqual(sorted(texts), sorted(f"message {i}" for i in range(count)))
        wait_for(lambda: a.status()["outbox"] == 0, what="every ack")
        self.assertTrue(all(h["state"] == "delivered" for h in a.history()))
        print(f"burst: {count} sent, {len(texts)} shown, counters {b.counters()}")

    def test_delivered_marks_are_folded_into_the_rows_once_the_daemon_is_idle(self):
        # An ack writes a run to the `delivered` table; the store thread
        # writes the runs into the messages' rows when nothing else comes.
        a, b = self.daemon("alice"), self.daemon("bob")
        a.cli("send", b.address, "-", "--lines", input="".join(f"line {i}\n" for i in range(300)))
        wait_for(lambda: a.status()["outbox"] == 0, what="every ack")
        self.assertTrue(all(h["state"] == "delivered" for h in a.history()))
        db = os.path.join(a.dir, "state", "chatd.db")

        def counts():
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as c:
                return (c.execute("SELECT count(*) FROM delivered").fetchone()[0],
                        c.execute("SELECT count(*) FROM messages WHERE direction = 'out' "
                                  "AND state = 'delivered' AND acked_ts IS NOT NULL").fetchone()[0])

        wait_for(lambda: counts() == (0, 300), what="the runs folded into the rows")
        self.assertTrue(all(h["state"] == "delivered" for h in a.history()))

    def test_a_burst_is_stored_in_batches_not_one_fsync_each(self):
        b = self.daemon("bob")
        s = sp.sealed_channel(self, b)
        s.settimeout(0.2)
        count = 2000
        unacked = {"%032x" % (i + 1): f"burst {i}" for i in range(count)}
        started = time.monotonic()
        for _ in range(50):  # resend what was not acked, as a real sender does
            for n, (msg_id, text) in enumerate(list(unacked.items())):
                s.send(sp.msg(msg_id, text))  # sealed afresh, a new counter each time
                if n % 200 == 199:
                    time.sleep(0.002)
            try:
                while unacked:
                    # Acks of datagrams that arrived together come bundled.
                    for line in s.recv().decode().splitlines():
                        unacked.pop(json.loads(line)["id"], None)
            except TimeoutError:
                pass
            if not unacked:
                break
        elapsed = time.monotonic() - started
        self.assertEqual(unacked, {})
        c = b.counters()
        self.assertEqual(c["received"], count)
        print(f"burst: {count} messages stored and acked in {elapsed:.2f}s with {c['store_commits']} "
              f"commits ({count / c['store_commits']:.0f} per commit)")
        # One commit a message would be 2,000 or more (retries add to it).
        # How many share one depends on how fast the receiver thread hands
        # them over: about 45 in a release build, 3 to 17 under TSan.
        self.assertLessEqual(c["store_commits"], count / 2)

    def test_duplicated_datagram_is_acked_each_time_and_shown_once(self):
        b = self.daemon("bob")
        s = sp.sealed_channel(self, b)
        envelope = sp.msg(MSG_ID, "once", name="raw")
        for _ in range(3):  # a retry: the same envelope, sealed afresh
            s.send(envelope)
            ack = json.loads(s.recv())
            self.assertEqual(ack, {"chatd": 2, "type": "ack", "id": MSG_ID})
        self.assertEqual([m["text"] for m in b.inbox()], ["once"])
        self.assertEqual(b.counters()["duplicates"], 2)
        # Also after a restart, when only the store remembers the id.
        b.stop()
        b.start()
        s.connect()  # the restarted daemon knows no session: a new handshake
        s.send(envelope)
        self.assertEqual(json.loads(s.recv())["id"], MSG_ID)
        self.assertEqual(len(b.inbox()), 1)

    def test_a_batch_is_one_request_delivered_in_order_in_few_datagrams(self):
        a, b = self.daemon("alice"), self.daemon("bob")
        texts = [f"batch {i}" for i in range(300)]
        line = a.request_line({"cmd": "send", "peer": b.address, "texts": texts})
        reply = json.loads(line)
        self.assertEqual((reply["ok"], reply["state"], reply["to"]), (True, "delivered", b.address))
        # Written by hand, as the other replies are by json: keys sorted, compact.
        self.assertEqual(line, json.dumps(reply, sort_keys=True, separators=(",", ":")) + "\n")
        self.assertEqual(len(set(reply["ids"])), 300)
        self.assertEqual([m["text"] for m in b.inbox()], texts)
        self.assertEqual([h["text"] for h in a.history()], texts)
        self.assertTrue(all(h["state"] == "delivered" for h in a.history()))
        sent, acks = a.counters()["sent"], b.counters()["sent"]
        print(f"batch: 300 messages in {sent} datagrams, acked in {acks}")
        self.assertLessEqual(sent, 300 / 4)
        self.assertLessEqual(acks, 300 / 4)

    def test_a_batch_with_a_bad_message_sends_none_of_it(self):
        a, b = self.daemon("alice"), self.daemon("bob")
        reply = a.request({"cmd": "send", "peer": b.address, "texts": ["fine", "", "also fine"]})
        self.assertEqual(reply, {"ok": False, "code": "bad_request",
                                 "error": "message 2 of 3 is empty; nothing was sent"})
        self.assertEqual((a.history(), b.inbox()), ([], []))

    def test_a_batch_to_a_stopped_peer_times_out_then_arrives_in_order(self):
        a = self.daemon("alice")
        b = self.daemon("bob", start=False, port=free_udp_port())
        reply = a.request({"cmd": "send", "peer": b.address, "texts": ["one", "two", "three"],
                           "timeout": 0.5})
        self.assertEqual((reply["ok"], reply["code"], reply["delivered"], len(reply["ids"])),
                         (False, "timeout", 0, 3))
        self.assertIn(f"3 of 3 messages were not acknowledged by {b.address} within 0.5 s; "
                      "they stay in the outbox and are retried until ", reply["error"])
        b.start()
        wait_for(lambda: len(b.inbox()) == 3, what="the queued batch")
        self.assertEqual([m["text"] for m in b.inbox()], ["one", "two", "three"])

    def test_send_lines_sends_each_line_of_stdin_in_order(self):
        a, b = self.daemon("alice"), self.daemon("bob")
        lines = [f"line {i}" for i in range(2500)]
        r = a.cli("send", "--lines", b.address, "-", input="\n".join(lines[:10]) + "\n\n" +
                  "\n".join(lines[10:]) + "\n")
        self.assertEqual(r.stdout.splitlines(), [f"delivered 1000 messages to {b.address}"] * 2 +
                         [f"delivered 500 messages to {b.address}"])
        self.assertEqual([m["text"] for m in b.inbox()], lines)
        # A line that is not UTF-8 stops the command there, after sending what came before.
        r = subprocess.run([CHATCLI, "--socket", a.socket, "send", "--lines", b.address, "-"],
                           input=b"before\n\xff\xfe\nafter\n", capture_output=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"line 2 is not valid UTF-8; it and the lines after it were not sent", r.stderr)
        self.assertEqual(b.inbox()[-1]["text"], "before")
        self.assertEqual(len(b.inbox()), 2501)

    def test_a_bundle_datagram_is_stored_whole_and_acked_in_one_datagram(self):
        b = self.daemon("bob")
        s = sp.sealed_channel(self, b)
        ids = ["%032x" % (i + 1) for i in range(3)]
        lines = [sp.msg(msg_id, f"bundled {n}") for n, msg_id in enumerate(ids)]
        s.send("\n".join(lines[:2] + ['{"chatd":2,"type":"msg"}'] + lines[2:]))
        acks = s.recv_envelopes()
        self.assertEqual(acks, [{"chatd": 2, "type": "ack", "id": msg_id} for msg_id in ids])
        self.assertEqual([m["text"] for m in b.inbox()], ["bundled 0", "bundled 1", "bundled 2"])
        self.assertEqual(b.counters()["dropped_malformed"], 1)

    def test_message_to_a_stopped_peer_is_delivered_when_it_starts(self):
        a = self.daemon("alice")
        b = self.daemon("bob", start=False, port=free_udp_port())
        r = a.cli("send", "--timeout", "0.5", b.address, "are you there?", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no acknowledgement from", r.stderr)
        self.assertIn("stays in the outbox", r.stderr)
        self.assertEqual(a.status()["outbox"], 1)
        b.start()
        wait_for(lambda: b.inbox(), what="the queued message")
        self.assertEqual([m["text"] for m in b.inbox()], ["are you there?"])
        wait_for(lambda: a.history()[0]["state"] == "delivered", what="the ack")
        self.assertGreater(a.counters()["retried"], 0)

    def test_outbox_survives_a_sender_restart_and_a_kill(self):
        a = self.daemon("alice")
        b = self.daemon("bob", start=False, port=free_udp_port())
        a.cli("send", "--no-wait", b.address, "before restart")
        self.assertEqual(a.stop(), 0)
        a.start()
        a.cli("send", "--no-wait", b.address, "before kill")
        a.kill()
        a.start()
        self.assertEqual(a.status()["outbox"], 2)
        b.start()
        wait_for(lambda: len(b.inbox()) == 2, what="both queued messages")
        self.assertEqual(sorted(m["text"] for m in b.inbox()), ["before kill", "before restart"])
        wait_for(lambda: a.status()["outbox"] == 0, what="the acks")

    def test_restart_keeps_history_and_removes_the_socket(self):
        a, b = self.daemon("alice"), self.daemon("bob")
        a.cli("send", b.address, "kept")
        self.assertEqual(b.stop(), 0)
        self.assertFalse(os.path.exists(b.socket))
        b.start()
        self.assertEqual([m["text"] for m in b.inbox()], ["kept"])
        self.assertEqual(a.history()[0]["state"], "delivered")

    def test_sigint_and_sigterm_stop_cleanly(self):
        a = self.daemon("alice")
        self.assertEqual(a.stop(signal.SIGINT), 0)
        self.assertFalse(os.path.exists(a.socket))
        self.assertIn("SIGINT: stopping", a.log())
        a.start()
        self.assertEqual(a.stop(signal.SIGTERM), 0)
        self.assertIn("SIGTERM: stopping", a.log())

    def test_socket_is_private_or_shared_with_the_configured_group(self):
        a = self.daemon("alice")
        self.assertEqual(os.stat(a.socket).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(a.config["state_dir"]).st_mode & 0o777, 0o700)
        group = grp.getgrgid(os.getgid()).gr_name
        b = self.daemon("bob", socket_group=group)
        st = os.stat(b.socket)
        self.assertEqual((st.st_mode & 0o777, st.st_gid), (0o660, os.getgid()))
        r = subprocess.run([CHATD, "--listen", "127.0.0.1:0", "--socket", os.path.join(self.root, "g.sock"),
                            "--state-dir", os.path.join(self.root, "g"), "--config", self.write_json(
                                {"socket_group": "no-such-group-here"})], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 1)
        self.assertIn("socket_group 'no-such-group-here' does not exist", r.stderr)

    def write_json(self, doc):
        path = os.path.join(self.root, "extra.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        return path

    def test_unacked_message_expires(self):
        a = self.daemon("alice", outbox_ttl_seconds=1)
        port = free_udp_port()
        a.cli("send", "--no-wait", f"127.0.0.1:{port}", "into the void")
        wait_for(lambda: a.history()[0]["state"] == "expired", what="expiry")
        self.assertEqual(a.counters()["expired"], 1)
        self.assertEqual(a.status()["outbox"], 0)

    def test_alias_from_config(self):
        b = self.daemon("bob")
        a = self.daemon("alice", peers={"bob": b.address})
        a.cli("send", "bob", "via alias")
        self.assertEqual(b.inbox()[0]["text"], "via alias")
        self.assertEqual(a.history("bob")[0]["text"], "via alias")
        peers = json.loads(a.cli("--json", "peers").stdout)
        self.assertEqual(peers["aliases"], {"bob": b.address})

    def test_peers_shows_who_was_seen(self):
        a, b = self.daemon("alice"), self.daemon("bob")
        a.cli("send", b.address, "hi")
        [p] = json.loads(b.cli("--json", "peers").stdout)["peers"]
        self.assertEqual((p["address"], p["name"], p["speaks"]), (a.address, "alice", "chatd"))
        self.assertIn(a.address, b.cli("peers").stdout)

    def test_peer_by_host_name(self):
        a, b = self.daemon("alice"), self.daemon("bob")
        a.cli("send", f"localhost:{b.port}", "by name")
        self.assertEqual(b.inbox()[0]["text"], "by name")

    def test_ipv6_loopback(self):
        if not socket.has_ipv6:
            self.skipTest("no IPv6")
        try:
            free_udp_port("::1")
        except OSError:
            self.skipTest("no ::1 on this machine")
        a, b = self.daemon("alice", host="::1"), self.daemon("bob", host="::1")
        a.cli("send", b.address, "over v6")
        self.assertEqual(b.inbox()[0]["from"], a.address)

    def test_dual_stack_listener_talks_to_ipv4(self):
        try:
            free_udp_port("::")
        except OSError:
            self.skipTest("no IPv6")
        a = self.daemon("alice", host="::")
        b = self.daemon("bob")
        a.cli("send", b.address, "from dual stack")
        [m] = b.inbox()
        self.assertEqual(m["from"], f"127.0.0.1:{a.port}")
        b.cli("send", f"127.0.0.1:{a.port}", "back to it")
        self.assertEqual(a.inbox()[0]["from"], b.address)

    def test_ipv4_listener_refuses_an_ipv6_peer_clearly(self):
        a = self.daemon("alice")
        r = a.cli("send", "[::1]:7890", "x", check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("cannot reach IPv6 peer", r.stderr)

    def test_inbox_follow_streams_new_messages(self):
        a, b = self.daemon("alice"), self.daemon("bob")
        a.cli("send", b.address, "old")
        follower = subprocess.Popen([CHATCLI, "--socket", b.socket, "--json", "inbox", "--follow", "--limit", "1"],
                                    stdout=subprocess.PIPE, text=True)
        try:
            self.assertEqual(json.loads(follower.stdout.readline())["text"], "old")
            wait_for(lambda: b.status()["followers"] == 1, what="the follower")
            for text in ("new 1", "new 2"):
                a.cli("send", b.address, text)
                self.assertEqual(json.loads(follower.stdout.readline())["text"], text)
        finally:
            follower.terminate()
            follower.wait()
            follower.stdout.close()
        wait_for(lambda: b.status()["followers"] == 0, what="the hung-up follower to be dropped")

    def test_history_both_directions_with_state(self):
        a, b = self.daemon("alice"), self.daemon("bob")
        a.cli("send", b.address, "ping")
        b.cli("send", a.address, "pong")
        h = a.history(b.address)
        self.assertEqual([(m["direction"], m["text"]) for m in h], [("out", "ping"), ("in", "pong")])
        self.assertEqual(h[0]["state"], "delivered")
        human = a.cli("history").stdout
        self.assertIn(f"-> {b.address}: ping  (delivered)", human)

    def test_an_ack_that_beats_the_outbox_commit_still_marks_it_delivered(self):
        a, b = self.daemon("alice", start=False), self.daemon("bob")
        a.env["CHATD_TEST_HOOKS"] = "1"
        a.start()
        # The outbox commit waits behind the stalled store thread while the
        # datagram leaves: bob's ack comes first and waits for the row.
        self.assertTrue(a.request({"cmd": "stall", "loop": "store", "seconds": 1.0 * SLOW})["ok"])
        reply = a.request({"cmd": "send", "peer": b.address, "texts": ["early 1", "early 2"],
                           "wait": True, "timeout": 10 * SLOW})
        self.assertEqual(reply["state"], "delivered", reply)
        self.assertEqual(a.counters()["acked"], 2)
        self.assertEqual([(m["text"], m["state"]) for m in a.history(b.address)],
                         [("early 1", "delivered"), ("early 2", "delivered")])
        a.stop()
        a.start()  # the state is stored, not only shown
        self.assertEqual([m["state"] for m in a.history(b.address)], ["delivered", "delivered"])
        self.assertEqual(a.status()["outbox"], 0)


if __name__ == "__main__":
    unittest.main()
