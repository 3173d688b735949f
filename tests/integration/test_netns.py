"""Two hosts on a bad link. The test builds them itself: two network
namespaces joined by a veth pair, with addresses that exist only inside
them, and one chatd in each. nftables in each namespace drops and
duplicates what leaves it, or cuts the link. Needs root (for `ip netns`);
everything made here is removed with the namespaces."""
import json
import os
import random
import re
import shutil
import subprocess
import threading
import time
import unittest

from harness import CHATCLI, SLOW, ChatTestCase, wait_for
from test_transfer import snapshot


def netns_missing():
    if os.geteuid() != 0:
        return "needs root for ip netns"
    for tool in ("ip", "nft"):
        if not shutil.which(tool):
            return f"needs {tool} (scripts/install-deps.sh installs it)"
    return None


def run(*args, input=None):
    r = subprocess.run(args, input=input, capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed: {r.stderr.strip()}")
    return r.stdout


class Link:
    """Namespaces a and b on one veth pair, 10.231.N.1 and 10.231.N.2."""

    def __init__(self):
        tag = os.getpid() % 100000
        self.ns = (f"chatd-{tag}-a", f"chatd-{tag}-b")
        self.dev = (f"cv{tag}a", f"cv{tag}b")
        subnet = f"10.231.{tag % 250 + 1}"
        self.addr = (f"{subnet}.1", f"{subnet}.2")

    def up(self):
        self.down()
        for ns in self.ns:
            run("ip", "netns", "add", ns)
            run("ip", "-n", ns, "link", "set", "lo", "up")
        run("ip", "link", "add", self.dev[0], "netns", self.ns[0], "type", "veth",
            "peer", "name", self.dev[1], "netns", self.ns[1])
        for side in (0, 1):
            run("ip", "-n", self.ns[side], "addr", "add", f"{self.addr[side]}/24", "dev",
                self.dev[side])
            run("ip", "-n", self.ns[side], "link", "set", self.dev[side], "up")

    def down(self):
        for ns in self.ns:  # the veth pair and the nft tables go with them
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)

    def nft(self, side, script):
        run("ip", "netns", "exec", self.ns[side], "nft", "-f", "-", input=script)

    def impair(self, loss, duplicate, udp_only=False):
        """Drops `loss` % of what leaves each side, then duplicates
        `duplicate` % of the UDP that is left."""
        which = "meta l4proto udp " if udp_only else ""
        for side in (0, 1):
            self.nft(side, f"""
table ip chatd_impair {{
  chain out {{
    type filter hook output priority 0; policy accept;
    oifname "{self.dev[side]}" {which}numgen random mod 100 < {loss} counter drop
    oifname "{self.dev[side]}" meta l4proto udp numgen random mod 100 < {duplicate} counter dup to {self.addr[1 - side]} device "{self.dev[side]}"
  }}
}}""")

    def impaired(self):
        """Packets (dropped, duplicated) so far, both sides together."""
        dropped = duplicated = 0
        for side in (0, 1):
            out = run("ip", "netns", "exec", self.ns[side], "nft", "list", "table", "ip",
                      "chatd_impair")
            counts = [int(n) for n in re.findall(r"counter packets (\d+)", out)]
            dropped += counts[0]
            duplicated += counts[1]
        return dropped, duplicated

    def cut(self):
        for side in (0, 1):
            self.nft(side, f"""
table ip chatd_cut {{
  chain out {{
    type filter hook output priority -10; policy accept;
    oifname "{self.dev[side]}" drop
  }}
}}""")

    def heal(self):
        for side in (0, 1):
            run("ip", "netns", "exec", self.ns[side], "nft", "delete", "table", "ip", "chatd_cut")


def make_files(root, count):
    """`count` files of 1 to 16 KiB of random bytes in folders of ten."""
    rng = random.Random(count)
    for i in range(count):
        folder = os.path.join(root, f"d{i // 10:03d}")
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, f"f{i:04d}.bin"), "wb") as f:
            f.write(rng.randbytes(rng.randint(1, 16) << 10))


