// A model of your own on recur's tape: embedding -> bidirectional LSTM -> mean over the valid
// steps -> linear, trained with Adam to tell whether a token sequence contains the id 5.
// The same lines as the README's "Training your own model on the tape".
#include <cstdio>

#include "recur/recur.h"

int main() {
  recur::RnnOptions options;
  options.mode = recur::RnnMode::kLstm;
  options.input_size = 32;
  options.hidden_size = 64;
  options.bidirectional = true;

  recur::Rng rng(1);
  recur::nn::Embedding embed(/*vocab=*/10, /*dim=*/32, rng);
  recur::nn::Recurrent lstm(options, /*seed=*/2);
  recur::nn::Linear out(2 * 64, 2, /*bias=*/true, rng);
  recur::ParameterList params;
  for (recur::nn::Module* m :
       {static_cast<recur::nn::Module*>(&embed), static_cast<recur::nn::Module*>(&lstm),
        static_cast<recur::nn::Module*>(&out)})
    for (recur::Parameter* p : m->parameters()) params.push_back(p);
  recur::optim::AdamOptions adam_options;
  adam_options.lr = 1e-2f;
  auto adam = recur::optim::adam(params, adam_options);

  const int64_t T = 8, B = 16;
  recur::Rng data(3);
  for (int step = 1; step <= 150; ++step) {
    // A fresh batch: ids 0..9 (5 only in the positive half), lengths 1..T.
    std::vector<int64_t> ids(T * B), lengths(B), labels(B);
    for (int64_t b = 0; b < B; ++b) {
      lengths[b] = 1 + static_cast<int64_t>(data.next_u64() % T);
      labels[b] = b % 2;
      for (int64_t t = 0; t < T; ++t) {
        int64_t id = static_cast<int64_t>(data.next_u64() % 9);
        ids[t * B + b] = id >= 5 ? id + 1 : id;  // never 5 ...
      }
      if (labels[b]) ids[(data.next_u64() % lengths[b]) * B + b] = 5;  // ... unless positive
    }
    recur::ag::Tape tape;
    auto x = embed.forward(tape, ids, {T, B});
    auto r = lstm.forward(tape, x, lengths, {}, {}, &rng);
    auto pooled = recur::ag::mean_over_time(tape, r.output, lengths);
    auto loss = recur::ag::cross_entropy(tape, out.forward(tape, pooled), labels);
    adam->zero_grad();
    const float value = loss.value()[0];
    tape.backward(loss);
    recur::optim::clip_grad_norm(params, 1.0f);
    adam->step();
    if (step % 25 == 0) std::printf("step %3d  loss %.4f\n", step, value);
  }
  return 0;
}
