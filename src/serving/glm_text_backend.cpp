#include "serving/glm_text_backend.h"

#include <cstdlib>
#include <optional>

#include <spdlog/spdlog.h>

#include "chat/chat_template.h"
#include "chat/openai_template_inputs.h"
#include "core/error.h"
#include "parsers/reasoning_parser.h"
#include "parsers/tool_call_parser.h"
#include "parsers/tool_content_stream.h"
#include "core/thread_pool.h"
#include "engine/kv_budget.h"
#include "engine/scheduler.h"
#include "model/speculative_token_map.h"
#include "tokenizer/tokenizer.h"

namespace glm::serving {
namespace {

// normal_text out of feed()/finish() is already the content to send: ToolContentStream makes the
// streamed content add up to the non-streamed one (whitespace around calls).
class GlmToolCallStream : public ToolCallStream {
 public:
  GlmToolCallStream(std::unique_ptr<parsers::ToolCallParser> p, bool glm47) : parser_(std::move(p)), content_(glm47) {}
  void feed(std::string_view chunk, std::string& normal, std::vector<ToolCallDelta>& calls) override {
    append(parser_->push(chunk), normal, calls);
  }
  void finish(std::string& normal, std::vector<ToolCallDelta>& calls) override {
    append(parser_->finish(), normal, calls);
    normal += content_.finish();
  }

 private:
  void append(const parsers::ToolStreamDelta& d, std::string& normal, std::vector<ToolCallDelta>& calls) {
    normal += content_.on_delta(d);
    for (const auto& c : d.calls) calls.push_back({c.index, c.name, c.arguments});
  }
  std::unique_ptr<parsers::ToolCallParser> parser_;
  parsers::ToolContentStream content_;
};

class GlmReasoningStream : public ReasoningStream {
 public:
  explicit GlmReasoningStream(std::unique_ptr<parsers::ReasoningParser> p) : parser_(std::move(p)) {}
  std::pair<std::string, std::string> feed(std::string_view chunk) override {
    parsers::ReasoningResult r = parser_->push(chunk);
    return {std::move(r.reasoning_text), std::move(r.normal_text)};
  }
  std::pair<std::string, std::string> finish() override {
    parsers::ReasoningResult r = parser_->finish();
    return {std::move(r.reasoning_text), std::move(r.normal_text)};
  }

 private:
  std::unique_ptr<parsers::ReasoningParser> parser_;
};

class GlmTextBackend : public TextBackend {
 public:
  explicit GlmTextBackend(const ServerArgs& args)
      : tokenizer_(Tokenizer::from_dir(args.tokenizer_path)),
        template_(load_template(args)) {}

  // --- tokenizer (src/tokenizer) -------------------------------------------------------------
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens) const override {
    return tokenizer_.encode(text, add_special_tokens);
  }
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const override {
    return tokenizer_.decode(ids, skip_special_tokens);
  }
  // SGLang's logprob token text: the token decoded on its own.
  std::string token_text(int32_t id) const override { return tokenizer_.decode(std::span<const int32_t>(&id, 1), false); }
  int vocab_size() const override { return tokenizer_.vocab_size(); }
  const Tokenizer& tokenizer() const { return tokenizer_; }

  // --- chat template (src/chat) --------------------------------------------------------------
  std::string render_chat(const Json& messages, const Json& tools, const Json& kwargs,
                          bool add_generation_prompt) const override {
    if (!template_)
      fail(ErrorKind::Template,
           "this model has no chat template (no chat_template.jinja, no chat_template in tokenizer_config.json): "
           "start the server with --chat-template FILE, or use /v1/completions or /generate");
    return template_->render(normalize_openai_messages(messages), tools, add_generation_prompt, kwargs);
  }

  // --- parsers (src/parsers) -----------------------------------------------------------------
  bool has_tool_parser(const std::string& name) const override {
    for (const auto& n : parsers::tool_call_parser_names())
      if (n == name) return true;
    return false;
  }
  bool has_reasoning_parser(const std::string& name) const override {
    try {
      parsers::make_reasoning_parser(name);
      return true;
    } catch (const GlmError&) {
      return false;
    }
  }
  ToolParseResult parse_tool_calls(const std::string& parser, std::string_view text, const Json& tools) const override {
    auto p = parsers::make_tool_call_parser(parser, parsers::ToolSet::from_openai_tools(tools));
    parsers::ToolParseResult r = p->parse(text);
    ToolParseResult out;
    out.normal_text = std::move(r.normal_text);
    for (auto& c : r.calls) out.calls.push_back({c.index, std::move(c.name), std::move(c.arguments)});
    return out;
  }
  bool has_tool_call(const std::string& parser, std::string_view text) const override {
    return parsers::make_tool_call_parser(parser, parsers::ToolSet::from_openai_tools(Json::array()))
        ->has_tool_call(text);
  }
  std::pair<std::string, std::string> separate_reasoning(const std::string& parser, std::string_view text,
                                                         bool force_reasoning) const override {
    parsers::ReasoningOptions opt;
    opt.force_reasoning = force_reasoning;
    parsers::ReasoningResult r = parsers::make_reasoning_parser(parser, opt)->parse(text);
    return {std::move(r.reasoning_text), std::move(r.normal_text)};
  }
  std::unique_ptr<ReasoningStream> reasoning_stream(const std::string& parser, bool force_reasoning,
                                                    bool stream_reasoning) const override {
    parsers::ReasoningOptions opt;
    opt.force_reasoning = force_reasoning;
    opt.stream_reasoning = stream_reasoning;
    return std::make_unique<GlmReasoningStream>(parsers::make_reasoning_parser(parser, opt));
  }
  std::unique_ptr<ToolCallStream> tool_call_stream(const std::string& parser, const Json& tools) const override {
    return std::make_unique<GlmToolCallStream>(
        parsers::make_tool_call_parser(parser, parsers::ToolSet::from_openai_tools(tools)), parser == "glm47");
  }

