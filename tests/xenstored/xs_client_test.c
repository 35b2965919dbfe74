/*
 * xs_client_test.c - drive tests/xenstored/xenstored.py through the real
 * libxenstore (xenstore.h).  Every check prints PASS/FAIL; failures print
 * what was expected and what was seen.  Last line: "C: N passed, M failed".
 *
 * usage: xs_client_test [GUEST_SOCKET GUEST_DOMID]
 *   XENSTORED_PATH must name the dom0 socket of the test server.
 *   With a guest socket (server started with --guest-socket PATH:DOMID)
 *   the guest permission checks run too.
 *
 * Build: cc -Wall -o xs_client_test xs_client_test.c $(pkg-config --cflags --libs xenstore)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xenstore.h>

static int passed, failed;

static void result(const char *name, bool ok, const char *fmt, ...)
{
    va_list ap;

    if (ok) {
        passed++;
        printf("PASS %s\n", name);
    } else {
        failed++;
        printf("FAIL %s: ", name);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
    }
    fflush(stdout);
}

static const char *errname(int e)
{
    static char buf[32];

    switch (e) {
    case 0: return "0";
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EINVAL: return "EINVAL";
    case EAGAIN: return "EAGAIN";
    case EEXIST: return "EEXIST";
    case EPERM: return "EPERM";
    case EBUSY: return "EBUSY";
    case E2BIG: return "E2BIG";
    case ENOSPC: return "ENOSPC";
    case ENOSYS: return "ENOSYS";
    default:
        snprintf(buf, sizeof(buf), "errno %d", e);
        return buf;
    }
}

/* read PATH and compare with EXPECT (NULL: expect failure with EXP_ERR) */
static void expect_read(const char *name, struct xs_handle *h,
                        xs_transaction_t t, const char *path,
                        const char *expect, int exp_err)
{
    unsigned int len = 0;
    char *v;
    int e;

    errno = 0;
    v = xs_read(h, t, path, &len);
    e = errno;
    if (expect) {
        result(name, v && len == strlen(expect) && !memcmp(v, expect, len),
               "read %s: expected \"%s\", saw %s%s%s (%s)", path, expect,
               v ? "\"" : "", v ? v : "failure", v ? "\"" : "",
               v ? "ok" : errname(e));
    } else {
        result(name, !v && e == exp_err,
               "read %s: expected error %s, saw %s%s%s",
               path, errname(exp_err), v ? "value \"" : "error ",
               v ? v : errname(e), v ? "\"" : "");
    }
    free(v);
}

static void expect_ok(const char *name, bool ok, const char *what)
{
    int e = errno;

    result(name, ok, "%s: expected success, saw error %s", what, errname(e));
}

static void expect_fail(const char *name, bool ok, int exp_err,
                        const char *what)
{
    int e = errno;

    result(name, !ok && e == exp_err, "%s: expected error %s, saw %s",
           what, errname(exp_err), ok ? "success" : errname(e));
}

/* Wait up to ms for a watch event; returns vec (caller frees) or NULL. */
static char **wait_event(struct xs_handle *h, int ms)
{
    struct pollfd pfd = { .fd = xs_fileno(h), .events = POLLIN };
    char **vec;
    int waited = 0;

    for (;;) {
        vec = xs_check_watch(h);
        if (vec)
            return vec;
        if (errno != EAGAIN || waited >= ms)
            return NULL;
        if (poll(&pfd, 1, 50) < 0)
            return NULL;
        waited += 50;
    }
}

static void expect_event(const char *name, struct xs_handle *h,
                         const char *path, const char *token)
{
    char **vec = wait_event(h, 3000);

    if (!vec) {
        result(name, false, "expected event (%s, %s), saw none within 3s",
               path, token);
        return;
    }
    result(name, !strcmp(vec[XS_WATCH_PATH], path) &&
           !strcmp(vec[XS_WATCH_TOKEN], token),
           "expected event (%s, %s), saw (%s, %s)", path, token,
           vec[XS_WATCH_PATH], vec[XS_WATCH_TOKEN]);
    free(vec);
}

static void expect_no_event(const char *name, struct xs_handle *h)
{
    char **vec = wait_event(h, 400);

    result(name, vec == NULL, "expected no event, saw (%s, %s)",
           vec ? vec[XS_WATCH_PATH] : "", vec ? vec[XS_WATCH_TOKEN] : "");
    free(vec);
}

