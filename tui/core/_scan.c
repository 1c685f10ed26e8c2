/* Native per-file scan of a CloudTrail `{"Records":[...]}` document (or of several,
 * one after another).
 *
 * Does in one pass what the Python fast path (fastpath.py + batch.py) does per event:
 * validates the JSON, finds each record's byte span, picks out the members the field
 * table reads, derives the indexed values by running the table's programs (below,
 * "programs"), parses eventTime and hashes eventID like batch.times_ms and
 * batch.id_hash, flags malformed records like fastpath.malformed (members of the
 * wrong JSON type bail, as fastpath's types refuse them), and numbers the values with
 * a persistent per-field table.
 *
 * What to capture and how to derive each field is not written here: a `Schema`, built
 * from tui/core/fields.py by tui/core/derive.py when batch.py is imported, holds the
 * member tree (names -> slots, nested objects), per-slot rules, and one small program
 * per field.
 *
 * Contract: for any input it either returns the same results the Python path gives,
 * or returns None ("bail") and the Python path handles the file. It bails on anything
 * unusual (escaped keys, duplicate keys, non-string captured values, odd times or ids,
 * invalid UTF-8, lone surrogates, deep nesting, ...). Nothing is written into the
 * encoder's tables until the whole document has parsed, so a bail leaves no trace.
 * tests/core/test_native.py checks the contract differentially.
 *
 * Also here: `PathTable`, the scan behind the store's path columns. The store's numpy
 * kernels (facet counts, sorted inserts) are in _kernels.c.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define MAX_DEPTH 400   /* msgspec refuses somewhat deeper documents; we bail earlier */
#define MAX_NUMBER 64   /* longer number tokens: leave them to the Python path */
#define ID_WIDTH 40

/* ------------------------------------------------------------------ values */

enum { V_NONE = 0, V_STR, V_TRUE, V_FALSE, V_OTHER };

typedef struct {
    const unsigned char *p; /* string contents (between the quotes), raw */
    uint32_t len;
    uint8_t kind;
    uint8_t esc; /* contains backslash escapes */
} Val;

/* One record: its span, and (in Recs.vals) the values of the schema's slots. */
typedef struct {
    int64_t start, end; /* the record's byte span in the document */
    int hostile;        /* a string in it holds a character sanitize.clean escapes */
    uint64_t objs;      /* bit k: object node k was met as an object */
} Rec;

/* ------------------------------------------------------------------ hash tables */

typedef struct {
    uint64_t h;
    uint32_t off, len;
    int32_t code; /* -1: empty */
} Ent;

typedef struct {
    Ent *ents;
    size_t cap, count;
    char *arena;
    size_t arena_len, arena_cap;
    Ent last; /* the previous lookup: a file's records often repeat a field's value */
} Table;

static inline uint64_t load_le(const unsigned char *p, size_t n)
{
    uint64_t w = 0;
    memcpy(&w, p, n);
    return w;
}

static inline uint64_t mix(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static uint64_t hash_bytes(const unsigned char *p, size_t n, uint64_t seed)
{
    uint64_t h = seed ^ (n * 0x9E3779B97F4A7C15ull);
    while (n >= 8) {
        h = mix(h ^ load_le(p, 8), 0xA0761D6478BD642Full);
        p += 8;
        n -= 8;
    }
    if (n)
        h = mix(h ^ load_le(p, n), 0xE7037ED1A0B428DBull);
    return mix(h, 0x8EBC6AF09C88C6E3ull);
}

static int table_init(Table *t)
{
    t->cap = 64;
    t->count = 0;
    t->ents = PyMem_Malloc(t->cap * sizeof(Ent));
    t->arena_cap = 4096;
    t->arena_len = 0;
    t->arena = PyMem_Malloc(t->arena_cap);
    if (!t->ents || !t->arena)
        return -1;
    for (size_t i = 0; i < t->cap; i++)
        t->ents[i].code = -1;
    t->last.code = -1;
    return 0;
}

static void table_free(Table *t)
{
    PyMem_Free(t->ents);
    PyMem_Free(t->arena);
    t->ents = NULL;
    t->arena = NULL;
}

static int table_grow(Table *t)
{
    size_t ncap = t->cap * 2;
    Ent *n = PyMem_Malloc(ncap * sizeof(Ent));
    if (!n)
        return -1;
    for (size_t i = 0; i < ncap; i++)
        n[i].code = -1;
    for (size_t i = 0; i < t->cap; i++) {
        Ent e = t->ents[i];
        if (e.code < 0)
            continue;
        size_t j = e.h & (ncap - 1);
        while (n[j].code >= 0)
            j = (j + 1) & (ncap - 1);
        n[j] = e;
    }
    PyMem_Free(t->ents);
    t->ents = n;
    t->cap = ncap;
    return 0;
}

/* Whether `key` is the table's previous lookup (then its code is t->last.code). */
static inline int table_repeats(const Table *t, const unsigned char *key, size_t len)
{
    /* the last byte before the call: values of a field often share their start */
    return t->last.code >= 0 && t->last.len == len &&
           (len == 0 || t->arena[t->last.off + len - 1] == (char)key[len - 1]) &&
           memcmp(t->arena + t->last.off, key, len) == 0;
}

/* The slot where a key of hash `h` is looked up first: fetched ahead of the lookup
 * (see Encoder_scan), as on big tables the lookup waits on it. */
static inline const Ent *table_slot(const Table *t, uint64_t h)
{
    return &t->ents[h & (t->cap - 1)];
}

static int32_t table_code_hashed(Table *t, const unsigned char *key, size_t len, uint64_t h,
                                 PyObject *fresh);

/* The code of `key`; a new key gets the next code and its str is appended to `fresh`.
 * Returns -1 with an exception set on failure. */
static int32_t table_code(Table *t, const unsigned char *key, size_t len, uint64_t seed,
                          PyObject *fresh)
{
    if (table_repeats(t, key, len))
        return t->last.code;
    return table_code_hashed(t, key, len, hash_bytes(key, len, seed), fresh);
}

/* table_code with the key's hash already computed (and the previous lookup checked). */
static int32_t table_code_hashed(Table *t, const unsigned char *key, size_t len, uint64_t h,
                                 PyObject *fresh)
{
    size_t mask = t->cap - 1, j = h & mask;
    for (;;) {
        Ent *e = &t->ents[j];
        if (e->code < 0)
            break;
        if (e->h == h && e->len == len && memcmp(t->arena + e->off, key, len) == 0) {
            t->last = *e;
            return e->code;
        }
        j = (j + 1) & mask;
    }
    if (len > UINT32_MAX || t->arena_len + len > UINT32_MAX || t->count >= INT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "value table full");
        return -1;
    }
    PyObject *s = PyUnicode_DecodeUTF8((const char *)key, (Py_ssize_t)len, "surrogatepass");
    if (!s)
        return -1;
    int rc = PyList_Append(fresh, s);
    Py_DECREF(s);
    if (rc < 0)
        return -1;
    if (t->arena_len + len > t->arena_cap) {
        size_t ncap = t->arena_cap * 2;
        while (ncap < t->arena_len + len)
            ncap *= 2;
        char *na = PyMem_Realloc(t->arena, ncap);
        if (!na) {
            PyErr_NoMemory();
            return -1;
        }
        t->arena = na;
        t->arena_cap = ncap;
    }
    memcpy(t->arena + t->arena_len, key, len);
    Ent *e = &t->ents[j];
    e->h = h;
    e->off = (uint32_t)t->arena_len;
    e->len = (uint32_t)len;
    int32_t code = e->code = (int32_t)t->count++;
    t->arena_len += len;
    t->last = *e;
    if (t->count * 2 > t->cap && table_grow(t) < 0) { /* frees the old entries */
        PyErr_NoMemory();
        return -1;
    }
    return code;
}

/* ------------------------------------------------------------------ JSON scanning */

typedef struct {
    const unsigned char *base, *p, *end;
    int hostile; /* a string in the current record holds a hostile character */
} Cur;

/* sanitize._RANGES (set once by batch.py): the code points `clean` escapes. */
static uint32_t *hostile_lo, *hostile_hi;
static Py_ssize_t hostile_n = -1;

static int hostile_cp(uint32_t cp)
{
    Py_ssize_t a = 0, b = hostile_n;
    while (a < b) { /* first range whose hi >= cp */
        Py_ssize_t m = (a + b) / 2;
        if (hostile_hi[m] < cp)
            a = m + 1;
        else
            b = m;
    }
    return a < hostile_n && hostile_lo[a] <= cp;
}

#define BAIL (-1)

static inline void skip_ws(Cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t'))
        c->p++;
}

/* After a member or element: 1 when a ',' says another follows, 0 when `close` ends
 * the container (consumed), BAIL otherwise. */
static inline int next_item(Cur *c, unsigned char close)
{
    skip_ws(c);
    if (c->p >= c->end)
        return BAIL;
    if (*c->p == ',') {
        c->p++;
        skip_ws(c);
        return 1;
    }
    if (*c->p != close)
        return BAIL;
    c->p++;
    return 0;
}

static inline int hexval(unsigned char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch |= 0x20;
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

static int read_u16(const unsigned char *p, const unsigned char *end)
{
    if (end - p < 4)
        return -1;
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* A string starting at the opening quote: validates escapes (no lone surrogates) and
 * UTF-8 (no overlongs, no encoded surrogates), and notes hostile characters, raw or
 * escaped (sanitize.hostile_in_json's rule). Fills `out` when given. */
static int scan_string(Cur *c, Val *out)
{
    const unsigned char *p = c->p + 1, *end = c->end;
    const unsigned char *start = p;
    int esc = 0;
    for (;;) {
#ifdef __SSE2__
        while (end - p >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)p);
            __m128i m = _mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                             _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
                _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)), /* also >= 0x80 */
                             _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f))));
            int bits = _mm_movemask_epi8(m);
            if (bits) {
                p += __builtin_ctz((unsigned)bits);
                break;
            }
            p += 16;
        }
#endif
        if (p >= end)
            return BAIL;
        unsigned char ch = *p;
        if (ch == '"')
            break;
        if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
            p++;
            continue;
        }
        if (ch < 0x20)
            return BAIL;
        if (ch == 0x7f) {
            c->hostile = 1;
            p++;
        } else if (ch == '\\') {
            esc = 1;
            if (end - p < 2)
                return BAIL;
            unsigned char e = p[1];
            if (e == 'u') {
                int u = read_u16(p + 2, end);
                if (u < 0)
                    return BAIL;
                p += 6;
                if (u >= 0xD800 && u <= 0xDBFF) {
                    if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
                        return BAIL;
                    int lo = read_u16(p + 2, end);
                    if (lo < 0xDC00 || lo > 0xDFFF)
                        return BAIL;
                    p += 6;
                    u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                } else if (u >= 0xDC00 && u <= 0xDFFF) {
                    return BAIL;
                }
                if (hostile_cp((uint32_t)u))
                    c->hostile = 1;
            } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' ||
                       e == 'r' || e == 't') {
                if (e != '"' && e != '\\' && e != '/')
                    c->hostile = 1; /* a control character */
                p += 2;
            } else {
                return BAIL;
            }
        } else { /* UTF-8 lead byte */
            size_t left = (size_t)(end - p);
            if (ch >= 0xC2 && ch <= 0xDF) {
                if (left < 2 || (p[1] & 0xC0) != 0x80)
                    return BAIL;
                if (hostile_cp(((uint32_t)(ch & 0x1F) << 6) | (p[1] & 0x3F)))
                    c->hostile = 1;
                p += 2;
            } else if (ch >= 0xE0 && ch <= 0xEF) {
                if (left < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
                    return BAIL;
                if ((ch == 0xE0 && p[1] < 0xA0) || (ch == 0xED && p[1] > 0x9F))
                    return BAIL;
                if (hostile_cp(((uint32_t)(ch & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) |
                               (p[2] & 0x3F)))
                    c->hostile = 1;
                p += 3;
            } else if (ch >= 0xF0 && ch <= 0xF4) {
                if (left < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
                    (p[3] & 0xC0) != 0x80)
                    return BAIL;
                if ((ch == 0xF0 && p[1] < 0x90) || (ch == 0xF4 && p[1] > 0x8F))
                    return BAIL;
                if (hostile_cp(((uint32_t)(ch & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) |
                               ((uint32_t)(p[2] & 0x3F) << 6) | (p[3] & 0x3F)))
                    c->hostile = 1;
                p += 4;
            } else {
                return BAIL;
            }
        }
    }
    if (out) {
        if ((size_t)(p - start) > UINT32_MAX)
            return BAIL;
        out->p = start;
        out->len = (uint32_t)(p - start);
        out->kind = V_STR;
        out->esc = (uint8_t)esc;
    }
    c->p = p + 1;
    return 0;
}

/* A member name and its ':' (with the whitespace around). */
static int scan_key(Cur *c, Val *key)
{
    if (c->p >= c->end || *c->p != '"' || scan_string(c, key) < 0)
        return BAIL;
    skip_ws(c);
    if (c->p >= c->end || *c->p != ':')
        return BAIL;
    c->p++;
    skip_ws(c);
    return 0;
}

static int scan_number(Cur *c)
{
    const unsigned char *p = c->p, *end = c->end, *s = p;
    if (p < end && *p == '-')
        p++;
    if (p >= end)
        return BAIL;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    } else {
        return BAIL;
    }
    if (p < end && *p == '.') {
        p++;
        if (p >= end || *p < '0' || *p > '9')
            return BAIL;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || *p < '0' || *p > '9')
            return BAIL;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p - s > MAX_NUMBER)
        return BAIL;
    c->p = p;
    return 0;
}

static int scan_literal(Cur *c, const char *word, size_t n)
{
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
        return BAIL;
    c->p += n;
    return 0;
}

/* Any value; when `out` is given, records its kind (and a string's contents). */
static int scan_value(Cur *c, Val *out, int depth)
{
    if (c->p >= c->end)
        return BAIL;
    unsigned char ch = *c->p;
    if (ch == '"')
        return scan_string(c, out);
    if (out)
        out->kind = V_OTHER;
    if (ch == '{' || ch == '[') {
        unsigned char close = ch == '{' ? '}' : ']';
        if (depth >= MAX_DEPTH)
            return BAIL;
        c->p++;
        skip_ws(c);
        if (c->p < c->end && *c->p == close) {
            c->p++;
            return 0;
        }
        for (;;) {
            if (close == '}') {
                if (scan_key(c, NULL) < 0)
                    return BAIL;
            }
            if (scan_value(c, NULL, depth + 1) < 0)
                return BAIL;
            int more = next_item(c, close);
            if (more < 0)
                return BAIL;
            if (more)
                continue;
            return 0;
        }
    }
    if (ch == 't') {
        if (out)
            out->kind = V_TRUE;
        return scan_literal(c, "true", 4);
    }
    if (ch == 'f') {
        if (out)
            out->kind = V_FALSE;
        return scan_literal(c, "false", 5);
    }
    if (ch == 'n') {
        if (out)
            out->kind = V_NONE;
        return scan_literal(c, "null", 4);
    }
    return scan_number(c);
}

/* ------------------------------------------------------------------ the schema
 *
 * Built once from the field table (derive.compile_native). Object node 0 is the
 * record; each node lists the member names it picks out, each either a slot (a value
 * to capture) or another node (an object to descend into). A strict node's members
 * must be objects or null (fields.SHAPES: msgspec's types refuse anything else, so we
 * bail); a lenient one is looked into only when it is an object.
 *
 * Programs: per field, int32 ops. A case is
 *   OP_CASE next result_at ncond <cond>... <result>
 * (positions relative to the field's program): when every condition holds, the result
 * at result_at; else the case at next. A lookup is
 *   OP_LOOKUP next slot ci n key value ...
 * (constants): the value of the key the slot's string equals, else the case at next.
 * OP_DEFAULT <result> ends the program.
 * Conditions: C_EMPTY slot (no value: null, missing, ""), C_PRESENT slot, C_IS slot ci
 * n const..., C_OBJECT node, C_ANY n <cond>.... Results: R_SLOT slot, R_CONST const,
 * R_LOWER slot (readOnly: a boolean as "true"/"false", a string ASCII-lower-cased). */

enum { OP_CASE = 1, OP_LOOKUP, OP_DEFAULT, C_EMPTY, C_PRESENT, C_IS, C_OBJECT, C_ANY, R_SLOT,
       R_CONST, R_LOWER };
