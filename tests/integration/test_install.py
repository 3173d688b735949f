"""cmake --install into a temporary DESTDIR: the tree it makes, an existing
config left alone, units that systemd-analyze passes, and the .deb."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

BUILD_DIR = os.environ.get("CHAT_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build"))


def configured_prefix():
    with open(os.path.join(BUILD_DIR, "CMakeCache.txt")) as f:
        for line in f:
            if line.startswith("CMAKE_INSTALL_PREFIX:"):
                return line.split("=", 1)[1].strip()
    return "/usr/local"


class InstallTest(unittest.TestCase):
    def setUp(self):
        self.dest = tempfile.mkdtemp(prefix="chatd-install-")
        self.addCleanup(shutil.rmtree, self.dest, True)
        self.prefix = configured_prefix()
        # GNUInstallDirs puts config in /etc only for the /usr prefix.
        self.etc = "/etc" if self.prefix == "/usr" else self.prefix + "/etc"

    def path(self, installed):
        return self.dest + installed

    def install(self):
        r = subprocess.run(["cmake", "--install", BUILD_DIR], env={**os.environ, "DESTDIR": self.dest},
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_tree_and_unit(self):
        self.install()
        p = self.prefix
        for installed in (f"{p}/bin/chatd", f"{p}/bin/chatcli",
                          f"{p}/lib/systemd/system/chatd.service", f"{p}/lib/systemd/user/chatd.service",
                          f"{p}/lib/sysusers.d/chatd.conf", f"{p}/share/man/man8/chatd.8",
                          f"{p}/share/man/man1/chatcli.1", f"{p}/share/bash-completion/completions/chatcli",
                          f"{p}/share/doc/chatd/copyright", f"{self.etc}/chatd/chatd.json"):
            self.assertTrue(os.path.exists(self.path(installed)), installed)
        self.check_copyright(self.path(f"{p}/share/doc/chatd/copyright"))
        # The installed pages name the version; the source pages name none
        # (a clone's `man ./man/chatd.8` shows no placeholder).
        version = subprocess.run([self.path(f"{p}/bin/chatcli"), "--version"], capture_output=True,
                                 text=True).stdout.split()[1]
        source = os.path.join(os.path.dirname(__file__), "..", "..", "man")
        for page, section in (("chatd.8", 8), ("chatcli.1", 1)):
            with open(self.path(f"{p}/share/man/man{section}/{page}")) as f:
                installed = f.read()
            with open(os.path.join(source, page)) as f:
                original = f.read()
            self.assertIn(f'"chatd {version}"', installed.splitlines()[0], page)
            self.assertNotIn("@", installed + original, page)
            self.assertIn('"chatd"', original.splitlines()[0], page)
        with open(self.path(f"{p}/lib/systemd/system/chatd.service")) as f:
            unit = f.read()
        self.assertIn(f"ExecStart={p}/bin/chatd --socket-group chatd\n", unit)
        self.assertIn("Type=notify\n", unit)
        self.assertIn("ConfigurationDirectory=chatd\n", unit)
        with open(self.path(f"{p}/lib/sysusers.d/chatd.conf")) as f:
            self.assertIn("u chatd -", f.read())
        r = subprocess.run([self.path(f"{p}/bin/chatd"), "--version"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)
        # The completion script is valid bash and completes subcommands.
        script = self.path(f"{p}/share/bash-completion/completions/chatcli")
        r = subprocess.run(["bash", "-c", f"_init_completion() {{ cur=${{COMP_WORDS[COMP_CWORD]}}; "
                                          f"prev=${{COMP_WORDS[COMP_CWORD-1]}}; words=(\"${{COMP_WORDS[@]}}\"); "
                                          f"cword=$COMP_CWORD; }}; source '{script}'; COMP_WORDS=(chatcli tra); "
                                          "COMP_CWORD=1; _chatcli; echo ${COMPREPLY[@]}"],
                           capture_output=True, text=True)
        self.assertEqual(r.stdout.split(), ["transfer", "transfers"], r.stderr)

    def check_copyright(self, path):
        """Debian's machine-readable format, MIT for chatd itself."""
        with open(path) as f:
            text = f.read()
        self.assertTrue(text.startswith(
            "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"), text[:80])
        self.assertIn("Files: *\nCopyright: 2026 the chatd developers\nLicense: MIT\n", text)
        for name in ("MIT", "BSL-1.0", "BSD-3-Clause"):
            self.assertIn(f"\nLicense: {name}\n Permission" if name != "BSD-3-Clause"
                          else f"\nLicense: {name}\n Redistribution", text)
        with open(os.path.join(os.path.dirname(__file__), "..", "..", "LICENSE")) as f:
            self.assertIn("Copyright (c) 2026 the chatd developers", f.read())

    def systemd_analyze(self, *args, env=None):
        if not shutil.which("systemd-analyze"):
            self.skipTest("systemd-analyze is not installed")
        return subprocess.run(["systemd-analyze", *args], capture_output=True, text=True,
                              env={**os.environ, **(env or {})})

    def test_units_pass_systemd_analyze_verify_and_score_1_5_or_better(self):
        self.install()
        for kind in ("system", "user"):
            with open(self.path(f"{self.prefix}/lib/systemd/{kind}/chatd.service")) as f:
                unit = f.read()
            # verify runs the real file system: point ExecStart at the staged binary.
            staged = os.path.join(self.dest, f"chatd-{kind}.service")
            with open(staged, "w") as f:
                f.write(unit.replace(f"{self.prefix}/bin/chatd", self.path(f"{self.prefix}/bin/chatd")))
            args = ["--user"] if kind == "user" else []
            env = {"MANPATH": self.path(f"{self.prefix}/share/man")}
            if kind == "user":  # a user manager needs a runtime directory
                env["XDG_RUNTIME_DIR"] = self.dest
            r = self.systemd_analyze(*args, "verify", staged, env=env)
            self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""), kind)
        r = self.systemd_analyze("security", "--offline=true",
                                 self.path(f"{self.prefix}/lib/systemd/system/chatd.service"))
        score = float(re.search(r"Overall exposure level for chatd.service: ([0-9.]+)", r.stdout).group(1))
        print(f"systemd-analyze security --offline=true: {score}")
        self.assertLessEqual(score, 1.5, r.stdout)

    def test_deb_has_the_tree_the_conffile_and_runtime_depends(self):
        if not shutil.which("dpkg-deb") or not shutil.which("cpack"):
            self.skipTest("dpkg-deb or cpack is not installed")
        out = os.path.join(self.dest, "deb")
        r = subprocess.run(["cpack", "-G", "DEB", "-B", out, "--config",
                            os.path.join(BUILD_DIR, "CPackConfig.cmake")], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        [deb] = [os.path.join(out, n) for n in os.listdir(out) if n.endswith(".deb")]
        listing = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True, check=True).stdout
        files = {line.split()[-1].lstrip(".") for line in listing.splitlines()}
        p = self.prefix
        for installed in (f"{p}/bin/chatd", f"{p}/bin/chatcli", f"{p}/lib/systemd/system/chatd.service",
                          f"{p}/lib/sysusers.d/chatd.conf", f"{p}/share/man/man8/chatd.8",
                          f"{p}/share/doc/chatd/copyright", f"{self.etc}/chatd/chatd.json"):
            self.assertIn(installed, files)
        unpacked = os.path.join(self.dest, "unpacked")
        subprocess.run(["dpkg-deb", "-x", deb, unpacked], check=True)
        self.check_copyright(os.path.join(unpacked, f"{p}/share/doc/chatd/copyright".lstrip("/")))
        depends = subprocess.run(["dpkg-deb", "-f", deb, "Depends"], capture_output=True, text=True,
                                 check=True).stdout
        runtimes = ["libsqlite3-0", "libspdlog", "libxxhash0", "libstdc++6"]
        if os.environ.get("CHAT_JEMALLOC") == "1":
            runtimes.append("libjemalloc2")
        for runtime in runtimes:
            self.assertIn(runtime, depends)
        self.assertNotIn("-dev", depends)
        control = os.path.join(self.dest, "control")
        subprocess.run(["dpkg-deb", "-e", deb, control], check=True)
        with open(os.path.join(control, "conffiles")) as f:
            self.assertEqual(f.read().split(), [f"{self.etc}/chatd/chatd.json"])
        for script in ("postinst", "prerm", "postrm"):
            self.assertTrue(os.access(os.path.join(control, script), os.X_OK), script)

    def test_existing_config_is_kept(self):
        config = self.path(f"{self.etc}/chatd/chatd.json")
        os.makedirs(os.path.dirname(config))
        with open(config, "w") as f:
            f.write('{"name": "edited by the admin"}\n')
        self.assertIn("Keeping existing", self.install())
        with open(config) as f:
            self.assertEqual(f.read(), '{"name": "edited by the admin"}\n')


if __name__ == "__main__":
    unittest.main()
