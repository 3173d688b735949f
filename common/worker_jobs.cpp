#include "worker_jobs.hpp"

#include <nlohmann/json.hpp>

#include "text.hpp"

namespace chat {
namespace {

using nlohmann::json;

// `{"files":[...]` in append_job_file's layout; the caller closes the object.
std::string files_member(const std::vector<StreamFile>& files) {
    std::string out = R"({"files":[)";
    for (const StreamFile& f : files)
        append_job_file(out, f.index, f.path, f.size, f.stamp ? &*f.stamp : nullptr);
    return out + ']';
}

}  // namespace

std::string encode_send_job(const SendJobParams& p) {
    std::string out = files_member(p.files);
    out += R"(,"host":)";
    append_json_string(out, p.host);
    out += R"(,"max_rate":)" + std::to_string(p.max_rate);
    out += R"(,"port":)" + std::to_string(p.port);
    out += R"(,"timeout":)" + std::to_string(p.timeout_seconds) + R"(,"token":)";
    append_json_string(out, p.token);
    out += R"(,"transfer":)";
    append_json_string(out, p.transfer);
    return out + '}';
}

std::string encode_receive_job(const ReceiveJobParams& p) {
    return files_member(p.files) + R"(,"fresh":)" + (p.fresh ? "true" : "false") +
           R"(,"timeout":)" + std::to_string(p.timeout_seconds) + '}';
}

SendJobParams decode_send_job(std::string_view params_json) {
    json rest;
    SendJobParams p;
    p.files = decode_transfer_job(params_json, rest);
    p.host = rest.at("host").get<std::string>();
    p.port = rest.at("port").get<std::uint16_t>();
    p.transfer = rest.at("transfer").get<std::string>();
    p.token = rest.at("token").get<std::string>();
    p.timeout_seconds = rest.value("timeout", 30);
    p.max_rate = rest.value("max_rate", std::uint64_t{0});
    return p;
}

ReceiveJobParams decode_receive_job(std::string_view params_json) {
    json rest;
    ReceiveJobParams p;
    p.files = decode_transfer_job(params_json, rest);
    p.timeout_seconds = rest.value("timeout", 30);
    p.fresh = rest.value("fresh", false);
    return p;
}

std::string encode_send_result(const SendJobResult& result) {
    return json{{"wire_bytes", result.wire_bytes}}.dump();
}

std::string encode_receive_result(const ReceiveJobResult& result) {
    return json{{"verified", result.verified}}.dump();
}

SendJobResult decode_send_result(std::string_view result_json) {
    const json parsed = json::parse(result_json, nullptr, false);
    if (!parsed.is_object()) return {};
    return {parsed.value("wire_bytes", std::uint64_t{0})};
}

ReceiveJobResult decode_receive_result(std::string_view result_json) {
    const json parsed = json::parse(result_json);
    ReceiveJobResult result;
    for (const auto& i : parsed.at("verified")) result.verified.push_back(i.get<std::size_t>());
    return result;
}

}  // namespace chat
