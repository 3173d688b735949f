#include "state_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace chat {
namespace fs = std::filesystem;

namespace {

std::runtime_error errno_error(const std::string& what) {
    return std::runtime_error(what + ": " + std::strerror(errno));
}

}  // namespace

void CreatedDirectories::create(const std::string& dir, bool parents) {
    std::error_code ec;
    const fs::path path = fs::path(dir).lexically_normal();
    if (fs::is_directory(path, ec)) return;
    // The topmost directory this call makes: the child of the deepest
    // ancestor that exists.
    fs::path topmost = path;
    for (fs::path up = path.parent_path();
         !up.empty() && up != up.root_path() && !fs::exists(up, ec); up = up.parent_path()) {
        topmost = up;
    }
    const bool made = parents ? fs::create_directories(path, ec) : fs::create_directory(path, ec);
    if (ec) throw std::runtime_error("cannot create directory " + dir + ": " + ec.message());
    if (!made) return;
    created_.push_back({path, topmost});
    fs::permissions(path, fs::perms::owner_all, ec);  // what it will hold is private
    if (ec) throw std::runtime_error("cannot make " + dir + " private: " + ec.message());
}

void CreatedDirectories::remove(const std::vector<std::string>& files_made) noexcept {
    for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
        if (const UniqueFd dir(
                ::open(it->dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            dir) {
            for (const auto& name : files_made) ::unlinkat(dir.get(), name.c_str(), 0);
        }
        // Up to the topmost made; the first that is not empty stops it.
        for (fs::path d = it->dir; ::rmdir(d.c_str()) == 0 && d != it->topmost;
             d = d.parent_path()) {
        }
    }
    created_.clear();
}

StateDirLock::StateDirLock(const std::string& state_dir) {
    const std::string path = (fs::path(state_dir) / "chatd.lock").string();
    fd_.reset(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd_) throw errno_error("cannot open " + path);
    if (::flock(fd_.get(), LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        char text[32] = {};
        const ssize_t n = ::pread(fd_.get(), text, sizeof text - 1, 0);
        if (err != EWOULDBLOCK) {
            errno = err;
            throw errno_error("cannot lock " + path);
        }
        const long pid = n > 0 ? std::strtol(text, nullptr, 10) : 0;
        // The holder writes its pid just after it locks: it may not be there yet.
        throw std::runtime_error("state directory " + state_dir + " is in use by " +
                                 (pid > 0 ? "chatd pid " + std::to_string(pid) : "another chatd") +
                                 " (it holds " + path + ")");
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::fchmod(fd_.get(), 0600) != 0 || ::ftruncate(fd_.get(), 0) != 0 ||
        ::pwrite(fd_.get(), pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
        throw errno_error("cannot write " + path);
    }
}

void make_store_files_private(const std::string& db_path) {
    const UniqueFd fd(::open(db_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) throw errno_error("cannot open " + db_path);
    if (::fchmod(fd.get(), 0600) != 0) throw errno_error("cannot make " + db_path + " private");
    for (const char* suffix : {"-wal", "-shm", "-journal"}) {
        const std::string path = db_path + suffix;
        if (::chmod(path.c_str(), 0600) != 0 && errno != ENOENT)
            throw errno_error("cannot make " + path + " private");
    }
}

void make_default_download_dir_private(const std::string& state_dir) {
    const std::string dir = state_dir + "/incoming";
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0) {
        if (errno == ENOENT) return;  // made 0700 when the first transfer comes
        throw errno_error("cannot use " + dir);
    }
    if (!S_ISDIR(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & 0077) == 0) return;
    if (::chmod(dir.c_str(), 0700) != 0) throw errno_error("cannot make " + dir + " private");
}

}  // namespace chat
