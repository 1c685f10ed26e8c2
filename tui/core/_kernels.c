/* The store's numpy kernels, where numpy needs two passes or a mask (tui/core/kernels.py
 * calls them, and does the same with numpy when this module is not built):
 *
 * - count_at: facet counts at a view's positions, without gathering the codes first;
 * - insert_sorted: the sorted inserts that keep the time order, the id index and the
 *   time-ordered columns current as commits arrive;
 * - sort_by_rank: the event list's sort by a column, a counting sort over value ranks;
 * - select_at: a filter's matching positions, and the error flags at them, in one
 *   pass over its mask.
 *
 * All release the GIL and check their arguments rather than trusting the caller.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* count_at(out, codes, at): out[codes[i]] += 1 for each position i in `at`.
 * out: int64, writable; codes: uint8, uint16 or int32 (told by their item size, 1, 2
 * or 4: the store's code columns take the narrowest that holds their dictionary);
 * at: int64 (C-contiguous; the caller checks the dtypes). np.bincount(codes[at])
 * without the gathered copy, and without the GIL: a filter's facet counts at 1M
 * events, ~3x less time than numpy's two passes. */
#define COUNT_AT(T)                                                   \
    for (Py_ssize_t i = 0; i < na; i++) {                             \
        int64_t p = a[i];                                             \
        if ((uint64_t)p >= (uint64_t)nc) {                            \
            bad = 1;                                                  \
            break;                                                    \
        }                                                             \
        int64_t v = ((const T *)codes.buf)[p];                        \
        if (v < 0 || v >= (int64_t)no) {                              \
            bad = 2;                                                  \
            break;                                                    \
        }                                                             \
        o[v]++;                                                       \
    }

static PyObject *count_at(PyObject *Py_UNUSED(module), PyObject *args)
{
    Py_buffer out, codes, at;
    if (!PyArg_ParseTuple(args, "w*y*y*", &out, &codes, &at))
        return NULL;
    int64_t *o = out.buf;
    const int64_t *a = at.buf;
    Py_ssize_t item = codes.itemsize;
    Py_ssize_t no = out.len / 8, nc = item > 0 ? codes.len / item : 0, na = at.len / 8;
    int bad = 0;
    if (item != 1 && item != 2 && item != 4)
        bad = 3;
    else {
        Py_BEGIN_ALLOW_THREADS
        if (item == 1) {
            COUNT_AT(uint8_t)
        } else if (item == 2) {
            COUNT_AT(uint16_t)
        } else {
            COUNT_AT(int32_t)
        }
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&out);
    PyBuffer_Release(&codes);
    PyBuffer_Release(&at);
    if (bad) {
        PyErr_SetString(PyExc_IndexError, bad == 1 ? "position out of range"
                                          : bad == 2 ? "code out of range"
                                                     : "codes must be 1, 2 or 4 bytes each");
        return NULL;
    }
    Py_RETURN_NONE;
}

/* insert_sorted(dst, src, n, pos, values): dst[:n + k] = np.insert(src[:n], pos, values),
 * for any fixed item size; `pos` is int64, non-decreasing, each in [0, n]; values at
 * equal positions keep their order. dst may be src (in place; it needs room for n + k
 * items). One backward pass of block moves: numpy's insert sorts the positions and
 * builds a mask first, ~5x slower on the store's 1M-row order arrays. */
static PyObject *insert_sorted(PyObject *Py_UNUSED(module), PyObject *args)
{
    Py_buffer dst, src, pos, val;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "w*y*ny*y*", &dst, &src, &n, &pos, &val))
        return NULL;
    /* The buffer protocol gives each item's size even without its format. */
    Py_ssize_t k = pos.len / 8, item = dst.itemsize;
    const char *err = NULL;
    if (item < 1 || src.itemsize != item || val.itemsize != item)
        err = "the arrays' items differ in size";
    else if (pos.itemsize != 8 || val.len != k * item)
        err = "positions must be int64, one value per position";
    else if (n < 0 || n * item > src.len || (n + k) * item > dst.len)
        err = "the arrays are too short";
    const int64_t *p = pos.buf;
    for (Py_ssize_t i = 0; !err && i < k; i++)
        if (p[i] < 0 || p[i] > n || (i && p[i] < p[i - 1]))
            err = "positions must be non-decreasing and within the array";
    if (!err) {
        char *d = dst.buf;
        const char *s = src.buf, *v = val.buf;
        Py_BEGIN_ALLOW_THREADS
        Py_ssize_t src_end = n, dst_end = n + k;
        for (Py_ssize_t i = k - 1; i >= 0; i--) {
            Py_ssize_t run = src_end - p[i];
            dst_end -= run;
            memmove(d + dst_end * item, s + p[i] * item, run * item);
            dst_end -= 1;
            memcpy(d + dst_end * item, v + i * item, item);
            src_end = p[i];
        }
        if (d != s)  /* the part before the first position */
            memmove(d, s, src_end * item);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&dst);
    PyBuffer_Release(&src);
    PyBuffer_Release(&pos);
    PyBuffer_Release(&val);
    if (err) {
        PyErr_SetString(PyExc_ValueError, err);
        return NULL;
    }
    Py_RETURN_NONE;
}

