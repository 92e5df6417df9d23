// `recur forward` end to end: the real binary (RECUR_CLI_PATH) run through the shell in a fresh
// directory per test. PyTorch fixtures written out as the files a user would pass must come
// back with the fixture's outputs and gradients; every bad input must exit non-zero with a
// message on stderr and leave no output file behind.
// Leaves out: the numerics themselves (tests/rnn) and file-format corner cases (tests/io).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli_test.h"
#include "common/max_error.h"
#include "recur/io.h"
#include "recur/rnn.h"

namespace recur {
namespace {

namespace fs = std::filesystem;

using recur::testing::max_error;

bool is_parameter(const std::string& name) {
  return name.rfind("weight_", 0) == 0 || name.rfind("bias_", 0) == 0;
}

// ---------------------------------------------------------------------------------------------
// PyTorch fixtures through the CLI.

struct FixtureCase {
  std::string fixture;  // tests/fixtures/rnn/<fixture>.safetensors
  std::string mode;     // passed as --mode when not empty
};

void PrintTo(const FixtureCase& c, std::ostream* os) { *os << c.fixture; }

class ForwardFixture : public CliTest, public ::testing::WithParamInterface<FixtureCase> {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    fixture_ = load_safetensors(std::string(RECUR_FIXTURE_DIR) + "/rnn/" + GetParam().fixture +
                                ".safetensors");
    const auto& m = fixture_.metadata;
    lstm_ = m.at("mode") == "lstm";
    has_h0_ = m.at("has_h0") == "true";
    SafeTensors weights;
    for (const auto& [name, tensor] : fixture_.tensors)
      if (is_parameter(name)) weights.tensors.emplace(name, tensor);
    ASSERT_FALSE(weights.tensors.empty());
    save_safetensors(path("W.safetensors"), weights);
    save_npy(path("X.npy"), tensor("input"));
    args_ = "forward --weights W.safetensors --input X.npy --output Y.npy --hn HN.npy";
    if (lstm_) args_ += " --cn CN.npy";
    if (!GetParam().mode.empty()) args_ += " --mode " + GetParam().mode;
    if (m.at("batch_first") == "true") args_ += " --batch-first";
    if (!m.at("lengths").empty()) {
      auto lengths = nlohmann::json::parse(m.at("lengths")).get<std::vector<int64_t>>();
      save_npy_int64(path("L.npy"), lengths, {static_cast<int64_t>(lengths.size())});
      args_ += " --lengths L.npy";
    }
    if (has_h0_) {
      save_npy(path("H0.npy"), tensor("h0"));
      args_ += " --h0 H0.npy";
      if (lstm_) {
        save_npy(path("C0.npy"), tensor("c0"));
        args_ += " --c0 C0.npy";
      }
    }
  }

  const Tensor& tensor(const std::string& name) const { return fixture_.tensors.at(name); }

  std::string grad_args() const {
    save_npy(path("GO.npy"), tensor("grad_output"));
    save_npy(path("GHN.npy"), tensor("grad_h_n"));
    std::string args = " --grad-output GO.npy --grad-hn GHN.npy --grads G.safetensors";
    if (lstm_) {
      save_npy(path("GCN.npy"), tensor("grad_c_n"));
      args += " --grad-cn GCN.npy";
    }
    return args;
  }

  void ExpectOutputsMatch() const {
    const double tol = 1e-5;
    EXPECT_LT(max_error(load_npy_tensor(path("Y.npy")), tensor("output")), tol) << "output";
    EXPECT_LT(max_error(load_npy_tensor(path("HN.npy")), tensor("h_n")), tol) << "h_n";
    if (lstm_) {
      EXPECT_LT(max_error(load_npy_tensor(path("CN.npy")), tensor("c_n")), tol) << "c_n";
    } else {
      EXPECT_FALSE(exists("CN.npy"));
    }
  }

