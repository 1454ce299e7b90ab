// Layer norm over channels of [C, T] without transposing: every loop runs along t (contiguous),
// so statistics for a block of columns are accumulated row by row in vector registers.
#include "CKernels.h"
#include <math.h>

void ck_layernorm_channels_forward(const float *restrict x, const float *restrict gamma,
                                   const float *restrict beta, float *restrict y,
                                   float *restrict mean, float *restrict rstd, size_t channels,
                                   size_t length, size_t t0, size_t t1, float eps) {
    const float inv_c = 1.0f / (float)channels;
    for (size_t t = t0; t < t1; t++) { mean[t] = 0.0f; rstd[t] = 0.0f; }
    for (size_t c = 0; c < channels; c++) {
        const float *row = x + c * length;
        for (size_t t = t0; t < t1; t++) mean[t] += row[t];
    }
    for (size_t t = t0; t < t1; t++) mean[t] *= inv_c;
    // Two passes (mean, then squared deviations) as PyTorch: no cancellation for large means.
    for (size_t c = 0; c < channels; c++) {
        const float *row = x + c * length;
        for (size_t t = t0; t < t1; t++) {
            float d = row[t] - mean[t];
            rstd[t] += d * d;
        }
    }
    for (size_t t = t0; t < t1; t++) rstd[t] = 1.0f / sqrtf(rstd[t] * inv_c + eps);
    for (size_t c = 0; c < channels; c++) {
        const float *row = x + c * length;
        float *out = y + c * length;
        const float g = gamma[c], b = beta[c];
        for (size_t t = t0; t < t1; t++) out[t] = (row[t] - mean[t]) * rstd[t] * g + b;
    }
}

void ck_layernorm_channels_backward(const float *restrict x, const float *restrict gamma,
                                    const float *restrict mean, const float *restrict rstd,
                                    const float *restrict dy, float *restrict dx, float *restrict dgamma,
                                    float *restrict dbeta, float *restrict scratch, size_t channels,
                                    size_t length, size_t t0, size_t t1) {
    const size_t n = t1 - t0;
    float *restrict sum_g = scratch;          // Σ_c dy·γ
    float *restrict sum_gx = scratch + n;     // Σ_c dy·γ·x̂
    for (size_t j = 0; j < n; j++) { sum_g[j] = 0.0f; sum_gx[j] = 0.0f; }
    for (size_t c = 0; c < channels; c++) {
        const float *xr = x + c * length + t0, *dr = dy + c * length + t0;
        const float g = gamma[c];
        float acc_gamma = 0.0f, acc_beta = 0.0f;
        for (size_t j = 0; j < n; j++) {
            float xhat = (xr[j] - mean[t0 + j]) * rstd[t0 + j];
            float dg = dr[j] * g;
            sum_g[j] += dg;
            sum_gx[j] += dg * xhat;
            acc_gamma += dr[j] * xhat;
            acc_beta += dr[j];
        }
        if (dgamma) dgamma[c] += acc_gamma;
        if (dbeta) dbeta[c] += acc_beta;
    }
    if (!dx) return;
    const float inv_c = 1.0f / (float)channels;
    for (size_t j = 0; j < n; j++) { sum_g[j] *= inv_c; sum_gx[j] *= inv_c; }
    for (size_t c = 0; c < channels; c++) {
        const float *xr = x + c * length + t0, *dr = dy + c * length + t0;
        float *out = dx + c * length + t0;
        const float g = gamma[c];
        for (size_t j = 0; j < n; j++) {
            float r = rstd[t0 + j];
            float xhat = (xr[j] - mean[t0 + j]) * r;
            out[j] = r * (dr[j] * g - sum_g[j] - xhat * sum_gx[j]);
        }
    }
}
