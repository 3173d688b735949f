"""chatcli as a person and a script use it: chat in a terminal (under
tmux) and with piped input, --help, --version, exit codes."""
import datetime
import json
import os
import re
import select
import shutil
import socket
import stat
import subprocess
import time
import unittest

from harness import CHATCLI, CHATD, ChatTestCase, free_udp_port, wait_for

RFC3339_UTC = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"


def utc(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)


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

    def test_a_line_longer_than_the_terminal_scrolls_in_one_row(self):
        a, b = self.daemon("alice"), self.daemon("bob")
        self.tmux("new-session", "-d", "-s", "chat", "-x", "80", "-y", "24",
                  f"{CHATCLI} --socket {a.socket} chat {b.address}; echo EXITED $?; sleep 30")
        wait_for(lambda: "Ctrl-D or /quit leaves" in self.screen(), what="the chat prompt")
        # 106 characters, each ten-character word numbered so a copy or a
        # piece of one would show.
        long_line = "".join(f"w{i:02d}-abcdef" for i in range(10)) + "tail-x"
        self.tmux("send-keys", "-t", "chat", "-l", long_line)
        wait_for(lambda: "tail-x" in self.screen(), what="the end of the line")
        rows = [l for l in self.screen().splitlines() if l.strip()]
        # The banner and one input row: nothing stacked, nothing wrapped.
        self.assertEqual(len(rows), 2, rows)
        self.assertTrue(rows[1].startswith("< "), rows)
        self.assertLess(len(rows[1]), 80, rows)
        self.assertTrue(long_line.endswith(rows[1][2:].rstrip()), rows)
        # A message arriving meanwhile goes above; the row stays whole.
        b.cli("send", a.address, "while typing")
        wait_for(lambda: "while typing" in self.screen(), what="the incoming message")
        rows = [l for l in self.screen().splitlines() if l.strip()]
        self.assertEqual(len(rows), 3, rows)
        self.assertIn("bob (", rows[1])
        self.assertTrue(long_line.endswith(rows[2][2:].rstrip()), rows)
        # Home shows the start; the cursor's edits land where it is.
        self.tmux("send-keys", "-t", "chat", "Home", "-")
        wait_for(lambda: "> -w00-abcdef" in self.screen(), what="the start of the line")
        self.tmux("send-keys", "-t", "chat", "End", "Enter")
        wait_for(lambda: len(b.inbox()) == 1, what="the long line to arrive")
        self.assertEqual(b.inbox()[0]["text"], "-" + long_line)
        wait_for(lambda: "delivered: -w00" in self.screen(), what="the delivery mark")
        rows = [l for l in self.screen().splitlines() if l.strip()]
        self.assertEqual(rows[-1].rstrip(), ">", rows)

    def test_300_characters_at_120_columns_leave_no_stale_lines(self):
        a, b = self.daemon("alice"), self.daemon("bob")
        self.tmux("new-session", "-d", "-s", "chat", "-x", "120", "-y", "30",
                  f"{CHATCLI} --socket {a.socket} chat {b.address}; echo EXITED $?; sleep 30")
        wait_for(lambda: "Ctrl-D or /quit leaves" in self.screen(), what="the chat prompt")
        long_line = "".join(f"[{i:03d}]" for i in range(60))  # 300 characters
        for at in range(0, 300, 50):  # typed in pieces, as a person would
            self.tmux("send-keys", "-t", "chat", "-l", long_line[at:at + 50])
        wait_for(lambda: "[059]" in self.screen(), what="the end of the line")
        rows = [l for l in self.screen().splitlines() if l.strip()]
        self.assertEqual(len(rows), 2, rows)
        # Erasing half of it brings the start back into view, still one row.
        self.tmux("send-keys", "-t", "chat", *["BSpace"] * 200)
        wait_for(lambda: self.screen().rstrip().endswith("[019]"), what="the erased line")
        rows = [l for l in self.screen().splitlines() if l.strip()]
        self.assertEqual(rows[1].rstrip(), "> " + long_line[:100], rows)
        self.tmux("send-keys", "-t", "chat", "Enter")
        wait_for(lambda: len(b.inbox()) == 1, what="the line to arrive")
        self.assertEqual(b.inbox()[0]["text"], long_line[:100])

    def test_a_narrower_terminal_gets_a_narrower_input_row(self):
        a, b = self.daemon("alice"), self.daemon("bob")
        self.tmux("new-session", "-d", "-s", "chat", "-x", "120", "-y", "30",
                  f"{CHATCLI} --socket {a.socket} chat {b.address}; echo EXITED $?; sleep 30")
        wait_for(lambda: "Ctrl-D or /quit leaves" in self.screen(), what="the chat prompt")
        self.tmux("send-keys", "-t", "chat", "-l", "start")
        wait_for(lambda: "> start" in self.screen(), what="the echo")
        # SIGWINCH: the row is laid out for 60 columns from then on.
        self.tmux("resize-window", "-t", "chat", "-x", "60")
        wait_for(lambda: self.tmux("display", "-p", "-t", "chat", "#{window_width}").stdout.strip() == "60",
                 what="the resize")
        long_line = "start" + "".join(f"[{i:03d}]" for i in range(59))  # 300 characters
        self.tmux("send-keys", "-t", "chat", "-l", long_line[5:])
        wait_for(lambda: "[058]" in self.screen(), what="the end of the line")
        rows = [l for l in self.screen().splitlines() if l.strip()]
        self.assertEqual(len(rows), 2, rows)
        self.assertTrue(rows[1].startswith("< "), rows)
        self.assertLess(len(rows[1]), 60, rows)
        self.assertTrue(long_line.endswith(rows[1][2:].rstrip()), rows)
        self.tmux("send-keys", "-t", "chat", "Enter")
        wait_for(lambda: len(b.inbox()) == 1, what="the line to arrive")
        self.assertEqual(b.inbox()[0]["text"], long_line)

    def test_ctrl_d_leaves(self):
        a, b = self.daemon("alice"), self.daemon("bob")
        self.tmux("new-session", "-d", "-s", "chat", "-x", "100", "-y", "20",
                  f"{CHATCLI} --socket {a.socket} chat {b.address}; echo EXITED $?; sleep 30")
        wait_for(lambda: "Ctrl-D or /quit leaves" in self.screen(), what="the chat prompt")
        self.tmux("send-keys", "-t", "chat", "C-d")
        wait_for(lambda: "EXITED 0" in self.screen(), what="chatcli to leave")


