/* Value parsers of the configuration: numbers, modes, durations, rates,
 * booleans, names, shell-like words and paths. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

#define USEC_PER_SEC UINT64_C(1000000)

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

static bool is_blank(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_alpha(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Leading decimal digits of *p (at least one), advancing *p; -ERANGE past UINT64_MAX. */
static int digits(const char **p, uint64_t *ret)
{
        const char *s = *p;
        uint64_t v = 0;
        bool overflow = false;

        if (!is_digit(*s))
                return -EINVAL;
        for (; is_digit(*s); s++) {
                unsigned d = (unsigned)(*s - '0');

                if (v > (UINT64_MAX - d) / 10)
                        overflow = true;
                else
                        v = v * 10 + d;
        }
        *p = s;
        if (overflow)
                return -ERANGE;
        *ret = v;
        return 0;
}

int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
        uint64_t v;
        int r;

        r = digits(&s, &v);
        if (r == -ERANGE && *s == '\0')
                return -ERANGE;
        if (r < 0 || *s != '\0')
                return -EINVAL;
        if (v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

int parse_size(const char *s, uint64_t *ret)
{
        static const char suffixes[] = "KMGT";
        uint64_t v;
        int r;

        if (strcmp(s, "infinity") == 0) {
                *ret = UINT64_MAX;
                return 0;
        }
        r = digits(&s, &v);
        if (r == -EINVAL)
                return r;
        if (*s) {
                const char *u = strchr(suffixes, *s);
                if (!u || s[1] != '\0')
                        return -EINVAL;
                for (long i = 0; i <= u - suffixes && r == 0; i++) {
                        if (v > (UINT64_MAX - 1) / 1024)
                                return -ERANGE;
                        v *= 1024;
                }
        }
        if (r < 0 || v == UINT64_MAX)
                return -ERANGE;
        *ret = v;
        return 0;
}

int parse_range(const char *s, uint64_t min_lo, uint64_t max_hi, uint64_t *ret_min, uint64_t *ret_max)
{
        const char *dash = strchr(s, '-');
        char lo[32];
        uint64_t a, b;
        int r;

        if (!dash) {
                r = parse_uint(s, 1, max_hi, &a);
                if (r < 0)
                        return r;
                *ret_min = *ret_max = a;
                return 0;
        }
        if ((size_t)(dash - s) >= sizeof(lo))
                return -EINVAL;
        memcpy(lo, s, (size_t)(dash - s));
        lo[dash - s] = '\0';
        r = parse_uint(lo, 0, UINT64_MAX, &a);
        if (r == 0)
                r = parse_uint(dash + 1, 0, UINT64_MAX, &b);
        if (r == -EINVAL)
                return r;
        if (r < 0 || a < min_lo || b > max_hi || b < 1 || a > b)
                return -ERANGE;
        *ret_min = a;
        *ret_max = b;
        return 1;
}

int parse_mode(const char *s, mode_t *ret)
{
        unsigned v = 0;

        if (!*s)
                return -EINVAL;
        for (; *s; s++) {
                if (*s < '0' || *s > '7')
                        return -EINVAL;
                v = v * 8 + (unsigned)(*s - '0');
                if (v > 07777)
                        return -ERANGE;
        }
        *ret = (mode_t)v;
        return 0;
}

static const struct {
        const char *name;
        uint64_t usec;
} units[] = {
        { "us", 1 }, { "usec", 1 },
        { "ms", 1000 }, { "msec", 1000 },
        { "s", USEC_PER_SEC }, { "sec", USEC_PER_SEC },
        { "second", USEC_PER_SEC }, { "seconds", USEC_PER_SEC },
        { "m", 60 * USEC_PER_SEC }, { "min", 60 * USEC_PER_SEC },
        { "minute", 60 * USEC_PER_SEC }, { "minutes", 60 * USEC_PER_SEC },
        { "h", 3600 * USEC_PER_SEC }, { "hr", 3600 * USEC_PER_SEC },
        { "hour", 3600 * USEC_PER_SEC }, { "hours", 3600 * USEC_PER_SEC },
        { "d", 86400 * USEC_PER_SEC }, { "day", 86400 * USEC_PER_SEC },
        { "days", 86400 * USEC_PER_SEC },
};

static int unit_usec(const char *u, size_t n, uint64_t *ret)
{
        if (n == 0) {
                *ret = USEC_PER_SEC;
                return 0;
        }
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
                if (strlen(units[i].name) == n && memcmp(units[i].name, u, n) == 0) {
                        *ret = units[i].usec;
                        return 0;
                }
        return -EINVAL;
}

int parse_duration(const char *s, uint64_t *ret_usec)
{
        uint64_t total = 0;
        bool any = false;
        int r;

        for (;;) {
                uint64_t whole, mult, frac = 0, den = 1, v;
                const char *u;

                while (is_blank(*s))
                        s++;
                if (!*s)
                        break;
                r = digits(&s, &whole);
                if (r == -EINVAL)
                        return -EINVAL;
                if (*s == '.') {
                        s++;
                        if (!is_digit(*s))
                                return -EINVAL;
                        /* Microseconds are the resolution: six digits cover every unit. */
                        for (; is_digit(*s); s++)
                                if (den < USEC_PER_SEC) {
                                        frac = frac * 10 + (uint64_t)(*s - '0');
                                        den *= 10;
                                }
                }
                while (is_blank(*s))
                        s++;
                for (u = s; is_alpha(*s); s++)
                        ;
                if (unit_usec(u, (size_t)(s - u), &mult) < 0)
                        return -EINVAL;
                /* A glued number after a unit is the next component; a glued
                 * other byte is not a duration. */
                if (*s && !is_blank(*s) && !is_digit(*s))
                        return -EINVAL;
                if (r == -ERANGE || whole > (uint64_t)INT64_MAX / mult)
                        return -ERANGE;
                /* frac < den <= 10^6 and mult <= 86400 * 10^6: no overflow. */
                v = whole * mult + frac * mult / den;
                if (v > (uint64_t)INT64_MAX - total)
                        return -ERANGE;
                total += v;
                any = true;
        }
        if (!any)
                return -EINVAL;
        *ret_usec = total;
        return 0;
}

int parse_rate(const char *s, unsigned *ret_burst, uint64_t *ret_interval_usec)
{
        const char *slash = strchr(s, '/');
        char num[32], dur[64];
        size_t n;
        uint64_t burst, usec;
        int r;

        if (!slash)
                return -EINVAL;
        n = (size_t)(slash - s);
        while (n > 0 && is_blank(s[n - 1]))
                n--;
        if (n == 0 || n >= sizeof(num))
                return -EINVAL;
        memcpy(num, s, n);
        num[n] = '\0';
        r = parse_uint(num, 1, UINT32_MAX, &burst);
        if (r < 0)
                return r;

        s = slash + 1;
        while (is_blank(*s))
                s++;
        if (strlen(s) + 2 > sizeof(dur))
                return -EINVAL;
        /* "500/s": a bare unit is one of it. */
        snprintf(dur, sizeof(dur), "%s%s", is_alpha(*s) ? "1" : "", s);
        r = parse_duration(dur, &usec);
        if (r < 0)
                return r;
        if (usec == 0)
                return -ERANGE;
        *ret_burst = (unsigned)burst;
        *ret_interval_usec = usec;
        return 0;
}

int parse_bool(const char *s)
{
        static const char *const yes[] = { "yes", "true", "on", "1" };
        static const char *const no[] = { "no", "false", "off", "0" };

        for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
                if (strcmp(s, yes[i]) == 0)
                        return 1;
                if (strcmp(s, no[i]) == 0)
                        return 0;
        }
        return -EINVAL;
}