static bool w(struct xs_handle *h, xs_transaction_t t, const char *path,
              const char *val)
{
    return xs_write(h, t, path, val, strlen(val));
}

static char *perms_str(struct xs_permissions *p, unsigned int n)
{
    static char buf[256];
    size_t off = 0;
    unsigned int i;

    buf[0] = 0;
    if (!p)
        return "(none)";
    for (i = 0; i < n && off < sizeof(buf) - 16; i++) {
        char c;

        switch ((int)p[i].perms) {
        case XS_PERM_NONE: c = 'n'; break;
        case XS_PERM_READ: c = 'r'; break;
        case XS_PERM_WRITE: c = 'w'; break;
        case XS_PERM_READ | XS_PERM_WRITE: c = 'b'; break;
        default: c = '?'; break;
        }
        off += snprintf(buf + off, sizeof(buf) - off, "%s%c%u", i ? "," : "",
                        c, p[i].id);
    }
    return buf;
}

static void expect_perms(const char *name, struct xs_handle *h,
                         const char *path, const char *expect)
{
    unsigned int n = 0;
    struct xs_permissions *p = xs_get_permissions(h, XBT_NULL, path, &n);
    const char *got = p ? perms_str(p, n) : errname(errno);

    result(name, p && !strcmp(got, expect), "perms of %s: expected %s, saw %s",
           path, expect, got);
    free(p);
}

/*
 * What the loader would do: decide from GET_PERMS whether DOMID may write
 * a node (owner, explicit entry, or default in entry 0).
 */
static int guest_can_write(struct xs_handle *h, const char *path,
                           unsigned int domid)
{
    unsigned int n = 0, i;
    struct xs_permissions *p = xs_get_permissions(h, XBT_NULL, path, &n);
    int r;

    if (!p)
        return -1;
    if (p[0].id == domid) {
        r = 1;
    } else {
        r = !!(p[0].perms & XS_PERM_WRITE);
        for (i = 1; i < n; i++)
            if (p[i].id == domid) {
                r = !!(p[i].perms & XS_PERM_WRITE);
                break;
            }
    }
    free(p);
    return r;
}

