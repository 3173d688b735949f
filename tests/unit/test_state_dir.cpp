// What a failed start removes again: only the directories it created, and
// from them only the files it names; anything else keeps its directory.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "state_dir.hpp"
#include "temp_dir.hpp"

using namespace chat;
namespace fs = std::filesystem;

namespace {

struct TempDir : test::TempDir {
    TempDir() : test::TempDir("chatd-state-dir") {}
};

}  // namespace

TEST_SUITE("state_dir") {
    TEST_CASE("a failed start removes the directories it made and the files it names") {
        TempDir t;
        const fs::path state = t.path / "home" / ".local" / "state" / "chatd";
        fs::create_directories(t.path / "home");
        CreatedDirectories created;
        created.create(state.string(), true);
        std::ofstream(state / "chatd.lock") << "1\n";
        std::ofstream(state / "chatd.db");
        created.remove({"chatd.lock", "chatd.db", "chatd.db-wal"});
        CHECK(fs::exists(t.path / "home"));  // there before
        CHECK_FALSE(fs::exists(t.path / "home" / ".local"));
    }

    TEST_CASE("what the start did not make stays, with the directories holding it") {
        TempDir t;
        const fs::path state = t.path / "a" / "state";
        CreatedDirectories created;
        created.create(state.string(), true);
        std::ofstream(state / "chatd.lock") << "1\n";
        std::ofstream(state / "theirs") << "another daemon's";
        fs::create_symlink(t.path / "elsewhere", state / "chatd.db");
        std::ofstream(t.path / "elsewhere") << "not followed";
        created.remove({"chatd.lock", "chatd.db"});
        CHECK(fs::exists(state / "theirs"));
        CHECK_FALSE(fs::exists(state / "chatd.lock"));
        CHECK_FALSE(fs::is_symlink(state / "chatd.db"));
        CHECK(fs::exists(t.path / "elsewhere"));
    }

    TEST_CASE("a directory that was there is not the start's to remove") {
        TempDir t;
        CreatedDirectories created;
        created.create(t.path.string(), false);
        std::ofstream(t.path / "chatd.lock");
        created.remove({"chatd.lock"});
        CHECK(fs::exists(t.path / "chatd.lock"));
    }
}