bool parse_name_is_valid(const char *s)
{
        size_t n = 0;

        for (; s[n]; n++)
                if (!is_alpha(s[n]) && !is_digit(s[n]) && !strchr("_.-", s[n]))
                        return false;
        return n >= 1 && n <= PARSE_NAME_MAX;
}

bool parse_env_name_is_valid(const char *s, size_t n)
{
        if (n == 0 || is_digit(s[0]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '_')
                        return false;
        return true;
}

void parse_strv_free(char **v)
{
        if (!v)
                return;
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
}

int parse_words(const char *s, char ***ret, const char **ret_why)
{
        size_t len = strlen(s), n = 0, cap = 4;
        char **v = calloc(cap, sizeof(*v));
        char *w = NULL;
        const char *why = NULL;

        if (!v)
                return -ENOMEM;
        for (;;) {
                size_t wl = 0;

                while (is_blank(*s))
                        s++;
                if (!*s)
                        break;
                /* A word is never longer than the rest of the text. */
                w = malloc(len + 1);
                if (!w)
                        goto nomem;
                while (*s && !is_blank(*s)) {
                        if (*s == '\'') {
                                for (s++; *s && *s != '\''; s++)
                                        w[wl++] = *s;
                                if (!*s) {
                                        why = "unterminated single quote";
                                        goto invalid;
                                }
                                s++;
                        } else if (*s == '"') {
                                for (s++; *s && *s != '"'; s++) {
                                        if (*s == '\\' && s[1] && strchr("\"\\$", s[1]))
                                                s++;
                                        w[wl++] = *s;
                                }
                                if (!*s) {
                                        why = "unterminated double quote";
                                        goto invalid;
                                }
                                s++;
                        } else if (*s == '\\') {
                                if (!s[1]) {
                                        why = "backslash at the end";
                                        goto invalid;
                                }
                                w[wl++] = s[1];
                                s += 2;
                        } else
                                w[wl++] = *s++;
                }
                w[wl] = '\0';
                if (n + 2 > cap) {
                        char **nv = reallocarray(v, cap * 2, sizeof(*v));

                        if (!nv)
                                goto nomem;
                        v = nv;
                        cap *= 2;
                }
                v[n++] = w;
                v[n] = NULL;
                w = NULL;
        }
        *ret = v;
        return (int)n;
invalid:
        free(w);
        parse_strv_free(v);
        *ret_why = why;
        return -EINVAL;
nomem:
        free(w);
        parse_strv_free(v);
        return -ENOMEM;
}

bool parse_has_hash_comment(const char *s)
{
        bool start = true;
        char q = 0;

        for (; *s; s++) {
                if (q) {
                        if (*s == q)
                                q = 0;
                        else if (q == '"' && *s == '\\' && s[1])
                                s++;
                        continue;
                }
                if (*s == '#' && start)
                        return true;
                start = is_blank(*s);
                if (*s == '\'' || *s == '"')
                        q = *s;
                else if (*s == '\\' && s[1])
                        s++;
        }
        return false;
}

size_t parse_utf8_char(const unsigned char *s, uint32_t *ret_cp)
{
        uint32_t cp;
        size_t n;

        if (s[0] < 0x80)
                n = 1, cp = s[0];
        else if (s[0] < 0xc2)
                return 0;       /* a continuation byte, or an overlong 2-byte lead */
        else if (s[0] < 0xe0)
                n = 2, cp = s[0] & 0x1f;
        else if (s[0] < 0xf0)
                n = 3, cp = s[0] & 0x0f;
        else if (s[0] < 0xf5)
                n = 4, cp = s[0] & 0x07;
        else
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = cp << 6 | (s[i] & 0x3f);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || (cp >= 0xd800 && cp <= 0xdfff) ||
            cp > 0x10ffff)
                return 0;
        *ret_cp = cp;
        return n;
}

