"""tests/integration/sealed_peer.py against itself: two SealedPeers in one
process, no chatd. Checks the Python side of the sealed wire before it is
used to judge chatd: both patterns, both roles, the cookie round trip, the
exact packet sizes of WIRE-v2.md, and that its own protections refuse
replays, tampering and unknown indexes. Run with /usr/bin/python3."""
import unittest

import sealed_peer as sp
from harness import wait_for


class SealedPeerPairTest(unittest.TestCase):
    def pair(self, **b_options):
        a, b = sp.SealedPeer().start(), sp.SealedPeer(**b_options).start()
        self.addCleanup(a.close)
        self.addCleanup(b.close)
        return a, b

    def chat(self, a, b, session):
        """One msg a -> b, its ack b -> a."""
        msg_id = sp.new_id()
        a.send_lines(session, [sp.msg(msg_id, "hello", name="a")])
        got = b.envelopes(type="msg")
        self.assertEqual(got, [{"chatd": 2, "type": "msg", "id": msg_id, "text": "hello",
                                "name": "a"}])
        self.assertEqual(a.envelopes(type="ack"), [{"chatd": 2, "type": "ack", "id": msg_id}])

    def test_xx_then_ik_both_ways(self):
        a, b = self.pair()
        xx = a.connect(b.address)
        self.assertEqual(xx.remote_static, b.public)
        self.chat(a, b, xx)
        self.assertEqual(b.session_with(a.address).remote_static, a.public)
        self.chat(b, a, b.session_with(a.address))
        ik = a.connect(b.address, remote_static=b.public)
        self.assertNotEqual(ik.local_index, xx.local_index)
        self.chat(a, b, ik)
        self.chat(b, a, b.session_with(a.address))

    def test_packet_sizes_are_the_wires(self):
        a, b = self.pair()
        _, xx = a.init(b.address)
        _, ik = a.init(b.address, remote_static=b.public)
        self.assertEqual((len(xx), len(ik)), (53, 117))
        self.assertEqual((xx[0], ik[0]), (0xF8, 0xF9))
        self.assertEqual((xx[-16:], ik[-16:]), (bytes(16), bytes(16)))
        session = a.connect(b.address, remote_static=b.public)
        packet = a.send_lines(session, ["x" * 10])
        self.assertEqual(len(packet), 29 + 10)
        self.assertEqual(sp.parse_data(packet)[:2], (session.remote_index, session.next_counter - 1))

    def test_a_cookie_makes_the_initiator_resend_the_same_init_with_mac2(self):
        a, b = self.pair(require_cookie=True)
        session = a.connect(b.address)
        self.assertGreaterEqual(a.cookies_seen, 1)
        self.chat(a, b, session)
        init = sp.init_packet(sp.XX_INIT, 7, bytes(32))
        cookie = sp.cookie_for(b.cookie_secret, a.address)
        self.assertEqual(sp.with_mac2(init, cookie)[:-16], init[:-16])
        self.assertNotEqual(sp.with_mac2(init, cookie)[-16:], bytes(16))

    def test_replays_tampering_and_unknown_indexes_are_refused(self):
        a, b = self.pair()
        session = a.connect(b.address)
        packet = a.send_lines(session, [sp.msg(sp.new_id(), "once")])
        b.envelopes(type="msg")
        a.sendto(packet, b.address)
        for i in range(len(packet)):
            tampered = bytearray(packet)
            tampered[i] ^= 0x40
            a.sendto(bytes(tampered), b.address)
        a.sendto(packet[:20], b.address)
        # The tampered type byte is no packet type: not refused, left raw.
        wait_for(lambda: len(b.refused) >= len(packet) + 1, what="every refusal")
        whys = [why for _, why in b.refused]
        self.assertEqual(len(whys), len(packet) + 1, whys)
        self.assertEqual(b.raw.qsize(), 1)
        self.assertIn("replayed", whys)
        self.assertIn("unknown session", whys)
        self.assertIn("truncated data packet", whys)
        self.assertTrue(b.received.empty())


if __name__ == "__main__":
    unittest.main()
