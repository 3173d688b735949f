"""cmake --install into a temporary DESTDIR: the tree it makes, and an
existing config left alone."""
import os
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
        for installed in (f"{self.prefix}/bin/chatd", f"{self.prefix}/bin/chatcli",
                          f"{self.prefix}/lib/systemd/system/chatd.service", f"{self.etc}/chatd/chatd.json"):
            self.assertTrue(os.path.exists(self.path(installed)), installed)
        with open(self.path(f"{self.prefix}/lib/systemd/system/chatd.service")) as f:
            self.assertIn(f"ExecStart={self.prefix}/bin/chatd --config {self.etc}/chatd/chatd.json", f.read())
        r = subprocess.run([self.path(f"{self.prefix}/bin/chatd"), "--version"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)

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
