// The worker pool with real worker processes (the chatd binary in worker
// mode): jobs with descriptors, progress, a worker killed mid-job, stop.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "content_hash.hpp"
#include "staging.hpp"
#include "transfer_stream.hpp"
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
    FailureKind failure = FailureKind::other;  // of a failed job
};

PoolJob hash_job(std::vector<int> fds, Outcome& out) {
    PoolJob job;
    job.kind = "hash";
    job.fds = OwnedFds(std::move(fds));
    job.on_progress = [&out](const WorkerReport& report) {
        out.bytes += report.bytes;
        out.files += report.files;
    };
    job.on_done = [&out](bool ok, const std::string& text, FailureKind failure) {
        out.finished = true;
        out.ok = ok;
        out.text = text;
        out.failure = failure;
    };
    return job;
}

std::string expected_hash(const std::string& content) {
    ContentHash h;
    h.update(content.data(), content.size());
    return h.hex();
}

bool process_exists(pid_t pid) { return ::kill(pid, 0) == 0; }

// Runs `job` (whose outcome is `out`) to its end, which must be a failure;
// returns why it failed.
std::string failure_of(Fixture& f, WorkerPool& pool, PoolJob job, Outcome& out) {
    pool.submit(std::move(job));
    REQUIRE(f.run_until([&] { return out.finished; }));
    CHECK_FALSE(out.ok);
    return out.text;
}

// After jobs that failed, the pool still runs one to success.
bool still_runs_jobs(Fixture& f, WorkerPool& pool) {
    Outcome after;
    pool.submit(hash_job({f.file_with("after", "fine")}, after));
    REQUIRE(f.run_until([&] { return after.finished; }));
    return after.ok;
}

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

TEST_CASE("shared descriptors go in the job's order and outlive their owner's reference") {
    Fixture f;
    WorkerPool pool(f.io, CHATD_BIN, 2, f.log);
    pool.start();
    auto files = std::make_shared<OwnedFds>(std::vector<int>{
        f.file_with("zero", "first file"), f.file_with("one", "second"), f.file_with("two", "3")});
    Outcome out;
    PoolJob job = hash_job({f.file_with("own", "its own")}, out);
    job.shared_fds = files;
    job.shared_slots = {2, 0};
    pool.submit(std::move(job));
    files.reset();  // the job alone holds them now
    REQUIRE(f.run_until([&] { return out.finished; }));
    REQUIRE(out.ok);
    CHECK(nlohmann::json::parse(out.text).at("hashes") ==
          nlohmann::json::array(
              {expected_hash("its own"), expected_hash("3"), expected_hash("first file")}));
}

TEST_CASE("a job with a descriptor the daemon could not make fails with why; the worker stays") {
    Fixture f;
    WorkerPool pool(f.io, CHATD_BIN, 2, f.log);
    pool.start();
    const auto before = pool.pids();
    for (const bool shared : {false, true}) {
        CAPTURE(shared);
        Outcome out;
        PoolJob job = hash_job({f.file_with("fine", "x")}, out);
        if (shared) {
            job.shared_fds = std::make_shared<OwnedFds>(std::vector<int>{-1});
            job.shared_slots = {0};
        } else {
            job.fds.push_back(-1);  // what F_DUPFD_CLOEXEC returns out of descriptors
        }
        CHECK(failure_of(f, pool, std::move(job), out) ==
              "cannot hand the job to a worker: the daemon is out of file descriptors");
    }
    CHECK(still_runs_jobs(f, pool));
    CHECK(pool.pids() == before);
    CHECK(pool.restarts() == 0);
}

TEST_CASE("a pool asked for one worker starts two: sends leave one free") {
    Fixture f;
    WorkerPool pool(f.io, CHATD_BIN, 1, f.log);
    pool.start();
    CHECK(pool.pids().size() == WorkerPool::kMinWorkers);
    CHECK(pool.send_slots() == 1);
    WorkerPool four(f.io, CHATD_BIN, 4, f.log);
    four.start();
    CHECK(four.pids().size() == 4);
    CHECK(four.send_slots() == 3);
}

