// Token micro-benchmarks, single-threaded: sign, verify, and the HMAC-SHA256 alone with a reused
// keyed EVP_MAC context (the floor under both). Run: ./build/dev/bench/token_bench
#include <benchmark/benchmark.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstdlib>
#include <string>

#include "ithaca/auth/token.hpp"

namespace ithaca::auth {
namespace {

constexpr int64_t kNow = 1'767'225'600;

TokenClaims bench_claims() {
  TokenClaims c;
  c.session_id = "ses_k3vq7x2mfa4ze5rbnh6t";
  c.account = "acc_5tq2mw7hx3kd";
  c.role = Role::player;
  c.audience = "ithaca";
  c.jti = "tok_p4n7rj2kz6wqxm3vb5ha";
  c.issued_at = kNow - 60;
  c.expires_at = kNow + 840;
  return c;
}

std::shared_ptr<const TokenKeyRing> bench_ring() {
  auto ring = TokenKeyRing::create({"ith-2026-01", std::string(32, 's')},
                                   {{"ith-2025-12", std::string(32, 'o')}});
  if (!ring.ok()) std::abort();
  return *ring;
}

void BM_Sign(benchmark::State& state) {
  const auto ring = bench_ring();
  const TokenClaims claims = bench_claims();
  for (auto _ : state) {
    std::string token = ring->sign(claims);
    benchmark::DoNotOptimize(token);
  }
  state.counters["ops/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Sign);

void BM_Verify(benchmark::State& state) {
  const auto ring = bench_ring();
  const std::string token = ring->sign(bench_claims());
  const VerifyRules rules{"ithaca", Role::player, 5};
  for (auto _ : state) {
    auto claims = ring->verify(token, rules, kNow);
    if (!claims.ok()) state.SkipWithError("verify failed");
    benchmark::DoNotOptimize(claims);
  }
  state.counters["ops/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Verify);

// A token whose signature fails: the cost an attacker can impose per request.
void BM_VerifyBadSignature(benchmark::State& state) {
  const auto ring = bench_ring();
  std::string token = ring->sign(bench_claims());
  token[token.size() - 2] = token[token.size() - 2] == 'A' ? 'B' : 'A';
  const VerifyRules rules{"ithaca", Role::player, 5};
  for (auto _ : state) {
    auto claims = ring->verify(token, rules, kNow);
    benchmark::DoNotOptimize(claims);
  }
  state.counters["ops/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_VerifyBadSignature);

// HMAC-SHA256 over a signing input of a typical token's length, re-initialising one keyed
// context per call as token.cpp does.
void BM_HmacOnly(benchmark::State& state) {
  const auto ring = bench_ring();
  const std::string token = ring->sign(bench_claims());
  const std::string input = token.substr(0, token.rfind('.'));
  const std::string secret(32, 's');
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(secret.data()), secret.size(),
                   params) != 1) {
    state.SkipWithError("EVP_MAC_init failed");
  }
  unsigned char out[32];
  for (auto _ : state) {
    size_t len = 0;
    EVP_MAC_init(ctx, nullptr, 0, nullptr);
    EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(input.data()), input.size());
    EVP_MAC_final(ctx, out, &len, sizeof out);
    benchmark::DoNotOptimize(out);
  }
  state.counters["ops/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["input_bytes"] = static_cast<double>(input.size());
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(mac);
}
BENCHMARK(BM_HmacOnly);

}  // namespace
}  // namespace ithaca::auth
