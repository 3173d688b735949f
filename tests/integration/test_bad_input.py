"""Bad input from peers, control clients and users: counted or refused with
a clear error, never a crash, never shown as garbage, and the daemon keeps
serving."""
import json
import os
import socket
import subprocess
import time
import unittest

import sealed_peer as sp
from harness import CHATD, CHATCLI, SLOW, ChatTestCase, wait_for

MSG_ID = "00112233445566778899aabbccddeeff"


def envelope(**fields):
    return json.dumps({"chatd": sp.WIRE_VERSION, **fields}).encode()


class BadDatagramTest(ChatTestCase):
    def test_each_bad_datagram_is_counted_and_nothing_is_shown(self):
        # Each one sealed by a peer with a session: what is bad is the text inside.
        b = self.daemon("bob")
        s = sp.sealed_channel(self, b)
        bad = {
            "empty": b"",
            "invalid UTF-8": b"\xff\xfe\xfd hello",
            "invalid UTF-8 at the maximum size": b"\xff" * (65507 - sp.HEADER_LEN - sp.TAG_LEN),
            "truncated UTF-8": "café".encode()[:-1],
            "malformed JSON": b'{"chatd":1,"type":"msg",',
            "deeply nested object": b'{"a":' * 9000 + b"1" + b"}" * 9000,
            "deeply nested array": b"[" * 30000 + b"]" * 30000,
            "unknown version": envelope(chatd=99, type="msg", id=MSG_ID, text="from the future"),
            "wire 1 inside a seal": envelope(chatd=1, type="msg", id=MSG_ID, text="from the past"),
            "bad id": envelope(type="msg", id="../../etc", text="x"),
            "text not a string": envelope(type="msg", id=MSG_ID, text=["x"]),
            "JSON that is not an envelope": b'{"hello": "world"}',
        }
        for what, payload in bad.items():
            s.peer.sendto(s.session.seal(payload), (b.host, b.port))
        # An ack for an id nobody sent is ignored.
        s.send(envelope(type="ack", id=MSG_ID))
        # A legitimate message still gets through afterwards.
        s.send(envelope(type="msg", id=MSG_ID, text="still here"))
        self.assertEqual(json.loads(s.recv())["type"], "ack")
        counters = b.counters()
        self.assertEqual(counters["dropped_malformed"], len(bad), counters)
        self.assertEqual(counters["unknown_acks"], 1)
        self.assertEqual([m["text"] for m in b.inbox()], ["still here"])
        self.assertIsNone(b.proc.poll())
        print(f"bad datagrams: {len(bad)} sent, counters {counters}")

    def test_an_unsealed_envelope_is_refused_and_counted_not_acked(self):
        # What a chatd before the sealed wire sends, and the same in version 2.
        b = self.daemon("bob")
        why = sp.sealed_missing(b)
        if why:
            self.fail(why)
        s = self.udp_socket()
        for version in (1, 2):
            s.sendto(json.dumps({"chatd": version, "type": "msg", "id": MSG_ID,
                                 "text": f"unsealed {version}"}).encode(), ("127.0.0.1", b.port))
        wait_for(lambda: b.counters()[sp.COUNTERS["unsealed"]] == 2, what="both refusals")
        s.settimeout(0.5)
        self.assertRaises(TimeoutError, s.recv, 65535)  # no ack
        self.assertEqual(b.inbox(), [])
        self.assertEqual(b.counters()["received"], 0)

    def test_a_raw_transfer_offer_waits_as_pending(self):
        b = self.daemon("bob")
        s = sp.sealed_channel(self, b)
        offer = envelope(type="offer", id=MSG_ID, files=3, bytes=100, entries=4, names=["photos"])
        s.send(offer)
        answer = json.loads(s.recv())
        self.assertEqual((answer["type"], answer["id"], answer["state"]), ("answer", MSG_ID, "pending"))
        s.send(offer)  # a retry is the same transfer
        self.assertEqual(json.loads(s.recv())["state"], "pending")
        [t] = [json.loads(l) for l in b.cli("--json", "transfers").stdout.splitlines()]
        self.assertEqual((t["state"], t["files"], t["names"]), ("offered", 3, ["photos"]))
        self.assertEqual(b.inbox(), [])

    def test_largest_datagram_is_a_message(self):
        b = self.daemon("bob")
        s = self.udp_socket()
        text = "x" * 65507
        s.sendto(text.encode(), ("127.0.0.1", b.port))
        [m] = wait_for(lambda: b.inbox(), what="the 65,507-byte message")
        self.assertEqual(len(m["text"]), 65507)

    def test_datagram_larger_than_the_receive_buffer_is_detected_not_cut(self):
        b = self.daemon("bob", max_datagram_bytes=1024)
        s = self.udp_socket()
        s.sendto(b"y" * 2000, ("127.0.0.1", b.port))
        s.sendto(b"z" * 1024, ("127.0.0.1", b.port))  # exactly the buffer: fits
        wait_for(lambda: b.inbox(), what="the fitting datagram")
        self.assertEqual(b.counters()["dropped_oversize"], 1)
        self.assertEqual([len(m["text"]) for m in b.inbox()], [1024])

    def test_control_characters_are_stored_but_shown_escaped(self):
        b = self.daemon("bob")
        s = sp.sealed_channel(self, b)
        s.send(envelope(type="msg", id=MSG_ID, text="\x1b[2Jgotcha\x07", name="\x1b]0;x\x07"))
        s.recv()
        self.assertEqual(b.inbox()[0]["text"], "\x1b[2Jgotcha\x07")  # JSON keeps the data
        human = b.cli("inbox").stdout
        self.assertNotIn("\x1b", human)
        self.assertIn("^[[2Jgotcha^G", human)


