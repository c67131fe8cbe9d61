// Launch flags: SGLang's names, aliases and defaults; every mistake is GlmError(InvalidArgument).
#include <gtest/gtest.h>

#include <algorithm>

#include "core/error.h"
#include "serving/server_args.h"

using glm::serving::ServerArgs;
using glm::serving::ServerArgsParser;

namespace {

ServerArgs parse(std::vector<std::string> argv) {
  CLI::App app{"test"};
  ServerArgsParser p;
  p.register_flags(app);
  std::reverse(argv.begin(), argv.end());
  app.parse(argv);
  return p.finish(app);
}

std::string error_of(std::vector<std::string> argv) {
  try {
    parse(std::move(argv));
  } catch (const glm::GlmError& e) {
    EXPECT_EQ(e.kind(), glm::ErrorKind::InvalidArgument);
    return e.what();
  }
  return "";
}

}  // namespace

TEST(ServerArgs, DefaultsMatchSglang) {
  ServerArgs a = parse({"--model-path", "/m"});
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 30000);
  EXPECT_EQ(a.tokenizer_path, "/m");
  EXPECT_EQ(a.served_model_name, "/m");
  EXPECT_EQ(a.tp_size, 1);
  EXPECT_EQ(a.page_size, 1);
  EXPECT_EQ(a.max_prefill_tokens, 16384);
  EXPECT_EQ(a.kv_cache_dtype, "auto");
  EXPECT_EQ(a.schedule_policy, "fcfs");
  EXPECT_FALSE(a.api_key.has_value());
  EXPECT_FALSE(a.context_length.has_value());
  EXPECT_FALSE(a.enable_metrics);
  EXPECT_DOUBLE_EQ(a.speculative_accept_threshold_single, 1.0);
}

TEST(ServerArgs, AliasesAndValues) {
  ServerArgs a = parse({"--model", "/m", "--tp", "2", "--port", "31000", "--tool-call-parser", "glm47",
                        "--reasoning-parser", "glm45", "--speculative-algorithm", "NEXTN",
                        "--speculative-num-steps", "3", "--speculative-eagle-topk", "1",
                        "--speculative-num-draft-tokens", "4", "--mem-fraction-static", "0.7",
                        "--kv-cache-dtype", "fp8_e4m3", "--enable-metrics", "--enable-cache-report",
                        "--api-key", "k", "--served-model-name", "glm", "--chunked-prefill-size", "-1"});
  EXPECT_EQ(a.model_path, "/m");
  EXPECT_EQ(a.tp_size, 2);
  EXPECT_EQ(a.port, 31000);
  EXPECT_EQ(*a.tool_call_parser, "glm47");
  EXPECT_EQ(*a.speculative_algorithm, "EAGLE");  // NEXTN is SGLang's alias
  EXPECT_EQ(*a.speculative_num_draft_tokens, 4);
  EXPECT_DOUBLE_EQ(*a.mem_fraction_static, 0.7);
  EXPECT_EQ(a.kv_cache_dtype, "fp8_e4m3");
  EXPECT_TRUE(a.enable_metrics && a.enable_cache_report);
  EXPECT_EQ(*a.api_key, "k");
  EXPECT_EQ(a.served_model_name, "glm");
  EXPECT_EQ(*a.chunked_prefill_size, -1);
  EXPECT_EQ(a.to_json()["api_key"], "<redacted>");
  EXPECT_EQ(a.to_json()["tp_size"], 2);
}

TEST(ServerArgs, GpuOnlyFlagsAreAcceptedAndNoted) {
  ServerArgs a = parse({"--model-path", "/m", "--disable-cuda-graph", "--cuda-graph-max-bs", "8",
                        "--attention-backend", "flashinfer"});
  EXPECT_EQ(a.ignored_gpu_flags.size(), 3u);
}

