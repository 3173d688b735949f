"""Attacks on chatd's sealed wire (WIRE-v2.md), each shown to fail because
of the protection it meets: the daemon refuses it, counts it, and shows
nothing. The attacker is tests/integration/sealed_peer.py (Python on
dissononce, independent of chatd's C++), a relay on loopback that captures
and replays, and, where a source address must be forged or moved, network
namespaces (root only; those tests skip otherwise). Run with /usr/bin/python3."""
import json
import os
import random
import select
import socket
import struct
import subprocess
import threading
import time
import unittest

import sealed_peer as sp
from harness import HERE, ChatTestCase, wait_for
from test_identity import device_id
from test_netns import ip_netns_missing, run

PYTHON = "/usr/bin/python3"  # the interpreter with dissononce, also inside a namespace


def refusals(counters):
    """Every datagram the daemon refused, whatever the reason's counter."""
    return sum(v for k, v in counters.items()
               if k.startswith(("refused_", "bad_", "dropped_")) or k != "unknown_acks" and
               any(word in k for word in ("replay", "unknown_", "expired_", "failed", "invalid")))


def count(daemon, what):
    return daemon.counters().get(sp.COUNTERS[what], 0)


class SealedCase(ChatTestCase):
    def sealed_daemon(self, name, **kwargs):
        d = self.daemon(name, **kwargs)
        why = sp.sealed_missing(d)
        if why:
            self.fail(why)
        return d

    def peer(self, **options):
        p = sp.SealedPeer(**options).start()
        self.addCleanup(p.close)
        return p

    def public_key(self, daemon):
        return bytes.fromhex(json.loads(daemon.cli("--json", "id").stdout)["public_key"])

    def shown(self, daemon):
        return [m["text"] for m in daemon.inbox()]

    def wait_refused(self, daemon, before, more, what):
        """Waits until `more` refusals beyond `before` were counted."""
        wait_for(lambda: refusals(daemon.counters()) >= before + more,
                 what=f"{more} refusals of {what}; counters {daemon.counters()}")


class InteropTest(SealedCase):
    def test_python_initiator_xx_then_ik_chats_and_gets_acks(self):
        b = self.sealed_daemon("bob")
        peer = self.peer(auto_ack=False)
        sent = []
        for pattern, remote in (("xx", None), ("ik", self.public_key(b))):
            session = peer.connect((b.host, b.port), remote_static=remote)
            self.assertEqual(session.remote_static, self.public_key(b), pattern)
            msg_id = sp.new_id()
            sent.append(msg_id)
            peer.send_lines(session, [sp.msg(msg_id, f"over {pattern}", name="py")])
            # A new session makes bob resend his last datagrams over it (in
            # case the peer lost the old one), so xx's ack may come again.
            acks = []
            while msg_id not in [a["id"] for a in acks]:
                acks += peer.envelopes(type="ack")
            self.assertEqual([a for a in acks if a["id"] not in sent], [], pattern)
            self.assertEqual(acks[-1], json.loads(sp.ack(msg_id)), pattern)
        self.assertEqual(self.shown(b), ["over xx", "over ik"])
        self.assertEqual({(m["from"], m["plain"]) for m in b.inbox()}, {(peer.endpoint, False)})
        self.assertGreaterEqual(count(b, "handshakes"), 2)

    def test_the_daemon_initiates_to_a_python_responder_both_ways(self):
        a = self.sealed_daemon("alice")
        peer = self.peer()  # acks what it opens
        r = a.cli("send", peer.endpoint, "to python")
        self.assertEqual(r.stdout.strip(), f"delivered to {peer.endpoint}")
        [got] = peer.envelopes(type="msg")
        self.assertEqual((got["text"], got.get("name")), ("to python", "alice"))
        session = peer.session_with((a.host, a.port))
        self.assertEqual(session.remote_static, self.public_key(a))
        msg_id = sp.new_id()
        peer.send_lines(session, [sp.msg(msg_id, "from python")])
        self.assertIn(msg_id, [e["id"] for e in peer.envelopes(type="ack")])
        wait_for(lambda: self.shown(a) == ["from python"], what="python's answer at alice")


