// Reader of the PyTorch golden fixtures (tests/golden/*.txt, written by tests/golden/generate.py;
// the format is documented there and in tests/golden/README.md). No dependencies beyond the
// standard library. The files are found through XENT_TEST_DATA_DIR (the tests/ directory), which
// tests/CMakeLists.txt defines: XENT_TEST_DATA_DIR "/golden/MANIFEST" lists the fixture files.
#pragma once

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#ifndef XENT_TEST_DATA_DIR
#error "XENT_TEST_DATA_DIR must name the tests/ directory (tests/CMakeLists.txt defines it)"
#endif

namespace golden {

// One fixture case. Matrices are row-major N x C (sample n, class c at n * C + c), as PyTorch's (N, C).
struct Case {
  std::string file;  // where the case comes from, for messages
  int line = 0;

  std::string name;
  std::string op;     // cross_entropy nll_loss bce_with_logits bce log_softmax softmax logsumexp
  std::string dtype;  // float32 float64
  long N = -1;
  long C = -1;

  std::vector<double> logits;  // logits / log-probabilities (nll_loss) / probabilities (bce)
  bool has_targets_index = false;
  std::vector<std::int64_t> targets_index;
  bool has_targets_prob = false;
  std::vector<double> targets_prob;
  bool has_weight = false;
  std::vector<double> weight;
  std::string weight_kind;  // bce*: per_class per_sample elementwise
  bool has_pos_weight = false;
  std::vector<double> pos_weight;
  std::int64_t ignore_index = -100;
  double label_smoothing = 0.0;

  std::vector<double> output;  // softmax family
  bool has_loss = false;       // loss_none/mean/sum and grad_mean/grad_sum present
  std::vector<double> loss_none;
  double loss_mean = std::numeric_limits<double>::quiet_NaN();
  double loss_sum = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> grad_mean;
  std::vector<double> grad_sum;
  std::vector<double> grad_outputs;
  std::vector<double> grad_none;

  std::vector<std::string> xent_differs;

