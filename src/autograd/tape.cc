// Tape and Var: recording ops and running their backward closures in reverse.
// Leaves out: the ops themselves (ops.cc, rnn_op.cc).
#include "recur/autograd.h"
#include "recur/error.h"

namespace recur::ag {

const Tensor& Var::value() const {
  RECUR_CHECK(node_ != nullptr, "autograd: use of an undefined Var");
  return node_->get();
}

bool Var::requires_grad() const { return node_ != nullptr && node_->requires_grad; }

const Tensor& Var::grad() const {
  RECUR_CHECK(node_ != nullptr, "autograd: use of an undefined Var");
  return node_->parameter ? node_->parameter->grad : node_->grad;
}

Tensor& Var::Node::grad_buffer() {
  Tensor& g = parameter ? parameter->grad : grad;
  if (g.shape() != get().shape()) g = Tensor(get().shape());
  return g;
}

Var Tape::constant(Tensor value) {
  auto node = std::make_shared<Var::Node>();
  node->value = std::move(value);
  return Var(std::move(node));
}

Var Tape::parameter(Parameter& parameter) {
  RECUR_CHECK(parameter.value != nullptr,
              "autograd: parameter '" + parameter.name + "' has no value");
  auto node = std::make_shared<Var::Node>();
  node->external = parameter.value;
  node->parameter = &parameter;
  node->requires_grad = training_;
  return Var(std::move(node));
}

Var Tape::result(Tensor value, bool requires_grad) {
  auto node = std::make_shared<Var::Node>();
  node->value = std::move(value);
  node->requires_grad = requires_grad && training_;
  return Var(std::move(node));
}

void Tape::record(std::function<void()> backward) {
  if (training_) ops_.push_back(std::move(backward));
}

void Tape::backward(const Var& loss) {
  RECUR_CHECK(loss.defined(), "autograd: backward of an undefined Var");
  RECUR_CHECK(loss.value().numel() == 1, "autograd: backward needs a loss with one element, got " +
                                             shape_string(loss.shape()));
  if (loss.requires_grad()) {
    loss.node()->grad_buffer()[0] += 1.0f;
    for (auto it = ops_.rbegin(); it != ops_.rend(); ++it) (*it)();
  }
  clear();
}

void Tape::clear() { ops_.clear(); }

}  // namespace recur::ag
