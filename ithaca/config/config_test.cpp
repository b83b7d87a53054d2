#include "ithaca/config/config.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "ithaca/config/signing_keys.hpp"

namespace ithaca::config {
namespace {

const std::string kSample = std::string(ITHACA_SOURCE_DIR) + "/config/ithaca.sample.toml";

TEST(Config, SampleLoadsAndEqualsTheDefaults) {
  Config c;
  ASSERT_TRUE(apply_file(c, kSample).ok());
  const Config defaults;
  EXPECT_EQ(c.listen, defaults.listen);
  EXPECT_EQ(c.ttl_seconds, 600);
  EXPECT_EQ(c.idle_timeout_seconds, 900);
  EXPECT_TRUE(validate(c).ok());
}

TEST(Config, SampleDocumentsEveryKey) {
  std::ifstream in(kSample);
  std::stringstream text;
  text << in.rdbuf();
  std::string section;
  for (const auto& key : known_keys()) {
    const auto dot = key.find('.');
    EXPECT_NE(text.str().find("[" + key.substr(0, dot) + "]"), std::string::npos) << key;
    EXPECT_NE(text.str().find("\n" + key.substr(dot + 1) + " = "), std::string::npos) << key;
  }
}

TEST(Config, UnknownKeysAreErrorsNamingTheKey) {
  Config c;
  auto s = apply_toml(c, "[sessions]\nidle_timeout_secs = 5\n", "f.toml");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::config_invalid);
  EXPECT_NE(s.error().detail.find("sessions.idle_timeout_secs"), std::string::npos);
  EXPECT_FALSE(apply_toml(c, "[nonsense]\nx = 1\n", "f.toml").ok());
  EXPECT_FALSE(apply_toml(c, "listen = \"x\"\n", "f.toml").ok());  // top-level key
}

TEST(Config, WrongTypesAndSyntaxAreErrors) {
  Config c;
  EXPECT_FALSE(apply_toml(c, "[server]\nio_threads = \"many\"\n", "f").ok());
  EXPECT_FALSE(apply_toml(c, "[server]\ndev = 1\n", "f").ok());
  auto s = apply_toml(c, "[server\n", "f");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().detail.find("line"), std::string::npos);
}

TEST(Config, LayersApplyInOrder) {
  Config c;
  ASSERT_TRUE(apply_toml(c, "[server]\nlisten = \"0.0.0.0:9000\"\nio_threads = 8\n", "f").ok());
  ASSERT_TRUE(apply_env(c, {{"ITHACA_SERVER_IO_THREADS", "12"},
                            {"ITHACA_TOKENS_VERIFICATION_KEYS", "a:x,b:y"},
                            {"ITHACA_SESSIONS_MINT_RATE_PER_SECOND", "2.5"},
                            {"ITHACA_API_KEY", "belongs to the SDK"},
                            {"PATH", "/bin"}})
                  .ok());
  EXPECT_EQ(c.listen, "0.0.0.0:9000");  // from the file
  EXPECT_EQ(c.io_threads, 12);          // env over file
  EXPECT_EQ(c.verification_keys, (std::vector<std::string>{"a:x", "b:y"}));
  EXPECT_DOUBLE_EQ(c.mint_rate_per_second, 2.5);
}

TEST(Config, UnknownOrBadEnvironmentOfAKnownSectionIsAnError) {
  Config c;
  auto s = apply_env(c, {{"ITHACA_SERVER_LISTN", "x"}});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().detail.find("ITHACA_SERVER_LISTN"), std::string::npos);
  EXPECT_FALSE(apply_env(c, {{"ITHACA_SERVER_IO_THREADS", "12x"}}).ok());
  EXPECT_FALSE(apply_env(c, {{"ITHACA_SERVER_DEV", "yes"}}).ok());
}

TEST(Config, ValidateChecksRanges) {
  Config c;
  c.listen = "nohostport";
  EXPECT_FALSE(validate(c).ok());
  c = Config{};
  c.listen = "127.0.0.1:99999";
  EXPECT_FALSE(validate(c).ok());
  c = Config{};
  c.ttl_seconds = 0;
  EXPECT_FALSE(validate(c).ok());
  c = Config{};
  c.public_url = "ftp://x";
  EXPECT_FALSE(validate(c).ok());
  EXPECT_EQ(parse_host_port("[::1]:80")->host, "::1");
}

