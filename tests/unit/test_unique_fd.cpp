#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "unique_fd.hpp"

using namespace chat;

namespace {
bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }
}  // namespace

TEST_SUITE("unique_fd") {
    TEST_CASE("closes what it owns, once, and nothing it gave up") {
        int raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        REQUIRE(raw >= 0);
        {
            UniqueFd fd(raw);
            CHECK(fd);
            CHECK(fd.get() == raw);
            UniqueFd moved(std::move(fd));
            CHECK_FALSE(fd);
            CHECK(moved.get() == raw);
            CHECK(is_open(raw));
        }
        CHECK_FALSE(is_open(raw));

        raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        REQUIRE(raw >= 0);
        {
            UniqueFd fd(raw);
            CHECK(fd.release() == raw);
            CHECK_FALSE(fd);
        }
        CHECK(is_open(raw));

        UniqueFd first(raw);
        const int other = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        REQUIRE(other >= 0);
        first = UniqueFd(other);
        CHECK_FALSE(is_open(raw));
        CHECK(first.get() == other);
        first.reset();
        CHECK_FALSE(is_open(other));
        CHECK(first.get() == -1);
    }

    TEST_CASE("closing keeps errno for the caller's own check") {
        // A close that fails (here: EBADF, the descriptor already gone) must
        // not overwrite what the caller is about to test.
        const int raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        REQUIRE(raw >= 0);
        UniqueFd fd(raw);
        REQUIRE(::close(raw) == 0);
        errno = EEXIST;
        fd.reset();
        CHECK(errno == EEXIST);
    }
}
