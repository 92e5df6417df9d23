// Rng: a small, fast, seedable generator (xoshiro256**), so the same seed gives the same
// weights on every platform. Leaves out: distributions beyond what recur needs.
#pragma once

#include <cstdint>

namespace recur {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0x5eed);
  uint64_t next_u64();
  float uniform();                    // [0, 1)
  float uniform(float lo, float hi);  // [lo, hi)
  float normal();                     // mean 0, standard deviation 1
  bool bernoulli(float p);            // true with probability p

  struct State {
    uint64_t s[4];
  };
  State state() const { return {{s_[0], s_[1], s_[2], s_[3]}}; }
  void set_state(const State& state);

 private:
  uint64_t s_[4];
};

}  // namespace recur