enum { SLOT_NO_ESCAPE = 1, SLOT_ASCII = 2, SLOT_BOOL = 4 };
enum { CHECK_VERSION = 0, CHECK_BOOLEAN = 1 };

#define MAX_MEMBERS 64 /* per node: the duplicate-key bits */
#define MAX_NODES 64   /* Rec.objs bits */
#define MAX_FIELDS 64
#define MAX_NAME 64    /* member names longer than this are never picked */

typedef struct {
    const unsigned char *name;
    uint32_t len;
    int32_t slot;  /* >= 0: a value */
    int32_t child; /* >= 0: a node */
} Member;

typedef struct {
    Member *m;   /* sorted by name length */
    int n;
    int strict;
    uint8_t first[MAX_NAME + 2]; /* first[len]..first[len+1]: the members of that length */
} Node;

typedef struct {
    PyObject_HEAD
    Node *nodes;
    int nnodes;
    uint8_t *slot_flags;
    int nslots;
    int32_t *code;     /* every field's program, one after another */
    int32_t *prog;     /* field -> start in `code` */
    int *lower;        /* field -> its R_LOWER scratch area, or -1 */
    int nlower;
    int nfields;
    Val *consts;
    int nconsts;
    PyObject *keep; /* the bytes member names and constants point into */
    int time_slot, id_slot;
    int (*checks)[2];
    int nchecks;
    int ready; /* built and checked */
} Schema;

static PyTypeObject SchemaType;

static int match_member(const Node *nd, const unsigned char *name, size_t len)
{
    if (len > MAX_NAME)
        return -1;
    /* the first byte before the call: most members of a length differ there */
    for (int i = nd->first[len]; i < nd->first[len + 1]; i++)
        if ((len == 0 || nd->m[i].name[0] == name[0]) && memcmp(nd->m[i].name, name, len) == 0)
            return i;
    return -1;
}

/* An object whose members we pick out (node `k`). A non-object where a strict node
 * is expected (other than null, handled by the caller) fails msgspec's validation, so
 * we bail too. Duplicate or escaped member names: bail. */
static int scan_picked(Cur *c, const Schema *sc, Rec *r, Val *vals, int k, int depth)
{
    const Node *nd = &sc->nodes[k];
    uint64_t seen = 0;
    if (c->p >= c->end || *c->p != '{' || depth >= MAX_DEPTH)
        return BAIL;
    r->objs |= 1ull << k;
    c->p++;
    skip_ws(c);
    if (c->p < c->end && *c->p == '}') {
        c->p++;
        return 0;
    }
    for (;;) {
        Val key;
        if (scan_key(c, &key) < 0)
            return BAIL;
        if (key.esc)
            return BAIL; /* msgspec matches the unescaped name; keep it simple */
        int i = match_member(nd, key.p, key.len);
        if (i < 0) {
            if (scan_value(c, NULL, depth + 1) < 0)
                return BAIL;
        } else {
            if (seen & (1ull << i))
                return BAIL;
            seen |= 1ull << i;
            const Member *m = &nd->m[i];
            if (m->slot >= 0) {
                if (scan_value(c, &vals[m->slot], depth + 1) < 0)
                    return BAIL;
            } else if (c->p < c->end && *c->p == 'n') {
                if (scan_literal(c, "null", 4) < 0)
                    return BAIL;
            } else if (c->p < c->end && (*c->p == '{' || sc->nodes[m->child].strict)) {
                if (scan_picked(c, sc, r, vals, m->child, depth + 1) < 0)
                    return BAIL;
            } else if (scan_value(c, NULL, depth + 1) < 0) { /* lenient: not an object */
                return BAIL;
            }
        }
        int more = next_item(c, '}');
        if (more < 0)
            return BAIL;
        if (more)
            continue;
        return 0;
    }
}

/* ------------------------------------------------------------------ derived values */

static const int64_t DAYS_BEFORE_MONTH[13] = {0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
static const int DAYS_IN_MONTH[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

/* batch.times_ms's fast form `YYYY-MM-DDTHH:MM:SSZ`; anything else bails. */
static int parse_time(const Val *v, int64_t *out)
{
    if (v->kind != V_STR || v->esc || v->len != 20)
        return BAIL;
    const unsigned char *s = v->p;
    static const int digits[14] = {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18};
    if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z')
        return BAIL;
    for (int i = 0; i < 14; i++)
        if (s[digits[i]] < '0' || s[digits[i]] > '9')
            return BAIL;
#define D(i) ((int64_t)(s[i] - '0'))
    int64_t y = D(0) * 1000 + D(1) * 100 + D(2) * 10 + D(3);
    int64_t mo = D(5) * 10 + D(6), dd = D(8) * 10 + D(9);
    int64_t hh = D(11) * 10 + D(12), mi = D(14) * 10 + D(15), ss = D(17) * 10 + D(18);
#undef D
    if (y < 1 || mo < 1 || mo > 12 || hh >= 24 || mi >= 60 || ss >= 61)
        return BAIL;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    int64_t dim = DAYS_IN_MONTH[mo] + (mo == 2 && leap);
    if (dd < 1 || dd > dim)
        return BAIL;
    int64_t yp = y - 1;
    int64_t days = yp * 365 + yp / 4 - yp / 100 + yp / 400 - 719162 + DAYS_BEFORE_MONTH[mo] +
                   (mo > 2 && leap) + dd - 1;
    *out = (days * 86400 + hh * 3600 + mi * 60 + ss) * 1000;
    return 0;
}

/* batch.id_hash for an ASCII id of up to 40 bytes without NUL; 0 = no eventID. */
static int hash_id(const Val *v, uint64_t *out, unsigned char *eid16)
{
    memset(eid16, 0, 16);
    if (v->kind == V_NONE || (v->kind == V_STR && v->len == 0)) {
        *out = 0;
        return 0;
    }
    if (v->kind != V_STR || v->esc || v->len > ID_WIDTH)
        return BAIL;
    unsigned char buf[ID_WIDTH] = {0};
    for (uint32_t i = 0; i < v->len; i++)
        if (v->p[i] == 0 || v->p[i] >= 0x80)
            return BAIL;
    memcpy(buf, v->p, v->len);
    memcpy(eid16, buf, 16);
    uint64_t h = 0xCBF29CE484222325ull;
    for (int k = 0; k < ID_WIDTH / 8; k++) {
        h ^= load_le(buf + 8 * k, 8);
        h *= 0x100000001B3ull;
    }
    *out = h ? h : 1;
    return 0;
}

static inline int truthy(const Val *v) { return v->kind == V_STR && v->len > 0; }

/* Equality with a constant (check_record has bailed on escaped compared slots). */
static inline int is_eq(const Val *v, const Val *k)
{
    return v->kind == V_STR && v->len == k->len && memcmp(v->p, k->p, k->len) == 0;
}

/* ASCII-case-insensitive equality with a lower-case constant. */
static int is_ci(const Val *v, const Val *k)
{
    if (v->kind != V_STR || v->len != k->len)
        return 0;
    for (uint32_t i = 0; i < k->len; i++) {
        unsigned char ch = v->p[i];
        if (((ch >= 'A' && ch <= 'Z') ? ch + 32 : ch) != k->p[i])
            return 0;
    }
    return 1;
}

/* Checks that make a record's derived values computable here; else bail. Captured
 * values are strings or null, booleans only where a rule reads them as such; strings
 * compared with constants must be unescaped, lowered ones ASCII (str.lower() of
 * non-ASCII is Python's to do). */
static int check_record(const Schema *sc, const Val *v)
{
    for (int s = 0; s < sc->nslots; s++) {
        uint8_t k = v[s].kind, fl = sc->slot_flags[s];
        if (k == V_NONE)
            continue;
        if (k == V_OTHER || ((k == V_TRUE || k == V_FALSE) && !(fl & SLOT_BOOL)))
            return BAIL;
        if (k != V_STR)
            continue;
        if (v[s].esc && (fl & SLOT_NO_ESCAPE))
            return BAIL;
        if (fl & SLOT_ASCII)
            for (uint32_t i = 0; i < v[s].len; i++)
                if (v[s].p[i] >= 0x80)
                    return BAIL;
    }
    return 0;
}

static const Val EMPTY = {(const unsigned char *)"", 0, V_STR, 0};
static const Val TRUE_S = {(const unsigned char *)"true", 4, V_STR, 0};
static const Val FALSE_S = {(const unsigned char *)"false", 5, V_STR, 0};

/* normalize.version_ok / readonly_ok, for the slots fields.SHAPES says hold them
 * (check_record has already bailed on escaped or non-ASCII values and on types
 * fastpath refuses). */
static int malformed(const Schema *sc, const Val *vals)
{
    for (int i = 0; i < sc->nchecks; i++) {
        const Val *v = &vals[sc->checks[i][0]];
        if (v->kind != V_STR)
            continue;
        if (sc->checks[i][1] == CHECK_VERSION) {
            if (v->len < 3 || v->p[0] != '1' || v->p[1] != '.')
                return 1;
            for (uint32_t j = 2; j < v->len; j++)
                if (v->p[j] < '0' || v->p[j] > '9')
                    return 1;
        } else if (!is_ci(v, &TRUE_S) && !is_ci(v, &FALSE_S)) {
            return 1;
        }
    }
    return 0;
}

static inline const Val *or_empty(const Val *v) { return v->kind == V_STR ? v : &EMPTY; }

/* The index of the constant among consts[at[0]], consts[at[step]], ... (n of them)
 * that `x` equals (ASCII case ignored when `ci`), or -1. */
static inline int match_const(const Schema *sc, const Val *x, int ci, const int32_t *at, int n,
                              int step)
{
    if (x->kind != V_STR)
        return -1;
    for (int i = 0; i < n; i++) {
        const Val *k = &sc->consts[at[i * step]];
        if (x->len == k->len && (ci ? is_ci(x, k) : memcmp(x->p, k->p, k->len) == 0))
            return i;
    }
    return -1;
}

static int eval_any(const Schema *sc, const int32_t **pcp, const Val *v, uint64_t objs);

/* The condition at *pcp (moved past it). */
static inline int eval_cond(const Schema *sc, const int32_t **pcp, const Val *v, uint64_t objs)
{
    const int32_t *pc = *pcp;
    switch (pc[0]) {
    case C_EMPTY:
        *pcp = pc + 2;
        return !truthy(&v[pc[1]]);
    case C_PRESENT:
        *pcp = pc + 2;
        return truthy(&v[pc[1]]);
    case C_OBJECT:
        *pcp = pc + 2;
        return (int)((objs >> pc[1]) & 1);
    case C_IS:
        *pcp = pc + 4 + pc[3];
        return match_const(sc, &v[pc[1]], pc[2], pc + 4, pc[3], 1) >= 0;
    default: /* C_ANY (Schema_init checked every program) */
        return eval_any(sc, pcp, v, objs);
    }
}

static int eval_any(const Schema *sc, const int32_t **pcp, const Val *v, uint64_t objs)
{
    int n = (*pcp)[1], any = 0;
    *pcp += 2;
    for (int i = 0; i < n; i++)
        any |= eval_cond(sc, pcp, v, objs);
    return any;
}

/* The field values of one record, as derive.compile_fast's function gives them, and
 * per field which constant it is (-1: not a constant; -2: an empty value), so the
 * caller numbers constants without hashing them. `lower`: the scratch where lowered
 * values go, `stride` bytes each. */
static void derive(const Schema *sc, const Rec *r, const Val *v, Val *out, int *konst,
                   unsigned char *lower, size_t stride)
{
    for (int f = 0; f < sc->nfields; f++) {
        const int32_t *base = sc->code + sc->prog[f], *pc = base, *res;
        int32_t found[2] = {R_CONST, 0};
        for (;;) {
            if (pc[0] == OP_DEFAULT) {
                res = pc + 1;
                break;
            }
            if (pc[0] == OP_LOOKUP) {
                int i = match_const(sc, &v[pc[2]], pc[3], pc + 5, pc[4], 2);
                if (i >= 0) {
                    found[1] = pc[6 + 2 * i];
                    res = found;
                    break;
                }
                pc = base + pc[1];
                continue;
            }
            const int32_t *q = pc + 4;
            int ok = 1;
            for (int i = 0; i < pc[3] && ok; i++)
                ok = eval_cond(sc, &q, v, r->objs);
            if (ok) {
                res = base + pc[2];
                break;
            }
            pc = base + pc[1];
        }
        konst[f] = -1;
        if (res[0] == R_CONST) {
            out[f] = sc->consts[res[1]];
            konst[f] = res[1];
        } else if (res[0] == R_SLOT) {
            out[f] = *or_empty(&v[res[1]]);
            if (!out[f].len)
                konst[f] = -2;
        } else { /* R_LOWER */
            const Val *x = &v[res[1]];
            if (x->kind == V_TRUE) {
                out[f] = TRUE_S;
            } else if (x->kind == V_FALSE) {
                out[f] = FALSE_S;
            } else if (x->kind == V_STR) {
                unsigned char *buf = lower + (size_t)sc->lower[f] * stride;
                for (uint32_t i = 0; i < x->len; i++) {
                    unsigned char ch = x->p[i];
                    buf[i] = (ch >= 'A' && ch <= 'Z') ? ch + 32 : ch;
                }
                Val low = {buf, x->len, V_STR, 0};
                out[f] = low;
            } else {
                out[f] = EMPTY;
            }
        }
    }
}

/* JSON-unescape a validated string into `buf` (at least len bytes); returns the length. */
static size_t unescape(const Val *v, unsigned char *buf)
{
    const unsigned char *p = v->p, *end = v->p + v->len;
    unsigned char *o = buf;
    while (p < end) {
        if (*p != '\\') {
            *o++ = *p++;
            continue;
        }
        unsigned char e = p[1];
        if (e != 'u') {
            static const unsigned char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            *o++ = to[strchr((const char *)from, e) - (const char *)from];
            p += 2;
            continue;
        }
        uint32_t u = (uint32_t)read_u16(p + 2, end);
        p += 6;
        if (u >= 0xD800 && u <= 0xDBFF) {
            uint32_t lo = (uint32_t)read_u16(p + 2, end);
            p += 6;
            u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
        }
        if (u < 0x80) {
            *o++ = (unsigned char)u;
        } else if (u < 0x800) {
            *o++ = 0xC0 | (u >> 6);
            *o++ = 0x80 | (u & 0x3F);
        } else if (u < 0x10000) {
            *o++ = 0xE0 | (u >> 12);
            *o++ = 0x80 | ((u >> 6) & 0x3F);
            *o++ = 0x80 | (u & 0x3F);
        } else {
            *o++ = 0xF0 | (u >> 18);
            *o++ = 0x80 | ((u >> 12) & 0x3F);
            *o++ = 0x80 | ((u >> 6) & 0x3F);
            *o++ = 0x80 | (u & 0x3F);
        }
    }
    return (size_t)(o - buf);
}

/* ------------------------------------------------------------------ the Schema type */

static void Schema_dealloc(Schema *self)
{
    if (self->nodes)
        for (int i = 0; i < self->nnodes; i++)
            PyMem_Free(self->nodes[i].m);
    PyMem_Free(self->nodes);
    PyMem_Free(self->slot_flags);
    PyMem_Free(self->code);
    PyMem_Free(self->prog);
    PyMem_Free(self->lower);
    PyMem_Free(self->consts);
    PyMem_Free(self->checks);
    Py_XDECREF(self->keep);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int schema_fail(const char *msg)
{
    PyErr_SetString(PyExc_ValueError, msg);
    return -1;
}

/* The end of a well-formed condition at code[i] (a program of n ops), or -1. */
static Py_ssize_t check_cond(const Schema *s, const int32_t *code, Py_ssize_t i, Py_ssize_t n,
                             int depth)
{
    if (i + 2 > n || depth > 8)
        return -1;
    int32_t a = code[i + 1];
    switch (code[i]) {
    case C_EMPTY:
    case C_PRESENT:
        return a >= 0 && a < s->nslots ? i + 2 : -1;
    case C_OBJECT:
        return a >= 0 && a < s->nnodes ? i + 2 : -1;
    case C_IS:
        if (i + 4 > n || a < 0 || a >= s->nslots || code[i + 3] < 1 || i + 4 + code[i + 3] > n)
            return -1;
        for (int k = 0; k < code[i + 3]; k++)
            if (code[i + 4 + k] < 0 || code[i + 4 + k] >= s->nconsts)
                return -1;
        return i + 4 + code[i + 3];
    case C_ANY: {
        Py_ssize_t j = a < 1 ? -1 : i + 2;
        for (int k = 0; k < a && j >= 0; k++)
            j = check_cond(s, code, j, n, depth + 1);
        return j;
    }
    default:
        return -1;
    }
}

static int check_result(const Schema *s, const int32_t *r)
{
    if (r[0] == R_CONST)
        return r[1] >= 0 && r[1] < s->nconsts;
    return (r[0] == R_SLOT || r[0] == R_LOWER) && r[1] >= 0 && r[1] < s->nslots;
}

/* A field's program: cases in order, each pointing at the next, then OP_DEFAULT.
 * Sets *lowers when a result lower-cases a value. */
static int check_program(const Schema *s, const int32_t *code, Py_ssize_t n, int *lowers)
{
    Py_ssize_t i = 0;
    *lowers = 0;
    for (;;) {
        if (i + 3 == n && code[i] == OP_DEFAULT && check_result(s, code + i + 1)) {
            *lowers |= code[i + 1] == R_LOWER;
            return 0;
        }
        if (i + 5 <= n && code[i] == OP_LOOKUP) { /* next slot ci n (key value)... */
            Py_ssize_t end = i + 5 + 2 * (Py_ssize_t)code[i + 4];
            if (code[i + 2] < 0 || code[i + 2] >= s->nslots || code[i + 4] < 1 || end > n ||
                code[i + 1] != end)
                return -1;
            for (Py_ssize_t k = i + 5; k < end; k++)
                if (code[k] < 0 || code[k] >= s->nconsts)
                    return -1;
            i = end;
            continue;
        }
        if (i + 4 > n || code[i] != OP_CASE || code[i + 3] < 0)
            return -1;
        Py_ssize_t j = i + 4;
        for (int k = 0; k < code[i + 3] && j >= 0; k++)
            j = check_cond(s, code, j, n, 0);
        if (j < 0 || j + 2 > n || code[i + 2] != j || code[i + 1] != j + 2 ||
            !check_result(s, code + j))
            return -1;
        *lowers |= code[j] == R_LOWER;
        i = j + 2;
    }
}

/* One node's members, sorted by name length (so a key is compared only with members
 * as long as it). Names point into bytes objects `keep` holds. */
static int schema_node(Schema *self, Node *nd, PyObject *spec)
{
    PyObject *members;
    if (!PyArg_ParseTuple(spec, "pO!", &nd->strict, &PyList_Type, &members))
        return -1;
    nd->n = (int)PyList_GET_SIZE(members);
    if (nd->n > MAX_MEMBERS)
        return schema_fail("too many members in one object");
    Member *tmp = PyMem_Calloc((size_t)nd->n + 1, sizeof(Member));
    nd->m = PyMem_Calloc((size_t)nd->n + 1, sizeof(Member));
    if (!tmp || !nd->m) {
        PyMem_Free(tmp);
        PyErr_NoMemory();
        return -1;
    }
    int count[MAX_NAME + 2] = {0}, rc = -1;
    for (int j = 0; j < nd->n; j++) {
        PyObject *b;
        int slot, child;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(members, j), "O!ii", &PyBytes_Type, &b, &slot,
                              &child) ||
            PyList_Append(self->keep, b) < 0)
            goto done;
        Py_ssize_t len = PyBytes_GET_SIZE(b);
        if (len > MAX_NAME || (slot >= 0) == (child >= 0) || slot >= self->nslots || child == 0 ||
            child >= self->nnodes) {
            schema_fail("bad member (name too long, or not one slot or one node)");
            goto done;
        }
        Member m = {(const unsigned char *)PyBytes_AS_STRING(b), (uint32_t)len, slot, child};
        tmp[j] = m;
        count[len + 1]++;
    }
    for (int len = 0; len <= MAX_NAME; len++)
        count[len + 1] += count[len];
    for (int len = 0; len <= MAX_NAME + 1; len++)
        nd->first[len] = (uint8_t)count[len];
    for (int j = 0; j < nd->n; j++) {
        int at = count[tmp[j].len]++;
        for (int q = nd->first[tmp[j].len]; q < at; q++)
            if (memcmp(nd->m[q].name, tmp[j].name, tmp[j].len) == 0) {
                schema_fail("a member named twice");
                goto done;
            }
        nd->m[at] = tmp[j];
    }
    rc = 0;
done:
    PyMem_Free(tmp);
    return rc;
}

/* Schema(nodes, slot_flags, programs, consts, time_slot, id_slot, checks): see
 * derive.NativeSchema. Everything is checked here, so a scan cannot step outside it. */
static int Schema_init(Schema *self, PyObject *args, PyObject *kw)
{
    PyObject *nodes, *programs, *consts, *checks;
    Py_buffer flags;
    static char *kwlist[] = {"nodes", "slot_flags", "programs", "consts", "time_slot",
                             "id_slot", "checks", NULL};
    if (self->keep) {
        PyErr_SetString(PyExc_TypeError, "a Schema is built once");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O!y*O!O!iiO!", kwlist, &PyList_Type, &nodes,
                                     &flags, &PyList_Type, &programs, &PyList_Type, &consts,
                                     &self->time_slot, &self->id_slot, &PyList_Type, &checks))
        return -1;
    int rc = -1;
    self->nslots = (int)flags.len;
    self->nnodes = (int)PyList_GET_SIZE(nodes);
    self->nfields = (int)PyList_GET_SIZE(programs);
    self->nconsts = (int)PyList_GET_SIZE(consts);
    self->nchecks = (int)PyList_GET_SIZE(checks);
    self->keep = PyList_New(0);
    if (!self->keep)
        goto done;
    if (self->nnodes < 1 || self->nnodes > MAX_NODES || self->nfields < 1 ||
        self->nfields > MAX_FIELDS || flags.len > 4096 || self->time_slot < 0 ||
        self->time_slot >= self->nslots || self->id_slot < 0 || self->id_slot >= self->nslots) {
        schema_fail("too many (or no) nodes or fields, or a bad time or id slot");
        goto done;
    }
    self->nodes = PyMem_Calloc((size_t)self->nnodes, sizeof(Node));
    self->slot_flags = PyMem_Malloc((size_t)self->nslots + 1);
    self->consts = PyMem_Calloc((size_t)self->nconsts + 1, sizeof(Val));
    self->prog = PyMem_Calloc((size_t)self->nfields, sizeof(int32_t));
    self->lower = PyMem_Calloc((size_t)self->nfields, sizeof(int));
    self->checks = PyMem_Calloc((size_t)self->nchecks + 1, sizeof(*self->checks));
    if (!self->nodes || !self->slot_flags || !self->consts || !self->prog || !self->lower ||
        !self->checks) {
        PyErr_NoMemory();
        goto done;
    }
    memcpy(self->slot_flags, flags.buf, (size_t)self->nslots);
    for (int i = 0; i < self->nconsts; i++) {
        PyObject *b = PyList_GET_ITEM(consts, i);
        if (!PyBytes_Check(b) || PyList_Append(self->keep, b) < 0) {
            if (!PyErr_Occurred())
                schema_fail("constants are bytes");
            goto done;
        }
        Val v = {(const unsigned char *)PyBytes_AS_STRING(b), (uint32_t)PyBytes_GET_SIZE(b),
                 V_STR, 0};
        self->consts[i] = v;
    }
    for (int i = 0; i < self->nnodes; i++)
        if (schema_node(self, &self->nodes[i], PyList_GET_ITEM(nodes, i)) < 0)
            goto done;
    Py_ssize_t total = 0;
    for (int f = 0; f < self->nfields; f++) {
        PyObject *p = PyList_GET_ITEM(programs, f);
        if (!PyList_Check(p)) {
            schema_fail("programs are lists of int");
            goto done;
        }
        total += PyList_GET_SIZE(p);
    }
    self->code = PyMem_Malloc((size_t)(total + 1) * sizeof(int32_t));
    if (!self->code) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t pos = 0, f = 0; f < self->nfields; f++) {
        PyObject *p = PyList_GET_ITEM(programs, f);
        Py_ssize_t n = PyList_GET_SIZE(p);
        self->prog[f] = (int32_t)pos;
        for (Py_ssize_t i = 0; i < n; i++) {
            long x = PyLong_AsLong(PyList_GET_ITEM(p, i));
            if ((x == -1 && PyErr_Occurred()) || x < INT32_MIN || x > INT32_MAX) {
                if (!PyErr_Occurred())
                    schema_fail("program value out of range");
                goto done;
            }
            self->code[pos + i] = (int32_t)x;
        }
        int lowers;
        if (check_program(self, self->code + pos, n, &lowers) < 0) {
            schema_fail("a malformed program");
            goto done;
        }
        self->lower[f] = lowers ? self->nlower++ : -1;
        pos += n;
    }
    for (int i = 0; i < self->nchecks; i++) {
        int *c = self->checks[i];
        if (!PyArg_ParseTuple(PyList_GET_ITEM(checks, i), "ii", &c[0], &c[1]))
            goto done;
        if (c[0] < 0 || c[0] >= self->nslots || (c[1] != CHECK_VERSION && c[1] != CHECK_BOOLEAN)) {
            schema_fail("bad check");
            goto done;
        }
    }
    self->ready = 1;
    rc = 0;
