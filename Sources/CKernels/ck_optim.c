// Optimizer updates. Unlike the rest of CKernels these must give exactly the bits of the
// plain IEEE formula (no FMA contraction, no reassociation, no reciprocal estimates): a run
// resumed on a newer binary continues bit-for-bit, and the update matches the one checked
// against torch.optim.AdamW. `float_control(precise)` switches reassociation and reciprocal
// estimates off for this file, but the target's -ffp-contract=fast (from -ffast-math) still fuses
// a product into the following sum; `KEEP` hides a value from the optimizer (an empty asm
// statement, no instruction) so that every product is rounded before it is added.
#pragma float_control(precise, on, push)
#include "CKernels.h"
#include <immintrin.h>
#include <math.h>

#define KEEP(value) __asm__("" : "+x"(value))

// One element of torch's AdamW (single-tensor path), in the order of its operations.
static inline void adamw_scalar(float *x, float g, float *m, float *v, const ck_adamw_constants *c) {
    float xv = *x;
    if (c->decays) { xv = xv * c->decay; KEEP(xv); }
    float d = g - *m;
    // torch.lerp: weight < 0.5 → m + w·(g − m), else g − (g − m)·(1 − w), each one fused multiply-add.
    float mv = c->weight < 0.5f ? fmaf(c->weight, d, *m) : fmaf(-d, 1.0f - c->weight, g);
    float old = *v * c->beta2, fresh = (c->one_minus_beta2 * g) * g;
    KEEP(old); KEEP(fresh);
    float vv = old + fresh;
    float denom = sqrtf(vv) / c->bias_correction2_sqrt + c->eps;
    *m = mv;
    *v = vv;
    *x = xv + (c->step_size * mv) / denom;
}

void ck_adamw(float *x, const float *g, float *m, float *v, size_t n, const ck_adamw_constants *c) {
    const __m256 decay = _mm256_set1_ps(c->decay), w = _mm256_set1_ps(c->weight);
    const __m256 one_minus_w = _mm256_set1_ps(1.0f - c->weight);
    const __m256 b2 = _mm256_set1_ps(c->beta2), c2 = _mm256_set1_ps(c->one_minus_beta2);
    const __m256 bc2 = _mm256_set1_ps(c->bias_correction2_sqrt), eps = _mm256_set1_ps(c->eps);
    const __m256 step = _mm256_set1_ps(c->step_size), sign = _mm256_set1_ps(-0.0f);
    const int low_weight = c->weight < 0.5f;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 xv = _mm256_loadu_ps(x + i), gv = _mm256_loadu_ps(g + i);
        __m256 mv = _mm256_loadu_ps(m + i), vv = _mm256_loadu_ps(v + i);
        if (c->decays) { xv = _mm256_mul_ps(xv, decay); KEEP(xv); }
        __m256 d = _mm256_sub_ps(gv, mv);
        mv = low_weight ? _mm256_fmadd_ps(w, d, mv) : _mm256_fmadd_ps(_mm256_xor_ps(d, sign), one_minus_w, gv);
        __m256 old = _mm256_mul_ps(vv, b2), fresh = _mm256_mul_ps(_mm256_mul_ps(c2, gv), gv);
        KEEP(old); KEEP(fresh);
        vv = _mm256_add_ps(old, fresh);
        __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vv), bc2), eps);
        xv = _mm256_add_ps(xv, _mm256_div_ps(_mm256_mul_ps(step, mv), denom));
        _mm256_storeu_ps(m + i, mv);
        _mm256_storeu_ps(v + i, vv);
        _mm256_storeu_ps(x + i, xv);
    }
    for (; i < n; i++) adamw_scalar(x + i, g[i], m + i, v + i, c);
}
#pragma float_control(pop)
