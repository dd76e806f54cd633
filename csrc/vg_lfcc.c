/* Linear power spectrogram and LFCC (docs/features.md, "LFCC"). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vg_features.h"
#include "vg_fft.h"
#include "vg_status.h"

#define VG_EPS 2.220446049250313e-16

int vg_frame_count(size_t n_samples, size_t win_length, size_t hop_length, size_t *n_frames)
{
    if (n_frames == NULL) return VG_ERR_NULL;
    if (win_length == 0 || hop_length == 0) return VG_ERR_SIZE;
    if (n_samples < win_length) return VG_ERR_TOO_SHORT;
    *n_frames = 1 + (n_samples - win_length) / hop_length;
    return VG_OK;
}

int vg_lfcc_check(const vg_lfcc_params *p)
{
    if (p == NULL) return VG_ERR_NULL;
    if (p->win_length == 0 || p->hop_length == 0 || p->n_fft < p->win_length) return VG_ERR_SIZE;
    if (p->n_filters == 0 || p->n_coeffs == 0 || p->n_coeffs > p->n_filters) return VG_ERR_SIZE;
    if (p->deltas && p->delta_width == 0) return VG_ERR_SIZE;
    if (!(p->sr > 0.0) || !(p->fmin >= 0.0) || !(p->fmax > p->fmin) || p->fmax > p->sr / 2.0 + 1e-9)
        return VG_ERR_PARAM;
    if (!(p->preemphasis >= 0.0 && p->preemphasis < 1.0)) return VG_ERR_PARAM;
    if (p->window != VG_WIN_HAMMING && p->window != VG_WIN_HANN && p->window != VG_WIN_RECT)
        return VG_ERR_PARAM;
    return VG_OK;
}

int vg_lfcc_rows(const vg_lfcc_params *p, size_t *rows)
{
    if (p == NULL || rows == NULL) return VG_ERR_NULL;
    *rows = p->deltas ? 3 * p->n_coeffs : p->n_coeffs;
    return VG_OK;
}

/* Per-call scratch of the framed-FFT pipeline. */
typedef struct {
    double *window;   /* win_length */
    double *frame;    /* n_fft */
    double *re, *im;  /* n_fft/2 + 1 */
    double *fft_scratch;
    void *block;
} frame_ctx;

static void frame_ctx_free(frame_ctx *c)
{
    free(c->block);
    c->block = NULL;
}

static int frame_ctx_init(frame_ctx *c, const vg_lfcc_params *p, const void *plan)
{
    size_t n_bins = p->n_fft / 2 + 1, n_scratch = 0, total;
    int st = vg_rfft_scratch_len(plan, &n_scratch);
    double *base;
    c->block = NULL;
    if (st != VG_OK) return st;
    total = p->win_length + p->n_fft + 2 * n_bins + n_scratch;
    c->block = malloc(total * sizeof(double));
    if (c->block == NULL) return VG_ERR_NOMEM;
    base = (double *)c->block;
    c->window = base;
    c->frame = c->window + p->win_length;
    c->re = c->frame + p->n_fft;
    c->im = c->re + n_bins;
    c->fft_scratch = c->im + n_bins;
    st = vg_window(p->window, p->periodic, p->win_length, c->window);
    if (st != VG_OK) frame_ctx_free(c);
    return st;
}

/* Pre-emphasised, windowed, zero-padded frame starting at sample `start`, then its power
 * spectrum into power[0 .. n_fft/2]. Pre-emphasis is applied on the fly so no pre-emphasised
 * copy of the whole signal is needed. */
static int frame_power(const double *y, size_t start, const vg_lfcc_params *p, const void *plan,
                       frame_ctx *c, double *power)
{
    size_t i, n_bins = p->n_fft / 2 + 1;
    const double a = p->preemphasis;
    const double *x = y + start;
    int st;
    if (a != 0.0) {
        c->frame[0] = (start == 0 ? x[0] : x[0] - a * x[-1]) * c->window[0];
        for (i = 1; i < p->win_length; i++) c->frame[i] = (x[i] - a * x[i - 1]) * c->window[i];
    } else {
        for (i = 0; i < p->win_length; i++) c->frame[i] = x[i] * c->window[i];
    }
    for (i = p->win_length; i < p->n_fft; i++) c->frame[i] = 0.0;
    st = vg_rfft_forward(plan, c->frame, c->re, c->im, c->fft_scratch);
    if (st != VG_OK) return st;
    for (i = 0; i < n_bins; i++) power[i] = c->re[i] * c->re[i] + c->im[i] * c->im[i];
    return VG_OK;
}