class BadControlClientTest(ChatTestCase):
    def connect(self, d):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.settimeout(10 * SLOW)
        c.connect(d.socket)
        self.addCleanup(c.close)
        return c

    def request(self, d, payload):
        c = self.connect(d)
        try:
            c.sendall(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before we finished sending; the answer is waiting

        data = b""
        while not data.endswith(b"\n"):
            chunk = c.recv(65536)
            if not chunk:
                break
            data += chunk
        return json.loads(data) if data else None

    def test_bad_requests_get_an_error_reply(self):
        d = self.daemon("alice")
        cases = {
            b"this is not json\n": "request is not valid JSON",
            b"[1,2]\n": "request must be a JSON object",
            b'{"cmd":"dance"}\n': "unknown command 'dance'",
            b'{"cmd":"send","peer":"x"}\n': "missing string field 'text'",
            b'{"cmd":"send","peer":"x","text":"\xff"}\n': "request is not valid JSON",
            b"x" * (33 << 20) + b"\n": "request longer than 33554432 bytes",
        }
        for payload, error in cases.items():
            reply = self.request(d, payload)
            self.assertEqual((reply["ok"], reply["code"], reply["error"]), (False, "bad_request", error))
        self.assertEqual(d.status()["name"], "alice")

    def test_a_transfer_whose_manifest_line_is_bad_or_missing_is_refused(self):
        d = self.daemon("alice")
        head = json.dumps({"cmd": "transfer", "peer": "127.0.0.1:9", "fds": 0,
                           "manifest_follows": True}).encode() + b"\n"
        c = self.connect(d)
        c.sendall(head + b"this is no manifest\n")
        lines = c.makefile().read().splitlines()
        self.assertEqual(json.loads(lines[0]), {"send_fds": 0})
        reply = json.loads(lines[-1])
        self.assertEqual((reply["ok"], reply["code"], reply["error"]),
                         (False, "bad_request", "manifest is not a JSON object"))
        # The manifest's line never finished: nothing is offered, nothing waits on it.
        c = self.connect(d)
        c.sendall(head + b'{"version":1,"entr')
        c.close()
        self.assertEqual(d.status()["name"], "alice")
        self.assertEqual(d.request({"cmd": "transfers"}).get("transfers", []), [])

    def test_a_transfer_of_an_empty_manifest_is_refused(self):
        # Issue 18: a script speaking the protocol made an offer of nothing.
        a, b = self.daemon("alice"), self.daemon("bob")
        c = self.connect(a)
        c.sendall(json.dumps({"cmd": "transfer", "peer": b.address, "fds": 0,
                              "manifest_follows": True}).encode() + b"\n"
                  + b'{"entries":[],"version":1}\n')
        lines = c.makefile()
        self.assertEqual(json.loads(lines.readline()), {"send_fds": 0})
        reply = json.loads(lines.readline())
        self.assertEqual((reply.get("ok"), reply.get("code"), reply.get("error")),
                         (False, "bad_request", "nothing to send: the manifest is empty"))
        self.assertEqual(a.request({"cmd": "transfers"}).get("transfers", []), [])
        self.assertEqual(b.request({"cmd": "transfers"}).get("transfers", []), [])

    def test_one_connection_carries_many_requests_in_order_until_a_bad_one(self):
        a, b = self.daemon("alice"), self.daemon("bob")
        c = self.connect(a)
        sends = [json.dumps({"cmd": "send", "peer": b.address, "text": f"kept {i}", "wait": i == 2})
                 for i in range(3)]
        # Pipelined: all written before any reply is read.
        c.sendall(("\n".join(sends + ['{"cmd":"status"}', "not json", '{"cmd":"status"}']) + "\n")
                  .encode())
        replies = []
        data = b""
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break  # closed after the bad request
            data += chunk
        replies = [json.loads(line) for line in data.decode().splitlines()]
        self.assertEqual([r.get("state") for r in replies[:3]], ["queued", "queued", "delivered"])
        self.assertEqual(replies[3]["name"], "alice")
        self.assertEqual((replies[4]["ok"], replies[4]["error"]), (False, "request is not valid JSON"))
        self.assertEqual(len(replies), 5)  # nothing after the bad one
        wait_for(lambda: [m["text"] for m in b.inbox()] == ["kept 0", "kept 1", "kept 2"],
                 what="the three messages at bob")

    def test_clients_that_vanish_or_stall_do_not_block_others(self):
        d = self.daemon("alice")
        half = self.connect(d)
        half.sendall(b'{"cmd":"sta')  # never finished
        idle = self.connect(d)      # never writes, never reads
        gone = self.connect(d)
        gone.sendall(b'{"cmd":"status"')
        gone.close()                # disconnects mid-request
        self.assertEqual(d.status()["name"], "alice")
        self.assertIsNone(d.proc.poll())
        del half, idle

    def test_a_follower_that_never_reads_is_dropped(self):
        b = self.daemon("bob")
        stalled = self.connect(b)
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.sendall(b'{"cmd":"inbox","follow":true,"limit":0}\n')
        wait_for(lambda: b.status()["followers"] == 1, what="the follower")
        s = self.udp_socket()
        big = "m" * 60000
        for i in range(200):  # about 12 MB of replies it never reads
            s.sendto(f"{i} {big}".encode(), ("127.0.0.1", b.port))
            if i % 20 == 0:
                time.sleep(0.01)
        wait_for(lambda: b.status()["followers"] == 0, what="the stalled follower to be dropped")
        self.assertGreater(b.status()["counters"]["received"], 70)


class LongListingTest(ChatTestCase):
    def test_listings_larger_than_the_reply_queue_arrive_whole(self):
        b = self.daemon("bob")
        s = self.udp_socket()
        count, body = 150, "x" * 60000  # about 9 MB, twice the 4 MiB reply queue
        for i in range(count):
            s.sendto(f"{i:03} {body}".encode(), ("127.0.0.1", b.port))
            if i % 10 == 9:  # UDP: let a slow (sanitized) receiver keep up, or the kernel drops
                wait_for(lambda: b.counters()["received"] >= i - 9, what=f"message {i - 9}")
        wait_for(lambda: b.counters()["received"] == count, what="all messages")
        self.assertEqual([m["text"][:3] for m in b.inbox()], [f"{i:03}" for i in range(count)])
        self.assertEqual(len(b.history()), count)
        self.assertEqual([m["text"][:3] for m in b.inbox(limit=3)], ["147", "148", "149"])
        follower = subprocess.Popen([CHATCLI, "--socket", b.socket, "--json", "inbox", "--follow",
                                     "--limit", "1000"], stdout=subprocess.PIPE, text=True)
        try:
            seen = [json.loads(follower.stdout.readline())["text"][:3] for _ in range(count)]
            self.assertEqual(seen, [f"{i:03}" for i in range(count)])
            s.sendto(b"live one", ("127.0.0.1", b.port))
            self.assertEqual(json.loads(follower.stdout.readline())["text"], "live one")
        finally:
            follower.terminate()
            follower.wait()
            follower.stdout.close()


class BadUserInputTest(ChatTestCase):
    def test_message_over_the_size_limit_is_refused_and_nothing_sent(self):
        a, b = self.daemon("alice"), self.daemon("bob")
        r = a.cli("send", b.address, "x" * 70000, check=False)
        self.assertEqual(r.returncode, 2)
        self.assertRegex(r.stderr, r"the message is \d+ bytes as a datagram; the limit is 65507 "
                                   r"\(max_datagram_bytes\); nothing was sent")
        self.assertEqual(a.history(), [])
        self.assertEqual(a.counters()["sent"], 0)

    def test_bad_text_and_peers_are_usage_errors(self):
        a = self.daemon("alice")
        cases = [
            (["send", "127.0.0.1:1", "-"], b"\xff\xfe", "not valid UTF-8"),
            (["send", "127.0.0.1:1", "-"], b"\n", "empty message"),
            (["send", "host:99999", "x"], None, "invalid port '99999'"),
            (["send", "nosuchalias", "x"], None, "cannot resolve peer 'nosuchalias'"),
            (["history", "bad host"], None, "invalid character in host"),
        ]
        for args, stdin, error in cases:
            r = subprocess.run([CHATCLI, "--socket", a.socket, *args], input=stdin, capture_output=True,
                               timeout=30)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn(error, r.stderr.decode())
        self.assertEqual(a.history(), [])

    def test_a_transfer_to_a_chatd_from_before_the_manifest_line_is_sent_again_as_it_reads(self):
        # A daemon still running from before an upgrade refuses the request
        # whose manifest follows it; chatcli sends it again with the manifest
        # as a field, on a new connection. The fake daemon answers as one would.
        tree = os.path.join(self.root, "tree")
        os.makedirs(tree)
        with open(os.path.join(tree, "f"), "w") as f:
            f.write("x")
        path = os.path.join(self.root, "old.sock")
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        server.listen(2)
        server.settimeout(10 * SLOW)
        self.addCleanup(server.close)
        cli = subprocess.Popen([CHATCLI, "--socket", path, "--json", "transfer", "127.0.0.1:9", tree],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        requests = []
        for reply in (b'{"code":"bad_request","error":"missing string field \'manifest\'","ok":false}\n',
                      b'{"code":"failed","error":"old chatd, seen","ok":false}\n'):
            conn, _ = server.accept()
            with conn:
                requests.append(json.loads(conn.makefile().readline()))
                conn.sendall(reply)
        out, err = cli.communicate(timeout=30)
        self.assertIs(requests[0].get("manifest_follows"), True)
        self.assertNotIn("manifest", requests[0])
        self.assertEqual(json.loads(requests[1]["manifest"])["entries"][1]["p"], "tree/f")
        self.assertEqual({k: requests[1][k] for k in ("cmd", "peer", "fds")},
                         {"cmd": "transfer", "peer": "127.0.0.1:9", "fds": 1})
        self.assertEqual(cli.returncode, 1, err)  # the second answer's failure, as it came
        self.assertIn("old chatd, seen", out)

    def test_a_daemon_that_never_answers_is_not_waited_on_forever(self):
        path = os.path.join(self.root, "silent.sock")
        silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        silent.bind(path)
        silent.listen(1)
        self.addCleanup(silent.close)
        r = subprocess.run([CHATCLI, "--socket", path, "status"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertIn("chatd did not answer within 5 s", r.stderr)

    def test_unreachable_daemon_exits_3_and_says_what_was_tried(self):
        missing = os.path.join(self.root, "nope.sock")
        r = subprocess.run([CHATCLI, "--socket", missing, "status"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 3)
        self.assertIn(missing, r.stderr)
        self.assertIn("No such file or directory", r.stderr)
        self.assertIn("Start it with `chatd`", r.stderr)

    def test_bad_config_exits_2_naming_the_key_and_starts_nothing(self):
        cases = [
            ({"listne": "0.0.0.0:1"}, [], "unknown key 'listne'"),
            ({"listen": "0.0.0.0:99999"}, [], "'listen': invalid port '99999'"),
            ({"retry_max_ms": "soon"}, [], "'retry_max_ms' must be an integer"),
            ({}, ["--log-level", "loud"], "'log_level' must be one of"),
            ({}, ["--listen", "[::1"], "'listen': missing ']'"),
        ]
        for config, flags, error in cases:
            path = os.path.join(self.root, "bad.json")
            sock = os.path.join(self.root, "bad.sock")
            with open(path, "w") as f:
                json.dump({"socket": sock, "state_dir": os.path.join(self.root, "st"), **config}, f)
            r = subprocess.run([CHATD, "--config", path, *flags], capture_output=True, text=True, timeout=10)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(error, r.stderr)
            self.assertFalse(os.path.exists(sock))
        r = subprocess.run([CHATD, "--config", os.path.join(self.root, "missing.json")],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("missing.json", r.stderr)

    def test_port_in_use_and_second_daemon_on_the_socket_fail_clearly(self):
        a = self.daemon("alice")
        r = subprocess.run([CHATD, "--listen", a.address, "--socket", os.path.join(self.root, "x.sock"),
                            "--state-dir", os.path.join(self.root, "x")], capture_output=True, text=True,
                           timeout=10)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"cannot bind UDP {a.address}", r.stderr)
        r = subprocess.run([CHATD, "--listen", "127.0.0.1:0", "--socket", a.socket, "--state-dir",
                            os.path.join(self.root, "y")], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"another chatd is already listening on {a.socket}", r.stderr)
        self.assertEqual(a.status()["name"], "alice")

    def test_stale_socket_file_is_replaced(self):
        a = self.daemon("alice", start=False)
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(a.socket)
        stale.close()  # leaves the file behind, as a crash would
        a.start()
        self.assertEqual(oct(os.stat(a.socket).st_mode & 0o777), "0o600")


if __name__ == "__main__":
    unittest.main()