class Relay:
    """A UDP relay on loopback between daemons a and b, keeping every
    datagram: a sends to `for_a` (its "b"); b sees `for_b` as a."""

    def __init__(self, b_address):
        self.b_address = b_address
        self.for_a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.for_b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for s in (self.for_a, self.for_b):
            s.bind(("127.0.0.1", 0))
        self.a_address = None
        self.to_b, self.to_a = [], []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    @property
    def address(self):
        return "127.0.0.1:%d" % self.for_a.getsockname()[1]

    def loop(self):
        while not self.stopping.is_set():
            ready, _, _ = select.select([self.for_a, self.for_b], [], [], 0.1)
            for s in ready:
                packet, source = s.recvfrom(70000)
                if s is self.for_a:
                    self.a_address = source
                    self.to_b.append(packet)
                    self.for_b.sendto(packet, self.b_address)
                elif self.a_address:
                    self.to_a.append(packet)
                    self.for_a.sendto(packet, self.a_address)

    def inject_to_b(self, packet):
        """As if from a: b's session with a is keyed by this source."""
        self.for_b.sendto(packet, self.b_address)

    def close(self):
        self.stopping.set()
        self.thread.join(timeout=5)
        self.for_a.close()
        self.for_b.close()


class CaptureAndReplayTest(SealedCase):
    def relayed_pair(self):
        a = self.sealed_daemon("alice-the-sender")
        b = self.sealed_daemon("bobby-the-receiver")
        relay = Relay((b.host, b.port))
        self.addCleanup(relay.close)
        return a, b, relay

    def test_replayed_data_packets_from_a_capture_are_refused(self):
        a, b, relay = self.relayed_pair()
        texts = [f"captured {i}" for i in range(5)]
        for text in texts:
            a.cli("send", relay.address, text)
        self.assertEqual(self.shown(b), texts)
        data = [p for p in relay.to_b if p and p[0] == sp.DATA]
        self.assertGreaterEqual(len(data), len(texts))
        before, replayed = b.counters(), count(b, "replayed")
        for _ in range(3):
            for packet in data:
                relay.inject_to_b(packet)
        wait_for(lambda: count(b, "replayed") >= replayed + 3 * len(data),
                 what=f"every replay counted; counters {b.counters()}")
        after = b.counters()
        # Refused below the envelopes: not even seen as duplicates.
        self.assertEqual((after["received"], after["duplicates"]),
                         (before["received"], before["duplicates"]))
        self.assertEqual(self.shown(b), texts)
        print(f"replay: {3 * len(data)} captured data packets sent again, "
              f"{after[sp.COUNTERS['replayed']] - replayed} counted replayed, none shown")

    def test_a_capture_of_a_chat_holds_neither_the_text_nor_the_name(self):
        a, b, relay = self.relayed_pair()
        secret = "the sealed secret 7f3a"
        a.cli("send", relay.address, secret)
        b.cli("send", f"127.0.0.1:{relay.for_b.getsockname()[1]}", "the answer 9c1d")
        wait_for(lambda: self.shown(a) == ["the answer 9c1d"], what="bob's answer")
        captured = b"".join(relay.to_b + relay.to_a)
        self.assertTrue(relay.to_b and relay.to_a)
        for clear in (secret, "the answer 9c1d", "alice-the-sender", "bobby-the-receiver",
                      '"chatd"'):
            self.assertNotIn(clear.encode(), captured, clear)
        self.assertTrue(all(p[0] >= 0xF8 for p in relay.to_b + relay.to_a))