done:
    PyBuffer_Release(&flags);
    return rc;
}

static PyObject *Schema_nfields(Schema *self, void *Py_UNUSED(closure))
{
    return PyLong_FromLong(self->nfields);
}

static PyGetSetDef Schema_getset[] = {
    {"nfields", (getter)Schema_nfields, NULL, "fields the programs derive", NULL},
    {NULL, NULL, NULL, NULL, NULL}};

static PyTypeObject SchemaType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "tui.core._scan.Schema",
    .tp_basicsize = sizeof(Schema),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Schema_init,
    .tp_dealloc = (destructor)Schema_dealloc,
    .tp_getset = Schema_getset,
    .tp_doc = "What to capture from a record and how to derive each field (derive.py).",
};

/* ------------------------------------------------------------------ the Encoder type */

typedef struct {
    PyObject_HEAD
    Schema *schema;
    Table *tables; /* one per field */
    int nf;
    uint64_t seed;
    /* The code of each constant (and of "") per field once numbered, or -1: most
     * values are constants or empty, and need no hashing then. */
    int32_t *const_code; /* nf x (nconsts + 1), the last column for "" */
} Encoder;

static void Encoder_dealloc(Encoder *self)
{
    for (int f = 0; f < self->nf; f++)
        table_free(&self->tables[f]);
    PyMem_Free(self->tables);
    PyMem_Free(self->const_code);
    Py_XDECREF(self->schema);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int Encoder_init(Encoder *self, PyObject *args, PyObject *kw)
{
    unsigned long long seed = 0;
    PyObject *schema;
    static char *kwlist[] = {"schema", "seed", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O!|K", kwlist, &SchemaType, &schema, &seed))
        return -1;
    if (!((Schema *)schema)->ready) {
        PyErr_SetString(PyExc_ValueError, "an unbuilt Schema");
        return -1;
    }
    for (int f = 0; f < self->nf; f++)
        table_free(&self->tables[f]);
    PyMem_Free(self->tables);
    Py_XSETREF(self->schema, (Schema *)Py_NewRef(schema));
    self->nf = 0;
    PyMem_Free(self->const_code);
    size_t ncc = (size_t)self->schema->nfields * (size_t)(self->schema->nconsts + 1);
    self->tables = PyMem_Calloc((size_t)self->schema->nfields, sizeof(Table));
    self->const_code = PyMem_Malloc(ncc * sizeof(int32_t));
    if (!self->tables || !self->const_code) {
        PyErr_NoMemory();
        return -1;
    }
    for (size_t i = 0; i < ncc; i++)
        self->const_code[i] = -1;
    for (; self->nf < self->schema->nfields; self->nf++)
        if (table_init(&self->tables[self->nf]) < 0) {
            table_free(&self->tables[self->nf]);
            PyErr_NoMemory();
            return -1;
        }
    self->seed = seed;
    return 0;
}

static PyObject *sizes_list(Encoder *self)
{
    PyObject *l = PyList_New(self->nf);
    if (!l)
        return NULL;
    for (int f = 0; f < self->nf; f++) {
        PyObject *n = PyLong_FromSize_t(self->tables[f].count);
        if (!n) {
            Py_DECREF(l);
            return NULL;
        }
        PyList_SET_ITEM(l, f, n);
    }
    return l;
}

static PyObject *Encoder_sizes(Encoder *self, PyObject *Py_UNUSED(ignored))
{
    return sizes_list(self);
}

/* encode(field, values: list[str]) -> (codes: bytes of int32, fresh: list[str])
 * The Python paths number their columns through the same tables. */
static PyObject *Encoder_encode(Encoder *self, PyObject *args)
{
    int f;
    PyObject *seq;
    if (!PyArg_ParseTuple(args, "iO!", &f, &PyList_Type, &seq))
        return NULL;
    if (f < 0 || f >= self->nf) {
        PyErr_SetString(PyExc_IndexError, "field out of range");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(seq);
    PyObject *codes = PyBytes_FromStringAndSize(NULL, n * 4);
    PyObject *fresh = PyList_New(0);
    if (!codes || !fresh)
        goto fail;
    int32_t *out = (int32_t *)PyBytes_AS_STRING(codes);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *s = PyList_GET_ITEM(seq, i);
        if (!PyUnicode_Check(s)) {
            PyErr_SetString(PyExc_TypeError, "values must be str");
            goto fail;
        }
        Py_ssize_t len;
        const char *u = PyUnicode_AsUTF8AndSize(s, &len);
        PyObject *tmp = NULL;
        if (!u) { /* lone surrogates: key them by their surrogatepass bytes */
            PyErr_Clear();
            tmp = PyUnicode_AsEncodedString(s, "utf-8", "surrogatepass");
            if (!tmp)
                goto fail;
            u = PyBytes_AS_STRING(tmp);
            len = PyBytes_GET_SIZE(tmp);
        }
        int32_t code = table_code(&self->tables[f], (const unsigned char *)u, (size_t)len,
                                  self->seed, fresh);
        Py_XDECREF(tmp);
        if (code < 0)
            goto fail;
        out[i] = code;
    }
    return Py_BuildValue("(NN)", codes, fresh);
fail:
    Py_XDECREF(codes);
    Py_XDECREF(fresh);
    return NULL;
}

typedef struct {
    Rec *recs;
    Val *vals; /* nslots per record */
    size_t n, cap;
    int nslots;
} Recs;

static int recs_push(Recs *rs)
{
    if (rs->n == rs->cap) {
        size_t ncap = rs->cap ? rs->cap * 2 : 512;
        Rec *nr = PyMem_Realloc(rs->recs, ncap * sizeof(Rec));
        if (!nr)
            return -1;
        rs->recs = nr;
        Val *nv = PyMem_Realloc(rs->vals, ncap * (size_t)rs->nslots * sizeof(Val));
        if (!nv)
            return -1;
        rs->vals = nv;
        rs->cap = ncap;
    }
    memset(&rs->recs[rs->n], 0, sizeof(Rec));
    memset(&rs->vals[rs->n * (size_t)rs->nslots], 0, (size_t)rs->nslots * sizeof(Val));
    rs->n++;
    return 0;
}

#define NOMEM (-2)

/* Phase 1: one document, into `rs`. BAIL for anything the Python path should see. */
static int scan_document(Cur *c, const Schema *sc, Recs *rs)
{
    int have_records = 0;
    skip_ws(c);
    if (c->p >= c->end || *c->p != '{')
        return BAIL;
    c->p++;
    skip_ws(c);
    if (c->p < c->end && *c->p == '}')
        return BAIL;
    for (;;) {
        Val key;
        if (scan_key(c, &key) < 0 || key.esc)
            return BAIL;
        if (key.len == 7 && memcmp(key.p, "Records", 7) == 0) {
            if (have_records || c->p >= c->end || *c->p != '[')
                return BAIL;
            have_records = 1;
            c->p++;
            skip_ws(c);
            if (c->p < c->end && *c->p == ']')
                return BAIL; /* no records: the Python path reports it */
            for (;;) {
                if (recs_push(rs) < 0)
                    return NOMEM;
                Rec *r = &rs->recs[rs->n - 1];
                r->start = c->p - c->base;
                c->hostile = 0;
                if (scan_picked(c, sc, r, rs->vals + (rs->n - 1) * (size_t)rs->nslots, 0, 2) < 0)
                    return BAIL;
                r->end = c->p - c->base;
                r->hostile = c->hostile;
                int more = next_item(c, ']');
                if (more < 0)
                    return BAIL;
                if (!more)
                    break;
            }
        } else if (scan_value(c, NULL, 1) < 0) {
            return BAIL;
        }
        int more = next_item(c, '}');
        if (more < 0)
            return BAIL;
        if (!more)
            break;
    }
    if (!have_records)
        return BAIL;
    return 0;
}

/* Phase 1 over the whole text: one document, or several one after another (JSON
 * whitespace between them), as `cat a.json b.json` or a multi-member gzip file gives. */
static int scan_documents(Cur *c, const Schema *sc, Recs *rs)
{
    do {
        int rc = scan_document(c, sc, rs);
        if (rc < 0)
            return rc;
        skip_ws(c);
    } while (c->p < c->end);
    return 0;
}

/* scan(data) -> None | (base, fresh, codes, starts, ends, times, eid16, idh, noid, hostile,
 * malformed)
 * base: per-field table sizes before this document; fresh: per field, the values first
 * seen here (codes base[f], base[f]+1, ...); codes: nfields x n int32 (field-major);
 * starts/ends/times: int64; idh: uint64 (0 = no eventID); noid/hostile/malformed: uint8. */
static PyObject *Encoder_scan(Encoder *self, PyObject *arg)
{
    if (hostile_n < 0) {
        PyErr_SetString(PyExc_RuntimeError, "set_hostile_ranges() first");
        return NULL;
    }
    if (!self->schema || self->nf != self->schema->nfields) {
        PyErr_SetString(PyExc_RuntimeError, "an Encoder without its schema");
        return NULL;
    }
    const Schema *sc = self->schema;
    int nf = self->nf;
    Py_buffer buf;
    if (PyObject_GetBuffer(arg, &buf, PyBUF_SIMPLE) < 0)
        return NULL;
    PyObject *result = NULL;
    const unsigned char *base_ptr = buf.buf;
    Cur c = {base_ptr, base_ptr, base_ptr + buf.len, 0};
    Recs rs = {NULL, NULL, 0, 0, sc->nslots};
    unsigned char *scratch = NULL;
    PyObject *base = NULL, *fresh = NULL, *codes = NULL, *starts = NULL, *ends = NULL,
             *times = NULL, *eid16 = NULL, *idh = NULL, *noid = NULL, *hostile = NULL,
             *bad = NULL;

    int rc = scan_documents(&c, sc, &rs);
    if (rc == NOMEM) {
        PyErr_NoMemory();
        goto done;
    }
    if (rc < 0)
        goto bail;
    size_t n = rs.n, ns = (size_t)sc->nslots;
    starts = PyByteArray_FromStringAndSize(NULL, n * 8);
    ends = PyByteArray_FromStringAndSize(NULL, n * 8);
    times = PyByteArray_FromStringAndSize(NULL, n * 8);
    eid16 = PyByteArray_FromStringAndSize(NULL, n * 16);
    idh = PyByteArray_FromStringAndSize(NULL, n * 8);
    noid = PyByteArray_FromStringAndSize(NULL, n);
    hostile = PyByteArray_FromStringAndSize(NULL, n);
    bad = PyByteArray_FromStringAndSize(NULL, n);
    codes = PyByteArray_FromStringAndSize(NULL, n * (size_t)nf * 4);
    if (!starts || !ends || !times || !eid16 || !idh || !noid || !hostile || !bad || !codes)
        goto done;
    int64_t *st = (int64_t *)PyByteArray_AS_STRING(starts), *en = (int64_t *)PyByteArray_AS_STRING(ends);
    int64_t *tm = (int64_t *)PyByteArray_AS_STRING(times);
    unsigned char *ei = (unsigned char *)PyByteArray_AS_STRING(eid16);
    uint64_t *ih = (uint64_t *)PyByteArray_AS_STRING(idh);
    uint8_t *no = (uint8_t *)PyByteArray_AS_STRING(noid), *su = (uint8_t *)PyByteArray_AS_STRING(hostile);
    uint8_t *mal = (uint8_t *)PyByteArray_AS_STRING(bad);
    size_t longest = 0;
    /* Phase 1b: per-record checks, times and ids (still no table writes). */
    for (size_t i = 0; i < n; i++) {
        Rec *r = &rs.recs[i];
        const Val *v = rs.vals + i * ns;
        su[i] = (uint8_t)r->hostile;
        st[i] = r->start;
        en[i] = r->end;
        if (check_record(sc, v) < 0 || parse_time(&v[sc->time_slot], &tm[i]) < 0 ||
            hash_id(&v[sc->id_slot], &ih[i], ei + 16 * i) < 0)
            goto bail;
        no[i] = ih[i] == 0;
        mal[i] = (uint8_t)malformed(sc, v);
        for (size_t k = 0; k < ns; k++)
            if (v[k].len > longest)
                longest = v[k].len;
    }
    /* unescaped values, then each lowered field's value after them */
    size_t stride = longest + 16;
    scratch = PyMem_Malloc(stride * (size_t)(1 + sc->nlower));
    base = sizes_list(self);
    fresh = PyList_New(nf);
    if (!scratch || !base || !fresh) {
        if (!scratch)
            PyErr_NoMemory();
        goto done;
    }
    for (int f = 0; f < nf; f++) {
        PyObject *l = PyList_New(0);
        if (!l)
            goto done;
        PyList_SET_ITEM(fresh, f, l);
    }
    /* Phase 2: number the values. Per record, first the values answered without a
     * lookup (a constant's code, the field's previous value), and the hashes of the
     * rest with their table slots fetched ahead; then those lookups. On the big tables
     * (access keys, principals, sessions: hundreds of thousands of values) each lookup
     * waits on a cache miss; fetched together, a record's misses overlap. */
    int32_t *cd = (int32_t *)PyByteArray_AS_STRING(codes);
    int kc = sc->nconsts + 1;
    for (size_t i = 0; i < n; i++) {
        Val vals[MAX_FIELDS];
        int konst[MAX_FIELDS];
        int todo[MAX_FIELDS];
        uint64_t hs[MAX_FIELDS];
        int ntodo = 0;
        derive(sc, &rs.recs[i], rs.vals + i * ns, vals, konst, scratch + stride, stride);
        for (int f = 0; f < nf; f++) {
            if (konst[f] != -1) {
                int32_t known = self->const_code[f * kc + (konst[f] == -2 ? kc - 1 : konst[f])];
                if (known >= 0) {
                    cd[(size_t)f * n + i] = known;
                    continue;
                }
            }
            Table *t = &self->tables[f];
            if (!vals[f].esc) {
                if (table_repeats(t, vals[f].p, vals[f].len)) {
                    int32_t code = t->last.code;
                    if (konst[f] != -1) /* a constant's first code: keep it (as below) */
                        self->const_code[f * kc + (konst[f] == -2 ? kc - 1 : konst[f])] = code;
                    cd[(size_t)f * n + i] = code;
                    continue;
                }
                hs[f] = hash_bytes(vals[f].p, vals[f].len, self->seed);
                __builtin_prefetch(table_slot(t, hs[f]));
            }
            todo[ntodo++] = f;
        }
        for (int k = 0; k < ntodo; k++) {
            int f = todo[k];
            int32_t *known = NULL;
            if (konst[f] != -1)
                known = &self->const_code[f * kc + (konst[f] == -2 ? kc - 1 : konst[f])];
            int32_t code;
            if (vals[f].esc) { /* the scratch copy is consumed before the next one */
                size_t len = unescape(&vals[f], scratch);
                code = table_code(&self->tables[f], scratch, len, self->seed,
                                  PyList_GET_ITEM(fresh, f));
            } else {
                code = table_code_hashed(&self->tables[f], vals[f].p, vals[f].len, hs[f],
                                         PyList_GET_ITEM(fresh, f));
            }
            if (code < 0)
                goto done;
            if (known)
                *known = code;
            cd[(size_t)f * n + i] = code;
        }
    }
    result = PyTuple_Pack(11, base, fresh, codes, starts, ends, times, eid16, idh, noid, hostile,
                          bad);
    goto done;
bail:
    result = Py_NewRef(Py_None);
done:
    Py_XDECREF(base);
    Py_XDECREF(fresh);
    Py_XDECREF(codes);
    Py_XDECREF(starts);
    Py_XDECREF(ends);
    Py_XDECREF(times);
    Py_XDECREF(eid16);
    Py_XDECREF(idh);
    Py_XDECREF(noid);
    Py_XDECREF(hostile);
    Py_XDECREF(bad);
    PyMem_Free(scratch);
    PyMem_Free(rs.recs);
    PyMem_Free(rs.vals);
    PyBuffer_Release(&buf);
    return result;
}

/* lower_ascii(data) -> bytes.lower() of an all-ASCII `data`, or None when any byte is
 * not ASCII (bytes.isascii() plus bytes.lower() in one vectorised pass). */
static PyObject *lower_ascii(PyObject *Py_UNUSED(module), PyObject *arg)
{
    Py_buffer buf;
    if (PyObject_GetBuffer(arg, &buf, PyBUF_SIMPLE) < 0)
        return NULL;
    PyObject *out = PyBytes_FromStringAndSize(NULL, buf.len);
    if (!out) {
        PyBuffer_Release(&buf);
        return NULL;
    }
    const unsigned char *p = buf.buf;
    unsigned char *o = (unsigned char *)PyBytes_AS_STRING(out);
    Py_ssize_t i = 0, n = buf.len;
    unsigned char high = 0;
#ifdef __SSE2__
    const __m128i a1 = _mm_set1_epi8('A' - 1), z1 = _mm_set1_epi8('Z' + 1), bit = _mm_set1_epi8(0x20);
    __m128i acc = _mm_setzero_si128();
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + i));
        acc = _mm_or_si128(acc, v);
        /* signed compares: bytes >= 0x80 are negative, never in A..Z */
        __m128i up = _mm_and_si128(_mm_cmpgt_epi8(v, a1), _mm_cmplt_epi8(v, z1));
        _mm_storeu_si128((__m128i *)(o + i), _mm_or_si128(v, _mm_and_si128(up, bit)));
    }
    high = (unsigned char)(_mm_movemask_epi8(acc) != 0);
