/* Linear power spectrogram and LFCC (docs/features.md, "LFCC"). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vg_features.h"
#include "vg_fft.h"
#include "vg_fft_batch.h"
#include "vg_mathx.h"
#include "vg_status.h"


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

/* Frames are processed in blocks of VG_BLOCK; power spectra of a block are stored bin-major,
 * power[k * VG_BLOCK + f], so that filterbank and DCT loops run over the frames of a block
 * with unit stride. */
#define VG_BLOCK (2 * VG_BATCH_LANES)

/* Per-call scratch of the framed-FFT pipeline. */
typedef struct {
    const vg_lfcc_params *p;
    const void *plan;
    int batched;          /* power-of-two n_fft: vg_batch_power; else vg_rfft_forward */
    size_t n_bins;
    double *window;       /* win_length */
    double *power;        /* n_bins * VG_BLOCK, bin-major */
    /* batched path */
    double *tw_re, *tw_im, *re, *im, *sre, *sim;
    /* per-frame path */
    double *frame, *fre, *fim, *fft_scratch;
    void *block;
} frame_ctx;

static void frame_ctx_free(frame_ctx *c)
{
    free(c->block);
    c->block = NULL;
}

static int frame_ctx_init(frame_ctx *c, const vg_lfcc_params *p, const void *plan)
{
    const size_t n = p->n_fft, n_bins = n / 2 + 1;
    size_t n_scratch = 0, total;
    double *base;
    int st;
    c->p = p;
    c->plan = plan;
    c->n_bins = n_bins;
    c->block = NULL;
    c->batched = n >= 2 && (n & (n - 1)) == 0;
    if (!c->batched) {
        st = vg_rfft_scratch_len(plan, &n_scratch);
        if (st != VG_OK) return st;
    }
    total = p->win_length + n_bins * VG_BLOCK +
            (c->batched ? 2 * n + 4 * n * VG_BATCH_LANES : n + 2 * n_bins + n_scratch);
    c->block = malloc(total * sizeof(double));
    if (c->block == NULL) return VG_ERR_NOMEM;
    base = (double *)c->block;
    c->window = base;
    c->power = c->window + p->win_length;
    base = c->power + n_bins * VG_BLOCK;
    if (c->batched) {
        c->tw_re = base;
        c->tw_im = c->tw_re + n;
        c->re = c->tw_im + n;
        c->im = c->re + n * VG_BATCH_LANES;
        c->sre = c->im + n * VG_BATCH_LANES;
        c->sim = c->sre + n * VG_BATCH_LANES;
        st = vg_batch_twiddles(n, c->tw_re, c->tw_im);
        if (st != VG_OK) goto fail;
    } else {
        c->frame = base;
        c->fre = c->frame + n;
        c->fim = c->fre + n_bins;
        c->fft_scratch = c->fim + n_bins;
    }
    st = vg_window(p->window, p->periodic, p->win_length, c->window);
    if (st != VG_OK) goto fail;
    return VG_OK;
fail:
    frame_ctx_free(c);
    return st;
}

/* Pre-emphasised, windowed frame starting at sample `start` into dst[j * stride]. Pre-emphasis
 * is applied on the fly so no pre-emphasised copy of the whole signal is needed. */
static void load_frame(const double *y, size_t start, const frame_ctx *c, double *dst, size_t stride)
{
    const vg_lfcc_params *p = c->p;
    const double a = p->preemphasis;
    const double *x = y + start;
    size_t i;
    if (a != 0.0) {
        dst[0] = (start == 0 ? x[0] : x[0] - a * x[-1]) * c->window[0];
        for (i = 1; i < p->win_length; i++) dst[i * stride] = (x[i] - a * x[i - 1]) * c->window[i];
    } else {
        for (i = 0; i < p->win_length; i++) dst[i * stride] = x[i] * c->window[i];
    }
}

