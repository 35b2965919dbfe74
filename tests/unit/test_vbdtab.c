// SPDX-License-Identifier: GPL-2.0
/* Unit tests of loader/vbdtab.c: the VBD table and its per-domain index. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include "asserts.h"
#include "vbdtab.h"

struct entry {
	int payload;
	struct vbd_node node;	/* not first: vbd_entry() must find the entry */
};

static struct entry *add(struct vbd_table *t, unsigned int domid, unsigned int devid)
{
	struct entry *e = calloc(1, sizeof(*e));

	ASSERT_NOT_NULL(e, "e");
	e->payload = (int)(domid * 100000 + devid);
	vbdtab_add(t, &e->node, domid, devid);
	return e;
}

static int count_domain(const struct vbd_table *t, unsigned int domid)
{
	struct vbd_node *n;
	int k = 0;

	for (n = vbdtab_dom_first(t, domid); n; n = vbdtab_dom_next(n)) {
		ASSERT_EQ(n->domid, domid, "n->domid");
		k++;
	}
	return k;
}

static int count_all(const struct vbd_table *t)
{
	struct vbd_node *n;
	int k = 0;

	for (n = vbdtab_first(t); n; n = vbdtab_next(t, n))
		k++;
	return k;
}

static void test_find_add_del(void **state)
{
	struct vbd_table *t = calloc(1, sizeof(*t));
	struct entry *a, *b;

	(void)state;
	ASSERT_NULL(vbdtab_find(t, 1, 51712), "vbdtab_find(t, 1, 51712)");
	a = add(t, 1, 51712);
	b = add(t, 1, 51728);
	ASSERT_PTR_EQ(vbd_entry(vbdtab_find(t, 1, 51712), struct entry, node), a,
		"vbd_entry(vbdtab_find(t, 1, 51712), struct entry, node)");
	ASSERT_EQ(vbd_entry(vbdtab_find(t, 1, 51728), struct entry, node)->payload,
			 100000 + 51728, "vbd_entry(vbdtab_find(t, 1, 51728), struct entry, node)->payload");
	ASSERT_NULL(vbdtab_find(t, 2, 51712), "vbdtab_find(t, 2, 51712)");
	vbdtab_del(t, &a->node);
	ASSERT_NULL(vbdtab_find(t, 1, 51712), "vbdtab_find(t, 1, 51712)");
	ASSERT_PTR_EQ(vbdtab_find(t, 1, 51728), &b->node, "vbdtab_find(t, 1, 51728)");
	ASSERT_EQ(count_domain(t, 1), 1, "count_domain(t, 1)");
	vbdtab_del(t, &b->node);
	ASSERT_EQ(count_all(t), 0, "count_all(t)");
	free(a);
	free(b);
	free(t);
}

/* Domains 3 and 3 + VBDTAB_DOM_BUCKETS share a chain of the index; keys
 * that hash to one bucket of the table share a chain too. */
static void test_domains_apart(void **state)
{
	struct vbd_table *t = calloc(1, sizeof(*t));
	unsigned int other = 3 + VBDTAB_DOM_BUCKETS, i;
	struct vbd_node *n, *next;

	(void)state;
	for (i = 0; i < 40; i++) {
		add(t, 3, 51712 + 16 * i);
		add(t, other, 51712 + 16 * i);
	}
	/* (domid * 31 + devid) % 1024 equal: 0/31 and 1/0 */
	add(t, 0, 31);
	add(t, 1, 0);
	ASSERT_EQ(count_domain(t, 3), 40, "count_domain(t, 3)");
	ASSERT_EQ(count_domain(t, other), 40, "count_domain(t, other)");
	ASSERT_EQ(count_domain(t, 4), 0, "count_domain(t, 4)");
	ASSERT_EQ(count_all(t), 82, "count_all(t)");
	ASSERT_EQ(vbdtab_find(t, 0, 31)->devid, 31, "vbdtab_find(t, 0, 31)->devid");
	ASSERT_EQ(vbdtab_find(t, 1, 0)->domid, 1, "vbdtab_find(t, 1, 0)->domid");

	/* taking a domain out while walking it leaves the other whole */
	for (n = vbdtab_dom_first(t, 3); n; n = next) {
		next = vbdtab_dom_next(n);
		vbdtab_del(t, n);
		free(vbd_entry(n, struct entry, node));
	}
	ASSERT_EQ(count_domain(t, 3), 0, "count_domain(t, 3)");
	ASSERT_EQ(count_domain(t, other), 40, "count_domain(t, other)");
	ASSERT_NULL(vbdtab_find(t, 3, 51712), "vbdtab_find(t, 3, 51712)");
	ASSERT_NOT_NULL(vbdtab_find(t, other, 51712 + 16 * 39),
		"vbdtab_find(t, other, 51712 + 16 * 39)");

	/* and everything, walking all */
	for (n = vbdtab_first(t); n; n = next) {
		next = vbdtab_next(t, n);
		vbdtab_del(t, n);
		free(vbd_entry(n, struct entry, node));
	}
	ASSERT_EQ(count_all(t), 0, "count_all(t)");
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_add_del),
		cmocka_unit_test(test_domains_apart),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
