// recur against PyTorch: every fixture in tests/fixtures/rnn (written by
// scripts/gen_reference.py) is loaded, run forward and backward, and every output and
// gradient compared within 1e-5 relative to max(1, |reference|).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/max_error.h"
#include "recur/io.h"
#include "recur/rnn.h"

namespace recur {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> fixture_files() {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(fs::path(RECUR_FIXTURE_DIR) / "rnn"))
    if (e.path().extension() == ".safetensors") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

using recur::testing::max_error;

class Fixture : public ::testing::TestWithParam<std::string> {};

TEST_P(Fixture, MatchesPyTorch) {
  SafeTensors f = load_safetensors(GetParam());
  auto& t = f.tensors;
  auto& m = f.metadata;
  ASSERT_EQ(m.at("format_version"), "1");
  std::map<std::string, Tensor> weights;
  for (auto& [name, tensor] : t)
    if (name.rfind("weight_", 0) == 0 || name.rfind("bias_", 0) == 0) weights.emplace(name, tensor);
  RnnOptions o = Rnn::from_state_dict(weights, m.at("mode")).options();
  o.batch_first = m.at("batch_first") == "true";
  EXPECT_EQ(o.num_layers, std::stoll(m.at("num_layers")));
  EXPECT_EQ(o.hidden_size, std::stoll(m.at("hidden_size")));
  EXPECT_EQ(o.proj_size, std::stoll(m.at("proj_size")));
  EXPECT_EQ(o.bidirectional, m.at("bidirectional") == "true");
  Rnn rnn(o);
  rnn.load_state_dict(weights);

  RnnArgs args;
  if (!m.at("lengths").empty())
    args.lengths = nlohmann::json::parse(m.at("lengths")).get<std::vector<int64_t>>();
  const bool lstm = o.mode == RnnMode::kLstm;
  if (m.at("has_h0") == "true") {
    args.h0 = t.at("h0");
    if (lstm) args.c0 = t.at("c0");
  }
  const double tol = 1e-5;
  RnnOutput inference = rnn.forward(t.at("input"), args);
  EXPECT_LT(max_error(inference.output, t.at("output")), tol) << "output (inference)";
  EXPECT_LT(max_error(inference.h_n, t.at("h_n")), tol) << "h_n (inference)";
  if (lstm) {
    EXPECT_LT(max_error(inference.c_n, t.at("c_n")), tol) << "c_n (inference)";
  }

  RnnWorkspace ws;
  RnnOutput out = rnn.forward_train(t.at("input"), args, &ws);
  EXPECT_LT(max_error(out.output, t.at("output")), tol) << "output";
  EXPECT_LT(max_error(out.h_n, t.at("h_n")), tol) << "h_n";
  if (lstm) {
    EXPECT_LT(max_error(out.c_n, t.at("c_n")), tol) << "c_n";
  }
  RnnGrads g =
      rnn.backward(ws, t.at("grad_output"), t.at("grad_h_n"), lstm ? t.at("grad_c_n") : Tensor());
  for (const std::string& name : rnn.parameter_names())
    EXPECT_LT(max_error(g.parameters.at(name), t.at("grad." + name)), tol) << "grad." << name;
  EXPECT_LT(max_error(g.input, t.at("grad.input")), tol) << "grad.input";
  if (args.h0.defined()) {
    EXPECT_LT(max_error(g.h0, t.at("grad.h0")), tol) << "grad.h0";
  }
  if (args.c0.defined()) {
    EXPECT_LT(max_error(g.c0, t.at("grad.c0")), tol) << "grad.c0";
  }
}

INSTANTIATE_TEST_SUITE_P(PyTorch, Fixture, ::testing::ValuesIn(fixture_files()),
                         [](const auto& info) { return fs::path(info.param).stem().string(); });

TEST(Fixtures, AreAllPresent) { EXPECT_GE(fixture_files().size(), 50u); }

}  // namespace
}  // namespace recur
