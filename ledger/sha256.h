// SHA-256 of a byte string: used for the event hash chain and for command
// content digests. A pure function (OpenSSL's libcrypto underneath).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace lf {

using Sha256 = std::array<std::uint8_t, 32>;

Sha256 sha256(std::string_view bytes);
// Lowercase hex, 64 characters.
std::string to_hex(const Sha256& digest);

}  // namespace lf