  SafeTensors fixture_;
  bool lstm_ = false;
  bool has_h0_ = false;
  std::string args_;
};

TEST_P(ForwardFixture, ForwardAndBackwardMatchPyTorch) {
  ASSERT_EQ(run(args_ + grad_args()), 0) << args_ << "\n" << read_text("err.txt");
  ExpectOutputsMatch();
  const SafeTensors grads = load_safetensors(path("G.safetensors"));
  std::set<std::string> want_names{"input"};
  for (const auto& [name, t] : fixture_.tensors)
    if (is_parameter(name)) want_names.insert(name);
  if (has_h0_) want_names.insert("h0");
  if (has_h0_ && lstm_) want_names.insert("c0");
  std::set<std::string> got_names;
  for (const auto& [name, t] : grads.tensors) got_names.insert(name);
  EXPECT_EQ(got_names, want_names);
  for (const std::string& name : want_names) {
    if (grads.tensors.count(name)) {
      EXPECT_LT(max_error(grads.tensors.at(name), tensor("grad." + name)), 1e-5) << "grad." << name;
    }
  }
  for (const std::string& name : listing()) {
    const std::string ext = fs::path(name).extension().string();
    EXPECT_TRUE(ext == ".npy" || ext == ".safetensors") << "stray file " << name;
  }
}

TEST_P(ForwardFixture, ForwardOnlyMatchesPyTorch) {
  ASSERT_EQ(run(args_), 0) << args_ << "\n" << read_text("err.txt");
  ExpectOutputsMatch();
  EXPECT_FALSE(exists("G.safetensors"));
}

TEST_P(ForwardFixture, OutputOnlyWithoutStateFiles) {
  // Without --hn/--cn only the output is written.
  std::string args = args_;
  for (const std::string flag : {" --hn HN.npy", " --cn CN.npy"}) {
    const size_t at = args.find(flag);
    if (at != std::string::npos) args.erase(at, flag.size());
  }
  ASSERT_EQ(run(args), 0) << args << "\n" << read_text("err.txt");
  EXPECT_LT(max_error(load_npy_tensor(path("Y.npy")), tensor("output")), 1e-5);
  EXPECT_FALSE(exists("HN.npy"));
  EXPECT_FALSE(exists("CN.npy"));
}

INSTANTIATE_TEST_SUITE_P(
    PyTorch, ForwardFixture,
    ::testing::Values(FixtureCase{"lstm_l2_bi_proj_unsorted_bf", ""},
                      FixtureCase{"lstm_l2_uni_proj_unsorted", "lstm"},
                      FixtureCase{"gru_l2_bi_short_unsorted", ""},
                      FixtureCase{"rnn_relu_l2_uni_unsorted", "rnn_relu"},
                      FixtureCase{"rnn_relu_l2_bi_nobias_sorted_bf", "rnn_relu"},
                      FixtureCase{"gru_l1_bi_nobias_unsorted", ""},
                      FixtureCase{"lstm_l2_uni_nobias_unsorted_bf", ""},
                      FixtureCase{"rnn_tanh_l1_uni_nobias_unsorted", "rnn_tanh"}),
    [](const auto& info) { return info.param.fixture; });

// The weights of rnn_relu and rnn_tanh look the same, so without --mode rnn_relu the CLI runs
// tanh and must then disagree with the relu reference.
TEST_F(CliTest, RnnReluWithoutModeRunsTanh) {
  SafeTensors f =
      load_safetensors(std::string(RECUR_FIXTURE_DIR) + "/rnn/rnn_relu_l1_uni_sorted.safetensors");
  ASSERT_EQ(f.metadata.at("has_h0"), "false");
  SafeTensors weights;
  for (const auto& [name, tensor] : f.tensors)
    if (is_parameter(name)) weights.tensors.emplace(name, tensor);
  save_safetensors(path("W.safetensors"), weights);
  save_npy(path("X.npy"), f.tensors.at("input"));
  auto lengths = nlohmann::json::parse(f.metadata.at("lengths")).get<std::vector<int64_t>>();
  save_npy_int64(path("L.npy"), lengths, {static_cast<int64_t>(lengths.size())});
  const std::string args = "forward --weights W.safetensors --input X.npy --lengths L.npy";
  ASSERT_EQ(run(args + " --output Y.npy"), 0) << read_text("err.txt");
  ASSERT_EQ(run(args + " --output Y_relu.npy --mode rnn_relu"), 0) << read_text("err.txt");
  EXPECT_GT(max_error(load_npy_tensor(path("Y.npy")), f.tensors.at("output")), 1e-3);
  EXPECT_LT(max_error(load_npy_tensor(path("Y_relu.npy")), f.tensors.at("output")), 1e-5);
}

// ---------------------------------------------------------------------------------------------
// Bad inputs: non-zero exit, a message on stderr, nothing written.

class ForwardErrors : public CliTest {
 protected:
  // A GRU (input_size 4, hidden 3), an LSTM of the same sizes, and valid files for T=5, B=2.
  void SetUp() override {
    CliTest::SetUp();
    RnnOptions o;
    o.mode = RnnMode::kGru;
    o.input_size = 4;
    o.hidden_size = 3;
    gru_weights_.tensors = Rnn(o, 1).state_dict();
    save_safetensors(path("W.safetensors"), gru_weights_);
    o.mode = RnnMode::kLstm;
    SafeTensors lstm;
    lstm.tensors = Rnn(o, 2).state_dict();
    save_safetensors(path("WL.safetensors"), lstm);
    save_npy(path("X.npy"), Tensor::full({5, 2, 4}, 0.5f));
    save_npy_int64(path("L.npy"), {5, 3}, {2});
    save_npy(path("H0.npy"), Tensor::full({1, 2, 3}, 0.25f));
    save_npy(path("GO.npy"), Tensor::full({5, 2, 3}, 1.0f));
  }

