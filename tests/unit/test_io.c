/* test_io.c - outputs (temp + rename, or written through), temp cleanup on
 * signals and exit, the stale-temp sweep, and whole-input reading. */
#define _XOPEN_SOURCE 700  /* mknod, S_ISVTX */
#include "fe_test.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
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
    /* temp file: same directory, hidden, .featevo.tmp.PID.HOST.XXXXXX */
    assert_true(strncmp(o.tmp, dir, strlen(dir)) == 0);
    char want[64];
    snprintf(want, sizeof want, "/.featevo.tmp.%ld.", (long)getpid());
    assert_non_null(strstr(o.tmp, want));
    assert_true(strlen(strrchr(o.tmp, '/') + 1) <= 51);
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


/* Open, write s, commit; fail the test on any error. */
static void put(const char *path, const char *s)
{
    fe_out o;
    fe_err err;
    if (fe_out_open(&o, path, 0, &err) != 0)
        fail_msg("%s: %s", path, err.msg);
    fputs(s, o.f);
    if (fe_out_commit(&o, &err) != 0)
        fail_msg("%s: %s", path, err.msg);
}

/* A 255-byte output name works: the temp name does not grow with it. */
static void test_name_max(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char path[4400];
    int n = snprintf(path, sizeof path, "%s/", dir);
    memset(path + n, 'n', 255);
    path[n + 255] = '\0';
    put(path, "long");
    char buf[16];
    read_str(path, buf, sizeof buf);
    assert_string_equal(buf, "long");
    assert_int_equal(count_entries(dir), 1);
    remove_tmpdir(dir);
}

/* Set-user-ID and set-group-ID bits are never carried onto an output. */
static void test_setid_dropped(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/prog", dir);
    spit(path, "old", 3);
    assert_int_equal(chmod(path, 06755), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 06755);
    put(path, "new");
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0755);
    remove_tmpdir(dir);
}

/* A symbolic link stays; the file it names is replaced.  A dangling link
 * creates its target; a loop is refused. */
