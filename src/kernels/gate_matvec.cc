// GateMatVec (see gate_matvec.h): packing and the two kernels. The kernels are compiled for
// AVX-512 (and avx512_bf16) whatever the build's target (function attributes) and only called
// where available() says the CPU has it, so a portable build keeps them too.
#include "kernels/gate_matvec.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "kernels/bf16.h"
#include "kernels/bf16_panels.h"
#include "kernels/f32_panels.h"

// GCC 12 reports the intrinsics' own _mm512_undefined_* temporaries as maybe uninitialized when
// they are inlined into a function with a target attribute (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#define RECUR_AVX512_TARGET __attribute__((target("avx512f")))
#define RECUR_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

namespace recur::kernels {

namespace {

constexpr int64_t kChunkBytes = 64;                        // of one row: 16 floats or 32 bf16
constexpr int64_t kRows = GateMatVec::kBlock;              // rows of a block
constexpr int64_t kBlockChunkBytes = kRows * kChunkBytes;  // a chunk of a block: 1 KiB

// The 16 lane sums of acc[0..16), acc[r]'s in lane r: four rounds of shuffles and adds, each
// halving the lanes a row spreads over (15 adds instead of 16 reductions of 16 lanes).
RECUR_AVX512_TARGET inline __attribute__((always_inline)) __m512 sums_of_16(const __m512* acc) {
  __m512 s1[8], s2[4], s3[2];
  // s1[i]: rows 2i (lanes 0-7) and 2i+1 (lanes 8-15), 8 partial sums each.
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i)
    s1[i] = _mm512_add_ps(_mm512_shuffle_f32x4(acc[2 * i], acc[2 * i + 1], 0x44),
                          _mm512_shuffle_f32x4(acc[2 * i], acc[2 * i + 1], 0xEE));
    // s2[j]: rows 4j..4j+3, one per 128-bit quarter, 4 partial sums each.
#pragma GCC unroll 8
  for (int j = 0; j < 4; ++j)
    s2[j] = _mm512_add_ps(_mm512_shuffle_f32x4(s1[2 * j], s1[2 * j + 1], 0x88),
                          _mm512_shuffle_f32x4(s1[2 * j], s1[2 * j + 1], 0xDD));
    // s3[m], quarter q: rows 8m + q (lanes 0-1) and 8m + 4 + q (lanes 2-3), 2 partial sums each.
#pragma GCC unroll 8
  for (int m = 0; m < 2; ++m)
    s3[m] = _mm512_add_ps(_mm512_shuffle_ps(s2[2 * m], s2[2 * m + 1], 0x44),
                          _mm512_shuffle_ps(s2[2 * m], s2[2 * m + 1], 0xEE));
  // Quarter q: rows q, 4 + q, 8 + q, 12 + q; lane 4q + k holds row 4k + q.
  const __m512 t =
      _mm512_add_ps(_mm512_shuffle_ps(s3[0], s3[1], 0x88), _mm512_shuffle_ps(s3[0], s3[1], 0xDD));
  const __m512i rows = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  return _mm512_permutexvar_ps(rows, t);
}

// y[0, n) = 16 rows of `chunks` float chunks (w) times a, n <= 16.
RECUR_AVX512_TARGET void block_f32(const char* w, int64_t chunks, const char* a, float* y, int n,
                                   bool accumulate) {
  __m512 acc[kRows];
#pragma GCC unroll 16
  for (int r = 0; r < kRows; ++r) acc[r] = _mm512_setzero_ps();
  for (int64_t c = 0; c < chunks; ++c) {
    const __m512 x = _mm512_load_ps(a + c * kChunkBytes);
    const char* p = w + c * kBlockChunkBytes;
#pragma GCC unroll 16
    for (int r = 0; r < kRows; ++r)
      acc[r] = _mm512_fmadd_ps(_mm512_load_ps(p + r * kChunkBytes), x, acc[r]);
  }
  const auto m = static_cast<__mmask16>((1u << n) - 1);
  __m512 sums = sums_of_16(acc);
  if (accumulate) sums = _mm512_add_ps(sums, _mm512_maskz_loadu_ps(m, y));
  _mm512_mask_storeu_ps(y, m, sums);
}

// The same with bf16 chunks: each lane multiplies a pair of weights by a pair of inputs.
RECUR_BF16_TARGET void block_bf16(const char* w, int64_t chunks, const char* a, float* y, int n,
                                  bool accumulate) {
  __m512 acc[kRows];
#pragma GCC unroll 16
  for (int r = 0; r < kRows; ++r) acc[r] = _mm512_setzero_ps();
  for (int64_t c = 0; c < chunks; ++c) {
    const __m512bh x = (__m512bh)_mm512_load_si512(a + c * kChunkBytes);
    const char* p = w + c * kBlockChunkBytes;
#pragma GCC unroll 16
    for (int r = 0; r < kRows; ++r)
      acc[r] = _mm512_dpbf16_ps(acc[r], (__m512bh)_mm512_load_si512(p + r * kChunkBytes), x);
  }
  const auto m = static_cast<__mmask16>((1u << n) - 1);
  __m512 sums = sums_of_16(acc);
  if (accumulate) sums = _mm512_add_ps(sums, _mm512_maskz_loadu_ps(m, y));
  _mm512_mask_storeu_ps(y, m, sums);
}

// y[0, n) (+)= Σ_k a[k] · block row k (16 floats each, K rows), n <= 16.
RECUR_AVX512_TARGET void column_block(const float* w, int64_t K, const float* a, float* y, int n,
                                      bool accumulate) {
  constexpr int kAcc = 8;  // rows in flight: a multiply-add's latency over its throughput
  __m512 acc[kAcc];
#pragma GCC unroll 8
  for (int j = 0; j < kAcc; ++j) acc[j] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + kAcc <= K; k += kAcc)
#pragma GCC unroll 8
    for (int j = 0; j < kAcc; ++j)
      acc[j] =
          _mm512_fmadd_ps(_mm512_load_ps(w + (k + j) * kRows), _mm512_set1_ps(a[k + j]), acc[j]);
  for (; k < K; ++k)
    acc[0] = _mm512_fmadd_ps(_mm512_load_ps(w + k * kRows), _mm512_set1_ps(a[k]), acc[0]);
  const __m512 s =
      _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])),
                    _mm512_add_ps(_mm512_add_ps(acc[4], acc[5]), _mm512_add_ps(acc[6], acc[7])));
  const auto m = static_cast<__mmask16>((1u << n) - 1);
  _mm512_mask_storeu_ps(y, m, accumulate ? _mm512_add_ps(s, _mm512_maskz_loadu_ps(m, y)) : s);
}