#endif
    for (; i < n; i++) {
        unsigned char ch = p[i];
        high |= ch >> 7;
        o[i] = (ch >= 'A' && ch <= 'Z') ? ch + 32 : ch;
    }
    PyBuffer_Release(&buf);
    if (high) {
        Py_DECREF(out);
        Py_RETURN_NONE;
    }
    return out;
}

/* ------------------------------------------------------------------ path values
 *
 * The values one JSON path selects in each event of a file's lower-cased text, for the
 * store's path columns (tui/core/paths.py states the rule; tui/core/pathcols.py drives
 * this). `PathTable.scan` finds the candidate events (those holding a needle: the
 * path's last key or an escape), walks each candidate along the path and numbers the
 * values it finds, all without the GIL, so two threads scan two files at once. An
 * event the walk cannot be sure of (an escaped key on the way, two keys equal once
 * lowered, an odd token, deep nesting) is handed back for the Python walk over its
 * original, which decides for it.
 *
 * A value is numbered by its raw key: 's' + text for plain printable ASCII (a string
 * without escapes, a boolean, an integer written canonically), 'j' + a string's JSON
 * content otherwise, 'n' + any other number token, 'o' for a non-empty object. Keys
 * are kept one after another in an arena, each followed by '\n' (raw keys hold no
 * newline), so Python can run a regex over all of them at once. */

#include <pthread.h>
#include <pythread.h>

typedef struct {
    const unsigned char *key; /* lower-cased UTF-8; NULL for an index */
    size_t len;
    Py_ssize_t index;
} PSeg;

typedef struct {
    const unsigned char *p;
    uint32_t len;
    unsigned char kind; /* 's' 'j' 'n' 'o' */
    int32_t ev;
} PSpan;

typedef struct {
    PSpan *v;
    size_t n, cap;
    int nomem;
} PSpans;

static int pspans_push(PSpans *s, const unsigned char *p, size_t len, unsigned char kind)
{
    if (len > UINT32_MAX)
        return BAIL;
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 1024;
        PSpan *nv = PyMem_RawRealloc(s->v, ncap * sizeof(PSpan));
        if (!nv) {
            s->nomem = 1;
            return BAIL;
        }
        s->v = nv;
        s->cap = ncap;
    }
    PSpan *x = &s->v[s->n++];
    x->p = p;
    x->len = (uint32_t)len;
    x->kind = kind;
    x->ev = -1;
    return 0;
}

/* The first '"' or '\\' at or after `p` (or `end`): sixteen bytes at a time. */
static inline const unsigned char *quote_or_escape(const unsigned char *p,
                                                   const unsigned char *end)
{
#ifdef __SSE2__
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)p);
        int bits = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                                  _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
        if (bits)
            return p + __builtin_ctz((unsigned)bits);
        p += 16;
    }
#endif
    while (p < end && *p != '"' && *p != '\\')
        p++;
    return p;
}

/* Skip a string starting at its opening quote (no validation: the text was decoded
 * once already when the file was loaded). */
static inline int pw_skip_string(Cur *c)
{
    const unsigned char *p = c->p + 1, *end = c->end;
    for (;;) {
        p = quote_or_escape(p, end);
        if (p >= end)
            return BAIL;
        if (*p == '"') {
            c->p = p + 1;
            return 0;
        }
        p += 2; /* an escape: the next byte is never the closing quote */
    }
}

#ifdef __SSE2__
/* Bit i set when an odd number of bits at or below i are set in x (16 bits). */
static inline uint32_t prefix_xor16(uint32_t x)
{
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    return x & 0xFFFF;
}

/* Bits set in a 16-bit mask, by table: without -mpopcnt the builtin is a libgcc call. */
static unsigned char POP8[256];

static void init_pop8(void)
{
    for (int i = 0; i < 256; i++)
        POP8[i] = (unsigned char)((i & 1) + POP8[i >> 1]);
}

static inline int pop16(uint32_t x)
{
    return POP8[x & 0xFF] + POP8[(x >> 8) & 0xFF];
}
#endif

/* Skip an object or array starting at its bracket. Sixteen bytes at a time: quotes
 * mark which bytes are inside strings (a prefix XOR), brackets outside them move the
 * depth; a block holding a backslash goes byte by byte. */
static int pw_skip_container(Cur *c)
{
    const unsigned char *p = c->p, *end = c->end;
    int depth = 0, instr = 0;
#ifdef __SSE2__
    const __m128i vq = _mm_set1_epi8('"'), vb = _mm_set1_epi8('\\');
    const __m128i vo1 = _mm_set1_epi8('{'), vo2 = _mm_set1_epi8('[');
    const __m128i vc1 = _mm_set1_epi8('}'), vc2 = _mm_set1_epi8(']');
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)p);
        if (_mm_movemask_epi8(_mm_cmpeq_epi8(v, vb))) {
            const unsigned char *stop = p + 16;
            while (p < stop) { /* byte by byte, escapes skipped */
                unsigned char ch = *p++;
                if (instr) {
                    if (ch == '\\')
                        p++;
                    else if (ch == '"')
                        instr = 0;
                } else if (ch == '"') {
                    instr = 1;
                } else if (ch == '{' || ch == '[') {
                    depth++;
                } else if ((ch == '}' || ch == ']') && --depth == 0) {
                    c->p = p;
                    return 0;
                }
            }
            continue;
        }
        uint32_t q = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, vq));
        uint32_t pre = prefix_xor16(q);
        uint32_t in = pre ^ (instr ? 0xFFFFu : 0u);
        uint32_t op = (uint32_t)_mm_movemask_epi8(
                          _mm_or_si128(_mm_cmpeq_epi8(v, vo1), _mm_cmpeq_epi8(v, vo2))) & ~in;
        uint32_t cl = (uint32_t)_mm_movemask_epi8(
                          _mm_or_si128(_mm_cmpeq_epi8(v, vc1), _mm_cmpeq_epi8(v, vc2))) & ~in;
        if (cl && depth <= pop16(cl)) { /* the depth may reach 0 here */
            uint32_t both = op | cl;
            while (both) {
                int b = __builtin_ctz(both);
                both &= both - 1;
                if (op >> b & 1) {
                    depth++;
                } else if (--depth == 0) {
                    c->p = p + b + 1;
                    return 0;
                }
            }
        } else if (op | cl) {
            depth += pop16(op) - pop16(cl);
        }
        instr ^= (int)(pre >> 15) & 1; /* the parity of the block's quotes */
        p += 16;
    }