static void test_basic(struct xs_handle *h)
{
    unsigned int n = 0, len = 0;
    char **dir;
    char *v;
    static const char bin[] = { 'a', 0, 'b', 0, 'c' };

    xs_rm(h, XBT_NULL, "/test");
    expect_ok("write", w(h, XBT_NULL, "/test/basic/a", "1"), "write /test/basic/a");
    expect_read("read", h, XBT_NULL, "/test/basic/a", "1", 0);
    expect_read("read implicit parent is empty", h, XBT_NULL, "/test/basic", "", 0);
    expect_read("read missing -> ENOENT", h, XBT_NULL, "/test/basic/none", NULL, ENOENT);
    expect_ok("write binary", xs_write(h, XBT_NULL, "/test/basic/bin", bin, sizeof(bin)),
              "write binary value");
    v = xs_read(h, XBT_NULL, "/test/basic/bin", &len);
    result("read binary", v && len == sizeof(bin) && !memcmp(v, bin, len),
           "expected 5 bytes a\\0b\\0c, saw len %u", v ? len : 0);
    free(v);
    expect_ok("mkdir", xs_mkdir(h, XBT_NULL, "/test/basic/d"), "mkdir");
    expect_ok("mkdir existing ok", xs_mkdir(h, XBT_NULL, "/test/basic/d"), "mkdir again");
    dir = xs_directory(h, XBT_NULL, "/test/basic", &n);
    result("directory", dir && n == 3 && !strcmp(dir[0], "a") &&
           !strcmp(dir[1], "bin") && !strcmp(dir[2], "d"),
           "expected [a bin d], saw %u entries (%s %s %s)", dir ? n : 0,
           dir && n > 0 ? dir[0] : "", dir && n > 1 ? dir[1] : "",
           dir && n > 2 ? dir[2] : "");
    free(dir);
    dir = xs_directory(h, XBT_NULL, "/test/basic/d", &n);
    result("directory empty", dir && n == 0, "expected 0 entries, saw %s",
           dir ? "entries" : errname(errno));
    free(dir);
    expect_ok("rm", xs_rm(h, XBT_NULL, "/test/basic"), "rm /test/basic");
    expect_read("rm recursive", h, XBT_NULL, "/test/basic/a", NULL, ENOENT);
    expect_ok("rm missing child of existing ok", xs_rm(h, XBT_NULL, "/test/nothere"),
              "rm /test/nothere");
    expect_fail("rm missing parent -> ENOENT", xs_rm(h, XBT_NULL, "/test/no/such"),
                ENOENT, "rm /test/no/such");
    expect_fail("rm / -> EINVAL", xs_rm(h, XBT_NULL, "/"), EINVAL, "rm /");
    expect_fail("bad path // -> EINVAL", w(h, XBT_NULL, "/test//x", "1"), EINVAL,
                "write /test//x");
    expect_fail("bad path trailing / -> EINVAL", w(h, XBT_NULL, "/test/x/", "1"),
                EINVAL, "write /test/x/");
    expect_fail("bad path char -> EINVAL", w(h, XBT_NULL, "/test/a b", "1"), EINVAL,
                "write '/test/a b'");
    /* > 4096 bytes of child names: DIRECTORY gives E2BIG, libxenstore
     * falls back to DIRECTORY_PART */
    {
        char p[128];
        unsigned int i, ok = 1;

        for (i = 0; i < 150; i++) {
            snprintf(p, sizeof(p), "/test/big/child-with-a-long-name-%04u", i);
            ok &= w(h, XBT_NULL, p, "");
        }
        dir = xs_directory(h, XBT_NULL, "/test/big", &n);
        result("directory > 4k (DIRECTORY_PART)", ok && dir && n == 150 &&
               !strcmp(dir[149], "child-with-a-long-name-0149"),
               "expected 150 entries, saw %s %u", dir ? "" : errname(errno),
               dir ? n : 0);
        free(dir);
        xs_rm(h, XBT_NULL, "/test/big");
    }
    v = xs_get_domain_path(h, 7);
    result("get_domain_path", v && !strcmp(v, "/local/domain/7"),
           "expected /local/domain/7, saw %s", v ? v : errname(errno));
    free(v);
    /* relative paths of dom0 resolve under /local/domain/0 */
    expect_ok("relative write", w(h, XBT_NULL, "reltest", "r"), "write reltest");
    expect_read("relative resolves to /local/domain/0", h, XBT_NULL,
                "/local/domain/0/reltest", "r", 0);
    xs_rm(h, XBT_NULL, "/local/domain/0/reltest");
}

static void test_watches(struct xs_handle *h, struct xs_handle *h2)
{
    expect_ok("watch setup", w(h, XBT_NULL, "/test/w/a/b", "x"), "write /test/w/a/b");
    expect_ok("watch", xs_watch(h, "/test/w", "tok1"), "xs_watch /test/w");
    expect_event("watch initial event", h, "/test/w", "tok1");
    expect_fail("watch duplicate -> EEXIST", xs_watch(h, "/test/w", "tok1"), EEXIST,
                "xs_watch again");
    expect_ok("watch on 2nd connection", xs_watch(h2, "/test", "tok2"), "xs_watch /test");
    expect_event("2nd initial event", h2, "/test", "tok2");
    expect_ok("watch deep", xs_watch(h2, "/test/w/a/b", "deep"), "xs_watch deep");
    expect_event("deep initial event", h2, "/test/w/a/b", "deep");
    expect_ok("watch nonexistent", xs_watch(h2, "/test/other", "other"), "xs_watch other");
    expect_event("nonexistent initial event", h2, "/test/other", "other");

    w(h2, XBT_NULL, "/test/w/c", "1");
    expect_event("write fires on conn1 (prefix)", h, "/test/w/c", "tok1");
    expect_event("write fires on conn2 (prefix)", h2, "/test/w/c", "tok2");
    expect_no_event("no extra event conn1", h);
    expect_no_event("unrelated watch not fired", h2);

    w(h, XBT_NULL, "/test/wx", "1"); /* /test/wx is not below /test/w */
    expect_no_event("sibling with common prefix does not fire", h);
    expect_event("sibling fires parent watch", h2, "/test/wx", "tok2");

    xs_rm(h, XBT_NULL, "/test/w/a");
    expect_event("rm fires watch on parent", h, "/test/w/a", "tok1");
    expect_event("rm fires watch on grandparent", h2, "/test/w/a", "tok2");
    expect_event("rm fires watch on removed child", h2, "/test/w/a/b", "deep");
    expect_no_event("rm: no more events", h2);

    expect_ok("unwatch", xs_unwatch(h, "/test/w", "tok1"), "xs_unwatch");
    expect_fail("unwatch unknown -> ENOENT", xs_unwatch(h, "/test/w", "tok1"), ENOENT,
                "xs_unwatch again");
    w(h2, XBT_NULL, "/test/w/c", "2");
    expect_no_event("no event after unwatch", h);
    expect_event("other conn still watching", h2, "/test/w/c", "tok2");
    xs_unwatch(h2, "/test", "tok2");
    xs_unwatch(h2, "/test/w/a/b", "deep");
    xs_unwatch(h2, "/test/other", "other");
}

