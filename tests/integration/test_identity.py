"""Each daemon's long-term key: `chatcli id` shows its fingerprint, the same
across restarts and different between daemons; the key file is private, a
corrupt one stops the start, and no worker process holds it open."""
import base64
import hashlib
import json
import os
import stat
import subprocess

from harness import CHATD, SLOW, ChatTestCase

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def luhn32(text):
    """Syncthing's check character (lib/protocol/luhn.go), written apart
    from chatd's."""
    factor, total = 1, 0
    for ch in text:
        addend = factor * ALPHABET.index(ch)
        factor = 1 if factor == 2 else 2
        total += addend // 32 + addend % 32
    return ALPHABET[(32 - total % 32) % 32]


def device_id(public_key_hex):
    digest = hashlib.sha256(bytes.fromhex(public_key_hex)).digest()
    b32 = base64.b32encode(digest).decode().rstrip("=")
    checked = "".join(b32[i:i + 13] + luhn32(b32[i:i + 13]) for i in range(0, 52, 13))
    return "-".join(checked[i:i + 7] for i in range(0, 56, 7))


class IdentityTest(ChatTestCase):
    def key_path(self, d):
        return os.path.join(d.config["state_dir"], "identity.key")

    def identity(self, d):
        return json.loads(d.cli("--json", "id").stdout)

    def test_id_is_stable_across_a_restart_and_differs_between_daemons(self):
        alice = self.daemon("alice")
        bob = self.daemon("bob")
        first = self.identity(alice)
        self.assertEqual(set(first), {"ok", "fingerprint", "short", "public_key", "name"})
        self.assertEqual(first["name"], "alice")
        self.assertRegex(first["public_key"], r"^[0-9a-f]{64}$")
        self.assertEqual(first["fingerprint"], device_id(first["public_key"]))
        self.assertEqual(first["short"], first["fingerprint"][:7])
        shown = alice.cli("id").stdout
        self.assertEqual(shown, "alice  " + first["fingerprint"] + "\n")

        self.assertNotEqual(self.identity(bob)["fingerprint"], first["fingerprint"])
        self.assertEqual(alice.stop(), 0)
        alice.start()
        self.assertEqual(self.identity(alice), first)

    def test_the_key_file_is_private_and_no_worker_holds_it(self):
        alice = self.daemon("alice")
        path = self.key_path(alice)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        with open(path) as f:
            self.assertRegex(f.read(), r"^chatd-identity-v1 [A-Za-z0-9+/]{43}=\n$")
        # Once made, and once loaded by a later start.
        for restart in (False, True):
            if restart:
                self.assertEqual(alice.stop(), 0)
                alice.start()
            workers = alice.worker_pids()
            self.assertTrue(workers)
            for pid in [alice.proc.pid, *workers]:
                fd_dir = f"/proc/{pid}/fd"
                targets = [os.readlink(os.path.join(fd_dir, fd)) for fd in os.listdir(fd_dir)]
                self.assertFalse([t for t in targets if "identity.key" in t], (pid, targets))

    def refused_start(self, d):
        r = subprocess.run([CHATD, "--config", d.write_config()], capture_output=True,
                           text=True, timeout=20 * SLOW)
        return r.returncode, r.stderr

    def test_a_corrupt_or_open_key_file_stops_the_start(self):
        alice = self.daemon("alice")
        self.assertEqual(alice.stop(), 0)
        path = self.key_path(alice)
        with open(path, "w") as f:
            f.write("chatd-identity-v1 not-a-key\n")
        rc, err = self.refused_start(alice)
        self.assertEqual(rc, 2, err)
        self.assertIn(f"identity key {path} is not a chatd identity key", err)
        with open(path, "r") as f:
            self.assertEqual(f.read(), "chatd-identity-v1 not-a-key\n")  # left for the user

        os.remove(path)
        alice.start()
        fingerprint = self.identity(alice)["fingerprint"]
        self.assertEqual(alice.stop(), 0)
        os.chmod(path, 0o640)
        rc, err = self.refused_start(alice)
        self.assertEqual(rc, 2, err)
        self.assertIn(f"identity key {path} is open to group or others (mode 0640)", err)
        self.assertIn(f"chmod 600 {path}", err)
        os.chmod(path, 0o600)
        alice.start()
        self.assertEqual(self.identity(alice)["fingerprint"], fingerprint)
