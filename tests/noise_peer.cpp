// Test program: one Noise role over stdin/stdout, so that an independent
// implementation (tests/integration/test_noise_interop.py, dissononce) can
// run the other role against crypto/noise.
//   noise_peer --pattern xx|ik --role initiator|responder --static HEX
//              [--ephemeral HEX] [--remote-static HEX] [--prologue HEX]
// Commands on stdin, one a line, each answered by one line on stdout:
//   write [HEX]  -> "msg HEX": the next handshake message carrying payload
//                   HEX, or once the handshake is over a transport message
//   read HEX     -> "payload HEX": the payload of the peer's next message
//   hash         -> "hash HEX": the handshake hash
//   remote       -> "remote HEX": the peer's static key
// Any failure prints "error TEXT" and exits 1.
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>

#include "noise.hpp"

using namespace chat::crypto;

namespace {

std::string to_hex(ByteView bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (std::uint8_t b : bytes) {
        out += kDigits[b >> 4];
        out += kDigits[b & 0xf];
    }
    return out;
}

Bytes from_hex(const std::string& hex) {
    if (hex.size() % 2 != 0) throw std::runtime_error("odd-length hex");
    Bytes out;
    for (std::size_t i = 0; i < hex.size(); i += 2)
        out.push_back(static_cast<std::uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return out;
}

Key key_from_hex(const std::string& hex) {
    const Bytes bytes = from_hex(hex);
    if (bytes.size() != kKeyLen) throw std::runtime_error("a key is 32 bytes");
    Key key;
    std::copy(bytes.begin(), bytes.end(), key.begin());
    return key;
}

HandshakeConfig parse_args(int argc, char** argv) {
    std::map<std::string, std::string> options;
    for (int i = 1; i + 1 < argc; i += 2) options[argv[i]] = argv[i + 1];
    HandshakeConfig config;
    config.pattern = options["--pattern"] == "ik" ? Pattern::ik : Pattern::xx;
    config.role = options["--role"] == "responder" ? Role::responder : Role::initiator;
    config.local_static = KeyPair::from_private(key_from_hex(options["--static"]));
    if (options.count("--ephemeral"))
        config.fixed_ephemeral = KeyPair::from_private(key_from_hex(options["--ephemeral"]));
    if (options.count("--remote-static"))
        config.remote_static = key_from_hex(options["--remote-static"]);
    config.prologue = from_hex(options["--prologue"]);
    return config;
}

// Runs the commands until end of input.
void serve(HandshakeState& handshake) {
    std::optional<Transport> transport;
    std::string line;
    while (std::getline(std::cin, line)) {
        const std::string command = line.substr(0, line.find(' '));
        const std::string argument =
            line.size() > command.size() ? line.substr(command.size() + 1) : "";
        if (!transport && handshake.finished()) transport = handshake.take_transport();
        if (command == "write") {
            const Bytes payload = from_hex(argument);
            const Bytes message = transport ? transport->send.encrypt_with_ad({}, payload)
                                            : handshake.write_message(payload);
            std::cout << "msg " << to_hex(message) << std::endl;
        } else if (command == "read") {
            const Bytes message = from_hex(argument);
            const Bytes payload = transport ? transport->receive.decrypt_with_ad({}, message)
                                            : handshake.read_message(message);
            std::cout << "payload " << to_hex(payload) << std::endl;
        } else if (command == "hash") {
            std::cout << "hash " << to_hex(handshake.handshake_hash()) << std::endl;
        } else if (command == "remote" && transport) {
            std::cout << "remote " << to_hex(transport->remote_static) << std::endl;
        } else {
            throw std::runtime_error("unknown command or handshake not over: " + line);
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    try {
        HandshakeState handshake(parse_args(argc, argv));
        serve(handshake);
    } catch (const std::exception& error) {
        std::cout << "error " << error.what() << std::endl;
        return 1;
    }
    return 0;
}
