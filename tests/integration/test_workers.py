"""The daemon's worker processes: started with it, replaced when one dies,
gone when it stops."""
import os
import signal
import unittest

from harness import ChatTestCase, wait_for


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(") ", 1)[1][0] != "Z"


class WorkersTest(ChatTestCase):
    def test_started_replaced_and_stopped_with_the_daemon(self):
        a = self.daemon("alice", transfer={"workers": 3})
        workers = a.status()["workers"]
        self.assertEqual(len(workers["pids"]), 3)
        self.assertTrue(all(pid > 0 and alive(pid) for pid in workers["pids"]))
        for pid in workers["pids"]:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                self.assertEqual(f.read().split(b"\0")[1:3], [b"--worker", b"3"])
            with open(f"/proc/{pid}/stat") as f:
                self.assertEqual(int(f.read().split(") ", 1)[1].split()[1]), a.proc.pid)  # parent

        victim = workers["pids"][0]
        os.kill(victim, signal.SIGKILL)
        now = wait_for(lambda: (w := a.status()["workers"])["restarts"] == 1 and w, what="a replacement")
        self.assertNotIn(victim, now["pids"])
        self.assertEqual(len(now["pids"]), 3)
        self.assertTrue(all(pid > 0 and alive(pid) for pid in now["pids"]))
        self.assertIn(f"worker {victim} was lost", a.log())
        self.assertIn("workers    3 processes", a.cli("status").stdout)

        self.assertEqual(a.stop(), 0)
        self.assertFalse(any(alive(pid) for pid in now["pids"]))

    def test_workers_exit_when_the_daemon_is_killed(self):
        a = self.daemon("alice")
        pids = a.status()["workers"]["pids"]
        a.kill()
        wait_for(lambda: not any(alive(pid) for pid in pids), what="orphaned workers to exit")


if __name__ == "__main__":
    unittest.main()
