/* voiceguard spectral feature core: LFCC and CQCC as specified in docs/features.md.
 *
 * Conventions (as in vg_fft.h): every function returns a VG_* status code; input audio is
 * float64; outputs are row-major float32 arrays [rows][n_frames] allocated by the caller;
 * FFT plans are caller-provided (see vg_fft.h) and only read. Scratch memory is allocated
 * and freed inside each call, so concurrent calls on different threads are independent. */
#ifndef VG_FEATURES_H
#define VG_FEATURES_H
#include <stddef.h>

enum { VG_WIN_HAMMING = 0, VG_WIN_HANN = 1, VG_WIN_RECT = 2 };

/* ---- building blocks (vg_dsp.c) ---- */

/* w[0..n-1] for window kind `kind`; periodic != 0 gives the DFT-even variant. */
int vg_window(int kind, int periodic, size_t n, double *w);

/* Triangular filter m (0-based) of a linear filterbank evaluated on the rfft bin grid:
 * writes weights for bins [*first, *first + *count) into w (capacity n_fft/2+1). */
int vg_linear_filter(double sr, size_t n_fft, size_t n_filters, double fmin, double fmax,
                     size_t m, size_t *first, size_t *count, double *w);

/* Orthonormal DCT-II matrix rows 0..n_out-1 for an input of length n_in: d[k*n_in + i]. */
int vg_dct2_matrix(size_t n_in, size_t n_out, double *d);

/* Deltas along time of x [rows][n_frames] (row-major) with half-width `width`, repeating the
 * edge frames; writes out [rows][n_frames]. x and out must not overlap. */
int vg_deltas(const double *x, size_t rows, size_t n_frames, size_t width, double *out);

/* out = [stat; delta(stat); delta(delta(stat))] as float32 (or just stat without deltas), each
 * [rows][n_frames]; scratch holds 2 * rows * n_frames doubles. */
int vg_stack_deltas(const double *stat, size_t rows, size_t n_frames, int deltas, size_t width,
                    double *scratch, float *out);

/* ---- LFCC and the linear power spectrogram (vg_lfcc.c) ---- */

typedef struct {
    double sr;
    size_t win_length, hop_length, n_fft;
    int window, periodic;
    double preemphasis; /* 0 disables */
    size_t n_filters;
    double fmin, fmax;
    size_t n_coeffs;
    int deltas;          /* 0: static only; else static + delta + delta-delta */
    size_t delta_width;
} vg_lfcc_params;

int vg_frame_count(size_t n_samples, size_t win_length, size_t hop_length, size_t *n_frames);
int vg_lfcc_check(const vg_lfcc_params *p);
/* Output rows: n_coeffs, or 3 * n_coeffs with deltas. */
int vg_lfcc_rows(const vg_lfcc_params *p, size_t *rows);

/* Power spectrogram [n_fft/2 + 1][n_frames]; rfft_plan must be for n_fft. */
int vg_power_spectrogram(const double *y, size_t n, const vg_lfcc_params *p,
                         const void *rfft_plan, float *out);
/* LFCC [rows][n_frames]. */
int vg_lfcc(const double *y, size_t n, const vg_lfcc_params *p, const void *rfft_plan,
            float *out);

/* ---- constant-Q transform and CQCC (vg_cqt.c) ---- */

typedef struct {
    double sr;
    size_t hop_length;
    double fmin;
    size_t n_bins;
    double bins_per_octave;
    double bandwidth;    /* half-width of each bin's window, in units of f_k / Q */
} vg_cqt_params;

typedef struct {
    size_t resample_d;   /* uniform samples in the first octave */
    size_t n_coeffs;     /* cepstral coefficients c_1 .. c_n (c_0 replaced by log energy) */
    int deltas;
    size_t delta_width;
} vg_cqcc_params;

int vg_cqt_check(const vg_cqt_params *p);
/* Sizes of the transform for a signal of n samples: frames T, inverse-DFT length M and the
 * padded length L = M * hop_length (the caller makes an rfft plan of L and a cfft plan of M). */
int vg_cqt_geometry(size_t n, const vg_cqt_params *p, size_t *n_frames, size_t *M, size_t *L);
/* |X| as float32 [n_bins][n_frames]. */
int vg_cqt_magnitude(const double *y, size_t n, const vg_cqt_params *p, const void *rfft_plan_L,
                     const void *cfft_plan_M, float *out);
int vg_cqcc_check(const vg_cqt_params *p, const vg_cqcc_params *c);
int vg_cqcc_rows(const vg_cqcc_params *c, size_t *rows);
int vg_cqcc(const double *y, size_t n, const vg_cqt_params *p, const vg_cqcc_params *c,
            const void *rfft_plan_L, const void *cfft_plan_M, float *out);

#endif
