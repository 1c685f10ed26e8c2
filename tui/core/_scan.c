/* Native per-file scan of a CloudTrail `{"Records":[...]}` document (or of several,
 * one after another).
 *
 * Does in one pass what the Python fast path (fastpath.py + batch.py) does per event:
 * validates the JSON, finds each record's byte span, picks out the indexed fields,
 * derives principal / account / credential kind / role / user exactly as
 * fastpath.values does, parses eventTime and hashes eventID like batch.times_ms and
 * batch.id_hash, flags malformed records like fastpath.malformed (members of the
 * wrong JSON type bail, as fastpath's types refuse them), and numbers the values with
 * a persistent per-field table.
 *
 * Contract: for any input it either returns the same results the Python path gives,
 * or returns None ("bail") and the Python path handles the file. It bails on anything
 * unusual (escaped keys, duplicate keys, non-string indexed values, odd times or ids,
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

/* Field order: tui/core/fields.py FIELDS (checked at import by batch.py). */
enum {
    F_SERVICE, F_EVENT, F_PRINCIPAL, F_IP, F_REGION, F_ACCOUNT, F_ERROR, F_TYPE,
    F_CRED, F_KEY, F_ROLE, F_UA, F_USER, F_EVENTTYPE, F_CATEGORY, F_READONLY, NF
};

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

/* The captured members of one record. */
enum {
    R_TIME, R_SOURCE, R_NAME, R_REGION, R_IP, R_UA, R_ERROR, R_RO, R_ETYPE, R_ECAT,
    R_ID, R_RECIPIENT, R_VERSION,
    U_TYPE, U_ARN, U_PRINCIPAL, U_ACCOUNT, U_KEY, U_USER, U_INVOKED,
    I_TYPE, I_ARN, I_USER, O_USERID,
    N_SOURCE, N_NAME, /* insightDetails.eventSource / eventName */
    NV
};