TEST(Config, StreamIdleTimeoutDefaultsTo40AndToOffWithDevUnlessSet) {
  Config c;
  EXPECT_EQ(stream_idle_timeout(c), 40);
  c.dev = true;
  EXPECT_EQ(stream_idle_timeout(c), 0);
  ASSERT_TRUE(apply_toml(c, "[streaming]\nidle_timeout_seconds = 25\n", "f").ok());
  EXPECT_EQ(stream_idle_timeout(c), 25);  // the file wins over --dev
  ASSERT_TRUE(apply_env(c, {{"ITHACA_STREAMING_IDLE_TIMEOUT_SECONDS", "0"}}).ok());
  EXPECT_EQ(stream_idle_timeout(c), 0);
  EXPECT_EQ(c.idle_timeout_seconds, 900);  // sessions.idle_timeout_seconds is another key
  EXPECT_TRUE(validate(c).ok());
  c.stream_idle_timeout_seconds = -5;
  EXPECT_FALSE(validate(c).ok());
}

TEST(Config, DefaultModel) {
  Config c;
  EXPECT_EQ(c.default_model, "");
  ASSERT_TRUE(apply_toml(c, "[streaming]\ndefault_model = \"my-world\"\n", "f").ok());
  EXPECT_EQ(c.default_model, "my-world");
  EXPECT_TRUE(validate(c).ok());
  c.default_model = std::string(65, 'x');
  EXPECT_FALSE(validate(c).ok());
}

TEST(SigningKeys, GeneratedOnceWithMode0600AndReused) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("ithaca-keys-" + std::to_string(getpid()));
  fs::remove_all(dir);
  Config c;
  c.data_dir = dir.string();
  auto first = load_key_ring(c);
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  struct stat st {};
  ASSERT_EQ(stat((dir / "signing.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  auto second = load_key_ring(c);
  ASSERT_TRUE(second.ok());
  auth::TokenClaims claims{"ses_1", "acme", auth::Role::player, "ithaca", "j", "", 100, 700};
  const auto token = (*first)->sign(claims);
  EXPECT_TRUE((*second)->verify(token, {"ithaca", auth::Role::player, 0}, 200).ok());
  fs::remove_all(dir);
}

TEST(SigningKeys, ConfiguredKeysAndRotation) {
  Config old_cfg;
  old_cfg.signing_key = "old:" + std::string(43, 'A');
  auto old_ring = load_key_ring(old_cfg);
  ASSERT_TRUE(old_ring.ok()) << old_ring.error().to_string();
  Config new_cfg;
  new_cfg.signing_key = "new:" + std::string(42, 'B') + "A";
  new_cfg.verification_keys = {old_cfg.signing_key};
  auto new_ring = load_key_ring(new_cfg);
  ASSERT_TRUE(new_ring.ok());
  auth::TokenClaims claims{"ses_1", "acme", auth::Role::player, "ithaca", "j", "", 100, 700};
  EXPECT_TRUE((*new_ring)->verify((*old_ring)->sign(claims), {"ithaca"}, 200).ok());
  Config bad;
  bad.signing_key = "short:AAAA";
  EXPECT_EQ(load_key_ring(bad).error().code, ErrorCode::config_invalid);
  bad.signing_key = "nocolon";
  EXPECT_EQ(load_key_ring(bad).error().code, ErrorCode::config_invalid);
}

TEST(Config, ClusterKeysFromTheEnvironmentAndTheirRanges) {
  Config c;
  ASSERT_TRUE(apply_env(c, {{"ITHACA_CLUSTER_NODE_ID", "node-a_1"},
                            {"ITHACA_CLUSTER_LEASE_MS", "3000"},
                            {"ITHACA_SERVER_STORE", "redis://10.0.0.5:6379/2"}})
                  .ok());
  EXPECT_EQ(c.node_id, "node-a_1");
  EXPECT_EQ(c.lease_ms, 3000);
  EXPECT_EQ(c.store, "redis://10.0.0.5:6379/2");
  EXPECT_TRUE(validate(c).ok());
  EXPECT_EQ(Config{}.lease_ms, 9000);  // at most 15 s by default, as the issue asks
  for (int64_t bad : {0, 499, 60001}) {
    Config b;
    b.lease_ms = bad;
    EXPECT_EQ(validate(b).error().code, ErrorCode::config_invalid) << bad;
  }
  for (const std::string& bad :
       {std::string("has space"), std::string("slash/"), std::string(65, 'a')}) {
    Config b;
    b.node_id = bad;
    EXPECT_EQ(validate(b).error().code, ErrorCode::config_invalid) << bad;
  }
}

}  // namespace
}  // namespace ithaca::config