class TamperTest(SealedCase):
    def session_to(self, b):
        peer = self.peer(auto_ack=False)
        return peer, peer.connect((b.host, b.port))

    def assert_still_sealed_and_working(self, b, peer, session, shown_before):
        """A valid packet still goes through after the attack, once."""
        msg_id = sp.new_id()
        peer.send_lines(session, [sp.msg(msg_id, "the real one")])
        self.assertEqual([e["id"] for e in peer.envelopes(type="ack")], [msg_id])
        self.assertEqual(self.shown(b), shown_before + ["the real one"])

    def test_a_flipped_bit_in_any_field_is_refused(self):
        b = self.sealed_daemon("bob")
        peer, session = self.session_to(b)
        original_id = sp.new_id()
        inner = sp.msg(original_id, "tampered").encode()
        counter = session.next_counter
        packet = session.seal(inner, counter=counter)
        fields = {"type": range(0, 1), "index": range(1, 5), "counter": range(5, 13),
                  "ciphertext": range(13, len(packet) - 16),
                  "tag": range(len(packet) - 16, len(packet))}
        before = refusals(b.counters())
        mac_before, index_before = count(b, "bad_mac"), count(b, "unknown_session")
        replayed_before = count(b, "replayed")
        sent = over_limit = 0
        for field, offsets in fields.items():
            for offset in offsets:
                for bit in (0x01, 0x80):
                    tampered = bytearray(packet)
                    tampered[offset] ^= bit
                    peer.sendto(bytes(tampered), (b.host, b.port))
                    sent += 1
                    over_limit += field == "counter" and sp.parse_data(tampered)[1] >= sp.MAX_COUNTER
        self.wait_refused(b, before, sent, "tampered packets")
        # Ciphertext, tag and counter (the nonce, and in the AD) fail the
        # AEAD; a counter flipped to 2^60 or more is refused before it.
        macs = 2 * (len(packet) - 5) - over_limit
        self.assertGreaterEqual(count(b, "bad_mac") - mac_before, macs)
        self.assertGreaterEqual(count(b, "replayed") - replayed_before, over_limit)
        self.assertGreaterEqual(count(b, "unknown_session") - index_before, 8)
        self.assertEqual(self.shown(b), [])
        session.next_counter = counter + 1
        self.assertEqual(b.counters()["received"], 0)
        peer.sendto(packet, (b.host, b.port))  # the untampered original is good
        self.assertEqual([e["id"] for e in peer.envelopes(type="ack")], [original_id])
        self.assertEqual(self.shown(b), ["tampered"])
        self.assert_still_sealed_and_working(b, peer, session, ["tampered"])

    def test_unknown_indexes_truncations_and_garbage_are_refused(self):
        b = self.sealed_daemon("bob")
        peer, session = self.session_to(b)
        rng = random.Random(20)
        good = session.seal(sp.msg(sp.new_id(), "never shown").encode())
        packets = []
        # Unknown session indexes, with a well-formed rest.
        packets += [sp.data_header(i, 0) + good[13:] for i in (0, 1, 0xFFFFFFFF) +
                    tuple(rng.getrandbits(32) for _ in range(20)) if i != session.remote_index]
        # Every truncation of a data packet, and of each handshake packet type.
        packets += [good[:n] for n in range(1, len(good))]
        for kind, size in ((sp.IK_INIT, 117), (sp.XX_FINAL, 69), (sp.COOKIE, 21),
                           (sp.RESPONSE, 105), (sp.XX_INIT, 53)):
            whole = bytes([kind]) + sp.u32(session.remote_index) + rng.randbytes(size - 5)
            packets += [whole[:n] for n in range(1, size)]
        # Garbage in every field of a data packet to our own session.
        for _ in range(50):
            packets.append(sp.data_header(session.remote_index, rng.getrandbits(64)) +
                           rng.randbytes(rng.randint(16, 200)))
            packets.append(sp.data_header(session.remote_index, session.next_counter)
                           + rng.randbytes(len(good) - 13))
            packets.append(bytes([rng.choice([0xFE, 0xFF, sp.DATA])]) + rng.randbytes(
                rng.randint(0, 300)))
        # Garbage handshakes: an IK init whose encrypted static is noise, a
        # final and a response for handshakes nobody started, cookies unasked.
        for _ in range(20):
            packets.append(sp.init_packet(sp.IK_INIT, rng.getrandbits(32) | 1,
                                          rng.randbytes(96)))
            packets.append(sp.final_packet(rng.getrandbits(32), rng.randbytes(64)))
            packets.append(sp.response_packet(rng.getrandbits(32), rng.getrandbits(32),
                                              rng.randbytes(96)))
            packets.append(sp.cookie_packet(rng.getrandbits(32), rng.randbytes(16)))
        before = refusals(b.counters())
        for packet in packets:
            peer.sendto(packet, (b.host, b.port))
            time.sleep(0.0002)  # within the socket's buffer: chatd's handling is what counts
        self.wait_refused(b, before, len(packets), "unknown, truncated and garbage packets")
        self.assertEqual(self.shown(b), [])
        self.assertIsNone(b.proc.poll())
        print(f"garbage: {len(packets)} packets, {refusals(b.counters()) - before} refusals "
              f"counted, none shown; counters {b.counters()}")
        self.assert_still_sealed_and_working(b, peer, session, [])

    def test_counters_beyond_the_window_or_the_limit_are_refused(self):
        b = self.sealed_daemon("bob")
        peer, session = self.session_to(b)
        ahead = 10_000
        peer.send_lines(session, [sp.msg(sp.new_id(), "far ahead")], counter=ahead)
        wait_for(lambda: self.shown(b) == ["far ahead"], what="a counter far ahead")
        replayed = count(b, "replayed")
        before = refusals(b.counters())
        # 8128 is the window (common/replay_window): 1800 is behind it.
        for counter in (ahead, ahead - 8200, 0, 1800):
            peer.send_lines(session, [sp.msg(sp.new_id(), f"old {counter}")], counter=counter)
        peer.send_lines(session, [sp.msg(sp.new_id(), "at the limit")], counter=sp.MAX_COUNTER)
        peer.send_lines(session, [sp.msg(sp.new_id(), "past the limit")],
                        counter=2**64 - 1)
        self.wait_refused(b, before, 6, "old and over-limit counters")
        self.assertGreaterEqual(count(b, "replayed") - replayed, 4)
        # Inside the window an unseen counter is still good.
        peer.send_lines(session, [sp.msg(sp.new_id(), "late but fine")], counter=ahead - 100)
        wait_for(lambda: self.shown(b) == ["far ahead", "late but fine"], what="the late one")


