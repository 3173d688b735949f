"""The sealed datagram layer (issue 20) between two real daemons on
loopback: a handshake before the first message, unsealed envelopes refused
and counted, sessions rekeyed on their schedule while the chat goes on."""
import json
import os
import socket
import struct
import time
import unittest

from harness import SLOW, ChatTestCase, wait_for

MSG_ID = "00112233445566778899aabbccddeeff"


class SealTest(ChatTestCase):
    def test_chat_goes_over_a_completed_handshake(self):
        a, b = self.daemon("alice"), self.daemon("bob")
        a.cli("send", b.address, "sealed hello")
        self.assertEqual([m["text"] for m in b.inbox()], ["sealed hello"])
        self.assertGreaterEqual(a.counters()["handshakes_completed"], 1)
        self.assertGreaterEqual(b.counters()["handshakes_completed"], 1)
        b.cli("send", a.address, "and back")
        self.assertEqual([m["text"] for m in a.inbox()], ["and back"])
        for d in (a, b):
            c = d.counters()
            self.assertEqual((c["bad_mac"], c["replayed"], c["refused_key"]), (0, 0, 0))

    def test_an_unsealed_envelope_is_refused_and_counted(self):
        b = self.daemon("bob")
        s = self.udp_socket()
        s.settimeout(0.5 * SLOW)
        for version in (1, 2):
            envelope = {"chatd": version, "type": "msg", "id": MSG_ID, "text": "in clear"}
            s.sendto(json.dumps(envelope).encode(), ("127.0.0.1", b.port))
        with self.assertRaises(TimeoutError):
            s.recv(65535)  # no ack
        wait_for(lambda: b.counters()["refused_unsealed"] == 2, what="two refusals")
        self.assertEqual(b.inbox(), [])
        # One line per peer says why.
        self.assertEqual(b.log().count("older chatd speaking wire 1"), 1)

    def test_plain_text_from_a_plain_peer_still_shows(self):
        b = self.daemon("bob")
        s = self.udp_socket()
        s.sendto(b"hello from nc\n", ("127.0.0.1", b.port))
        wait_for(lambda: b.inbox(), what="the plain message")
        [m] = b.inbox()
        self.assertEqual((m["text"], m["plain"]), ("hello from nc", True))

    def test_packets_for_no_session_are_counted_not_shown(self):
        b = self.daemon("bob")
        s = self.udp_socket()
        data = bytes([0xFD]) + struct.pack("<IQ", 12345, 0) + os.urandom(40)
        s.sendto(data, ("127.0.0.1", b.port))
        s.sendto(bytes([0xFB]) + struct.pack("<I", 777) + os.urandom(64), ("127.0.0.1", b.port))
        s.sendto(bytes([0xFA, 1, 2]), ("127.0.0.1", b.port))
        wait_for(lambda: b.counters()["unknown_session"] == 2, what="two unknown sessions")
        wait_for(lambda: b.counters()["dropped_malformed"] == 1, what="a short packet")
        self.assertEqual(b.inbox(), [])

    def test_sessions_are_rekeyed_and_the_chat_goes_on(self):
        hooks = {"CHATD_TEST_HOOKS": "1", "CHATD_TEST_REKEY_MS": "1000",
                 "CHATD_TEST_REJECT_MS": "3000"}
        a = self.daemon("alice", start=False)
        b = self.daemon("bob", start=False)
        for d in (a, b):
            d.env.update(hooks)
            d.start()
        a.cli("send", b.address, "first")
        first = a.counters()["handshakes_completed"]
        for n in range(4):  # past the rekey age each time, past the reject age in all
            time.sleep(1.2)
            a.cli("send", "--timeout", str(10 * SLOW), b.address, f"later {n}")
        self.assertEqual([m["text"] for m in b.inbox()],
                         ["first", "later 0", "later 1", "later 2", "later 3"])
        self.assertGreater(a.counters()["handshakes_completed"], first)
        # bob's acks went on the newer sessions too: alice saw every one.
        self.assertEqual(a.counters()["acked"], 5)


if __name__ == "__main__":
    unittest.main()
