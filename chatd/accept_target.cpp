#include "accept_target.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <vector>

#include "unique_fd.hpp"

namespace chat {
namespace {

constexpr int kMaxLinks = 40;  // the kernel's limit too

struct OpenDir {
    UniqueFd fd;
    struct stat st;
    std::string path;
};

// The ids the kernel shows for users outside our user namespace; under
// ProcSubset=pid /proc/sys is hidden, and the default applies.
UnknownIds unknown_ids() {
    UnknownIds ids;
    std::ifstream uid("/proc/sys/kernel/overflowuid");
    std::ifstream gid("/proc/sys/kernel/overflowgid");
    if (unsigned long v = 0; uid >> v) ids.uid = static_cast<uid_t>(v);
    if (unsigned long v = 0; gid >> v) ids.gid = static_cast<gid_t>(v);
    return ids;
}

void split_into(std::deque<std::string>& pending, const std::string& path) {
    std::deque<std::string> parts;
    std::size_t from = 0;
    while (from <= path.size()) {
        const std::size_t slash = std::min(path.find('/', from), path.size());
        if (slash > from) parts.push_back(path.substr(from, slash - from));
        from = slash + 1;
    }
    pending.insert(pending.begin(), parts.begin(), parts.end());
}

DirOwnership ownership(const struct stat& st) { return {st.st_uid, st.st_gid, st.st_mode}; }

}  // namespace

AcceptTarget open_accept_target(const std::string& path, const UserIds& who) {
    const auto fail = [&](const std::string& why) -> AcceptTargetError {
        return AcceptTargetError("cannot accept into " + path + ": " + why);
    };
    const UnknownIds unknown = unknown_ids();
    const std::string you = "uid " + std::to_string(who.uid);
    std::vector<OpenDir> dirs;  // from "/" to where the walk is
    const auto push = [&](UniqueFd fd, std::string at) {
        struct stat st;
        if (::fstat(fd.get(), &st) != 0) throw fail(std::strerror(errno));
        dirs.push_back({std::move(fd), st, std::move(at)});
    };
    UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) throw fail(std::strerror(errno));
    push(std::move(root), "/");

    std::deque<std::string> pending;
    split_into(pending, path);
    int links = 0;
    while (!pending.empty()) {
        const std::string name = std::move(pending.front());
        pending.pop_front();
        if (name == ".") continue;
        if (name == "..") {
            if (dirs.size() > 1) dirs.pop_back();
            continue;
        }
        const OpenDir& here = dirs.back();
        // Before looking the name up: what is inside a directory the user
        // cannot search is not theirs to learn, not even whether it exists.
        if (!may_access(who, ownership(here.st), DirAccess::search, unknown)) {
            throw fail(you + " may not search " + here.path);
        }
        const std::string next_path = (here.path == "/" ? "/" : here.path + "/") + name;
        if (UniqueFd fd(::openat(here.fd.get(), name.c_str(),
                                 O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            fd) {
            push(std::move(fd), next_path);
            continue;
        }
        const int error = errno;
        struct stat st;
        if ((error == ENOTDIR || error == ELOOP) &&
            ::fstatat(here.fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISLNK(st.st_mode)) {
            if (++links > kMaxLinks) throw fail(std::strerror(ELOOP));
            std::vector<char> target(static_cast<std::size_t>(st.st_size) + 1);
            const ssize_t n =
                ::readlinkat(here.fd.get(), name.c_str(), target.data(), target.size());
            if (n < 0 || static_cast<std::size_t>(n) >= target.size()) {
                throw fail("cannot read the link " + next_path);
            }
            const std::string to(target.data(), static_cast<std::size_t>(n));
            if (!to.empty() && to.front() == '/') dirs.resize(1);
            split_into(pending, to);
            continue;
        }
        throw fail(std::strerror(error));
    }

    const OpenDir& target = dirs.back();
    if (!may_access(who, ownership(target.st), DirAccess::write_and_search, unknown)) {
        throw fail(you + " may not write there");
    }
    // The daemon writes with its own rights as well: say so now, not as a
    // failure to create the staging tree.
    struct statvfs fs;
    if (::fstatvfs(target.fd.get(), &fs) == 0 && (fs.f_flag & ST_RDONLY)) {
        throw fail("chatd may not write there (" + std::string(std::strerror(EROFS)) + ")");
    }
    UniqueFd fd(::openat(target.fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) throw fail(std::strerror(errno));
    if (::faccessat(fd.get(), ".", W_OK | X_OK, AT_EACCESS) != 0)
        throw fail("chatd may not write there (" + std::string(std::strerror(errno)) + ")");
    return {std::move(fd), target.path};
}

}  // namespace chat
