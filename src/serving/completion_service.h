#pragma once
// POST /v1/completions (serving_completions.py) and the native POST /generate (io_struct.py
// GenerateReqInput; cumulative `text` + `meta_info` per streamed event). Prompt logprobs: echo +
// logprobs on /v1/completions, logprob_start_len on /generate (engine/prompt_logprobs.h).
#include <string>
#include <vector>

#include "serving/openai_protocol.h"
#include "serving/request_stream.h"
#include "serving/response_parts.h"
#include "serving/serving_context.h"

namespace glm::serving {

struct CompletionPlan {
  std::string id;
  std::vector<GenerateRequest> requests;  // prompt-major: prompt p, choice k -> p * n + k
  std::vector<std::string> echo_texts;    // per request, when echo
};

CompletionPlan plan_completion(const ServingContext& ctx, const CompletionRequest& req);
Json run_completion(const ServingContext& ctx, const CompletionRequest& req, CompletionPlan& plan,
                    RequestStream& stream);

class CompletionStreamWriter {
 public:
  CompletionStreamWriter(const ServingContext& ctx, const CompletionRequest& req, const CompletionPlan& plan);
  void on_event(const IndexedOutput& ev, std::string& out);
  void finish(std::string& out);

 private:
  Json chunk(int index, const std::string& text, Json logprobs, Json finish, Json matched) const;
  const ServingContext& ctx_;
  const CompletionRequest& req_;
  const CompletionPlan& plan_;
  int64_t created_;
  std::vector<GenerateOutput> last_;
  std::vector<bool> echoed_;
  std::vector<size_t> offsets_;
};

struct GeneratePlan {
  std::vector<GenerateRequest> requests;
};

GeneratePlan plan_generate(const ServingContext& ctx, const NativeGenerateRequest& req);
// Non-streaming: one object, or a list for a batch.
Json run_generate(const ServingContext& ctx, const NativeGenerateRequest& req, const GeneratePlan& plan,
                  RequestStream& stream);

// Streaming /generate: each event carries the cumulative text so far (SGLang's default).
class GenerateStreamWriter {
 public:
  GenerateStreamWriter(const ServingContext& ctx, const NativeGenerateRequest& req, const GeneratePlan& plan);
  void on_event(const IndexedOutput& ev, std::string& out);
  void finish(std::string& out);

 private:
  const ServingContext& ctx_;
  const NativeGenerateRequest& req_;
  const GeneratePlan& plan_;
  std::vector<std::string> texts_;
  std::vector<std::vector<int32_t>> ids_;
  std::vector<std::vector<TokenLogprob>> input_logprobs_, logprobs_;  // prompt (logprob_start_len) / output
  RequestTimer timer_;
};

// The /generate result object for one prompt (engine request g): {text, output_ids, meta_info};
// meta_info carries input_token_logprobs for the prompt when g.logprob_start_len >= 0.
Json generate_result(const ServingContext& ctx, const NativeGenerateRequest& req, const GenerateRequest& g,
                     const std::string& text, const std::vector<int32_t>& ids, const std::vector<TokenLogprob>& input_lps,
                     const std::vector<TokenLogprob>& lps, const GenerateOutput& last, double e2e_seconds);

}  // namespace glm::serving
