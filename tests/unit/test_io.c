/* test_io.c - atomic output (temp + rename) and whole-input reading. */
#include "fe_test.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "io.h"

static void read_str(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

static void test_commit(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/out.bin", dir);
    fe_out o;
    fe_err err;
    assert_int_equal(fe_out_open(&o, path, 0, &err), 0);
    assert_non_null(o.tmp);
    /* temp file: same directory, hidden, named after the target */
    assert_true(strncmp(o.tmp, dir, strlen(dir)) == 0);
    assert_non_null(strstr(o.tmp, "/.out.bin.tmp."));
    assert_int_equal(access(path, F_OK), -1);  /* final name not visible yet */
    fputs("hello", o.f);
    fflush(o.f);
    assert_int_equal(access(path, F_OK), -1);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s", o.tmp);
    assert_int_equal(fe_out_commit(&o, &err), 0);
    assert_int_equal(access(tmp, F_OK), -1);  /* renamed away */
    char buf[64];
    read_str(path, buf, sizeof buf);
    assert_string_equal(buf, "hello");
    assert_int_equal(count_entries(dir), 1);
    /* permissions follow the umask like an ordinary new file, not mkstemp's 0600 */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    mode_t um = umask(022);
    umask(um);
    assert_int_equal(st.st_mode & 0777, 0666 & ~um);
    remove_tmpdir(dir);
}

static void test_abort_keeps_old(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/out.bin", dir);
    spit(path, "old", 3);
    chmod(path, 0600);
    fe_out o;
    fe_err err;
    assert_int_equal(fe_out_open(&o, path, 0, &err), 0);
    fputs("new data that must not appear", o.f);
    assert_int_equal(count_entries(dir), 2);
    fe_out_abort(&o);
    char buf[64];
    read_str(path, buf, sizeof buf);
    assert_string_equal(buf, "old");
    assert_int_equal(count_entries(dir), 1);
    /* replacing keeps the old file's permissions */
    assert_int_equal(fe_out_open(&o, path, 0, &err), 0);
    fputs("new", o.f);
    assert_int_equal(fe_out_commit(&o, &err), 0);
    read_str(path, buf, sizeof buf);
    assert_string_equal(buf, "new");
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(count_entries(dir), 1);
    remove_tmpdir(dir);
}

static void test_open_errors(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char path[4200];
    fe_out o;
    fe_err err;
    snprintf(path, sizeof path, "%s/no/such/dir/out.bin", dir);
    assert_int_equal(fe_out_open(&o, path, 0, &err), -1);
    assert_msg_contains(err.msg, "No such file or directory");
    assert_int_equal(fe_out_open(&o, dir, 0, &err), -1);
    assert_msg_contains(err.msg, "directory");
    assert_int_equal(fe_out_open(&o, "", 0, &err), -1);
    assert_int_equal(count_entries(dir), 0);
    remove_tmpdir(dir);
}

/* The commit fails when the rename cannot happen, and cleans up its temp. */
static void test_commit_rename_fails(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/target", dir);
    fe_out o;
    fe_err err;
    assert_int_equal(fe_out_open(&o, path, 0, &err), 0);
    fputs("x", o.f);
    /* make the target a non-empty directory: rename(2) over it fails */
    assert_int_equal(mkdir(path, 0700), 0);
    char inner[4300];
    snprintf(inner, sizeof inner, "%s/keep", path);
    spit(inner, "k", 1);
    assert_int_equal(fe_out_commit(&o, &err), -1);
    assert_msg_contains(err.msg, "rename");
    assert_int_equal(count_entries(dir), 1);  /* only the directory, no temp */
    unlink(inner);
    rmdir(path);
    remove_tmpdir(dir);
}

/* stdout on a full device: the error is reported (ENOSPC) at commit. */
static void test_stdout_full(void **state)
{
    (void)state;
    int fd = open("/dev/full", O_WRONLY);
    if (fd < 0)
        skip();
    close(fd);
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        int full = open("/dev/full", O_WRONLY);
        dup2(full, STDOUT_FILENO);
        fe_out o;
        fe_err err;
        int rc = fe_out_open(&o, "-", 0, &err);
        if (rc == 0) {
            for (int i = 0; i < 100000; i++)
                fputc('x', o.f);
            rc = fe_out_commit(&o, &err);
        }
        (void)!write(p[1], err.msg, strlen(err.msg) + 1);
        _exit(rc == 0 ? 0 : 1);
    }
    close(p[1]);
    char msg[600] = {0};
    (void)!read(p[0], msg, sizeof msg - 1);
    close(p[0]);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    assert_msg_contains(msg, "No space left on device");
}

static void test_read_all(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/in.bin", dir);
    size_t n = 300000;
    uint8_t *data = malloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (uint8_t)(i * 31);
    spit(path, data, n);
    uint8_t *b;
    size_t len;
    fe_err err;
    assert_int_equal(fe_read_all(path, &b, &len, n, &err), 0);
    assert_int_equal(len, n);
    assert_memory_equal(b, data, n);
    free(b);
    assert_int_equal(fe_read_all(path, &b, &len, n - 1, &err), -1);
    assert_msg_contains(err.msg, "larger than");
    assert_null(b);
    snprintf(path, sizeof path, "%s/none", dir);
    assert_int_equal(fe_read_all(path, &b, &len, n, &err), -1);
    assert_msg_contains(err.msg, "No such file");
    assert_int_equal(fe_read_all(dir, &b, &len, n, &err), -1);
    assert_msg_contains(err.msg, "directory");
    /* empty file */
    snprintf(path, sizeof path, "%s/empty", dir);
    spit(path, "", 0);
    assert_int_equal(fe_read_all(path, &b, &len, n, &err), 0);
    assert_int_equal(len, 0);
    free(b);

    /* stdin from a pipe, more than one read's worth, growing the buffer */
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        size_t off = 0;
        while (off < n) {
            ssize_t w = write(p[1], data + off, n - off < 4096 ? n - off : 4096);
            if (w <= 0)
                _exit(1);
            off += (size_t)w;
        }
        _exit(0);
    }
    close(p[1]);
    int saved = dup(STDIN_FILENO);
    dup2(p[0], STDIN_FILENO);
    close(p[0]);
    int rc = fe_read_all("-", &b, &len, n, &err);
    dup2(saved, STDIN_FILENO);
    close(saved);
    waitpid(pid, NULL, 0);
    assert_int_equal(rc, 0);
    assert_int_equal(len, n);
    assert_memory_equal(b, data, n);
    free(b);
    free(data);
    remove_tmpdir(dir);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(fe_name_in(NULL), "<stdin>");
    assert_string_equal(fe_name_in("-"), "<stdin>");
    assert_string_equal(fe_name_in("a.npy"), "a.npy");
    assert_string_equal(fe_name_out(NULL), "<stdout>");
    assert_string_equal(fe_name_out("-"), "<stdout>");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit),
        cmocka_unit_test(test_abort_keeps_old),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_commit_rename_fails),
        cmocka_unit_test(test_stdout_full),
        cmocka_unit_test(test_read_all),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
