// Parameter: a trainable tensor as the optimizers see it. Its value lives in the module that
// owns it (an Embedding's table, an Rnn's weight_ih_l0, ...); its gradient is accumulated here
// by backward passes and read by the optimizers.
// Leaves out: ownership. A module's parameters must stay where they are (no move, no copy of
// the module) for as long as an optimizer or a tape refers to them.
#pragma once

#include <string>
#include <vector>

#include "recur/tensor.h"

namespace recur {

struct Parameter {
  std::string name;  // PyTorch-style, e.g. "rnn.weight_ih_l0"
  Tensor* value = nullptr;
  Tensor grad;  // same shape as *value once a backward pass has touched it

  // Zeros the gradient, allocating it on first use.
  void zero_grad();
};

using ParameterList = std::vector<Parameter*>;

}  // namespace recur
