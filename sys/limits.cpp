#include "limits.hpp"

#include <fcntl.h>
#include <sys/resource.h>

#include <algorithm>

#include "unique_fd.hpp"

namespace chat {

void raise_open_file_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
}

void reserve_descriptor_table(std::size_t count) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
    const auto highest = std::min<rlim_t>(limit.rlim_cur, count);
    if (highest < 2) return;
    // The table never shrinks: one descriptor at the top grows it for good.
    const UniqueFd any(::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!any) return;
    const UniqueFd top(::fcntl(any.get(), F_DUPFD_CLOEXEC, static_cast<int>(highest - 1)));
}

}  // namespace chat
