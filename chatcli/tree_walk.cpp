#include "tree_walk.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <set>

#include "transfer_paths.hpp"

namespace chat::cli {
namespace {

std::int64_t mtime_ns(const struct stat& st) {
    return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

std::string top_level_name(std::string path) {
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    if (path == "/") throw WalkError("refusing to send '/'");
    const auto slash = path.rfind('/');
    std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
    if (name == "." || name == "..") {
        char resolved[PATH_MAX];
        if (!::realpath(path.c_str(), resolved))
            throw WalkError("cannot resolve '" + path + "': " + std::strerror(errno));
        return top_level_name(resolved);
    }
    return name;
}

class Walker {
public:
    void add(const std::string& path, const std::string& relative) {
        struct stat st;
        if (::lstat(path.c_str(), &st) != 0) {
            notice(relative, std::strerror(errno));
            return;
        }
        if (auto why = check_relative_path(relative)) {
            notice(relative, "the name cannot be sent (" + *why + ")");
            return;
        }
        if (S_ISDIR(st.st_mode)) {
            add_directory(path, relative, st);
        } else if (S_ISREG(st.st_mode)) {
            add_file(path, relative);
        } else if (S_ISLNK(st.st_mode)) {
            add_link(path, relative, st);
        } else {
            notice(relative, "not a regular file, directory or link");
        }
    }

    WalkResult result;

    void notice(const std::string& relative, const std::string& why) {
        result.notices.push_back("skipped '" + relative + "': " + why);
    }

private:
    void add_directory(const std::string& path, const std::string& relative,
                       const struct stat& st) {
        DIR* dir = ::opendir(path.c_str());
        if (!dir) {
            notice(relative, std::strerror(errno));
            return;
        }
        result.manifest.entries.push_back({EntryType::directory, relative, 0,
                                           static_cast<std::uint32_t>(st.st_mode & 0777),
                                           mtime_ns(st), ""});
        std::vector<std::string> names;
        while (const dirent* entry = ::readdir(dir)) {
            const std::string name = entry->d_name;
            if (name != "." && name != "..") names.push_back(name);
        }
        ::closedir(dir);
        std::sort(names.begin(), names.end());  // the same tree gives the same manifest
        for (const auto& name : names) add(path + "/" + name, relative + "/" + name);
    }

    void add_file(const std::string& path, const std::string& relative) {
        const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE) {
                throw WalkError("too many files to send at once; raise the limit with 'ulimit -n'");
            }
            notice(relative, std::strerror(errno));
            return;
        }
        struct stat st;  // of what was opened, not of the name
        if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            ::close(fd);
            notice(relative, "changed while it was read");
            return;
        }
        result.manifest.entries.push_back(
            {EntryType::file, relative, static_cast<std::uint64_t>(st.st_size),
             static_cast<std::uint32_t>(st.st_mode & 0777), mtime_ns(st), ""});
        result.fds.push_back(fd);
    }

    void add_link(const std::string& path, const std::string& relative, const struct stat& st) {
        std::string target(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : PATH_MAX) + 1,
                           '\0');
        const ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
        if (n < 0) {
            notice(relative, std::strerror(errno));
            return;
        }
        target.resize(static_cast<std::size_t>(n));
        if (auto why = check_link_target(relative, target)) {
            notice(relative + " -> " + target, *why);
            return;
        }
        result.manifest.entries.push_back(
            {EntryType::symlink, relative, 0, 0, mtime_ns(st), target});
    }
};

}  // namespace

WalkResult walk_paths(const std::vector<std::string>& paths) {
    Walker walker;
    std::set<std::string> tops;
    try {
        for (const auto& path : paths) {
            struct stat st;
            if (::lstat(path.c_str(), &st) != 0) {
                throw WalkError("cannot send '" + path + "': " + std::strerror(errno));
            }
            const std::string name = top_level_name(path);
            if (!tops.insert(name).second)
                throw WalkError("two of the paths are named '" + name + "'");
            walker.add(path, name);
        }
    } catch (...) {
        for (const int fd : walker.result.fds) ::close(fd);
        throw;
    }
    return std::move(walker.result);
}

}  // namespace chat::cli