// A 64-byte aligned block of `bytes` zeros in v (grown if needed, never shrunk).
char* align64(std::vector<char>& v, int64_t bytes) {
  if (static_cast<int64_t>(v.size()) < bytes + 64) v.resize(bytes + 64);
  const auto p = reinterpret_cast<uintptr_t>(v.data());
  char* at = v.data() + ((64 - p % 64) % 64);
  std::memset(at, 0, bytes);
  return at;
}

}  // namespace

bool GateMatVec::available(bool bf16) {
  return bf16 ? bf16_panels::available() : f32_panels::available();
}

GateMatVec::GateMatVec(const std::vector<Gate>& gates, int64_t H, int64_t K1, int64_t K2, bool bf16,
                       std::vector<char>* storage)
    : gates_(static_cast<int>(gates.size())), H_(H), K1_(K1), K2_(K2), bf16_(bf16) {
  const int64_t per_chunk = bf16 ? 32 : 16;  // values of a row in a chunk
  c1_ = (K1 + per_chunk - 1) / per_chunk;
  c2_ = (K2 + per_chunk - 1) / per_chunk;
  for (const Gate& g : gates) {
    first_.push_back(g.w1 ? 0 : static_cast<int>(c1_));
    count_.push_back(static_cast<int>((g.w1 ? c1_ : 0) + (g.w2 ? c2_ : 0)));
  }
  const int64_t B = blocks();
  int64_t chunks = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int p = 0; p < gates_; ++p) {
      offset_.push_back(chunks);
      chunks += count_[p];
    }
  packed_ = align64(storage ? *storage : storage_, chunks * kBlockChunkBytes);
  input_ = align64(input_storage_, (c1_ + c2_) * kChunkBytes);
  // Row i of block b, gate p, chunk c (of the whole input [a1 | a2]): 64 bytes at
  // ((offset + c - first) * 16 + i) * 64; rows past H and columns past K1 or K2 stay zero.
  // Each row is read once, from first to last value.
  for (int64_t b = 0; b < B; ++b)
    for (int p = 0; p < gates_; ++p) {
      char* block = packed_ + offset_[b * gates_ + p] * kBlockChunkBytes;
      for (int64_t i = 0; i < kRows && b * kRows + i < H; ++i) {
        const int64_t u = b * kRows + i;
        const auto put = [&](const float* row, int64_t K, int64_t chunk0) {
          for (int64_t k = 0; k < K; k += per_chunk) {
            const int64_t n = std::min(per_chunk, K - k);
            char* at = block + ((chunk0 + k / per_chunk - first_[p]) * kRows + i) * kChunkBytes;
            if (bf16)
              to_bf16(row + k, n, reinterpret_cast<uint16_t*>(at));
            else if (n == per_chunk)
              std::memcpy(at, row + k, kChunkBytes);  // inlined: a call per chunk costs more
            else
              std::memcpy(at, row + k, n * sizeof(float));
          }
        };
        if (gates[p].w1) put(gates[p].w1 + u * K1, K1, 0);
        if (gates[p].w2) put(gates[p].w2 + u * K2, K2, c1_);
      }
    }
}