TEST_CASE("a worker killed mid-job fails that job only, and is replaced") {
    Fixture f;
    WorkerPool pool(f.io, CHATD_BIN, 2, f.log);
    pool.start();
    const pid_t first = pool.pids().at(0);

    int stuck_pipe[2], other_pipe[2];  // the workers block reading them
    REQUIRE(::pipe2(stuck_pipe, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(other_pipe, O_CLOEXEC) == 0);
    Outcome stuck, other, queued;
    pool.submit(hash_job({stuck_pipe[0]}, stuck));  // the first free worker: slot 0
    pool.submit(hash_job({other_pipe[0]}, other));
    pool.submit(hash_job({f.file_with("after", "still works")}, queued));
    REQUIRE(f.run_until([&] { return pool.busy() == 2 && pool.queued() == 1; }));

    REQUIRE(::kill(first, SIGKILL) == 0);
    REQUIRE(f.run_until([&] { return stuck.finished && queued.finished; }));
    CHECK_FALSE(stuck.ok);
    CHECK(stuck.text.find("the worker running it died") == 0);
    CHECK(queued.ok);  // the replacement took the next job
    CHECK(nlohmann::json::parse(queued.text).at("hashes").at(0) == expected_hash("still works"));
    CHECK_FALSE(other.finished);  // the other worker's job goes on
    const pid_t second = pool.pids().at(0);
    CHECK(second != first);
    CHECK(process_exists(second));
    CHECK_FALSE(process_exists(first));
    CHECK(pool.restarts() == 1);
    CHECK(f.log_text.str().find("worker " + std::to_string(first) + " was lost") !=
          std::string::npos);
    ::close(other_pipe[1]);
    REQUIRE(f.run_until([&] { return other.finished; }));
    CHECK(other.ok);
    ::close(stuck_pipe[1]);
}

TEST_CASE("an unknown job kind fails with the reason") {
    Fixture f;
    WorkerPool pool(f.io, CHATD_BIN, 1, f.log);
    pool.start();
    Outcome out;
    PoolJob job = hash_job({}, out);
    job.kind = "dance";
    CHECK(failure_of(f, pool, std::move(job), out) == "unknown job kind 'dance'");
}

TEST_CASE("a job whose parameters are not an object fails with the reason; the worker stays") {
    Fixture f;
    WorkerPool pool(f.io, CHATD_BIN, 1, f.log);
    pool.start();
    const pid_t worker = pool.pids().at(0);
    for (const char* kind : {"send", "receive"}) {
        CAPTURE(kind);
        Outcome out;
        PoolJob job = hash_job({}, out);
        job.kind = kind;
        job.params_json = R"({"files":[)";
        CHECK(failure_of(f, pool, std::move(job), out) == "parameters are not a JSON object");
    }
    CHECK(still_runs_jobs(f, pool));
    CHECK(pool.pids().at(0) == worker);
    CHECK(pool.restarts() == 0);
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

// ---- the data path: a send job and a receive job over loopback TCP ------

namespace {

struct Link {
    int listener = -1;
    std::uint16_t port = 0;
    Link() {
        listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(listener, 4) == 0);
        socklen_t len = sizeof addr;
        ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
        port = ntohs(addr.sin_port);
    }
    ~Link() { ::close(listener); }
    // Accepts, and reads the header line as the receiving daemon does.
    int accept_with_header(StreamHeader& header) {
        const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        REQUIRE(fd >= 0);
        std::string line;
        char c;
        while (::read(fd, &c, 1) == 1 && c != '\n') line += c;
        header = decode_stream_header(line);
        return fd;
    }
};

struct Tree {
    std::vector<std::string> contents;
    std::vector<StreamFile> files;
};

Tree make_tree(Fixture& f) {
    Tree t;
    t.contents = {"", "x", std::string(300 * 1024, 'm'), std::string(5 << 20, 'L')};
    for (std::size_t i = 0; i < t.contents.size(); ++i) {
        t.files.push_back({i, "dir/file " + std::to_string(i), t.contents[i].size(), std::nullopt});
        std::ofstream(f.dir / ("src" + std::to_string(i)), std::ios::binary) << t.contents[i];
    }
    return t;
}

PoolJob send_job(Fixture& f, const Tree& t, std::uint16_t port, Outcome& out) {
    nlohmann::json files = nlohmann::json::array();
    std::vector<int> fds;
    for (const auto& file : t.files) {
        files.push_back({{"i", file.index}, {"path", file.path}, {"size", file.size}});
        fds.push_back(
            ::open((f.dir / ("src" + std::to_string(file.index))).c_str(), O_RDONLY | O_CLOEXEC));
    }
    PoolJob job = hash_job(fds, out);
    job.kind = "send";
    job.params_json = nlohmann::json{{"host", "127.0.0.1"}, {"port", port},  {"transfer", "t1"},
                                     {"token", "secret"},   {"timeout", 20}, {"files", files}}
                          .dump();
    return job;
}

PoolJob receive_job(const Tree& t, int socket, int staging_fd, Outcome& out, bool fresh = false) {
    nlohmann::json files = nlohmann::json::array();
    for (const auto& file : t.files) {
        nlohmann::json entry = {{"i", file.index}, {"path", file.path}, {"size", file.size}};
        if (file.stamp) {
            entry["m"] = file.stamp->mode;
            entry["mt"] = file.stamp->mtime_ns;
        }
        files.push_back(std::move(entry));
    }
    PoolJob job = hash_job({socket, ::dup(staging_fd)}, out);
    job.kind = "receive";
    nlohmann::json params = {{"timeout", 20}, {"files", files}};
    if (fresh) params["fresh"] = true;
    job.params_json = params.dump();
    return job;
}

Manifest tree_manifest(const Tree& t) {
    Manifest m;
    m.entries.push_back({EntryType::directory, "dir", 0, 0755, 0, ""});
    for (const auto& file : t.files) {
        m.entries.push_back({EntryType::file, file.path, file.size,
                             file.stamp ? file.stamp->mode : 0644,
                             file.stamp ? file.stamp->mtime_ns : 0, ""});
    }
    return m;
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// Runs one send job against one receive job; returns the sender's wire bytes.
std::uint64_t transfer_once(Fixture& f, WorkerPool& pool, const Tree& t, StagingTree& staging,
                            Outcome& sent, Outcome& received) {
    Link link;
    pool.submit(send_job(f, t, link.port, sent));
    REQUIRE(f.run_until([&] { return pool.busy() >= 1; }));
    StreamHeader header;
    const int socket = link.accept_with_header(header);
    CHECK(header.token == "secret");
    CHECK(header.files.size() == t.files.size());
    pool.submit(receive_job(t, socket, staging.root_fd(), received));
    REQUIRE(f.run_until([&] { return sent.finished && received.finished; }));
    return sent.ok ? nlohmann::json::parse(sent.text).value("wire_bytes", std::uint64_t{0}) : 0;
}

}  // namespace

TEST_CASE("files go from a send job to a receive job, verified, then publish") {
    Fixture f;
    WorkerPool pool(f.io, CHATD_BIN, 2, f.log);
    pool.start();
    Tree t = make_tree(f);
    // The receiver stamps mode and mtime itself, except a mode without
    // owner write (file 3), which publish applies.
    for (std::size_t i = 0; i < t.files.size(); ++i) {
        t.files[i].stamp = FileStamp{i == 3 ? 0444u : 0640u,
                                     1'600'000'000'000'000'000 + static_cast<std::int64_t>(i)};
    }
    fs::create_directories(f.dir / "download");
    const int download = ::open((f.dir / "download").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    StagingTree staging(download, ".staging");
    staging.prepare(tree_manifest(t));

    Outcome sent, received;
    const auto wire = transfer_once(f, pool, t, staging, sent, received);
    REQUIRE(sent.ok);
    REQUIRE(received.ok);
    CHECK(nlohmann::json::parse(received.text).at("verified") ==
          nlohmann::json::array({0, 1, 2, 3}));
    std::uint64_t total = 0;
    for (const auto& c : t.contents) total += c.size();
    CHECK(wire == total);
    CHECK(sent.files == 4);
    CHECK(received.bytes == static_cast<std::int64_t>(total));

    const auto stat_of = [](const fs::path& path) {
        struct stat st {};
        REQUIRE(::stat(path.c_str(), &st) == 0);
        return st;
    };
    for (std::size_t i = 0; i < t.files.size(); ++i) {
        const auto st = stat_of(f.dir / "download" / ".staging" / t.files[i].path);
        CHECK(st.st_mtim.tv_nsec == static_cast<long>(i));  // stamped by the worker
        CHECK((st.st_mode & 07777) == (i == 3 ? 0600u : 0640u));
    }

    staging.publish(tree_manifest(t), download, /*files_stamped=*/true);
    for (std::size_t i = 0; i < t.contents.size(); ++i) {
        const fs::path path = f.dir / "download" / t.files[i].path;
        CHECK(read_file(path) == t.contents[i]);
        const auto st = stat_of(path);
        CHECK((st.st_mode & 07777) == (i == 3 ? 0444u : 0640u));
        CHECK(st.st_mtim.tv_sec == 1'600'000'000);
        CHECK(st.st_mtim.tv_nsec == static_cast<long>(i));
    }
    ::close(download);
}

TEST_CASE("a rate the worker's full socket did not take goes with the job's next report") {
    Fixture f;
    WorkerPool pool(f.io, CHATD_BIN, 2, f.log);
    pool.start();
    // Progress comes every 4 MiB: at 8 MiB/s, 24 MiB is six reports in 3 s.
    Tree t;
    t.contents = {std::string(24 << 20, 'L')};
    t.files = {{0, "dir/big", t.contents[0].size(), std::nullopt}};
    std::ofstream(f.dir / "src0", std::ios::binary) << t.contents[0];
    fs::create_directories(f.dir / "download");
    const int download = ::open((f.dir / "download").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    StagingTree staging(download, ".staging");
    staging.prepare(tree_manifest(t));
    Link link;
    Outcome sent, received;
    PoolJob job = send_job(f, t, link.port, sent);
    auto params = nlohmann::json::parse(job.params_json);
    params["max_rate"] = 8 << 20;
    job.params_json = params.dump();
    const std::uint64_t id = pool.submit(std::move(job));
    REQUIRE(f.run_until([&] { return pool.busy() >= 1; }));
    StreamHeader header;
    const int socket = link.accept_with_header(header);
    pool.submit(receive_job(t, socket, staging.root_fd(), received));
    REQUIRE(f.run_until([&] { return sent.bytes > 0; }));
    // Rates faster than the worker reads them, until its socket is full
    // (the pool logs each it could not hand over) just as the last, 1 B/s,
    // is set.
    const auto logged = [&] { return f.log_text.str().size(); };
    bool last_refused = false;
    for (int i = 0; i < 1'000'000 && !last_refused; ++i) {
        auto before = logged();
        REQUIRE(pool.set_rate(id, (8 << 20) + (i % 2)));
        if (logged() == before) continue;
        before = logged();
        REQUIRE(pool.set_rate(id, 1));
        last_refused = logged() != before;
    }
    REQUIRE(last_refused);
    // Had the 1 B/s been lost, the job would end in about 3 s.
    CHECK_FALSE(f.run_until([&] { return sent.finished; }, std::chrono::seconds(6)));
    pool.stop();
    ::close(download);
}

TEST_CASE("a partial file resumes from what is staged; a bad prefix is caught and re-sent") {
    Fixture f;
    WorkerPool pool(f.io, CHATD_BIN, 2, f.log);
    pool.start();
    const Tree t = make_tree(f);
    const int root = ::open(f.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    StagingTree staging(root, "staging");
    staging.prepare(tree_manifest(t));
    const std::string& big = t.contents[3];
    const fs::path staged = f.dir / "staging" / t.files[3].path;

    SUBCASE("a good prefix: only the rest crosses the wire") {
        std::ofstream(staged, std::ios::binary) << big.substr(0, big.size() / 2);
        Outcome sent, received;
        const auto wire = transfer_once(f, pool, t, staging, sent, received);
        REQUIRE(sent.ok);
        CHECK(wire == 1 + 300 * 1024 + big.size() - big.size() / 2);
        CHECK(read_file(staged) == big);
    }
    SUBCASE("a corrupted prefix: the hash differs, the file is sent again whole") {
        std::ofstream(staged, std::ios::binary) << std::string(big.size() / 2, '?');
        Outcome sent, received;
        const auto wire = transfer_once(f, pool, t, staging, sent, received);
        REQUIRE(sent.ok);
        CHECK(wire == 1 + 300 * 1024 + big.size() - big.size() / 2 + big.size());
        CHECK(read_file(staged) == big);
    }
    ::close(root);
}

TEST_CASE("a receiving worker killed mid-file is replaced, and the transfer resumes identically") {
    Fixture f;
    WorkerPool pool(f.io, CHATD_BIN, 2, f.log);  // the resume needs a sender and a receiver
    pool.start();
    Tree t;
    t.contents = {std::string(16 << 20, 'k')};
    t.files = {{0, "dir/big", t.contents[0].size(), std::nullopt}};
    std::ofstream(f.dir / "src0", std::ios::binary) << t.contents[0];
    const int root = ::open(f.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    StagingTree staging(root, "staging");
    staging.prepare(tree_manifest(t));

    // The test plays the sender: half the file, then it waits.
    int pair[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
    Outcome received;
    pool.submit(receive_job(t, pair[1], staging.root_fd(), received));
    std::string resume;
    char c;
    while (::read(pair[0], &c, 1) == 1 && c != '\n') resume += c;
    CHECK(resume == R"({"resume":{}})");  // nothing staged yet: nothing listed
    const std::string head = "{\"file\":0,\"offset\":0}\n";
    REQUIRE(write_all(pair[0], head.data(), head.size()));
    REQUIRE(write_all(pair[0], t.contents[0].data(), 8 << 20));
    const fs::path staged = f.dir / "staging" / "dir/big";
    REQUIRE(f.run_until([&] {  // written, not just reported: reports come every 4 MiB
        std::error_code ec;
        return fs::file_size(staged, ec) == (8u << 20);
    }));
    ::kill(pool.pids().at(0), SIGKILL);  // the first idle worker took the receive job
    REQUIRE(f.run_until([&] { return received.finished; }));
    CHECK_FALSE(received.ok);
    CHECK(received.text.find("the worker running it died") == 0);
    ::close(pair[0]);
    CHECK(fs::file_size(staged) == (8u << 20));

    Outcome sent, again;
    const auto wire = transfer_once(f, pool, t, staging, sent, again);
    REQUIRE(sent.ok);
    REQUIRE(again.ok);
    CHECK(wire == (8u << 20));  // only the missing half
    CHECK(read_file(f.dir / "staging" / "dir/big") == t.contents[0]);
    CHECK(pool.restarts() == 1);
    ::close(root);
}

namespace {
// A receive job for one 3-byte file "only" into f.dir, whose sender says
// `line` and nothing else: what the receiving worker made of it.
Outcome receive_after_line(Fixture& f, WorkerPool& pool, const std::string& line) {
    Tree t;
    t.contents = {"abc"};
    t.files = {{0, "only", 3, std::nullopt}};
    const int root = ::open(f.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int pair[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
    Outcome received;
    pool.submit(receive_job(t, pair[1], root, received));
    REQUIRE(write_all(pair[0], line.data(), line.size()));
    REQUIRE(f.run_until([&] { return received.finished; }));
    ::close(pair[0]);
    ::close(root);
    return received;
}
}  // namespace

TEST_CASE("a sender that names a file outside its job is refused") {
    Fixture f;
    WorkerPool pool(f.io, CHATD_BIN, 1, f.log);
    pool.start();
    const Outcome received = receive_after_line(f, pool, "{\"file\":7,\"offset\":0}\n");
    CHECK_FALSE(received.ok);
    CHECK(received.text == "the sender named a file outside this job");
    CHECK_FALSE(fs::exists(f.dir / "only"));
}

TEST_CASE("a full disk fails the transfer with the receiver's reason, not a broken pipe") {
    if (::geteuid() != 0) {
        MESSAGE("skipped: mounting a small tmpfs needs root");
        return;
    }
    Fixture f;
    const fs::path small = f.dir / "small";
    fs::create_directories(small);
    if (std::system(("mount -t tmpfs -o size=1m tmpfs '" + small.string() + "'").c_str()) != 0) {
        MESSAGE("skipped: cannot mount a tmpfs here");
        return;
    }
    struct Unmount {
        fs::path path;
        ~Unmount() { std::system(("umount '" + path.string() + "'").c_str()); }
    } unmount{small};

    WorkerPool pool(f.io, CHATD_BIN, 2, f.log);
    pool.start();
    Tree t;
    t.contents = {std::string(3 << 20, 'd')};
    t.files = {{0, "dir/big", t.contents[0].size(), std::nullopt}};
    std::ofstream(f.dir / "src0", std::ios::binary) << t.contents[0];
    const int root = ::open(small.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    StagingTree staging(root, "staging");
    staging.prepare(tree_manifest(t));

    Outcome sent, received;
    transfer_once(f, pool, t, staging, sent, received);
    CHECK_FALSE(sent.ok);
    CHECK_FALSE(received.ok);
    CHECK(received.text == "cannot store 'dir/big': No space left on device");
    CHECK(sent.text == "the receiver failed: cannot store 'dir/big': No space left on device");
    ::close(root);
}

TEST_CASE("a failed job says what kind of failure it was") {
    Fixture f;
    WorkerPool pool(f.io, CHATD_BIN, 2, f.log);
    pool.start();

    SUBCASE("the receiver's storage: storage there, peer at the sender") {
        Tree t;
        t.contents = {"abc"};
        t.files = {{0, "dir/x", 3, std::nullopt}};
        std::ofstream(f.dir / "src0", std::ios::binary) << t.contents[0];
        const int root = ::open(f.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        StagingTree staging(root, "staging");
        std::ofstream(f.dir / "staging" / "dir") << "a file where a directory should be";

        Outcome sent, received;
        Link link;
        pool.submit(send_job(f, t, link.port, sent));
        REQUIRE(f.run_until([&] { return pool.busy() >= 1; }));
        StreamHeader header;
        const int socket = link.accept_with_header(header);
        pool.submit(receive_job(t, socket, staging.root_fd(), received, true));
        REQUIRE(f.run_until([&] { return sent.finished && received.finished; }));
        CHECK_FALSE(received.ok);
        CHECK(received.text.rfind(kStorageFailure, 0) == 0);
        CHECK(received.failure == FailureKind::storage);
        CHECK_FALSE(sent.ok);
        CHECK(sent.text == kReceiverFailed + received.text);
        CHECK(sent.failure == FailureKind::peer);
        ::close(root);
    }

    SUBCASE("a malformed line from the peer: protocol") {
        const Outcome received = receive_after_line(f, pool, "{\"file\":\"0\",\"offset\":0}\n");
        CHECK_FALSE(received.ok);
        CHECK(received.text == "the peer sent a bad line");
        CHECK(received.failure == FailureKind::protocol);
    }

    SUBCASE("a job the worker cannot make sense of: protocol") {
        Outcome out;
        PoolJob job = hash_job({}, out);
        job.kind = "sync";  // without its staging directory
        CHECK(failure_of(f, pool, std::move(job), out) == "a sync job needs the staging directory");
        CHECK(out.failure == FailureKind::protocol);
    }

    SUBCASE("a connection that fails: other") {
        Tree t;
        t.contents = {"abc"};
        t.files = {{0, "only", 3, std::nullopt}};
        std::ofstream(f.dir / "src0", std::ios::binary) << t.contents[0];
        std::uint16_t closed_port = 0;
        {
            Link gone;  // bound, then closed: nobody listens there
            closed_port = gone.port;
        }
        Outcome sent;
        CHECK(failure_of(f, pool, send_job(f, t, closed_port, sent), sent)
                  .rfind("cannot connect to 127.0.0.1:", 0) == 0);
        CHECK(sent.failure == FailureKind::other);
    }
}
