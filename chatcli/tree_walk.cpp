#include "tree_walk.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <future>
#include <set>
#include <string_view>
#include <system_error>
#include <unordered_set>
#include <utility>

#include "fd_passing.hpp"
#include "transfer_paths.hpp"

namespace chat::cli {
namespace {

std::int64_t mtime_ns(const struct stat& st) {
    return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

void close_fds(const WalkResult& result) {
    for (const int fd : result.fds) ::close(fd);
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

// Names are looked up relative to their directory's descriptor, and a
// regular file (by readdir's d_type) is opened without a stat first: the
// stat of what was opened decides. Half the lookups of a path-based walk.
//
// The first directory that holds two or more directories gives the later
// half of its entries to a helper thread (one open and one stat per file
// is most of a large tree's walk, and the other core is idle meanwhile).
// Its results follow the first half's, so the manifest is the same.
class Walker {
public:
    explicit Walker(bool share) : share_(share) {}

    // A path given on the command line, relative to the working directory.
    void add_path(const std::string& path, const std::string& relative) {
        add(AT_FDCWD, path, relative, DT_UNKNOWN);
    }

    WalkResult result;

    void notice(const std::string& relative, const std::string& why) {
        result.notices.push_back("skipped '" + relative + "': " + why);
    }

private:
    void add(int dir, const std::string& name, const std::string& relative, unsigned char type) {
        if (auto why = check_relative_path(relative)) {
            notice(relative, "the name cannot be sent (" + *why + ")");
            return;
        }
        if (type == DT_REG) return add_file(dir, name, relative);
        struct stat st;
        if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
            notice(relative, std::strerror(errno));
            return;
        }
        if (S_ISDIR(st.st_mode)) {
            add_directory(dir, name, relative, st);
        } else if (S_ISREG(st.st_mode)) {
            add_file(dir, name, relative);
        } else if (S_ISLNK(st.st_mode)) {
            add_link(dir, name, relative, st);
        } else {
            notice(relative, "not a regular file, directory or link");
        }
    }

    void add_directory(int parent, const std::string& name, const std::string& relative,
                       const struct stat& st) {
        const int fd =
            ::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        DIR* dir = fd < 0 ? nullptr : ::fdopendir(fd);
        if (!dir) {
            notice(relative, std::strerror(errno));
            if (fd >= 0) ::close(fd);
            return;
        }
        result.manifest.entries.push_back({EntryType::directory, relative, 0,
                                           static_cast<std::uint32_t>(st.st_mode & 0777),
                                           mtime_ns(st), ""});
        std::vector<std::pair<std::string, unsigned char>> names;
        while (const dirent* entry = ::readdir(dir)) {
            const std::string_view child = entry->d_name;
            if (child != "." && child != "..") names.emplace_back(child, entry->d_type);
        }
        std::sort(names.begin(), names.end());  // the same tree gives the same manifest
        std::size_t split = share_ ? shared_from(names) : names.size();
        std::future<WalkResult> rest;
        if (split < names.size()) {
            share_ = false;
            // Grown now, for as many descriptors as this process may hold
            // (up to 2^20, 8 MiB of table): while another thread runs, each
            // doubling waits for an RCU grace period, a tenth of a second
            // over a walk of 18,800 files.
            reserve_descriptor_table(kMostDescriptors);
            try {
                rest = start_helper(fd, relative, names, split);
            } catch (const std::system_error&) {
                split = names.size();  // no thread to be had: all of it here
            }
        }
        try {
            for (std::size_t i = 0; i < split; ++i)
                add(fd, names[i].first, relative + "/" + names[i].first, names[i].second);
        } catch (...) {
            if (rest.valid()) {
                try {
                    close_fds(rest.get());
                } catch (...) {  // the first error is the one to tell
                }
            }
            ::closedir(dir);
            throw;
        }
        if (rest.valid()) {
            WalkResult later;
            try {
                later = rest.get();
            } catch (...) {
                ::closedir(dir);
                throw;
            }
            append(std::move(later));
        }
        ::closedir(dir);
    }

    std::future<WalkResult> start_helper(
        int fd, const std::string& relative,
        const std::vector<std::pair<std::string, unsigned char>>& names, std::size_t split) {
        return std::async(std::launch::async, [&, fd, split, noatime = noatime_] {
            Walker helper(false);
            helper.noatime_ = noatime;
            try {
                for (std::size_t i = split; i < names.size(); ++i)
                    helper.add(fd, names[i].first, relative + "/" + names[i].first,
                               names[i].second);
            } catch (...) {
                close_fds(helper.result);
                throw;
            }
            return std::move(helper.result);
        });
    }

    // Where the helper starts: at the middle directory, if there are two.
    static std::size_t shared_from(
        const std::vector<std::pair<std::string, unsigned char>>& names) {
        std::vector<std::size_t> directories;
        for (std::size_t i = 0; i < names.size(); ++i) {
            if (names[i].second == DT_DIR) directories.push_back(i);
        }
        return directories.size() < 2 ? names.size() : directories[directories.size() / 2];
    }

    void append(WalkResult later) {
        auto& entries = result.manifest.entries;
        entries.insert(entries.end(), std::make_move_iterator(later.manifest.entries.begin()),
                       std::make_move_iterator(later.manifest.entries.end()));
        result.fds.insert(result.fds.end(), later.fds.begin(), later.fds.end());
        result.notices.insert(result.notices.end(), std::make_move_iterator(later.notices.begin()),
                              std::make_move_iterator(later.notices.end()));
    }

    void add_file(int dir, const std::string& name, const std::string& relative) {
        // O_NOATIME, as tar --atime-preserve=system: sending a tree does not
        // mark every file read (an inode write each). Only the owner (or
        // root) may ask; once refused, not asked again.
        int fd = ::openat(dir, name.c_str(), kFileFlags | (noatime_ ? O_NOATIME : 0));
        if (fd < 0 && errno == EPERM && noatime_) {
            noatime_ = false;
            fd = ::openat(dir, name.c_str(), kFileFlags);
        }
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

    void add_link(int dir, const std::string& name, const std::string& relative,
                  const struct stat& st) {
        std::string target(static_cast<std::size_t>(st.st_size > 0 ? st.st_size : PATH_MAX) + 1,
                           '\0');
        const ssize_t n = ::readlinkat(dir, name.c_str(), target.data(), target.size());
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

    static constexpr int kFileFlags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC;
    static constexpr std::size_t kMostDescriptors = std::size_t{1} << 20;
    bool noatime_ = true;
    bool share_;  // not yet given entries to a helper
};

// A '..' after another link climbs from where that link points: judged
// once every link is known, as the receiver judges the manifest.
void drop_links_through_links(WalkResult& result) {
    auto& entries = result.manifest.entries;
    std::unordered_set<std::string_view> links;
    for (const auto& e : entries) {
        if (e.type == EntryType::symlink) links.insert(e.path);
    }
    if (links.empty()) return;
    const auto is_link = [&links](std::string_view path) { return links.contains(path); };
    std::vector<bool> refused(entries.size());
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const auto& e = entries[i];
        if (e.type != EntryType::symlink) continue;
        if (auto why = check_link_target(e.path, e.link_target, is_link)) {
            refused[i] = true;
            result.notices.push_back("skipped '" + e.path + " -> " + e.link_target + "': " + *why);
        }
    }
    links.clear();  // views of the paths moved below
    std::size_t kept = 0;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        if (refused[i]) continue;
        if (kept != i) entries[kept] = std::move(entries[i]);
        ++kept;
    }
    entries.resize(kept);
}

}  // namespace

WalkResult walk_paths(const std::vector<std::string>& paths, bool with_helper) {
    Walker walker(with_helper);
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
            walker.add_path(path, name);
        }
    } catch (...) {
        close_fds(walker.result);
        throw;
    }
    drop_links_through_links(walker.result);
    return std::move(walker.result);
}

}  // namespace chat::cli
