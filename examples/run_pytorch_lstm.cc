// Worked example: load a torch.nn.LSTM state_dict saved as safetensors, run it on a batch of
// variable-length sequences, then stream the same sequence one step at a time.
// When the file is one of recur's reference fixtures (scripts/gen_reference.py), it also
// compares recur's output with PyTorch's.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "recur/recur.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s STATE_DICT.safetensors\n", argv[0]);
    return 2;
  }
  try {
    recur::SafeTensors file = recur::load_safetensors(argv[1]);
    std::map<std::string, recur::Tensor> weights;
    for (auto& [name, t] : file.tensors)
      if (name.rfind("weight_", 0) == 0 || name.rfind("bias_", 0) == 0) weights.emplace(name, t);
    recur::RnnOptions options = recur::Rnn::from_state_dict(weights).options();
    options.batch_first =
        file.metadata.count("batch_first") && file.metadata["batch_first"] == "true";
    recur::Rnn rnn(options);
    rnn.load_state_dict(weights);
    std::printf(
        "loaded %s: %s, input_size %lld, hidden_size %lld, proj_size %lld, %lld layer(s), %s\n",
        argv[1], recur::mode_name(options.mode).c_str(), (long long)options.input_size,
        (long long)options.hidden_size, (long long)options.proj_size, (long long)options.num_layers,
        options.bidirectional ? "bidirectional" : "unidirectional");

    const int64_t T = 5, B = 3;
    recur::Rng rng(7);
    recur::Tensor x(options.batch_first ? recur::Shape{B, T, options.input_size}
                                        : recur::Shape{T, B, options.input_size});
    for (int64_t i = 0; i < x.numel(); ++i) x[i] = rng.normal();
    recur::RnnArgs args;
    args.lengths = {5, 2, 4};
    if (file.tensors.count("input")) {
      x = file.tensors["input"];
      const std::string lengths = file.metadata["lengths"];
      args.lengths.clear();
      if (!lengths.empty())
        args.lengths = nlohmann::json::parse(lengths).get<std::vector<int64_t>>();
      if (file.metadata["has_h0"] == "true") {
        args.h0 = file.tensors["h0"];
        if (file.tensors.count("c0")) args.c0 = file.tensors["c0"];
      }
    }
    recur::RnnOutput out = rnn.forward(x, args);
    std::printf("input %s -> output %s, h_n %s\n", recur::shape_string(x.shape()).c_str(),
                recur::shape_string(out.output.shape()).c_str(),
                recur::shape_string(out.h_n.shape()).c_str());
    if (file.tensors.count("output")) {
      const recur::Tensor& ref = file.tensors["output"];
      float worst = 0;
      for (int64_t i = 0; i < ref.numel(); ++i)
        worst = std::max(worst, std::abs(ref[i] - out.output[i]));
      std::printf("max |recur - PyTorch| over the output: %.3g\n", worst);
    }

    if (!options.bidirectional) {
      recur::RnnState state = rnn.initial_state(1);
      std::printf("streaming one sequence step by step:\n");
      for (int64_t t = 0; t < 3; ++t) {
        recur::Tensor xt({1, options.input_size});
        for (int64_t i = 0; i < xt.numel(); ++i) xt[i] = rng.normal();
        recur::Tensor y = rnn.step(xt, &state);
        std::printf("  t=%lld y[0..2] = %.5f %.5f\n", (long long)t, y[0], y[1]);
      }
    }
  } catch (const recur::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