@unittest.skipIf(netns_missing(), netns_missing())
class LossyLinkTest(ChatTestCase):
    def setUp(self):
        super().setUp()
        self.link = Link()
        self.link.up()
        self.addCleanup(self.link.down)

    def daemon_on(self, side, name, **config):
        d = self.daemon(name, start=False, host=self.link.addr[side], **config)
        d.wrap = ["ip", "netns", "exec", self.link.ns[side]]
        return d.start()

    def shown_from(self, daemon, sender):
        return [m["text"] for m in daemon.inbox() if m["from"] == sender.address]

    def test_messages_both_ways_with_20_percent_loss_and_duplicates(self):
        a, b = self.daemon_on(0, "alice"), self.daemon_on(1, "bob")
        self.link.impair(loss=20, duplicate=10)
        counts = {"alice": 1000, "bob": 300}
        accepted = {}
        started = time.monotonic()

        def send(sender, receiver):
            texts = [f"{sender.name} {i:04d}" for i in range(counts[sender.name])]
            accepted[sender.name] = sender.send_many(receiver.address, texts)

        threads = [threading.Thread(target=send, args=pair) for pair in ((a, b), (b, a))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        queued_in = time.monotonic() - started
        for sender, receiver in ((a, b), (b, a)):
            self.assertEqual(len(accepted[sender.name]), counts[sender.name])
            wait_for(lambda: len(self.shown_from(receiver, sender)) >= counts[sender.name],
                     timeout=120, interval=0.5, what=f"{sender.name}'s messages at {receiver.name}")
            # Exactly once, and in the order they were sent.
            self.assertEqual(self.shown_from(receiver, sender), accepted[sender.name])
        wait_for(lambda: a.status()["outbox"] == 0 and b.status()["outbox"] == 0, timeout=60,
                 what="both outboxes to empty")
        elapsed = time.monotonic() - started
        dropped, duplicated = self.link.impaired()
        ca, cb = a.counters(), b.counters()
        self.assertGreater(dropped, 0)
        self.assertGreater(duplicated, 0)
        self.assertGreater(ca["duplicates"] + cb["duplicates"], 0)
        print(f"lossy link: {counts['alice']} + {counts['bob']} messages queued in {queued_in:.1f} s, "
              f"all shown once and in order after {elapsed:.1f} s; nftables dropped {dropped} "
              f"packets (20%) and duplicated {duplicated} (10%); retries alice {ca['retried']} "
              f"bob {cb['retried']}; duplicates recognised alice {ca['duplicates']} "
              f"bob {cb['duplicates']}")

    def pair_with_tree(self, files):
        """Alice, and bob taking every offer into `download`; a tree of `files`."""
        a = self.daemon_on(0, "alice")
        download = os.path.join(self.root, "incoming")
        b = self.daemon_on(1, "bob", transfer={"workers": 2, "accept": "all",
                                               "download_dir": download})
        src = os.path.join(self.root, "src", "tree")
        make_files(src, files)
        return a, b, download, src

    def test_a_folder_arrives_verified_over_a_link_losing_20_percent(self):
        a, b, download, src = self.pair_with_tree(300)
        self.link.impair(loss=20, duplicate=10)
        started = time.monotonic()
        r = a.cli("--json", "transfer", b.address, src, timeout=600, check=False)
        elapsed = time.monotonic() - started
        self.assertEqual(r.returncode, 0, r.stdout[-2000:] + r.stderr)
        lines = [json.loads(line) for line in r.stdout.splitlines()]
        self.assertTrue(lines[-1]["ok"], r.stdout[-2000:])
        done = next(e for e in lines if e.get("event") == "done")
        self.assertEqual(done["files"], 300)
        self.assertEqual(snapshot(os.path.join(download, "tree")), snapshot(src))
        dropped, duplicated = self.link.impaired()
        self.assertGreater(dropped, 0)
        print(f"lossy link: 300 files ({done['bytes']} bytes) verified and identical "
              f"after {elapsed:.1f} s; nftables dropped {dropped} packets (UDP and TCP) and "
              f"duplicated {duplicated}")

    def test_a_cut_link_heals_and_everything_arrives_without_help(self):
        a, b, download, src = self.pair_with_tree(40)
        self.link.cut()
        texts = [f"during the cut {i:02d}" for i in range(50)]
        self.assertEqual(a.send_many(b.address, texts), texts)
        transfer = subprocess.Popen([CHATCLI, "--socket", a.socket, "--json", "transfer",
                                     b.address, src], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
        self.addCleanup(transfer.kill)
        cut_for = 4.0 * SLOW
        time.sleep(cut_for)
        self.assertEqual(self.shown_from(b, a), [])
        self.assertIsNone(transfer.poll())  # still waiting for an answer
        retried = a.counters()["retried"]
        self.assertGreater(retried, 0)
        self.link.heal()
        healed = time.monotonic()
        out, err = transfer.communicate(timeout=180 * SLOW)
        self.assertEqual(transfer.returncode, 0, err)
        wait_for(lambda: len(self.shown_from(b, a)) == len(texts), timeout=60,
                 what="the messages sent during the cut")
        self.assertEqual(self.shown_from(b, a), texts)
        self.assertEqual(snapshot(os.path.join(download, "tree")), snapshot(src))
        print(f"cut link: {len(texts)} messages and a 40-file transfer started during a "
              f"{cut_for:.0f} s cut ({retried} retries meanwhile) all arrived "
              f"{time.monotonic() - healed:.1f} s after it healed, in order")


def ip_netns_missing():
    if os.geteuid() != 0:
        return "needs root for ip netns"
    if not shutil.which("ip"):
        return "needs ip (scripts/install-deps.sh installs it)"
    return None


@unittest.skipIf(ip_netns_missing(), ip_netns_missing())
class SubnetBroadcastTest(ChatTestCase):
    """A subnet's broadcast address is known only from the host's interfaces:
    a namespace of its own holds one, 10.77.0.1/24 on a veth whose other end
    is in the same namespace, so nothing the test does could reach another
    host even if chatd sent it."""

    def setUp(self):
        super().setUp()
        tag = os.getpid() % 100000
        self.ns, self.dev = f"chatd-{tag}-bc", f"cd{tag}bc"
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)
        run("ip", "netns", "add", self.ns)
        self.addCleanup(lambda: subprocess.run(["ip", "netns", "del", self.ns],
                                               capture_output=True))
        run("ip", "-n", self.ns, "link", "set", "lo", "up")
        # A veth pair with both ends here: no module beyond what Link needs.
        run("ip", "-n", self.ns, "link", "add", self.dev, "type", "veth", "peer", "name",
            self.dev + "p")
        run("ip", "-n", self.ns, "addr", "add", "10.77.0.1/24", "broadcast", "+", "dev",
            self.dev)
        for dev in (self.dev, self.dev + "p"):
            run("ip", "-n", self.ns, "link", "set", dev, "up")

    def test_an_interfaces_broadcast_address_is_refused_naming_the_interface(self):
        a = self.daemon("alice", start=False)
        a.wrap = ["ip", "netns", "exec", self.ns]
        a.start()
        path = os.path.join(self.root, "file.txt")
        with open(path, "w") as f:
            f.write("x")
        why = f"not a single host (the broadcast address of {self.dev})"
        for args in (["send", "10.77.0.255", "hi"], ["send", "--no-wait", "10.77.0.255:7000", "hi"],
                     ["transfer", "--no-wait", "10.77.0.255", path]):
            r = a.cli(*args, check=False)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            peer = args[-2] if ":" in args[-2] else args[-2] + ":7890"
            self.assertEqual(r.stderr, f"chatcli: cannot send to {peer}: {why}\n")
        counters = a.counters()
        self.assertEqual((a.status()["outbox"], counters.get("sent", 0)), (0, 0), counters)
        self.assertEqual(a.history(), [])


if __name__ == "__main__":
    unittest.main()
