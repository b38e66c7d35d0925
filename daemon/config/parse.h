/* Value parsers of the configuration: numbers, modes, durations, booleans,
 * names, shell-like words and paths. Pure functions: no I/O, no logging.
 * Every int function returns 0 (or a value >= 0) on success, a negative errno
 * on failure; ret_* parameters are written only on success. */
#ifndef USD_PARSE_H
#define USD_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PARSE_NAME_MAX 255

/* Decimal digits only (no sign, no space), from min to max inclusive.
 * -EINVAL: not a number; -ERANGE: outside [min, max]. */
int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret);

/* Octal digits only, at most 07777. */
int parse_mode(const char *s, mode_t *ret);

/* One or more "NUMBER[UNIT]" with optional spaces ("1min 30s"), summed; NUMBER
 * may have a fraction ("1.5s", digits past microseconds are dropped); no unit
 * means seconds. Units: us usec ms msec s sec second(s) m min minute(s) h hr
 * hour(s) d day(s). -ERANGE: more than INT64_MAX microseconds. */
int parse_duration(const char *s, uint64_t *ret_usec);

/* "N/DURATION", N from 1 to UINT32_MAX, DURATION > 0; a DURATION that is a
 * bare unit means one of it ("500/s"). */
int parse_rate(const char *s, unsigned *ret_burst, uint64_t *ret_interval_usec);

/* A size in bytes: digits with an optional suffix K, M, G or T (powers of
 * 1024, as systemd's MemoryMax= and LimitAS=), or "infinity" (UINT64_MAX).
 * -ERANGE: UINT64_MAX bytes or more. */
int parse_size(const char *s, uint64_t *ret);

/* "MIN-MAX" with min_lo <= MIN <= MAX <= max_hi, or one number N (MIN = MAX
 * = N, from 1). 1: a range was given, 0: one number; -EINVAL, -ERANGE. */
int parse_range(const char *s, uint64_t min_lo, uint64_t max_hi, uint64_t *ret_min, uint64_t *ret_max);

/* yes no true false on off 1 0: 1 or 0, else -EINVAL. */
int parse_bool(const char *s);

/* [A-Za-z0-9_.-]{1,255}: a socket or worker name. */
bool parse_name_is_valid(const char *s);

/* [A-Za-z_][A-Za-z0-9_]*, n bytes: an environment variable name. */
bool parse_env_name_is_valid(const char *s, size_t n);

/* Shell-like splitting with no expansion: blanks separate words, 'single quotes'
 * are literal, "double quotes" take \" \\ \$ as escapes (any other backslash is
 * kept), a backslash outside quotes takes the next byte literally. Returns the
 * number of words, *ret a NULL-terminated vector (free with parse_strv_free).
 * -EINVAL with *ret_why set to a static explanation when the text is not valid. */
int parse_words(const char *s, char ***ret, const char **ret_why);

/* True if s has a '#' that starts a word outside quotes ("a # b"): in a value
 * it is a mistaken comment, since only ';' starts a comment after a value. */
bool parse_has_hash_comment(const char *s);

void parse_strv_free(char **v);

/* A clean path: rel joined to dir unless it is absolute, "//" and "/./"
 * collapsed, no trailing '/' ("/" stays "/"); ".." is kept, since it may cross
 * a symlink. malloc'd; NULL only when out of memory. */
char *parse_path_join(const char *dir, const char *rel);

/* The length of the UTF-8 character s starts with (1 to 4), or 0 if it starts
 * none: RFC 3629, so no overlong forms, no surrogates, nothing past U+10FFFF.
 * Stops at the NUL: it is no continuation byte. *ret_cp gets the code point. */
size_t parse_utf8_char(const unsigned char *s, uint32_t *ret_cp);

/* C0, DEL and C1 control characters. */
bool parse_is_control(uint32_t cp);

/* s into buf (size > 0) with every byte that is not valid UTF-8, and every
 * control character, as \xNN; cut between characters when it does not fit.
 * Returns how many bytes of s it took: strlen(s) unless it was cut. For what
 * reaches a terminal or the journal. */
size_t parse_escape(char *buf, size_t size, const char *s);

/* A value quoted for a message: valid UTF-8 as it is; every byte that is not
 * part of it, and every control character (C0, DEL, C1), escaped as \xNN, so
 * that nothing from a bad file reaches a terminal or the journal raw; long
 * ones cut, between characters. */
#define QUOTE_MAX 192
#define Q(s) parse_quote((char[QUOTE_MAX]){ 0 }, (s))
const char *parse_quote(char *buf, const char *s);

#endif
