#include <doctest/doctest.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <tuple>

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
            {1, WorkerReport::Type::progress, 4096, 2, {}, "", "", 0},
            {1, WorkerReport::Type::progress, -100, 0, {}, "", "", 0},
            {1, WorkerReport::Type::progress, 12, 2, {7, 9}, "", "", 0},
            {1, WorkerReport::Type::progress, 5000, 1, {7}, "", "", 4000},  // a resume
            {2, WorkerReport::Type::done, 0, 0, {}, R"({"hashes":["ab"]})", "", 0},
            {3, WorkerReport::Type::failed, 0, 0, {}, "", "read failed: Input/output error", 0},
        };
        for (const auto& r : reports) CHECK(decode_report(encode_report(r)) == r);
    }

    TEST_CASE("a job's kind crosses as its name") {
        struct Row {
            JobKind kind;
            const char* name;
        };
        for (const Row row : {Row{JobKind::hash, "hash"}, Row{JobKind::send, "send"},
                              Row{JobKind::receive, "receive"}, Row{JobKind::sync, "sync"}}) {
            CAPTURE(row.name);
            CHECK(to_string(row.kind) == row.name);
            CHECK(job_kind_from_string(row.name) == row.kind);
            const WorkerJob job{9, std::string(to_string(row.kind)), "{}"};
            CHECK(encode_job(job) == std::string(R"({"job":9,"kind":")") + row.name + "\"}\n{}");
            CHECK(job_kind_from_string(decode_job(encode_job(job)).kind) == row.kind);
        }
        for (const char* unknown : {"", "Hash", "dance", "sync "}) {
            CAPTURE(unknown);
            CHECK_FALSE(job_kind_from_string(unknown).has_value());
        }
    }

    TEST_CASE("a failure's kind crosses with it, by name") {
        using K = FailureKind;
        struct Row {
            K kind;
            const char* name;
        };
        for (const Row row :
             {Row{K::other, "other"}, Row{K::storage, "storage"}, Row{K::peer, "peer"},
              Row{K::cancelled, "cancelled"}, Row{K::sync, "sync"}, Row{K::protocol, "protocol"}}) {
            CAPTURE(row.name);
            CHECK(to_string(row.kind) == row.name);
            CHECK(failure_kind_from_string(row.name) == row.kind);
            WorkerReport failed{4, WorkerReport::Type::failed, 0, 0, {}, "", "disk full", 0};
            failed.failure = row.kind;
            const std::string bytes = encode_report(failed);
            CHECK(bytes.find(std::string(R"("kind":")") + row.name + "\"") != std::string::npos);
            CHECK(decode_report(bytes) == failed);
        }
        CHECK_FALSE(failure_kind_from_string("Storage").has_value());
        CHECK(decode_report(R"({"job":4,"failed":"x"})").failure == K::other);
        CHECK_THROWS_WITH_AS(decode_report(R"({"job":4,"failed":"x","kind":"disk"})"),
                             "report with an unknown failure kind", WorkerProtocolError);
    }

    TEST_CASE("a running send job's new rate round-trips, and is told from a job") {
        CHECK(encode_rate({7, 20000000}) == R"({"job":7,"rate":20000000})");
        CHECK(decode_rate(encode_rate({7, 20000000})) == WorkerRate{7, 20000000});
        CHECK_FALSE(decode_rate(encode_job({7, "send", "{}"})).has_value());
        CHECK_FALSE(decode_rate(R"({"job":7,"rate":-1})").has_value());
        CHECK_FALSE(decode_rate("not json").has_value());
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

    TEST_CASE("a transfer job's files are written as json writes them, and read back alike") {
        using nlohmann::json;
        constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
        constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
        const std::vector<StreamFile> files = {
            {0, "a", 0, std::nullopt},
            {7, "dir/file name", 4096, FileStamp{0644, 1'700'000'000'123'456'789}},
            {18799, "q\"uote\\back\tslash\x01", 1ull << 40, FileStamp{0, -1}},
            {1, "\xc3\xa9/\xe6\x97\xa5", 5, FileStamp{0755, kMin + 1}},
            {2, "x", 9'999'999'999'999'999'999u,  // 19 digits, read_json_integer's most
             FileStamp{std::numeric_limits<std::uint32_t>::max(), kMax}},
        };
        const json others[] = {
            json::object(),
            {{"fresh", true}, {"timeout", 30}},
            {{"host", "127.0.0.1"},
             {"max_rate", 0},
             {"port", 7890},
             {"timeout", 30},
             {"token", "ab"},
             {"transfer", "t1"}},
        };
        for (std::size_t count : {std::size_t{0}, std::size_t{1}, files.size()}) {
            for (const json& other : others) {
                CAPTURE(count);
                CAPTURE(other.dump());
                std::string text = R"({"files":[)";
                json listed = json::array();
                for (std::size_t k = 0; k < count; ++k) {
                    const StreamFile& f = files[k];
                    append_job_file(text, f.index, f.path, f.size, f.stamp ? &*f.stamp : nullptr);
                    json entry = {{"i", f.index}, {"path", f.path}, {"size", f.size}};
                    if (f.stamp) {
                        entry["m"] = f.stamp->mode;
                        entry["mt"] = f.stamp->mtime_ns;
                    }
                    listed.push_back(entry);
                }
                text += "]";
                text += other.empty() ? "}" : "," + other.dump().substr(1);
                json whole = other;
                whole["files"] = listed;
                CHECK(text == whole.dump());  // json's own form: keys sorted, no spaces

                const std::vector<StreamFile> want(files.begin(),
                                                   files.begin() + static_cast<long>(count));
                std::vector<StreamFile> read;
                json rest;
                REQUIRE(detail::read_transfer_job_in_layout(text, read, rest));
                CHECK(read == want);
                CHECK(rest == other);
                json rest_by_json;
                CHECK(detail::decode_transfer_job_with_json(text, rest_by_json) == want);
                CHECK(rest_by_json == other);
                CHECK(decode_transfer_job(text, rest) == want);
            }
        }
    }

    TEST_CASE("a transfer job outside the layout is read by json, to the same files") {
        using nlohmann::json;
        const char* texts[] = {
            R"({"files": [{"i":1,"path":"a","size":2}]})",      // a space
            R"({"files":[{"path":"a","i":1,"size":2}]})",       // key order
            R"({"files":[{"i":1,"path":"\u00e9","size":2}]})",  // an escape above U+007F
            R"({"files":[{"i":1,"m":420,"mt":9223372036854775808,"path":"a","size":2}]})",
            R"({"files":[{"i":1,"m":4294967296,"mt":0,"path":"a","size":2}]})",
            R"({"files":[{"i":1,"mt":5,"path":"a","size":2}]})",      // mt without m
            R"({"files":[{"i":1,"path":"a","size":2,"x":3}]})",       // a member of its own
            R"({"files":[{"i":1,"path":"a","size":2}],"files":[]})",  // json keeps the last
            R"({"timeout":30,"files":[{"i":1,"path":"a","size":2}]})",
            R"({"files":[{"i":-1,"path":"a","size":2}]})",
            R"({"files":[{"i":7,"path":"a","size":0}],})",           // found by fuzz_job_params
            R"({"files":[{"i":7,"path":"a","size":0}]},"b":true})",  // and this
            R"({"files":[{"i":1,"path":"a","size":18446744073709551615}]})",  // 20 digits
            R"({"files":[{"i":1,"m":0,"mt":-9223372036854775808,"path":"a","size":2}]})",
            R"({"files":[{"i":1,"path":"a","size":2.5}]})",
        };
        // Files, members and the error, if any, of a decoder.
        const auto outcome = [](auto decode, std::string_view text) {
            std::tuple<std::vector<StreamFile>, json, std::string> result;
            try {
                std::get<0>(result) = decode(text, std::get<1>(result));
            } catch (const std::exception& e) {
                std::get<2>(result) = e.what();
            }
            return result;
        };
        for (const char* text : texts) {
            CAPTURE(text);
            std::vector<StreamFile> read;
            json rest;
            CHECK_FALSE(detail::read_transfer_job_in_layout(text, read, rest));
            CHECK(outcome(decode_transfer_job, text) ==
                  outcome(detail::decode_transfer_job_with_json, text));
        }
        json rest;
        CHECK_THROWS_WITH_AS(decode_transfer_job(R"({"files":[)", rest),
                             "parameters are not a JSON object", WorkerProtocolError);
        CHECK_THROWS_AS(decode_transfer_job(R"({"files":[{"i":1,"path":"a"}]})", rest),
                        json::out_of_range);
        // Not UTF-8: json refuses the bytes, so the reader must too.
        std::vector<StreamFile> read;
        CHECK_FALSE(detail::read_transfer_job_in_layout(
            "{\"files\":[{\"i\":1,\"path\":\"\xff\",\"size\":2}]}", read, rest));
    }
}
