"""A chatd peer speaking the sealed wire (WIRE-v2.md) in Python, on Debian's
python3-dissononce: independent of chatd's C++, so the integration tests can
talk to a real daemon as a sealed peer, and attack it with packets chatd
would never write. Run under /usr/bin/python3 (dissononce is a Debian
package for Debian's interpreter).

SealedPeer owns one UDP socket and, once started, one receive thread that
answers handshakes (both roles), cookies, and opens `data` packets; the
test's thread calls connect(), send_lines(), received() and the low-level
builders. Session state is shared between the two and guarded by a lock.
"""
import hashlib
import hmac
import json
import os
import queue
import socket
import struct
import threading
import time

from dissononce.cipher.chachapoly import ChaChaPolyCipher
from dissononce.dh.private import PrivateKey
from dissononce.dh.x25519.public import PublicKey
from dissononce.dh.x25519.x25519 import X25519DH
from dissononce.hash.sha256 import SHA256Hash
from dissononce.processing.handshakepatterns.interactive.IK import IKHandshakePattern
from dissononce.processing.handshakepatterns.interactive.XX import XXHandshakePattern
from dissononce.processing.impl.cipherstate import CipherState
from dissononce.processing.impl.handshakestate import HandshakeState
from dissononce.processing.impl.symmetricstate import SymmetricState

PROLOGUE = b"chatd sealed 2"
WIRE_VERSION = 2
XX_INIT, IK_INIT, RESPONSE, XX_FINAL, COOKIE, DATA = range(0xF8, 0xFE)
TYPE_NAMES = {XX_INIT: "xx_init", IK_INIT: "ik_init", RESPONSE: "response",
              XX_FINAL: "xx_final", COOKIE: "cookie", DATA: "data"}
MAC_LEN = 16
ZERO_MAC = bytes(MAC_LEN)
HEADER_LEN = 13  # data: type, receiver_index u32, counter u64
TAG_LEN = 16
MAX_COUNTER = 1 << 60
SIZES = {XX_INIT: 53, IK_INIT: 117, XX_FINAL: 69, COOKIE: 21}
RESPONSE_SIZES = {"xx": 105, "ik": 57}

# The status counters the seal layer keeps, by what they count (the names
# are the seal helper's; one place here so a rename is one edit).
COUNTERS = {
    "unsealed": "refused_unsealed",
    "downgrade": "refused_downgrade",
    "key": "refused_key",
    "replayed": "replayed",
    "bad_mac": "bad_mac",
    "unknown_session": "unknown_session",
    "cookies": "cookies_sent",
    "handshakes": "handshakes_completed",
}


class SealError(Exception):
    """A packet this peer refused: why, in words."""


def generate_keypair():
    return X25519DH().generate_keypair()


def keypair_from_private(private):
    return X25519DH().generate_keypair(PrivateKey(private))


def public_key(raw):
    return PublicKey(raw)


def key_digest(public):
    return hashlib.sha256(public).digest()


def endpoint_text(address):
    """An address as chatd's endpoint_key writes it: host:port, [v6]:port."""
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def cookie_for(secret, address):
    return hmac.new(secret, endpoint_text(address).encode(), hashlib.sha256).digest()[:MAC_LEN]


def mac2_for(cookie, init_before_mac2):
    key = cookie + bytes(32 - len(cookie))
    return hmac.new(key, init_before_mac2, hashlib.sha256).digest()[:MAC_LEN]


def with_mac2(init, cookie):
    """The same init bytes with the mac2 a cookie asks for."""
    body = init[:-MAC_LEN]
    return body + mac2_for(cookie, body)


# --- packets, any field chosen --------------------------------------------

def u32(n):
    return struct.pack("<I", n & 0xFFFFFFFF)


def init_packet(kind, sender_index, noise_msg, mac2=ZERO_MAC):
    return bytes([kind]) + u32(sender_index) + noise_msg + mac2


def response_packet(sender_index, receiver_index, noise_msg):
    return bytes([RESPONSE]) + u32(sender_index) + u32(receiver_index) + noise_msg


