/* Building blocks shared by the LFCC and CQCC pipelines (docs/features.md). */
#include <math.h>
#include <stdlib.h>

#include "vg_features.h"
#include "vg_status.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

int vg_window(int kind, int periodic, size_t n, double *w)
{
    size_t i;
    double denom;
    if (w == NULL) return VG_ERR_NULL;
    if (n == 0) return VG_ERR_SIZE;
    if (kind != VG_WIN_HAMMING && kind != VG_WIN_HANN && kind != VG_WIN_RECT) return VG_ERR_PARAM;
    if (kind == VG_WIN_RECT || (n == 1 && !periodic)) {
        for (i = 0; i < n; i++) w[i] = 1.0;
        return VG_OK;
    }
    denom = periodic ? (double)n : (double)(n - 1);
    for (i = 0; i < n; i++) {
        double c = cos(2.0 * M_PI * (double)i / denom);
        w[i] = (kind == VG_WIN_HAMMING) ? 0.54 - 0.46 * c : 0.5 - 0.5 * c;
    }
    return VG_OK;
}

int vg_linear_filter(double sr, size_t n_fft, size_t n_filters, double fmin, double fmax,
                     size_t m, size_t *first, size_t *count, double *w)
{
    size_t j, n_bins;
    double step, left, centre, right;
    if (first == NULL || count == NULL || w == NULL) return VG_ERR_NULL;
    if (n_fft == 0 || n_filters == 0 || m >= n_filters) return VG_ERR_SIZE;
    if (!(sr > 0.0) || !(fmin >= 0.0) || !(fmax > fmin) || fmax > sr / 2.0 + 1e-9)
        return VG_ERR_PARAM;
    n_bins = n_fft / 2 + 1;
    step = (fmax - fmin) / (double)(n_filters + 1);
    left = fmin + (double)m * step;
    centre = fmin + (double)(m + 1) * step;
    right = fmin + (double)(m + 2) * step;
    *first = 0;
    *count = 0;
    for (j = 0; j < n_bins; j++) {
        double f = (double)j * sr / (double)n_fft;
        double v = 0.0;
        if (f >= left && f <= centre) v = (f - left) / (centre - left);
        else if (f > centre && f <= right) v = (right - f) / (right - centre);
        if (v > 0.0) {
            if (*count == 0) *first = j;
            /* bins with weight are contiguous, so the index is first + offset */
            w[j - *first] = v;
            *count = j - *first + 1;
        }
    }
    return VG_OK;
}

int vg_dct2_matrix(size_t n_in, size_t n_out, double *d)
{
    size_t k, i;
    if (d == NULL) return VG_ERR_NULL;
    if (n_in == 0 || n_out == 0 || n_out > n_in) return VG_ERR_SIZE;
    for (k = 0; k < n_out; k++) {
        double s = (k == 0) ? sqrt(1.0 / (double)n_in) : sqrt(2.0 / (double)n_in);
        for (i = 0; i < n_in; i++)
            d[k * n_in + i] = s * cos(M_PI * (double)k * (2.0 * (double)i + 1.0) / (2.0 * (double)n_in));
    }
    return VG_OK;
}

int vg_deltas(const double *x, size_t rows, size_t n_frames, size_t width, double *out)
{
    size_t r, t, h;
    double norm = 0.0;
    if (x == NULL || out == NULL) return VG_ERR_NULL;
    if (rows == 0 || n_frames == 0 || width == 0) return VG_ERR_SIZE;
    for (h = 1; h <= width; h++) norm += (double)(h * h);
    norm *= 2.0;
    for (r = 0; r < rows; r++) {
        const double *xr = x + r * n_frames;
        double *o = out + r * n_frames;
        for (t = 0; t < n_frames; t++) {
            double acc = 0.0;
            for (h = 1; h <= width; h++) {
                /* edge frames are repeated: clamp the indices */
                size_t ahead = (t + h < n_frames) ? t + h : n_frames - 1;
                size_t behind = (t >= h) ? t - h : 0;
                acc += (double)h * (xr[ahead] - xr[behind]);
            }
            o[t] = acc / norm;
        }
    }
    return VG_OK;
}

int vg_stack_deltas(const double *stat, size_t rows, size_t n_frames, int deltas, size_t width,
                    double *scratch, float *out)
{
    const size_t n = rows * n_frames;
    size_t i;
    int st;
    if (stat == NULL || out == NULL || (deltas && scratch == NULL)) return VG_ERR_NULL;
    for (i = 0; i < n; i++) out[i] = (float)stat[i];
    if (!deltas) return VG_OK;
    /* deltas from the float64 statics, not from the float32 output */
    st = vg_deltas(stat, rows, n_frames, width, scratch);
    if (st != VG_OK) return st;
    st = vg_deltas(scratch, rows, n_frames, width, scratch + n);
    if (st != VG_OK) return st;
    for (i = 0; i < 2 * n; i++) out[n + i] = (float)scratch[i];
    return VG_OK;
}