#endif
    while (p < end) {
        unsigned char ch = *p++;
        if (instr) {
            if (ch == '\\')
                p++;
            else if (ch == '"')
                instr = 0;
        } else if (ch == '"') {
            instr = 1;
        } else if (ch == '{' || ch == '[') {
            depth++;
        } else if ((ch == '}' || ch == ']') && --depth == 0) {
            c->p = p;
            return 0;
        }
    }
    return BAIL;
}

/* Skip any value. */
static int pw_skip(Cur *c)
{
    if (c->p >= c->end)
        return BAIL;
    unsigned char ch = *c->p;
    if (ch == '"')
        return pw_skip_string(c);
    if (ch == '{' || ch == '[')
        return pw_skip_container(c);
    while (c->p < c->end) {
        ch = *c->p;
        if (ch == ',' || ch == '}' || ch == ']' || ch == ' ' || ch == '\n' || ch == '\r' ||
            ch == '\t')
            break;
        c->p++;
    }
    return 0;
}

/* A member name and its ':' without validating it (the text was decoded once already):
 * its span, and whether it holds an escape. */
static int pw_key(Cur *c, const unsigned char **kp, size_t *klen, int *esc)
{
    if (c->p >= c->end || *c->p != '"')
        return BAIL;
    const unsigned char *s = c->p + 1, *p = s, *end = c->end;
    *esc = 0;
    for (;;) {
        p = quote_or_escape(p, end);
        if (p >= end)
            return BAIL;
        if (*p == '"')
            break;
        *esc = 1;
        p += 2;
    }
    *kp = s;
    *klen = (size_t)(p - s);
    c->p = p + 1;
    skip_ws(c);
    if (c->p >= c->end || *c->p != ':')
        return BAIL;
    c->p++;
    skip_ws(c);
    return 0;
}

static inline int canonical_int(const unsigned char *p, size_t n)
{
    size_t i = 0;
    if (n && p[0] == '-')
        i = 1;
    if (i >= n || n - i > 18)
        return 0;
    if (p[i] == '0')
        return n - i == 1 && i == 0; /* "0" but not "-0" or "01" */
    for (; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return 0;
    return 1;
}

static int pw_walk(Cur *c, const PSeg *segs, int nseg, int i, int depth, PSpans *out);

/* A value at the end of the path. */
static int pw_leaf(Cur *c, const PSeg *segs, int nseg, int depth, PSpans *out)
{
    if (c->p >= c->end)
        return BAIL;
    unsigned char ch = *c->p;
    if (ch == '"') {
        Val v;
        if (scan_string(c, &v) < 0)
            return BAIL;
        if (!v.len)
            return 0;
        int plain = !v.esc;
        for (uint32_t k = 0; plain && k < v.len; k++)
            plain = v.p[k] >= 0x20 && v.p[k] < 0x7f;
        return pspans_push(out, v.p, v.len, plain ? 's' : 'j');
    }
    if (ch == '[')
        return pw_walk(c, segs, nseg, nseg, depth, out); /* its elements */
    if (ch == '{') {
        const unsigned char *s = c->p;
        if (pw_skip(c) < 0)
            return BAIL;
        const unsigned char *q = s + 1;
        while (q < c->p && (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t'))
            q++;
        return *q == '}' ? 0 : pspans_push(out, (const unsigned char *)"", 0, 'o');
    }
    if (ch == 't') {
        if (scan_literal(c, "true", 4) < 0)
            return BAIL;
        return pspans_push(out, (const unsigned char *)"true", 4, 's');
    }
    if (ch == 'f') {
        if (scan_literal(c, "false", 5) < 0)
            return BAIL;
        return pspans_push(out, (const unsigned char *)"false", 5, 's');
    }
    if (ch == 'n')
        return scan_literal(c, "null", 4);
    const unsigned char *s = c->p;
    if (scan_number(c) < 0)
        return BAIL;
    size_t n = (size_t)(c->p - s);
    return pspans_push(out, s, n, canonical_int(s, n) ? 's' : 'n');
}

/* Apply segs[i:] to the value at c->p (and move past it). */
static int pw_walk(Cur *c, const PSeg *segs, int nseg, int i, int depth, PSpans *out)
{
    if (c->p >= c->end || depth >= MAX_DEPTH)
        return BAIL;
    unsigned char ch = *c->p;
    if (ch == '[') {
        int pick = i < nseg && !segs[i].key;
        Py_ssize_t k = 0;
        c->p++;
        skip_ws(c);
        if (c->p < c->end && *c->p == ']') {
            c->p++;
            return 0;
        }
        for (;; k++) {
            int rc;
            if (!pick)
                rc = i == nseg ? pw_leaf(c, segs, nseg, depth + 1, out)
                               : pw_walk(c, segs, nseg, i, depth + 1, out);
            else if (k == segs[i].index)
                rc = pw_walk(c, segs, nseg, i + 1, depth + 1, out);
            else
                rc = pw_skip(c);
            if (rc < 0)
                return BAIL;
            int more = next_item(c, ']');
            if (more < 0)
                return BAIL;
            if (!more)
                return 0;
        }
    }
    if (i == nseg)
        return pw_leaf(c, segs, nseg, depth, out);
    if (ch != '{' || !segs[i].key)
        return pw_skip(c);
    c->p++;
    skip_ws(c);
    if (c->p < c->end && *c->p == '}') {
        c->p++;
        return 0;
    }
    int matched = 0;
    for (;;) {
        const unsigned char *kp;
        size_t klen;
        int esc;
        if (pw_key(c, &kp, &klen, &esc) < 0 || esc)
            return BAIL; /* an escaped key might spell ours: the Python walk decides */
        if (klen == segs[i].len && memcmp(kp, segs[i].key, klen) == 0) {
            /* A second key equal to ours once lowered: keys that differ in case both
             * count, an exact repeat only as the last; only the original can tell. */
            if (matched++)
                return BAIL;
            if (pw_walk(c, segs, nseg, i + 1, depth + 1, out) < 0)
                return BAIL;
        } else if (pw_skip(c) < 0) {
            return BAIL;
        }
        int more = next_item(c, '}');
        if (more < 0)
            return BAIL;
        if (!more)
            return 0;
    }
}

/* A slot: the top 32 bits of the key's hash and its code, 8 bytes (at 10M events the
 * credential index holds 5.6M keys in 8M slots, at most 3/4 full: linear probes stay
 * short, and a miss reads few slots past a tag). The tag places the key too (its top
 * bits pick the slot, `ptable_slot`), so growing needs no hash of the keys again. */
typedef struct {
    uint32_t tag;
    int32_t slot; /* code + 1; 0: empty (a new table is calloc'd: its pages are mapped
                   * as they are first written, not all at its allocation) */
} PEnt;

typedef struct {
    PyObject_HEAD
    PyThread_type_lock lock; /* guards the tables: scans insert without the GIL */
    PEnt *ents;
    size_t cap, count;
    size_t faulted; /* bytes of `ents` from its start known to be mapped (prefault) */
    unsigned char *arena;
    size_t alen, acap;
    uint64_t *offs; /* offs[code]: its key's start in the arena; offs[count] = alen */
    size_t ocap;
} PathTable;

static uint64_t ptable_hash(const unsigned char *p, size_t n, unsigned char kind)
{
    return hash_bytes(p, n, 0x51ED270B27A3C4F1ull ^ kind);
}

/* The slot of a tag in a table of `cap` slots (a power of two up to 2^32): its top bits. */
static inline size_t ptable_slot(uint32_t tag, size_t cap)
{
    return (size_t)(((uint64_t)tag * cap) >> 32);
}

/* Rehash into `ncap` slots (a power of two, more than the entries). */
/* The `cap` slots `ents` rehashed into `ncap` (a power of two, more than the entries);
 * NULL: no memory. The path tables and the value tables share the slot layout. */
static PEnt *slots_rehashed(const PEnt *ents, size_t cap, size_t ncap)
{
    PEnt *n = PyMem_RawCalloc(ncap, sizeof(PEnt));
    if (!n)
        return NULL;
    for (size_t i = 0; i < cap; i++) {
        if (!ents[i].slot)
            continue;
        size_t j = ptable_slot(ents[i].tag, ncap);
        while (n[j].slot)
            j = (j + 1) & (ncap - 1);
        n[j] = ents[i];
    }
    return n;
}

/* Take `lock`, letting go of the GIL while another thread holds it. */
static void lock_waiting(PyThread_type_lock lock)
{
    if (!PyThread_acquire_lock(lock, NOWAIT_LOCK)) {
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(lock, WAIT_LOCK);
        Py_END_ALLOW_THREADS
    }
}

/* A table's lock, made once (tp_init may run again): -1 with MemoryError. */
static int lock_made(PyThread_type_lock *lock)
{
    if (!*lock && !(*lock = PyThread_allocate_lock())) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static int ptable_resize(PathTable *t, size_t ncap)
{
    PEnt *n = slots_rehashed(t->ents, t->cap, ncap);
    if (!n)
        return -1;
    PyMem_RawFree(t->ents);
    t->ents = n;
    t->cap = ncap;
    t->faulted = 0;
    return 0;
}

static int ptable_grow(PathTable *t)
{
    return ptable_resize(t, t->cap ? t->cap * 2 : 1024);
}

/* The code of (kind, p[0:n]); inserted when `add`, else -1 when absent. -2: no memory.
 * The caller holds the lock. */
static int32_t ptable_code(PathTable *t, unsigned char kind, const unsigned char *p, size_t n,
                           int add)
{
    if (!t->cap && (!add || ptable_grow(t) < 0))
        return add ? -2 : -1;
    uint32_t tag = (uint32_t)(ptable_hash(p, n, kind) >> 32);
    size_t mask = t->cap - 1, j = ptable_slot(tag, t->cap);
    for (;;) {
        PEnt *e = &t->ents[j];
        if (!e->slot)
            break;
        if (e->tag == tag) {
            int32_t c = e->slot - 1;
            const unsigned char *k = t->arena + t->offs[c];
            size_t klen = t->offs[c + 1] - t->offs[c] - 1;
            if (klen == n + 1 && k[0] == kind && memcmp(k + 1, p, n) == 0)
                return c;
        }
        j = (j + 1) & mask;
    }
    if (!add)
        return -1;
    if (t->count >= INT32_MAX - 1)
        return -2;
    size_t need = t->alen + n + 2;
    if (need > t->acap) {
        size_t ncap = t->acap ? t->acap * 2 : 65536;
        while (ncap < need)
            ncap *= 2;
        unsigned char *na = PyMem_RawRealloc(t->arena, ncap);
        if (!na)
            return -2;
        t->arena = na;
        t->acap = ncap;
    }
    if (t->count + 2 > t->ocap) {
        size_t ncap = t->ocap ? t->ocap * 2 : 1024;
        uint64_t *no = PyMem_RawRealloc(t->offs, ncap * sizeof(uint64_t));
        if (!no)
            return -2;
        t->offs = no;
        t->ocap = ncap;
    }
    int32_t code = (int32_t)t->count;
    t->offs[code] = t->alen;
    t->arena[t->alen] = kind;
    memcpy(t->arena + t->alen + 1, p, n);
    t->arena[t->alen + 1 + n] = '\n';
    t->alen += n + 2;
    t->offs[code + 1] = t->alen;
    t->count++;
    t->ents[j].tag = tag;
    t->ents[j].slot = code + 1;
    if (t->count * 4 > t->cap * 3 && ptable_grow(t) < 0)
        return -2;
    return code;
}

static int PathTable_init(PathTable *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kw, "", kwlist))
        return -1;
    return lock_made(&self->lock);
}

static void PathTable_dealloc(PathTable *self)
{
    if (self->lock)
        PyThread_free_lock(self->lock);
    PyMem_RawFree(self->ents);
    PyMem_RawFree(self->arena);
    PyMem_RawFree(self->offs);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static void ptable_lock(PathTable *t)
{
    lock_waiting(t->lock);
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Mark events [starts[k], ends[k]) that hold `nd` (starts ascending). Returns 1 when,
 * past the first 64 events, most hold it: walking an event costs about twice finding
 * the needle in it, so the prefilter no longer pays, and the caller walks them all. */
static int mark_needle(const unsigned char *text, size_t tlen, const int64_t *st,
                       const int64_t *en, Py_ssize_t n, const unsigned char *nd, size_t nlen,
                       unsigned char *marks)
{
    if (!n || !nlen)
        return 0;
    size_t pos = (size_t)st[0], stop = (size_t)en[n - 1];
    if (stop > tlen)
        stop = tlen;
    Py_ssize_t k = 0, hits = 0;
    while (pos + nlen <= stop) {
        /* An escape needle starts with a backslash, a rare byte: memchr outruns memmem
         * (which scans two-byte needles a byte at a time) by ~10x. */
        const unsigned char *hit;
        if (nd[0] == '\\') {
            hit = memchr(text + pos, '\\', stop - pos - nlen + 1);
            if (hit && memcmp(hit, nd, nlen) != 0) {
                pos = (size_t)(hit - text) + 1;
                continue;
            }
        } else {
            hit = memmem(text + pos, stop - pos, nd, nlen);
        }
        if (!hit)
            return 0;
        size_t at = (size_t)(hit - text);
        while (k < n && (size_t)en[k] <= at)
            k++;
        if (k >= n)
            return 0;
        if ((size_t)st[k] <= at && at + nlen <= (size_t)en[k]) {
            hits += !marks[k];
            marks[k] = 1;
            if (k >= 64 && hits * 2 > k + 1)
                return 1;
            pos = (size_t)en[k]; /* on to the next event */
        } else {
            pos = at + 1;
        }
    }
    return 0;
}

/* scan(text, starts, ends, segs, needles) -> (events, codes, fallback)
 * text: an inflated lower-cased text; starts/ends: int64, event i at [starts[i], ends[i]),
 * ascending; segs: tuple of lower-cased UTF-8 bytes (a key) or int (an index); needles:
 * tuple of bytes (empty: every event is a candidate). events/codes: int32 as bytes, one
 * pair per distinct value per event, events ascending; fallback: events for the Python
 * walk. */
static PyObject *PathTable_scan(PathTable *self, PyObject *args)
{
    Py_buffer text, st, en;
    PyObject *segs_obj, *needles_obj;
    if (!PyArg_ParseTuple(args, "y*y*y*O!O!", &text, &st, &en, &PyTuple_Type, &segs_obj,
                          &PyTuple_Type, &needles_obj))
        return NULL;
    PyObject *result = NULL, *fallback = NULL, *evs = NULL, *codes = NULL;
    PSeg *segs = NULL;
    const unsigned char **nds = NULL;
    size_t *nlens = NULL;
    unsigned char *marks = NULL;
    int32_t *ecodes = NULL;
    int32_t *fb = NULL;
    PSpans out = {NULL, 0, 0, 0};
    Py_ssize_t n = st.len / 8, nseg = PyTuple_GET_SIZE(segs_obj);
    Py_ssize_t nnd = PyTuple_GET_SIZE(needles_obj);
    if (en.len != st.len || st.len % 8 || nseg < 1) {
        PyErr_SetString(PyExc_ValueError, "starts/ends: int64 of one length; at least one segment");
        goto done;
    }
    segs = PyMem_Malloc(nseg * sizeof(PSeg));
    nds = PyMem_Malloc((nnd + 1) * sizeof(*nds));
    nlens = PyMem_Malloc((nnd + 1) * sizeof(size_t));
    marks = PyMem_Calloc(n + 1, 1);
    fb = PyMem_Malloc((n + 1) * sizeof(int32_t));
    if (!segs || !nds || !nlens || !marks || !fb) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < nseg; i++) {
        PyObject *s = PyTuple_GET_ITEM(segs_obj, i);
        if (PyBytes_Check(s)) {
            segs[i].key = (const unsigned char *)PyBytes_AS_STRING(s);
            segs[i].len = (size_t)PyBytes_GET_SIZE(s);
            segs[i].index = -1;
        } else {
            segs[i].key = NULL;
            segs[i].len = 0;
            segs[i].index = PyLong_AsSsize_t(s);
            if (segs[i].index < 0) {
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_ValueError, "an index must be >= 0");
                goto done;
            }
        }
    }
    for (Py_ssize_t i = 0; i < nnd; i++) {
        PyObject *s = PyTuple_GET_ITEM(needles_obj, i);
        if (!PyBytes_Check(s)) {
            PyErr_SetString(PyExc_TypeError, "needles are bytes");
            goto done;
        }
        nds[i] = (const unsigned char *)PyBytes_AS_STRING(s);
        nlens[i] = (size_t)PyBytes_GET_SIZE(s);
    }
    const unsigned char *base = text.buf;
    const int64_t *sp = st.buf, *ep = en.buf;
    for (Py_ssize_t k = 0; k < n; k++)
        if (sp[k] < 0 || ep[k] < sp[k] || ep[k] > text.len || (k && sp[k] < ep[k - 1])) {
            PyErr_SetString(PyExc_ValueError, "event spans out of order or outside the text");
            goto done;
        }
    Py_ssize_t nfb = 0;
    size_t nvals = 0;
    int nomem = 0;
    Py_BEGIN_ALLOW_THREADS
    if (nnd == 0)
        memset(marks, 1, n);
    for (Py_ssize_t i = 0; i < nnd; i++)
        if (mark_needle(base, (size_t)text.len, sp, ep, n, nds[i], nlens[i], marks)) {
            memset(marks, 1, n);
            break;
        }
    for (Py_ssize_t k = 0; k < n && !out.nomem; k++) {
        if (!marks[k])
            continue;
        Cur c = {base, base + sp[k], base + ep[k], 0};
        size_t before = out.n;
        skip_ws(&c);
        if (pw_walk(&c, segs, (int)nseg, 0, 0, &out) < 0) {
            out.n = before;
            if (!out.nomem)
                fb[nfb++] = (int32_t)k;
            continue;
        }
        for (size_t j = before; j < out.n; j++)
            out.v[j].ev = (int32_t)k;
    }
    nomem = out.nomem;
    if (!nomem && out.n) {
        ecodes = PyMem_RawMalloc(out.n * sizeof(int32_t));
        if (!ecodes)
            nomem = 1;
    }
    if (!nomem && out.n) {
        PyThread_acquire_lock(self->lock, WAIT_LOCK);
        for (size_t j = 0; j < out.n && !nomem; j++) {
            int32_t code = ptable_code(self, out.v[j].kind, out.v[j].p, out.v[j].len, 1);
            if (code < 0)
                nomem = 1;
            ecodes[j] = code;
        }
        PyThread_release_lock(self->lock);
        /* One entry per distinct value per event: sort each event's run, drop repeats. */
        size_t w = 0;
        for (size_t j = 0; j < out.n && !nomem;) {
            size_t r = j;
            while (r < out.n && out.v[r].ev == out.v[j].ev)
                r++;
            if (r - j > 1)
                qsort(ecodes + j, r - j, sizeof(int32_t), cmp_i32);
            for (size_t q = j; q < r; q++) {
                if (q > j && ecodes[q] == ecodes[q - 1])
                    continue;
                out.v[w].ev = out.v[j].ev;
                ecodes[w++] = ecodes[q];
            }
            j = r;
        }
        nvals = w;
    }
    Py_END_ALLOW_THREADS
    if (nomem) {
        PyErr_NoMemory();
        goto done;
    }
    evs = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(nvals * sizeof(int32_t)));
    codes = PyBytes_FromStringAndSize((const char *)ecodes, (Py_ssize_t)(nvals * sizeof(int32_t)));
    fallback = PyList_New(nfb);
    if (!evs || !codes || !fallback)
        goto done;
    int32_t *ev_out = (int32_t *)PyBytes_AS_STRING(evs);
    for (size_t j = 0; j < nvals; j++)
        ev_out[j] = out.v[j].ev;
    for (Py_ssize_t j = 0; j < nfb; j++) {
        PyObject *x = PyLong_FromLong(fb[j]);
        if (!x)
            goto done;
        PyList_SET_ITEM(fallback, j, x);
    }
    result = Py_BuildValue("(OOO)", evs, codes, fallback);
done:
    Py_XDECREF(evs);
    Py_XDECREF(codes);
    Py_XDECREF(fallback);
    PyMem_Free(segs);
    PyMem_Free(nds);
    PyMem_Free(nlens);
    PyMem_Free(marks);
    PyMem_Free(fb);
    PyMem_RawFree(ecodes);
    PyMem_RawFree(out.v);
    PyBuffer_Release(&text);
    PyBuffer_Release(&st);
    PyBuffer_Release(&en);
    return result;
}

/* insert(raw) -> code: number a raw key (kind byte + bytes) from Python. */
static PyObject *PathTable_insert(PathTable *self, PyObject *arg)
{
    char *p;
    Py_ssize_t n;
    if (PyBytes_AsStringAndSize(arg, &p, &n) < 0)
        return NULL;
    if (n < 1) {
        PyErr_SetString(PyExc_ValueError, "a raw key starts with its kind byte");
        return NULL;
    }
    ptable_lock(self);
    int32_t code;
    if (self->cap >= 65536 && (self->count + 1) * 4 > self->cap * 3) {
        /* This insert may double the table: rehashing millions of entries takes
         * hundreds of ms, which other threads (the explorer's UI) get to use. The lock
         * keeps the table to this thread; `arg` keeps `p` alive. */
        Py_BEGIN_ALLOW_THREADS
        code = ptable_code(self, (unsigned char)p[0], (const unsigned char *)p + 1, n - 1, 1);
        Py_END_ALLOW_THREADS
    } else {
        code = ptable_code(self, (unsigned char)p[0], (const unsigned char *)p + 1, n - 1, 1);
    }
    PyThread_release_lock(self->lock);
    if (code < 0)
        return PyErr_NoMemory();
    return PyLong_FromLong(code);
}

/* reserve(n): room for n entries in all, so that inserts up to that many never double
 * the table (an insert doubles it once it is 3/4 full). A rehash it needs runs now,
 * without the GIL, under the table's lock: a caller chooses when (the credential index
 * between two pause checkpoints, not amid its key numbering). */
static PyObject *PathTable_reserve(PathTable *self, PyObject *arg)
{
    Py_ssize_t n = PyLong_AsSsize_t(arg);
    if (n == -1 && PyErr_Occurred())
        return NULL;
    if (n < 0 || (size_t)n > (size_t)INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "reserve: 0 to 2**31 - 1 entries");
        return NULL;
    }
    size_t cap = 1024;
    while (cap * 3 < 4 * (size_t)n)
        cap *= 2;
    int rc = 0;
    ptable_lock(self);
    if (cap > self->cap) {
        Py_BEGIN_ALLOW_THREADS
        rc = ptable_resize(self, cap);
        Py_END_ALLOW_THREADS
    }
    PyThread_release_lock(self->lock);
    if (rc < 0)
        return PyErr_NoMemory();
    Py_RETURN_NONE;
}

