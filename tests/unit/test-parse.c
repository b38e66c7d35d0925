/* The value parsers (config/parse.c), pure functions: each at its edges. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/parse.h"

#define SEC UINT64_C(1000000)

Test(parse, uint_takes_digits_only_within_bounds)
{
        uint64_t v = 7;

        cr_assert_eq(parse_uint("0", 0, 10, &v), 0);
        cr_assert_eq(v, 0);
        cr_assert_eq(parse_uint("0010", 0, 10, &v), 0, "leading zeros are decimal");
        cr_assert_eq(v, 10);
        cr_assert_eq(parse_uint("18446744073709551615", 0, UINT64_MAX, &v), 0);
        cr_assert_eq(v, UINT64_MAX);
        v = 7;
        cr_assert_eq(parse_uint("18446744073709551616", 0, UINT64_MAX, &v), -ERANGE);
        cr_assert_eq(parse_uint("11", 0, 10, &v), -ERANGE);
        cr_assert_eq(parse_uint("0", 1, 10, &v), -ERANGE);
        cr_assert_eq(v, 7, "nothing written on failure");
        const char *bad[] = { "", "-1", "+1", " 1", "1 ", "1x", "0x10", "1e3", "１" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                cr_assert_eq(parse_uint(bad[i], 0, 100, &v), -EINVAL, "'%s'", bad[i]);
        cr_assert_eq(parse_uint("99999999999999999999x", 0, UINT64_MAX, &v), -EINVAL,
                     "garbage after an overflow is garbage");
}

Test(parse, mode_is_octal_up_to_07777)
{
        mode_t m = 1;

        cr_assert_eq(parse_mode("0", &m), 0);
        cr_assert_eq(m, 0);
        cr_assert_eq(parse_mode("660", &m), 0);
        cr_assert_eq(m, 0660);
        cr_assert_eq(parse_mode("07777", &m), 0);
        cr_assert_eq(m, 07777);
        cr_assert_eq(parse_mode("000000644", &m), 0);
        cr_assert_eq(m, 0644);
        cr_assert_eq(parse_mode("10000", &m), -ERANGE);
        cr_assert_eq(parse_mode("", &m), -EINVAL);
        cr_assert_eq(parse_mode("8", &m), -EINVAL);
        cr_assert_eq(parse_mode("0o644", &m), -EINVAL);
        cr_assert_eq(parse_mode("u+rw", &m), -EINVAL);
        cr_assert_eq(m, 0644);
}

Test(parse, duration_units_fractions_and_sums)
{
        static const struct {
                const char *s;
                uint64_t usec;
        } ok[] = {
                { "0", 0 }, { "5", 5 * SEC }, { "10us", 10 }, { "10usec", 10 }, { "250ms", 250000 },
                { "3msec", 3000 }, { "2s", 2 * SEC }, { "2 sec", 2 * SEC }, { "1second", SEC },
                { "2seconds", 2 * SEC }, { "1m", 60 * SEC }, { "1min", 60 * SEC }, { "2minutes", 120 * SEC },
                { "1h", 3600 * SEC }, { "1hr", 3600 * SEC }, { "1day", 86400 * SEC }, { "2d", 172800 * SEC },
                { "1min 30s", 90 * SEC }, { "1min30s", 90 * SEC }, { "  1s  ", SEC }, { "1.5s", 1500000 },
                { "0.0000019s", 1 }, { "1.25ms", 1250 }, { "1s 1s 1s", 3 * SEC },
        };
        uint64_t u;

        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                cr_assert_eq(parse_duration(ok[i].s, &u), 0, "'%s'", ok[i].s);
                cr_assert_eq(u, ok[i].usec, "'%s': %llu", ok[i].s, (unsigned long long)u);
        }
}

Test(parse, duration_refuses_garbage_and_overflow)
{
        const char *bad[] = { "", "  ", "s", "1x", "1 s x", "1.s", ".5s", "-1s", "1s,", "1sec2", "1 2", "1ss" };
        uint64_t u = 42;

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                if (strcmp(bad[i], "1sec2") != 0 && strcmp(bad[i], "1 2") != 0)
                        cr_assert_eq(parse_duration(bad[i], &u), -EINVAL, "'%s'", bad[i]);
        /* A glued number after a unit starts the next component (seconds). */
        cr_assert_eq(parse_duration("1sec2", &u), 0);
        cr_assert_eq(u, 3 * SEC);
        cr_assert_eq(parse_duration("1 2", &u), 0);
        cr_assert_eq(u, 3 * SEC);
        cr_assert_eq(parse_duration("9223372036854775807us", &u), 0);
        cr_assert_eq(u, (uint64_t)INT64_MAX);
        cr_assert_eq(parse_duration("106751991days", &u), 0);
        cr_assert_eq(u, UINT64_C(106751991) * 86400 * SEC);
        u = 42;
        cr_assert_eq(parse_duration("9223372036854775808us", &u), -ERANGE);
        cr_assert_eq(parse_duration("9223372036854775807us 1us", &u), -ERANGE);
        cr_assert_eq(parse_duration("106751992days", &u), -ERANGE);
        cr_assert_eq(parse_duration("99999999999999999999999s", &u), -ERANGE);
        cr_assert_eq(u, 42, "nothing written on failure");
}

