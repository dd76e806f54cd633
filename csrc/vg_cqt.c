/* Constant-Q transform (rasterised constant-Q nonstationary Gabor transform) and CQCC, as
 * specified in docs/features.md. The signal is transformed once with a real FFT of the padded
 * length L; each bin's Hann-windowed slice of that spectrum is folded modulo M and brought
 * back to the frame grid with one inverse FFT of length M = L / hop_length. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vg_features.h"
#include "vg_fft.h"
#include "vg_mathx.h"
#include "vg_simd.h"
#include "vg_status.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static double bin_freq(const vg_cqt_params *p, size_t k)
{
    return p->fmin * pow(2.0, (double)k / p->bins_per_octave);
}

static double quality(const vg_cqt_params *p)
{
    return 1.0 / (pow(2.0, 1.0 / p->bins_per_octave) - 1.0);
}

int vg_cqt_check(const vg_cqt_params *p)
{
    if (p == NULL) return VG_ERR_NULL;
    if (p->hop_length == 0 || p->n_bins == 0) return VG_ERR_SIZE;
    if (!(p->sr > 0.0) || !(p->fmin > 0.0) || !(p->bins_per_octave > 0.0) || !(p->bandwidth > 0.0) ||
        !isfinite(p->sr) || !isfinite(p->fmin) || !isfinite(p->bins_per_octave) ||
        !isfinite(p->bandwidth))
        return VG_ERR_PARAM;
    if (!(bin_freq(p, p->n_bins - 1) < p->sr / 2.0)) return VG_ERR_PARAM;
    return VG_OK;
}

/* Longest padded signal the geometry accepts (2^34 samples: 12 days at 16 kHz); beyond it a
 * parameter is absurd (e.g. a bandwidth of 1e-300) and sizes would overflow. */
#define VG_CQT_MAX_LEN ((size_t)1 << 34)

/* Smallest 2^a 3^b 5^c >= n (n <= VG_CQT_MAX_LEN), by enumerating the 5- and 3-power parts:
 * O(log^2 n), where a linear search takes ~N/200 steps near N = 1e10. */
static size_t next_5smooth(size_t n)
{
    size_t best = 0, p5, p35, q;
    if (n <= 1) return 1;
    for (p5 = 1; p5 / 5 < n; p5 *= 5) {
        for (p35 = p5; p35 / 3 < n; p35 *= 3) {
            for (q = p35; q < n; q *= 2) {
            }
            if (best == 0 || q < best) best = q;
        }
    }
    return best;
}

int vg_cqt_geometry(size_t n, const vg_cqt_params *p, size_t *n_frames, size_t *M, size_t *L)
{
    int st;
    double b0, pad_f;
    size_t pad, T, M0;
    if (n_frames == NULL || M == NULL || L == NULL) return VG_ERR_NULL;
    st = vg_cqt_check(p);
    if (st != VG_OK) return st;
    if (n == 0) return VG_ERR_TOO_SHORT;
    b0 = p->bandwidth * p->fmin / quality(p);
    pad_f = ceil(3.0 * p->sr / b0);
    /* checked before any conversion: a NaN or huge pad is a parameter error, not UB */
    if (!(pad_f >= 0.0 && pad_f <= (double)VG_CQT_MAX_LEN)) return VG_ERR_PARAM;
    pad = (size_t)pad_f;
    if (n > VG_CQT_MAX_LEN || p->hop_length > VG_CQT_MAX_LEN) return VG_ERR_SIZE;
    T = 1 + n / p->hop_length;
    M0 = next_5smooth(T + (pad + p->hop_length - 1) / p->hop_length);
    if (M0 > VG_CQT_MAX_LEN / p->hop_length) return VG_ERR_SIZE;
    *n_frames = T;
    *M = M0;
    *L = M0 * p->hop_length;
    return VG_OK;
}

/* Scratch shared by the magnitude and CQCC paths. */
typedef struct {
    size_t T, M, L, n_half;
    double *zre, *zim;     /* spectrum of the padded signal, n_half = L/2 + 1 values */
    double *bre, *bim;     /* folded bin spectrum / its inverse FFT, M values */
    double *scratch;       /* FFT scratch, max of both plans */
    double *power;         /* |X_k[m]|^2 for m < T */
    void *block;
} cqt_ctx;

static void cqt_ctx_free(cqt_ctx *c)
{
    free(c->block);
    c->block = NULL;
}