TEST(ServerArgs, OtherSglangFlagsAreAcceptedWithANoticeSayingWhy) {
  ServerArgs a = parse({"--model-path", "/m", "--watchdog-timeout", "300", "--skip-server-warmup", "--random-seed", "7"});
  ASSERT_EQ(a.notices.size(), 3u);
  for (const std::string flag : {"--watchdog-timeout", "--skip-server-warmup", "--random-seed"}) {
    const bool noted = std::any_of(a.notices.begin(), a.notices.end(), [&](const std::string& n) {
      return n.rfind(flag + ": accepted, no effect in glmserve (", 0) == 0;
    });
    EXPECT_TRUE(noted) << flag;
  }
  EXPECT_TRUE(parse({"--model-path", "/m"}).notices.empty());
}

// FR-Spec's token map: a local file (SGLang would download a repo path), used with speculation; without it
// the flag is dropped with a notice saying why.
TEST(ServerArgs, SpeculativeTokenMapIsALocalFileUsedWithSpeculation) {
  const std::string map = std::string(GLM_SOURCE_DIR) + "/tests/unit/model/data/torch_files/int64_tensor.pt";
  ServerArgs a = parse({"--model-path", "/m", "--speculative-algorithm", "EAGLE", "--speculative-token-map", map});
  ASSERT_TRUE(a.speculative_token_map);
  EXPECT_EQ(*a.speculative_token_map, map);
  EXPECT_TRUE(a.notices.empty());
  a = parse({"--model-path", "/m", "--speculative-token-map", map});
  EXPECT_FALSE(a.speculative_token_map);
  ASSERT_EQ(a.notices.size(), 1u);
  EXPECT_NE(a.notices[0].find("without --speculative-algorithm"), std::string::npos);
  a = parse({"--model-path", "/m", "--speculative-algorithm", "EAGLE", "--tp", "2", "--speculative-token-map", map});
  EXPECT_TRUE(a.speculative_token_map);  // rank 0 sends it to the others (model/tp_link.h)
  EXPECT_NE(error_of({"--model-path", "/m", "--speculative-algorithm", "EAGLE", "--speculative-token-map",
                      "thunlp/LLaMA3-Instruct-8B-FR-Spec/freq_32768.pt"})
                .find("--speculative-token-map thunlp/LLaMA3-Instruct-8B-FR-Spec/freq_32768.pt: no such file"),
            std::string::npos);
}

TEST(ServerArgs, MistakesNameTheFlag) {
  EXPECT_NE(error_of({"--model-path", "/m", "--port", "abc"}).find("--port"), std::string::npos);
  EXPECT_NE(error_of({"--model-path", "/m", "--port", "70000"}).find("--port"), std::string::npos);
  EXPECT_NE(error_of({"--model-path", "/m", "--tp-size", "0"}).find("--tp-size"), std::string::npos);
  EXPECT_NE(error_of({"--model-path", "/m", "--tool-call-parser", "qwen"}).find("--tool-call-parser"),
            std::string::npos);
  EXPECT_NE(error_of({"--model-path", "/m", "--kv-cache-dtype", "int4"}).find("--kv-cache-dtype"),
            std::string::npos);
  EXPECT_NE(error_of({"--model-path", "/m", "--mem-fraction-static", "1.5"}).find("--mem-fraction-static"),
            std::string::npos);
  EXPECT_NE(error_of({"--model-path", "/m", "--no-such-flag"}).find("--no-such-flag"), std::string::npos);
  EXPECT_NE(error_of({"--port", "1"}).find("--model-path"), std::string::npos);
  EXPECT_NE(error_of({"--model-path", "/m", "--nnodes", "2", "--node-rank", "2"}).find("--node-rank"),
            std::string::npos);
}

