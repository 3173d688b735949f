#include "dir_access.hpp"

#include <algorithm>

namespace chat {

bool may_access(const UserIds& who, const DirOwnership& dir, DirAccess want,
                const UnknownIds& unknown) {
    // Root passes any permission check on a directory (CAP_DAC_OVERRIDE).
    if (who.uid == 0) return true;
    const unsigned need = want == DirAccess::search ? 01u : 03u;  // x, or w and x
    const auto allows = [need](unsigned bits) { return (bits & need) == need; };
    const unsigned owner_bits = (dir.mode >> 6) & 07u;
    const unsigned group_bits = (dir.mode >> 3) & 07u;
    const unsigned other_bits = dir.mode & 07u;
    // As the kernel does: the first class that matches decides, even when
    // a later one would allow more.
    if (who.uid == dir.owner) {
        return allows(owner_bits) && (who.uid != unknown.uid || allows(other_bits));
    }
    const bool in_group = who.gid == dir.group || std::find(who.groups.begin(), who.groups.end(),
                                                            dir.group) != who.groups.end();
    if (in_group) {
        return allows(group_bits) && (dir.group != unknown.gid || allows(other_bits));
    }
    return allows(other_bits);
}

}  // namespace chat