class TimestampTest(ChatTestCase):
    def test_json_inbox_has_sent_ts_and_ts_and_people_see_the_send_time(self):
        a = self.daemon("alice")
        b = self.daemon("bob", start=False, port=free_udp_port())  # down: it waits in the outbox
        a.cli("send", "--no-wait", b.address, "sent while you were away")
        time.sleep(2.5)
        b.start()
        wait_for(lambda: b.inbox(), what="the queued message to arrive")
        [m] = b.inbox()
        self.assertRegex(m["ts"], RFC3339_UTC)
        self.assertRegex(m["sent_ts"], RFC3339_UTC)
        waited = (utc(m["ts"]) - utc(m["sent_ts"])).total_seconds()
        self.assertGreater(waited, 2.0, m)
        self.assertLess(waited, 30, m)
        # People see when it was sent, in local time, to the second.
        shown = subprocess.run([CHATCLI, "--socket", b.socket, "inbox"], capture_output=True, text=True,
                               env={**os.environ, "TZ": "XYZ-5:30"}).stdout
        sent_local = (utc(m["sent_ts"]) + datetime.timedelta(hours=5, minutes=30)).strftime("%Y-%m-%d %H:%M:%S")
        self.assertTrue(shown.startswith(f"[{sent_local}] alice ("), shown)
        # Sent ones: sent_ts is when it was written, as ts.
        [out] = a.history()
        self.assertEqual(out["sent_ts"], out["ts"])

    def test_a_plain_message_has_no_sent_ts(self):
        b = self.daemon("bob")
        s = self.udp_socket()
        s.sendto(b"plain hello\n", ("127.0.0.1", b.port))
        wait_for(lambda: b.inbox(), what="the plain message")
        [m] = b.inbox()
        self.assertTrue(m["plain"])
        self.assertNotIn("sent_ts", m)
        self.assertRegex(m["ts"], RFC3339_UTC)

    def test_peers_and_errors_show_local_time_to_the_second(self):
        a, b = self.daemon("alice"), self.daemon("bob")
        a.cli("send", b.address, "hi")
        shown = b.cli("peers").stdout
        self.assertRegex(shown, r"last seen \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  speaks", shown)
        self.assertEqual(b.request({"cmd": "peers"})["peers"][0]["last_seen"][-1], "Z")
        r = a.cli("send", "--timeout", "0.2", "127.0.0.1:9", "anyone?", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r"retried until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n$", r.stderr)
        r = a.cli("--json", "send", "--timeout", "0.2", "127.0.0.1:9", "anyone?", check=False)
        self.assertRegex(json.loads(r.stdout)["error"], r"retried until \d{4}-\d\d-\d\dT[0-9:.]+Z$")


