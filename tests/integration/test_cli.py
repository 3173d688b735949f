"""chatcli as a person and a script use it: chat in a terminal (under
tmux) and with piped input, --help, --version, exit codes."""
import json
import os
import shutil
import subprocess
import time
import unittest

from harness import CHATCLI, CHATD, ChatTestCase, wait_for


class ChatScriptedTest(ChatTestCase):
    def test_piped_lines_are_sent_in_order_and_it_exits_at_the_end(self):
        a, b = self.daemon("alice"), self.daemon("bob")
        r = a.cli("chat", b.address, input="one\ntwo\n\nthree")
        self.assertEqual([m["text"] for m in b.inbox()], ["one", "two", "three"])
        self.assertEqual(r.stdout.count("delivered: "), 3)

    def test_piped_chat_fails_when_the_peer_never_acks(self):
        a = self.daemon("alice", outbox_ttl_seconds=1)
        r = a.cli("chat", "127.0.0.1:9", input="anyone?\n", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("NOT delivered yet: anyone?", r.stdout)

    def test_chat_with_a_bad_peer_is_a_usage_error(self):
        a = self.daemon("alice")
        r = a.cli("chat", "bad host", input="x\n", check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("invalid character in host", r.stderr)


@unittest.skipUnless(shutil.which("tmux"), "tmux is not installed")
class ChatTerminalTest(ChatTestCase):
    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.server, *args], capture_output=True, text=True, check=True)

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", "chat").stdout

    def setUp(self):
        super().setUp()
        self.server = "chatd-test-%d" % os.getpid()
        self.addCleanup(subprocess.run, ["tmux", "-L", self.server, "kill-server"], capture_output=True)

    def test_typing_receiving_and_quitting(self):
        a, b = self.daemon("alice"), self.daemon("bob")
        self.tmux("new-session", "-d", "-s", "chat", "-x", "120", "-y", "30",
                  f"{CHATCLI} --socket {a.socket} chat {b.address}; echo EXITED $?; sleep 30")
        wait_for(lambda: "Ctrl-D or /quit leaves" in self.screen(), what="the chat prompt")

        self.tmux("send-keys", "-t", "chat", "hello from the terminal", "Enter")
        wait_for(lambda: b.inbox(), what="the typed message to arrive")
        self.assertEqual(b.inbox()[0]["text"], "hello from the terminal")
        wait_for(lambda: "delivered: hello from the terminal" in self.screen(), what="the delivery mark")

        # A message arrives while a line is half typed: it is printed above,
        # and the half-typed line is still there to finish.
        self.tmux("send-keys", "-t", "chat", "half typ")
        wait_for(lambda: "> half typ" in self.screen(), what="the echo")
        b.cli("send", a.address, "incoming \x1b[31mred")
        wait_for(lambda: "incoming ^[[31mred" in self.screen(), what="the incoming message")
        last_line = [l for l in self.screen().splitlines() if l.strip()][-1]
        self.assertEqual(last_line.rstrip(), "> half typ")
        self.tmux("send-keys", "-t", "chat", "BSpace", "ed", "Enter")
        wait_for(lambda: len(b.inbox()) == 2, what="the finished line")
        self.assertEqual(b.inbox()[1]["text"], "half tyed")

        self.tmux("send-keys", "-t", "chat", "/quit", "Enter")
        wait_for(lambda: "EXITED 0" in self.screen(), what="chatcli to leave")
        self.assertEqual(len(b.inbox()), 2)  # /quit is not sent

    def test_ctrl_d_leaves(self):
        a, b = self.daemon("alice"), self.daemon("bob")
        self.tmux("new-session", "-d", "-s", "chat", "-x", "100", "-y", "20",
                  f"{CHATCLI} --socket {a.socket} chat {b.address}; echo EXITED $?; sleep 30")
        wait_for(lambda: "Ctrl-D or /quit leaves" in self.screen(), what="the chat prompt")
        self.tmux("send-keys", "-t", "chat", "C-d")
        wait_for(lambda: "EXITED 0" in self.screen(), what="chatcli to leave")


class HelpTest(unittest.TestCase):
    def run_cmd(self, *args):
        return subprocess.run(list(args), capture_output=True, text=True, timeout=10)

    def test_help_and_version(self):
        for binary in (CHATD, CHATCLI):
            r = self.run_cmd(binary, "--help")
            self.assertEqual(r.returncode, 0)
            self.assertIn("Usage", r.stdout)
            r = self.run_cmd(binary, "--version")
            self.assertEqual(r.returncode, 0)
            self.assertRegex(r.stdout, r"^chat(d|cli) \d+\.\d+\.\d+")
        r = self.run_cmd(CHATCLI, "send", "--help")
        self.assertIn("max_datagram_bytes", r.stdout)
        self.assertIn("--no-wait", r.stdout)

    def test_usage_errors_exit_2(self):
        for args in ([CHATCLI], [CHATCLI, "dance"], [CHATCLI, "send", "bob"], [CHATD, "--bogus"]):
            r = self.run_cmd(*args)
            self.assertEqual(r.returncode, 2, args)
            self.assertTrue(r.stderr.strip(), args)

    def test_print_default_config_matches_the_shipped_file(self):
        r = self.run_cmd(CHATD, "--print-default-config")
        shipped = os.path.join(os.path.dirname(__file__), "..", "..", "config", "chatd.json")
        with open(shipped) as f:
            self.assertEqual(json.loads(r.stdout), json.load(f))


if __name__ == "__main__":
    unittest.main()
