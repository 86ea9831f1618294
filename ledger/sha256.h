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

// SHA-256 of bytes fed in pieces: update(a); update(b) == sha256(a + b).
// Thread-safety: none; one object per running digest.
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;

  void update(std::string_view bytes);
  // The digest of everything fed so far; the hasher starts over afterwards.
  Sha256 finish();

 private:
  void* context_;  // EVP_MD_CTX, kept out of this header.
};
// Lowercase hex, 64 characters.
std::string to_hex(const Sha256& digest);

}  // namespace lf