Test(parse, rate_is_count_per_duration)
{
        unsigned b = 0;
        uint64_t i = 0;

        cr_assert_eq(parse_rate("500/1s", &b, &i), 0);
        cr_assert_eq(b, 500);
        cr_assert_eq(i, SEC);
        cr_assert_eq(parse_rate("10 / 250ms", &b, &i), 0);
        cr_assert_eq(b, 10);
        cr_assert_eq(i, 250000);
        cr_assert_eq(parse_rate("1/min", &b, &i), 0, "a bare unit is one of it");
        cr_assert_eq(i, 60 * SEC);
        cr_assert_eq(parse_rate("4294967295/1s", &b, &i), 0);
        cr_assert_eq(b, UINT32_MAX);
        cr_assert_eq(parse_rate("4294967296/1s", &b, &i), -ERANGE);
        cr_assert_eq(parse_rate("0/1s", &b, &i), -ERANGE);
        cr_assert_eq(parse_rate("5/0s", &b, &i), -ERANGE);
        cr_assert_eq(parse_rate("5", &b, &i), -EINVAL);
        cr_assert_eq(parse_rate("/1s", &b, &i), -EINVAL);
        cr_assert_eq(parse_rate("5/", &b, &i), -EINVAL);
        cr_assert_eq(parse_rate("5/x", &b, &i), -EINVAL);
        cr_assert_eq(parse_rate("a/1s", &b, &i), -EINVAL);
        cr_assert_eq(b, UINT32_MAX);
}

