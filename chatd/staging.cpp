#include "staging.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "transfer_paths.hpp"

namespace chat {
namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path) {
    throw StagingError(what + " '" + path + "': " + std::strerror(errno));
}

timespec to_timespec(std::int64_t ns) {
    return timespec{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}

bool exists_at(int dir, const std::string& name) {
    struct stat st;
    return ::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

// renameat2 with RENAME_NOREPLACE: an existing name is never replaced,
// even by a race with someone creating it.
int rename_noreplace(int from_dir, const char* from, int to_dir, const char* to) {
    return static_cast<int>(::syscall(SYS_renameat2, from_dir, from, to_dir, to, RENAME_NOREPLACE));
}

// openat2 with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS: one call that can
// neither leave `root` nor follow a link, whatever the path says. -1 with
// errno ENOSYS on kernels before 5.6, where the caller walks instead.
int open_beneath(int root, const std::string& path, int flags, mode_t mode) {
    open_how how{};
    how.flags = static_cast<std::uint64_t>(flags);
    how.mode = (flags & O_CREAT) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    for (;;) {
        const long fd = ::syscall(SYS_openat2, root, path.c_str(), &how, sizeof how);
        if (fd >= 0 || errno != EAGAIN) return static_cast<int>(fd);  // EAGAIN: a rename raced
    }
}

// Empties the directory `dir` (closed here), depth first, unlinking each
// name relative to its parent's descriptor: a link is removed, not followed.
bool empty_dir(UniqueFd owned) {
    const int dir = owned.get();
    DIR* stream = ::fdopendir(dir);
    if (!stream) return false;
    (void)owned.release();  // the stream closes it now
    bool ok = true;
    int error = 0;
    while (const dirent* e = ::readdir(stream)) {
        const std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        if (::unlinkat(dir, name.c_str(), 0) == 0) continue;
        if (errno != EISDIR && errno != EPERM) {  // EPERM: some kernels say so for a directory
            ok = false, error = errno;
            continue;
        }
        UniqueFd sub(::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!sub || !empty_dir(std::move(sub)) ||
            ::unlinkat(dir, name.c_str(), AT_REMOVEDIR) != 0) {
            ok = false, error = errno;
        }
    }
    ::closedir(stream);
    errno = error;
    return ok;
}

}  // namespace

bool write_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

StagingTree::StagingTree(int parent_fd, const std::string& name) : parent_(parent_fd), name_(name) {
    if (::mkdirat(parent_fd, name.c_str(), 0700) != 0 && errno != EEXIST)
        fail("cannot create", name);
    root_.reset(::openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!root_) fail("cannot open", name);
}

bool StagingTree::remove() {
    if (!root_) return true;
    UniqueFd dir(::dup(root_.get()));
    if (!dir || !empty_dir(std::move(dir))) return false;
    // Only the directory emptied: if its name now leads elsewhere, that stays.
    struct stat ours, named;
    if (::fstat(root_.get(), &ours) != 0) return false;
    if (::fstatat(parent_, name_.c_str(), &named, AT_SYMLINK_NOFOLLOW) != 0 ||
        ours.st_dev != named.st_dev || ours.st_ino != named.st_ino) {
        return true;
    }
    return ::unlinkat(parent_, name_.c_str(), AT_REMOVEDIR) == 0;
}

UniqueFd StagingTree::open_parent(const std::string& path, std::string& leaf) {
    if (auto why = check_relative_path(path))
        throw StagingError("refused path '" + path + "': " + *why);
    UniqueFd dir(::dup(root_.get()));
    std::size_t start = 0;
    for (auto slash = path.find('/'); slash != std::string::npos; slash = path.find('/', start)) {
        const std::string part = path.substr(start, slash - start);
        UniqueFd next(
            ::openat(dir.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!next) {
            if (errno == ELOOP || errno == ENOTDIR) {
                throw StagingError("refused path '" + path + "': goes through a link or a file");
            }
            fail("cannot open directory of", path);
        }
        dir = std::move(next);
        start = slash + 1;
    }
    leaf = path.substr(start);
    return dir;
}

std::vector<std::string> StagingTree::prepare(const Manifest& manifest) {
    std::vector<std::string> skipped;
    for (const auto& e : manifest.entries) {
        if (e.type == EntryType::file) continue;
        std::string leaf;
        const UniqueFd dir = open_parent(e.path, leaf);
        int rc = 0;
        if (e.type == EntryType::directory) {
            rc = ::mkdirat(dir.get(), leaf.c_str(), 0700);
            if (rc != 0 && errno == EEXIST) {
                struct stat st;
                rc = (::fstatat(dir.get(), leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                      S_ISDIR(st.st_mode))
                         ? 0
                         : -1;
            }
        } else if (auto why = check_link_target(e.path, e.link_target)) {
            skipped.push_back(e.path + ": " + *why);
        } else {
            rc = ::symlinkat(e.link_target.c_str(), dir.get(), leaf.c_str());
            if (rc != 0 && errno == EEXIST) rc = 0;  // resumed: made already
        }
        if (rc != 0) fail("cannot create", e.path);
    }
    return skipped;
}

UniqueFd StagingTree::open_at(const std::string& path, int flags, mode_t mode) {
    if (auto why = check_relative_path(path))
        throw StagingError("refused path '" + path + "': " + *why);
    if (UniqueFd fd(open_beneath(root_.get(), path, flags, mode)); fd || errno != ENOSYS) {
        if (!fd && (errno == ELOOP || errno == EXDEV || errno == ENOTDIR))
            throw StagingError("refused path '" + path + "': goes through a link or a file");
        return fd;
    }
    std::string leaf;
    const UniqueFd dir = open_parent(path, leaf);
    UniqueFd fd(::openat(dir.get(), leaf.c_str(), flags | O_NOFOLLOW, mode));
    if (!fd && errno == ELOOP)
        throw StagingError("refused path '" + path + "': goes through a link or a file");
    return fd;
}

UniqueFd StagingTree::open_for_write(const std::string& path, bool truncate) {
    const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : 0);
    UniqueFd fd = open_at(path, flags, 0600);
    if (!fd) fail("cannot create", path);
    struct stat st;
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
        throw StagingError("refused path '" + path + "': not a regular file");
    return fd;
}

UniqueFd StagingTree::create_new(const std::string& path, mode_t mode) {
    UniqueFd fd = open_at(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (!fd && errno != EEXIST) fail("cannot create", path);
    return fd;
}

UniqueFd StagingTree::open_for_read(const std::string& path) {
    UniqueFd fd = open_at(path, O_RDONLY | O_CLOEXEC, 0);
    if (!fd && errno != ENOENT) fail("cannot open", path);
    return fd;
}

void StagingTree::stamp(const Manifest& manifest, bool files_stamped) {
    // Files first (their mtimes), then directories deepest first, so that
    // setting one does not disturb another's mtime.
    std::vector<const ManifestEntry*> order;
    for (const auto& e : manifest.entries) {
        if (e.type == EntryType::file && !(files_stamped && (e.mode & S_IWUSR)))
            order.push_back(&e);
    }
    const std::size_t files = order.size();
    for (const auto& e : manifest.entries) {
        if (e.type == EntryType::directory) order.push_back(&e);
    }
    std::sort(order.begin() + static_cast<std::ptrdiff_t>(files), order.end(),
              [](const ManifestEntry* a, const ManifestEntry* b) {
                  return std::count(a->path.begin(), a->path.end(), '/') >
                         std::count(b->path.begin(), b->path.end(), '/');
              });
    for (const ManifestEntry* e : order) {
        // A directory keeps owner rwx, or its own tree could not be moved.
        const mode_t mode = e->mode | (e->type == EntryType::directory ? S_IRWXU : 0);
        std::string leaf;
        const UniqueFd dir = open_parent(e->path, leaf);
        const timespec times[2] = {{0, UTIME_OMIT}, to_timespec(e->mtime_ns)};
        if (::fchmodat(dir.get(), leaf.c_str(), mode, 0) != 0 ||
            ::utimensat(dir.get(), leaf.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
            fail("cannot set mode or time of", e->path);
    }
}

std::vector<std::pair<std::string, std::string>> StagingTree::place(const Manifest& manifest,
                                                                    int download_fd) {
    std::vector<std::pair<std::string, std::string>> placed;
    for (const auto& top : manifest.top_level_names()) {
        for (;;) {
            const std::string name =
                unused_name(top, [&](const std::string& n) { return exists_at(download_fd, n); });
            if (rename_noreplace(root_.get(), top.c_str(), download_fd, name.c_str()) == 0) {
                placed.emplace_back(top, name);
                break;
            }
            if (errno != EEXIST) fail("cannot move into place", top);
        }
    }
    if (::fsync(download_fd) != 0) fail("cannot sync the download directory for", name_);
    return placed;
}

std::vector<std::pair<std::string, std::string>> StagingTree::publish(const Manifest& manifest,
                                                                      int download_fd,
                                                                      bool files_stamped) {
    stamp(manifest, files_stamped);
    // One sync of the file system instead of one fsync per file.
    if (::syncfs(root_.get()) != 0) fail("cannot sync", name_);
    return place(manifest, download_fd);
}

}  // namespace chat
