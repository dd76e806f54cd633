/* Status codes shared by every voiceguard C function. 0 is success; the Cython layer maps
 * each nonzero code to one Python exception (voiceguard/_ext/_status.pxi). */
#ifndef VG_STATUS_H
#define VG_STATUS_H

#define VG_OK 0
#define VG_ERR_NULL 1        /* a required pointer argument was NULL */
#define VG_ERR_SIZE 2        /* a size/length argument is zero, negative or inconsistent */
#define VG_ERR_PARAM 3       /* a numeric parameter is out of its valid range */
#define VG_ERR_NOMEM 4       /* an internal scratch allocation failed */
#define VG_ERR_TOO_SHORT 5   /* the signal is shorter than one analysis frame */
#define VG_ERR_NONFINITE 6   /* the input holds NaN or infinity */
#define VG_ERR_BUFFER 7      /* a caller-provided buffer is too small */

#endif
