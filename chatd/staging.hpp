#pragma once
// Where a received transfer lands before anyone can see it: a private
// directory next to the download dir. Every path is walked from the
// staging root's descriptor one component at a time with O_NOFOLLOW, so a
// name can never lead outside it or write through a link, whatever the
// manifest said. publish() moves the finished tree into place. Holds no
// thread: a tree belongs to whoever made it (the daemon's io thread, or a
// worker process for the tree's root descriptor it was passed).
#include <sys/types.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "manifest.hpp"
#include "unique_fd.hpp"

namespace chat {

class StagingError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class StagingTree {
public:
    // Opens (creating it 0700 if needed) `name` under the directory
    // `parent_fd`: the transfer's staging root.
    StagingTree(int parent_fd, const std::string& name);
    StagingTree(const StagingTree&) = delete;
    StagingTree& operator=(const StagingTree&) = delete;

    int root_fd() const { return root_.get(); }

    // Creates every directory of the manifest (0700 until publish) and its
    // links that stay inside (others are skipped and returned, with why).
    std::vector<std::string> prepare(const Manifest& manifest);
    // A descriptor to write `path` (created 0600; kept, or truncated).
    UniqueFd open_for_write(const std::string& path, bool truncate);
    // A descriptor to write `path`, created here with `mode` (less the
    // umask); none (-1) with errno EEXIST if it is there already. O_EXCL
    // proves it a new regular file, so it needs no fstat.
    UniqueFd create_new(const std::string& path, mode_t mode);
    // A descriptor to read `path`, or none (-1) if it does not exist.
    UniqueFd open_for_read(const std::string& path);

    // Applies modes and mtimes (files, then directories deepest first),
    // makes everything durable with one syncfs, then renames each top-level
    // entry into `download_fd` under a free name. Returns (offered, placed)
    // names. The staging root is left empty. `files_stamped`: the workers
    // set each file's mtime, and its mode unless it lacks owner write.
    std::vector<std::pair<std::string, std::string>> publish(const Manifest& manifest,
                                                             int download_fd,
                                                             bool files_stamped = false);
    // publish() without its syncfs, for a caller that must not wait on it
    // (the daemon has a worker run it on root_fd()): the modes and mtimes,
    // then, once synced, the renames and the download directory's fsync.
    void stamp(const Manifest& manifest, bool files_stamped);
    std::vector<std::pair<std::string, std::string>> place(const Manifest& manifest,
                                                           int download_fd);

    // Removes the tree and what it holds, from the descriptors opened at
    // construction: never by path, never through a link, so a parent
    // renamed or replaced meanwhile leads nowhere else. False with errno if
    // something could not be removed.
    bool remove();

private:
    // The directory holding `path`, and its last component (walked one
    // component at a time with O_NOFOLLOW).
    UniqueFd open_parent(const std::string& path, std::string& leaf);
    // `path` opened under the root without following any link: openat2
    // where the kernel has it, else the walk above. -1 with errno.
    UniqueFd open_at(const std::string& path, int flags, mode_t mode);

    int parent_;
    std::string name_;
    UniqueFd root_;
};

// Reads/writes that retry on EINTR and short counts.
bool write_all(int fd, const char* data, std::size_t size);

}  // namespace chat
