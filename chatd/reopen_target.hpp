#pragma once
// The directory an accepted transfer goes to, opened again after a
// restart. A `--to` directory is checked again for the user who named it
// (its ids are saved with the transfer): meanwhile it may have become a
// link to somewhere that user may not write. The default download dir was
// never a user's choice, and is opened as it was at accept.
#include <optional>
#include <string>

#include "accept_target.hpp"

namespace chat {

// Returns an O_RDONLY | O_DIRECTORY descriptor, or throws
// AcceptTargetError saying why the transfer cannot go on there.
UniqueFd reopen_accept_target(const std::string& dir, const std::optional<UserIds>& accepted_by,
                              const std::string& default_dir);

}  // namespace chat