TEST(ServerArgs, SpeculativeFlagsResolveAsSglang) {
  // None of the three: SGLang's auto choice for GLM.
  ServerArgs a = parse({"--model-path", "/m", "--speculative-algorithm", "NEXTN"});
  EXPECT_EQ(*a.speculative_algorithm, "EAGLE");
  EXPECT_EQ(*a.speculative_num_steps, 3);
  EXPECT_EQ(*a.speculative_eagle_topk, 1);
  EXPECT_EQ(*a.speculative_num_draft_tokens, 4);
  EXPECT_EQ(*a.speculative_draft_model_path, "/m");  // the target's own MTP layer
  EXPECT_FALSE(a.speculative_adaptive);
  // topk 1 forces num_draft_tokens = num_steps + 1, with a notice.
  a = parse({"--model-path", "/m", "--speculative-algorithm", "EAGLE", "--speculative-num-steps", "2",
             "--speculative-eagle-topk", "1", "--speculative-num-draft-tokens", "8"});
  EXPECT_EQ(*a.speculative_num_draft_tokens, 3);
  ASSERT_EQ(a.notices.size(), 1u);
  EXPECT_NE(a.notices[0].find("speculative_num_steps + 1"), std::string::npos);
  // Adaptive depth: at most num_draft_tokens - 1.
  a = parse({"--model-path", "/m", "--speculative-algorithm", "EAGLE", "--speculative-num-steps", "auto",
             "--speculative-num-draft-tokens", "6"});
  EXPECT_TRUE(a.speculative_adaptive);
  EXPECT_EQ(*a.speculative_num_steps, 5);
  a = parse({"--model-path", "/m", "--speculative-algorithm", "EAGLE", "--speculative-num-steps", "auto"});
  EXPECT_EQ(*a.speculative_num_steps, 3);
  // The same path spelled differently is the target.
  a = parse({"--model-path", "/m", "--speculative-algorithm", "EAGLE", "--speculative-draft-model-path", "/m/"});
  EXPECT_EQ(*a.speculative_draft_model_path, "/m");
  a = parse({"--model-path", "/m", "--speculative-accept-threshold-single", "0.5"});
  EXPECT_DOUBLE_EQ(a.speculative_accept_threshold_single, 0.5);
}

TEST(ServerArgs, SpeculativeMistakesAreRefusedClearly) {
  EXPECT_NE(error_of({"--model-path", "/m", "--speculative-algorithm", "EAGLE", "--speculative-num-steps", "3"})
                .find("set all three or none"),
            std::string::npos);
  // Tree drafting: SGLang's bound (num_draft_tokens - 1 <= topk + (num_steps - 1) * topk^2), fixed depth.
  EXPECT_NE(error_of({"--model-path", "/m", "--speculative-algorithm", "EAGLE", "--speculative-num-steps", "1",
                      "--speculative-eagle-topk", "4", "--speculative-num-draft-tokens", "6"})
                .find("candidate nodes"),
            std::string::npos);
  EXPECT_NE(error_of({"--model-path", "/m", "--speculative-algorithm", "EAGLE", "--speculative-num-steps", "auto",
                      "--speculative-eagle-topk", "2"})
                .find("tree drafting needs a fixed"),
            std::string::npos);
  ServerArgs tree = parse({"--model-path", "/m", "--speculative-algorithm", "EAGLE", "--speculative-num-steps", "3",
                           "--speculative-eagle-topk", "4", "--speculative-num-draft-tokens", "8"});
  EXPECT_EQ(*tree.speculative_eagle_topk, 4);
  EXPECT_EQ(*tree.speculative_num_draft_tokens, 8);  // not forced to num_steps + 1 with a tree
  EXPECT_NE(error_of({"--model-path", "/m", "--speculative-algorithm", "EAGLE", "--speculative-draft-model-path",
                      "/other"})
                .find("own MTP layer"),
            std::string::npos);
  EXPECT_NE(error_of({"--model-path", "/m", "--speculative-algorithm", "MEDUSA"}).find("--speculative-algorithm"),
            std::string::npos);
  EXPECT_NE(error_of({"--model-path", "/m", "--speculative-accept-threshold-acc", "0"}).find("(0, 1]"),
            std::string::npos);
  EXPECT_NE(error_of({"--model-path", "/m", "--speculative-num-steps", "x"}).find("--speculative-num-steps"),
            std::string::npos);
}
