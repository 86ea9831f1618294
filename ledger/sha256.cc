#include "ledger/sha256.h"

#include <openssl/evp.h>

#include "ledger/assert.h"

namespace lf {

namespace {

// Fetched once: EVP_MD_fetch is not free and the algorithm never changes.
const EVP_MD* sha256_md() {
  static const EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  LF_ASSERT(md != nullptr);
  return md;
}

}  // namespace

Sha256 sha256(std::string_view bytes) {
  Sha256 digest{};
  unsigned int length = 0;
  const int ok =
      EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, sha256_md(), nullptr);
  LF_ASSERT(ok == 1);
  LF_ASSERT(length == digest.size());
  return digest;
}

Sha256Hasher::Sha256Hasher() : context_(EVP_MD_CTX_new()) {
  LF_ASSERT(context_ != nullptr);
  const int ok = EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(context_), sha256_md(), nullptr);
  LF_ASSERT(ok == 1);
}

Sha256Hasher::~Sha256Hasher() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(context_)); }

void Sha256Hasher::update(std::string_view bytes) {
  const int ok = EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(context_), bytes.data(), bytes.size());
  LF_ASSERT(ok == 1);
}

Sha256 Sha256Hasher::finish() {
  Sha256 digest{};
  unsigned int length = 0;
  auto* context = static_cast<EVP_MD_CTX*>(context_);
  const int final_ok = EVP_DigestFinal_ex(context, digest.data(), &length);
  LF_ASSERT(final_ok == 1);
  LF_ASSERT(length == digest.size());
  const int init_ok = EVP_DigestInit_ex(context, sha256_md(), nullptr);
  LF_ASSERT(init_ok == 1);
  return digest;
}

std::string to_hex(const Sha256& digest) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(digest.size() * 2);
  for (std::uint8_t byte : digest) {
    hex.push_back(digits[byte >> 4]);
    hex.push_back(digits[byte & 0xf]);
  }
  return hex;
}

}  // namespace lf