class JsonChatTest(ChatTestCase):
    def read_line(self, proc, timeout=10):
        ready, _, _ = select.select([proc.stdout], [], [], timeout)
        self.assertTrue(ready, "no line from chatcli in time")
        return json.loads(proc.stdout.readline())

    def test_json_chat_prints_one_message_object_per_line_both_ways(self):
        a, b = self.daemon("alice"), self.daemon("bob")
        proc = subprocess.Popen([CHATCLI, "--socket", a.socket, "--json", "chat", b.address],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, bufsize=1)
        self.addCleanup(proc.kill)
        proc.stdin.write("hello bob\n")
        proc.stdin.flush()
        sent = self.read_line(proc)
        wait_for(lambda: a.history()[0]["state"] == "delivered", what="the ack to be stored")
        [stored] = a.history()
        self.assertEqual(sent, stored)  # the very object history shows
        self.assertEqual((sent["direction"], sent["to"], sent["text"], sent["state"]),
                         ("out", b.address, "hello bob", "delivered"))
        self.assertEqual(sent["sent_ts"], sent["ts"])
        b.cli("send", a.address, "hello alice")
        received = self.read_line(proc)
        self.assertEqual((received["direction"], received["from"], received["text"], received["name"]),
                         ("in", b.address, "hello alice", "bob"))
        self.assertRegex(received["sent_ts"], RFC3339_UTC)
        self.assertEqual(received, a.inbox()[0])
        proc.stdin.close()
        self.assertEqual(proc.wait(timeout=10), 0)
        self.assertEqual(proc.stdout.read(), "")


class GlobalOptionsTest(ChatTestCase):
    def test_json_and_socket_work_after_the_command(self):
        a, b = self.daemon("alice"), self.daemon("bob")
        a.cli("send", b.address, "hi")
        r = subprocess.run([CHATCLI, "inbox", "--json", "--socket", b.socket], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["text"], "hi")

    def test_permission_denied_says_who_may_use_the_socket(self):
        if os.geteuid() != 0 or not shutil.which("setpriv"):
            self.skipTest("needs root to run chatcli as nobody")
        # A socket nobody may reach but not use: root's, mode 0660, group root.
        open_dir = os.path.join(self.root, "open")
        os.mkdir(open_dir)
        os.chmod(self.root, 0o755)
        os.chmod(open_dir, 0o755)
        path = os.path.join(open_dir, "chatd.sock")
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        server.listen(1)
        self.addCleanup(server.close)
        os.chmod(path, 0o660)
        r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                            CHATCLI, "--socket", path, "status"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertEqual(r.stderr,
                         f"chatcli: chatd is not reachable; tried:\n  {path} (Permission denied)\n"
                         f"The socket {path} exists, but this user (nobody) may not use it (mode 0660, "
                         "owner root, group root): ask for membership of group root (it takes effect at "
                         "the next login), or run chatcli as root.\n")
        self.assertNotIn("Start it with", r.stderr)
        os.chmod(path, 0o600)
        r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                            CHATCLI, "--socket", path, "status"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("(mode 0600, owner root, group root): run chatcli as root (the daemon's user).\n",
                      r.stderr)


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

    def test_help_names_the_program_and_errors_are_sentences(self):
        r = self.run_cmd(CHATCLI, "--help")
        self.assertIn("Usage: chatcli [OPTIONS] SUBCOMMAND", r.stdout)
        for args, says in ((["accept", "abc"], "chatcli: accept: ID must be a transfer's number or at "
                                              'least 6 hex digits of its id (got "abc")\n'),
                           (["inbox", "--limit", "5000000"],
                            "chatcli: --limit must be between 0 and 1000000 (got 5000000)\n")):
            r = self.run_cmd(CHATCLI, *args)
            self.assertEqual((r.returncode, r.stderr), (2, says))

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
