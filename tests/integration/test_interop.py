"""Plain UDP peers: netcat and the classic threading chat (raw UTF-8
datagrams) talk to chatd and are talked to in plain text."""
import json
import select
import shutil
import subprocess
import unittest

from harness import ChatTestCase, free_udp_port, wait_for


@unittest.skipUnless(shutil.which("nc"), "netcat-openbsd is not installed")
class NetcatTest(ChatTestCase):
    def test_nc_to_chatd(self):
        b = self.daemon("bob")
        subprocess.run(["nc", "-u", "-w1", "127.0.0.1", str(b.port)], input="hello from nc\n",
                       text=True, check=True, timeout=10)
        [m] = wait_for(lambda: b.inbox(), what="the nc message")
        self.assertEqual((m["text"], m["plain"]), ("hello from nc", True))
        self.assertIn("[plain]: hello from nc", b.cli("inbox").stdout)

    def test_chatd_to_nc(self):
        a = self.daemon("alice")
        port = free_udp_port()
        nc = subprocess.Popen(["nc", "-u", "-l", "127.0.0.1", str(port)], stdout=subprocess.PIPE, text=True)
        try:
            # A plain datagram is sent once; one that leaves before nc has
            # bound is lost. Send again until nc shows one (a loaded CI
            # machine starts nc slowly; reading blindly hung there).
            for _ in range(40):
                r = a.cli("--json", "send", "--plain", f"127.0.0.1:{port}", "hi nc")
                self.assertEqual(json.loads(r.stdout)["state"], "sent")
                if select.select([nc.stdout], [], [], 0.25)[0]:
                    break
            self.assertEqual(nc.stdout.readline(), "hi nc\n")
        finally:
            nc.kill()
            nc.wait()
            nc.stdout.close()
        history = a.history()
        self.assertGreaterEqual(len(history), 1)
        self.assertTrue(all((h["plain"], h["state"]) == (True, "sent") for h in history))


class ClassicChatTest(ChatTestCase):
    """The classic threading chat sends raw UTF-8 datagrams and prints what
    it receives; a raw socket plays it here."""

    def test_plain_peer_gets_plain_replies_by_default(self):
        b = self.daemon("bob")
        classic = self.udp_socket()
        classic.sendto("héllo, I speak plain".encode(), ("127.0.0.1", b.port))
        wait_for(lambda: b.inbox(), what="the plain message")
        peer = "127.0.0.1:%d" % classic.getsockname()[1]
        reply = json.loads(b.cli("--json", "send", peer, "plain back").stdout)
        self.assertEqual((reply["state"], reply["plain"]), ("sent", True))
        self.assertEqual(classic.recv(65535), "plain back\n".encode())
        human = b.cli("send", peer, "again").stdout
        self.assertIn("as plain text", human)
        self.assertEqual(classic.recv(65535), b"again\n")

    def test_a_peer_that_speaks_envelopes_is_not_downgraded(self):
        a, b = self.daemon("alice"), self.daemon("bob")
        a.cli("send", b.address, "envelope")
        r = json.loads(b.cli("--json", "send", a.address, "reply").stdout)
        self.assertEqual((r["state"], r["plain"]), ("delivered", False))

    def test_plain_send_to_unknown_peer_is_not_acknowledged_or_retried(self):
        a = self.daemon("alice")
        listener = self.udp_socket()
        port = listener.getsockname()[1]
        a.cli("send", "--plain", f"127.0.0.1:{port}", "one shot")
        self.assertEqual(listener.recv(65535), b"one shot\n")
        self.assertEqual(a.status()["outbox"], 0)
        listener.settimeout(0.5)
        with self.assertRaises(TimeoutError):
            listener.recv(65535)


if __name__ == "__main__":
    unittest.main()
