// SPDX-License-Identifier: GPL-2.0
/* Unit tests of loader/perms.c: permissions read as xenstored reads them. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "asserts.h"
#include "perms.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* "n0 w5 r5" (xenstore-ls -p letters; a leading I marks XS_PERM_IGNORE) */
static unsigned int parse(const char *s, struct xs_permissions *p, unsigned int max)
{
	unsigned int n = 0;

	while (*s && n < max) {
		unsigned int bits = 0;
		char *end;

		if (*s == ' ') {
			s++;
			continue;
		}
		if (*s == 'I') {
			bits |= XS_PERM_IGNORE;
			s++;
		}
		switch (*s++) {
		case 'n': break;
		case 'r': bits |= XS_PERM_READ; break;
		case 'w': bits |= XS_PERM_WRITE; break;
		case 'b': bits |= XS_PERM_READ | XS_PERM_WRITE; break;
		default: fail_msg("bad perms \"%s\"", s - 1);
		}
		p[n].id = strtoul(s, &end, 10);
		p[n].perms = bits;
		s = end;
		n++;
	}
	return n;
}

struct stubs {
	unsigned int stub, unknown;	/* 0 = none */
};

static int is_stub(void *ctx, unsigned int dom)
{
	const struct stubs *st = ctx;

	if (st->unknown && dom == st->unknown)
		return -EACCES;
	return st->stub && dom == st->stub;
}

struct write_case {
	const char *perms;
	unsigned int guest;
	struct stubs stubs;
	bool writable;
	const char *why;
};

static const struct write_case write_cases[] = {
	{ "n0 r5", 5, { 0, 0 }, false, "owner dom0, guest reads" },
	{ "n0 w5 r5", 5, { 0, 0 }, true, "the first entry for the guest wins: w" },
	{ "n0 r5 w5", 5, { 0, 0 }, false, "the first entry for the guest wins: r" },
	{ "n0 b5", 5, { 0, 0 }, true, "both" },
	{ "n5", 5, { 0, 0 }, true, "the guest owns it" },
	{ "n5 r0", 5, { 0, 0 }, true, "the guest owns it; its own letter is the default" },
	{ "w0", 5, { 0, 0 }, true, "the owner's letter is the default for the unlisted guest" },
	{ "b0 r5", 5, { 0, 0 }, false, "default b, but the guest is listed read-only" },
	{ "r0", 5, { 0, 0 }, false, "default read" },
	{ "n0 r6 w7", 5, { 0, 0 }, false, "other domains' entries" },
	{ "n0 Ib5 r5", 5, { 0, 0 }, false, "an ignored entry (dead domain) does not count" },
	{ "n0 Iw5", 5, { 0, 0 }, false, "only an ignored entry: the default applies" },
	{ "n3 r5", 5, { 0, 0 }, false, "a driver domain owns it, guest reads" },
	{ "", 5, { 0, 0 }, true, "no permissions at all: not trusted" },
	{ "n0 b9 r5", 5, { 9, 0 }, true, "stub domain 9 of 5: its own entry comes first" },
	{ "n0 r5 b9", 5, { 9, 0 }, false, "stub domain 9 of 5: its target's entry comes first" },
	{ "n0 b9 r5", 5, { 0, 0 }, false, "domain 9 is not a stub domain of 5" },
	{ "n9 r5", 5, { 9, 0 }, true, "the stub domain owns it" },
	{ "n9 r5", 5, { 0, 0 }, false, "domain 9 owns it but is not the guest's" },
	{ "n0 r5", 5, { 9, 0 }, false, "an unlisted stub domain has its target's rights" },
	{ "n0 b9 r5", 5, { 0, 9 }, true, "cannot tell whether 9 is a stub domain: not trusted" },
	{ "n0 r5 b9", 5, { 0, 9 }, false, "whatever 9 is, its target's entry comes first" },
	{ "n0 r9 r5", 5, { 0, 9 }, false, "unknown 9 can only read" },
	{ "n3 r0", 0, { 0, 0 }, true, "domain 0 can write anything" },
};

static void test_guest_can_write(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(write_cases); i++) {
		const struct write_case *c = &write_cases[i];
		struct xs_permissions p[8];
		unsigned int n = parse(c->perms, p, ARRAY_SIZE(p));
		struct stubs st = c->stubs;
		bool got = xsperm_guest_can_write(p, n, c->guest, is_stub, &st);

		if (got != c->writable)
			fail_msg("\"%s\", guest %u (%s): expected %s, seen %s", c->perms, c->guest,
				 c->why, c->writable ? "writable" : "not writable",
				 got ? "writable" : "not writable");
	}
}

struct of_case {
	const char *perms;
	unsigned int dom;
	int target;
	unsigned int bits;
};

#define ALL	(XS_PERM_READ | XS_PERM_WRITE | XS_PERM_OWNER)
#define RW	(XS_PERM_READ | XS_PERM_WRITE)

static const struct of_case of_cases[] = {
	{ "n0 w5 r5", 5, XSPERM_NO_TARGET, XS_PERM_WRITE },
	{ "n0 r5 w5", 5, XSPERM_NO_TARGET, XS_PERM_READ },
	{ "r0 w6", 5, XSPERM_NO_TARGET, XS_PERM_READ },
	{ "n5", 5, XSPERM_NO_TARGET, ALL },
	{ "n5", 9, 5, ALL },
	{ "n0 r5 b9", 9, 5, XS_PERM_READ },
	{ "n0 b9 r5", 9, 5, RW },
	{ "n0 r5", 0, XSPERM_NO_TARGET, ALL },
	{ "n0 Iw5 r5", 5, XSPERM_NO_TARGET, XS_PERM_READ },
};

static void test_perm_of(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(of_cases); i++) {
		const struct of_case *c = &of_cases[i];
		struct xs_permissions p[8];
		unsigned int n = parse(c->perms, p, ARRAY_SIZE(p));
		unsigned int got = xsperm_of(p, n, c->dom, c->target);

		if (got != c->bits)
			fail_msg("\"%s\", domain %u target %d: expected bits %#x, seen %#x",
				 c->perms, c->dom, c->target, c->bits, got);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guest_can_write),
		cmocka_unit_test(test_perm_of),
	};

	return cmocka_run_group_tests_name("perms", tests, NULL, NULL);
}