  // `valid` plus `extra` must fail: exit status `status` (or any non-zero status below 128
  // when `status` is 0), `message` on stderr, and no new file in the directory.
  void ExpectFailure(const std::string& extra, const std::string& message, int status = 1,
                     const std::string& base = kValid) const {
    SCOPED_TRACE(extra);
    const std::set<std::string> before = listing();
    const int rc = run(base + " " + extra);
    const std::string err = read_text("err.txt");
    if (status != 0) {
      EXPECT_EQ(rc, status) << err;
    } else {
      EXPECT_GT(rc, 0) << err;
      EXPECT_LT(rc, 128) << "crashed?\n" << err;
    }
    EXPECT_NE(err.find(message), std::string::npos)
        << "stderr does not contain \"" << message << "\":\n"
        << err;
    EXPECT_EQ(err.find("unexpected error"), std::string::npos) << err;
    EXPECT_EQ(listing(), before) << "files were left behind";
    EXPECT_FALSE(exists("Y.npy"));
    EXPECT_FALSE(exists("G.safetensors"));
  }

  static constexpr const char* kValid =
      "forward --weights W.safetensors --input X.npy --output Y.npy";
  SafeTensors gru_weights_;
};

TEST_F(ForwardErrors, ValidBaselineSucceeds) {
  // Each error test changes one thing in this command.
  ASSERT_EQ(
      run(std::string(kValid) +
          " --lengths L.npy --h0 H0.npy --hn HN.npy --grad-output GO.npy --grads G.safetensors"),
      0)
      << read_text("err.txt");
  EXPECT_EQ(shape_string(load_npy_tensor(path("Y.npy")).shape()), "[5, 2, 3]");
  EXPECT_EQ(shape_string(load_npy_tensor(path("HN.npy")).shape()), "[1, 2, 3]");
  EXPECT_EQ(load_safetensors(path("G.safetensors")).tensors.count("h0"), 1u);
  EXPECT_EQ(read_text("err.txt"), "");
  std::set<std::string> want{"G.safetensors", "GO.npy",         "H0.npy", "HN.npy", "L.npy",
                             "W.safetensors", "WL.safetensors", "X.npy",  "Y.npy"};
  EXPECT_EQ(listing(), want);
}

TEST_F(ForwardErrors, MissingWeightsFile) {
  ExpectFailure("", "nope.safetensors", 0,
                "forward --weights nope.safetensors --input X.npy --output Y.npy");
}

TEST_F(ForwardErrors, MissingInputFile) {
  ExpectFailure("", "nope.npy", 0,
                "forward --weights W.safetensors --input nope.npy --output Y.npy");
}

TEST_F(ForwardErrors, TruncatedWeightsHeader) {
  write_bytes("T.safetensors", read_text("W.safetensors").substr(0, 20));
  ExpectFailure("", "T.safetensors: safetensors: header length", 1,
                "forward --weights T.safetensors --input X.npy --output Y.npy");
}

TEST_F(ForwardErrors, TruncatedWeightsData) {
  const std::string full = read_text("W.safetensors");
  write_bytes("T.safetensors", full.substr(0, full.size() - 4));
  ExpectFailure("", "truncated file?", 1,
                "forward --weights T.safetensors --input X.npy --output Y.npy");
}

TEST_F(ForwardErrors, EmptyWeightsFile) {
  write_bytes("E.safetensors", "");
  ExpectFailure("", "too short", 1, "forward --weights E.safetensors --input X.npy --output Y.npy");
}

TEST_F(ForwardErrors, InputWithWrongFeatureCount) {
  save_npy(path("X3.npy"), Tensor::full({5, 2, 3}, 0.5f));
  ExpectFailure("", "input has 3 features, but input_size is 4", 1,
                "forward --weights W.safetensors --input X3.npy --output Y.npy");
}

TEST_F(ForwardErrors, InputNot3D) {
  save_npy(path("X2.npy"), Tensor::full({10, 4}, 0.5f));
  ExpectFailure("", "3-D", 1, "forward --weights W.safetensors --input X2.npy --output Y.npy");
}

TEST_F(ForwardErrors, InputNotNpy) {
  ExpectFailure("", "not a .npy file", 1,
                "forward --weights W.safetensors --input W.safetensors --output Y.npy");
}

TEST_F(ForwardErrors, LengthsWithZero) {
  save_npy_int64(path("L0.npy"), {5, 0}, {2});
  ExpectFailure("--lengths L0.npy", "lengths[1] is 0, but each length must be in 1..5");
}

TEST_F(ForwardErrors, LengthsLongerThanSequence) {
  save_npy_int64(path("L6.npy"), {6, 1}, {2});
  ExpectFailure("--lengths L6.npy", "lengths[0] is 6, but each length must be in 1..5");
}

TEST_F(ForwardErrors, LengthsOfWrongCount) {
  save_npy_int64(path("L3.npy"), {5, 3, 2}, {3});
  ExpectFailure("--lengths L3.npy", "lengths has 3 entries, but the batch size is 2");
}

TEST_F(ForwardErrors, LengthsAsFloat32) {
  save_npy(path("LF.npy"), Tensor({2}, {5.0f, 3.0f}));
  ExpectFailure("--lengths LF.npy", "expected int64");
}

TEST_F(ForwardErrors, LengthsNot1D) {
  save_npy_int64(path("L2.npy"), {5, 3}, {1, 2});
  ExpectFailure("--lengths L2.npy", "lengths must be 1-D");
}

TEST_F(ForwardErrors, H0OfWrongShape) {
  save_npy(path("H0b.npy"), Tensor::full({2, 2, 3}, 0.25f));
  ExpectFailure("--h0 H0b.npy", "h0 must have shape [1, 2, 3], found [2, 2, 3]");
}

TEST_F(ForwardErrors, C0ForGru) {
  ExpectFailure("--h0 H0.npy --c0 H0.npy", "LSTM only, but the weights are a gru");
}

TEST_F(ForwardErrors, CnForGru) {
  ExpectFailure("--cn CN.npy", "LSTM only, but the weights are a gru");
  EXPECT_FALSE(exists("CN.npy"));
}

TEST_F(ForwardErrors, C0OfWrongShapeForLstm) {
  save_npy(path("C0.npy"), Tensor::full({1, 3, 3}, 0.25f));
  ExpectFailure("--h0 H0.npy --c0 C0.npy", "c0 must have shape [1, 2, 3], found [1, 3, 3]", 1,
                "forward --weights WL.safetensors --input X.npy --output Y.npy");
}

TEST_F(ForwardErrors, GradOutputOfWrongShape) {
  save_npy(path("GOb.npy"), Tensor::full({5, 2, 4}, 1.0f));
  ExpectFailure("--hn HN.npy --grad-output GOb.npy --grads G.safetensors",
                "grad_output must have shape [5, 2, 3]");
  EXPECT_FALSE(exists("HN.npy"));
}

TEST_F(ForwardErrors, GradHnOfWrongShape) {
  ExpectFailure("--grad-output GO.npy --grad-hn GO.npy --grads G.safetensors",
                "grad_h_n must have shape [1, 2, 3], found [5, 2, 3]");
}

TEST_F(ForwardErrors, GradsWithoutGradOutput) {
  ExpectFailure("--grads G.safetensors", "--grads and --grad-output go together");
}

TEST_F(ForwardErrors, GradOutputWithoutGrads) {
  ExpectFailure("--grad-output GO.npy", "--grads and --grad-output go together");
}

TEST_F(ForwardErrors, GradHnWithoutGradOutput) {
  save_npy(path("GHN.npy"), Tensor::full({1, 2, 3}, 1.0f));
  ExpectFailure("--grad-hn GHN.npy", "--grad-hn/--grad-cn need --grad-output");
}

TEST_F(ForwardErrors, UnknownOption) { ExpectFailure("--bogus 3", "--bogus", 0); }

TEST_F(ForwardErrors, MissingRequiredOutput) {
  ExpectFailure("", "--output", 0, "forward --weights W.safetensors --input X.npy");
}

TEST_F(ForwardErrors, NoSubcommand) { ExpectFailure("", "subcommand", 0, ""); }

TEST_F(ForwardErrors, ModeLstmOnGruWeights) {
  ExpectFailure("--mode lstm", "--mode lstm needs 4 gates, but the weights have 3");
}

TEST_F(ForwardErrors, ModeNotAMode) { ExpectFailure("--mode foo", "foo", 0); }

TEST_F(ForwardErrors, StateDictWithExtraTensor) {
  SafeTensors w = gru_weights_;
  w.tensors.emplace("fc.weight", Tensor::full({2, 3}, 0.0f));
  save_safetensors(path("WX.safetensors"), w);
  ExpectFailure("", "unexpected tensor 'fc.weight' for a gru", 1,
                "forward --weights WX.safetensors --input X.npy --output Y.npy");
}

TEST_F(ForwardErrors, StateDictWithMissingTensor) {
  SafeTensors w = gru_weights_;
  w.tensors.erase("bias_hh_l0");
  save_safetensors(path("WM.safetensors"), w);
  ExpectFailure("", "missing tensor 'bias_hh_l0'", 1,
                "forward --weights WM.safetensors --input X.npy --output Y.npy");
}

// A safetensors file with one tensor of `dtype` (2-byte elements), built byte by byte.
std::string half_precision_safetensors(const std::string& dtype) {
  std::string header =
      "{\"weight_ih_l0\":{\"dtype\":\"" + dtype + "\",\"shape\":[9,4],\"data_offsets\":[0,72]}}";
  header.append((8 - header.size() % 8) % 8, ' ');
  std::string bytes;
  for (int i = 0; i < 8; ++i) bytes += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return bytes + header + std::string(72, '\0');
}

TEST_F(ForwardErrors, Bf16Weights) {
  write_bytes("B.safetensors", half_precision_safetensors("BF16"));
  ExpectFailure("", "'weight_ih_l0' has dtype BF16; recur reads F32 only", 1,
                "forward --weights B.safetensors --input X.npy --output Y.npy");
}

TEST_F(ForwardErrors, F16Weights) {
  write_bytes("H.safetensors", half_precision_safetensors("F16"));
  ExpectFailure("", "'weight_ih_l0' has dtype F16; recur reads F32 only", 1,
                "forward --weights H.safetensors --input X.npy --output Y.npy");
}

// Disabled until forward.cc stages its outputs: today each file is renamed into place as
// soon as it is written, so a failure writing a later one (--hn, --grads) leaves the earlier
// ones (Y.npy, HN.npy) behind with exit status 1.
TEST_F(ForwardErrors, UnwritableHnLeavesNoOutput) {
  ExpectFailure("--hn missing_dir/HN.npy", "missing_dir/HN.npy");
}

TEST_F(ForwardErrors, UnwritableGradsLeavesNoOutput) {
  ExpectFailure("--hn HN.npy --grad-output GO.npy --grads missing_dir/G.safetensors",
                "missing_dir/G.safetensors");
  EXPECT_FALSE(exists("HN.npy"));
}

TEST_F(ForwardErrors, OutputIsADirectory) {
  fs::create_directory(path("out_dir"));
  ExpectFailure("", "out_dir", 1, "forward --weights W.safetensors --input X.npy --output out_dir");
}

// ---------------------------------------------------------------------------------------------
// Help.

TEST_F(CliTest, TopLevelHelp) {
  ASSERT_EQ(run("--help"), 0) << read_text("err.txt");
  const std::string out = read_text("out.txt");
  EXPECT_NE(out.find("forward"), std::string::npos) << out;
  EXPECT_NE(out.find("--help"), std::string::npos) << out;
  EXPECT_NE(out.find("--version"), std::string::npos) << out;
}

TEST_F(CliTest, ForwardHelp) {
  ASSERT_EQ(run("forward --help"), 0) << read_text("err.txt");
  const std::string out = read_text("out.txt");
  for (const char* option :
       {"--weights", "--input", "--output", "--mode", "--batch-first", "--lengths", "--h0", "--c0",
        "--hn", "--cn", "--grad-output", "--grad-hn", "--grad-cn", "--grads", "rnn_relu"})
    EXPECT_NE(out.find(option), std::string::npos) << option << " missing from:\n" << out;
  EXPECT_TRUE(listing().empty());
}

TEST_F(CliTest, Version) {
  ASSERT_EQ(run("--version"), 0) << read_text("err.txt");
  EXPECT_NE(read_text("out.txt").find("recur "), std::string::npos);
}

}  // namespace
}  // namespace recur