  bool differs(const std::string& reason) const {
    for (const auto& r : xent_differs)
      if (r == reason) return true;
    return false;
  }
  bool is_float32() const { return dtype == "float32"; }
  bool is_loss() const {
    return op == "cross_entropy" || op == "nll_loss" || op == "bce_with_logits" || op == "bce";
  }
  std::string where() const { return name + " (" + file + ":" + std::to_string(line) + ")"; }
};

namespace detail {

[[noreturn]] inline void parse_error(const std::string& file, int line, const std::string& what) {
  throw std::runtime_error("golden fixture " + file + ":" + std::to_string(line) + ": " + what);
}

inline double parse_double(const std::string& tok, const std::string& file, int line) {
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(tok.c_str(), &end);  // reads nan, inf, -inf too
  if (end == tok.c_str() || *end != '\0' || (errno == ERANGE && std::isinf(v))) {
    parse_error(file, line, "not a number: '" + tok + "'");
  }
  return v;  // (ERANGE on underflow keeps the denormal / zero strtod returns)
}

inline std::int64_t parse_int(const std::string& tok, const std::string& file, int line) {
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(tok.c_str(), &end, 10);
  if (end == tok.c_str() || *end != '\0' || errno == ERANGE) {
    parse_error(file, line, "not an integer: '" + tok + "'");
  }
  return static_cast<std::int64_t>(v);
}

inline void check_count(const Case& c, const std::string& key, std::size_t got, std::size_t expected) {
  if (got != expected) {
    parse_error(c.file, c.line, "case " + c.name + ": " + key + " has " + std::to_string(got) +
                                    " numbers, expected " + std::to_string(expected));
  }
}

// Checks that every array a case holds has the size its op and shape imply.
inline void validate(const Case& c) {
  if (c.name.empty() || c.op.empty() || c.dtype.empty() || c.N < 0 || c.C < 0) {
    parse_error(c.file, c.line, "case '" + c.name + "' lacks case/op/dtype/shape");
  }
  if (c.dtype != "float32" && c.dtype != "float64") parse_error(c.file, c.line, "bad dtype " + c.dtype);
  const std::size_t N = static_cast<std::size_t>(c.N), C = static_cast<std::size_t>(c.C), NC = N * C;
  check_count(c, "logits", c.logits.size(), NC);
  const bool per_sample_loss = c.op == "cross_entropy" || c.op == "nll_loss";
  const bool elementwise = c.op == "bce_with_logits" || c.op == "bce";
  const bool softmax_family = c.op == "log_softmax" || c.op == "softmax" || c.op == "logsumexp";
  if (!per_sample_loss && !elementwise && !softmax_family) parse_error(c.file, c.line, "bad op " + c.op);
  if (c.has_targets_index) check_count(c, "targets_index", c.targets_index.size(), N);
  if (c.has_targets_prob) check_count(c, "targets_prob", c.targets_prob.size(), NC);
  if (per_sample_loss) {
    if (c.op == "nll_loss" && !c.has_targets_index) parse_error(c.file, c.line, "nll_loss needs targets_index");
    if (c.has_targets_index == c.has_targets_prob) {
      parse_error(c.file, c.line, c.name + ": exactly one of targets_index / targets_prob");
    }
    if (c.has_weight) check_count(c, "weight", c.weight.size(), C);
    if (c.has_pos_weight) parse_error(c.file, c.line, "pos_weight only for bce_with_logits");
  }
  if (elementwise) {
    if (!c.has_targets_prob) parse_error(c.file, c.line, c.name + ": bce needs targets_prob");
    if (c.has_weight) {
      if (c.weight_kind == "per_class") check_count(c, "weight", c.weight.size(), C);
      else if (c.weight_kind == "per_sample") check_count(c, "weight", c.weight.size(), N);
      else if (c.weight_kind == "elementwise") check_count(c, "weight", c.weight.size(), NC);
      else parse_error(c.file, c.line, c.name + ": bad or missing weight_kind '" + c.weight_kind + "'");
    }
    if (c.has_pos_weight) check_count(c, "pos_weight", c.pos_weight.size(), C);
  }
  if (c.is_loss()) {
    if (!c.has_loss) parse_error(c.file, c.line, c.name + ": loss_* missing");
    check_count(c, "loss_none", c.loss_none.size(), elementwise ? NC : N);
    check_count(c, "grad_mean", c.grad_mean.size(), NC);
    check_count(c, "grad_sum", c.grad_sum.size(), NC);
    check_count(c, "grad_outputs", c.grad_outputs.size(), elementwise ? NC : N);
    check_count(c, "grad_none", c.grad_none.size(), NC);
  } else {
    check_count(c, "output", c.output.size(), c.op == "logsumexp" ? N : NC);
    check_count(c, "grad_outputs", c.grad_outputs.size(), c.op == "logsumexp" ? N : NC);
    check_count(c, "grad_none", c.grad_none.size(), NC);
  }
}

}  // namespace detail

inline std::string data_dir() { return std::string(XENT_TEST_DATA_DIR) + "/golden"; }

// All cases of one fixture file (a name relative to data_dir(), or an absolute path).
inline std::vector<Case> load_file(const std::string& name) {
  const std::string path = (!name.empty() && name[0] == '/') ? name : data_dir() + "/" + name;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open golden fixture " + path);
  std::vector<Case> cases;
  Case cur;
  bool open = false;
  std::string text;
  int lineno = 0;
  while (std::getline(in, text)) {
    ++lineno;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.empty() || text[0] == '#') continue;
    std::istringstream ss(text);
    std::string key;
    ss >> key;
    std::vector<std::string> toks;
    for (std::string t; ss >> t;) toks.push_back(t);
    const auto doubles = [&]() {
      std::vector<double> v;
      v.reserve(toks.size());
      for (const auto& t : toks) v.push_back(detail::parse_double(t, name, lineno));
      return v;
    };
    const auto one = [&]() -> const std::string& {
      if (toks.size() != 1) detail::parse_error(name, lineno, key + " takes exactly one value");
      return toks[0];
    };
    if (key == "case") {
      if (open) detail::parse_error(name, lineno, "'case' inside case " + cur.name + " (missing 'end')");
      cur = Case();
      cur.file = name;
      cur.line = lineno;
      cur.name = one();
      open = true;
      continue;
    }
    if (!open) detail::parse_error(name, lineno, "'" + key + "' outside a case");
    if (key == "end") {
      detail::validate(cur);
      cases.push_back(cur);
      open = false;
    } else if (key == "op") {
      cur.op = one();
    } else if (key == "dtype") {
      cur.dtype = one();
    } else if (key == "shape") {
      if (toks.size() != 2) detail::parse_error(name, lineno, "shape takes N C");
      cur.N = static_cast<long>(detail::parse_int(toks[0], name, lineno));
      cur.C = static_cast<long>(detail::parse_int(toks[1], name, lineno));
    } else if (key == "logits") {
      cur.logits = doubles();
    } else if (key == "targets_index") {
      cur.has_targets_index = true;
      cur.targets_index.clear();
      for (const auto& t : toks) cur.targets_index.push_back(detail::parse_int(t, name, lineno));
    } else if (key == "targets_prob") {
      cur.has_targets_prob = true;
      cur.targets_prob = doubles();
    } else if (key == "weight") {
      cur.has_weight = true;
      cur.weight = doubles();
    } else if (key == "weight_kind") {
      cur.weight_kind = one();
    } else if (key == "pos_weight") {
      cur.has_pos_weight = true;
      cur.pos_weight = doubles();
    } else if (key == "ignore_index") {
      cur.ignore_index = detail::parse_int(one(), name, lineno);
    } else if (key == "label_smoothing") {
      cur.label_smoothing = detail::parse_double(one(), name, lineno);
    } else if (key == "output") {
      cur.output = doubles();
    } else if (key == "loss_none") {
      cur.has_loss = true;
      cur.loss_none = doubles();
    } else if (key == "loss_mean") {
      cur.loss_mean = detail::parse_double(one(), name, lineno);
    } else if (key == "loss_sum") {
      cur.loss_sum = detail::parse_double(one(), name, lineno);
    } else if (key == "grad_mean") {
      cur.grad_mean = doubles();
    } else if (key == "grad_sum") {
      cur.grad_sum = doubles();
    } else if (key == "grad_outputs") {
      cur.grad_outputs = doubles();
    } else if (key == "grad_none") {
      cur.grad_none = doubles();
    } else if (key == "xent_differs") {
      cur.xent_differs.push_back(one());
    } else {
      detail::parse_error(name, lineno, "unknown key '" + key + "'");
    }
  }
  if (open) detail::parse_error(name, lineno, "file ends inside case " + cur.name);
  return cases;
}

// Every case of every file listed in golden/MANIFEST, in order. Loaded once.
inline const std::vector<Case>& all_cases() {
  static const std::vector<Case> cases = [] {
    const std::string manifest = data_dir() + "/MANIFEST";
    std::ifstream in(manifest);
    if (!in) throw std::runtime_error("cannot open " + manifest);
    std::vector<Case> all;
    for (std::string file; std::getline(in, file);) {
      if (!file.empty() && file.back() == '\r') file.pop_back();
      if (file.empty() || file[0] == '#') continue;
      auto part = load_file(file);
      all.insert(all.end(), part.begin(), part.end());
    }
    return all;
  }();
  return cases;
}

// The cases of one op (and, if given, one dtype).
inline std::vector<const Case*> cases_of(const std::string& op, const std::string& dtype = "") {
  std::vector<const Case*> out;
  for (const auto& c : all_cases())
    if (c.op == op && (dtype.empty() || c.dtype == dtype)) out.push_back(&c);
  return out;
}

}  // namespace golden
