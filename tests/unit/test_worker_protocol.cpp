#include <doctest/doctest.h>

#include "worker_protocol.hpp"

using namespace chat;

TEST_SUITE("worker_protocol") {
    TEST_CASE("jobs and reports round-trip") {
        const WorkerJob job{42, "hash", R"({"sizes":[1,2]})"};
        CHECK(decode_job(encode_job(job)) == job);
        CHECK(decode_job(encode_job({7, "hash", ""})).params_json == "{}");
        // Parameters go in as written; the worker reads them back normalized.
        CHECK(encode_job({5, "send", R"( {"b":1, "a":"x\u00e9"})"}) ==
              R"({"job":5,"kind":"send","params": {"b":1, "a":"x\u00e9"}})");
        CHECK(decode_job(encode_job({5, "send", R"( {"b":1, "a":[]})"})).params_json ==
              R"({"a":[],"b":1})");

        const WorkerReport reports[] = {
            {1, WorkerReport::Type::progress, 4096, 2, {}, "", ""},
            {1, WorkerReport::Type::progress, -100, 0, {}, "", ""},
            {1, WorkerReport::Type::progress, 12, 2, {7, 9}, "", ""},
            {2, WorkerReport::Type::done, 0, 0, {}, R"({"hashes":["ab"]})", ""},
            {3, WorkerReport::Type::failed, 0, 0, {}, "", "read failed: Input/output error"},
        };
        for (const auto& r : reports) CHECK(decode_report(encode_report(r)) == r);
    }

    TEST_CASE("bad messages say what is wrong") {
        CHECK_THROWS_WITH_AS(decode_job("[]"), "job is not a JSON object", WorkerProtocolError);
        CHECK_THROWS_WITH_AS(decode_job(R"({"kind":"hash"})"),
                             "job without a valid 'job' id or 'kind'", WorkerProtocolError);
        for (const char* params : {"[1]", "{", R"({"a":})", R"({"a":1} x)", "7", " \"{}\""}) {
            CAPTURE(params);
            CHECK_THROWS_WITH_AS(encode_job({1, "hash", params}),
                                 "parameters are not a JSON object", WorkerProtocolError);
        }
        CHECK_THROWS_WITH_AS(decode_report("nope"), "report is not a JSON object",
                             WorkerProtocolError);
        CHECK_THROWS_WITH_AS(decode_report(R"({"job":1})"),
                             "report without a valid job id, progress, done or failed",
                             WorkerProtocolError);
    }
}