/* prefault(nbytes) -> done: map up to `nbytes` more of the table's slots, in order,
 * without the GIL; True once all are. A fresh big table's pages are otherwise mapped
 * one at a time by the inserts that first write them, holding the GIL (at 10M, numbering
 * 8k keys into a fresh 256 MB table held it ~50 ms); mapped all at once they kept a
 * core ~90 ms: a caller maps them in steps, between pause checkpoints. */
static PyObject *PathTable_prefault(PathTable *self, PyObject *arg)
{
    Py_ssize_t nbytes = PyLong_AsSsize_t(arg);
    if (nbytes == -1 && PyErr_Occurred())
        return NULL;
    ptable_lock(self);
    size_t size = self->cap * sizeof(PEnt), stop = self->faulted + (size_t)(nbytes > 0 ? nbytes : 0);
    if (stop > size)
        stop = size;
    volatile unsigned char *p = (volatile unsigned char *)self->ents;
    size_t b = self->faulted;
    Py_BEGIN_ALLOW_THREADS
    for (; b < stop; b += 4096)
        p[b] = p[b];
    Py_END_ALLOW_THREADS
    self->faulted = stop;
    int done = self->faulted >= size;
    PyThread_release_lock(self->lock);
    return PyBool_FromLong(done);
}

/* lookup(raw) -> code, or -1 when never numbered. */
static PyObject *PathTable_lookup(PathTable *self, PyObject *arg)
{
    char *p;
    Py_ssize_t n;
    if (PyBytes_AsStringAndSize(arg, &p, &n) < 0)
        return NULL;
    if (n < 1)
        return PyLong_FromLong(-1);
    ptable_lock(self);
    int32_t code = ptable_code(self, (unsigned char)p[0], (const unsigned char *)p + 1, n - 1, 0);
    PyThread_release_lock(self->lock);
    return PyLong_FromLong(code < 0 ? -1 : code);
}

/* raw(code) -> the raw key. */
static PyObject *PathTable_raw(PathTable *self, PyObject *arg)
{
    Py_ssize_t code = PyLong_AsSsize_t(arg);
    if (code == -1 && PyErr_Occurred())
        return NULL;
    ptable_lock(self);
    PyObject *out = NULL;
    if (code < 0 || (size_t)code >= self->count)
        PyErr_SetString(PyExc_IndexError, "no such code");
    else
        out = PyBytes_FromStringAndSize((const char *)self->arena + self->offs[code],
                                        (Py_ssize_t)(self->offs[code + 1] - self->offs[code] - 1));
    PyThread_release_lock(self->lock);
    return out;
}

/* blob(start) -> (keys, offsets): the raw keys of codes start.. each followed by '\n',
 * and int64 offsets of each in `keys` (one more at the end: len(keys)). */
static PyObject *PathTable_blob(PathTable *self, PyObject *arg)
{
    Py_ssize_t start = PyLong_AsSsize_t(arg);
    if (start == -1 && PyErr_Occurred())
        return NULL;
    ptable_lock(self);
    size_t cnt = self->count;
    if (start < 0 || (size_t)start > cnt)
        start = (Py_ssize_t)cnt;
    uint64_t b0 = cnt ? self->offs[start] : 0, b1 = cnt ? self->offs[cnt] : 0;
    PyObject *keys = PyBytes_FromStringAndSize((const char *)self->arena + b0, (Py_ssize_t)(b1 - b0));
    PyObject *offs = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)((cnt - start + 1) * 8));
    if (keys && offs) {
        int64_t *o = (int64_t *)PyBytes_AS_STRING(offs);
        for (size_t c = (size_t)start; c <= cnt; c++)
            o[c - start] = cnt ? (int64_t)(self->offs[c] - b0) : 0;
    }
    PyThread_release_lock(self->lock);
    if (!keys || !offs) {
        Py_XDECREF(keys);
        Py_XDECREF(offs);
        return NULL;
    }
    return Py_BuildValue("(NN)", keys, offs);
}

/* kinds(start) -> the kind byte of each code from `start` on. */
static PyObject *PathTable_kinds(PathTable *self, PyObject *arg)
{
    Py_ssize_t start = PyLong_AsSsize_t(arg);
    if (start == -1 && PyErr_Occurred())
        return NULL;
    ptable_lock(self);
    size_t cnt = self->count;
    if (start < 0 || (size_t)start > cnt)
        start = (Py_ssize_t)cnt;
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(cnt - start));
    if (out) {
        char *o = PyBytes_AS_STRING(out);
        for (size_t c = (size_t)start; c < cnt; c++)
            o[c - start] = (char)self->arena[self->offs[c]];
    }
    PyThread_release_lock(self->lock);
    return out;
}

/* trim(): give back the arena's and offsets' spare room (after a big scan; they grow
 * by doubling). */
static PyObject *PathTable_trim(PathTable *self, PyObject *Py_UNUSED(ignored))
{
    ptable_lock(self);
    if (self->acap > self->alen && self->alen) {
        unsigned char *na = PyMem_RawRealloc(self->arena, self->alen);
        if (na) {
            self->arena = na;
            self->acap = self->alen;
        }
    }
    if (self->ocap > self->count + 2 && self->count) {
        uint64_t *no = PyMem_RawRealloc(self->offs, (self->count + 2) * sizeof(uint64_t));
        if (no) {
            self->offs = no;
            self->ocap = self->count + 2;
        }
    }
    PyThread_release_lock(self->lock);
    Py_RETURN_NONE;
}

static Py_ssize_t PathTable_len(PathTable *self)
{
    return (Py_ssize_t)self->count;
}

static PyObject *PathTable_nbytes(PathTable *self, void *Py_UNUSED(closure))
{
    return PyLong_FromSize_t(self->cap * sizeof(PEnt) + self->acap + self->ocap * sizeof(uint64_t));
}

static PyMethodDef PathTable_methods[] = {
    {"scan", (PyCFunction)PathTable_scan, METH_VARARGS,
     "scan(text, starts, ends, segs, needles) -> (events, codes, fallback)"},
    {"insert", (PyCFunction)PathTable_insert, METH_O, "insert(raw) -> code"},
    {"lookup", (PyCFunction)PathTable_lookup, METH_O, "lookup(raw) -> code or -1"},
    {"reserve", (PyCFunction)PathTable_reserve, METH_O, "reserve(n): room for n entries"},
    {"prefault", (PyCFunction)PathTable_prefault, METH_O, "prefault(nbytes) -> all mapped"},
    {"raw", (PyCFunction)PathTable_raw, METH_O, "raw(code) -> raw key"},
    {"blob", (PyCFunction)PathTable_blob, METH_O, "blob(start) -> (keys, int64 offsets)"},
    {"trim", (PyCFunction)PathTable_trim, METH_NOARGS, "give back spare room"},
    {"kinds", (PyCFunction)PathTable_kinds, METH_O, "kinds(start) -> kind byte per code"},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef PathTable_getset[] = {
    {"nbytes", (getter)PathTable_nbytes, NULL, "bytes held", NULL}, {NULL, NULL, NULL, NULL, NULL}};

static PySequenceMethods PathTable_as_sequence = {.sq_length = (lenfunc)PathTable_len};

static PyTypeObject PathTableType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "tui.core._scan.PathTable",
    .tp_basicsize = sizeof(PathTable),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)PathTable_init,
    .tp_dealloc = (destructor)PathTable_dealloc,
    .tp_methods = PathTable_methods,
    .tp_getset = PathTable_getset,
    .tp_as_sequence = &PathTable_as_sequence,
    .tp_doc = "The values of one JSON path: numbering by raw key, and the scan that finds them.",
};

/* ---- StrTable: the distinct values of one indexed field ----------------------------
 *
 * Code = position, values kept as UTF-8 in one arena with an offset each, found by a
 * hash table of 8-byte slots (PEnt, as PathTable's). A Python list of str plus a dict
 * from str to code held ~150 bytes per value (the str object, the dict entry, the code's
 * int object, the list's pointer): at 10M events the key, principal and session fields
 * hold 7.5M values, 1.1 GB, and the collector walked the lists' 7.5M pointers at every
 * full collection. Here a value costs its bytes plus ~20.
 *
 * Threads: every method holds the GIL, but for the rehash when the table doubles (hundreds
 * of ms at millions of values), which runs without it under `lock`; lookups take the
 * lock, and reading a value by code (arena and offsets, never moved by a rehash) needs
 * only the GIL. Values are encoded with "surrogatepass", so any str round-trips. */
typedef struct {
    PyObject_HEAD
    PyThread_type_lock lock;
    PEnt *ents;
    size_t cap, count;
    char *arena;
    size_t alen, acap;
    uint64_t *offs; /* offs[code]: the value's start; offs[count] = alen */
    size_t ocap;
    int32_t *wide; /* the codes of values with a byte >= 0x80 (few), ascending */
    size_t nwide, wcap;
} StrTable;

#define STAB_SEED 0x2545F4914F6CDD1Dull

/* Rehash into `ncap` slots; the caller holds the lock (and may have let go of the GIL). */
static int stab_resize(StrTable *t, size_t ncap)
{
    PEnt *n = slots_rehashed(t->ents, t->cap, ncap);
    if (!n)
        return -1;
    PyMem_RawFree(t->ents);
    t->ents = n;
    t->cap = ncap;
    return 0;
}

/* Room in the slots for `want` values in all (at most 3/4 full). A rehash of a big
 * table runs without the GIL; the caller holds the lock. */
static int stab_reserve_slots(StrTable *t, size_t want)
{
    size_t cap = t->cap ? t->cap : 64;
    while (want * 4 > cap * 3)
        cap *= 2;
    if (cap == t->cap)
        return 0;
    int rc;
    if (t->count > 65536) {
        Py_BEGIN_ALLOW_THREADS
        rc = stab_resize(t, cap);
        Py_END_ALLOW_THREADS
    } else {
        rc = stab_resize(t, cap);
    }
    return rc;
}