static void test_transactions(struct xs_handle *h, struct xs_handle *h2)
{
    xs_transaction_t t, t2;
    bool ok;

    w(h, XBT_NULL, "/test/tx/val", "0");
    xs_watch(h2, "/test/tx", "txw");
    expect_event("tx watch initial", h2, "/test/tx", "txw");

    t = xs_transaction_start(h);
    result("tx start", t != XBT_NULL, "expected a transaction id, saw %s",
           errname(errno));
    expect_ok("tx write", w(h, t, "/test/tx/new", "n"), "write in tx");
    expect_read("tx sees own write", h, t, "/test/tx/new", "n", 0);
    expect_read("tx isolated from others", h2, XBT_NULL, "/test/tx/new", NULL, ENOENT);
    expect_no_event("no watch event before commit", h2);
    expect_ok("tx commit", xs_transaction_end(h, t, false), "commit");
    expect_read("committed visible", h2, XBT_NULL, "/test/tx/new", "n", 0);
    expect_event("watch event at commit", h2, "/test/tx/new", "txw");

    /* conflict: t reads+writes val, someone else writes val meanwhile */
    t = xs_transaction_start(h);
    expect_read("conflict: tx read", h, t, "/test/tx/val", "0", 0);
    w(h, t, "/test/tx/val", "from-tx");
    w(h2, XBT_NULL, "/test/tx/val", "from-outside");
    errno = 0;
    ok = xs_transaction_end(h, t, false);
    expect_fail("conflicting commit -> EAGAIN", ok, EAGAIN, "commit");
    expect_read("conflicting tx discarded", h, XBT_NULL, "/test/tx/val", "from-outside", 0);
    (void)wait_event(h2, 300);

    /* two transactions, second to commit loses */
    t = xs_transaction_start(h);
    t2 = xs_transaction_start(h2);
    w(h, t, "/test/tx/val", "t1");
    w(h2, t2, "/test/tx/val", "t2");
    expect_ok("first of two commits", xs_transaction_end(h, t, false), "commit t1");
    expect_fail("second of two commits -> EAGAIN", xs_transaction_end(h2, t2, false),
                EAGAIN, "commit t2");
    expect_read("winner's value", h, XBT_NULL, "/test/tx/val", "t1", 0);
    while (wait_event(h2, 200))
        ;

    /* non-conflicting concurrent transactions both commit */
    t = xs_transaction_start(h);
    t2 = xs_transaction_start(h2);
    w(h, t, "/test/tx/val", "a");
    w(h2, t2, "/test/tx/new", "b");
    expect_ok("disjoint tx 1 commits", xs_transaction_end(h, t, false), "commit");
    expect_ok("disjoint tx 2 commits", xs_transaction_end(h2, t2, false), "commit");
    while (wait_event(h2, 200))
        ;

    /* abort */
    t = xs_transaction_start(h);
    w(h, t, "/test/tx/aborted", "x");
    xs_rm(h, t, "/test/tx/val");
    expect_ok("tx abort", xs_transaction_end(h, t, true), "abort");
    expect_read("aborted write invisible", h, XBT_NULL, "/test/tx/aborted", NULL, ENOENT);
    expect_read("aborted rm invisible", h, XBT_NULL, "/test/tx/val", "a", 0);
    expect_no_event("no event for aborted tx", h2);

    /* rm inside a tx */
    t = xs_transaction_start(h);
    expect_ok("tx rm", xs_rm(h, t, "/test/tx"), "rm in tx");
    expect_read("tx rm visible inside", h, t, "/test/tx/val", NULL, ENOENT);
    expect_read("tx rm invisible outside", h2, XBT_NULL, "/test/tx/val", "a", 0);
    expect_ok("tx rm commit", xs_transaction_end(h, t, false), "commit");
    expect_read("tx rm committed", h2, XBT_NULL, "/test/tx", NULL, ENOENT);
    expect_event("rm commit fires watch", h2, "/test/tx", "txw");

    expect_fail("end unknown tx -> ENOENT", xs_transaction_end(h, 0x7777, false),
                ENOENT, "end bogus tx");
    xs_unwatch(h2, "/test/tx", "txw");
}

