#include "worker_protocol.hpp"

#include <limits>
#include <nlohmann/json.hpp>

#include "enum_names.hpp"
#include "flat_json.hpp"
#include "text.hpp"

namespace chat {
namespace {

using nlohmann::json;

// One file in append_job_file's layout at text[at]; false for anything else.
bool read_job_file(std::string_view text, std::size_t& at, StreamFile& file) {
    std::uint64_t index = 0;
    if (!skip_literal(text, at, "{\"i\":") || !read_json_count(text, at, index)) return false;
    file.index = index;
    file.stamp.reset();
    if (skip_literal(text, at, ",\"m\":")) {
        std::uint64_t mode = 0, magnitude = 0;
        bool negative = false;
        if (!read_json_count(text, at, mode) || mode > std::numeric_limits<std::uint32_t>::max() ||
            !skip_literal(text, at, ",\"mt\":") ||
            !read_json_integer(text, at, negative, magnitude))
            return false;
        constexpr auto most = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
        if (magnitude > most + (negative ? 1 : 0)) return false;
        // Modulo 2^64, as C++20 defines it: -2^63 too.
        const auto mtime = static_cast<std::int64_t>(negative ? 0 - magnitude : magnitude);
        file.stamp = FileStamp{static_cast<std::uint32_t>(mode), mtime};
    }
    return skip_literal(text, at, ",\"path\":") && read_json_string(text, at, file.path) &&
           is_valid_utf8(file.path) && skip_literal(text, at, ",\"size\":") &&
           read_json_count(text, at, file.size) && skip_literal(text, at, "}");
}

json parse_object(std::string_view bytes, const char* what) {
    json doc = json::parse(bytes, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object()) {
        throw WorkerProtocolError(std::string(what) + " is not a JSON object");
    }
    return doc;
}

}  // namespace

std::string encode_job(const WorkerJob& job) {
    // A header line, then the parameters as they were written (a job's file
    // list is tens of kilobytes): parsed once, by the worker that uses them.
    std::string out = json{{"job", job.id}, {"kind", job.kind}}.dump();
    out += '\n';
    out +=
        job.params_json.find_first_not_of(" \t\r\n") == std::string::npos ? "{}" : job.params_json;
    return out;
}

WorkerJob decode_job(std::string_view bytes) {
    const std::size_t newline = bytes.find('\n');
    const json header = parse_object(bytes.substr(0, newline), "job");
    try {
        WorkerJob job;
        job.id = header.at("job").get<std::uint64_t>();
        job.kind = header.at("kind").get<std::string>();
        job.params_json = newline == std::string_view::npos ? "{}" : bytes.substr(newline + 1);
        return job;
    } catch (const json::exception&) {
        throw WorkerProtocolError("job without a valid 'job' id or 'kind'");
    }
}

json parse_job_params(std::string_view params_json) {
    if (params_json.find_first_not_of(" \t\r\n") == std::string_view::npos) return json::object();
    json doc = json::parse(params_json, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object())
        throw WorkerProtocolError("parameters are not a JSON object");
    return doc;
}

std::string encode_rate(const WorkerRate& rate) {
    return R"({"job":)" + std::to_string(rate.job) + R"(,"rate":)" +
           std::to_string(rate.bytes_per_second) + "}";
}

std::optional<WorkerRate> decode_rate(std::string_view bytes) {
    if (bytes.find('\n') != std::string_view::npos) return std::nullopt;  // a job's header line
    const json doc = json::parse(bytes, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object() || doc.size() != 2) return std::nullopt;
    const auto job = doc.find("job");
    const auto rate = doc.find("rate");
    if (job == doc.end() || rate == doc.end() || !job->is_number_unsigned() ||
        !rate->is_number_unsigned())
        return std::nullopt;
    return WorkerRate{job->get<std::uint64_t>(), rate->get<std::uint64_t>()};
}

namespace {
constexpr std::pair<JobKind, std::string_view> kJobKindNames[] = {
    {JobKind::hash, "hash"},
    {JobKind::send, "send"},
    {JobKind::receive, "receive"},
    {JobKind::sync, "sync"},
};

constexpr std::pair<FailureKind, std::string_view> kFailureKindNames[] = {
    {FailureKind::other, "other"}, {FailureKind::storage, "storage"},
    {FailureKind::peer, "peer"},   {FailureKind::cancelled, "cancelled"},
    {FailureKind::sync, "sync"},   {FailureKind::protocol, "protocol"},
};
}  // namespace

std::string_view to_string(JobKind kind) { return name_in(kJobKindNames, kind); }

std::optional<JobKind> job_kind_from_string(std::string_view name) {
    return value_named(kJobKindNames, name);
}

std::string_view to_string(FailureKind kind) { return name_in(kFailureKindNames, kind, "other"); }

std::optional<FailureKind> failure_kind_from_string(std::string_view name) {
    return value_named(kFailureKindNames, name);
}

std::string encode_report(const WorkerReport& r) {
    json doc = {{"job", r.job}};
    switch (r.type) {
        case WorkerReport::Type::progress:
            doc["progress"] = r.bytes;
            doc["files"] = r.files;
            if (!r.verified.empty()) doc["verified"] = r.verified;
            if (r.already_there != 0) doc["there"] = r.already_there;
            break;
        case WorkerReport::Type::done:
            doc["done"] = parse_job_params(r.result_json);
            break;
        case WorkerReport::Type::failed:
            doc["failed"] = r.error;
            doc["kind"] = to_string(r.failure);
            break;
    }
    return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

WorkerReport decode_report(std::string_view bytes) {
    const json doc = parse_object(bytes, "report");
    try {
        WorkerReport r;
        r.job = doc.at("job").get<std::uint64_t>();
        if (const auto it = doc.find("progress"); it != doc.end()) {
            r.type = WorkerReport::Type::progress;
            r.bytes = it->get<std::int64_t>();
            r.files = doc.value("files", std::uint64_t{0});
            if (const auto verified = doc.find("verified"); verified != doc.end())
                r.verified = verified->get<std::vector<std::uint64_t>>();
            r.already_there = doc.value("there", std::uint64_t{0});
        } else if (const auto done = doc.find("done"); done != doc.end()) {
            r.type = WorkerReport::Type::done;
            r.result_json = done->dump();
        } else {
            r.type = WorkerReport::Type::failed;
            r.error = doc.at("failed").get<std::string>();
            const auto kind = doc.find("kind");
            if (kind != doc.end()) {
                const auto known = failure_kind_from_string(kind->get<std::string>());
                if (!known) throw WorkerProtocolError("report with an unknown failure kind");
                r.failure = *known;
            }
        }
        return r;
    } catch (const json::exception&) {
        throw WorkerProtocolError("report without a valid job id, progress, done or failed");
    }
}

void append_job_file(std::string& out, std::size_t index, std::string_view path, std::uint64_t size,
                     const FileStamp* stamp) {
    out += out.back() == '[' ? R"({"i":)" : R"(,{"i":)";
    out += std::to_string(index);
    if (stamp) {
        out += R"(,"m":)" + std::to_string(stamp->mode);
        out += R"(,"mt":)" + std::to_string(stamp->mtime_ns);
    }
    out += R"(,"path":)";
    append_json_string(out, path);
    out += R"(,"size":)" + std::to_string(size) + '}';
}

std::vector<StreamFile> decode_transfer_job(std::string_view text, json& rest) {
    std::vector<StreamFile> files;
    if (detail::read_transfer_job_in_layout(text, files, rest)) return files;
    return detail::decode_transfer_job_with_json(text, rest);
}

bool detail::read_transfer_job_in_layout(std::string_view text, std::vector<StreamFile>& files,
                                         json& rest) {
    files.clear();
    std::size_t at = 0;
    if (skip_literal(text, at, R"({"files":[)")) {
        bool in_layout = true;
        if (!skip_literal(text, at, "]")) {
            for (;;) {
                if (!read_job_file(text, at, files.emplace_back())) {
                    in_layout = false;
                    break;
                }
                if (skip_literal(text, at, "]")) break;
                if (!skip_literal(text, at, ",")) {
                    in_layout = false;
                    break;
                }
            }
        }
        if (in_layout && text.substr(at) == "}") {
            rest = json::object();
            return true;
        }
        // The other members, after the list: a flat object of a few.
        if (in_layout && skip_literal(text, at, ",")) {
            std::string others = "{";
            others += text.substr(at);
            // At least one: json refuses a comma before the closing brace.
            if (auto flat = read_flat_object(others);
                flat && !flat->empty() && !flat->contains("files")) {
                rest = std::move(*flat);
                return true;
            }
        }
    }
    return false;
}

std::vector<StreamFile> detail::decode_transfer_job_with_json(std::string_view text, json& rest) {
    rest = parse_job_params(text);
    std::vector<StreamFile> files;
    for (const auto& f : rest.at("files")) {
        StreamFile file{f.at("i").get<std::size_t>(), f.at("path").get<std::string>(),
                        f.at("size").get<std::uint64_t>(), std::nullopt};
        if (f.contains("m"))
            file.stamp = FileStamp{f.at("m").get<std::uint32_t>(), f.at("mt").get<std::int64_t>()};
        files.push_back(std::move(file));
    }
    rest.erase("files");
    return files;
}

}  // namespace chat
