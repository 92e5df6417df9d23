// A downstream project: builds against an installed recur found with find_package(recur).
#include <recur/recur.h>

#include <cstdio>

int main() {
  recur::RnnOptions options;
  options.mode = recur::RnnMode::kGru;
  options.input_size = 3;
  options.hidden_size = 4;
  recur::Rnn gru(options, 1);
  recur::RnnOutput out = gru.forward(recur::Tensor({3, 2, 3}));
  std::printf("output %s\n", recur::shape_string(out.output.shape()).c_str());
  return 0;
}