class HandshakeFloodTest(SealedCase):
    def test_a_flood_of_inits_gets_cookies_and_a_real_send_still_arrives(self):
        a, b = self.sealed_daemon("alice"), self.sealed_daemon("bob")
        flood = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        flood.bind(("127.0.0.1", 0))
        self.addCleanup(flood.close)
        stop = threading.Event()
        sent, answers = [0], {}

        def send_inits():
            rng = random.Random(7)
            while not stop.is_set() and sent[0] < 200_000:
                for _ in range(40):
                    flood.sendto(sp.init_packet(sp.XX_INIT, rng.getrandbits(32) | 1,
                                                rng.randbytes(32)), (b.host, b.port))
                    sent[0] += 1
                time.sleep(0.002)  # paced: within the socket buffer, so chatd sees them

        def read_answers():
            while not stop.is_set():
                if select.select([flood], [], [], 0.05)[0]:
                    packet = flood.recv(2048)
                    answers[packet[0]] = answers.get(packet[0], 0) + 1

        threads = [threading.Thread(target=f, daemon=True) for f in (send_inits, read_answers)]
        for t in threads:
            t.start()
        try:
            wait_for(lambda: sent[0] >= 3000 and answers.get(sp.COOKIE),
                     what="thousands of inits and cookie replies to them")
            started = time.monotonic()
            r = a.cli("send", b.address, "through the flood", check=False)
            took = time.monotonic() - started
            peer = self.peer(auto_ack=False)
            session = peer.connect((b.host, b.port), timeout=10)
            peer.send_lines(session, [sp.msg(sp.new_id(), "python through the flood")])
            peer.envelopes(type="ack", timeout=10)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=5)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.shown(b), ["through the flood", "python through the flood"])
        self.assertGreater(peer.cookies_seen, 0)
        cookies = count(b, "cookies")
        self.assertGreater(cookies, 0)
        print(f"flood: {sent[0]} xx_init from one socket; answers by type "
              f"{ {hex(k): v for k, v in answers.items()} }; {cookies} cookies counted; "
              f"a chatcli send took {took:.2f} s and was delivered")


# --- namespaces --------------------------------------------------------------

class Hosts:
    """`n` namespaces, each with one veth into a bridge in a namespace of
    its own, addressed 10.232.T.1.. ; removed with the namespaces."""

    def __init__(self, n):
        tag = os.getpid() % 100000
        self.switch = f"chatd-{tag}-sw"
        self.ns = [f"chatd-{tag}-h{i}" for i in range(n)]
        self.dev = [f"cs{tag}h{i}" for i in range(n)]
        self.addr = [f"10.232.{tag % 250 + 1}.{i + 1}" for i in range(n)]

    def up(self):
        self.down()
        run("ip", "netns", "add", self.switch)
        run("ip", "-n", self.switch, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", self.switch, "link", "set", "br0", "up")
        for ns, dev, addr in zip(self.ns, self.dev, self.addr):
            run("ip", "netns", "add", ns)
            run("ip", "-n", ns, "link", "set", "lo", "up")
            run("ip", "link", "add", dev, "netns", ns, "type", "veth", "peer", "name",
                dev + "p", "netns", self.switch)
            run("ip", "-n", self.switch, "link", "set", dev + "p", "master", "br0", "up")
            run("ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", dev)
            run("ip", "-n", ns, "link", "set", dev, "up")

    def down(self):
        for ns in self.ns + [self.switch]:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)

    def move_address(self, source, target):
        """Host `source`'s address now belongs to host `target`; the others forget its MAC."""
        run("ip", "-n", self.ns[source], "addr", "del", f"{self.addr[source]}/24", "dev",
            self.dev[source])
        run("ip", "-n", self.ns[target], "addr", "add", f"{self.addr[source]}/24", "dev",
            self.dev[target])
        for ns in self.ns:
            run("ip", "-n", ns, "neigh", "flush", "all")

    def python(self, host, *args):
        """The command line running Debian's python3 on `host`."""
        return ["ip", "netns", "exec", self.ns[host], PYTHON, *args]

    def start_python(self, test, host, *args):
        """Started on `host`, killed and reaped with the test."""
        p = subprocess.Popen(self.python(host, *args), cwd=HERE, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)

        def reap():
            p.kill()
            p.communicate()

        test.addCleanup(reap)
        return p


