// KvPagePool in each KV dtype: bytes per token and per pool equal the theoretical 2 * L * kv_heads *
// head_dim * bytes(dtype); rows are rounded once when stored and read back through KvPagesView as stored.
#include <cstring>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/float_formats.h"
#include "model/config.h"
#include "model/kv_cache.h"

namespace glm {
namespace {

TEST(KvPagePool, BytesPerTokenAreTheoretical) {
  const ModelConfig c = load_model_config(std::string(GLM_FIXTURES_DIR) + "/glm45-tiny");
  const int64_t L = c.num_hidden_layers, kv_heads = c.num_key_value_heads, hd = c.head_dim;
  for (auto [t, bytes] : {std::pair{KvDType::F32, 4}, std::pair{KvDType::BF16, 2}, std::pair{KvDType::FP8_E4M3, 1},
                         std::pair{KvDType::FP8_E5M2, 1}}) {
    SCOPED_TRACE(std::string(kv_dtype_name(t)));
    const int64_t theory = 2 * L * kv_heads * hd * bytes;
    EXPECT_EQ(KvPagePool::bytes_per_token(L, c.kv_dim(), t), theory);
    KvPagePool pool(L, c.kv_dim(), 16, 10, t);
    EXPECT_EQ(pool.bytes(), size_t(10 * 16 * theory));
    EXPECT_EQ(pool.page_bytes(), size_t(16 * theory));
  }
}

TEST(KvPagePool, StoreRoundsOnceAndTheViewReadsIt) {
  const int64_t L = 2, kvd = 48, ps = 4;
  std::mt19937 g(3);
  std::normal_distribution<float> d(0.0f, 4.0f);
  for (KvDType t : {KvDType::F32, KvDType::BF16, KvDType::FP8_E4M3, KvDType::FP8_E5M2}) {
    KvPagePool pool(L, kvd, ps, 8, t);
    KvSequence seq;
    seq.reserve(pool, 11);
    std::vector<float> k(kvd), v(kvd), got(kvd), want(kvd);
    for (int64_t p = 0; p < 11; ++p) {
      for (auto& x : k) x = d(g);
      for (auto& x : v) x = d(g);
      seq.store(pool, 1, p, k.data(), v.data());
      const KvPagesView view = seq.view(pool, 1);
      EXPECT_EQ(view.dtype, t);
      for (int kv = 0; kv < 2; ++kv) {
        const std::vector<float>& src = kv ? v : k;
        kv_load_row(t, kv ? view.v_row(p) : view.k_row(p), got.data(), kvd);
        std::vector<uint8_t> rounded(size_t(kvd * kv_dtype_bytes(t)));
        kv_store_row(t, src.data(), rounded.data(), kvd);
        kv_load_row(t, rounded.data(), want.data(), kvd);
        EXPECT_EQ(0, std::memcmp(got.data(), want.data(), size_t(kvd) * 4)) << kv_dtype_name(t) << " pos " << p;
      }
    }
    seq.release(pool);
    EXPECT_EQ(pool.free_pages(), 8);
  }
}

}  // namespace
}  // namespace glm
