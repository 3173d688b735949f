#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "worker_protocol.hpp"

using namespace chat;

TEST_SUITE("worker_protocol") {
    TEST_CASE("jobs and reports round-trip") {
        const WorkerJob job{42, "hash", R"({"sizes":[1,2]})"};
        CHECK(decode_job(encode_job(job)) == job);
        CHECK(decode_job(encode_job({7, "hash", ""})).params_json == "{}");
        // Parameters travel as written, after the header line, and are read
        // once, by the worker.
        CHECK(encode_job({5, "send", R"( {"b":1, "a":"x\u00e9"})"}) ==
              "{\"job\":5,\"kind\":\"send\"}\n {\"b\":1, \"a\":\"x\\u00e9\"}");
        CHECK(decode_job(encode_job({5, "send", R"( {"b":1, "a":[]})"})).params_json ==
              R"( {"b":1, "a":[]})");
        CHECK(decode_job(R"({"job":3,"kind":"sync"})").params_json == "{}");
        CHECK(parse_job_params(R"( {"b":1, "a":[]})") ==
              nlohmann::json{{"a", nlohmann::json::array()}, {"b", 1}});
        CHECK(parse_job_params(" ") == nlohmann::json::object());

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
        CHECK_THROWS_WITH_AS(decode_job("{\"job\":1}\n{}"),
                             "job without a valid 'job' id or 'kind'", WorkerProtocolError);
        CHECK_THROWS_WITH_AS(decode_job("{\"job\":1,\n\"kind\":\"hash\"}"),
                             "job is not a JSON object", WorkerProtocolError);
        for (const char* params : {"[1]", "{", R"({"a":})", R"({"a":1} x)", "7", " \"{}\""}) {
            CAPTURE(params);
            const WorkerJob job = decode_job(encode_job({1, "send", params}));
            CHECK(job.params_json == params);
            CHECK_THROWS_WITH_AS(parse_job_params(job.params_json),
                                 "parameters are not a JSON object", WorkerProtocolError);
        }
        CHECK_THROWS_WITH_AS(decode_report("nope"), "report is not a JSON object",
                             WorkerProtocolError);
        CHECK_THROWS_WITH_AS(decode_report(R"({"job":1})"),
                             "report without a valid job id, progress, done or failed",
                             WorkerProtocolError);
    }
}