def final_packet(receiver_index, noise_msg):
    return bytes([XX_FINAL]) + u32(receiver_index) + noise_msg


def cookie_packet(receiver_index, cookie):
    return bytes([COOKIE]) + u32(receiver_index) + cookie


def data_header(receiver_index, counter, kind=DATA):
    return bytes([kind]) + u32(receiver_index) + struct.pack("<Q", counter & (2**64 - 1))


def parse_data(packet):
    """(receiver_index, counter, sealed) of a data packet; no checks."""
    index, counter = struct.unpack_from("<IQ", packet, 1)
    return index, counter, packet[HEADER_LEN:]


# --- envelopes --------------------------------------------------------------

def new_id():
    """32 hex digits starting with the clock in ms, as chatd makes them."""
    return f"{int(time.time() * 1000):012x}" + os.urandom(10).hex()


def envelope(type, **fields):
    return json.dumps({"chatd": WIRE_VERSION, "type": type, **fields})


def msg(id, text, name=None, **order):
    fields = {"id": id, "text": text, **order}
    if name is not None:
        fields["name"] = name
    return envelope("msg", **fields)


def ack(id):
    return envelope("ack", id=id)


def lines_of(inner):
    """The envelopes of an inner datagram, decoded (a bundle is one a line)."""
    return [json.loads(line) for line in inner.decode().split("\n") if line.strip()]


# --- one handshake and one session -------------------------------------------

def handshake_state(pattern, initiator, keypair, remote_static=None):
    state = HandshakeState(SymmetricState(CipherState(ChaChaPolyCipher()), SHA256Hash()),
                           X25519DH())
    state.initialize((XXHandshakePattern if pattern == "xx" else IKHandshakePattern)(),
                     initiator, PROLOGUE, s=keypair,
                     rs=public_key(remote_static) if remote_static else None)
    return state


def write(state, payload=b""):
    out = bytearray()
    ciphers = state.write_message(payload, out)
    return bytes(out), ciphers


def read(state, message):
    payload = bytearray()
    ciphers = state.read_message(bytes(message), payload)
    return bytes(payload), ciphers


class Session:
    """Both directions' keys of one finished handshake; `check_replay`
    False opens a replayed counter too (to show what chatd refuses)."""

    def __init__(self, ciphers, initiator, local_index, remote_index, address, remote_static):
        send, receive = ciphers if initiator else ciphers[::-1]
        self.send_cipher, self.receive_cipher = send, receive
        self.local_index, self.remote_index = local_index, remote_index
        self.address = address
        self.remote_static = remote_static
        self.next_counter = 0
        self.seen = set()
        self.check_replay = True

    def seal(self, inner, counter=None, receiver_index=None):
        """A data packet; the counter and the index are the session's unless given."""
        if counter is None:
            counter, self.next_counter = self.next_counter, self.next_counter + 1
        header = data_header(self.remote_index if receiver_index is None else receiver_index,
                             counter)
        self.send_cipher.set_nonce(counter)
        return header + self.send_cipher.encrypt_with_ad(header, inner)

    def open(self, packet):
        if len(packet) < HEADER_LEN + TAG_LEN:
            raise SealError("truncated data packet")
        _, counter, sealed = parse_data(packet)
        self.receive_cipher.set_nonce(counter)
        try:
            inner = self.receive_cipher.decrypt_with_ad(packet[:HEADER_LEN], sealed)
        except Exception as e:  # cryptography's InvalidTag
            raise SealError(f"bad MAC ({type(e).__name__})")
        if counter >= MAX_COUNTER:
            raise SealError("counter too large")
        if self.check_replay:
            if counter in self.seen:
                raise SealError("replayed")
            self.seen.add(counter)
        return inner


def random_index():
    while True:
        index = struct.unpack("<I", os.urandom(4))[0]
        if index:
            return index