# A datagram with any source address, through a raw socket (IP_HDRINCL):
# the kernel fills in the IP checksum and length; UDP checksum 0 is none.
FORGE = r"""
import socket, struct, sys
src, sport, dst, dport, payload = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), bytes.fromhex(sys.argv[5])
udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, socket.IPPROTO_UDP, 0,
                 socket.inet_aton(src), socket.inet_aton(dst))
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
s.sendto(ip + udp, (dst, 0))
"""

# Every frame on one interface (AF_PACKET), appended to a file until stdin closes.
CAPTURE = r"""
import select, socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((sys.argv[1], 0))
print("ready", flush=True)
with open(sys.argv[2], "wb") as out:
    while True:
        ready, _, _ = select.select([s, sys.stdin], [], [], 0.1)
        if sys.stdin in ready:
            break
        if s in ready:
            frame = s.recv(70000)
            out.write(len(frame).to_bytes(4, "little") + frame)
            out.flush()
"""


def chat_payloads(frames, port):
    """The UDP payloads to or from `port` in CAPTURE's file (IPv4 over Ethernet)."""
    payloads, at = [], 0
    while at < len(frames):
        size = int.from_bytes(frames[at:at + 4], "little")
        frame, at = frames[at + 4:at + 4 + size], at + 4 + size
        if frame[12:14] != b"\x08\x00" or frame[23] != socket.IPPROTO_UDP:
            continue
        udp = frame[14 + (frame[14] & 0x0F) * 4:]
        if port in struct.unpack("!HH", udp[:4]):
            payloads.append(udp[8:])
    return payloads


@unittest.skipIf(ip_netns_missing(), ip_netns_missing())
class NamespaceCase(SealedCase):
    HOSTS = 2

    def setUp(self):
        super().setUp()
        self.hosts = Hosts(self.HOSTS)
        self.hosts.up()
        self.addCleanup(self.hosts.down)

    def daemon_on(self, host, name, **config):
        d = self.daemon(name, start=False, host=self.hosts.addr[host], **config)
        d.wrap = ["ip", "netns", "exec", self.hosts.ns[host]]
        d.start()
        why = sp.sealed_missing(d)
        if why:
            self.fail(why)
        return d

    def paired(self):
        a, b = self.daemon_on(0, "alice"), self.daemon_on(1, "bob")
        a.cli("send", b.address, "hello bob")
        b.cli("send", a.address, "hello alice")
        return a, b


