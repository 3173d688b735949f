#pragma once
// Whether a user could search or write into a directory, from its owner,
// group and mode bits and the user's ids: the kernel's classic check
// (POSIX ACLs are not consulted). chatd asks it for the user behind a
// control request, so it never writes where that user could not.
#include <sys/types.h>

#include <vector>

namespace chat {

struct UserIds {
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;  // supplementary
};

struct DirOwnership {
    uid_t owner = 0;
    gid_t group = 0;
    mode_t mode = 0;
};

// Ids that stand for "someone outside our user namespace" (the kernel's
// overflow ids, 65534, under systemd's PrivateUsers=): two of them may be
// different people, so a match on them needs the bits for others too.
struct UnknownIds {
    uid_t uid = 65534;
    gid_t gid = 65534;
};

enum class DirAccess {
    search,            // x: may look up names in it
    write_and_search,  // wx: may create names in it
};

bool may_access(const UserIds& who, const DirOwnership& dir, DirAccess want,
                const UnknownIds& unknown = {});

}  // namespace chat
