#pragma once
// The sending side of a transfer, as the invoking user: walks the paths
// given to `chatcli transfer`, builds the manifest and opens every file,
// so chatd later reads only what this user could read (the descriptors
// go to it over the control socket). What cannot be sent is skipped with
// a notice: special files, links that point outside the top-level entry
// they are in, names the receiver would refuse, files this user cannot read.
#include <stdexcept>
#include <string>
#include <vector>

#include "manifest.hpp"

namespace chat::cli {

struct WalkResult {
    Manifest manifest;
    std::vector<int> fds;  // one per file entry, in manifest order; the caller closes them
    std::vector<std::string> notices;  // what was skipped, and why
};

class WalkError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Throws WalkError for a top-level path that cannot be used at all (missing,
// unreadable directory, two paths with the same name). With a helper, a
// thread walks part of the tree; the result is the same.
WalkResult walk_paths(const std::vector<std::string>& paths, bool with_helper = true);

}  // namespace chat::cli