Test(parse, bool_takes_every_spelling_and_nothing_else)
{
        const char *yes[] = { "yes", "true", "on", "1" }, *no[] = { "no", "false", "off", "0" };
        const char *bad[] = { "", "Yes", "TRUE", "y", "n", "2", " yes", "enable" };

        for (size_t i = 0; i < 4; i++) {
                cr_assert_eq(parse_bool(yes[i]), 1, "%s", yes[i]);
                cr_assert_eq(parse_bool(no[i]), 0, "%s", no[i]);
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                cr_assert_eq(parse_bool(bad[i]), -EINVAL, "'%s'", bad[i]);
}

Test(parse, section_names_are_1_to_255_of_a_small_charset)
{
        char n[300];

        cr_assert(parse_name_is_valid("echo"));
        cr_assert(parse_name_is_valid("a.b-c_D9"));
        cr_assert(parse_name_is_valid("-"));
        cr_assert_not(parse_name_is_valid(""));
        cr_assert_not(parse_name_is_valid("a b"));
        cr_assert_not(parse_name_is_valid("a/b"));
        cr_assert_not(parse_name_is_valid("a:b"));
        cr_assert_not(parse_name_is_valid("é"));
        memset(n, 'x', 255);
        n[255] = '\0';
        cr_assert(parse_name_is_valid(n));
        n[255] = 'x';
        n[256] = '\0';
        cr_assert_not(parse_name_is_valid(n));
}

Test(parse, env_names_read_only_n_bytes)
{
        cr_assert(parse_env_name_is_valid("A", 1));
        cr_assert(parse_env_name_is_valid("_", 1));
        cr_assert(parse_env_name_is_valid("a_B9", 4));
        cr_assert(parse_env_name_is_valid("PATH=/bin", 4), "the '=' is past n");
        cr_assert_not(parse_env_name_is_valid("PATH=/bin", 5));
        cr_assert_not(parse_env_name_is_valid("", 0));
        cr_assert_not(parse_env_name_is_valid("9A", 2));
        cr_assert_not(parse_env_name_is_valid("A-B", 3));
        cr_assert_not(parse_env_name_is_valid("A.B", 3));
}

static char **words(const char *s, int n)
{
        char **v = NULL;
        const char *why = NULL;

        cr_assert_eq(parse_words(s, &v, &why), n, "'%s': %s", s, why ? why : "");
        cr_assert_null(v[n]);
        return v;
}

Test(parse, words_follow_shell_quoting_without_expansion)
{
        char **v;

        v = words("", 0);
        parse_strv_free(v);
        v = words("  \t ", 0);
        parse_strv_free(v);
        v = words("a  b\tc", 3);
        cr_assert_str_eq(v[2], "c");
        parse_strv_free(v);
        v = words("'a b' \"c d\" e\\ f", 3);
        cr_assert_str_eq(v[0], "a b");
        cr_assert_str_eq(v[1], "c d");
        cr_assert_str_eq(v[2], "e f");
        parse_strv_free(v);
        v = words("'$HOME \\n' \"\\\"\\\\\\$\\n\"", 2);
        cr_assert_str_eq(v[0], "$HOME \\n", "single quotes are literal");
        cr_assert_str_eq(v[1], "\"\\$\\n", "\\\" \\\\ \\$ are escapes in double quotes, \\n is kept");
        parse_strv_free(v);
        v = words("a'b'\"c\"d ''", 2);
        cr_assert_str_eq(v[0], "abcd", "quotes glue to a word");
        cr_assert_str_eq(v[1], "", "an empty quoted word is a word");
        parse_strv_free(v);
}

Test(parse, words_explain_bad_quoting)
{
        char **v = NULL;
        const char *why = NULL;

        cr_assert_eq(parse_words("a 'b", &v, &why), -EINVAL);
        cr_assert_str_eq(why, "unterminated single quote");
        cr_assert_eq(parse_words("\"b\\\"", &v, &why), -EINVAL);
        cr_assert_str_eq(why, "unterminated double quote");
        cr_assert_eq(parse_words("a\\", &v, &why), -EINVAL);
        cr_assert_str_eq(why, "backslash at the end");
        cr_assert_null(v, "nothing written on failure");
}

Test(parse, hash_starts_a_mistaken_comment_only_at_a_word_start_outside_quotes)
{
        cr_assert(parse_has_hash_comment("a # b"));
        cr_assert(parse_has_hash_comment("#a"));
        cr_assert(parse_has_hash_comment("a\t#b"));
        cr_assert_not(parse_has_hash_comment("a#b"));
        cr_assert_not(parse_has_hash_comment("'a # b'"));
        cr_assert_not(parse_has_hash_comment("\"a # b\""));
        cr_assert_not(parse_has_hash_comment("a \\#b"));
        cr_assert_not(parse_has_hash_comment("\"a\\\" #\""));
        cr_assert(parse_has_hash_comment("'x' #"));
}

Test(parse, utf8_takes_rfc_3629_only)
{
        uint32_t cp = 0;

        cr_assert_eq(parse_utf8_char((const unsigned char *)"A", &cp), 1);
        cr_assert_eq(cp, 'A');
        cr_assert_eq(parse_utf8_char((const unsigned char *)"\xc3\xa9", &cp), 2);
        cr_assert_eq(cp, 0xe9);
        cr_assert_eq(parse_utf8_char((const unsigned char *)"\xe2\x82\xac", &cp), 3);
        cr_assert_eq(cp, 0x20ac);
        cr_assert_eq(parse_utf8_char((const unsigned char *)"\xf4\x8f\xbf\xbf", &cp), 4);
        cr_assert_eq(cp, 0x10ffff);
        cp = 1;
        cr_assert_eq(parse_utf8_char((const unsigned char *)"", &cp), 1, "NUL is a character");
        cr_assert_eq(cp, 0);
        const char *bad[] = {
                "\x80", "\xbf",                 /* continuation bytes */
                "\xc0\x80", "\xc1\xbf",         /* overlong 2-byte */
                "\xe0\x80\x80",                 /* overlong 3-byte */
                "\xf0\x80\x80\x80",             /* overlong 4-byte */
                "\xed\xa0\x80", "\xed\xbf\xbf", /* surrogates */
                "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", /* past U+10FFFF */
                "\xc3", "\xe2\x82", ("\xc3" "A"),  /* cut short */
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                cr_assert_eq(parse_utf8_char((const unsigned char *)bad[i], &cp), 0, "bad[%zu]", i);
}

Test(parse, control_characters_are_c0_del_and_c1)
{
        cr_assert(parse_is_control(0));
        cr_assert(parse_is_control(0x1f));
        cr_assert(parse_is_control(0x7f));
        cr_assert(parse_is_control(0x80));
        cr_assert(parse_is_control(0x9f));
        cr_assert_not(parse_is_control(' '));
        cr_assert_not(parse_is_control('~'));
        cr_assert_not(parse_is_control(0xa0));
        cr_assert_not(parse_is_control(0x20ac));
}

/* It returns how much of s it took: all of it, unless it was cut. */
Test(parse, escape_keeps_utf8_and_escapes_the_rest)
{
        char buf[64];

        cr_assert_eq(parse_escape(buf, sizeof(buf), "caf\xc3\xa9"), 5);
        cr_assert_str_eq(buf, "caf\xc3\xa9");
        cr_assert_eq(parse_escape(buf, sizeof(buf), "a\x1b[31m\xff\n\xc2\x85"), 10, "all of s taken");
        cr_assert_str_eq(buf, "a\\x1b[31m\\xff\\x0a\\xc2\\x85", "ESC, a bad byte, LF and C1 NEL escaped");
        /* Cut between characters: neither half an escape nor half a character. */
        cr_assert_eq(parse_escape(buf, 6, "ab\xff"), 2);
        cr_assert_str_eq(buf, "ab");
        cr_assert_eq(parse_escape(buf, 5, "abc\xe2\x82\xac"), 3);
        cr_assert_str_eq(buf, "abc");
        cr_assert_eq(parse_escape(buf, 1, "abc"), 0);
        cr_assert_str_eq(buf, "");
}

Test(parse, path_join_cleans_without_resolving)
{
        static const struct {
                const char *dir, *rel, *want;
        } c[] = {
                { "/run/x", "a.sock", "/run/x/a.sock" },
                { "/run/x/", "./a.sock", "/run/x/a.sock" },
                { "/run//x", "sub//./a", "/run/x/sub/a" },
                { "/run/x", "/abs/../y/", "/abs/../y" },
                { "/run/x", "../a", "/run/x/../a" },
                { "", "/", "/" },
                { "", "//./", "/" },
                { "/", ".", "/" },
        };

        for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
                char *p = parse_path_join(c[i].dir, c[i].rel);

                cr_assert_not_null(p);
                cr_assert_str_eq(p, c[i].want, "'%s' + '%s'", c[i].dir, c[i].rel);
                free(p);
        }
}

Test(parse, size_takes_binary_suffixes_and_infinity)
{
        uint64_t v;

        cr_assert_eq(parse_size("0", &v), 0);
        cr_assert_eq(v, 0);
        cr_assert_eq(parse_size("4096", &v), 0);
        cr_assert_eq(v, 4096);
        cr_assert_eq(parse_size("512K", &v), 0);
        cr_assert_eq(v, 512ULL << 10);
        cr_assert_eq(parse_size("512M", &v), 0);
        cr_assert_eq(v, 512ULL << 20);
        cr_assert_eq(parse_size("3G", &v), 0);
        cr_assert_eq(v, 3ULL << 30);
        cr_assert_eq(parse_size("2T", &v), 0);
        cr_assert_eq(v, 2ULL << 40);
        cr_assert_eq(parse_size("infinity", &v), 0);
        cr_assert_eq(v, UINT64_MAX);
        cr_assert_eq(parse_size("16777216T", &v), -ERANGE, "2^64 bytes");
        cr_assert_eq(parse_size("18446744073709551615", &v), -ERANGE, "UINT64_MAX is infinity's");
        cr_assert_eq(parse_size("99999999999999999999999", &v), -ERANGE);
        cr_assert_eq(parse_size("", &v), -EINVAL);
        cr_assert_eq(parse_size("M", &v), -EINVAL);
        cr_assert_eq(parse_size("1.5G", &v), -EINVAL);
        cr_assert_eq(parse_size("1KB", &v), -EINVAL);
        cr_assert_eq(parse_size("1 K", &v), -EINVAL);
        cr_assert_eq(parse_size("1k", &v), -EINVAL, "as systemd: the suffixes are upper case");
        cr_assert_eq(parse_size("-1", &v), -EINVAL);
}

Test(parse, range_is_min_dash_max_or_one_number)
{
        uint64_t lo, hi;

        cr_assert_eq(parse_range("4", 0, 100, &lo, &hi), 0);
        cr_assert(lo == 4 && hi == 4);
        cr_assert_eq(parse_range("0-8", 0, 100, &lo, &hi), 1);
        cr_assert(lo == 0 && hi == 8);
        cr_assert_eq(parse_range("3-3", 0, 100, &lo, &hi), 1);
        cr_assert(lo == 3 && hi == 3);
        cr_assert_eq(parse_range("0", 0, 100, &lo, &hi), -ERANGE, "one number is at least 1");
        cr_assert_eq(parse_range("0-0", 0, 100, &lo, &hi), -ERANGE, "MAX is at least 1");
        cr_assert_eq(parse_range("5-4", 0, 100, &lo, &hi), -ERANGE);
        cr_assert_eq(parse_range("1-101", 0, 100, &lo, &hi), -ERANGE);
        cr_assert_eq(parse_range("101", 0, 100, &lo, &hi), -ERANGE);
        cr_assert_eq(parse_range("1-", 0, 100, &lo, &hi), -EINVAL);
        cr_assert_eq(parse_range("-4", 0, 100, &lo, &hi), -EINVAL);
        cr_assert_eq(parse_range("1-2-3", 0, 100, &lo, &hi), -EINVAL);
        cr_assert_eq(parse_range("1 - 2", 0, 100, &lo, &hi), -EINVAL);
        cr_assert_eq(parse_range("a-b", 0, 100, &lo, &hi), -EINVAL);
}
