// The worker pool with real worker processes (the chatd binary in worker
// mode): jobs with descriptors, progress, a worker killed mid-job, stop.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "content_hash.hpp"
#include "worker_pool.hpp"

using namespace chat;
namespace fs = std::filesystem;

namespace {

struct Fixture {
    asio::io_context io;
    std::ostringstream log_text;
    std::shared_ptr<spdlog::logger> log = std::make_shared<spdlog::logger>(
        "test", std::make_shared<spdlog::sinks::ostream_sink_st>(log_text));
    fs::path dir;

    Fixture() {
        std::string pattern = (fs::temp_directory_path() / "chatd-pool-XXXXXX").string();
        dir = ::mkdtemp(pattern.data());
        log->set_level(spdlog::level::debug);
    }
    ~Fixture() { fs::remove_all(dir); }

    // Runs the event loop until `done` or a generous deadline.
    template <class Predicate>
    bool run_until(Predicate done, std::chrono::seconds limit = std::chrono::seconds(60)) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!done() && std::chrono::steady_clock::now() < deadline) {
            io.run_for(std::chrono::milliseconds(20));
            io.restart();
        }
        return done();
    }

    int file_with(const std::string& name, const std::string& content) {
        const fs::path path = dir / name;
        std::ofstream(path, std::ios::binary) << content;
        return ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    }
};

struct Outcome {
    bool finished = false;
    bool ok = false;
    std::string text;
    std::int64_t bytes = 0;
    std::uint64_t files = 0;
};

PoolJob hash_job(std::vector<int> fds, Outcome& out) {
    PoolJob job;
    job.kind = "hash";
    job.fds = OwnedFds(std::move(fds));
    job.on_progress = [&out](std::int64_t bytes, std::uint64_t files) {
        out.bytes += bytes;
        out.files += files;
    };
    job.on_done = [&out](bool ok, const std::string& text) {
        out.finished = true;
        out.ok = ok;
        out.text = text;
    };
    return job;
}

std::string expected_hash(const std::string& content) {
    ContentHash h;
    h.update(content.data(), content.size());
    return h.hex();
}

bool process_exists(pid_t pid) { return ::kill(pid, 0) == 0; }

[[maybe_unused]] long peak_rss_kib(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
    }
    return -1;
}

}  // namespace

TEST_CASE("a job runs in a worker process, with its descriptors and progress") {
    Fixture f;
    WorkerPool pool(f.io, CHATD_BIN, 2, f.log);
    pool.start();
    const auto pids = pool.pids();
    REQUIRE(pids.size() == 2);
    for (const pid_t pid : pids) CHECK(process_exists(pid));

    const std::string big(9 << 20, 'q');
    Outcome out;
    pool.submit(hash_job({f.file_with("big", big), f.file_with("small", "hello world")}, out));
    REQUIRE(f.run_until([&] { return out.finished; }));
    REQUIRE(out.ok);
    const auto result = nlohmann::json::parse(out.text);
    CHECK(result.at("hashes") ==
          nlohmann::json::array({expected_hash(big), expected_hash("hello world")}));
    CHECK(result.at("sizes") == nlohmann::json::array({big.size(), 11}));
    CHECK(out.bytes == static_cast<std::int64_t>(big.size() + 11));
    CHECK(out.files == 2);
    CHECK(pool.busy() == 0);
}

TEST_CASE("a worker killed mid-job fails that job only, and is replaced") {
    Fixture f;
    WorkerPool pool(f.io, CHATD_BIN, 1, f.log);
    pool.start();
    const pid_t first = pool.pids().at(0);

    int pipe_fds[2];
    REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);  // the worker blocks reading it
    Outcome stuck, queued;
    pool.submit(hash_job({pipe_fds[0]}, stuck));
    pool.submit(hash_job({f.file_with("after", "still works")}, queued));
    REQUIRE(f.run_until([&] { return pool.busy() == 1 && pool.queued() == 1; }));

    REQUIRE(::kill(first, SIGKILL) == 0);
    REQUIRE(f.run_until([&] { return stuck.finished && queued.finished; }));
    CHECK_FALSE(stuck.ok);
    CHECK(stuck.text.find("the worker running it died") == 0);
    CHECK(queued.ok);  // the replacement took the next job
    CHECK(nlohmann::json::parse(queued.text).at("hashes").at(0) == expected_hash("still works"));
    const pid_t second = pool.pids().at(0);
    CHECK(second != first);
    CHECK(process_exists(second));
    CHECK_FALSE(process_exists(first));
    CHECK(pool.restarts() == 1);
    CHECK(f.log_text.str().find("worker " + std::to_string(first) + " was lost") !=
          std::string::npos);
    ::close(pipe_fds[1]);
}

TEST_CASE("an unknown job kind fails with the reason") {
    Fixture f;
    WorkerPool pool(f.io, CHATD_BIN, 1, f.log);
    pool.start();
    Outcome out;
    PoolJob job = hash_job({}, out);
    job.kind = "dance";
    pool.submit(std::move(job));
    REQUIRE(f.run_until([&] { return out.finished; }));
    CHECK_FALSE(out.ok);
    CHECK(out.text == "unknown job kind 'dance'");
}

TEST_CASE("stop ends every worker and fails what was left") {
    Fixture f;
    WorkerPool pool(f.io, CHATD_BIN, 2, f.log);
    pool.start();
    const auto pids = pool.pids();
    int pipe_fds[2];
    REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
    Outcome stuck, waiting;
    pool.submit(hash_job({::dup(pipe_fds[0])}, stuck));
    pool.submit(hash_job({::dup(pipe_fds[0])}, waiting));
    Outcome third;
    pool.submit(hash_job({pipe_fds[0]}, third));
    REQUIRE(f.run_until([&] { return pool.busy() == 2; }));
    pool.stop();
    CHECK((stuck.finished && waiting.finished && third.finished));
    CHECK(third.text == "stopping");
    for (const pid_t pid : pids) CHECK_FALSE(process_exists(pid));
    ::close(pipe_fds[1]);
}

#ifndef CHAT_SANITIZED
TEST_CASE("a worker's memory stays bounded whatever the file size") {
    Fixture f;
    WorkerPool pool(f.io, CHATD_BIN, 1, f.log);
    pool.start();
    const fs::path sparse = f.dir / "sparse";
    std::ofstream(sparse).close();
    fs::resize_file(sparse, std::uintmax_t{1} << 30);  // 1 GiB of holes: read fast, no disk
    Outcome out;
    pool.submit(hash_job({::open(sparse.c_str(), O_RDONLY | O_CLOEXEC)}, out));
    REQUIRE(f.run_until([&] { return out.finished; }));
    REQUIRE(out.ok);
    const long peak = peak_rss_kib(pool.pids().at(0));
    MESSAGE("worker peak RSS after hashing 1 GiB: " << peak << " KiB");
    CHECK(peak > 0);
    CHECK(peak <= 32 * 1024);
}
#endif
