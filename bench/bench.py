#!/usr/bin/env python3
"""chatd against the tools users would pick instead, side by side in one run.

Cases (see README "Performance"):
  1. one large file        chatd vs tar|nc, rsync daemon, scp (to a loopback sshd, aes128-gcm), cp
                           (each + sync of the destination)
  2. many small files      the same tools
  3. chat throughput       messages stored and acked per second vs a raw sendto/recvfrom pair
  4. latency               chatcli send (waits for the ack) vs a one-shot nc -u, to a peer with
                           a session; first contact (with its handshake) apart
  5. memory                peak RSS of the daemons and each worker during 1-3

Every case runs once to warm up, then `--runs` times, the tools alternating
within each round. Each run writes to a fresh directory; nothing is
deleted until the end. Prints a table (median, min-max, ratio to the
baseline) and writes the same as JSON. Timings never fail the run; wrong
results (a transfer that fails or differs) do.

  bench.py --build build-bench [--tiny] [--runs 5] [--json results.json]
"""
import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

MIB = 1 << 20
# The chat case's load: a script sending a burst uses `texts`, many
# messages a request, on a few connections.
CHAT_CLIENTS = 4
CHAT_BATCH = 100


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", required=True, help="build directory with chatd, chatcli, bench/udp_pair")
    p.add_argument("--tiny", action="store_true", help="small sizes, one run: checks the benchmark works")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--json", help="write the results here too")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    p.add_argument("--cases", default="file,small,chat,latency",
                   help="which cases, comma-separated: file, small, chat, latency")
    args = p.parse_args()
    # Checked before any data is made (the large case writes a gigabyte).
    if args.runs < 1:
        p.error(f"--runs must be at least 1, not {args.runs}")
    unknown = set(args.cases.split(",")) - {"file", "small", "chat", "latency"}
    if unknown:
        p.error(f"unknown case {', '.join(sorted(unknown))}: give file, small, chat or latency")
    build = os.path.abspath(args.build)
    missing = [b for b in ("chatd/chatd", "chatcli/chatcli", "bench/udp_pair", "bench/send_flood")
               if not os.access(os.path.join(build, b), os.X_OK)]
    if missing:
        p.error(f"no {', '.join(missing)} in '{build}': build it first (make bench does)")
    return args


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, socket.socket() as t:
        for _ in range(50):
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            try:
                t.bind(("127.0.0.1", port))
                return port
            except OSError:
                u.close()
                u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    raise RuntimeError("no free port")


