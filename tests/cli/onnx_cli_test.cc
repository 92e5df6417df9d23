// `recur onnx-test`, `recur export --onnx` and `recur forward --onnx`, run as a user would.
#include <cmath>

#include "cli/cli_test.h"
#include "recur/io.h"
#include "recur/onnx.h"
#include "recur/rnn.h"

namespace recur {
namespace {

const std::string kCases = std::string(RECUR_SOURCE_DIR) + "/tests/onnx/cases/";

using OnnxCli = CliTest;

TEST_F(OnnxCli, OnnxTestCountsPassesAndFailures) {
  ASSERT_EQ(run("onnx-test " + quote(kCases + "lstm_peepholes") + " " +
                quote(kCases + "gru_bidirectional_lbr0_seq_lens")),
            0)
      << read_text("err.txt");
  EXPECT_EQ(read_text("out.txt"), "2 passed, 0 failed\n");

  // A case whose expected output is wrong fails, named, with the worst difference.
  fs::copy(kCases + "rnn_reverse_relu", path("broken"), fs::copy_options::recursive);
  onnx::Value y = onnx::read_tensor_pb(path("broken/test_data_set_0/output_0.pb"));
  y.f[3] += 0.5f;
  onnx::write_tensor_pb(path("broken/test_data_set_0/output_0.pb"), y, "Y");
  EXPECT_EQ(run("onnx-test broken " + quote(kCases + "rnn_clip")), 1);
  const std::string out = read_text("out.txt");
  EXPECT_NE(out.find("FAIL broken: test_data_set_0 output 0"), std::string::npos) << out;
  EXPECT_NE(out.find("1 of "), std::string::npos) << out;
  EXPECT_EQ(out.substr(out.rfind('\n', out.size() - 2) + 1), "1 passed, 1 failed\n");

  EXPECT_EQ(run("onnx-test nowhere"), 1);
  EXPECT_NE(read_text("out.txt").find("FAIL nowhere: nowhere: not a directory"), std::string::npos);
}

TEST_F(OnnxCli, ExportThenForwardMatchesTheWeights) {
  RnnOptions o;
  o.mode = RnnMode::kGru;
  o.input_size = 3;
  o.hidden_size = 4;
  o.num_layers = 2;
  o.bidirectional = true;
  Rnn rnn(o, 9);
  SafeTensors sd;
  sd.tensors = rnn.state_dict();
  save_safetensors(path("gru.safetensors"), sd);
  Tensor x({5, 2, 3});
  for (int64_t k = 0; k < x.numel(); ++k) x[k] = std::sin(0.7f * static_cast<float>(k));
  save_npy(path("x.npy"), x);

  ASSERT_EQ(run("export --onnx gru.safetensors -o gru.onnx"), 0) << read_text("err.txt");
  EXPECT_NE(read_text("out.txt").find("gru stack (2 layer(s), bidirectional)"), std::string::npos);
  ASSERT_EQ(run("forward --weights gru.safetensors --input x.npy --output a.npy --hn ha.npy"), 0)
      << read_text("err.txt");
  ASSERT_EQ(run("forward --onnx gru.onnx --input x.npy --output b.npy --hn hb.npy "
                "--fetch output=c.npy"),
            0)
      << read_text("err.txt");
  for (auto [want, got] : {std::pair<const char*, const char*>{"a.npy", "b.npy"},
                           {"ha.npy", "hb.npy"},
                           {"a.npy", "c.npy"}}) {
    const Tensor a = load_npy_tensor(path(want)), b = load_npy_tensor(path(got));
    ASSERT_EQ(a.shape(), b.shape());
    for (int64_t k = 0; k < a.numel(); ++k) EXPECT_NEAR(a[k], b[k], 1e-5f) << got << " " << k;
  }
}

TEST_F(OnnxCli, ForwardOnnxFeedsByName) {
  const std::string dir = kCases + "torch_char_lm_lstm2/";
  const onnx::Model model = onnx::Model::load(dir + "model.onnx");
  ASSERT_EQ(model.inputs().size(), 3u);
  for (size_t k = 0; k < 3; ++k) {
    const onnx::Value v =
        onnx::read_tensor_pb(dir + "test_data_set_0/input_" + std::to_string(k) + ".pb");
    if (v.is_float())
      save_npy(path("in" + std::to_string(k) + ".npy"), v.to_tensor());
    else
      save_npy_int64(path("in" + std::to_string(k) + ".npy"), v.i, v.shape);
  }
  const std::string feeds = " --feed " + model.inputs()[1].name + "=in1.npy --feed " +
                            model.inputs()[2].name + "=in2.npy";
  ASSERT_EQ(run("forward --onnx " + quote(dir + "model.onnx") + " --input in0.npy" + feeds +
                " --output logits.npy"),
            0)
      << read_text("err.txt");
  const Tensor got = load_npy_tensor(path("logits.npy"));
  const onnx::Value want = onnx::read_tensor_pb(dir + "test_data_set_0/output_0.pb");
  ASSERT_EQ(got.shape(), want.shape);
  for (int64_t k = 0; k < got.numel(); ++k) EXPECT_NEAR(got[k], want.f[k], 1e-5f);

  EXPECT_EQ(run("forward --onnx " + quote(dir + "model.onnx") + " --input in0.npy --output o.npy"),
            1);
  EXPECT_NE(read_text("err.txt").find("is not given"), std::string::npos) << read_text("err.txt");
  EXPECT_EQ(run("forward --onnx " + quote(dir + "model.onnx") + " --input in0.npy" + feeds +
                " --output o.npy --fetch nothing=z.npy"),
            1);
  EXPECT_NE(read_text("err.txt").find("the model has no output 'nothing'"), std::string::npos);
  EXPECT_FALSE(exists("o.npy"));
  EXPECT_EQ(run("forward --onnx " + quote(dir + "model.onnx") +
                " --input in0.npy --lengths in0.npy --output o.npy"),
            1);
  EXPECT_NE(read_text("err.txt").find("--feed NAME=FILE.npy"), std::string::npos);
  EXPECT_EQ(run("forward --input in0.npy --output o.npy"), 1);
  EXPECT_NE(read_text("err.txt").find("--weights STATE_DICT.safetensors or --onnx"),
            std::string::npos);
}

TEST_F(OnnxCli, ExportRefusesClearly) {
  write_bytes("junk.safetensors", "not a safetensors file");
  EXPECT_EQ(run("export --onnx junk.safetensors -o m.onnx"), 1);
  EXPECT_NE(read_text("err.txt").find("recur: error: "), std::string::npos);
  EXPECT_FALSE(exists("m.onnx"));
  EXPECT_NE(run("export --onnx missing.safetensors -o m.onnx"), 0);
}

}  // namespace
}  // namespace recur