 private:
  // A checkpoint without a chat template still serves completions and /generate, as SGLang does; chat
  // requests then get a 400 naming the fix. A template that exists but does not parse still stops start-up.
  static std::optional<ChatTemplate> load_template(const ServerArgs& args) {
    if (!args.chat_template.empty()) return ChatTemplate::from_file(args.chat_template);
    try {
      return ChatTemplate::from_model_dir(args.model_path);
    } catch (const GlmError& e) {
      if (e.kind() != ErrorKind::NotFound) throw;
      spdlog::warn("{}; chat requests will be refused (pass --chat-template FILE)", e.what());
      return std::nullopt;
    }
  }

  Tokenizer tokenizer_;
  std::optional<ChatTemplate> template_;
};

}  // namespace

std::unique_ptr<TextBackend> make_glm_text_backend(const ServerArgs& args) {
  return std::make_unique<GlmTextBackend>(args);
}

// The engine behind the server: the continuous-batching scheduler (src/engine/scheduler.h).
std::unique_ptr<Engine> make_glm_engine(const ServerArgs& args, const ModelInfo& info) {
  ThreadPool::init_global(args.threads);
  SchedulerConfig sc;
  // SGLang lowers the default to 48 with speculative decoding.
  sc.max_running_requests = args.max_running_requests.value_or(args.speculative_algorithm ? 48 : 64);
  sc.chunked_prefill_size = args.chunked_prefill_size.value_or(512);
  sc.max_prefill_tokens = args.max_prefill_tokens;
  sc.disable_radix_cache = args.disable_radix_cache;
  sc.context_length = info.context_length;
  // SGLang's default page size is 1 (GPU kernels index tokens directly); the CPU pool keeps per-page
  // bookkeeping, so the default becomes 16 tokens. An explicit --page-size > 1 is used as given.
  sc.page_size = args.page_size > 1 ? args.page_size : 16;
  sc.kv_dtype = kv_dtype_from_name(args.kv_cache_dtype);  // auto = bf16, the dtype of every GLM checkpoint

  if (args.speculative_algorithm) {
    sc.spec.num_steps = args.speculative_num_steps.value_or(3);
    sc.spec.adaptive = args.speculative_adaptive;
    sc.spec.topk = args.speculative_eagle_topk.value_or(1);
    sc.spec.num_draft_tokens = args.speculative_num_draft_tokens.value_or(sc.spec.num_steps + 1);
    // Benchmarks and tests that want the explicit depth every round, whatever it costs here.
    if (const char* fixed = std::getenv("GLMSERVE_SPECULATIVE_FIXED_DEPTH"); fixed && std::string(fixed) == "1")
      sc.spec.guard = false;
    sc.spec.accept_threshold_single = float(args.speculative_accept_threshold_single);
    sc.spec.accept_threshold_acc = float(args.speculative_accept_threshold_acc);
  }

  LoadOptions opt;
  // One forward carries every running request's decode token (with speculation: num_steps + 1 verify
  // tokens; a tree: its paths, at most num_draft_tokens - 1 of num_steps + 1 tokens) plus a prefill chunk.
  const int64_t verify_tokens = sc.spec.tree() ? int64_t(sc.spec.num_draft_tokens - 1) * (sc.spec.num_steps + 1)
                                               : sc.spec.num_steps + 1;
  opt.max_batch_tokens =
      std::max<int64_t>(sc.chunked_prefill_size, 256) + int64_t(sc.max_running_requests) * verify_tokens;
  opt.nextn = sc.spec.enabled() ? NextNLoad::Auto : NextNLoad::Skip;
  opt.tp_size = args.tp_size;
  opt.ep_size = args.ep_size;
  auto model = Glm4MoeModel::load(args.model_path, ThreadPool::global(), opt);
  if (sc.spec.enabled() && args.speculative_token_map)
    sc.spec.token_map = load_speculative_token_map(*args.speculative_token_map, model->config().vocab_size);
  if (sc.spec.enabled() && !model->weights().nextn)
    fail(ErrorKind::InvalidModel,
         "--speculative-algorithm {}: {} has no MTP (NextN) layer (num_nextn_predict_layers = {}, or its "
         "model.layers.{}.* tensors are missing); start without speculative decoding",
         *args.speculative_algorithm, args.model_path, model->config().num_nextn_predict_layers,
         model->config().num_hidden_layers);

  // KV pool: --max-total-tokens, else --mem-fraction-static of host memory (kv_budget.h), but never
  // more than the running requests could ever fill (max_running_requests full contexts).
  // The MTP draft's K/V is one more layer of the same pages (engine/speculative.h).
  // The full model's bytes per token: under tensor parallelism every rank holds 1/N of them, so the N
  // ranks of one host together use what one process would (conservative across hosts).
  int64_t per_token = kv_bytes_per_token(model->config(), sc.kv_dtype);
  if (sc.spec.enabled()) per_token += per_token / model->config().num_hidden_layers;
  KvBudget budget = kv_budget(args.max_total_tokens.value_or(0), args.mem_fraction_static.value_or(0.8),
                              args.model_path, per_token, sc.page_size);
  int64_t tokens = budget.tokens;
  if (!args.max_total_tokens)
    tokens = std::min<int64_t>(tokens, int64_t(sc.max_running_requests) * std::max(info.context_length, 1));
  sc.kv_capacity_tokens = tokens;
  return std::make_unique<Scheduler>(std::move(model), Tokenizer::from_dir(args.tokenizer_path), sc);
}

}  // namespace glm::serving
