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

// One thread's contexts for sha256(): EVP_Digest() allocates, initialises
// and frees a context (and the provider's state) on every call, 40 to 60 ns
// on top of the 120 to 300 ns that hashing an event or a command takes.
// Copying a context initialised once is cheaper than initialising one.
class ThreadContexts {
 public:
  ThreadContexts() : initialised_(EVP_MD_CTX_new()), working_(EVP_MD_CTX_new()) {
    LF_ASSERT(initialised_ != nullptr && working_ != nullptr);
    const int ok = EVP_DigestInit_ex2(initialised_, sha256_md(), nullptr);
    LF_ASSERT(ok == 1);
  }
  ~ThreadContexts() {
    EVP_MD_CTX_free(working_);
    EVP_MD_CTX_free(initialised_);
  }
  ThreadContexts(const ThreadContexts&) = delete;
  ThreadContexts& operator=(const ThreadContexts&) = delete;

  Sha256 digest(std::string_view bytes) {
    Sha256 digest{};
    unsigned int length = 0;
    const int copied = EVP_MD_CTX_copy_ex(working_, initialised_);
    const int updated = EVP_DigestUpdate(working_, bytes.data(), bytes.size());
    const int finished = EVP_DigestFinal_ex(working_, digest.data(), &length);
    LF_ASSERT(copied == 1 && updated == 1 && finished == 1);
    LF_ASSERT(length == digest.size());
    return digest;
  }

 private:
  EVP_MD_CTX* initialised_;
  EVP_MD_CTX* working_;
};

}  // namespace

Sha256 sha256(std::string_view bytes) {
  thread_local ThreadContexts contexts;
  return contexts.digest(bytes);
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
