"""chatd's Noise (crypto/, driven through tests/noise_peer) against an
independent implementation, Debian's python3-dissononce: XX and IK, chatd
as initiator and as responder, fixed keys. Both sides must write the same
bytes, finish with the same handshake hash and keys, and decrypt each
other's transport messages. Run with /usr/bin/python3 (dissononce is a
package for Debian's interpreter)."""
import os
import subprocess
import unittest

from dissononce.cipher.chachapoly import ChaChaPolyCipher
from dissononce.dh.private import PrivateKey
from dissononce.dh.x25519.x25519 import X25519DH
from dissononce.extras.dh.dangerous.dh_nogen import NoGenDH
from dissononce.hash.sha256 import SHA256Hash
from dissononce.processing.handshakepatterns.interactive.IK import IKHandshakePattern
from dissononce.processing.handshakepatterns.interactive.XX import XXHandshakePattern
from dissononce.processing.impl.cipherstate import CipherState
from dissononce.processing.impl.handshakestate import HandshakeState
from dissononce.processing.impl.symmetricstate import SymmetricState

NOISE_PEER = os.path.join(os.environ.get("CHAT_BUILD_DIR", "../../build"), "tests", "noise_peer")

# Fixed keys (private halves), one pair per role.
KEYS = {
    "initiator": {"static": "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1",
                  "ephemeral": "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a"},
    "responder": {"static": "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893",
                  "ephemeral": "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b"},
}
PROLOGUE = b"chatd noise interop"
PATTERNS = {"xx": (XXHandshakePattern, 3), "ik": (IKHandshakePattern, 2)}


def keypair(private_hex):
    return X25519DH().generate_keypair(PrivateKey(bytes.fromhex(private_hex)))


class NoisePeer:
    """tests/noise_peer: one command line in, one answer line out."""

    def __init__(self, pattern, role, remote_static=None):
        args = [NOISE_PEER, "--pattern", pattern, "--role", role,
                "--static", KEYS[role]["static"], "--ephemeral", KEYS[role]["ephemeral"],
                "--prologue", PROLOGUE.hex()]
        if remote_static is not None:
            args += ["--remote-static", remote_static.hex()]
        self.process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True)

    def ask(self, command, expect):
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        tag, _, value = self.process.stdout.readline().strip().partition(" ")
        if tag != expect:
            raise AssertionError(f"noise_peer answered {tag} {value!r} to {command[:20]}")
        return bytes.fromhex(value)

    def close(self):
        self.process.stdin.close()
        self.process.stdout.close()
        self.process.wait(timeout=10)


def dissononce_side(pattern, role, remote_static=None):
    me = KEYS[role]
    state = HandshakeState(SymmetricState(CipherState(ChaChaPolyCipher()), SHA256Hash()),
                           NoGenDH(X25519DH(), PrivateKey(bytes.fromhex(me["ephemeral"]))))
    state.initialize(PATTERNS[pattern][0](), role == "initiator", PROLOGUE,
                     s=keypair(me["static"]), rs=remote_static)
    return state


class NoiseInteropTest(unittest.TestCase):
    def run_handshake(self, pattern, chatd_role):
        other_role = "responder" if chatd_role == "initiator" else "initiator"
        responder_public = keypair(KEYS["responder"]["static"]).public
        ik_key = pattern == "ik"
        peer = NoisePeer(pattern, chatd_role,
                         responder_public.data if ik_key and chatd_role == "initiator" else None)
        self.addCleanup(peer.close)
        other = dissononce_side(pattern, other_role,
                                responder_public if ik_key and other_role == "initiator" else None)
        ciphers = None
        for i in range(PATTERNS[pattern][1]):
            payload = f"handshake payload {i}".encode()
            chatd_writes = (i % 2 == 0) == (chatd_role == "initiator")
            if chatd_writes:
                message = peer.ask("write " + payload.hex(), "msg")
                received = bytearray()
                ciphers = other.read_message(message, received)
                self.assertEqual(bytes(received), payload)
            else:
                message = bytearray()
                ciphers = other.write_message(payload, message)
                self.assertEqual(peer.ask("read " + bytes(message).hex(), "payload"), payload)
        self.assertIsNotNone(ciphers, "dissononce did not finish the handshake")
        self.assertEqual(peer.ask("hash", "hash"), other.symmetricstate.get_handshake_hash())
        other_static = keypair(KEYS[other_role]["static"]).public.data
        self.assertEqual(peer.ask("remote", "remote"), other_static)
        self.assertEqual(other.rs.data, keypair(KEYS[chatd_role]["static"]).public.data)
        # dissononce's pair is (initiator sends, responder sends).
        other_send, other_receive = ciphers if other_role == "initiator" else ciphers[::-1]
        for n in range(3):
            text = f"transport {n} from chatd".encode()
            sealed = peer.ask("write " + text.hex(), "msg")
            self.assertNotIn(text, sealed)
            self.assertEqual(other_receive.decrypt_with_ad(b"", sealed), text)
            reply = f"transport {n} to chatd".encode()
            self.assertEqual(peer.ask("read " + other_send.encrypt_with_ad(b"", reply).hex(),
                                      "payload"), reply)

    def test_xx_chatd_initiator(self):
        self.run_handshake("xx", "initiator")

    def test_xx_chatd_responder(self):
        self.run_handshake("xx", "responder")

    def test_ik_chatd_initiator(self):
        self.run_handshake("ik", "initiator")

    def test_ik_chatd_responder(self):
        self.run_handshake("ik", "responder")

    def test_tampered_message_from_dissononce_is_refused(self):
        peer = NoisePeer("ik", "responder")
        self.addCleanup(peer.close)
        other = dissononce_side("ik", "initiator", keypair(KEYS["responder"]["static"]).public)
        message = bytearray()
        other.write_message(b"hello", message)
        message[-1] ^= 1
        peer.process.stdin.write("read " + bytes(message).hex() + "\n")
        peer.process.stdin.flush()
        self.assertIn("bad MAC", peer.process.stdout.readline())


if __name__ == "__main__":
    unittest.main()
