#pragma once
// What chatd does to the filesystem before it runs: the directories it
// creates (and removes again if the start fails), the lock that keeps a
// second daemon off a state directory in use, and the store's files made
// private before SQLite creates any of them.
#include <filesystem>
#include <string>
#include <vector>

#include "unique_fd.hpp"

namespace chat {

// Directories one start created, removed again when that start fails: a
// failed start leaves no directory behind. Only the files it names are
// removed from them, and a directory only once empty (rmdir): whatever
// else is there is someone else's, and stays with its directories.
class CreatedDirectories {
public:
    // Creates `dir` (0700), and its missing parents if `parents`; nothing
    // if it exists. Throws std::runtime_error naming the directory.
    void create(const std::string& dir, bool parents);
    // Removes `files_made` (names; links are not followed) from each
    // created directory, then the directories, deepest first.
    void remove(const std::vector<std::string>& files_made) noexcept;

private:
    struct Created {
        std::filesystem::path dir;      // as create() was given it
        std::filesystem::path topmost;  // the highest directory it made
    };
    std::vector<Created> created_;
};

// An exclusive flock on <state_dir>/chatd.lock, held for the daemon's life
// (O_CLOEXEC: the spawned workers do not inherit it). The holder writes its
// pid there, so the daemon refused can name it.
class StateDirLock {
public:
    // Throws std::runtime_error ("state directory D is in use by chatd pid
    // N") if another process holds it, or if the file cannot be opened.
    // The file stays when the lock goes: removing it would race a daemon
    // that opened it and waits to lock it.
    explicit StateDirLock(const std::string& state_dir);
    StateDirLock(const StateDirLock&) = delete;
    StateDirLock& operator=(const StateDirLock&) = delete;

private:
    UniqueFd fd_;
};

// The database and its -wal, -shm and -journal files are 0600 before SQLite
// opens the database: SQLite creates the others with the database's mode,
// so a database made private only after opening leaves a readable WAL.
// Files left by an older chatd are made 0600 too. Throws on failure.
void make_store_files_private(const std::string& db_path);

// The default download directory, <state_dir>/incoming, made 0700 if it
// exists and is chatd's (left by an older chatd, or made by hand 0755):
// what it receives is readable only by its user, as for one chatd creates.
// A directory of another owner, or a symlink, is left alone. Throws on failure.
void make_default_download_dir_private(const std::string& state_dir);

}  // namespace chat