def wait_for(predicate, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise RuntimeError(f"timed out waiting for {what}")


def peak_rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class Chatd:
    def __init__(self, bench, name, **transfer):
        self.bench = bench
        self.dir = os.path.join(bench.root, "daemons", name)
        os.makedirs(self.dir)
        self.socket = os.path.join(self.dir, "chatd.sock")
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.download = os.path.join(self.dir, "incoming")
        config = {"listen": self.address, "socket": self.socket, "state_dir": os.path.join(self.dir, "state"),
                  "name": name, "log_level": "warn",
                  "transfer": {"accept": "all", "download_dir": self.download, **transfer}}
        path = os.path.join(self.dir, "chatd.json")
        with open(path, "w") as f:
            json.dump(config, f)
        self.log = open(os.path.join(self.dir, "chatd.log"), "w")
        self.proc = subprocess.Popen([bench.chatd, "--config", path], stdout=self.log, stderr=self.log)
        wait_for(lambda: self.cli("status", check=False).returncode == 0, what=f"chatd {name}")

    def cli(self, *args, check=True):
        r = subprocess.run([self.bench.chatcli, "--socket", self.socket, *args], capture_output=True, text=True)
        if check and r.returncode != 0:
            raise RuntimeError(f"chatcli {' '.join(args)}: {r.stderr}")
        return r

    def status(self):
        return json.loads(self.cli("--json", "status").stdout)

    def request(self, doc):
        """One control request, without starting chatcli (polling must not load the machine)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(self.socket)
            s.sendall((json.dumps(doc) + "\n").encode())
            return json.loads(s.makefile().readline())

    def counters(self):
        return self.request({"cmd": "status"})["counters"]

    def outbox(self):
        return self.request({"cmd": "status"})["outbox"]

    def rss(self):
        """Peak RSS (KiB) of the daemon and of each worker."""
        workers = [p for p in self.status()["workers"]["pids"] if p > 0]
        return peak_rss_kib(self.proc.pid), [peak_rss_kib(p) for p in workers]

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        self.log.close()


def tree_digest(root):
    """(relative path, size, sha256) of every file, to check a result."""
    out = []
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                out.append((os.path.relpath(path, root), os.path.getsize(path), hashlib.sha256(f.read()).hexdigest()))
    return sorted(out)


class Bench:
    def __init__(self, args):
        self.args = args
        self.build = os.path.abspath(args.build)
        self.chatd = os.path.join(self.build, "chatd", "chatd")
        self.chatcli = os.path.join(self.build, "chatcli", "chatcli")
        self.udp_pair = os.path.join(self.build, "bench", "udp_pair")
        self.send_flood = os.path.join(self.build, "bench", "send_flood")
        self.root = tempfile.mkdtemp(prefix="chatd-bench-")
        self.runs = 1 if args.tiny else args.runs
        self.results = {"machine": machine(), "tiny": args.tiny, "runs": self.runs, "cases": []}
        self.memory = {"daemon_kib": 0, "worker_kib": 0}
        self.counter = 0

    def fresh(self, what):
        self.counter += 1
        path = os.path.join(self.root, "dest", f"{what}-{self.counter}")
        os.makedirs(path)
        return path

    def timed(self, fn):
        start = time.monotonic()
        fn()
        return time.monotonic() - start

    def record(self, case, unit, samples, baseline, note=""):
        """samples: tool -> list of values; the ratio is each tool's median over the baseline's."""
        rows = []
        base = statistics.median(samples[baseline])
        for tool, values in samples.items():
            median = statistics.median(values)
            rows.append({"tool": tool, "median": median, "min": min(values), "max": max(values),
                         "ratio": median / base if base else None, "values": values})
        self.results["cases"].append({"case": case, "unit": unit, "baseline": baseline, "rows": rows,
                                      "note": note})

    def note_memory(self, *daemons):
        for d in daemons:
            daemon, workers = d.rss()
            self.memory["daemon_kib"] = max(self.memory["daemon_kib"], daemon or 0)
            self.memory["worker_kib"] = max([self.memory["worker_kib"]] + [w or 0 for w in workers])

    # ---- folder transfer --------------------------------------------------

    def transfer_case(self, case, src):
        want = tree_digest(src)
        name = os.path.basename(src)
        rsync_dest = os.path.join(self.root, "dest", "rsync-" + case)
        os.makedirs(rsync_dest)
        scp_dest = os.path.join(self.root, "dest", "scp-" + case)
        os.makedirs(scp_dest)
        # Started in this order, stopped in any case, even when a later one fails to start.
        servers = []
        try:
            servers.append(start_rsync_daemon(self.root, rsync_dest, case))
            servers.append(start_sshd(self.root))
            servers.append(Chatd(self, "alice-" + case))
            servers.append(Chatd(self, "bob-" + case))
        except BaseException:
            for server in reversed(servers):
                server.stop()
            raise
        rsyncd, sshd, a, b = servers

        def chatd():
            r = subprocess.run([self.chatcli, "--socket", a.socket, "--json", "transfer", b.address, src],
                               capture_output=True, text=True)
            if r.returncode != 0:
                raise RuntimeError(f"chatd transfer failed: {r.stdout[-500:]} {r.stderr[-500:]}")
            placed = [json.loads(l) for l in r.stdout.splitlines() if '"event":"done"' in l][0]["placed"][0]
            return os.path.join(b.download, placed)

        def tar_nc():
            dest = self.fresh("tar")
            port = free_port()
            receiver = subprocess.Popen(f"nc -l 127.0.0.1 {port} | tar -x -C '{dest}'", shell=True)
            wait_for(lambda: port_listening(port), what="nc to listen")
            subprocess.run(f"tar -c -C '{os.path.dirname(src)}' '{name}' | nc -N 127.0.0.1 {port}",
                           shell=True, check=True)
            if receiver.wait() != 0:
                raise RuntimeError("tar | nc failed")
            subprocess.run(["sync", "-f", dest], check=True)
            return os.path.join(dest, name)

        def rsync():
            self.counter += 1
            run = f"run-{self.counter}"
            subprocess.run(["rsync", "-a", src, f"rsync://127.0.0.1:{rsyncd.port}/dest/{run}/"], check=True)
            dest = os.path.join(rsync_dest, run)
            subprocess.run(["sync", "-f", dest], check=True)
            return os.path.join(dest, name)

        def scp():
            self.counter += 1
            dest = os.path.join(scp_dest, f"run-{self.counter}")
            os.makedirs(dest)
            subprocess.run(["scp", "-q", "-r", *sshd.client_options(), src, f"127.0.0.1:{dest}/"], check=True)
            subprocess.run(["sync", "-f", dest], check=True)
            return os.path.join(dest, name)

        def cp():
            dest = self.fresh("cp")
            subprocess.run(["cp", "-a", src, dest], check=True)
            subprocess.run(["sync", "-f", dest], check=True)
            return os.path.join(dest, name)

        tools = {"tar | nc": tar_nc, "chatd": chatd, "rsync": rsync, "scp": scp, "cp": cp}
        samples = {tool: [] for tool in tools}
        try:
            for round_ in range(self.runs + 1):  # round 0 warms up
                order = list(tools.items())
                order = order[round_ % len(order):] + order[:round_ % len(order)]
                for tool, fn in order:
                    placed = []
                    seconds = self.timed(lambda: placed.append(fn()))
                    if round_ == 0 and tree_digest(placed[0]) != want:
                        raise RuntimeError(f"{tool} delivered a different tree")
                    if round_ > 0:
                        samples[tool].append(seconds)
            self.note_memory(a, b)
        finally:
            for server in reversed(servers):
                server.stop()
        self.record(case, "s", samples, "tar | nc")
        return samples

    # ---- chat -------------------------------------------------------------

    def chat_throughput(self, count, payload=100):
        raw = json.loads(subprocess.run([self.udp_pair, str(count * 5), str(payload)], capture_output=True,
                                        text=True, check=True).stdout)
        a, b = Chatd(self, "alice-chat"), Chatd(self, "bob-chat")
        text = "x" * payload
        samples = {"raw sendto/recvfrom": [], "chatd": []}
        try:
            for round_ in range(self.runs + 1):
                if round_ > 0:
                    raw = json.loads(subprocess.run([self.udp_pair, str(count * 5), str(payload)],
                                                    capture_output=True, text=True, check=True).stdout)
                    samples["raw sendto/recvfrom"].append(raw["per_second"])
                before = b.status()["counters"]["received"]
                start = time.monotonic()
                subprocess.run([self.send_flood, a.socket, b.address, str(count), str(payload),
                                str(CHAT_CLIENTS), str(CHAT_BATCH)],
                               check=True, capture_output=True)
                wait_for(lambda: b.counters()["received"] - before >= count and a.outbox() == 0,
                         timeout=300, what="every message stored and acked")
                rate = count / (time.monotonic() - start)
                if round_ > 0:
                    samples["chatd"].append(rate)
            self.note_memory(a, b)
        finally:
            a.stop()
            b.stop()
        self.record("chat: messages stored and acked per second", "msg/s", samples, "raw sendto/recvfrom",
                    note=f"{count} messages of {payload} bytes through the control socket: "
                         f"{CHAT_CLIENTS} clients, {CHAT_BATCH} messages a request")
        return samples

    def latency(self, count):
        a, b = Chatd(self, "alice-latency"), Chatd(self, "bob-latency")
        sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sink.bind(("127.0.0.1", 0))
        sink_port = sink.getsockname()[1]
        samples = {"nc -u": [], "chatcli send": []}
        try:
            for i in range(count + 10):
                t = self.timed(lambda: subprocess.run(["nc", "-u", "-w0", "127.0.0.1", str(sink_port)],
                                                      input=b"hello there\n", check=True))
                if i >= 10:
                    samples["nc -u"].append(t * 1000)
                t = self.timed(lambda: a.cli("send", b.address, "hello there"))
                if i >= 10:
                    samples["chatcli send"].append(t * 1000)
        finally:
            sink.close()
            a.stop()
            b.stop()
        p99 = {tool: sorted(v)[max(0, int(len(v) * 0.99) - 1)] for tool, v in samples.items()}
        self.record("latency: one send, p50 (ms)", "ms", samples, "nc -u",
                    note="to a peer with a session; p99: " +
                         ", ".join(f"{tool} {v:.2f} ms" for tool, v in p99.items()))
        self.first_contact(samples["nc -u"], 3 if self.args.tiny else 10)

    def first_contact(self, nc_samples, count):
        """A send to a peer never met: the handshake (XX) is in the time. A fresh peer each time."""
        a = Chatd(self, "alice-first")
        first = []
        try:
            for i in range(count + 1):
                b = Chatd(self, f"bob-first-{i}")
                try:
                    t = self.timed(lambda: a.cli("send", b.address, "hello there"))
                finally:
                    b.stop()
                if i > 0:
                    first.append(t * 1000)
        finally:
            a.stop()
        self.record("latency: first contact, p50 (ms)", "ms", {"nc -u": nc_samples, "chatcli send": first},
                    "nc -u", note=f"{count} sends, each to a new peer: its handshake included")

    def cleanup(self):
        if not self.args.keep:
            shutil.rmtree(self.root, ignore_errors=True)


def port_listening(port):
    """Without connecting: nc -l serves one connection only."""
    out = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True).stdout
    return bool(out.strip())


class RsyncDaemon:
    def __init__(self, proc, port):
        self.proc, self.port = proc, port

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def start_rsync_daemon(root, dest, case):
    port = free_port()
    conf = os.path.join(root, f"rsyncd-{case}.conf")
    with open(conf, "w") as f:
        f.write(f"use chroot = no\nlog file = {root}/rsyncd-{case}.log\n[dest]\npath = {dest}\n"
                f"read only = no\nuid = {os.getuid()}\ngid = {os.getgid()}\n")
    proc = subprocess.Popen(["rsync", "--daemon", "--no-detach", "--address", "127.0.0.1", "--port", str(port),
                             "--config", conf])
    wait_for(lambda: port_listening(port), what="the rsync daemon")
    return RsyncDaemon(proc, port)


class Sshd:
    """OpenSSH's sshd on loopback, for scp: its own host and client keys, one cipher."""
    CIPHER = "aes128-gcm@openssh.com"

    def __init__(self, proc, port, directory):
        self.proc, self.port, self.dir = proc, port, directory

    def client_options(self):
        return ["-P", str(self.port), "-i", os.path.join(self.dir, "client"), "-c", self.CIPHER,
                "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                "-o", f"UserKnownHostsFile={os.path.join(self.dir, 'known_hosts')}", "-o", "LogLevel=ERROR"]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def start_sshd(root):
    sshd = shutil.which("sshd") or "/usr/sbin/sshd"
    if not os.access(sshd, os.X_OK):
        raise RuntimeError("no sshd for the scp baseline: scripts/install-deps.sh installs openssh-server")
    # sshd_config cannot name a path with spaces unquoted, and the case names have them.
    directory = tempfile.mkdtemp(prefix="sshd-", dir=root)
    for key in ("host", "client"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(directory, key)],
                       check=True)
    shutil.copy(os.path.join(directory, "client.pub"), os.path.join(directory, "authorized_keys"))
    # sshd insists on its privilege-separation directory, which only the service's start makes.
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    port = free_port()
    config = os.path.join(directory, "sshd_config")
    with open(config, "w") as f:
        f.write(f"Port {port}\nListenAddress 127.0.0.1\nHostKey {directory}/host\n"
                f"AuthorizedKeysFile {directory}/authorized_keys\nPidFile {directory}/sshd.pid\n"
                f"PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
                f"PermitRootLogin prohibit-password\nCiphers {Sshd.CIPHER}\n"
                f"Subsystem sftp internal-sftp\n")
    proc = subprocess.Popen([sshd, "-D", "-e", "-f", config],
                            stderr=open(os.path.join(directory, "sshd.log"), "w"))
    wait_for(lambda: port_listening(port), what="sshd")
    return Sshd(proc, port, directory)


def make_big_file(root, size):
    src = os.path.join(root, "src-file", "big")
    os.makedirs(src)
    with open(os.path.join(src, "data.bin"), "wb") as f:
        chunk = os.urandom(16 * MIB)
        written = 0
        while written < size:
            n = min(len(chunk), size - written)
            f.write(chunk[:n])
            written += n
    return src


def make_small_files(root, count, folders):
    src = os.path.join(root, "src-small", "small")
    for i in range(count):
        d = os.path.join(src, f"d{i % folders:03d}")
        if i < folders:
            os.makedirs(d)
        with open(os.path.join(d, f"f{i:05d}"), "wb") as f:
            f.write(os.urandom(4096))
    return src


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpus": os.cpu_count(), "cpu": cpu, "kernel": os.uname().release}


def print_table(results, memory):
    print(f"\nchatd benchmark ({'tiny' if results['tiny'] else 'full'}, {results['runs']} runs, "
          f"{results['machine']['cpus']} CPUs: {results['machine']['cpu']})\n")
    print(f"{'case':46} {'tool':20} {'median':>12} {'min-max':>23} {'ratio':>7}")
    for case in results["cases"]:
        for row in case["rows"]:
            unit = case["unit"]
            fmt = (lambda v: f"{v:.3f} {unit}") if unit in ("s", "ms") else (lambda v: f"{v:,.0f} {unit}")
            print(f"{case['case']:46} {row['tool']:20} {fmt(row['median']):>12} "
                  f"{fmt(row['min']) + ' - ' + fmt(row['max']):>23} {row['ratio']:>7.2f}")
        if case["note"]:
            print(f"{'':46} ({case['note']})")
    print(f"\npeak RSS: daemon {memory['daemon_kib'] / 1024:.1f} MiB, worker {memory['worker_kib'] / 1024:.1f} MiB")


def main():
    args = parse_args()
    bench = Bench(args)
    try:
        big = 8 * MIB if args.tiny else 1024 * MIB
        small, folders = (200, 10) if args.tiny else (20000, 100)
        # chatd holds a descriptor per file on both sides of the control
        # socket (plus ~1,000 in flight): stay under this machine's limit.
        import resource
        limit = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        if small > limit - 1200:
            small = (limit - 1200) // folders * folders
            print(f"note: {small} small files, not 20000: RLIMIT_NOFILE's hard limit here is {limit}")
        cases = args.cases.split(",")
        if "file" in cases:
            bench.transfer_case(f"one file of {big // MIB} MiB", make_big_file(bench.root, big))
        if "small" in cases:
            bench.transfer_case(f"{small} files of 4 KiB in {folders} folders",
                                make_small_files(bench.root, small, folders))
        if "chat" in cases:
            bench.chat_throughput(500 if args.tiny else 20000)
        if "latency" in cases:
            bench.latency(20 if args.tiny else 200)
        bench.results["memory"] = bench.memory
        print_table(bench.results, bench.memory)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(bench.results, f, indent=2)
            print(f"\nwritten to {args.json}")
    finally:
        bench.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
