// blocking: the cache sizes the machine reports, and the blocks of the
// matrix multiply (gemm.hpp) sized from them.
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>

#include "gemm.hpp"

namespace allconv {

namespace {

// The size in bytes of one level of cache as Linux reports it ("1024K"), or 0.
std::size_t sysfs_cache_bytes(int level) {
    for (int index = 0; index < 8; ++index) {
        const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/";
        std::ifstream lv(dir + "level"), type(dir + "type"), size(dir + "size");
        int l = 0;
        std::string t, s;
        if (!(lv >> l) || !(type >> t) || !(size >> s)) continue;
        if (l != level || t == "Instruction") continue;
        const std::size_t v = std::size_t(std::strtoul(s.c_str(), nullptr, 10));
        return s.back() == 'K' ? v << 10 : s.back() == 'M' ? v << 20 : v;
    }
    return 0;
}

} // namespace

std::size_t l2_cache_bytes() {
    static const std::size_t l2 = [] {
        const std::size_t v = sysfs_cache_bytes(2);
        return v >= (std::size_t(128) << 10) && v <= (std::size_t(64) << 20) ? v : std::size_t(1) << 20;
    }();
    return l2;
}

Blocking blocking() {
    // A block of mc rows x KC in half of L2 (the other half for the B strips
    // streaming through and the C tile); nc columns of B per task.
    static const Blocking b = [] {
        const std::size_t half = l2_cache_bytes() / 2;
        const int mc = int(std::clamp<std::size_t>(half / (KC * sizeof(float)) / 48 * 48, 48, 960));
        return Blocking{mc, 256};
    }();
    return b;
}

} // namespace allconv