static void test_perms(struct xs_handle *h)
{
    struct xs_permissions set[2] = {
        { .id = 0, .perms = XS_PERM_NONE },
        { .id = 5, .perms = XS_PERM_READ },
    };
    struct xs_permissions bad[1] = { { .id = 0, .perms = 0x40 } };

    w(h, XBT_NULL, "/test/p", "");
    expect_perms("default perms n0", h, "/test/p", "n0");
    expect_ok("set_perms", xs_set_permissions(h, XBT_NULL, "/test/p", set, 2),
              "set n0,r5");
    expect_perms("get_perms after set", h, "/test/p", "n0,r5");
    w(h, XBT_NULL, "/test/p/child/grandchild", "x");
    expect_perms("new child inherits parent perms", h, "/test/p/child", "n0,r5");
    expect_perms("new grandchild inherits", h, "/test/p/child/grandchild", "n0,r5");
    expect_fail("get_perms missing -> ENOENT",
                xs_get_permissions(h, XBT_NULL, "/test/p/none", &(unsigned int){0}) != NULL,
                ENOENT, "get_perms missing");
    (void)bad;
}

static void test_guest(struct xs_handle *h, const char *gpath, unsigned int dom)
{
    struct xs_handle *g;
    char path[128], *v;
    struct xs_permissions own[1] = { { .id = dom, .perms = XS_PERM_NONE } };
    struct xs_permissions rw[2] = {
        { .id = 0, .perms = XS_PERM_NONE },
        { .id = dom, .perms = XS_PERM_READ | XS_PERM_WRITE },
    };
    struct xs_permissions steal[1] = { { .id = 0, .perms = XS_PERM_READ } };
    const char *nodes[] = { "/test/p/child", "/test/g/owned", "/test/g/rw",
                            "/test/g/dom0only" };
    unsigned int i;

    setenv("XENSTORED_PATH", gpath, 1);
    g = xs_open(0);
    unsetenv("XENSTORED_PATH");
    result("guest open", g != NULL, "xs_open on %s failed: %s", gpath,
           errname(errno));
    if (!g)
        return;

    w(h, XBT_NULL, "/test/g/owned", "o");
    xs_set_permissions(h, XBT_NULL, "/test/g/owned", own, 1);
    w(h, XBT_NULL, "/test/g/rw", "rw");
    xs_set_permissions(h, XBT_NULL, "/test/g/rw", rw, 2);
    w(h, XBT_NULL, "/test/g/dom0only", "secret");

    expect_read("guest reads r-granted node", g, XBT_NULL, "/test/p/child", "", 0);
    expect_fail("guest write to dom0-owned (r only) -> EACCES",
                w(g, XBT_NULL, "/test/p/child", "evil"), EACCES, "guest write");
    expect_read("guest read of dom0-only -> EACCES", g, XBT_NULL, "/test/g/dom0only",
                NULL, EACCES);
    expect_fail("guest write dom0-only -> EACCES",
                w(g, XBT_NULL, "/test/g/dom0only", "evil"), EACCES, "guest write");
    expect_read("guest read missing under unreadable -> EACCES", g, XBT_NULL,
                "/test/g/dom0only/nothere", NULL, EACCES);
    expect_fail("guest create under dom0-owned -> EACCES",
                w(g, XBT_NULL, "/test/g/new", "x"), EACCES, "guest create");
    expect_fail("guest rm dom0-owned -> EACCES", xs_rm(g, XBT_NULL, "/test/g/dom0only"),
                EACCES, "guest rm");
    expect_ok("guest writes own node", w(g, XBT_NULL, "/test/g/owned", "mine"),
              "guest write owned");
    expect_ok("guest writes b-granted node", w(g, XBT_NULL, "/test/g/rw", "ok"),
              "guest write rw");
    expect_ok("guest creates child of own node",
              w(g, XBT_NULL, "/test/g/owned/kid", "k"), "guest create");
    snprintf(path, sizeof(path), "%u", dom);
    {
        char expect[32];

        snprintf(expect, sizeof(expect), "%s%u", "n", dom);
        expect_perms("guest-created node owned by guest", h, "/test/g/owned/kid",
                     expect);
    }
    expect_fail("guest cannot give node away -> EPERM",
                xs_set_permissions(g, XBT_NULL, "/test/g/owned", steal, 1), EPERM,
                "guest set_perms owner change");
    expect_fail("guest set_perms on non-owned -> EACCES",
                xs_set_permissions(g, XBT_NULL, "/test/g/rw", rw, 2), EACCES,
                "guest set_perms");
    expect_fail("guest introduce -> EACCES", xs_introduce_domain(g, 99, 1, 1), EACCES,
                "guest introduce");
    expect_fail("guest control write -> EACCES",
                w(g, XBT_NULL, "/tool/xenstored-test/release-domain", "1"), EACCES,
                "guest control");

    /* relative paths resolve to the guest's domain path */
    snprintf(path, sizeof(path), "/local/domain/%u/data", dom);
    xs_mkdir(h, XBT_NULL, path);
    xs_set_permissions(h, XBT_NULL, path, own, 1);
    expect_ok("guest relative write", w(g, XBT_NULL, "data/rel", "v"),
              "guest write data/rel");
    snprintf(path, sizeof(path), "/local/domain/%u/data/rel", dom);
    expect_read("guest relative path lands in its domain path", h, XBT_NULL, path,
                "v", 0);
    v = xs_get_domain_path(g, dom);
    snprintf(path, sizeof(path), "/local/domain/%u", dom);
    result("guest get_domain_path", v && !strcmp(v, path),
           "expected %s, saw %s", path, v ? v : errname(errno));
    free(v);

    /* relative watch reports relative paths */
    expect_ok("guest relative watch", xs_watch(g, "data", "gw"), "guest watch data");
    expect_event("guest relative initial event", g, "data", "gw");
    snprintf(path, sizeof(path), "/local/domain/%u/data/x", dom);
    w(h, XBT_NULL, path, "1");
    expect_event("guest relative event path", g, "data/x", "gw");
    /* guest doesn't see events for nodes it can't read */
    expect_ok("guest watch /test/g", xs_watch(g, "/test/g", "gt"), "guest watch");
    expect_event("guest watch initial", g, "/test/g", "gt");
    w(h, XBT_NULL, "/test/g/dom0only", "changed");
    expect_no_event("guest gets no event for unreadable node", g);
    w(h, XBT_NULL, "/test/g/rw", "changed");
    expect_event("guest gets event for readable node", g, "/test/g/rw", "gt");

    /* the loader's view: which nodes can the guest write (from GET_PERMS) */
    for (i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
        int pred = guest_can_write(h, nodes[i], dom);
        bool actual = w(g, XBT_NULL, nodes[i], "probe");
        char name[160];

        snprintf(name, sizeof(name), "GET_PERMS predicts guest write to %s", nodes[i]);
        result(name, pred == (int)actual, "predicted %s, actual write %s",
               pred < 0 ? "error" : pred ? "allowed" : "denied",
               actual ? "allowed" : "denied");
    }
    /* IS_DOMAIN_INTRODUCED is privileged (XS_FLAG_PRIV): EACCES, even for itself */
    errno = 0;
    expect_fail("guest IS_DOMAIN_INTRODUCED -> EACCES", xs_is_domain_introduced(g, dom),
                EACCES, "is_domain_introduced as guest");
    errno = 0;
    expect_fail("guest IS_DOMAIN_INTRODUCED of dom0 -> EACCES",
                xs_is_domain_introduced(g, 0), EACCES, "is_domain_introduced(0) as guest");
    /* control: drop-guest-connections closes the guest's connections */
    snprintf(path, sizeof(path), "%u", dom);
    expect_ok("control drop-guest-connections",
              w(h, XBT_NULL, "/tool/xenstored-test/drop-guest-connections", path),
              "write control node");
    v = xs_read(g, XBT_NULL, "data/rel", NULL);
    result("guest connection was dropped", v == NULL,
           "expected the read to fail, saw \"%s\"", v ? v : "");
    free(v);
    xs_close(g);
}