class SealedPeer:
    """A sealed chatd peer on one UDP socket (see the module's comment).

    received: a queue of (session, inner bytes) for every data packet opened.
    refused: a list of (address, why) for every packet it would not take.
    auto_ack: acks every msg envelope it opens, as a chatd does.
    require_cookie: answers every init without a valid mac2 with a cookie.
    """

    def __init__(self, keypair=None, host="127.0.0.1", auto_ack=True, require_cookie=False,
                 accept=None, port=0):
        self.keypair = keypair or generate_keypair()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind((host, port))
        self.sock.settimeout(0.1)
        self.address = self.sock.getsockname()[:2]
        self.auto_ack = auto_ack
        self.require_cookie = require_cookie
        self.cookie_secret = os.urandom(32)
        # accept(address, remote_static) -> bool: whether a proven key may start a session.
        self.accept = accept or (lambda address, remote_static: True)
        self.received = queue.Queue()
        self.refused = []
        self.raw = queue.Queue()  # what is not a sealed packet (plain text, unsealed JSON)
        self.cookies_seen = 0
        self.lock = threading.Lock()
        self.sessions = {}  # local index -> Session
        self.by_address = {}  # address -> the newest Session
        self.pending = {}  # local index -> (state, init bytes, address, pattern): our inits
        self.answering = {}  # local index -> (state, address, remote index): XX responder
        self.established = threading.Condition(self.lock)
        self.stopping = threading.Event()
        self.thread = None

    @property
    def public(self):
        return self.keypair.public.data

    @property
    def endpoint(self):
        return endpoint_text(self.address)

    # --- life -----------------------------------------------------------
    def start(self):
        self.thread = threading.Thread(target=self._loop, name="sealed-peer", daemon=True)
        self.thread.start()
        return self

    def close(self):
        self.stopping.set()
        if self.thread:
            self.thread.join(timeout=5)
        self.sock.close()

    def sendto(self, packet, address):
        self.sock.sendto(packet, address)

    def _loop(self):
        while not self.stopping.is_set():
            try:
                packet, address = self.sock.recvfrom(70000)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                self.handle(packet, address[:2])
            except SealError as e:
                self.refused.append((address[:2], str(e)))
            except Exception as e:  # a Noise failure: noted, never fatal to the loop
                self.refused.append((address[:2], f"{type(e).__name__}: {e}"))

    # --- what arrives ---------------------------------------------------
    def handle(self, packet, address):
        kind = packet[0] if packet else None
        if kind not in TYPE_NAMES:
            self.raw.put((packet, address))
            return
        expected = SIZES.get(kind)
        if expected is not None and len(packet) != expected:
            raise SealError(f"{TYPE_NAMES[kind]} of {len(packet)} bytes")
        getattr(self, "_on_" + TYPE_NAMES[kind])(packet, address)

    def _on_xx_init(self, packet, address):
        self._answer_init(packet, address, "xx")

    def _on_ik_init(self, packet, address):
        self._answer_init(packet, address, "ik")

    def _answer_init(self, packet, address, pattern):
        if self.require_cookie:
            cookie = cookie_for(self.cookie_secret, address)
            if packet[-MAC_LEN:] != mac2_for(cookie, packet[:-MAC_LEN]):
                self.sendto(cookie_packet(struct.unpack_from("<I", packet, 1)[0], cookie), address)
                return
        remote_index = struct.unpack_from("<I", packet, 1)[0]
        state = handshake_state(pattern, False, self.keypair)
        read(state, packet[5:-MAC_LEN])
        local_index = random_index()
        if pattern == "ik" and not self.accept(address, state.rs.data):
            raise SealError("key refused")
        message, ciphers = write(state)
        with self.lock:
            if pattern == "ik":
                self._up(Session(ciphers, False, local_index, remote_index, address, state.rs.data))
            else:
                self.answering[local_index] = (state, address, remote_index)
        self.sendto(response_packet(local_index, remote_index, message), address)

    def _on_xx_final(self, packet, address):
        local_index = struct.unpack_from("<I", packet, 1)[0]
        with self.lock:
            entry = self.answering.pop(local_index, None)
        if entry is None:
            raise SealError("xx_final for no handshake")
        state, _, remote_index = entry
        _, ciphers = read(state, packet[5:])
        if not self.accept(address, state.rs.data):
            raise SealError("key refused")
        with self.lock:
            self._up(Session(ciphers, False, local_index, remote_index, address, state.rs.data))

    def _on_response(self, packet, address):
        remote_index, local_index = struct.unpack_from("<II", packet, 1)
        with self.lock:
            entry = self.pending.get(local_index)
        if entry is None:
            raise SealError("response to no init")
        state, _, _, pattern = entry
        if len(packet) != RESPONSE_SIZES[pattern]:
            raise SealError(f"response of {len(packet)} bytes")
        _, ciphers = read(state, packet[9:])
        if pattern == "xx":
            final, ciphers = write(state)
        if not self.accept(address, state.rs.data):
            raise SealError("key refused")
        if pattern == "xx":
            self.sendto(final_packet(remote_index, final), address)
        with self.lock:
            self.pending.pop(local_index, None)
            self._up(Session(ciphers, True, local_index, remote_index, address, state.rs.data))

    def _on_cookie(self, packet, address):
        local_index = struct.unpack_from("<I", packet, 1)[0]
        with self.lock:
            entry = self.pending.get(local_index)
            self.cookies_seen += 1
        if entry is None:
            raise SealError("cookie for no init")
        self.sendto(with_mac2(entry[1], packet[5:]), address)

    def _on_data(self, packet, address):
        if len(packet) < HEADER_LEN + TAG_LEN:
            raise SealError("truncated data packet")
        with self.lock:
            session = self.sessions.get(parse_data(packet)[0])
        if session is None:
            raise SealError("unknown session")
        inner = session.open(packet)
        self.received.put((session, inner))
        if self.auto_ack:
            ids = [e["id"] for e in lines_of(inner) if e.get("type") == "msg"]
            if ids:
                self.send_lines(session, [ack(i) for i in ids])

    def _up(self, session):
        """Lock held."""
        self.sessions[session.local_index] = session
        self.by_address[session.address] = session
        self.established.notify_all()

    # --- what the test does -------------------------------------------------
    def init(self, address, remote_static=None, mac2=ZERO_MAC):
        """Starts a handshake (IK when the peer's key is given, else XX)
        without waiting; returns (local index, the init's bytes)."""
        pattern = "ik" if remote_static else "xx"
        state = handshake_state(pattern, True, self.keypair, remote_static)
        message, _ = write(state)
        local_index = random_index()
        packet = init_packet(IK_INIT if remote_static else XX_INIT, local_index, message, mac2)
        with self.lock:
            self.pending[local_index] = (state, packet, address, pattern)
        self.sendto(packet, address)
        return local_index, packet

    def connect(self, address, remote_static=None, timeout=5.0, retries=3):
        """A finished session with `address` as initiator; resends a new
        init after each second without an answer, like chatd."""
        deadline = time.monotonic() + timeout
        while True:
            local_index, _ = self.init(address, remote_static)
            wait_until = min(deadline, time.monotonic() + timeout / max(retries, 1))
            with self.lock:
                while local_index not in self.sessions and time.monotonic() < wait_until:
                    self.established.wait(wait_until - time.monotonic())
                if local_index in self.sessions:
                    return self.sessions[local_index]
            if time.monotonic() >= deadline:
                raise AssertionError(f"no handshake with {address}: refused {self.refused}")

    def session_with(self, address, timeout=5.0):
        """The session `address` starts (or started) with this peer."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while address not in self.by_address and time.monotonic() < deadline:
                self.established.wait(deadline - time.monotonic())
            if address not in self.by_address:
                raise AssertionError(f"{address} started no session: refused {self.refused}")
            return self.by_address[address]

    def send_lines(self, session, lines, **seal_args):
        packet = session.seal("\n".join(lines).encode(), **seal_args)
        self.sendto(packet, session.address)
        return packet

    def next_received(self, timeout=5.0):
        try:
            return self.received.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"nothing sealed arrived in {timeout} s: refused {self.refused}")

    def envelopes(self, timeout=5.0, want=1, type=None):
        """Envelopes opened, in order, until `want` of `type` arrived."""
        found = []
        deadline = time.monotonic() + timeout
        while len([e for e in found if type is None or e.get("type") == type]) < want:
            _, inner = self.next_received(max(0.01, deadline - time.monotonic()))
            found += lines_of(inner)
        return [e for e in found if type is None or e.get("type") == type]


# --- for the integration tests: a sealed stand-in for a raw UDP socket -------

def sealed_missing(daemon):
    """Why `daemon` cannot be tested sealed, or None: a chatd that does not
    count unsealed envelopes speaks wire 1 (the sealed layer not merged)."""
    if COUNTERS["unsealed"] not in daemon.counters():
        return "this chatd does not speak the sealed wire 2 (no refused_unsealed counter)"
    return None


class SealedChannel:
    """What a test's raw UDP socket was to a daemon, sealed: a SealedPeer
    with a session to it; send() seals a datagram's text, recv() returns the
    next opened one, raising TimeoutError like a socket."""

    def __init__(self, daemon, keypair=None, timeout=5.0, **options):
        self.daemon = daemon
        self.peer = SealedPeer(keypair, host=daemon.host, auto_ack=False, **options).start()
        self.timeout = timeout
        self.session = None
        self.connect()

    @property
    def address(self):
        return self.peer.endpoint

    def connect(self, remote_static=None):
        """A new handshake (after a restart the daemon has forgotten the old one)."""
        self.session = self.peer.connect((self.daemon.host, self.daemon.port), remote_static)
        return self.session

    def settimeout(self, timeout):
        self.timeout = timeout

    def send(self, text):
        return self.peer.send_lines(self.session, [text.decode() if isinstance(text, bytes)
                                                   else text])

    def recv(self, timeout=None):
        try:
            session, inner = self.peer.received.get(
                timeout=self.timeout if timeout is None else timeout)
        except queue.Empty:
            raise TimeoutError("nothing sealed arrived")
        return inner

    def recv_envelopes(self, timeout=None):
        return lines_of(self.recv(timeout))

    def close(self):
        self.peer.close()


def sealed_channel(test, daemon, **options):
    """A SealedChannel to `daemon` closed with the test; fails the test
    when the daemon does not speak wire 2."""
    why = sealed_missing(daemon)
    if why:
        test.fail(why)
    channel = SealedChannel(daemon, **options)
    test.addCleanup(channel.close)
    return channel


def serve_main(argv):
    """`sealed_peer.py serve HOST PORT [PEER_HOST PEER_PORT TEXT NAME]`: a
    SealedPeer with a key of its own on HOST:PORT (a man in the middle, run
    in another namespace), answering handshakes and acking; given a peer, it
    also starts a handshake with it and sends TEXT as NAME. Prints one JSON
    line per envelope it opens and per packet it refused; ends when stdin closes."""
    import sys
    peer = SealedPeer(host=argv[0], port=int(argv[1])).start()
    print(json.dumps({"ready": peer.endpoint, "public_key": peer.public.hex()}), flush=True)
    if len(argv) >= 6:
        try:
            session = peer.connect((argv[2], int(argv[3])), timeout=3)
            peer.send_lines(session, [msg(new_id(), argv[4], name=argv[5])])
            print(json.dumps({"session": True}), flush=True)
        except AssertionError as e:
            print(json.dumps({"session": False, "why": str(e)}), flush=True)
    reader = threading.Thread(target=sys.stdin.read, daemon=True)
    reader.start()
    while reader.is_alive():
        try:
            _, inner = peer.received.get(timeout=0.1)
            for e in lines_of(inner):
                print(json.dumps({"opened": e}), flush=True)
        except queue.Empty:
            pass
    for address, why in peer.refused:
        print(json.dumps({"refused": why, "from": endpoint_text(address)}), flush=True)
    peer.close()


if __name__ == "__main__":
    import sys
    if sys.argv[1:2] == ["serve"]:
        serve_main(sys.argv[2:])