/* Validates, sizes the scratch and computes the spectrum of the padded signal. */
static int cqt_ctx_init(cqt_ctx *c, const double *y, size_t n, const vg_cqt_params *p,
                        const void *rplan, const void *cplan)
{
    size_t s_r = 0, s_c = 0, s, i;
    double *base, *zpad;
    int st;
    c->block = NULL;
    st = vg_cqt_geometry(n, p, &c->T, &c->M, &c->L);
    if (st != VG_OK) return st;
    st = vg_rfft_scratch_len(rplan, &s_r);
    if (st != VG_OK) return st;
    st = vg_cfft_scratch_len(cplan, &s_c);
    if (st != VG_OK) return st;
    s = s_r > s_c ? s_r : s_c;
    c->n_half = c->L / 2 + 1;
    c->block = malloc((c->L + 2 * c->n_half + 2 * c->M + s + c->T) * sizeof(double));
    if (c->block == NULL) return VG_ERR_NOMEM;
    base = (double *)c->block;
    zpad = base;
    c->zre = zpad + c->L;
    c->zim = c->zre + c->n_half;
    c->bre = c->zim + c->n_half;
    c->bim = c->bre + c->M;
    c->scratch = c->bim + c->M;
    c->power = c->scratch + s;
    memcpy(zpad, y, n * sizeof(double));
    for (i = n; i < c->L; i++) zpad[i] = 0.0;
    st = vg_rfft_forward(rplan, zpad, c->zre, c->zim, c->scratch);
    if (st != VG_OK) cqt_ctx_free(c);
    return st;
}

/* Number of window samples computed by rotation between two exact cos/sin evaluations: keeps
 * the recurrence error near 1e-15 while calling libm 64 times less often. */
#define HANN_ANCHOR 64

/* |X_k[m]|^2 for m < T into c->power. */
static int bin_power(cqt_ctx *c, const vg_cqt_params *p, double Q, size_t k, const void *cplan)
{
    const double fk = bin_freq(p, k);
    const double bk = p->bandwidth * fk / Q;
    const double df = p->sr / (double)c->L;
    const double inv_l2 = 1.0 / ((double)c->L * (double)c->L);
    const double step = M_PI * df / bk;
    const double cs = cos(step), sn = sin(step);
    double qf = floor((fk - bk) / df), cw = 0.0, sw = 0.0;
    size_t q, q_first, q_end, r, m;
    int st;
    memset(c->bre, 0, c->M * sizeof(double));
    memset(c->bim, 0, c->M * sizeof(double));
    /* the support is the q with |q sr / L - f_k| < b_k, evaluated exactly as specified */
    q_first = qf < 0.0 ? 0 : (size_t)qf;
    while (q_first < c->n_half && !(fabs((double)q_first * p->sr / (double)c->L - fk) < bk)) {
        if ((double)q_first * p->sr / (double)c->L - fk >= bk) break;
        q_first++;
    }
    q_end = q_first;
    while (q_end < c->n_half && fabs((double)q_end * p->sr / (double)c->L - fk) < bk) q_end++;
    r = q_first % c->M;
    for (q = q_first; q < q_end; q++) {
        double g;
        if ((q - q_first) % HANN_ANCHOR == 0) {
            double angle = M_PI * ((double)q * p->sr / (double)c->L - fk) / bk;
            cw = cos(angle);
            sw = sin(angle);
        } else {
            double t = cw * cs - sw * sn;
            sw = sw * cs + cw * sn;
            cw = t;
        }
        g = 0.5 * (1.0 + cw);
        c->bre[r] += g * c->zre[q];
        c->bim[r] += g * c->zim[q];
        if (++r == c->M) r = 0;
    }
    st = vg_cfft_inverse(cplan, c->bre, c->bim, c->scratch);
    if (st != VG_OK) return st;
    for (m = 0; m < c->T; m++) c->power[m] = (c->bre[m] * c->bre[m] + c->bim[m] * c->bim[m]) * inv_l2;
    return VG_OK;
}

int vg_cqt_magnitude(const double *y, size_t n, const vg_cqt_params *p, const void *rfft_plan_L,
                     const void *cfft_plan_M, float *out)
{
    cqt_ctx c;
    size_t k, m;
    double Q;
    int st;
    if (y == NULL || p == NULL || rfft_plan_L == NULL || cfft_plan_M == NULL || out == NULL)
        return VG_ERR_NULL;
    st = cqt_ctx_init(&c, y, n, p, rfft_plan_L, cfft_plan_M);
    if (st != VG_OK) return st;
    Q = quality(p);
    for (k = 0; k < p->n_bins; k++) {
        st = bin_power(&c, p, Q, k, cfft_plan_M);
        if (st != VG_OK) goto cleanup;
        for (m = 0; m < c.T; m++) out[k * c.T + m] = (float)sqrt(c.power[m]);
    }
cleanup:
    cqt_ctx_free(&c);
    return st;
}

int vg_cqcc_check(const vg_cqt_params *p, const vg_cqcc_params *c)
{
    int st = vg_cqt_check(p);
    if (st != VG_OK) return st;
    if (c == NULL) return VG_ERR_NULL;
    if (c->resample_d == 0 || c->n_coeffs == 0) return VG_ERR_SIZE;
    if (c->deltas && c->delta_width == 0) return VG_ERR_SIZE;
    return VG_OK;
}

int vg_cqcc_rows(const vg_cqcc_params *c, size_t *rows)
{
    if (c == NULL || rows == NULL) return VG_ERR_NULL;
    *rows = (c->n_coeffs + 1) * (c->deltas ? 3 : 1);
    return VG_OK;
}

