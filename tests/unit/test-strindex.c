/* strindex: names to indexes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "strindex.h"

Test(strindex, an_empty_index_finds_nothing)
{
        struct strindex x = { 0 };
        size_t v = 7;

        cr_assert_not(strindex_get(&x, "a", &v));
        cr_assert_not(strindex_get(&x, NULL, &v));
        cr_assert_eq(v, 7);
        strindex_free(&x);
        strindex_free(&x);
}

Test(strindex, every_key_finds_its_value_across_growth)
{
        enum { N = 5000 };
        struct strindex x = { 0 };
        static char keys[N][16];
        size_t v;

        for (size_t i = 0; i < N; i++) {
                snprintf(keys[i], sizeof(keys[i]), "s%zu", i);
                cr_assert_eq(strindex_put(&x, keys[i], i, NULL), 1);
        }
        cr_assert_eq(x.n, N);
        for (size_t i = 0; i < N; i++) {
                char probe[16];
                snprintf(probe, sizeof(probe), "s%zu", i); /* another pointer, the same text */
                cr_assert(strindex_get(&x, probe, &v), "%s", probe);
                cr_assert_eq(v, i);
        }
        cr_assert_not(strindex_get(&x, "s5000", &v));
        cr_assert_not(strindex_get(&x, "", &v));
        strindex_free(&x);
}

Test(strindex, a_duplicate_keeps_the_first_value_and_says_which)
{
        struct strindex x = { 0 };
        size_t v = 0;

        cr_assert_eq(strindex_put(&x, "echo", 3, &v), 1);
        cr_assert_eq(strindex_put(&x, "echo", 9, &v), 0);
        cr_assert_eq(v, 3);
        cr_assert(strindex_get(&x, "echo", &v));
        cr_assert_eq(v, 3);
        cr_assert_eq(x.n, 1);
        strindex_free(&x);
}

Test(strindex, a_null_key_is_neither_added_nor_a_duplicate)
{
        struct strindex x = { 0 };
        size_t v = 5;

        cr_assert_eq(strindex_put(&x, NULL, 1, &v), 1);
        cr_assert_eq(v, 5);
        cr_assert_eq(x.n, 0);
        cr_assert_eq(strindex_put(&x, "", 2, NULL), 1, "the empty string is a key like any other");
        cr_assert(strindex_get(&x, "", &v));
        cr_assert_eq(v, 2);
        strindex_free(&x);
}