static void test_symlinks(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char t[4200], l[4200], l2[4200], d[4200], dt[4200], a[4200], b[4200];
    snprintf(t, sizeof t, "%s/target", dir);
    snprintf(l, sizeof l, "%s/link", dir);
    snprintf(l2, sizeof l2, "%s/link2", dir);
    spit(t, "old", 3);
    assert_int_equal(symlink("target", l), 0);     /* relative */
    assert_int_equal(symlink(l, l2), 0);           /* absolute, two hops */
    put(l2, "new");
    struct stat st;
    assert_int_equal(lstat(l, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(lstat(l2, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    char buf[16];
    read_str(t, buf, sizeof buf);
    assert_string_equal(buf, "new");
    snprintf(d, sizeof d, "%s/dangling", dir);
    snprintf(dt, sizeof dt, "%s/made", dir);
    assert_int_equal(symlink("made", d), 0);
    put(d, "made");
    read_str(dt, buf, sizeof buf);
    assert_string_equal(buf, "made");
    assert_int_equal(lstat(d, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    assert_int_equal(symlink("b", a), 0);
    assert_int_equal(symlink("a", b), 0);
    fe_out o;
    fe_err err;
    assert_int_equal(fe_out_open(&o, a, 0, &err), -1);
    assert_msg_contains(err.msg, "Too many levels of symbolic links");
    assert_int_equal(count_entries(dir), 7);   /* no temp left */
    remove_tmpdir(dir);
}

/* A character device and a FIFO are written through, never renamed over. */
static void test_through(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char dev[4200], fifo[4200];
    snprintf(dev, sizeof dev, "%s/null", dir);
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    fe_out o;
    fe_err err;
    struct stat st;
    if (mknod(dev, S_IFCHR | 0666, makedev(1, 3)) == 0) {   /* a private /dev/null */
        assert_int_equal(fe_out_open(&o, dev, 0, &err), 0);
        assert_null(o.tmp);
        fputs("gone", o.f);
        assert_int_equal(fe_out_commit(&o, &err), 0);
        assert_int_equal(lstat(dev, &st), 0);
        assert_true(S_ISCHR(st.st_mode));
        unlink(dev);
    } else {
        print_message("not root: the private character device is not tested here\n");
    }
    assert_int_equal(mkfifo(fifo, 0600), 0);
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {   /* the FIFO's reader; gives up after 5 s (no writer ever came) */
        close(p[0]);
        alarm(5);
        int fd = open(fifo, O_RDONLY);
        char buf[64];
        ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf);
        (void)!write(p[1], buf, n > 0 ? (size_t)n : 0);
        _exit(0);
    }
    close(p[1]);
    assert_int_equal(fe_out_open(&o, fifo, 0, &err), 0);
    fputs("through", o.f);
    assert_int_equal(fe_out_commit(&o, &err), 0);
    char got[64] = {0};
    (void)!read(p[0], got, sizeof got - 1);
    close(p[0]);
    waitpid(pid, NULL, 0);
    assert_string_equal(got, "through");
    assert_int_equal(lstat(fifo, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    assert_int_equal(count_entries(dir), 1);
    remove_tmpdir(dir);
}

/* /dev/fd/N and /proc/self/fd/N write to our descriptor N; one not open for
 * writing is refused. */
static void test_our_fds(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    char name[64];
    fe_out o;
    fe_err err;
    snprintf(name, sizeof name, "/dev/fd/%d", p[1]);
    assert_int_equal(fe_out_open(&o, name, 0, &err), 0);
    fputs("ab", o.f);
    assert_int_equal(fe_out_commit(&o, &err), 0);
    snprintf(name, sizeof name, "/proc/self/fd/%d", p[1]);
    assert_int_equal(fe_out_open(&o, name, 0, &err), 0);
    fputs("cd", o.f);
    assert_int_equal(fe_out_commit(&o, &err), 0);
    close(p[1]);
    char got[8] = {0};
    assert_int_equal(read(p[0], got, sizeof got - 1), 4);
    assert_string_equal(got, "abcd");
    snprintf(name, sizeof name, "/dev/fd/%d", p[0]);
    assert_int_equal(fe_out_open(&o, name, 0, &err), -1);
    assert_msg_contains(err.msg, "not open for writing");
    close(p[0]);
}

/* Directories, sockets: refused, nothing left. */
static void test_refused_kinds(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char sock[4200];
    snprintf(sock, sizeof sock, "%s/sock", dir);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(s >= 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(sock) >= sizeof sa.sun_path)
        skip();
    strcpy(sa.sun_path, sock);
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
    fe_out o;
    fe_err err;
    assert_int_equal(fe_out_open(&o, sock, 0, &err), -1);
    assert_msg_contains(err.msg, "socket");
    close(s);
    assert_int_equal(fe_out_open(&o, dir, 0, &err), -1);
    assert_msg_contains(err.msg, "directory");
    assert_int_equal(count_entries(dir), 1);
    remove_tmpdir(dir);
}

/* In a child: open PATH, write, then die by SIG (0: exit(1) without commit). */
static int die_while_writing(const char *path, int sig)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fe_out o;
        fe_err err;
        if (fe_out_open(&o, path, 0, &err) != 0)
            _exit(3);
        fputs("partial", o.f);
        fflush(o.f);
        if (sig)
            raise(sig);
        exit(1);
    }
    int status;
    waitpid(pid, &status, 0);
    return status;
}

/* SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGXFSZ and exit(3) remove the temp; the
 * signal still ends the process (its default action). */
static void test_signals_remove_temp(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/out", dir);
    const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGXFSZ};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        int st = die_while_writing(path, sigs[i]);
        if (!WIFSIGNALED(st) || WTERMSIG(st) != sigs[i])
            fail_msg("signal %d: status %#x", sigs[i], st);
        if (count_entries(dir) != 0)
            fail_msg("signal %d left a temp file", sigs[i]);
    }
    int st = die_while_writing(path, 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
    assert_int_equal(count_entries(dir), 0);
    remove_tmpdir(dir);
}

/* The sweep removes temps of dead processes of this host, keeps the rest. */
static void test_sweep(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    pid_t dead = fork();
    assert_true(dead >= 0);
    if (dead == 0)
        _exit(0);
    waitpid(dead, NULL, 0);
    pid_t live = fork();
    assert_true(live >= 0);
    if (live == 0) {   /* alive while the sweep runs; gone in 30 s whatever happens */
        alarm(30);
        pause();
        _exit(0);
    }
    /* this host's tag, as fe_out_open writes it: .featevo.tmp.PID.HOST.XXXXXX */
    char tag[64] = "";
    {
        char out[4200];
        snprintf(out, sizeof out, "%s/probe", dir);
        fe_out o;
        fe_err err;
        assert_int_equal(fe_out_open(&o, out, 0, &err), 0);
        const char *h = strchr(strstr(o.tmp, "/.featevo.tmp.") + 14, '.') + 1;
        snprintf(tag, sizeof tag, "%.*s", (int)(strrchr(h, '.') - h), h);
        fe_out_abort(&o);
        assert_true(strlen(tag) >= 1 && strlen(tag) <= 20);
    }
    char p[4400];
    const char *keep[3];
    char k0[128], k1[128], gone[128];
    snprintf(gone, sizeof gone, ".featevo.tmp.%ld.%s.AbC123", (long)dead, tag);
    snprintf(k0, sizeof k0, ".featevo.tmp.%ld.%s.AbC123", (long)live, tag);
    snprintf(k1, sizeof k1, ".featevo.tmp.%ld.otherhost.AbC123", (long)dead);
    keep[0] = k0;
    keep[1] = k1;
    keep[2] = ".out.tmp.1.AbC123";
    snprintf(p, sizeof p, "%s/%s", dir, gone);
    spit(p, "x", 1);
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, keep[i]);
        spit(p, "x", 1);
    }
    fe_err err;
    assert_int_equal(fe_tmp_sweep(dir, &err), 1);
    snprintf(p, sizeof p, "%s/%s", dir, gone);
    assert_int_equal(access(p, F_OK), -1);
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, keep[i]);
        assert_int_equal(access(p, F_OK), 0);
    }
    /* opening an output in the directory sweeps it too */
    snprintf(p, sizeof p, "%s/%s", dir, gone);
    spit(p, "x", 1);
    snprintf(p, sizeof p, "%s/out", dir);
    put(p, "y");
    snprintf(p, sizeof p, "%s/%s", dir, gone);
    assert_int_equal(access(p, F_OK), -1);
    assert_int_equal(count_entries(dir), 4);
    kill(live, SIGKILL);
    waitpid(live, NULL, 0);
    remove_tmpdir(dir);
}

