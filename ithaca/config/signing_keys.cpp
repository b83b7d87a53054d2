#include "ithaca/config/signing_keys.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "ithaca/base/encoding.hpp"
#include "ithaca/base/log.hpp"
#include "ithaca/base/random.hpp"

namespace ithaca::config {
namespace {

constexpr const char* kKeyFile = "signing.key";
constexpr const char* kStreamerSecretFile = "streamer.secret";

// The first line of <data_dir>/<name>, or, when the file does not exist, `generate()` written
// there (mode 0600) and returned.
Result<std::string> read_or_create_secret_file(const std::string& data_dir, const char* name,
                                               const char* what,
                                               const std::function<std::string()>& generate) {
  namespace fs = std::filesystem;
  const fs::path path = fs::path(data_dir) / name;
  std::error_code ec;
  if (fs::exists(path, ec)) {
    std::ifstream in(path);
    std::string spec;
    std::getline(in, spec);
    if (!in && spec.empty()) {
      return make_error(ErrorCode::config_invalid, "cannot read " + path.string());
    }
    return spec;
  }
  fs::create_directories(data_dir, ec);
  if (ec) return make_error(ErrorCode::config_invalid, "cannot create " + data_dir);
  const std::string spec = generate();
  // Write a temporary file with 0600 from the start, then rename: never a readable secret.
  const fs::path tmp = path.string() + ".tmp";
  {
    const mode_t old = umask(077);
    std::ofstream out(tmp, std::ios::trunc);
    umask(old);
    out << spec << '\n';
    if (!out) return make_error(ErrorCode::config_invalid, "cannot write " + tmp.string());
  }
  fs::permissions(tmp, fs::perms::owner_read | fs::perms::owner_write, ec);
  fs::rename(tmp, path, ec);
  if (ec) return make_error(ErrorCode::config_invalid, "cannot write " + path.string());
  logger("config")->info("generated {} file={}", what, path.string());
  return spec;
}

Result<std::string> read_or_create_key_file(const std::string& data_dir) {
  return read_or_create_secret_file(data_dir, kKeyFile, "token signing key", [] {
    return "local-" + random_id("").substr(0, 8) + ":" + random_token(32);
  });
}

}  // namespace

Result<auth::HmacKey> parse_key_spec(const std::string& spec, const std::string& where) {
  const auto colon = spec.find(':');
  if (colon == std::string::npos || colon == 0) {
    return make_error(ErrorCode::config_invalid, where + ": expected KID:SECRET_BASE64URL");
  }
  auto secret = base64url_decode(spec.substr(colon + 1));
  if (!secret) {
    return make_error(ErrorCode::config_invalid, where + ": the secret is not base64url");
  }
  return auth::HmacKey{spec.substr(0, colon), std::move(*secret)};
}

Result<std::shared_ptr<const auth::TokenKeyRing>> load_key_ring(const Config& config) {
  std::string spec = config.signing_key;
  std::string where = "tokens.signing_key";
  if (spec.empty()) {
    auto from_file = read_or_create_key_file(config.data_dir);
    if (!from_file) return std::move(from_file).error();
    spec = *from_file;
    where = config.data_dir + "/" + kKeyFile;
  }
  auto signing = parse_key_spec(spec, where);
  if (!signing) return std::move(signing).error();
  std::vector<auth::HmacKey> older;
  for (const auto& v : config.verification_keys) {
    auto key = parse_key_spec(v, "tokens.verification_keys");
    if (!key) return std::move(key).error();
    older.push_back(std::move(*key));
  }
  auto ring = auth::TokenKeyRing::create(std::move(*signing), std::move(older));
  if (!ring) {
    return make_error(ErrorCode::config_invalid, where + ": " + ring.error().detail);
  }
  return ring;
}

Result<std::string> load_streamer_secret(const Config& config) {
  if (!config.streamer_secret.empty()) {
    if (config.streamer_secret.size() < 16) {
      return make_error(ErrorCode::config_invalid,
                        "streaming.streamer_secret: at least 16 characters");
    }
    return config.streamer_secret;
  }
  auto secret = read_or_create_secret_file(config.data_dir, kStreamerSecretFile, "streamer secret",
                                           [] { return random_token(32); });
  if (!secret) return secret;
  if (secret->size() < 16) {
    return make_error(ErrorCode::config_invalid,
                      config.data_dir + "/" + kStreamerSecretFile + ": at least 16 characters");
  }
  return secret;
}

}  // namespace ithaca::config