bool parse_is_control(uint32_t cp)
{
        return cp < 0x20 || (cp >= 0x7f && cp < 0xa0);
}

size_t parse_escape(char *buf, size_t size, const char *s)
{
        const unsigned char *u = (const unsigned char *)s;
        size_t o = 0;

        if (!size)
                return 0;
        while (*u) {
                uint32_t cp = 0;
                size_t n = parse_utf8_char(u, &cp);
                bool escape = n == 0 || parse_is_control(cp);

                if (n == 0)
                        n = 1;  /* the bad byte alone: the next one may start a character */
                if (o + (escape ? 4 * n : n) >= size)
                        break;
                for (size_t i = 0; i < n; i++, u++)
                        if (escape)
                                o += (size_t)snprintf(buf + o, size - o, "\\x%02x", *u);
                        else
                                buf[o++] = (char)*u;
        }
        buf[o] = '\0';
        return (size_t)((const char *)u - s);
}

char *parse_path_join(const char *dir, const char *rel)
{
        size_t n = (rel[0] == '/' ? 0 : strlen(dir) + 1) + strlen(rel) + 1;
        char *in = malloc(n), *out = malloc(n + 1), *o = out;
        const char *s;

        if (!in || !out) {
                free(in);
                free(out);
                return NULL;
        }
        if (rel[0] == '/')
                strcpy(in, rel);
        else
                snprintf(in, n, "%s/%s", dir, rel);
        for (s = in; *s;) {
                const char *e;

                while (*s == '/')
                        s++;
                e = strchrnul(s, '/');
                if (e == s || (e - s == 1 && *s == '.')) {
                        s = e;
                        continue;
                }
                *o++ = '/';
                memcpy(o, s, (size_t)(e - s));
                o += e - s;
                s = e;
        }
        if (o == out)
                *o++ = '/';
        *o = '\0';
        free(in);
        return out;
}

const char *parse_quote(char *buf, const char *s)
{
        if (s[parse_escape(buf, QUOTE_MAX - 7, s)]) /* room for "..." */
                strcat(buf, "...");
        return buf;
}