static void test_domains(struct xs_handle *h, struct xs_handle *h2)
{
    char *r;
    bool ok;

    expect_ok("watch @releaseDomain", xs_watch(h2, "@releaseDomain", "rel"), "watch");
    expect_event("@releaseDomain initial event", h2, "@releaseDomain", "rel");
    expect_ok("watch @introduceDomain", xs_watch(h2, "@introduceDomain", "intro"),
              "watch");
    expect_event("@introduceDomain initial event", h2, "@introduceDomain", "intro");
    expect_ok("watch /local/domain/9", xs_watch(h2, "/local/domain/9", "d9"), "watch");
    expect_event("d9 initial", h2, "/local/domain/9", "d9");

    result("dom9 not introduced yet", !xs_is_domain_introduced(h, 9),
           "expected F, saw T");
    expect_ok("introduce", xs_introduce_domain(h, 9, 0x1234, 3), "xs_introduce_domain");
    expect_event("@introduceDomain fired", h2, "@introduceDomain", "intro");
    result("dom9 introduced", xs_is_domain_introduced(h, 9), "expected T, saw F");
    w(h, XBT_NULL, "/local/domain/9/name", "guest9");
    expect_event("d9 write event", h2, "/local/domain/9/name", "d9");

    /* simulate "domain 9 died" via the test control path */
    ok = w(h, XBT_NULL, "/tool/xenstored-test/release-domain", "9");
    expect_ok("control release-domain", ok, "write control node");
    expect_event("domain death removes /local/domain/9", h2, "/local/domain/9", "d9");
    /* like xenstored: removed children only fire watches set exactly on them */
    expect_event("@releaseDomain fired", h2, "@releaseDomain", "rel");
    expect_read("/local/domain/9 gone", h, XBT_NULL, "/local/domain/9", NULL, ENOENT);
    result("dom9 no longer introduced", !xs_is_domain_introduced(h, 9),
           "expected F, saw T");

    /* same through XS_CONTROL (xs_control_command) */
    r = xs_control_command(h, "introduce-domain", "11", 3);
    result("xs_control_command introduce-domain", r != NULL, "expected OK, saw %s",
           errname(errno));
    free(r);
    expect_event("@introduceDomain via control", h2, "@introduceDomain", "intro");
    expect_ok("xs_release_domain", xs_release_domain(h, 11), "release 11");
    expect_event("@releaseDomain via XS_RELEASE", h2, "@releaseDomain", "rel");
    expect_fail("release unknown -> ENOENT", xs_release_domain(h, 11), ENOENT,
                "release again");
    xs_unwatch(h2, "@releaseDomain", "rel");
    xs_unwatch(h2, "@introduceDomain", "intro");
    xs_unwatch(h2, "/local/domain/9", "d9");
}

int main(int argc, char **argv)
{
    struct xs_handle *h, *h2;
    const char *gpath = argc > 2 ? argv[1] : NULL;
    unsigned int gdom = argc > 2 ? (unsigned int)atoi(argv[2]) : 0;

    h = xs_open(0);
    h2 = xs_open(0);
    if (!h || !h2) {
        printf("FAIL xs_open: expected a connection to XENSTORED_PATH=%s, saw %s\n",
               getenv("XENSTORED_PATH") ? getenv("XENSTORED_PATH") : "(unset)",
               strerror(errno));
        printf("C: 0 passed, 1 failed\n");
        return 1;
    }
    test_basic(h);
    test_watches(h, h2);
    test_transactions(h, h2);
    test_perms(h);
    if (gpath)
        test_guest(h, gpath, gdom);
    test_domains(h, h2);
    xs_rm(h, XBT_NULL, "/test");
    xs_close(h2);
    xs_close(h);
    printf("C: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