/* Power spectra of frames t0 .. t0+nf-1 (nf <= VG_BLOCK) into c->power (bin-major). */
VG_HOT_CLONES
static int block_power(const double *y, size_t t0, size_t nf, frame_ctx *c)
{
    const vg_lfcc_params *p = c->p;
    const size_t n = p->n_fft, L = VG_BATCH_LANES;
    size_t f, j, k;
    int st;
    if (c->batched) {
        for (j = p->win_length * L; j < n * L; j++) c->re[j] = c->im[j] = 0.0;
        for (f = 0; f < VG_BLOCK; f++) {
            double *dst = (f < L ? c->re : c->im) + (f % L);
            if (f < nf) {
                load_frame(y, (t0 + f) * p->hop_length, c, dst, L);
            } else {
                for (j = 0; j < p->win_length; j++) dst[j * L] = 0.0;
            }
        }
        return vg_batch_power(n, c->tw_re, c->tw_im, c->re, c->im, c->sre, c->sim, c->power);
    }
    for (f = 0; f < nf; f++) {
        load_frame(y, (t0 + f) * p->hop_length, c, c->frame, 1);
        for (j = p->win_length; j < n; j++) c->frame[j] = 0.0;
        st = vg_rfft_forward(c->plan, c->frame, c->fre, c->fim, c->fft_scratch);
        if (st != VG_OK) return st;
        for (k = 0; k < c->n_bins; k++)
            c->power[k * VG_BLOCK + f] = c->fre[k] * c->fre[k] + c->fim[k] * c->fim[k];
    }
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
    size_t T = 0, t0, nf, f, j;
    frame_ctx c;
    int st = check_common(y, n, p, rfft_plan, out, &T);
    if (st != VG_OK) return st;
    st = frame_ctx_init(&c, p, rfft_plan);
    if (st != VG_OK) return st;
    for (t0 = 0; t0 < T; t0 += nf) {
        nf = (T - t0 < VG_BLOCK) ? T - t0 : VG_BLOCK;
        st = block_power(y, t0, nf, &c);
        if (st != VG_OK) goto cleanup;
        for (j = 0; j < c.n_bins; j++)
            for (f = 0; f < nf; f++) out[j * T + t0 + f] = (float)c.power[j * VG_BLOCK + f];
    }
cleanup:
    frame_ctx_free(&c);
    return st;
}

VG_HOT_CLONES
int vg_lfcc(const double *y, size_t n, const vg_lfcc_params *p, const void *rfft_plan, float *out)
{
    size_t T = 0, t0, nf, f, m, j, k, n_bins, F, C;
    frame_ctx c;
    void *block = NULL;
    double *fb_w, *logE, *dct, *stat, *d1, *acc;
    size_t *fb_first, *fb_count;
    int st = check_common(y, n, p, rfft_plan, out, &T);
    if (st != VG_OK) return st;
    n_bins = p->n_fft / 2 + 1;
    F = p->n_filters;
    C = p->n_coeffs;
    st = frame_ctx_init(&c, p, rfft_plan);
    if (st != VG_OK) return st;

    /* one block: filter weights (F rows of n_bins), log energies and DCT outputs of a frame
     * block, the DCT matrix, static coefficients and the two delta orders (all [C][T]) */
    block = malloc((F * n_bins + F * VG_BLOCK + VG_BLOCK + C * F + 3 * C * T) * sizeof(double) +
                   2 * F * sizeof(size_t));
    if (block == NULL) {
        st = VG_ERR_NOMEM;
        goto cleanup;
    }
    fb_w = (double *)block;
    logE = fb_w + F * n_bins;
    acc = logE + F * VG_BLOCK;
    dct = acc + VG_BLOCK;
    stat = dct + C * F;
    d1 = stat + C * T;
    fb_first = (size_t *)(d1 + 2 * C * T); /* d1: both delta orders */
    fb_count = fb_first + F;

    for (m = 0; m < F; m++) {
        st = vg_linear_filter(p->sr, p->n_fft, F, p->fmin, p->fmax, m, &fb_first[m], &fb_count[m],
                              fb_w + m * n_bins);
        if (st != VG_OK) goto cleanup;
    }
    st = vg_dct2_matrix(F, C, dct);
    if (st != VG_OK) goto cleanup;

    for (t0 = 0; t0 < T; t0 += nf) {
        nf = (T - t0 < VG_BLOCK) ? T - t0 : VG_BLOCK;
        st = block_power(y, t0, nf, &c);
        if (st != VG_OK) goto cleanup;
        /* filter energies and their logs, all frames of the block at once */
        for (m = 0; m < F; m++) {
            const double *w = fb_w + m * n_bins;
            const double *pw = c.power + fb_first[m] * VG_BLOCK;
            double e[VG_BLOCK] = {0.0};
            for (j = 0; j < fb_count[m]; j++) {
                /* one bin's power for the whole block: VG_BLOCK contiguous values */
                const double wj = w[j];
                const double *row = pw + j * VG_BLOCK;
                for (f = 0; f < VG_BLOCK; f++) e[f] += wj * row[f];
            }
            for (f = 0; f < VG_BLOCK; f++) logE[m * VG_BLOCK + f] = log10_positive(e[f] + VG_EPS);
        }
        for (k = 0; k < C; k++) {
            const double *d = dct + k * F;
            for (f = 0; f < VG_BLOCK; f++) acc[f] = 0.0;
            for (m = 0; m < F; m++)
                for (f = 0; f < VG_BLOCK; f++) acc[f] += d[m] * logE[m * VG_BLOCK + f];
            for (f = 0; f < nf; f++) stat[k * T + t0 + f] = acc[f];
        }
    }
    st = vg_stack_deltas(stat, C, T, p->deltas, p->delta_width, d1, out);
cleanup:
    free(block);
    frame_ctx_free(&c);
    return st;
}