/* Room for `n` more values of `bytes` bytes in all (GIL held: readers of the arena and
 * the offsets hold it too). */
static int stab_reserve_room(StrTable *t, size_t n, size_t bytes)
{
    if (t->alen + bytes > t->acap) {
        size_t ncap = t->acap ? t->acap : 4096;
        while (ncap < t->alen + bytes)
            ncap *= 2;
        char *na = PyMem_RawRealloc(t->arena, ncap);
        if (!na)
            return -1;
        t->arena = na;
        t->acap = ncap;
    }
    if (t->count + n + 1 > t->ocap) {
        size_t ncap = t->ocap ? t->ocap : 256;
        while (ncap < t->count + n + 1)
            ncap *= 2;
        uint64_t *no = PyMem_RawRealloc(t->offs, ncap * sizeof(uint64_t));
        if (!no)
            return -1;
        if (!t->ocap)
            no[0] = 0;
        t->offs = no;
        t->ocap = ncap;
    }
    return 0;
}

/* The code of p[0:n], added when `add` (room reserved by the caller), else -1; -2: no
 * memory. */
static int32_t stab_code(StrTable *t, const char *p, size_t n, int add)
{
    if (!t->cap)
        return -1;
    uint32_t tag = (uint32_t)(hash_bytes((const unsigned char *)p, n, STAB_SEED) >> 32);
    size_t mask = t->cap - 1, j = ptable_slot(tag, t->cap);
    for (;;) {
        PEnt *e = &t->ents[j];
        if (!e->slot)
            break;
        if (e->tag == tag) {
            int32_t c = e->slot - 1;
            if (t->offs[c + 1] - t->offs[c] == n && memcmp(t->arena + t->offs[c], p, n) == 0)
                return c;
        }
        j = (j + 1) & mask;
    }
    if (!add)
        return -1;
    int32_t code = (int32_t)t->count;
    size_t k = 0;
    while (k < n && !((unsigned char)p[k] & 0x80))
        k++;
    if (k < n) {
        if (t->nwide == t->wcap) {
            size_t ncap = t->wcap ? t->wcap * 2 : 64;
            int32_t *nw = PyMem_RawRealloc(t->wide, ncap * sizeof(int32_t));
            if (!nw)
                return -2;
            t->wide = nw;
            t->wcap = ncap;
        }
        t->wide[t->nwide++] = code;
    }
    memcpy(t->arena + t->alen, p, n);
    t->alen += n;
    t->offs[code + 1] = t->alen;
    t->count++;
    t->ents[j].tag = tag;
    t->ents[j].slot = code + 1;
    return code;
}

/* A str's UTF-8 (surrogates passed through): points into `s` or into *hold (a new bytes
 * object the caller releases). */
static const char *stab_utf8(PyObject *s, Py_ssize_t *n, PyObject **hold)
{
    *hold = NULL;
    if (!PyUnicode_Check(s)) {
        PyErr_Format(PyExc_TypeError, "values are str, not %.80s", Py_TYPE(s)->tp_name);
        return NULL;
    }
    if (PyUnicode_IS_COMPACT_ASCII(s)) {
        *n = PyUnicode_GET_LENGTH(s);
        return (const char *)PyUnicode_DATA(s);
    }
    const char *p = PyUnicode_AsUTF8AndSize(s, n);
    if (p)
        return p;
    if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError))
        return NULL;
    PyErr_Clear();
    *hold = PyUnicode_AsEncodedString(s, "utf-8", "surrogatepass");
    if (!*hold)
        return NULL;
    *n = PyBytes_GET_SIZE(*hold);
    return PyBytes_AS_STRING(*hold);
}

static void stab_lock(StrTable *t)
{
    lock_waiting(t->lock);
}

static int StrTable_init(StrTable *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kw, "", kwlist))
        return -1;
    return lock_made(&self->lock);
}

static void StrTable_dealloc(StrTable *self)
{
    if (self->lock)
        PyThread_free_lock(self->lock);
    PyMem_RawFree(self->ents);
    PyMem_RawFree(self->arena);
    PyMem_RawFree(self->offs);
    PyMem_RawFree(self->wide);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* codes(values, add=True) -> bytes: the int32 code of each str of the sequence, the
 * ones not seen before added in order when `add`, else -1 for them. */
static PyObject *StrTable_codes(StrTable *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"values", "add", NULL};
    PyObject *seq_in;
    int add = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|p", kwlist, &seq_in, &add))
        return NULL;
    if (!self->lock) {
        PyErr_SetString(PyExc_RuntimeError, "StrTable not initialised");
        return NULL;
    }
    /* A tuple of the values: the loop below may let go of the GIL (a rehash), and the
     * sequence must stay as it is meanwhile. */
    PyObject *seq = PySequence_Tuple(seq_in);
    if (!seq)
        return NULL;
    Py_ssize_t m = PyTuple_GET_SIZE(seq);
    PyObject *out = PyBytes_FromStringAndSize(NULL, m * (Py_ssize_t)sizeof(int32_t));
    if (!out) {
        Py_DECREF(seq);
        return NULL;
    }
    int32_t *o = (int32_t *)PyBytes_AS_STRING(out);
    int failed = 0;
    stab_lock(self);
    if (add) {
        /* Room for every value first: no rehash or move mid-loop. */
        size_t bytes = 0;
        for (Py_ssize_t i = 0; i < m && !failed; i++) {
            PyObject *hold;
            Py_ssize_t n;
            if (!stab_utf8(PyTuple_GET_ITEM(seq, i), &n, &hold))
                failed = 1;
            else
                bytes += (size_t)n;
            Py_XDECREF(hold);
        }
        if (!failed && self->count + (size_t)m >= (size_t)INT32_MAX) {
            PyErr_SetString(PyExc_OverflowError, "too many values for int32 codes");
            failed = 1;
        }
        if (!failed && (stab_reserve_room(self, (size_t)m, bytes) < 0 ||
                        stab_reserve_slots(self, self->count + (size_t)m) < 0)) {
            PyErr_NoMemory();
            failed = 1;
        }
    }
    for (Py_ssize_t i = 0; i < m && !failed; i++) {
        PyObject *hold;
        Py_ssize_t n;
        const char *p = stab_utf8(PyTuple_GET_ITEM(seq, i), &n, &hold);
        if (!p) {
            failed = 1;
            break;
        }
        o[i] = stab_code(self, p, (size_t)n, add);
        Py_XDECREF(hold);
        if (o[i] == -2) {
            PyErr_NoMemory();
            failed = 1;
        }
    }
    PyThread_release_lock(self->lock);
    Py_DECREF(seq);
    if (failed) {
        Py_DECREF(out);
        return NULL;
    }
    return out;
}

/* code(value) -> its code, added if new. */
static PyObject *StrTable_code(StrTable *self, PyObject *arg)
{
    PyObject *one = PyTuple_Pack(1, arg);
    if (!one)
        return NULL;
    PyObject *args = PyTuple_Pack(1, one);
    Py_DECREF(one);
    if (!args)
        return NULL;
    PyObject *b = StrTable_codes(self, args, NULL);
    Py_DECREF(args);
    if (!b)
        return NULL;
    long c = ((int32_t *)PyBytes_AS_STRING(b))[0];
    Py_DECREF(b);
    return PyLong_FromLong(c);
}

/* get(value) -> its code, or -1 when never added (or not a str). */
static PyObject *StrTable_get(StrTable *self, PyObject *arg)
{
    if (!PyUnicode_Check(arg) || !self->lock)
        return PyLong_FromLong(-1);
    PyObject *hold;
    Py_ssize_t n;
    const char *p = stab_utf8(arg, &n, &hold);
    if (!p)
        return NULL;
    stab_lock(self);
    int32_t c = stab_code(self, p, (size_t)n, 0);
    PyThread_release_lock(self->lock);
    Py_XDECREF(hold);
    return PyLong_FromLong(c);
}

/* Append to `list` the codes lo..hi of the values that are not ASCII (the table keeps
 * them ascending: a binary search for the first). -1 on error. */
static int stab_wide_into(const StrTable *t, Py_ssize_t lo, Py_ssize_t hi, PyObject *list)
{
    size_t a = 0, b = t->nwide;
    while (a < b) {
        size_t mid = (a + b) / 2;
        if ((Py_ssize_t)t->wide[mid] < lo)
            a = mid + 1;
        else
            b = mid;
    }
    for (size_t k = a; k < t->nwide && (Py_ssize_t)t->wide[k] < hi; k++) {
        PyObject *x = PyLong_FromLong(t->wide[k]);
        if (!x || PyList_Append(list, x) < 0) {
            Py_XDECREF(x);
            return -1;
        }
        Py_DECREF(x);
    }
    return 0;
}

/* fold_scan(folded, start) -> (stop, hits, wide): from code `start` to the table's end
 * (`stop`), the codes of the ASCII values equal to `folded` but for ASCII case (none
 * unless `folded` is ASCII), and the codes of the values that are not ASCII, for the
 * caller to casefold (they are few; 'K', U+212A, folds to 'k'). A case-insensitive exact
 * match without a folded copy of every value (at 10M events the `key` field's 4M: a dict
 * of ~750 MB and seconds to build). */
static PyObject *StrTable_fold_scan(StrTable *self, PyObject *args)
{
    PyObject *folded;
    Py_ssize_t start;
    if (!PyArg_ParseTuple(args, "Un", &folded, &start))
        return NULL;
    if (start < 0)
        start = 0;
    size_t stop = self->count;
    PyObject *hits = PyList_New(0), *wide = PyList_New(0), *out = NULL;
    if (!hits || !wide)
        goto done;
    if (PyUnicode_IS_COMPACT_ASCII(folded)) {
        const unsigned char *nd = PyUnicode_DATA(folded);
        size_t n = (size_t)PyUnicode_GET_LENGTH(folded);
        for (size_t c = (size_t)start; c < stop; c++) {
            if (self->offs[c + 1] - self->offs[c] != n)
                continue;
            const unsigned char *v = (const unsigned char *)self->arena + self->offs[c];
            size_t i = 0;
            for (; i < n; i++) {
                unsigned char a = v[i], b = nd[i];
                if (a != b && !(a >= 'A' && a <= 'Z' && (unsigned char)(a + 32) == b))
                    break;
            }
            if (i == n) {
                PyObject *x = PyLong_FromSize_t(c);
                if (!x || PyList_Append(hits, x) < 0) {
                    Py_XDECREF(x);
                    goto done;
                }
                Py_DECREF(x);
            }
        }
    }
    if (stab_wide_into(self, start, (Py_ssize_t)stop, wide) < 0)
        goto done;
    out = Py_BuildValue("(nOO)", (Py_ssize_t)stop, hits, wide);
done:
    Py_XDECREF(hits);
    Py_XDECREF(wide);
    return out;
}

/* dst[i] = ASCII lower case of src[i]; returns the OR of the bytes (bit 7: not ASCII).
 * Without a branch per byte, so the compiler vectorises it. */
__attribute__((optimize("O3"))) static unsigned char
ascii_lower(unsigned char *restrict dst, const unsigned char *restrict src, size_t n)
{
    unsigned char seen = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = src[i];
        seen |= ch;
        dst[i] = (unsigned char)(ch + (((unsigned char)(ch - 'A') < 26u) << 5));
    }
    return seen;
}

/* Whether ASCII `v` (lower-cased) is `parts[0]*parts[1]*...*parts[np-1]` in full: starts
 * with the first part, ends with the last, holds the middle ones in order between,
 * leftmost first (with only '*' between literals, the leftmost place of each part
 * leaves the most room for the rest). */
static int glob_full(const char *v, size_t n, const char *const *pp, const size_t *pl, Py_ssize_t np)
{
    size_t head = pl[0], tail = pl[np - 1];
    if (head + tail > n || memcmp(v, pp[0], head) != 0 ||
        memcmp(v + n - tail, pp[np - 1], tail) != 0)
        return 0;
    size_t at = head, stop = n - tail;
    for (Py_ssize_t k = 1; k < np - 1; k++) {
        if (!pl[k])
            continue;
        if (stop - at < pl[k])
            return 0;
        const char *hit = memmem(v + at, stop - at, pp[k], pl[k]);
        if (!hit)
            return 0;
        at = (size_t)(hit - v) + pl[k];
    }
    return 1;
}

/* A glob with no anchored end (`*abc*`, `*abc*def*`) whose longest part is at least this
 * long: the values holding that part are found by one pass of memmem over their stretch
 * of the arena (lower-cased a block at a time), and only they are tested in full. A glob
 * with an anchored end tests every value, its ends first (most values fail there). */
#define GLOB_ARENA_MIN 3
#define GLOB_BLOCK (1 << 16)

static inline unsigned char ascii_lower_byte(unsigned char ch)
{
    return (unsigned char)(ch + (((unsigned char)(ch - 'A') < 26u) << 5));
}

/* The codes a glob scan found, and its buffers: one per thread of a scan, used without
 * the GIL (raw allocations only). */
typedef struct {
    StrTable *t;
    Py_ssize_t lo, hi;
    const char *const *pp;
    const size_t *pl;
    Py_ssize_t np, longest;
    int32_t *hits;
    size_t nhits, hcap;
    char *low, *buf;
    size_t lowcap, bufcap;
    int nomem;
} GlobScan;

/* Room for `n` bytes in *buf (of *cap); 0 when out of memory. */
static int glob_room(char **buf, size_t *cap, size_t n)
{
    if (n <= *cap)
        return 1;
    size_t ncap = *cap ? *cap : 256;
    while (ncap < n)
        ncap *= 2;
    char *nb = PyMem_RawRealloc(*buf, ncap);
    if (!nb)
        return 0;
    *buf = nb;
    *cap = ncap;
    return 1;
}

/* Test value `c` in full: keep it when it is ASCII and, lower-cased, matches. (Values
 * that are not ASCII are the caller's, from the table's `wide`.) */
static void glob_test(GlobScan *g, Py_ssize_t c)
{
    const StrTable *t = g->t;
    const char *const *pp = g->pp;
    const size_t *pl = g->pl;
    Py_ssize_t np = g->np;
    const char *v = t->arena + t->offs[c];
    size_t n = (size_t)(t->offs[c + 1] - t->offs[c]);
    if (!n)
        return; /* the empty value never matches */
    /* The anchored ends first, on the value's own bytes: most values fail there. */
    size_t hl = pl[0], tl = pl[np - 1];
    if (hl + tl > n)
        return;
    for (size_t i = 0; i < hl; i++)
        if (ascii_lower_byte((unsigned char)v[i]) != (unsigned char)pp[0][i])
            return;
    for (size_t i = 0; i < tl; i++)
        if (ascii_lower_byte((unsigned char)v[n - tl + i]) != (unsigned char)pp[np - 1][i])
            return;
    if (!glob_room(&g->low, &g->lowcap, n)) {
        g->nomem = 1;
        return;
    }
    if (ascii_lower((unsigned char *)g->low, (const unsigned char *)v, n) & 0x80)
        return;
    if (!glob_full(g->low, n, pp, pl, np))
        return;
    if (g->nhits == g->hcap) {
        size_t ncap = g->hcap ? 2 * g->hcap : 256;
        int32_t *nh = PyMem_RawRealloc(g->hits, ncap * sizeof(int32_t));
        if (!nh) {
            g->nomem = 1;
            return;
        }
        g->hits = nh;
        g->hcap = ncap;
    }
    g->hits[g->nhits++] = (int32_t)c;
}

/* The codes lo..hi whose value holds the glob's longest part `lit` (m bytes, lower case)
 * somewhere, lower-cased, each tested in full (glob_test): memmem over the arena a block
 * at a time. A value is tested once, at its first occurrence; then the search goes on
 * from its end. */
