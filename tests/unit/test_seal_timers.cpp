#include <doctest/doctest.h>

#include <cstdlib>

#include "seal_types.hpp"
#include "sealed_wire.hpp"

using namespace chat;
using std::chrono::milliseconds;

TEST_SUITE("seal_timers") {
    TEST_CASE("the wire's ages, unless test hooks shorten them") {
        ::setenv("CHATD_TEST_REKEY_MS", "1500", 1);
        ::setenv("CHATD_TEST_REJECT_MS", "4000", 1);
        const SealTimers normal = seal_timers(false);
        CHECK(normal.rekey_after == crypto::kRekeyAfter);
        CHECK(normal.reject_after == crypto::kRejectAfter);
        const SealTimers hooked = seal_timers(true);
        CHECK(hooked.rekey_after == milliseconds(1500));
        CHECK(hooked.reject_after == milliseconds(4000));
        for (const char* bad : {"", "0", "-5", "12x", "x"}) {
            CAPTURE(bad);
            ::setenv("CHATD_TEST_REKEY_MS", bad, 1);
            CHECK(seal_timers(true).rekey_after == crypto::kRekeyAfter);
        }
        ::unsetenv("CHATD_TEST_REKEY_MS");
        ::unsetenv("CHATD_TEST_REJECT_MS");
        CHECK(seal_timers(true).reject_after == crypto::kRejectAfter);
    }
}
