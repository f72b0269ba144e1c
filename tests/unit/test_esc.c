/* test_esc.c - fe_esc: untrusted names shown safely (esc.h). */
#include "fe_test.h"

#include "esc.h"

static void expect(const char *in, size_t n, const char *want)
{
    fe_escbuf b;
    const char *got = fe_escn(&b, in, n);
    if (strcmp(got, want) != 0)
        fail_msg("escaped \"%s\", expected \"%s\"", got, want);
}
#define EXPECT(lit, want) expect(lit, sizeof lit - 1, want)

static void test_bytes(void **state)
{
    (void)state;
    EXPECT("", "");
    EXPECT("conv1.weight", "conv1.weight");
    EXPECT("a\nb\rc\td\\e", "a\\nb\\rc\\td\\\\e");
    EXPECT("\x1b[31m\x07\x7f\x01", "\\x1B[31m\\x07\\x7F\\x01");
    EXPECT("a\0b", "a\\x00b");                       /* a NUL inside the name */
    EXPECT("caf\xc3\xa9 \xf0\x9f\x98\x80", "caf\xc3\xa9 \xf0\x9f\x98\x80");   /* UTF-8 kept */
    EXPECT("\xff\xc3", "\\xFF\\xC3");                /* not UTF-8; cut sequence */
    EXPECT("\xc0\x80", "\\xC0\\x80");                /* overlong NUL */
    EXPECT("\xed\xa0\x80", "\\xED\\xA0\\x80");       /* a surrogate */
    EXPECT("\xf4\x90\x80\x80", "\\xF4\\x90\\x80\\x80");   /* past U+10FFFF */
    EXPECT("\xc2\x9b", "\\xC2\\x9B");                /* C1 CSI */
    EXPECT("\xe2\x80\xae", "\\xE2\\x80\\xAE");       /* right-to-left override */
    fe_escbuf b;
    assert_string_equal(fe_esc(&b, "x\ny"), "x\\ny");
}

static void test_cut(void **state)
{
    (void)state;
    char in[600], want[600];
    memset(in, 'a', 255);                            /* exactly 255: no marker */
    in[255] = '\0';
    expect(in, 255, in);
    memset(in, 'a', 300);                            /* 300: 255 and the marker */
    memset(want, 'a', 255);
    strcpy(want + 255, "\\...");
    expect(in, 300, want);
    memset(in, 'a', 254);                            /* never inside an escape */
    in[254] = '\n';
    memset(want, 'a', 254);
    strcpy(want + 254, "\\...");
    expect(in, 255, want);
    memset(in, 'a', 253);                            /* nor inside a UTF-8 character */
    memcpy(in + 253, "\xc3\xa9\xc3\xa9", 4);
    memset(want, 'a', 253);
    strcpy(want + 253, "\xc3\xa9\\...");
    expect(in, 257, want);
    for (int i = 0; i < 600; i++)                    /* the worst case fits the buffer */
        in[i] = 1;
    fe_escbuf b;
    assert_true(strlen(fe_escn(&b, in, 600)) <= FE_ESC_SHOW + 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes),
        cmocka_unit_test(test_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
