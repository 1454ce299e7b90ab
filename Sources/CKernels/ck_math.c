// Vectorized elementwise math. Transcendentals call glibc's libmvec AVX2 variants
// (_ZGVdN8v_*, exported since glibc 2.22/2.35) directly, 8 lanes at a time: clang only maps
// expf/logf to libmvec on its own, not tanhf/log1pf, and the explicit calls make the tail (n % 8)
// use the same code path as the body, so results do not depend on where an element sits.
#include "CKernels.h"
#include <immintrin.h>
#include <string.h>

__m256 _ZGVdN8v_expf(__m256);
__m256 _ZGVdN8v_logf(__m256);
__m256 _ZGVdN8v_tanhf(__m256);
__m256 _ZGVdN8v_log1pf(__m256);

// Loads up to 8 floats (the rest zero) / stores the first `count` lanes.
static inline __m256 load_partial(const float *p, size_t count) {
    float tmp[8] = {0};
    memcpy(tmp, p, count * sizeof(float));
    return _mm256_loadu_ps(tmp);
}
static inline void store_partial(float *p, __m256 v, size_t count) {
    float tmp[8];
    _mm256_storeu_ps(tmp, v);
    memcpy(p, tmp, count * sizeof(float));
}

static inline __m256 v_sigmoid(__m256 x) {
    const __m256 one = _mm256_set1_ps(1.0f);
    // exp(-x) overflows to +inf for x < -88: 1/(1+inf) = 0, as torch.sigmoid.
    __m256 e = _ZGVdN8v_expf(_mm256_sub_ps(_mm256_setzero_ps(), x));
    return _mm256_div_ps(one, _mm256_add_ps(one, e));
}

static inline __m256 v_softplus(__m256 x) {
    // PyTorch (beta 1, threshold 20): linear above the threshold, log1p(exp(x)) below.
    __m256 soft = _ZGVdN8v_log1pf(_ZGVdN8v_expf(x));
    __m256 above = _mm256_cmp_ps(x, _mm256_set1_ps(20.0f), _CMP_GT_OQ);
    return _mm256_blendv_ps(soft, x, above);
}

// One macro per shape of loop keeps every kernel's body/tail handling identical.
#define UNARY_KERNEL(name, expr)                                                  \
    void name(const float *src, float *dst, size_t n) {                           \
        size_t i = 0;                                                             \
        for (; i + 8 <= n; i += 8) {                                              \
            __m256 x = _mm256_loadu_ps(src + i);                                  \
            _mm256_storeu_ps(dst + i, (expr));                                    \
        }                                                                         \
        if (i < n) {                                                              \
            __m256 x = load_partial(src + i, n - i);                              \
            store_partial(dst + i, (expr), n - i);                                \
        }                                                                         \
    }

UNARY_KERNEL(ck_exp, _ZGVdN8v_expf(x))
UNARY_KERNEL(ck_log, _ZGVdN8v_logf(x))
UNARY_KERNEL(ck_tanh, _ZGVdN8v_tanhf(x))
UNARY_KERNEL(ck_sigmoid, v_sigmoid(x))
UNARY_KERNEL(ck_softplus, v_softplus(x))

void ck_softplus_backward(const float *x, const float *g, float *dx, size_t n) {
    size_t i = 0;
    const __m256 threshold = _mm256_set1_ps(20.0f);
    for (; i + 8 <= n; i += 8) {
        __m256 xv = _mm256_loadu_ps(x + i), gv = _mm256_loadu_ps(g + i);
        __m256 d = _mm256_mul_ps(gv, v_sigmoid(xv));
        _mm256_storeu_ps(dx + i, _mm256_blendv_ps(d, gv, _mm256_cmp_ps(xv, threshold, _CMP_GT_OQ)));
    }
    if (i < n) {
        __m256 xv = load_partial(x + i, n - i), gv = load_partial(g + i, n - i);
        __m256 d = _mm256_mul_ps(gv, v_sigmoid(xv));
        store_partial(dx + i, _mm256_blendv_ps(d, gv, _mm256_cmp_ps(xv, threshold, _CMP_GT_OQ)), n - i);
    }
}

