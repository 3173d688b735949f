#pragma once
// Anti-replay for sealed datagrams: remembers which 64-bit counters of one
// session were accepted, over a sliding window behind the highest one, in the
// manner of RFC 6479 and wireguard-go's replay.Filter (a ring of machine
// words; moving ahead clears whole words, never bit by bit). Not thread-safe:
// the thread that opens a session's datagrams owns its window.
#include <array>
#include <cstdint>

namespace chat {

// WireGuard's bound: a session refuses counters from here on, so a sender
// rekeys long before its counter could wrap.
inline constexpr std::uint64_t kRejectAfterMessages =
    ~std::uint64_t{0} - (std::uint64_t{1} << 13);  // 2^64 - 2^13 - 1

class ReplayWindow {
    static constexpr unsigned kWordBitsLog = 6;  // 64-bit words
    static constexpr std::uint64_t kWordBits = std::uint64_t{1} << kWordBitsLog;
    static constexpr std::uint64_t kRingWords = 128;  // a power of two

public:
    // How far behind the highest accepted counter one is still judged; older
    // ones are refused. One word short of the ring, so the word the highest
    // counter is in never shares its place with the oldest judged one.
    static constexpr std::uint64_t kWindowSize = (kRingWords - 1) * kWordBits;

    explicit ReplayWindow(std::uint64_t reject_after = kRejectAfterMessages)
        : reject_after_(reject_after) {}

    // Would `counter` be accepted? Changes nothing: for a first look before
    // the AEAD is opened.
    bool check(std::uint64_t counter) const;
    // Checks and, if new, marks `counter` seen and slides the window ahead to
    // it. Call only once the datagram's AEAD verified, or a forger could move
    // the window and make the genuine datagrams look old.
    bool accept(std::uint64_t counter);

private:
    static std::uint64_t word_of(std::uint64_t counter) { return counter >> kWordBitsLog; }
    static std::uint64_t bit_of(std::uint64_t counter) {
        return std::uint64_t{1} << (counter & (kWordBits - 1));
    }
    static std::uint64_t place_of(std::uint64_t word) { return word & (kRingWords - 1); }

    std::uint64_t reject_after_;
    std::uint64_t highest_ = 0;  // highest counter accepted (0 before any)
    std::array<std::uint64_t, kRingWords> ring_{};
};

}  // namespace chat