static void glob_arena(GlobScan *g)
{
    const StrTable *t = g->t;
    const char *lit = g->pp[g->longest];
    size_t m = g->pl[g->longest];
    const uint64_t *offs = t->offs;
    Py_ssize_t c = g->lo, hi = g->hi;
    uint64_t end = offs[hi];
    /* Blocks overlap by m - 1 bytes so an occurrence across a block's end is found. */
    if (!glob_room(&g->buf, &g->bufcap, GLOB_BLOCK + m)) {
        g->nomem = 1;
        return;
    }
    char *buf = g->buf;
    for (uint64_t pos = offs[c]; pos < end && c < hi && !g->nomem; pos += GLOB_BLOCK) {
        size_t len = (size_t)(end - pos < GLOB_BLOCK + m - 1 ? end - pos : GLOB_BLOCK + m - 1);
        if (len < m)
            break;
        ascii_lower((unsigned char *)buf, (const unsigned char *)t->arena + pos, len);
        size_t at = 0;
        while (at + m <= len) {
            const char *hit = memmem(buf + at, len - at, lit, m);
            if (!hit)
                break;
            uint64_t p = pos + (uint64_t)(hit - buf);
            if (p < offs[c]) { /* in a value tested already */
                at = (size_t)(offs[c] - pos);
                continue;
            }
            while (c < hi && offs[c + 1] <= p)
                c++; /* occurrences come in order: the value holding p */
            if (c >= hi)
                break;
            if (p + m <= offs[c + 1]) { /* inside value c, not across its end */
                glob_test(g, c);
                c++; /* the next occurrence that counts is in a later value */
                if (c >= hi || offs[c] >= pos + len)
                    break;
                at = (size_t)(offs[c] - pos);
            } else {
                at = (size_t)(hit - buf) + 1;
            }
        }
        /* The next block starts GLOB_BLOCK on; values before `c` are done. */
        if (c < hi && offs[c] > pos + GLOB_BLOCK)
            pos = offs[c] - GLOB_BLOCK; /* (the loop adds GLOB_BLOCK) */
    }
}

/* One thread's stretch: the arena pass for a glob with no anchored end whose longest
 * part is GLOB_ARENA_MIN bytes or more, else each value in turn. */
static void *glob_stretch(void *arg)
{
    GlobScan *g = arg;
    const size_t *pl = g->pl;
    if (g->longest && pl[g->longest] >= GLOB_ARENA_MIN && !pl[0] && !pl[g->np - 1])
        glob_arena(g);
    else
        for (Py_ssize_t c = g->lo; c < g->hi && !g->nomem; c++)
            glob_test(g, c);
    return NULL;
}

#define GLOB_THREADS_MAX 8

/* glob_scan(parts, lo, hi, threads=1, per_thread=65536) -> (hits, wide): of the codes
 * lo..hi (clamped to the table), the ASCII values that, lower-cased, are the glob `parts`
 * in full (parts: casefolded literals between '*'s, at least two; the empty value never
 * matches), and the values that are not ASCII, for the caller to test (casefolding can
 * take them to ASCII). No ASCII value matches a part that is not ASCII. The scan runs
 * without the GIL, on up to `threads` threads (each given `per_thread` values at least),
 * holding the table's lock: no value moves meanwhile. */
static PyObject *StrTable_glob_scan(StrTable *self, PyObject *args)
{
    PyObject *parts;
    Py_ssize_t lo, hi;
    int threads = 1;
    Py_ssize_t per_thread = 65536;
    if (!PyArg_ParseTuple(args, "O!nn|in", &PyTuple_Type, &parts, &lo, &hi, &threads,
                          &per_thread))
        return NULL;
    Py_ssize_t np = PyTuple_GET_SIZE(parts);
    if (np < 2) {
        PyErr_SetString(PyExc_ValueError, "a glob has at least two parts");
        return NULL;
    }
    if (!self->lock) {
        PyErr_SetString(PyExc_RuntimeError, "StrTable not initialised");
        return NULL;
    }
    const char **pp = PyMem_Malloc(np * sizeof(char *));
    size_t *pl = PyMem_Malloc(np * sizeof(size_t));
    PyObject *hits = PyList_New(0), *wide = PyList_New(0), *out = NULL;
    GlobScan g[GLOB_THREADS_MAX];
    int ng = 0, ascii = 1;
    Py_ssize_t longest = 0;
    memset(g, 0, sizeof g);
    if (!pp || !pl || !hits || !wide) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t k = 0; k < np; k++) {
        PyObject *p = PyTuple_GET_ITEM(parts, k);
        if (!PyUnicode_Check(p)) {
            PyErr_SetString(PyExc_TypeError, "glob parts are str");
            goto done;
        }
        if (!PyUnicode_IS_COMPACT_ASCII(p)) {
            ascii = 0;
            pp[k] = "";
            pl[k] = 0;
            continue;
        }
        pp[k] = (const char *)PyUnicode_DATA(p);
        pl[k] = (size_t)PyUnicode_GET_LENGTH(p);
        if (k > 0 && k < np - 1 && (!longest || pl[k] > pl[longest]))
            longest = k; /* a middle part: the ends are tested cheaply on every value */
    }
    stab_lock(self); /* (the parts' str objects are the caller's: they stay meanwhile) */
    if (lo < 0)
        lo = 0;
    if (hi > (Py_ssize_t)self->count)
        hi = (Py_ssize_t)self->count;
    if (ascii && lo < hi) {
        Py_ssize_t span = hi - lo;
        ng = threads < 1 ? 1 : threads > GLOB_THREADS_MAX ? GLOB_THREADS_MAX : threads;
        while (ng > 1 && span / ng < per_thread)
            ng--;
        for (int k = 0; k < ng; k++) {
            g[k].t = self;
            g[k].lo = lo + span * k / ng;
            g[k].hi = lo + span * (k + 1) / ng;
            g[k].pp = pp;
            g[k].pl = pl;
            g[k].np = np;
            g[k].longest = longest;
        }
        Py_BEGIN_ALLOW_THREADS
        pthread_t tids[GLOB_THREADS_MAX];
        int started[GLOB_THREADS_MAX] = {0};
        for (int k = 1; k < ng; k++)
            started[k] = pthread_create(&tids[k], NULL, glob_stretch, &g[k]) == 0;
        glob_stretch(&g[0]);
        for (int k = 1; k < ng; k++) {
            if (started[k])
                pthread_join(tids[k], NULL);
            else
                glob_stretch(&g[k]); /* no thread to be had: here */
        }
        Py_END_ALLOW_THREADS
    }
    PyThread_release_lock(self->lock);
    for (int k = 0; k < ng; k++) {
        if (g[k].nomem) {
            PyErr_NoMemory();
            goto done;
        }
        for (size_t i = 0; i < g[k].nhits; i++) {
            PyObject *x = PyLong_FromLong(g[k].hits[i]);
            if (!x || PyList_Append(hits, x) < 0) {
                Py_XDECREF(x);
                goto done;
            }
            Py_DECREF(x);
        }
    }
    if (stab_wide_into(self, lo, hi, wide) < 0)
        goto done;
    out = PyTuple_Pack(2, hits, wide);
done:
    for (int k = 0; k < ng; k++) {
        PyMem_RawFree(g[k].hits);
        PyMem_RawFree(g[k].low);
        PyMem_RawFree(g[k].buf);
    }
    PyMem_Free(pp);
    PyMem_Free(pl);
    Py_XDECREF(hits);
    Py_XDECREF(wide);
    return out;
}

/* index(value) -> its code, as list.index (ValueError when absent). */
static PyObject *StrTable_index(StrTable *self, PyObject *arg)
{
    PyObject *c = StrTable_get(self, arg);
    if (c && PyLong_AsLong(c) < 0) {
        Py_DECREF(c);
        PyErr_SetString(PyExc_ValueError, "not a value of this table");
        return NULL;
    }
    return c;
}

static int StrTable_contains(StrTable *self, PyObject *arg)
{
    PyObject *c = StrTable_get(self, arg);
    if (!c)
        return -1;
    long v = PyLong_AsLong(c);
    Py_DECREF(c);
    return v >= 0;
}

static PyObject *stab_value(StrTable *t, size_t c)
{
    const char *p = t->arena + t->offs[c];
    size_t n = (size_t)(t->offs[c + 1] - t->offs[c]);
    size_t i = 0;
    while (i < n && !((unsigned char)p[i] & 0x80))
        i++;
    if (i == n) {
        PyObject *s = PyUnicode_New((Py_ssize_t)n, 127);
        if (s)
            memcpy(PyUnicode_DATA(s), p, n);
        return s;
    }
    return PyUnicode_DecodeUTF8(p, (Py_ssize_t)n, "surrogatepass");
}

static Py_ssize_t StrTable_len(StrTable *self)
{
    return (Py_ssize_t)self->count;
}

static PyObject *StrTable_item(StrTable *self, Py_ssize_t i)
{
    if (i < 0 || (size_t)i >= self->count) {
        PyErr_SetString(PyExc_IndexError, "no such code");
        return NULL;
    }
    return stab_value(self, (size_t)i);
}

/* t[i] (negative from the end, as a list) or t[a:b:s] -> list of str. */
static PyObject *StrTable_subscript(StrTable *self, PyObject *key)
{
    if (PySlice_Check(key)) {
        Py_ssize_t start, stop, step;
        if (PySlice_Unpack(key, &start, &stop, &step) < 0)
            return NULL;
        Py_ssize_t len = PySlice_AdjustIndices((Py_ssize_t)self->count, &start, &stop, step);
        PyObject *out = PyList_New(len);
        for (Py_ssize_t k = 0; out && k < len; k++) {
            PyObject *s = stab_value(self, (size_t)(start + k * step));
            if (!s)
                Py_CLEAR(out);
            else
                PyList_SET_ITEM(out, k, s);
        }
        return out;
    }
    Py_ssize_t i = PyNumber_AsSsize_t(key, PyExc_IndexError);
    if (i == -1 && PyErr_Occurred())
        return NULL;
    if (i < 0)
        i += (Py_ssize_t)self->count;
    return StrTable_item(self, i);
}

static PyObject *StrTable_nbytes(StrTable *self, void *Py_UNUSED(closure))
{
    return PyLong_FromSize_t(self->cap * sizeof(PEnt) + self->acap + self->ocap * sizeof(uint64_t));
}

static PyMethodDef StrTable_methods[] = {
    {"codes", (PyCFunction)(void (*)(void))StrTable_codes, METH_VARARGS | METH_KEYWORDS,
     "codes(values, add=True) -> int32 codes as bytes (-1: absent, when not add)"},
    {"code", (PyCFunction)StrTable_code, METH_O, "code(value) -> code, added if new"},
    {"get", (PyCFunction)StrTable_get, METH_O, "get(value) -> code, or -1"},
    {"index", (PyCFunction)StrTable_index, METH_O, "index(value) -> code (ValueError: absent)"},
    {"glob_scan", (PyCFunction)StrTable_glob_scan, METH_VARARGS,
     "glob_scan(parts, lo, hi, threads=1, per_thread=65536) -> (ASCII codes matching the"
     " glob, non-ASCII codes)"},
    {"fold_scan", (PyCFunction)StrTable_fold_scan, METH_VARARGS,
     "fold_scan(folded, start) -> (stop, ASCII codes equal but for case, non-ASCII codes)"},
    {NULL, NULL, 0, NULL}};

static PyGetSetDef StrTable_getset[] = {
    {"nbytes", (getter)StrTable_nbytes, NULL, "bytes held", NULL}, {NULL, NULL, NULL, NULL, NULL}};

static PySequenceMethods StrTable_as_sequence = {
    .sq_length = (lenfunc)StrTable_len,
    .sq_item = (ssizeargfunc)StrTable_item,
    .sq_contains = (objobjproc)StrTable_contains,
};

static PyMappingMethods StrTable_as_mapping = {
    .mp_length = (lenfunc)StrTable_len,
    .mp_subscript = (binaryfunc)StrTable_subscript,
};

static PyTypeObject StrTableType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "tui.core._scan.StrTable",
    .tp_basicsize = sizeof(StrTable),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)StrTable_init,
    .tp_dealloc = (destructor)StrTable_dealloc,
    .tp_methods = StrTable_methods,
    .tp_getset = StrTable_getset,
    .tp_as_sequence = &StrTable_as_sequence,
    .tp_as_mapping = &StrTable_as_mapping,
    .tp_doc = "Distinct str values numbered in order of arrival: code -> value, value -> code.",
};

/* set_hostile_ranges([(lo, hi), ...]): sorted, disjoint, inclusive. */
static PyObject *set_hostile_ranges(PyObject *Py_UNUSED(module), PyObject *arg)
{
    PyObject *seq = PySequence_Fast(arg, "a list of (lo, hi)");
    if (!seq)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    uint32_t *lo = PyMem_Malloc((n + 1) * sizeof(uint32_t)), *hi = PyMem_Malloc((n + 1) * sizeof(uint32_t));
    if (!lo || !hi) {
        PyMem_Free(lo);
        PyMem_Free(hi);
        Py_DECREF(seq);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned int a, b;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "II", &a, &b) || a > b ||
            (i && a <= hi[i - 1])) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "ranges must be sorted and disjoint");
            PyMem_Free(lo);
            PyMem_Free(hi);
            Py_DECREF(seq);
            return NULL;
        }
        lo[i] = a;
        hi[i] = b;
    }
    Py_DECREF(seq);
    PyMem_Free(hostile_lo);
    PyMem_Free(hostile_hi);
    hostile_lo = lo;
    hostile_hi = hi;
    hostile_n = n;
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"set_hostile_ranges", set_hostile_ranges, METH_O, "the code points that count as hostile"},
    {"lower_ascii", lower_ascii, METH_O, "bytes.lower() of ASCII data, else None"},
    {NULL, NULL, 0, NULL}};

static PyMethodDef Encoder_methods[] = {
    {"scan", (PyCFunction)Encoder_scan, METH_O,
     "scan(data) -> None or the columns of a {\"Records\": [...]} document"},
    {"encode", (PyCFunction)Encoder_encode, METH_VARARGS,
     "encode(field, values) -> (int32 codes as bytes, values first seen)"},
    {"sizes", (PyCFunction)Encoder_sizes, METH_NOARGS, "values numbered so far, per field"},
    {NULL, NULL, 0, NULL}};

static PyTypeObject EncoderType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "tui.core._scan.Encoder",
    .tp_basicsize = sizeof(Encoder),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Encoder_init,
    .tp_dealloc = (destructor)Encoder_dealloc,
    .tp_methods = Encoder_methods,
    .tp_doc = "Encoder(schema, seed=0): per-field value numbering plus the native document scan.",
};

static struct PyModuleDef scan_module = {
    PyModuleDef_HEAD_INIT, "_scan", "Native scan of CloudTrail Records documents.", -1, module_methods,
    NULL, NULL, NULL, NULL,
};

/* {name: number} of the program ops, for derive.compile_native. */
static PyObject *opcodes(void)
{
    static const struct {
        const char *name;
        int op;
    } ops[] = {{"OP_CASE", OP_CASE}, {"OP_LOOKUP", OP_LOOKUP}, {"OP_DEFAULT", OP_DEFAULT},
               {"C_EMPTY", C_EMPTY},
               {"C_PRESENT", C_PRESENT}, {"C_IS", C_IS}, {"C_OBJECT", C_OBJECT},
               {"C_ANY", C_ANY}, {"R_SLOT", R_SLOT}, {"R_CONST", R_CONST},
               {"R_LOWER", R_LOWER}};
    PyObject *d = PyDict_New();
    for (size_t i = 0; d && i < sizeof ops / sizeof ops[0]; i++) {
        PyObject *v = PyLong_FromLong(ops[i].op);
        if (!v || PyDict_SetItemString(d, ops[i].name, v) < 0)
            Py_CLEAR(d);
        Py_XDECREF(v);
    }
    return d;
}

PyMODINIT_FUNC PyInit__scan(void)
{
    if (PyType_Ready(&EncoderType) < 0 || PyType_Ready(&PathTableType) < 0 ||
        PyType_Ready(&SchemaType) < 0 || PyType_Ready(&StrTableType) < 0)
        return NULL;
#ifdef __SSE2__
    init_pop8();
#endif
    PyObject *m = PyModule_Create(&scan_module);
    if (!m)
        return NULL;
    PyObject *ops = opcodes();
    if (!ops || PyModule_AddObjectRef(m, "Encoder", (PyObject *)&EncoderType) < 0 ||
        PyModule_AddObjectRef(m, "PathTable", (PyObject *)&PathTableType) < 0 ||
        PyModule_AddObjectRef(m, "StrTable", (PyObject *)&StrTableType) < 0 ||
        PyModule_AddObjectRef(m, "Schema", (PyObject *)&SchemaType) < 0 ||
        PyModule_AddObjectRef(m, "OPCODES", ops) < 0) {
        Py_XDECREF(ops);
        Py_DECREF(m);
        return NULL;
    }
    Py_DECREF(ops);
    return m;
}