/* sort_by_rank(out, rows, codes, table, nranks): out = rows ordered by table[codes[i]],
 * stable (rows with equal ranks keep their order: time order, the sort's tie-break).
 * rows, out: int64, one per row; codes: uint8, uint16 or int32 (item size 1, 2 or 4),
 * the code of each row; table: uint16 or uint32 (item size 2 or 4), each code's rank,
 * every rank below nranks. A counting sort: one pass counts the ranks, one places the
 * rows, O(n + nranks) -- where numpy's stable argsort of 32-bit ranks is a merge sort,
 * and the rank gather and the take are two more passes. Without the GIL (the event
 * list sorts big views on a thread). */
#define RANK_OF(TC, TT, i) ((int64_t)((const TT *)table.buf)[((const TC *)codes.buf)[i]])
#define SORT_BY_RANK(TC, TT)                                                    \
    for (Py_ssize_t i = 0; i < n; i++) {                                        \
        int64_t c = (int64_t)((const TC *)codes.buf)[i];                        \
        if (c < 0 || c >= nt) {                                                 \
            bad = 1;                                                            \
            break;                                                              \
        }                                                                       \
        int64_t r = (int64_t)((const TT *)table.buf)[c];                        \
        if (r >= nranks) {                                                      \
            bad = 2;                                                            \
            break;                                                              \
        }                                                                       \
        start[r]++;                                                             \
    }                                                                           \
    if (!bad) {                                                                 \
        int64_t at = 0;                                                         \
        for (Py_ssize_t r = 0; r < nranks; r++) {                               \
            int64_t c = start[r];                                               \
            start[r] = at;                                                      \
            at += c;                                                            \
        }                                                                       \
        for (Py_ssize_t i = 0; i < n; i++)                                      \
            o[start[RANK_OF(TC, TT, i)]++] = w[i];                              \
    }

#define SORT_BY_RANK_T(TC)          \
    if (table.itemsize == 2) {      \
        SORT_BY_RANK(TC, uint16_t)  \
    } else {                        \
        SORT_BY_RANK(TC, uint32_t)  \
    }

static PyObject *sort_by_rank(PyObject *Py_UNUSED(module), PyObject *args)
{
    Py_buffer out, rows, codes, table;
    Py_ssize_t nranks;
    if (!PyArg_ParseTuple(args, "w*y*y*y*n", &out, &rows, &codes, &table, &nranks))
        return NULL;
    Py_ssize_t n = rows.len / 8, ci = codes.itemsize, ti = table.itemsize;
    Py_ssize_t nt = ti > 0 ? table.len / ti : 0;
    const char *err = NULL;
    if (rows.itemsize != 8 || out.itemsize != 8 || out.len != rows.len)
        err = "rows and out must be int64 and of one length";
    else if (ci != 1 && ci != 2 && ci != 4)
        err = "codes must be 1, 2 or 4 bytes each";
    else if (ti != 2 && ti != 4)
        err = "ranks must be 2 or 4 bytes each";
    else if (codes.len != n * ci)
        err = "one code per row";
    else if (nranks < 0)
        err = "nranks must not be negative";
    int64_t *start = NULL;
    if (!err) {
        start = calloc((size_t)nranks + 1, sizeof(int64_t));
        if (!start) {
            err = "out of memory";
        }
    }
    int bad = 0;
    if (!err) {
        int64_t *o = out.buf;
        const int64_t *w = rows.buf;
        Py_BEGIN_ALLOW_THREADS
        if (ci == 1) {
            SORT_BY_RANK_T(uint8_t)
        } else if (ci == 2) {
            SORT_BY_RANK_T(uint16_t)
        } else {
            SORT_BY_RANK_T(int32_t)
        }
        Py_END_ALLOW_THREADS
        free(start);
    }
    PyBuffer_Release(&out);
    PyBuffer_Release(&rows);
    PyBuffer_Release(&codes);
    PyBuffer_Release(&table);
    if (err) {
        if (start == NULL && !strcmp(err, "out of memory"))
            return PyErr_NoMemory();
        PyErr_SetString(PyExc_ValueError, err);
        return NULL;
    }
    if (bad) {
        PyErr_SetString(PyExc_IndexError, bad == 1 ? "code out of range" : "rank out of range");
        return NULL;
    }
    Py_RETURN_NONE;
}

