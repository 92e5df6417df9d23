// The recurrent stack as one tape op: forward_train() now, Rnn::backward() (BPTT over the
// saved workspace) when the tape runs backward.
// Leaves out: the recurrence itself (src/rnn).
#include "recur/autograd.h"
#include "recur/error.h"

namespace recur::ag {
namespace {

void accumulate(Tensor& dst, const Tensor& src) {
  if (dst.shape() != src.shape()) {
    dst = src;
    return;
  }
  float* d = dst.data();
  const float* s = src.data();
  for (int64_t i = 0; i < dst.numel(); ++i) d[i] += s[i];
}

}  // namespace

RnnVars rnn(Tape& tape, const Rnn& rnn, const std::vector<Parameter*>& parameters, const Var& input,
            const std::vector<int64_t>& lengths, const Var& h0, const Var& c0, Rng* rng,
            std::shared_ptr<RnnWorkspace> workspace) {
  const auto& names = rnn.parameter_names();
  RECUR_CHECK(parameters.size() == names.size(), "rnn op: " + std::to_string(parameters.size()) +
                                                     " parameters given, the RNN has " +
                                                     std::to_string(names.size()));
  for (size_t k = 0; k < names.size(); ++k)
    RECUR_CHECK(parameters[k] != nullptr && parameters[k]->value == &rnn.parameter(names[k]),
                "rnn op: parameter " + std::to_string(k) + " is not the RNN's " + names[k]);
  RnnArgs args;
  args.lengths = lengths;
  if (h0.defined()) args.h0 = h0.value();
  if (c0.defined()) args.c0 = c0.value();
  if (!tape.training()) {
    RnnOutput out = rnn.forward(input.value(), args);
    RnnVars vars;
    vars.output = tape.result(std::move(out.output), false);
    vars.h_n = tape.result(std::move(out.h_n), false);
    if (out.c_n.defined()) vars.c_n = tape.result(std::move(out.c_n), false);
    return vars;
  }
  if (!workspace) workspace = std::make_shared<RnnWorkspace>();
  RnnOutput out = rnn.forward_train(input.value(), args, workspace.get(), rng);
  RnnVars vars;
  vars.output = tape.result(std::move(out.output), true);
  vars.h_n = tape.result(std::move(out.h_n), true);
  if (out.c_n.defined()) vars.c_n = tape.result(std::move(out.c_n), true);
  tape.record([&rnn, parameters, input, h0, c0, vars, workspace] {
    const Tensor& gy = vars.output.node()->grad;
    const Tensor& ghn = vars.h_n.node()->grad;
    const Tensor empty;
    const Tensor& gcn = vars.c_n.defined() ? vars.c_n.node()->grad : empty;
    if (gy.empty() && ghn.empty() && gcn.empty()) return;
    Tensor zeros;
    if (gy.empty()) zeros = Tensor(vars.output.shape());
    RnnGrads g = rnn.backward(*workspace, gy.empty() ? zeros : gy, ghn, gcn);
    const auto& names = rnn.parameter_names();
    for (size_t k = 0; k < names.size(); ++k) {
      auto it = g.parameters.find(names[k]);
      RECUR_ASSERT(it != g.parameters.end());
      accumulate(parameters[k]->grad, it->second);
    }
    if (input.requires_grad()) accumulate(input.node()->grad_buffer(), g.input);
    if (h0.requires_grad() && g.h0.defined()) accumulate(h0.node()->grad_buffer(), g.h0);
    if (c0.requires_grad() && g.c0.defined()) accumulate(c0.node()->grad_buffer(), g.c0);
  });
  return vars;
}

}  // namespace recur::ag