class ForgedSourceTest(NamespaceCase):
    def forge(self, source, receiver, payload):
        """From alice's host, a datagram with the source address (host, port)."""
        r = subprocess.run(self.hosts.python(0, "-c", FORGE, source[0], str(source[1]),
                                             receiver.host, str(receiver.port), payload.hex()),
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_forged_datagrams_from_a_pinned_peers_address_are_refused(self):
        a, b = self.paired()
        self.assertEqual(self.shown(b), ["hello bob"])
        unsealed, downgrade = count(b, "unsealed"), count(b, "downgrade")
        forged = {
            "unsealed envelope": sp.msg(sp.new_id(), "forged envelope", name="alice").encode(),
            "wire 1 envelope": json.dumps({"chatd": 1, "type": "msg", "id": sp.new_id(),
                                           "text": "forged old envelope"}).encode(),
            "plain text": b"forged plain text\n",
        }
        for payload in forged.values():
            self.forge((a.host, a.port), b, payload)
        wait_for(lambda: (count(b, "unsealed") - unsealed, count(b, "downgrade") - downgrade)
                 == (2, 1), what=f"the refusals; counters {b.counters()}")
        self.assertEqual(self.shown(b), ["hello bob"])
        # The control: the same forgery from a port of alice's host that no
        # key is pinned for is a plain peer's, shown: the pin is what refused.
        stranger = (a.host, a.port + 1)
        self.forge(stranger, b, b"forged plain from an unpinned port\n")
        wait_for(lambda: len(self.shown(b)) == 2, what="the unpinned plain line")
        [m] = [m for m in b.inbox() if m["from"] == sp.endpoint_text(stranger)]
        self.assertEqual((m["text"], m["plain"]), ("forged plain from an unpinned port", True))


class ManInTheMiddleTest(NamespaceCase):
    """Alice and bob pair; then bob's address moves to host M, where a
    SealedPeer with its own key answers and claims to be bob."""
    HOSTS = 3

    def man_in_the_middle(self):
        """Alice (with M at bob's address, its key refused), bob's id, M's key, M."""
        a, b = self.paired()
        bob_id = json.loads(b.cli("--json", "id").stdout)
        b.stop()
        self.hosts.move_address(1, 2)
        mitm = self.hosts.start_python(self, 2, "sealed_peer.py", "serve", b.host, str(b.port),
                                       a.host, str(a.port), "I am bob, trust me", "bob")
        ready = json.loads(mitm.stdout.readline())
        self.assertEqual(ready["ready"], b.address)
        # M starts a handshake with alice as bob (XX, its own key): refused.
        self.assertIn("session", json.loads(mitm.stdout.readline()))
        wait_for(lambda: count(a, "key") > 0, what=f"alice to refuse M's key; {a.counters()}")
        return a, b.address, bob_id, bytes.fromhex(ready["public_key"]), mitm

    def assert_nothing_crossed(self, a, mitm):
        out, _ = mitm.communicate("", timeout=20)
        events = [json.loads(line) for line in out.splitlines()]
        opened = [e["opened"] for e in events if "opened" in e]
        self.assertEqual([e for e in opened if e.get("type") == "msg"], [],
                         "a message reached the man in the middle")
        self.assertEqual(self.shown(a), ["hello alice"])  # nothing from M as bob
        return events

    def test_a_third_host_at_bobs_address_gets_nothing_and_shows_nothing(self):
        a, bob, _, _, mitm = self.man_in_the_middle()
        r = a.cli("send", "--timeout", "3", bob, "for bob only", check=False)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(a.status()["outbox"], 1)  # it waits, for the real bob
        events = self.assert_nothing_crossed(a, mitm)
        print(f"mitm: alice refused the key at bob's address ({count(a, 'key')} refused); "
              f"the message waits in the outbox; the middle saw {events}")

    def test_a_third_host_at_bobs_address_is_shown_as_a_changed_key(self):
        a, bob, bob_id, mitm_key, mitm = self.man_in_the_middle()

        def trust():
            [p] = [p for p in json.loads(a.cli("--json", "peers").stdout)["peers"]
                   if p["address"] == bob]
            return p["trust"]

        wait_for(lambda: trust() == "key_changed", what="peers to show bob's key changed")
        r = a.cli("send", "--timeout", "3", bob, "for bob only", check=False)
        self.assertEqual(r.returncode, 1, r.stderr)
        # It says so, with both short fingerprints, and what to run.
        for said in ("changed", bob_id["short"], device_id(mitm_key.hex())[:7], "chatcli trust"):
            self.assertIn(said, r.stderr)
        self.assertEqual(a.status()["outbox"], 1)
        self.assert_nothing_crossed(a, mitm)


class LinkCaptureTest(NamespaceCase):
    def test_a_capture_on_the_link_holds_neither_the_text_nor_the_name(self):
        a = self.daemon_on(0, "zebulon-sender")
        b = self.daemon_on(1, "bob")
        path = os.path.join(self.root, "capture.bin")
        capture = self.hosts.start_python(self, 1, "-c", CAPTURE, self.hosts.dev[1], path)
        self.assertEqual(capture.stdout.readline().strip(), "ready")
        secret = "a secret only bob may read 51ab"
        a.cli("send", b.address, secret)
        b.cli("send", a.address, "bob's secret answer 77cd")
        capture.communicate("", timeout=10)
        with open(path, "rb") as f:
            frames = f.read()
        payloads = chat_payloads(frames, b.port)
        self.assertGreaterEqual(len([p for p in payloads if p[:1] == bytes([sp.DATA])]), 2)
        for clear in (secret, "bob's secret answer 77cd", "zebulon-sender", '"chatd"'):
            self.assertNotIn(clear.encode(), frames, clear)
        print(f"capture: {len(frames)} bytes of frames on {self.hosts.dev[1]}, "
              "no text and no name in them")


if __name__ == "__main__":
    unittest.main()
