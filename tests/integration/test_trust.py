"""Trust as people use it: a key pinned in advance by fingerprint
(`chatcli trust`), `chatcli verify` and its safety number, what `peers`
says of each peer's key, and a send to a peer whose key changed."""
import hashlib
import json
import os
import subprocess
import time
import unittest

from harness import CHATD, SLOW, ChatTestCase, wait_for


def safety_number(key_a_hex, key_b_hex):
    """The 60 digits and the short code, computed apart from chatd
    (common/safety_number.hpp says how)."""
    low, high = sorted([bytes.fromhex(key_a_hex), bytes.fromhex(key_b_hex)])
    first = hashlib.sha256(b"chatd safety number v1" + low + high).digest()
    second = hashlib.sha256(first).digest()
    groups = ["%05d" % (int.from_bytes(d[i * 5:i * 5 + 5], "big") % 100000)
              for d in (first, second) for i in range(6)]
    return " ".join(groups), "%06d" % (int.from_bytes(first[:4], "big") % 1000000)


class TrustTest(ChatTestCase):
    def identity(self, d):
        return json.loads(d.cli("--json", "id").stdout)

    def peer_entry(self, d, address):
        peers = json.loads(d.cli("--json", "peers").stdout)["peers"]
        found = [p for p in peers if p["address"] == address]
        return found[0] if found else None

    def test_a_key_pinned_by_fingerprint_is_verified_and_survives_a_restart(self):
        alice = self.daemon("alice")
        bob = self.daemon("bob")
        bob_id = self.identity(bob)
        r = alice.cli("trust", bob.address, bob_id["fingerprint"])
        self.assertEqual(r.stdout, f"pinned {bob_id['fingerprint']} for {bob.address}, verified; "
                                   "messages held for it are sent now\n")
        entry = self.peer_entry(alice, bob.address)
        self.assertEqual(entry, {"address": bob.address, "fingerprint": bob_id["short"],
                                 "trust": "verified"})
        self.assertIn(f"  {bob.address}  not seen yet  key {bob_id['short']}  verified\n",
                      alice.cli("peers").stdout)
        self.assertEqual(alice.stop(), 0)
        alice.start()
        self.assertEqual(self.peer_entry(alice, bob.address)["trust"], "verified")
        # Typed in lower case with spaces, as people do: the same key.
        alice.cli("trust", bob.address, bob_id["fingerprint"].lower().replace("-", " "))
        self.assertEqual(self.peer_entry(alice, bob.address)["fingerprint"], bob_id["short"])

    def test_a_bad_fingerprint_is_a_usage_error_that_says_why(self):
        alice = self.daemon("alice")
        good = self.identity(alice)["fingerprint"]
        wrong_check = good[:-1] + ("A" if good[-1] != "A" else "B")
        for typed in ("not-a-fingerprint", good[:20], wrong_check):
            r = alice.cli("trust", "127.0.0.1:9", typed, check=False)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertTrue(r.stderr.startswith(f"chatcli: invalid fingerprint '{typed}': "),
                            r.stderr)
        self.assertIsNone(self.peer_entry(alice, "127.0.0.1:9"))

    def test_verify_without_a_key_says_what_to_do(self):
        alice = self.daemon("alice")
        r = alice.cli("verify", "127.0.0.1:9", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "chatcli: no key known for 127.0.0.1:9 yet: send it a message "
                                   "first, or pin its fingerprint with chatcli trust\n")
        # Pinned by fingerprint: verified already, but no handshake proved it yet.
        alice.cli("trust", "127.0.0.1:9", self.identity(alice)["fingerprint"])
        r = alice.cli("verify", "127.0.0.1:9", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("was pinned by its fingerprint and no handshake has proved it yet", r.stderr)

    def test_a_plain_peer_is_shown_unauthenticated(self):
        alice = self.daemon("alice")
        s = self.udp_socket()
        s.sendto(b"hello from nc\n", ("127.0.0.1", alice.port))
        address = "127.0.0.1:%d" % s.getsockname()[1]
        wait_for(lambda: self.peer_entry(alice, address), what="the plain peer")
        self.assertEqual(self.peer_entry(alice, address)["trust"], "plain")
        self.assertNotIn("fingerprint", self.peer_entry(alice, address))
        self.assertIn("speaks plain  plain, unauthenticated\n", alice.cli("peers").stdout)
        s.close()

    def test_the_security_section_is_in_the_default_config_and_checked(self):
        r = subprocess.run([CHATD, "--print-default-config"], capture_output=True, text=True,
                           timeout=10 * SLOW)
        self.assertEqual(json.loads(r.stdout)["security"],
                         {"accept_new_peers": "tofu", "plain_peers": "allow"})
        bad = self.daemon("bad", start=False, security={"accept_new_peers": "always"})
        r = subprocess.run([CHATD, "--config", bad.write_config()], capture_output=True,
                           text=True, timeout=20 * SLOW)
        self.assertEqual(r.returncode, 2)
        self.assertIn("'security.accept_new_peers' must be tofu or verified; got 'always'",
                      r.stderr)

    def test_the_security_policies_change_on_reload(self):
        alice = self.daemon("alice")
        self.assertEqual(alice.status()["security"],
                         {"accept_new_peers": "tofu", "plain_peers": "allow"})
        alice.config["security"] = {"accept_new_peers": "verified", "plain_peers": "deny"}
        alice.reload()
        wait_for(lambda: alice.status()["security"] == {"accept_new_peers": "verified",
                                                        "plain_peers": "deny"},
                 what="the reloaded policies in status")
        self.assertIn("changed: security.accept_new_peers, security.plain_peers", alice.log())
        # (listen is named: the harness's config now gives the port chatd picked)
        waiting = [l for l in alice.log().splitlines() if "not changed until a restart" in l]
        self.assertFalse([l for l in waiting if "security" in l], waiting)

    def test_a_plain_send_to_a_peer_with_a_pinned_key_is_refused_and_not_stored(self):
        alice = self.daemon("alice")
        bob = self.daemon("bob")
        alice.cli("trust", bob.address, self.identity(bob)["fingerprint"])
        r = alice.cli("send", "--plain", bob.address, "in clear", check=False)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(r.stderr, f"chatcli: {bob.address} has a pinned key: plain text would "
                                   "be readable by anyone and unauthenticated; send without "
                                   "--plain\n")
        r = alice.cli("--json", "send", "--plain", bob.address, "in clear", check=False)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(json.loads(r.stdout)["code"], "bad_request")
        self.assertEqual(alice.status()["outbox"], 0)
        self.assertNotIn("in clear", [m["text"] for m in alice.history(bob.address)])

    # The first message's handshake pins both keys.
    def test_verify_shows_the_same_safety_number_on_both_daemons(self):
        alice = self.daemon("alice")
        bob = self.daemon("bob")
        alice.cli("send", bob.address, "first contact")
        a_id, b_id = self.identity(alice), self.identity(bob)
        wait_for(lambda: (self.peer_entry(alice, bob.address) or {}).get("trust") == "unverified",
                 what="alice to pin bob's key")
        wait_for(lambda: (self.peer_entry(bob, alice.address) or {}).get("trust") == "unverified",
                 what="bob to pin alice's key")
        digits, code = safety_number(a_id["public_key"], b_id["public_key"])
        at_alice = json.loads(alice.cli("--json", "verify", bob.address).stdout.splitlines()[0])
        at_bob = json.loads(bob.cli("--json", "verify", alice.address).stdout.splitlines()[0])
        self.assertEqual(at_alice["safety_number"], digits)
        self.assertEqual(at_bob["safety_number"], digits)
        self.assertEqual(at_alice["short_code"], code)
        self.assertEqual(at_alice["peer_fingerprint"], b_id["fingerprint"])
        self.assertEqual(at_bob["peer_fingerprint"], a_id["fingerprint"])
        # No terminal to ask at: the number is shown, exit 0, nothing changes.
        r = alice.cli("verify", bob.address, input="")
        self.assertIn(digits[:35], r.stdout)
        self.assertIn("not asked (stdin is no terminal)", r.stderr)
        self.assertEqual(self.peer_entry(alice, bob.address)["trust"], "unverified")
        # A confirmation of a number that is no longer the keys' is refused.
        refused = alice.request({"cmd": "verify", "peer": bob.address, "confirm": True,
                                 "safety_number": "00000 " + digits[6:]})
        self.assertFalse(refused["ok"])
        self.assertEqual(refused["code"], "key_changed")
        self.assertIn("changed since it was shown", refused["error"])
        self.assertEqual(self.peer_entry(alice, bob.address)["trust"], "unverified")
        r = alice.cli("verify", "--yes", bob.address)
        self.assertIn(f"{bob.address} is verified: {b_id['fingerprint']}\n", r.stdout)
        self.assertEqual(self.peer_entry(alice, bob.address)["trust"], "verified")
        self.assertEqual(alice.stop(), 0)
        alice.start()
        self.assertEqual(self.peer_entry(alice, bob.address)["trust"], "verified")

    # The handshake finds bob's key is not the one pinned.
    def test_a_send_to_a_changed_key_waits_until_the_new_key_is_trusted(self):
        alice = self.daemon("alice")
        bob = self.daemon("bob")
        carol = self.daemon("carol")
        wrong = self.identity(carol)["fingerprint"]
        alice.cli("trust", bob.address, wrong)
        alice.cli("send", "--no-wait", bob.address, "to the key pinned", check=False)
        wait_for(lambda: self.peer_entry(alice, bob.address)["trust"] == "key_changed",
                 what="alice to see bob's key is another")
        self.assertIn("KEY CHANGED", alice.cli("peers").stdout)
        r = alice.cli("send", bob.address, "held", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"the key of {bob.address} changed: pinned {wrong[:7]}, now offered "
                      f"{self.identity(bob)['short']}", r.stderr)
        self.assertIn(f"chatcli verify {bob.address}", r.stderr)
        self.assertIn(f"chatcli trust {bob.address} FINGERPRINT", r.stderr)
        r = alice.cli("--json", "send", bob.address, "held too", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(json.loads(r.stdout)["code"], "key_changed")
        self.assertNotIn("held", [m["text"] for m in bob.inbox()])
        # --yes does not take a changed key unseen: its fingerprint is compared.
        r = alice.cli("verify", "--yes", bob.address, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"chatcli trust {bob.address} FINGERPRINT", r.stderr)
        self.assertEqual(self.peer_entry(alice, bob.address)["trust"], "key_changed")
        alice.cli("trust", bob.address, self.identity(bob)["fingerprint"])
        wait_for(lambda: {"held", "held too"} <= {m["text"] for m in bob.inbox()},
                 timeout=15 * SLOW, what="the held messages to reach bob")

    def test_a_peer_that_comes_back_with_a_new_key_is_a_changed_key_not_a_silence(self):
        # Alice knows bob's public key, so she starts IK, which only the old
        # key can answer: after two unanswered, XX shows the key bob holds now.
        alice, bob = self.daemon("alice"), self.daemon("bob")
        alice.cli("send", bob.address, "before")
        old = self.identity(bob)["fingerprint"]
        bob.stop()
        os.remove(os.path.join(bob.config["state_dir"], "identity.key"))
        bob.start()
        alice.stop()
        alice.start()  # no session left: her first try is IK to the old key
        new = self.identity(bob)["fingerprint"]
        self.assertNotEqual(new, old)
        alice.cli("send", "--no-wait", bob.address, "after", check=False)
        wait_for(lambda: self.peer_entry(alice, bob.address)["trust"] == "key_changed",
                 timeout=10 * SLOW, what="alice to see bob's new key as a changed key")
        self.assertEqual([m["text"] for m in bob.inbox()], ["before"])
        r = alice.cli("send", bob.address, "still held", check=False)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(f"pinned {old[:7]}, now offered {new[:7]}", r.stderr)
        alice.cli("trust", bob.address, new)
        wait_for(lambda: {"after", "still held"} <= {m["text"] for m in bob.inbox()},
                 timeout=15 * SLOW, what="the held messages to reach bob's new key")
        self.assertEqual(self.peer_entry(alice, bob.address)["trust"], "verified")

    def test_pinning_another_key_ends_the_session_made_with_the_old_one(self):
        alice, bob, carol = self.daemon("alice"), self.daemon("bob"), self.daemon("carol")
        bob.cli("send", alice.address, "over the first session")
        alice.cli("trust", bob.address, self.identity(carol)["fingerprint"])
        # Bob's session is still up on his side: he seals with it at once.
        bob.cli("send", "--no-wait", alice.address, "after the pin")
        wait_for(lambda: alice.counters().get("refused_key", 0) >= 1,
                 what="alice to end the session made with bob's old key")
        time.sleep(0.5 * SLOW)
        self.assertEqual([m["text"] for m in alice.inbox()], ["over the first session"])
        self.assertEqual(self.peer_entry(alice, bob.address)["trust"], "key_changed")
