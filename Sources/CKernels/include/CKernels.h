// CKernels — vectorized elementwise math for the engine (AVX2 + glibc libmvec).
//
// Every function works on contiguous float arrays of length n; src and dst may alias exactly
// (in place) but must not partially overlap. Results follow PyTorch's definitions; NaN and ±Inf
// propagate as in PyTorch (the target is built with -ffast-math but -fno-finite-math-only).
#pragma once
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// dst = exp(src), log(src), tanh(src), 1/(1+exp(-src))
void ck_exp(const float *src, float *dst, size_t n);
void ck_log(const float *src, float *dst, size_t n);
void ck_tanh(const float *src, float *dst, size_t n);
void ck_sigmoid(const float *src, float *dst, size_t n);
// dst = softplus(src) with PyTorch's defaults: src > 20 ? src : log1p(exp(src))
void ck_softplus(const float *src, float *dst, size_t n);
// dst = src > 0 ? src : slope * src
void ck_leaky_relu(const float *src, float *dst, size_t n, float slope);

// Backward helpers. `y` is the forward output, `x` the forward input, `g` dL/d(output).
// dx = g * (1 - y*y)
void ck_tanh_backward(const float *y, const float *g, float *dx, size_t n);
// dx = g * y * (1 - y)
void ck_sigmoid_backward(const float *y, const float *g, float *dx, size_t n);
// dx = x > 20 ? g : g * sigmoid(x)
void ck_softplus_backward(const float *x, const float *g, float *dx, size_t n);
// dx = g * (x > 0 ? 1 : slope)
void ck_leaky_relu_backward(const float *x, const float *g, float *dx, size_t n, float slope);

// WaveNet gate: out = tanh(a + offset_a) * sigmoid(b + offset_b)
// (VITS fused_add_tanh_sigmoid_multiply; the offsets carry a per-channel conditioning value).
void ck_gate(const float *a, const float *b, float offset_a, float offset_b, float *out, size_t n);
// Gate backward: da = g * s * (1 - t*t), db = g * t * s * (1 - s), with t, s recomputed from a, b.
void ck_gate_backward(const float *a, const float *b, float offset_a, float offset_b,
                      const float *g, float *da, float *db, size_t n);

// Σ src[i], 8 lanes of partial sums (order differs from a sequential sum by rounding only).
float ck_sum(const float *src, size_t n);

// Layer norm over the channel axis of one batch item x [channels, length] (VITS modules.LayerNorm),
// for the columns t0..<t1. Writes y, and mean[t], rstd[t] = 1/sqrt(var + eps) (biased variance) for
// the backward pass.
void ck_layernorm_channels_forward(const float *x, const float *gamma, const float *beta, float *y,
                                   float *mean, float *rstd, size_t channels, size_t length,
                                   size_t t0, size_t t1, float eps);
// Its backward for the same columns: dx = rstd·(dy·γ − mean_c(dy·γ) − x̂·mean_c(dy·γ·x̂)) (dx may be
// NULL), dgamma[c] += Σ_t dy·x̂, dbeta[c] += Σ_t dy (either may be NULL). scratch: 2·(t1 − t0) floats.
void ck_layernorm_channels_backward(const float *x, const float *gamma, const float *mean, const float *rstd,
                                    const float *dy, float *dx, float *dgamma, float *dbeta, float *scratch,
                                    size_t channels, size_t length, size_t t0, size_t t1);

// CPU features (cpuid), for choosing BLAS kernels: 1 when present.
// AdamW update of n parameters in place (torch.optim.AdamW's single-tensor formula, bit-exact:
// see ck_optim.c). decays: apply x·decay first (weight decay ≠ 0).
typedef struct {
    float decay;                 // 1 − lr·weight_decay
    int decays;
    float weight;                // 1 − β1, the lerp weight of exp_avg
    float beta2, one_minus_beta2;
    float step_size;             // −lr / (1 − β1^t)
    float bias_correction2_sqrt; // √(1 − β2^t)
    float eps;
} ck_adamw_constants;
void ck_adamw(float *x, const float *g, float *m, float *v, size_t n, const ck_adamw_constants *c);

int ck_cpu_has_avx2_fma(void);
int ck_cpu_has_avx512(void);   // AVX-512 F, BW, DQ, VL (OpenBLAS's SkylakeX kernels)

#ifdef __cplusplus
}
#endif
