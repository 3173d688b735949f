#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "worker_jobs.hpp"

using namespace chat;

TEST_SUITE("worker_jobs") {
    TEST_CASE("a send job's parameters: the bytes chatd always wrote, and back") {
        SendJobParams p;
        p.files = {{3, "a/b.txt", 10, std::nullopt}, {7, "c \"q\"", 0, std::nullopt}};
        p.host = "127.0.0.1";
        p.port = 7890;
        p.transfer = "abc";
        p.token = "tok";
        p.max_rate = 1000;
        const std::string bytes = encode_send_job(p);
        CHECK(bytes ==
              R"({"files":[{"i":3,"path":"a/b.txt","size":10},{"i":7,"path":"c \"q\"","size":0}],)"
              R"("host":"127.0.0.1","max_rate":1000,"port":7890,"timeout":30,"token":"tok",)"
              R"("transfer":"abc"})");
        CHECK(decode_send_job(bytes) == p);
        // The layout is what the fast path reads.
        std::vector<StreamFile> files;
        nlohmann::json rest;
        CHECK(detail::read_transfer_job_in_layout(bytes, files, rest));
        CHECK(files == p.files);
        CHECK(nlohmann::json::parse(bytes).at("files").size() == 2);
    }

    TEST_CASE("a receive job's parameters: the bytes chatd always wrote, and back") {
        ReceiveJobParams p;
        p.files = {{0, "x", 5, FileStamp{0644, -12}}, {2, "y/z", 9, std::nullopt}};
        p.fresh = true;
        const std::string bytes = encode_receive_job(p);
        CHECK(bytes == R"({"files":[{"i":0,"m":420,"mt":-12,"path":"x","size":5},)"
                       R"({"i":2,"path":"y/z","size":9}],"fresh":true,"timeout":30})");
        CHECK(decode_receive_job(bytes) == p);
        p.fresh = false;
        p.files.clear();
        CHECK(encode_receive_job(p) == R"({"files":[],"fresh":false,"timeout":30})");
        CHECK(decode_receive_job(encode_receive_job(p)) == p);
    }

    TEST_CASE("parameters in another order or with defaults left out read the same") {
        const auto send = decode_send_job(
            R"({"transfer":"t","token":"k","port":1,"host":"h","files":[{"size":4,"path":"p","i":1}]})");
        CHECK(send.files == std::vector<StreamFile>{{1, "p", 4, std::nullopt}});
        CHECK(send.timeout_seconds == 30);
        CHECK(send.max_rate == 0);
        const auto receive = decode_receive_job(R"({"files":[]})");
        CHECK_FALSE(receive.fresh);
        CHECK(receive.timeout_seconds == 30);
    }

    TEST_CASE("bad parameters throw") {
        CHECK_THROWS_AS(decode_send_job("[]"), WorkerProtocolError);
        CHECK_THROWS(decode_send_job(R"({"files":[],"port":1,"transfer":"t","token":"k"})"));
        CHECK_THROWS(decode_send_job(R"({"files":[],"host":"h","port":"1","transfer":"t",)"
                                     R"("token":"k"})"));
        CHECK_THROWS(decode_receive_job(R"({"files":[],"fresh":"yes"})"));
    }

    TEST_CASE("results round-trip") {
        CHECK(encode_send_result({123}) == R"({"wire_bytes":123})");
        CHECK(decode_send_result(encode_send_result({123})) == SendJobResult{123});
        CHECK(decode_send_result("not json") == SendJobResult{0});
        CHECK(decode_send_result("{}") == SendJobResult{0});
        CHECK(encode_receive_result({{1, 4}}) == R"({"verified":[1,4]})");
        CHECK(decode_receive_result(encode_receive_result({{1, 4}})) == ReceiveJobResult{{1, 4}});
        CHECK(decode_receive_result(R"({"verified":[]})") == ReceiveJobResult{});
        CHECK_THROWS(decode_receive_result("{}"));
        CHECK_THROWS(decode_receive_result("oops"));
    }
}