/* Number of uniform samples J of the resampled axis. */
static size_t uniform_count(const vg_cqt_params *p, const vg_cqcc_params *c)
{
    double top = bin_freq(p, p->n_bins - 1);
    return (size_t)floor((top - p->fmin) * (double)c->resample_d / p->fmin + 1e-9) + 1;
}

/* Uniform resampling and the DCT are both linear in the log power, so they fold into one
 * [n_coeffs][n_bins] matrix: c_i = sum_k A[i][k] LP[k]. */
static int resample_dct_matrix(const vg_cqt_params *p, const vg_cqcc_params *c, double *A)
{
    const size_t K = p->n_bins, J = uniform_count(p, c), C = c->n_coeffs;
    const double s = sqrt(2.0 / (double)J);
    size_t i, j;
    if (C >= J) return VG_ERR_SIZE;
    memset(A, 0, C * K * sizeof(double));
    for (j = 0; j < J; j++) {
        double u = p->fmin + (double)j * p->fmin / (double)c->resample_d;
        double kappa = p->bins_per_octave * log2(u / p->fmin);
        double kf = floor(kappa), a;
        size_t k0;
        if (kf >= (double)(K - 1)) {
            k0 = K - 1;
            a = 0.0;
        } else {
            k0 = kf < 0.0 ? 0 : (size_t)kf;
            a = kappa - kf;
        }
        for (i = 0; i < C; i++) {
            double w = s * cos(M_PI * (double)(i + 1) * (2.0 * (double)j + 1.0) / (2.0 * (double)J));
            A[i * K + k0] += w * (1.0 - a);
            if (a != 0.0) A[i * K + k0 + 1] += w * a;
        }
    }
    return VG_OK;
}

/* Bins per group and frames per block of the resample+DCT accumulation: the group's log
 * powers (GROUP x T) and one block of an output row stay in cache while every coefficient
 * row is updated, instead of streaming all rows through memory once per bin. */
#define CQCC_GROUP 16
#define CQCC_FBLOCK 512

VG_HOT_CLONES
int vg_cqcc(const double *y, size_t n, const vg_cqt_params *p, const vg_cqcc_params *cp,
            const void *rfft_plan_L, const void *cfft_plan_M, float *out)
{
    cqt_ctx c;
    size_t k0, g, gn, m, mb, me, i, T, C, S, K;
    double Q, *A = NULL, *stat = NULL, *d1, *energy, *lpg;
    int st;
    if (y == NULL || p == NULL || cp == NULL || rfft_plan_L == NULL || cfft_plan_M == NULL ||
        out == NULL)
        return VG_ERR_NULL;
    st = vg_cqcc_check(p, cp);
    if (st != VG_OK) return st;
    st = cqt_ctx_init(&c, y, n, p, rfft_plan_L, cfft_plan_M);
    if (st != VG_OK) return st;
    T = c.T;
    C = cp->n_coeffs;
    S = C + 1;
    K = p->n_bins;
    A = (double *)malloc(C * K * sizeof(double));
    /* static rows [log energy; c_1..c_C], the two delta orders, a group of log powers */
    stat = (double *)malloc((3 * S * T + CQCC_GROUP * T) * sizeof(double));
    if (A == NULL || stat == NULL) {
        st = VG_ERR_NOMEM;
        goto cleanup;
    }
    d1 = stat + S * T;
    lpg = d1 + 2 * S * T; /* d1: both delta orders */
    energy = stat; /* row 0 accumulates the energy, then holds its log */
    st = resample_dct_matrix(p, cp, A);
    if (st != VG_OK) goto cleanup;
    memset(stat, 0, S * T * sizeof(double));
    Q = quality(p);
    for (k0 = 0; k0 < K; k0 += CQCC_GROUP) {
        gn = (K - k0 < CQCC_GROUP) ? K - k0 : CQCC_GROUP;
        for (g = 0; g < gn; g++) {
            double *lp = lpg + g * T;
            st = bin_power(&c, p, Q, k0 + g, cfft_plan_M);
            if (st != VG_OK) goto cleanup;
            /* two loops: the log one vectorises on its own */
            for (m = 0; m < T; m++) energy[m] += c.power[m];
            for (m = 0; m < T; m++) lp[m] = log_positive(c.power[m] + VG_EPS);
        }
        for (mb = 0; mb < T; mb = me) {
            me = (T - mb < CQCC_FBLOCK) ? T : mb + CQCC_FBLOCK;
            for (i = 0; i < C; i++) {
                double *row = stat + (i + 1) * T;
                for (g = 0; g < gn; g++) {
                    const double a = A[i * K + k0 + g];
                    const double *lp = lpg + g * T;
                    if (a == 0.0) continue;
                    for (m = mb; m < me; m++) row[m] += a * lp[m];
                }
            }
        }
    }
    for (m = 0; m < T; m++) energy[m] = log_positive(energy[m] + VG_EPS);
    st = vg_stack_deltas(stat, S, T, cp->deltas, cp->delta_width, d1, out);
cleanup:
    free(A);
    free(stat);
    cqt_ctx_free(&c);
    return st;
}
