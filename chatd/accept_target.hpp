#pragma once
// The directory a `chatcli accept --to DIR` names, opened for the daemon
// only if the user who asked could write there. chatd may run as root, and
// a descriptor alone would not help: openat checks the daemon's rights,
// not the user's. So the path is resolved here one component at a time,
// as the kernel would (links followed, ".." physical), checking at each
// directory that the user may search it before looking into it, and at
// the end that the user may write into it. The checks are made on the
// opened directories' fstat, and the descriptor returned is the very
// directory checked: renaming or replacing a component meanwhile cannot
// swap it.
#include <stdexcept>
#include <string>

#include "dir_access.hpp"
#include "unique_fd.hpp"

namespace chat {

// A usage error for the local user; its text names only what they gave.
class AcceptTargetError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct AcceptTarget {
    UniqueFd fd;       // O_RDONLY | O_DIRECTORY
    std::string path;  // the same directory, resolved (no links, no "..")
};

// `path` is absolute. Throws AcceptTargetError: missing, not a directory,
// not searchable or writable by `who`, or not writable by chatd itself
// (a read-only mount, such as the service's ProtectSystem=strict).
AcceptTarget open_accept_target(const std::string& path, const UserIds& who);

}  // namespace chat