void GateMatVec::load(const float* a1, const float* a2) {
  const int64_t per_chunk = bf16_ ? 32 : 16;
  if (bf16_) {
    auto* in = reinterpret_cast<uint16_t*>(input_);
    to_bf16(a1, K1_, in);
    to_bf16(a2, K2_, in + c1_ * per_chunk);
  } else {
    auto* in = reinterpret_cast<float*>(input_);
    std::copy_n(a1, K1_, in);
    std::copy_n(a2, K2_, in + c1_ * per_chunk);
  }
}

void GateMatVec::multiply(int64_t b0, int64_t b1, float* const* out, bool reverse,
                          bool accumulate) const {
  const int64_t n = (b1 - b0) * gates_;
  for (int64_t s = 0; s < n; ++s) {
    const int64_t q = b0 * gates_ + (reverse ? n - 1 - s : s);
    const int64_t b = q / gates_;
    const int p = static_cast<int>(q % gates_);
    const char* w = packed_ + offset_[q] * kBlockChunkBytes;
    const char* a = input_ + first_[p] * kChunkBytes;
    const int rows = static_cast<int>(std::min<int64_t>(kRows, H_ - b * kRows));
    if (bf16_)
      block_bf16(w, count_[p], a, out[p] + b * kRows, rows, accumulate);
    else
      block_f32(w, count_[p], a, out[p] + b * kRows, rows, accumulate);
  }
}

ColumnMatVec::ColumnMatVec(const float* w, int64_t K, int64_t N, int64_t ldw,
                           std::vector<char>* storage)
    : K_(K), N_(N) {
  if (ldw <= 0) ldw = N;
  const int64_t B = blocks();
  packed_ = reinterpret_cast<float*>(
      align64(storage ? *storage : storage_, B * K * kRows * static_cast<int64_t>(sizeof(float))));
  // Block b, row k: W[k, 16b .. 16b + 16) at (b * K + k) * 16; columns past N stay zero.
  for (int64_t k = 0; k < K; ++k)
    for (int64_t b = 0; b < B; ++b) {
      const int64_t n = std::min(kRows, N - b * kRows);
      float* at = packed_ + (b * K + k) * kRows;
      if (n == kRows)
        std::memcpy(at, w + k * ldw + b * kRows, kChunkBytes);
      else
        std::memcpy(at, w + k * ldw + b * kRows, n * sizeof(float));
    }
}

void ColumnMatVec::multiply(int64_t b0, int64_t b1, const float* a, float* y, bool accumulate,
                            bool reverse) const {
  for (int64_t s = 0; s < b1 - b0; ++s) {
    const int64_t b = reverse ? b1 - 1 - s : b0 + s;
    const int n = static_cast<int>(std::min(kRows, N_ - b * kRows));
    column_block(packed_ + b * K_ * kRows, K_, a, y + b * kRows, n, accumulate);
  }
}

}  // namespace recur::kernels