static int check_common(const double *y, size_t n, const vg_lfcc_params *p, const void *plan,
                        const float *out, size_t *n_frames)
{
    int st;
    if (y == NULL || p == NULL || plan == NULL || out == NULL || n_frames == NULL) return VG_ERR_NULL;
    st = vg_lfcc_check(p);
    if (st != VG_OK) return st;
    return vg_frame_count(n, p->win_length, p->hop_length, n_frames);
}

int vg_power_spectrogram(const double *y, size_t n, const vg_lfcc_params *p,
                         const void *rfft_plan, float *out)
{
    size_t T = 0, t, j, n_bins;
    frame_ctx c;
    double *power = NULL;
    int st = check_common(y, n, p, rfft_plan, out, &T);
    if (st != VG_OK) return st;
    n_bins = p->n_fft / 2 + 1;
    st = frame_ctx_init(&c, p, rfft_plan);
    if (st != VG_OK) return st;
    power = (double *)malloc(n_bins * sizeof(double));
    if (power == NULL) {
        st = VG_ERR_NOMEM;
        goto cleanup;
    }
    for (t = 0; t < T; t++) {
        st = frame_power(y, t * p->hop_length, p, rfft_plan, &c, power);
        if (st != VG_OK) goto cleanup;
        for (j = 0; j < n_bins; j++) out[j * T + t] = (float)power[j];
    }
cleanup:
    free(power);
    frame_ctx_free(&c);
    return st;
}

int vg_lfcc(const double *y, size_t n, const vg_lfcc_params *p, const void *rfft_plan, float *out)
{
    size_t T = 0, t, m, j, k, n_bins, F, C;
    frame_ctx c;
    void *block = NULL;
    double *power, *fb_w, *logE, *dct, *stat, *d1, *d2;
    size_t *fb_first, *fb_count;
    int st = check_common(y, n, p, rfft_plan, out, &T);
    if (st != VG_OK) return st;
    n_bins = p->n_fft / 2 + 1;
    F = p->n_filters;
    C = p->n_coeffs;
    st = frame_ctx_init(&c, p, rfft_plan);
    if (st != VG_OK) return st;

    /* one block: power, filter weights (F rows of n_bins), log energies, DCT matrix, static
     * coefficients and the two delta orders (all [C][T]) */
    block = malloc((n_bins + F * n_bins + F + C * F + 3 * C * T) * sizeof(double) +
                   2 * F * sizeof(size_t));
    if (block == NULL) {
        st = VG_ERR_NOMEM;
        goto cleanup;
    }
    power = (double *)block;
    fb_w = power + n_bins;
    logE = fb_w + F * n_bins;
    dct = logE + F;
    stat = dct + C * F;
    d1 = stat + C * T;
    d2 = d1 + C * T;
    fb_first = (size_t *)(d2 + C * T);
    fb_count = fb_first + F;

    for (m = 0; m < F; m++) {
        st = vg_linear_filter(p->sr, p->n_fft, F, p->fmin, p->fmax, m, &fb_first[m], &fb_count[m],
                              fb_w + m * n_bins);
        if (st != VG_OK) goto cleanup;
    }
    st = vg_dct2_matrix(F, C, dct);
    if (st != VG_OK) goto cleanup;

    for (t = 0; t < T; t++) {
        st = frame_power(y, t * p->hop_length, p, rfft_plan, &c, power);
        if (st != VG_OK) goto cleanup;
        for (m = 0; m < F; m++) {
            const double *w = fb_w + m * n_bins;
            const double *pw = power + fb_first[m];
            double e = 0.0;
            for (j = 0; j < fb_count[m]; j++) e += w[j] * pw[j];
            logE[m] = log10(e + VG_EPS);
        }
        for (k = 0; k < C; k++) {
            const double *d = dct + k * F;
            double acc = 0.0;
            for (m = 0; m < F; m++) acc += d[m] * logE[m];
            stat[k * T + t] = acc;
        }
    }
    for (j = 0; j < C * T; j++) out[j] = (float)stat[j];
    if (p->deltas) {
        st = vg_deltas(stat, C, T, p->delta_width, d1);
        if (st != VG_OK) goto cleanup;
        st = vg_deltas(d1, C, T, p->delta_width, d2);
        if (st != VG_OK) goto cleanup;
        for (j = 0; j < C * T; j++) {
            out[C * T + j] = (float)d1[j];
            out[2 * C * T + j] = (float)d2[j];
        }
    }
cleanup:
    free(block);
    frame_ctx_free(&c);
    return st;
}
