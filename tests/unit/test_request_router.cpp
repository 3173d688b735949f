// The control request table: each kind of request reaches its handler.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "request_router.hpp"

using namespace chat;

namespace {

class RecordingReply : public ReplySink {
public:
    void send_line(std::string line) override { lines.push_back(std::move(line)); }
    void finish() override { finished = true; }
    bool is_open() const override { return !finished; }
    void on_drained(std::function<void()> next) override { next(); }
    void receive_fds(std::size_t, std::function<void(OwnedFds, const std::string&)> done) override {
        done({}, "no descriptors here");
    }
    std::optional<UserIds> client() const override { return std::nullopt; }

    std::vector<std::string> lines;
    bool finished = false;
};

}  // namespace

TEST_SUITE("request_router") {
    TEST_CASE("each request reaches the handler of its kind, moved there") {
        RequestRouter router;
        std::vector<std::string> seen;
        router.on<SendRequest>(
            [&](SendRequest r, RequestRouter::Reply) { seen.push_back("send " + r.text); });
        router.on<StatusRequest>(
            [&](StatusRequest, RequestRouter::Reply) { seen.push_back("status"); });
        router.on<DecideRequest>([&](DecideRequest r, RequestRouter::Reply) {
            seen.push_back("decide " + std::string(to_string(r.action)));
        });
        struct Case {
            Request request;
            const char* handled;
        };
        SendRequest send;
        send.text = "hi";
        DecideRequest decide;
        decide.action = DecideAction::accept;
        const Case cases[] = {
            {send, "send hi"}, {StatusRequest{}, "status"}, {decide, "decide accept"}};
        for (const auto& c : cases) {
            seen.clear();
            auto reply = std::make_shared<RecordingReply>();
            router.handle(c.request, reply);
            CHECK(seen == std::vector<std::string>{c.handled});
            CHECK(reply->lines.empty());
        }
    }

    TEST_CASE("a kind nobody serves is refused as a bad request") {
        RequestRouter router;
        auto reply = std::make_shared<RecordingReply>();
        router.handle(PeersRequest{}, reply);
        REQUIRE(reply->lines.size() == 1);
        CHECK(reply->lines[0].find("\"bad_request\"") != std::string::npos);
        CHECK(reply->finished);
    }
}