/* select_at(out, mask, base, sel, srcs, dsts): the positions where `mask` holds, and
 * the columns a view takes at them, in one pass over the mask:
 *   out[j] = the j-th such position: base + i for mask index i, or sel[i] when `sel`
 *            is given (a view's positions, narrowed);
 *   dsts[t][j] = srcs[t][out[j]] (a column taken at the positions: the error flags).
 * mask: bool (1 byte each); out, sel: int64; each src and its dst of one item size.
 * Returns how many positions were written; fails if out has no room for them. A big
 * view's slices each write straight into their stretch of one array (numpy's
 * flatnonzero makes an array per slice, to be copied), and the columns are taken
 * from each block's positions while they are in the cache (a take after it reads
 * them all again). Without the GIL. */
#define SELECT_MAX 16 /* columns taken */
#define SELECT_BLOCK 2048 /* mask entries per round: positions found, then taken */

/* base + each mask index in [i, end) where the mask holds, into dst (which has room
 * for one more than that); returns how many. Branch-free per byte (a miss's slot is
 * overwritten by the next), and 64 bytes at a time where none holds (a narrow
 * filter's mask is mostly runs of misses). */
static Py_ssize_t find_set(const uint8_t *mk, Py_ssize_t i, Py_ssize_t end, int64_t base,
                           int64_t *dst)
{
    Py_ssize_t nb = 0;
    while (i < end) {
        if (end - i >= 64) {
            uint64_t any = 0, w;
            for (int g = 0; g < 8; g++) {
                memcpy(&w, mk + i + 8 * g, 8);
                any |= w;
            }
            if (!any) {
                i += 64;
                continue;
            }
        }
        Py_ssize_t e = end - i >= 64 ? i + 64 : end;
        for (; i < e; i++) {
            dst[nb] = base + i;
            nb += mk[i] != 0;
        }
    }
    return nb;
}

static int get_buffers(PyObject *seq, Py_buffer *bufs, Py_ssize_t *got, int writable)
{
    *got = 0;
    if (!PyTuple_Check(seq) || PyTuple_GET_SIZE(seq) > SELECT_MAX) {
        PyErr_SetString(PyExc_TypeError, "expected a tuple of at most 16 arrays");
        return -1;
    }
    int flags = writable ? PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS : PyBUF_C_CONTIGUOUS;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(seq); i++) {
        if (PyObject_GetBuffer(PyTuple_GET_ITEM(seq, i), &bufs[i], flags) < 0)
            return -1;
        (*got)++;
    }
    return 0;
}

static void release_buffers(Py_buffer *bufs, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++)
        PyBuffer_Release(&bufs[i]);
}

