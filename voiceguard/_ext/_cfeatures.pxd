# Declarations of the C feature core (csrc/vg_status.h, vg_fft.h, vg_features.h).

cdef extern from "vg_status.h":
    int VG_OK
    int VG_ERR_NULL
    int VG_ERR_SIZE
    int VG_ERR_PARAM
    int VG_ERR_NOMEM
    int VG_ERR_TOO_SHORT
    int VG_ERR_NONFINITE
    int VG_ERR_BUFFER

cdef extern from "vg_fft.h" nogil:
    int vg_cfft_plan_bytes(size_t n, size_t *nbytes)
    int vg_cfft_plan_init(void *mem, size_t nbytes, size_t n)
    int vg_cfft_scratch_len(const void *plan, size_t *n_doubles)
    int vg_cfft_forward(const void *plan, double *re, double *im, double *scratch)
    int vg_cfft_inverse(const void *plan, double *re, double *im, double *scratch)
    int vg_rfft_plan_bytes(size_t n, size_t *nbytes)
    int vg_rfft_plan_init(void *mem, size_t nbytes, size_t n)
    int vg_rfft_scratch_len(const void *plan, size_t *n_doubles)
    int vg_rfft_forward(const void *plan, const double *x, double *out_re, double *out_im,
                        double *scratch)

cdef extern from "vg_features.h" nogil:
    int VG_WIN_HAMMING
    int VG_WIN_HANN
    int VG_WIN_RECT

    ctypedef struct vg_lfcc_params:
        double sr
        size_t win_length, hop_length, n_fft
        int window, periodic
        double preemphasis
        size_t n_filters
        double fmin, fmax
        size_t n_coeffs
        int deltas
        size_t delta_width

    ctypedef struct vg_cqt_params:
        double sr
        size_t hop_length
        double fmin
        size_t n_bins
        double bins_per_octave
        double bandwidth

    ctypedef struct vg_cqcc_params:
        size_t resample_d
        size_t n_coeffs
        int deltas
        size_t delta_width

    int vg_frame_count(size_t n_samples, size_t win_length, size_t hop_length, size_t *n_frames)
    int vg_lfcc_check(const vg_lfcc_params *p)
    int vg_lfcc_rows(const vg_lfcc_params *p, size_t *rows)
    int vg_power_spectrogram(const double *y, size_t n, const vg_lfcc_params *p,
                             const void *rfft_plan, float *out)
    int vg_lfcc(const double *y, size_t n, const vg_lfcc_params *p, const void *rfft_plan,
                float *out)
    int vg_cqt_check(const vg_cqt_params *p)
    int vg_cqt_geometry(size_t n, const vg_cqt_params *p, size_t *n_frames, size_t *M, size_t *L)
    int vg_cqt_magnitude(const double *y, size_t n, const vg_cqt_params *p,
                         const void *rfft_plan_L, const void *cfft_plan_M, float *out)
    int vg_cqcc_check(const vg_cqt_params *p, const vg_cqcc_params *c)
    int vg_cqcc_rows(const vg_cqcc_params *c, size_t *rows)
    int vg_cqcc(const double *y, size_t n, const vg_cqt_params *p, const vg_cqcc_params *c,
                const void *rfft_plan_L, const void *cfft_plan_M, float *out)