/* fe_out_check: two names of one file refused (same name, ./x, a hard link, a
 * symbolic link); distinct files, and a character device twice, accepted. */
static void test_out_check(void **state)
{
    (void)state;
    char *dir = make_tmpdir();
    char x[4200], dx[4200], h[4200], s[4200], y[4200], n1[4200], n2[4200], nd[4200];
    snprintf(x, sizeof x, "%s/x", dir);
    snprintf(dx, sizeof dx, "%s/./x", dir);
    snprintf(h, sizeof h, "%s/h", dir);
    snprintf(s, sizeof s, "%s/s", dir);
    snprintf(y, sizeof y, "%s/y", dir);
    snprintf(n1, sizeof n1, "%s/new", dir);
    snprintf(n2, sizeof n2, "%s/./new", dir);
    snprintf(nd, sizeof nd, "%s/no/such", dir);
    spit(x, "x", 1);
    assert_int_equal(link(x, h), 0);
    assert_int_equal(symlink("x", s), 0);
    fe_err err;
    int bad = -1;
    const char *ok[] = {x, y, n1, "/dev/null", "/dev/null"};
    assert_int_equal(fe_out_check(ok, 5, &bad, &err), 0);
    const char *same[][2] = {{x, x}, {x, dx}, {x, h}, {s, x}, {n1, n2}};
    for (int i = 0; i < 5; i++) {
        const char *pair[3] = {y, same[i][0], same[i][1]};
        if (fe_out_check(pair, 3, &bad, &err) != -1)
            fail_msg("%s and %s accepted", same[i][0], same[i][1]);
        assert_int_equal(bad, 2);
        assert_msg_contains(err.msg, "the same file as output");
    }
    const char *nodir[] = {x, nd};
    assert_int_equal(fe_out_check(nodir, 2, &bad, &err), -1);
    assert_int_equal(bad, 1);
    const char *isdir[] = {dir};
    assert_int_equal(fe_out_check(isdir, 1, &bad, &err), -1);
    assert_msg_contains(err.msg, "directory");
    assert_int_equal(count_entries(dir), 3);
    remove_tmpdir(dir);
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
    /* The default actions, as a tool started from a terminal has them.  A
     * background job of a non-interactive shell (make test's valgrind lane, a
     * nohup'ed make test) inherits SIGINT ignored and nohup adds SIGHUP; the
     * library then rightly leaves those alone, and test_signals_remove_temp
     * could not see its handlers.  Set before the first temp is made, which
     * is when the library installs them. */
    const int dfl[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGXFSZ};
    for (size_t i = 0; i < sizeof dfl / sizeof dfl[0]; i++)
        signal(dfl[i], SIG_DFL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit),
        cmocka_unit_test(test_abort_keeps_old),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_commit_rename_fails),
        cmocka_unit_test(test_stdout_full),
        cmocka_unit_test(test_name_max),
        cmocka_unit_test(test_setid_dropped),
        cmocka_unit_test(test_symlinks),
        cmocka_unit_test(test_through),
        cmocka_unit_test(test_our_fds),
        cmocka_unit_test(test_refused_kinds),
        cmocka_unit_test(test_signals_remove_temp),
        cmocka_unit_test(test_sweep),
        cmocka_unit_test(test_out_check),
        cmocka_unit_test(test_read_all),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