typedef struct {
    int64_t start, end; /* the record's byte span in the document */
    int hostile;        /* a string in it holds a character sanitize.clean escapes */
    int insight;        /* insightDetails is an object (an Insights event) */
    Val v[NV];
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

/* The code of `key`; a new key gets the next code and its str is appended to `fresh`.
 * Returns -1 with an exception set on failure. */
static int32_t table_code(Table *t, const unsigned char *key, size_t len, uint64_t seed,
                          PyObject *fresh)
{
    if (t->last.code >= 0 && t->last.len == len && memcmp(t->arena + t->last.off, key, len) == 0)
        return t->last.code;
    uint64_t h = hash_bytes(key, len, seed);
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

/* The member names picked out of one object level: name -> slot in Rec.v, or (slot
 * < 0) a nested object to descend into, of kind `sub`. */
enum { OBJ_RECORD, OBJ_UI, OBJ_SC, OBJ_ISSUER, OBJ_OBO, OBJ_INSIGHT, OBJ_ANY };

typedef struct {
    const char *name;
    size_t len;
    int slot;
    int sub;
} Member;
#define M(s, slot) {s, sizeof(s) - 1, slot, -1}
#define SUB(s, sub) {s, sizeof(s) - 1, -1, sub}

static const Member REC_MEMBERS[] = {
    M("eventTime", R_TIME), M("eventSource", R_SOURCE), M("eventName", R_NAME),
    M("awsRegion", R_REGION), M("sourceIPAddress", R_IP), M("userAgent", R_UA),
    M("errorCode", R_ERROR), M("readOnly", R_RO), M("eventType", R_ETYPE),
    M("eventCategory", R_ECAT), M("eventID", R_ID), M("recipientAccountId", R_RECIPIENT),
    M("eventVersion", R_VERSION), SUB("userIdentity", OBJ_UI),
    SUB("insightDetails", OBJ_INSIGHT), SUB("requestParameters", OBJ_ANY),
    SUB("responseElements", OBJ_ANY), {NULL, 0, 0, 0}};
static const Member UI_MEMBERS[] = {
    M("type", U_TYPE), M("arn", U_ARN), M("principalId", U_PRINCIPAL),
    M("accountId", U_ACCOUNT), M("accessKeyId", U_KEY), M("userName", U_USER),
    M("invokedBy", U_INVOKED), SUB("sessionContext", OBJ_SC), SUB("onBehalfOf", OBJ_OBO),
    {NULL, 0, 0, 0}};
static const Member SC_MEMBERS[] = {SUB("sessionIssuer", OBJ_ISSUER), {NULL, 0, 0, 0}};
static const Member ISSUER_MEMBERS[] = {
    M("type", I_TYPE), M("arn", I_ARN), M("userName", I_USER), {NULL, 0, 0, 0}};
static const Member OBO_MEMBERS[] = {M("userId", O_USERID), {NULL, 0, 0, 0}};
static const Member INSIGHT_MEMBERS[] = {
    M("eventSource", N_SOURCE), M("eventName", N_NAME), {NULL, 0, 0, 0}};
static const Member ANY_MEMBERS[] = {{NULL, 0, 0, 0}}; /* only "an object or null" */

static int match_member(const Member *m, const unsigned char *name, size_t len)
{
    for (int i = 0; m[i].name; i++)
        if (m[i].len == len && memcmp(m[i].name, name, len) == 0)
            return i;
    return -1;
}

static const Member *const MEMBERS[] = {REC_MEMBERS, UI_MEMBERS,      SC_MEMBERS, ISSUER_MEMBERS,
                                        OBO_MEMBERS, INSIGHT_MEMBERS, ANY_MEMBERS};

/* An object whose members we pick out (the record, its userIdentity parts, its
 * insightDetails), or only check to be an object (requestParameters...). msgspec typed
 * these as Structs: a non-object (other than null, handled by the caller) fails its
 * validation, so we bail too. Duplicate or escaped member names: bail. */
static int scan_picked(Cur *c, Rec *r, int obj, int depth)
{
    const Member *m = MEMBERS[obj];
    uint32_t seen = 0;
    if (c->p >= c->end || *c->p != '{' || depth >= MAX_DEPTH)
        return BAIL;
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
        int i = match_member(m, key.p, key.len);
        if (i < 0) {
            if (scan_value(c, NULL, depth + 1) < 0)
                return BAIL;
        } else {
            if (seen & (1u << i))
                return BAIL;
            seen |= 1u << i;
            int slot = m[i].slot;
            if (slot >= 0) {
                if (scan_value(c, &r->v[slot], depth + 1) < 0)
                    return BAIL;
            } else if (c->p < c->end && *c->p == 'n') {
                if (scan_literal(c, "null", 4) < 0)
                    return BAIL;
            } else {
                if (m[i].sub == OBJ_INSIGHT)
                    r->insight = 1;
                if (scan_picked(c, r, m[i].sub, depth + 1) < 0)
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

static inline int is_str(const Val *v, const char *s)
{
    size_t n = strlen(s);
    return v->kind == V_STR && !v->esc && v->len == n && memcmp(v->p, s, n) == 0;
}

/* Checks that make a record's derived values computable here; else bail. Strings
 * compared with constants must be unescaped, and only str/null (plus bool readOnly)
 * are accepted in the picked members. */
static int check_record(const Rec *r)
{
    for (int i = 0; i < NV; i++) {
        uint8_t k = r->v[i].kind;
        if (k == V_OTHER || ((k == V_TRUE || k == V_FALSE) && i != R_RO))
            return BAIL;
    }
    const int plain[] = {U_TYPE, U_ACCOUNT, U_PRINCIPAL, I_TYPE, R_RO, R_VERSION};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        if (r->v[plain[i]].kind == V_STR && r->v[plain[i]].esc)
            return BAIL;
    const Val *ro = &r->v[R_RO];
    if (ro->kind == V_STR)
        for (uint32_t i = 0; i < ro->len; i++)
            if (ro->p[i] >= 0x80)
                return BAIL; /* str.lower() of non-ASCII: leave it to Python */
    return 0;
}

typedef struct {
    const char *name;
    const char *kind;
} CredKind;

static const CredKind CRED_BY_TYPE[] = {
    {"Root", "root"}, {"IAMUser", "iam-user"}, {"AssumedRole", "role-session"},
    {"Role", "role-session"}, {"FederatedUser", "federated"}, {"SAMLUser", "federated"},
    {"WebIdentityUser", "federated"}, {"IdentityCenterUser", "federated"},
    {"AWSService", "aws-service"}, {"AnonymousPrincipal", "anonymous"}, {NULL, NULL}};

static const Val EMPTY = {(const unsigned char *)"", 0, V_STR, 0};

/* ASCII-case-insensitive equality with a lower-case constant. */
static int is_str_ci(const Val *v, const char *s)
{
    size_t n = strlen(s);
    if (v->kind != V_STR || v->esc || v->len != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = v->p[i];
        if (((ch >= 'A' && ch <= 'Z') ? ch + 32 : ch) != (unsigned char)s[i])
            return 0;
    }
    return 1;
}

/* normalize._anon_id: an accountId / principalId naming an anonymous caller. */
static int anon_id(const Val *v)
{
    return is_str_ci(v, "anonymous") || is_str_ci(v, "anonymous_principal");
}

/* normalize.version_ok / readonly_ok (check_record has already bailed on escaped or
 * non-ASCII values and on types fastpath refuses). */
static int malformed(const Rec *r)
{
    const Val *v = &r->v[R_VERSION];
    if (v->kind == V_STR) {
        if (v->len < 3 || v->p[0] != '1' || v->p[1] != '.')
            return 1;
        for (uint32_t i = 2; i < v->len; i++)
            if (v->p[i] < '0' || v->p[i] > '9')
                return 1;
    }
    const Val *ro = &r->v[R_RO];
    return ro->kind == V_STR && !is_str_ci(ro, "true") && !is_str_ci(ro, "false");
}

static Val const_val(const char *s)
{
    Val v = {(const unsigned char *)s, (uint32_t)strlen(s), V_STR, 0};
    return v;
}

static inline const Val *or_empty(const Val *v) { return v->kind == V_STR ? v : &EMPTY; }

/* The 16 field values of a record, as fastpath.values derives them. */
static void derive(const Rec *r, Val *out, unsigned char *ro_buf)
{
    const Val *v = r->v;
    /* An Insights event: the API it is about, when the record names none itself. */
    const Val *src = &v[R_SOURCE], *name = &v[R_NAME];
    if (r->insight && (src->kind == V_NONE || (src->kind == V_STR && src->len == 0)))
        src = &v[N_SOURCE];
    if (r->insight && (name->kind == V_NONE || (name->kind == V_STR && name->len == 0)))
        name = &v[N_NAME];
    out[F_SERVICE] = *or_empty(src);
    out[F_EVENT] = *or_empty(name);
    static const int who[] = {U_ARN, U_INVOKED, O_USERID, U_USER, U_PRINCIPAL, U_ACCOUNT};
    out[F_PRINCIPAL] = const_val(r->insight ? "CloudTrail Insights" : "unknown");
    for (int i = 0; i < 6; i++)
        if (truthy(&v[who[i]])) {
            out[F_PRINCIPAL] = v[who[i]];
            break;
        }
    out[F_IP] = *or_empty(&v[R_IP]);
    out[F_REGION] = *or_empty(&v[R_REGION]);
    out[F_ACCOUNT] = truthy(&v[R_RECIPIENT]) ? v[R_RECIPIENT]
                     : truthy(&v[U_ACCOUNT]) ? v[U_ACCOUNT]
                                             : EMPTY;
    out[F_ERROR] = *or_empty(&v[R_ERROR]);
    const Val *t = &v[U_TYPE];
    out[F_TYPE] = *or_empty(t);
    const char *cred = NULL;
    if (t->kind == V_STR)
        for (int i = 0; CRED_BY_TYPE[i].name; i++)
            if (is_str(t, CRED_BY_TYPE[i].name)) {
                cred = CRED_BY_TYPE[i].kind;
                break;
            }
    if (!cred) {
        cred = "other";
        if (is_str(t, "AWSAccount") || is_str(t, "Unknown") || !truthy(t)) {
            if (anon_id(&v[U_ACCOUNT]) || anon_id(&v[U_PRINCIPAL]))
                cred = "anonymous";
            else if (!truthy(t) && truthy(&v[U_INVOKED]))
                cred = "aws-service";
        }
    }
    out[F_CRED] = const_val(cred);
    out[F_KEY] = *or_empty(&v[U_KEY]);
    out[F_ROLE] = is_str(&v[I_TYPE], "Role") ? *or_empty(&v[I_ARN]) : EMPTY;
    out[F_UA] = *or_empty(&v[R_UA]);
    out[F_USER] = truthy(&v[U_USER]) ? v[U_USER] : truthy(&v[I_USER]) ? v[I_USER] : EMPTY;
    out[F_EVENTTYPE] = *or_empty(&v[R_ETYPE]);
    out[F_CATEGORY] = *or_empty(&v[R_ECAT]);
    const Val *ro = &v[R_RO];
    if (ro->kind == V_TRUE) {
        out[F_READONLY] = const_val("true");
    } else if (ro->kind == V_FALSE) {
        out[F_READONLY] = const_val("false");
    } else if (ro->kind == V_STR) {
        uint32_t n = ro->len;
        for (uint32_t i = 0; i < n; i++) {
            unsigned char ch = ro->p[i];
            ro_buf[i] = (ch >= 'A' && ch <= 'Z') ? ch + 32 : ch;
        }
        Val low = {ro_buf, n, V_STR, 0};
        out[F_READONLY] = low;
    } else {
        out[F_READONLY] = EMPTY;
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

/* ------------------------------------------------------------------ the Encoder type */

typedef struct {
    PyObject_HEAD
    Table tables[NF];
    uint64_t seed;
} Encoder;

static void Encoder_dealloc(Encoder *self)
{
    for (int f = 0; f < NF; f++)
        table_free(&self->tables[f]);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int Encoder_init(Encoder *self, PyObject *args, PyObject *kw)
{
    unsigned long long seed = 0;
    static char *kwlist[] = {"seed", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|K", kwlist, &seed))
        return -1;
    for (int f = 0; f < NF; f++) {
        table_free(&self->tables[f]);
        if (table_init(&self->tables[f]) < 0) {
            PyErr_NoMemory();
            return -1;
        }
    }
    self->seed = seed;
    return 0;
}

static PyObject *sizes_list(Encoder *self)
{
    PyObject *l = PyList_New(NF);
    if (!l)
        return NULL;
    for (int f = 0; f < NF; f++) {
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
    if (f < 0 || f >= NF) {
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
    size_t n, cap;
} Recs;

static int recs_push(Recs *rs)
{
    if (rs->n == rs->cap) {
        size_t ncap = rs->cap ? rs->cap * 2 : 512;
        Rec *nr = PyMem_Realloc(rs->recs, ncap * sizeof(Rec));
        if (!nr)
            return -1;
        rs->recs = nr;
        rs->cap = ncap;
    }
    memset(&rs->recs[rs->n], 0, sizeof(Rec));
    rs->n++;
    return 0;
}

#define NOMEM (-2)

/* Phase 1: one document, into `rs`. BAIL for anything the Python path should see. */
static int scan_document(Cur *c, Recs *rs)
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
                if (scan_picked(c, r, OBJ_RECORD, 2) < 0)
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
static int scan_documents(Cur *c, Recs *rs)
{
    do {
        int rc = scan_document(c, rs);
        if (rc < 0)
            return rc;
        skip_ws(c);
    } while (c->p < c->end);
    return 0;
}

/* scan(data) -> None | (base, fresh, codes, starts, ends, times, eid16, idh, noid, hostile,
 * malformed)
 * base: per-field table sizes before this document; fresh: per field, the values first
 * seen here (codes base[f], base[f]+1, ...); codes: NF x n int32 (field-major);
 * starts/ends/times: int64; idh: uint64 (0 = no eventID); noid/hostile/malformed: uint8. */
static PyObject *Encoder_scan(Encoder *self, PyObject *arg)
{
    if (hostile_n < 0) {
        PyErr_SetString(PyExc_RuntimeError, "set_hostile_ranges() first");
        return NULL;
    }
    Py_buffer buf;
    if (PyObject_GetBuffer(arg, &buf, PyBUF_SIMPLE) < 0)
        return NULL;
    PyObject *result = NULL;
    const unsigned char *base_ptr = buf.buf;
    Cur c = {base_ptr, base_ptr, base_ptr + buf.len, 0};
    Recs rs = {NULL, 0, 0};
    unsigned char *scratch = NULL;
    PyObject *base = NULL, *fresh = NULL, *codes = NULL, *starts = NULL, *ends = NULL,
             *times = NULL, *eid16 = NULL, *idh = NULL, *noid = NULL, *hostile = NULL,
             *bad = NULL;

    int rc = scan_documents(&c, &rs);
    if (rc == NOMEM) {
        PyErr_NoMemory();
        goto done;
    }
    if (rc < 0)
        goto bail;
    size_t n = rs.n;
    starts = PyByteArray_FromStringAndSize(NULL, n * 8);
    ends = PyByteArray_FromStringAndSize(NULL, n * 8);
    times = PyByteArray_FromStringAndSize(NULL, n * 8);
    eid16 = PyByteArray_FromStringAndSize(NULL, n * 16);
    idh = PyByteArray_FromStringAndSize(NULL, n * 8);
    noid = PyByteArray_FromStringAndSize(NULL, n);
    hostile = PyByteArray_FromStringAndSize(NULL, n);
    bad = PyByteArray_FromStringAndSize(NULL, n);
    codes = PyByteArray_FromStringAndSize(NULL, n * NF * 4);
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
        su[i] = (uint8_t)r->hostile;
        st[i] = r->start;
        en[i] = r->end;
        if (check_record(r) < 0 || parse_time(&r->v[R_TIME], &tm[i]) < 0 ||
            hash_id(&r->v[R_ID], &ih[i], ei + 16 * i) < 0)
            goto bail;
        no[i] = ih[i] == 0;
        mal[i] = (uint8_t)malformed(r);
        for (int k = 0; k < NV; k++)
            if (r->v[k].len > longest)
                longest = r->v[k].len;
    }
    /* unescaped values, then the lower-cased readOnly (derive) after them */
    scratch = PyMem_Malloc(2 * (longest + 16));
    base = sizes_list(self);
    fresh = PyList_New(NF);
    if (!scratch || !base || !fresh) {
        if (!scratch)
            PyErr_NoMemory();
        goto done;
    }
    for (int f = 0; f < NF; f++) {
        PyObject *l = PyList_New(0);
        if (!l)
            goto done;
        PyList_SET_ITEM(fresh, f, l);
    }
    /* Phase 2: number the values. */
    int32_t *cd = (int32_t *)PyByteArray_AS_STRING(codes);
    for (size_t i = 0; i < n; i++) {
        Val vals[NF];
        derive(&rs.recs[i], vals, scratch + longest + 16);
        for (int f = 0; f < NF; f++) {
            const unsigned char *p = vals[f].p;
            size_t len = vals[f].len;
            if (vals[f].esc) { /* consumed by table_code before the next one */
                len = unescape(&vals[f], scratch);
                p = scratch;
            }
            int32_t code = table_code(&self->tables[f], p, len, self->seed,
                                      PyList_GET_ITEM(fresh, f));
            if (code < 0)
                goto done;
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

/* Skip a string starting at its opening quote (no validation: the text was decoded
 * once already when the file was loaded). */
static inline int pw_skip_string(Cur *c)
{
    const unsigned char *p = c->p + 1, *end = c->end;
    for (;;) {
#ifdef __SSE2__
        while (end - p >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)p);
            int bits = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                                      _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
            if (bits) {
                p += __builtin_ctz((unsigned)bits);
                break;
            }
            p += 16;
        }
#endif
        while (p < end && *p != '"' && *p != '\\')
            p++;
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
#ifdef __SSE2__
        while (end - p >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)p);
            int bits = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                                      _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
            if (bits) {
                p += __builtin_ctz((unsigned)bits);
                break;
            }
            p += 16;
        }
#endif
        while (p < end && *p != '"' && *p != '\\')
            p++;
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

typedef struct {
    uint64_t h;
    int32_t code; /* -1: empty */
} PEnt;

typedef struct {
    PyObject_HEAD
    PyThread_type_lock lock; /* guards the tables: scans insert without the GIL */
    PEnt *ents;
    size_t cap, count;
    unsigned char *arena;
    size_t alen, acap;
    uint64_t *offs; /* offs[code]: its key's start in the arena; offs[count] = alen */
    size_t ocap;
} PathTable;

static uint64_t ptable_hash(const unsigned char *p, size_t n, unsigned char kind)
{
    return hash_bytes(p, n, 0x51ED270B27A3C4F1ull ^ kind);
}

static int ptable_grow(PathTable *t)
{
    size_t ncap = t->cap ? t->cap * 2 : 1024;
    PEnt *n = PyMem_RawMalloc(ncap * sizeof(PEnt));
    if (!n)
        return -1;
    for (size_t i = 0; i < ncap; i++)
        n[i].code = -1;
    for (size_t i = 0; i < t->cap; i++) {
        if (t->ents[i].code < 0)
            continue;
        size_t j = t->ents[i].h & (ncap - 1);
        while (n[j].code >= 0)
            j = (j + 1) & (ncap - 1);
        n[j] = t->ents[i];
    }
    PyMem_RawFree(t->ents);
    t->ents = n;
    t->cap = ncap;
    return 0;
}

/* The code of (kind, p[0:n]); inserted when `add`, else -1 when absent. -2: no memory.
 * The caller holds the lock. */
static int32_t ptable_code(PathTable *t, unsigned char kind, const unsigned char *p, size_t n,
                           int add)
{
    if (!t->cap && (!add || ptable_grow(t) < 0))
        return add ? -2 : -1;
    uint64_t h = ptable_hash(p, n, kind);
    size_t mask = t->cap - 1, j = h & mask;
    for (;;) {
        PEnt *e = &t->ents[j];
        if (e->code < 0)
            break;
        if (e->h == h) {
            const unsigned char *k = t->arena + t->offs[e->code];
            size_t klen = t->offs[e->code + 1] - t->offs[e->code] - 1;
            if (klen == n + 1 && k[0] == kind && memcmp(k + 1, p, n) == 0)
                return e->code;
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
    t->ents[j].h = h;
    t->ents[j].code = code;
    if (t->count * 2 > t->cap && ptable_grow(t) < 0)
        return -2;
    return code;
}

static int PathTable_init(PathTable *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kw, "", kwlist))
        return -1;
    if (!self->lock) {
        self->lock = PyThread_allocate_lock();
        if (!self->lock) {
            PyErr_NoMemory();
            return -1;
        }
    }
    return 0;
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
    if (!PyThread_acquire_lock(t->lock, NOWAIT_LOCK)) {
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(t->lock, WAIT_LOCK);
        Py_END_ALLOW_THREADS
    }
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
    int32_t code = ptable_code(self, (unsigned char)p[0], (const unsigned char *)p + 1, n - 1, 1);
    PyThread_release_lock(self->lock);
    if (code < 0)
        return PyErr_NoMemory();
    return PyLong_FromLong(code);
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
    .tp_doc = "Per-field value numbering plus the native document scan.",
};

static struct PyModuleDef scan_module = {
    PyModuleDef_HEAD_INIT, "_scan", "Native scan of CloudTrail Records documents.", -1, module_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__scan(void)
{
    if (PyType_Ready(&EncoderType) < 0 || PyType_Ready(&PathTableType) < 0)
        return NULL;
#ifdef __SSE2__
    init_pop8();
#endif
    PyObject *m = PyModule_Create(&scan_module);
    if (!m)
        return NULL;
    if (PyModule_AddObjectRef(m, "Encoder", (PyObject *)&EncoderType) < 0 ||
        PyModule_AddObjectRef(m, "PathTable", (PyObject *)&PathTableType) < 0 ||
        PyModule_AddIntConstant(m, "NFIELDS", NF) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
