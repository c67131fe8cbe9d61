// `glmserve tokenize` / `glmserve detokenize`: the tokenizer from the command line.
//   echo -n 'Hello' | glmserve tokenize --model-path DIR            -> [9703]
//   echo '[9703]' | glmserve detokenize --model-path DIR            -> Hello
// --jsonl batches many inputs per process: tokenize reads one JSON string per line and writes one
// JSON id list per line; detokenize reads one JSON id list per line and writes one JSON string per
// line (or, with --stream, the JSON list of incremental pieces IncrementalDecoder yields, the
// last one being finish()).
#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/command_registry.h"
#include "core/error.h"
#include "tokenizer/incremental_decoder.h"
#include "tokenizer/tokenizer.h"

namespace {

struct TokenizeOptions {
  std::string model_path, tokenizer_path;
  bool add_special_tokens = false, skip_special_tokens = false, jsonl = false, stream = false;
};

glm::Tokenizer load(const TokenizeOptions& o) {
  std::string dir = o.tokenizer_path.empty() ? o.model_path : o.tokenizer_path;
  if (dir.empty()) glm::fail(glm::ErrorKind::InvalidArgument, "needs --model-path or --tokenizer-path");
  return glm::Tokenizer::from_dir(dir);
}

nlohmann::json parse_line(const std::string& line, size_t line_no) {
  try {
    return nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception& e) {
    glm::fail(glm::ErrorKind::InvalidArgument, "stdin line {} is not JSON: {}", line_no, e.what());
  }
}

std::vector<int32_t> parse_ids(const nlohmann::json& j, size_t line_no) {
  if (!j.is_array()) glm::fail(glm::ErrorKind::InvalidArgument, "input {} is not a JSON list of ids", line_no);
  std::vector<int32_t> ids;
  for (const auto& v : j) {
    if (!v.is_number_integer()) glm::fail(glm::ErrorKind::InvalidArgument, "input {} holds a non-integer id", line_no);
    ids.push_back(v.get<int32_t>());
  }
  return ids;
}

std::string dump(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

int run_tokenize(const TokenizeOptions& o) {
  glm::Tokenizer tok = load(o);
  if (!o.jsonl) {
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    std::printf("%s\n", dump(tok.encode(text, o.add_special_tokens)).c_str());
    return 0;
  }
  std::string line, out;
  std::vector<int32_t> ids;
  for (size_t n = 1; std::getline(std::cin, line); ++n) {
    nlohmann::json j = parse_line(line, n);
    if (!j.is_string()) glm::fail(glm::ErrorKind::InvalidArgument, "stdin line {} is not a JSON string", n);
    ids.clear();
    tok.encode_into(j.get_ref<const std::string&>(), o.add_special_tokens, ids);
    out += dump(ids);
    out += '\n';
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

int run_detokenize(const TokenizeOptions& o) {
  glm::Tokenizer tok = load(o);
  auto one = [&](const std::vector<int32_t>& ids) -> nlohmann::json {
    if (!o.stream) return tok.decode(ids, o.skip_special_tokens);
    glm::IncrementalDecoder dec(tok, o.skip_special_tokens);
    nlohmann::json pieces = nlohmann::json::array();
    for (int32_t id : ids) pieces.push_back(dec.push(id));
    pieces.push_back(dec.finish());
    return pieces;
  };
  if (!o.jsonl) {
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    nlohmann::json result = one(parse_ids(parse_line(text, 1), 1));
    std::string s = result.is_string() ? result.get<std::string>() : dump(result) + "\n";
    std::fwrite(s.data(), 1, s.size(), stdout);
    return 0;
  }
  std::string line, out;
  for (size_t n = 1; std::getline(std::cin, line); ++n) {
    out += dump(one(parse_ids(parse_line(line, n), n)));
    out += '\n';
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

void add_common(CLI::App& sub, TokenizeOptions& o) {
  sub.add_option("--model-path", o.model_path, "Model directory holding tokenizer.json");
  sub.add_option("--tokenizer-path", o.tokenizer_path, "Tokenizer directory (default: --model-path)");
  sub.add_flag("--jsonl", o.jsonl, "One JSON input per line, one JSON output per line");
}

glm::cli::Registration tokenize_reg{
    "tokenize", "Encode stdin text to token ids (JSON list)", [](CLI::App& sub) -> glm::cli::RunFn {
      auto o = std::make_shared<TokenizeOptions>();
      add_common(sub, *o);
      sub.add_flag("--add-special-tokens", o->add_special_tokens, "Apply the post-processor (BOS/EOS templates)");
      return [o] { return run_tokenize(*o); };
    }};

glm::cli::Registration detokenize_reg{
    "detokenize", "Decode a JSON list of token ids from stdin to text", [](CLI::App& sub) -> glm::cli::RunFn {
      auto o = std::make_shared<TokenizeOptions>();
      add_common(sub, *o);
      sub.add_flag("--skip-special-tokens", o->skip_special_tokens, "Drop added tokens marked special");
      sub.add_flag("--stream", o->stream, "Decode incrementally; print the list of streamed pieces");
      return [o] { return run_detokenize(*o); };
    }};

}  // namespace