// Plain loops below: clang vectorizes them (AVX2) without help. The comparisons are written so
// that NaN inputs take the branch PyTorch takes (NaN > 0 is false → slope * NaN = NaN).
void ck_leaky_relu(const float *src, float *dst, size_t n, float slope) {
    for (size_t i = 0; i < n; i++) {
        float x = src[i];
        dst[i] = x > 0.0f ? x : x * slope;
    }
}

void ck_leaky_relu_backward(const float *x, const float *g, float *dx, size_t n, float slope) {
    for (size_t i = 0; i < n; i++) dx[i] = x[i] > 0.0f ? g[i] : g[i] * slope;
}

void ck_tanh_backward(const float *y, const float *g, float *dx, size_t n) {
    for (size_t i = 0; i < n; i++) dx[i] = g[i] * (1.0f - y[i] * y[i]);
}

void ck_sigmoid_backward(const float *y, const float *g, float *dx, size_t n) {
    for (size_t i = 0; i < n; i++) dx[i] = g[i] * y[i] * (1.0f - y[i]);
}

void ck_gate(const float *a, const float *b, float offset_a, float offset_b, float *out, size_t n) {
    const __m256 oa = _mm256_set1_ps(offset_a), ob = _mm256_set1_ps(offset_b);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 t = _ZGVdN8v_tanhf(_mm256_add_ps(_mm256_loadu_ps(a + i), oa));
        __m256 s = v_sigmoid(_mm256_add_ps(_mm256_loadu_ps(b + i), ob));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(t, s));
    }
    if (i < n) {
        __m256 t = _ZGVdN8v_tanhf(_mm256_add_ps(load_partial(a + i, n - i), oa));
        __m256 s = v_sigmoid(_mm256_add_ps(load_partial(b + i, n - i), ob));
        store_partial(out + i, _mm256_mul_ps(t, s), n - i);
    }
}

static inline void gate_backward8(__m256 av, __m256 bv, __m256 gv, __m256 *da, __m256 *db) {
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256 t = _ZGVdN8v_tanhf(av);
    __m256 s = v_sigmoid(bv);
    __m256 gs = _mm256_mul_ps(gv, s);
    *da = _mm256_mul_ps(gs, _mm256_sub_ps(one, _mm256_mul_ps(t, t)));
    *db = _mm256_mul_ps(_mm256_mul_ps(gs, t), _mm256_sub_ps(one, s));
}

void ck_gate_backward(const float *a, const float *b, float offset_a, float offset_b,
                      const float *g, float *da, float *db, size_t n) {
    const __m256 oa = _mm256_set1_ps(offset_a), ob = _mm256_set1_ps(offset_b);
    size_t i = 0;
    __m256 dav, dbv;
    for (; i + 8 <= n; i += 8) {
        gate_backward8(_mm256_add_ps(_mm256_loadu_ps(a + i), oa), _mm256_add_ps(_mm256_loadu_ps(b + i), ob),
                       _mm256_loadu_ps(g + i), &dav, &dbv);
        _mm256_storeu_ps(da + i, dav);
        _mm256_storeu_ps(db + i, dbv);
    }
    if (i < n) {
        size_t r = n - i;
        gate_backward8(_mm256_add_ps(load_partial(a + i, r), oa), _mm256_add_ps(load_partial(b + i, r), ob),
                       load_partial(g + i, r), &dav, &dbv);
        store_partial(da + i, dav, r);
        store_partial(db + i, dbv, r);
    }
}

float ck_sum(const float *src, size_t n) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        acc0 = _mm256_add_ps(acc0, _mm256_loadu_ps(src + i));
        acc1 = _mm256_add_ps(acc1, _mm256_loadu_ps(src + i + 8));
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, _mm256_add_ps(acc0, acc1));
    float total = 0.0f;
    for (int l = 0; l < 8; l++) total += lanes[l];
    for (; i < n; i++) total += src[i];
    return total;
}

int ck_cpu_has_avx2_fma(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

int ck_cpu_has_avx512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
}