static PyObject *select_at(PyObject *Py_UNUSED(module), PyObject *args)
{
    Py_buffer out, mask, sel = {0};
    Py_ssize_t base;
    PyObject *sel_obj, *srcs_obj, *dsts_obj;
    if (!PyArg_ParseTuple(args, "w*y*nOOO", &out, &mask, &base, &sel_obj, &srcs_obj, &dsts_obj))
        return NULL;
    Py_buffer sb[SELECT_MAX], db[SELECT_MAX];
    Py_ssize_t ns = 0, nd = 0;
    int have_sel = sel_obj != Py_None;
    PyObject *result = NULL;
    const char *err = NULL;
    int bad = 0;
    Py_ssize_t m = mask.len, k = out.len / 8, j = 0;
    int64_t limit = INT64_MAX; /* every position written must lie in each source */
    if (have_sel && PyObject_GetBuffer(sel_obj, &sel, PyBUF_C_CONTIGUOUS) < 0)
        goto done;
    if (get_buffers(srcs_obj, sb, &ns, 0) < 0 || get_buffers(dsts_obj, db, &nd, 1) < 0)
        goto done;
    if (out.itemsize != 8 || mask.itemsize != 1)
        err = "out must be int64 and the mask bool";
    else if (have_sel && (sel.itemsize != 8 || sel.len != m * 8))
        err = "sel must be int64, one position per mask entry";
    else if (ns != nd)
        err = "one destination per source";
    else if (!have_sel && base < 0)
        err = "base must not be negative";
    for (Py_ssize_t t = 0; !err && t < ns; t++) {
        if (sb[t].itemsize < 1 || db[t].itemsize != sb[t].itemsize ||
            db[t].len != k * sb[t].itemsize)
            err = "each destination holds one item of its source's size per position";
        else if (sb[t].len / sb[t].itemsize < limit)
            limit = sb[t].len / sb[t].itemsize;
    }
    if (err) {
        PyErr_SetString(PyExc_ValueError, err);
        goto done;
    }
    const uint8_t *mk = mask.buf;
    const int64_t *sp = have_sel ? sel.buf : NULL;
    int64_t *op = out.buf;
    int64_t buf[SELECT_BLOCK + 1];
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < m;) {
        Py_ssize_t end = i + SELECT_BLOCK < m ? i + SELECT_BLOCK : m;
        /* Straight into out when it has room for every index of the block and one. */
        int64_t *dst = k - j > end - i ? op + j : buf;
        Py_ssize_t nb = find_set(mk, i, end, have_sel ? 0 : base, dst);
        i = end;
        if (nb > k - j) {
            bad = 1;
            break;
        }
        if (dst == buf)
            memcpy(op + j, buf, nb * sizeof(int64_t));
        int64_t *pos = op + j;
        if (have_sel) { /* mask indices -> the positions sel holds there */
            for (Py_ssize_t t = 0; t < nb && !bad; t++) {
                int64_t p = sp[pos[t]];
                if (p < 0 || p >= limit)
                    bad = 2;
                pos[t] = p;
            }
        } else if (nb && pos[nb - 1] >= limit) { /* ascending, from base >= 0 */
            bad = 2;
        }
        if (bad)
            break;
        for (Py_ssize_t t = 0; t < ns; t++) {
            Py_ssize_t item = sb[t].itemsize;
            const char *s = sb[t].buf;
            char *d = (char *)db[t].buf + j * item;
            if (item == 1) {
                for (Py_ssize_t u = 0; u < nb; u++)
                    d[u] = s[pos[u]];
            } else if (item == 8) {
                for (Py_ssize_t u = 0; u < nb; u++)
                    ((int64_t *)d)[u] = ((const int64_t *)s)[pos[u]];
            } else {
                for (Py_ssize_t u = 0; u < nb; u++)
                    memcpy(d + u * item, s + pos[u] * item, item);
            }
        }
        j += nb;
    }
    Py_END_ALLOW_THREADS
    if (bad)
        PyErr_SetString(PyExc_IndexError,
                        bad == 1 ? "more positions than out holds" : "position out of range");
    else
        result = PyLong_FromSsize_t(j);
done:
    release_buffers(sb, ns);
    release_buffers(db, nd);
    if (have_sel)
        PyBuffer_Release(&sel);
    PyBuffer_Release(&out);
    PyBuffer_Release(&mask);
    return result;
}

static PyMethodDef module_methods[] = {
    {"count_at", count_at, METH_VARARGS, "count_at(out, codes, at): out[codes[i]] += 1 for i in at"},
    {"insert_sorted", insert_sorted, METH_VARARGS,
     "insert_sorted(dst, src, n, pos, values): dst[:n+k] = np.insert(src[:n], pos, values)"},
    {"sort_by_rank", sort_by_rank, METH_VARARGS,
     "sort_by_rank(out, rows, codes, table, nranks): rows stably ordered by table[codes]"},
    {"select_at", select_at, METH_VARARGS,
     "select_at(out, mask, base, sel, srcs, dsts): the positions where mask holds, and srcs "
     "taken there"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef kernels_module = {
    PyModuleDef_HEAD_INIT, "_kernels", "The store's numpy kernels: facet counts, sorted inserts, rank sorts, selections.",
    -1, module_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__kernels(void)
{
    return PyModule_Create(&kernels_module);
}
