#include "reopen_target.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace chat {

UniqueFd reopen_accept_target(const std::string& dir, const std::optional<UserIds>& accepted_by,
                              const std::string& default_dir) {
    const std::string cannot = "cannot use " + dir + " after a restart: ";
    if (accepted_by) {
        try {
            return std::move(open_accept_target(dir, *accepted_by).fd);
        } catch (const AcceptTargetError& e) {
            throw AcceptTargetError(cannot + e.what());
        }
    }
    // A row from before the ids were saved: only the default dir is known
    // to be one the user did not pick.
    if (dir != default_dir)
        throw AcceptTargetError(cannot + "who accepted into it is not recorded");
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) throw AcceptTargetError(cannot + std::strerror(errno));
    return fd;
}

}  // namespace chat
