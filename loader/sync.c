// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "devname.h"
#include "limits.h"
#include "log.h"
#include "parse.h"
#include "perms.h"
#include "sync.h"
#include "xspath.h"

unsigned int sync_own_domid(struct xs_handle *xs)
{
	unsigned int len;
	char *v = xs_read(xs, XBT_NULL, "domid", &len);
	unsigned long id = 0;

	if (v) {
		char *end;

		id = strtoul(v, &end, 10);
		if (*end || id > 0x7fef)
			id = 0;
		free(v);
	}
	return id;
}

int sync_init(struct sync *s, struct xs_handle *xs, struct blkqos_maps *maps,
	      unsigned int backend)
{
	memset(s, 0, sizeof(*s));
	s->xs = xs;
	s->maps = maps;
	s->backend = backend;
	xs_vbd_root(s->vbd_root, sizeof(s->vbd_root), backend);
	return 0;
}

static void log_rule(void *ctx, const char *where, const char *token, const char *reason)
{
	(void)ctx;
	log_warn("%s: \"%s\": %s", where, token, reason);
}

int sync_load_rules(struct sync *s, const char *path)
{
	FILE *f = fopen(path, "r");
	int n;

	if (!f)
		return -errno;
	n = qos_rules_load(f, path, &s->rules, log_rule, NULL);
	fclose(f);
	if (n < 0)
		return n;
	s->have_rules = true;
	log_info("rules: %zu from %s%s", s->rules.n, path, n ? " (some lines skipped, see above)" : "");
	return 0;
}


void sync_vbd_path(const struct sync *s, unsigned int domid, unsigned int devid, char *buf,
		   size_t len)
{
	xs_vbd_dir(buf, len, s->vbd_root, domid, devid);
}

void sync_dom_path(const struct sync *s, unsigned int domid, char *buf, size_t len)
{
	xs_dom_dir(buf, len, s->vbd_root, domid);
	snprintf(buf + strlen(buf), len - strlen(buf), "/qos");
}

static bool parse_uint(const char *txt, unsigned int *out)
{
	char *end;
	unsigned long v;

	if (!txt || !*txt || *txt < '0' || *txt > '9')
		return false;
	errno = 0;
	v = strtoul(txt, &end, 10);
	if (*end || errno || v > 0xffffffffUL)
		return false;
	*out = v;
	return true;
}

/*
 * Is domain dom a device-model stub domain of guest? libxl writes the
 * target into the stub domain's own directory, where no guest can write.
 * 1 yes, 0 no, -errno if that cannot be read (counted as yes by the caller).
 */
struct stub_ctx {
	struct sync *s;
	unsigned int guest;
};

static int is_stub_of(void *ctx, unsigned int dom)
{
	struct stub_ctx *c = ctx;
	char path[64];
	unsigned int len, target;
	char *v;
	bool yes;

	if (dom == c->s->backend)	/* the backend is nobody's stub domain */
		return 0;
	snprintf(path, sizeof(path), "/local/domain/%u/target", dom);
	v = xs_read(c->s->xs, XBT_NULL, path, &len);
	if (!v)
		return errno == ENOENT ? 0 : -errno;
	yes = parse_uint(v, &target) && target == c->guest;
	free(v);
	return yes;
}

/*
 * Can the guest (or a stub domain of it) write this node? 1 yes, 0 no, or
 * -errno when the permissions cannot be read: then nothing is known about
 * the node, which is neither trusted nor absent.
 */
static int guest_can_write(struct sync *s, const char *path, unsigned int guest)
{
	struct stub_ctx sc = { s, guest };
	struct xs_permissions *p;
	unsigned int n;
	bool writable;

	p = xs_get_permissions(s->xs, XBT_NULL, path, &n);
	if (!p)
		return errno ? -errno : -EIO;
	writable = xsperm_guest_can_write(p, n, guest, is_stub_of, &sc);
	free(p);
	return writable;
}

/* A read that failed for another reason than the node being absent. */
static void log_read_error(struct sync *s, const char *path, const char *what, int err)
{
	log_warn("%s: cannot %s: %s (the last good setting stays)", path, what, strerror(err));
	s->errors++;
}

/* The QoS keys of one VBD or domain as read from xenstore, and how the read went. */
struct keyset {
	struct qos_keys keys;	/* relative: "qos/iops", "credit" */
	/* keys skipped because the guest can write them: their setting stays */
	bool untrusted[QOS_NR_SLOTS];
	/* a read failed (not "absent"): the keyset is not to be used, the
	 * VBD or domain keeps what it has */
	bool failed;
};

/*
 * A key the guest could have written is bad input like any other: what it
 * governs keeps its last good setting (prev), it is not lifted.
 */
static void keep_untrusted(const struct keyset *k, const struct blkqos_limits *prev,
			   struct blkqos_limits *out)
{
	static const struct blkqos_limits none;
	int slot;

	if (!prev)
		prev = &none;
	for (slot = 0; slot < QOS_NR_SLOTS; slot++) {
		if (!k->untrusted[slot])
			continue;
		if (slot < QOS_SLOT_IOPS_SIZE)
			*BLKQOS_LIMIT_AT(out, slot / 3) = *BLKQOS_LIMIT_AT(prev, slot / 3);
		else if (slot == QOS_SLOT_IOPS_SIZE)
			out->iops_size = prev->iops_size;
		else if (slot == QOS_SLOT_FLUSH)
			out->flush_mode = prev->flush_mode;
		else if (slot == QOS_SLOT_DISCARD)
			out->discard_mode = prev->discard_mode;
		else	/* the flat compatibility keys all set the total iops limit */
			out->iops = prev->iops;
	}
}

struct vbd_cache {
	struct vbd_node node;
	struct keyset keys;
};

/* The VBD's cached keys, or NULL. */
static struct vbd_cache *cache_find(const struct sync *s, unsigned int domid, unsigned int devid)
{
	struct vbd_node *n = vbdtab_find(&s->cache, domid, devid);

	return n ? vbd_entry(n, struct vbd_cache, node) : NULL;
}

static void keyset_free(struct keyset *k)
{
	qos_keys_free(&k->keys);
}

static void cache_entry_free(struct vbd_cache *c)
{
	keyset_free(&c->keys);
	free(c);
}

static void cache_drop(struct sync *s, unsigned int domid, unsigned int devid)
{
	struct vbd_cache *c = cache_find(s, domid, devid);

	if (!c)
		return;
	vbdtab_del(&s->cache, &c->node);
	cache_entry_free(c);
}

static void cache_drop_domain(struct sync *s, unsigned int domid)
{
	struct vbd_node *n, *next;

	for (n = vbdtab_dom_first(&s->cache, domid); n; n = next) {
		next = vbdtab_dom_next(n);
		vbdtab_del(&s->cache, n);
		cache_entry_free(vbd_entry(n, struct vbd_cache, node));
	}
}

/* A (domain, 16-bit handle) and the devid that holds it in the maps. */
struct fold_owner {
	struct fold_owner *next;
	unsigned int domid, key, devid;
	bool refused_said;		/* the refusal of refused was reported */
	unsigned int refused;		/* the last devid refused for it */
};

static struct fold_owner **owner_slot(struct sync *s, unsigned int domid, unsigned int key)
{
	struct fold_owner **p = &s->owners[(domid * 31 + key) % 256];

	while (*p && ((*p)->domid != domid || (*p)->key != key))
		p = &(*p)->next;
	return p;
}

/* The devid that holds devid's handle, or devid itself when none does. */
static unsigned int owner_of(struct sync *s, unsigned int domid, unsigned int devid)
{
	struct fold_owner *o = *owner_slot(s, domid, blkqos_devid_key(devid));

	return o ? o->devid : devid;
}

static void owner_claim(struct sync *s, unsigned int domid, unsigned int devid)
{
	struct fold_owner **p = owner_slot(s, domid, blkqos_devid_key(devid)), *o = *p;

	if (o)
		return;
	o = calloc(1, sizeof(*o));
	if (!o) {	/* then the next VBD of that handle is not refused: logged */
		log_warn("vbd %u/%u: out of memory: another devid of its 16-bit handle would "
			 "not be refused", domid, devid);
		return;
	}
	o->domid = domid;
	o->key = blkqos_devid_key(devid);
	o->devid = devid;
	*p = o;
}

static void vbd_removed(struct sync *s, unsigned int domid, unsigned int devid);

/*
 * No devid is known to hold devid's handle, but the maps have its entry
 * (registered by an earlier loader): the maps say which devid registered
 * it. If that one is still in xenstore it holds the handle; if xenstore
 * says it is gone, its entry goes, for devid to register its own.
 */
static void owner_learn(struct sync *s, unsigned int domid, unsigned int devid)
{
	unsigned int key = blkqos_devid_key(devid);
	char dir[256];
	unsigned int n;
	__u32 holder;
	char **ents;

	if (*owner_slot(s, domid, key) ||
	    blkqos_maps_vbd_holder(s->maps, domid, devid, &holder) ||
	    blkqos_devid_key(holder) != key || holder == devid)
		return;
	sync_vbd_path(s, domid, holder, dir, sizeof(dir));
	ents = xs_directory(s->xs, XBT_NULL, dir, &n);
	if (ents || errno != ENOENT) {	/* there, or not known: it keeps the entry */
		free(ents);
		owner_claim(s, domid, holder);
		return;
	}
	if (blkqos_maps_vbd_del(s->maps, domid, devid) == 0) {
		log_info("vbd %u/%u: %u, which held its 16-bit handle %u, is gone", domid, devid,
			 holder, key);
		vbd_removed(s, domid, holder);
	}
}

static void owner_release(struct sync *s, unsigned int domid, unsigned int key)
{
	struct fold_owner **p = owner_slot(s, domid, key), *o = *p;

	if (!o)
		return;
	*p = o->next;
	free(o);
}

static void owners_drop_domain(struct sync *s, unsigned int domid)
{
	int i;

	for (i = 0; i < 256; i++) {
		struct fold_owner **p = &s->owners[i];

		while (*p) {
			struct fold_owner *o = *p;

			if (o->domid != domid) {
				p = &o->next;
				continue;
			}
			*p = o->next;
			free(o);
		}
	}
}

/* Keep a VBD's keys for the next event; the keyset is left empty. */
static void cache_store(struct sync *s, unsigned int domid, unsigned int devid, struct keyset *k)
{
	struct vbd_cache *c = cache_find(s, domid, devid);

	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c) {
			keyset_free(k);
			return;
		}
		vbdtab_add(&s->cache, &c->node, domid, devid);
	}
	keyset_free(&c->keys);
	c->keys = *k;	/* the strings move to the cache */
	memset(k, 0, sizeof(*k));
}

/* Read dir/name into the keyset as prefix+name, unless the guest can write it. */
static void keyset_add(struct sync *s, struct keyset *k, const char *dir, const char *prefix,
		       const char *name, unsigned int guest)
{
	char path[512], rel[256];
	unsigned int len;
	int slot, w, ret;
	char *v;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(rel, sizeof(rel), "%s%s", prefix, name);
	slot = qos_slot_of_path(rel);
	w = guest_can_write(s, path, guest);
	if (w == -ENOENT)
		return;		/* vanished meanwhile */
	if (w < 0) {
		log_read_error(s, path, "read its permissions", -w);
		k->failed = true;
		return;
	}
	if (w) {
		log_warn("%s: ignored: domain %u can write it (a guest cannot set its own limits; "
			 "the last good setting stays)", path, guest);
		if (slot >= 0)
			k->untrusted[slot] = true;
		s->errors++;
		return;
	}
	v = xs_read(s->xs, XBT_NULL, path, &len);
	if (!v) {
		if (errno != ENOENT) {
			log_read_error(s, path, "read it", errno);
			k->failed = true;
		}
		return;
	}
	ret = qos_keys_set(&k->keys, rel, v);
	free(v);
	if (ret) {
		log_read_error(s, path, "keep it", -ret);
		k->failed = true;
	}
}

/* The keys under dir/qos/ (if the directory is safe) into k. */
static void read_qos_dir(struct sync *s, struct keyset *k, const char *dir, unsigned int guest)
{
	char qdir[512];
	unsigned int n, i;
	char **ents;
	int w;

	snprintf(qdir, sizeof(qdir), "%s/qos", dir);
	ents = xs_directory(s->xs, XBT_NULL, qdir, &n);
	if (!ents && errno == ENOENT)
		return;		/* no qos/: no limits of that kind */
	w = ents ? guest_can_write(s, qdir, guest) : -errno;
	if (w == -ENOENT) {
		free(ents);
		return;
	}
	if (w < 0) {
		log_read_error(s, qdir, ents ? "read its permissions" : "list it", -w);
		k->failed = true;
		free(ents);
		return;
	}
	if (w) {
		int slot;

		log_warn("%s: ignored: domain %u can write it (a guest cannot set its "
			 "own limits; the last good settings stay)", qdir, guest);
		s->errors++;
		for (slot = 0; slot < QOS_NR_QOS_SLOTS; slot++)
			k->untrusted[slot] = true;
		free(ents);
		return;
	}
	for (i = 0; i < n; i++)
		keyset_add(s, k, qdir, "qos/", ents[i], guest);
	free(ents);
}

struct log_ctx {
	struct sync *s;
	const char *dir;
};

static void log_key(void *ctx, const char *key, const char *value, const char *reason)
{
	struct log_ctx *c = ctx;

	log_warn("%s/%s: \"%s\": %s", c->dir, key, value, reason);
	c->s->errors++;
}

/* The qos/ keys that say a rule's limits; a key the rule leaves out is removed. */
static int rule_keys(const struct qos_rule *r, struct qos_keys *keys)
{
	char name[64], val[32];
	int i, ret = 0;

	for (i = 0; i < BLKQOS_NR_LIMITS && !ret; i++) {
		const struct blkqos_limit *l = BLKQOS_LIMIT_AT(&r->limits, i);
		const char *limit = blkqos_limit_names[i];

		snprintf(name, sizeof(name), "qos/%s", limit);
		qos_format_amount(l->rate, val, sizeof(val));
		ret = qos_keys_set(keys, name, val);
		if (ret || !l->rate)
			continue;
		snprintf(name, sizeof(name), "qos/%s-burst", limit);
		qos_format_amount(l->burst, val, sizeof(val));
		ret = qos_keys_set(keys, name, val);
		snprintf(name, sizeof(name), "qos/%s-peak", limit);
		if (l->peak)
			qos_format_amount(l->peak, val, sizeof(val));
		else
			val[0] = '\0';
		ret = ret ?: qos_keys_set(keys, name, val);
	}
	if (r->limits.iops_size)
		qos_format_amount(r->limits.iops_size, val, sizeof(val));
	else
		val[0] = '\0';
	ret = ret ?: qos_keys_set(keys, "qos/iops-size", val);
	if (ret || r->domain_scope)
		return ret;
	ret = qos_keys_set(keys, "qos/flush", qos_flush_mode_name(r->limits.flush_mode));
	return ret ?: qos_keys_set(keys, "qos/discard",
				   qos_discard_mode_name(r->limits.discard_mode));
}

/*
 * Write a rule's limits as qos/ keys of dir (the rules file follows a guest
 * by name). All of them in one transaction: written one by one, the sync
 * applied each intermediate setting (the new rate with the old burst), and
 * in stock mode each one was a change of io.max.
 */
static int apply_rule(struct sync *s, const char *dir, unsigned int guest,
		      const struct qos_rule *r)
{
	struct qos_keys keys = { 0 };
	char qdir[512], bad[600];
	int ret;

	snprintf(qdir, sizeof(qdir), "%s/qos", dir);
	if (sync_make_qos_dir(s->xs, s->backend, guest, qdir)) {
		ret = errno ? -errno : -EIO;
		log_warn("%s: cannot create: %s", qdir, strerror(-ret));
		return ret;
	}
	ret = rule_keys(r, &keys);
	if (ret)
		log_warn("%s: rule at line %u: %s", qdir, r->line, strerror(-ret));
	else if ((ret = sync_write_keys(s->xs, dir, &keys, bad, sizeof(bad))))
		log_warn("%s: cannot write the rule at line %u: %s (the limits in force stay)",
			 bad, r->line, strerror(-ret));
	else
		log_info("%s: limits written from rule at line %u", qdir, r->line);
	qos_keys_free(&keys);
	return ret;
}

/*
 * The name rules are matched by: the domain's name, without the suffix xl
 * gives a domain during a migration ("<name>--incoming" until its disks
 * exist, the source "<name>--migratedaway"), so that an incoming domain
 * has its rule before its guest runs. NULL if there is none to trust: the
 * node is absent, unreadable, or the guest could have written it (said).
 * *err: 0, or the -errno of a failed read (nothing known then).
 */
static char *rule_name(struct sync *s, unsigned int domid, int *err)
{
	static const char *const suffix[] = { "--incoming", "--migratedaway" };
	char path[64];
	unsigned int len, i;
	char *v;
	int w;

	*err = 0;
	snprintf(path, sizeof(path), "/local/domain/%u/name", domid);
	v = xs_read(s->xs, XBT_NULL, path, &len);
	if (!v) {
		if (errno != ENOENT) {
			*err = -errno;
			log_read_error(s, path, "read it", errno);
		}
		return NULL;
	}
	w = guest_can_write(s, path, domid);
	if (w) {
		if (w < 0) {
			*err = w;
			log_read_error(s, path, "read its permissions", -w);
		} else {
			log_warn("%s: ignored: domain %u can write it (a guest cannot pick its own "
				 "rule; the last good setting stays)", path, domid);
			s->errors++;
			*err = -EPERM;
		}
		free(v);
		return NULL;
	}
	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		size_t l = strlen(v), sl = strlen(suffix[i]);

		if (l > sl && !strcmp(v + l - sl, suffix[i]))
			v[l - sl] = '\0';
	}
	return v;
}

/* A domain whose rules follow its name: the name they were matched by. */
struct dom_name {
	struct dom_name *next;
	unsigned int domid;
	char *name;		/* NULL: none yet */
	bool watched;		/* /local/domain/<domid>/name */
	__u64 retry_ns;		/* its rules' write failed: try again then (0: none) */
};

/* A failed write of a name's rules is tried again this often. */
#define RULE_RETRY_NS 1000000000ull

static struct dom_name **name_slot(struct sync *s, unsigned int domid)
{
	struct dom_name **p = &s->names[domid % 64];

	while (*p && (*p)->domid != domid)
		p = &(*p)->next;
	return p;
}

static void name_watch(struct sync *s, struct dom_name *d)
{
	char path[64];

	snprintf(path, sizeof(path), "/local/domain/%u/name", d->domid);
	d->watched = xs_watch(s->xs, path, "name");
	if (!d->watched) {
		log_warn("%s: cannot watch it: %s (a rename is seen at the next VBD event)", path,
			 strerror(errno));
		s->errors++;
	}
}

/* Follow the domain's name from now on (it was matched as name, may be NULL). */
static void name_track(struct sync *s, unsigned int domid, const char *name)
{
	struct dom_name **p = name_slot(s, domid), *d = *p;

	if (d) {
		if (!d->watched)
			name_watch(s, d);
		return;
	}
	d = calloc(1, sizeof(*d));
	if (!d || (name && !(d->name = strdup(name)))) {
		free(d);
		log_warn("domain %u: out of memory: a rename will not bring its rule", domid);
		return;
	}
	d->domid = domid;
	*p = d;
	name_watch(s, d);
}

/*
 * A rule of a new VBD or domain could not be written: the whole name is
 * written again by sync_retry (as after a rename whose write failed).
 */
static void name_retry_later(struct sync *s, unsigned int domid)
{
	struct dom_name *d = *name_slot(s, domid);

	if (!d)
		return;
	free(d->name);
	d->name = NULL;
	d->retry_ns = blkqos_mono_ns() + RULE_RETRY_NS;
}

static void name_forget(struct sync *s, unsigned int domid)
{
	struct dom_name **p = name_slot(s, domid), *d = *p;
	char path[64];

	if (!d)
		return;
	snprintf(path, sizeof(path), "/local/domain/%u/name", domid);
	if (d->watched && s->xs)
		xs_unwatch(s->xs, path, "name");
	*p = d->next;
	free(d->name);
	free(d);
}

static void reap_if_dead(struct sync *s, unsigned int domid);
static void sync_dom(struct sync *s, unsigned int domid);
static void sync_vbd(struct sync *s, unsigned int domid, unsigned int devid);
static void sync_vbd_event(struct sync *s, const char *path);

/* Limits from a VBD's cached keys, into the map; the last good setting is prev. */
static void apply_cached(struct sync *s, unsigned int domid, unsigned int devid, const char *dir)
{
	struct vbd_cache *c = cache_find(s, domid, devid);
	struct blkqos_limits prev, out;
	struct log_ctx lc = { s, dir };
	struct blkqos_vbd cur;
	bool known = blkqos_maps_vbd_get(s->maps, domid, devid, &cur) == 0;
	char err[256];

	if (!c)
		return;
	if (known)
		prev = cur.limits;
	qos_limits_from_keys(c->keys.keys.kv, c->keys.keys.n, known ? &prev : NULL, &out,
			     log_key, &lc);
	keep_untrusted(&c->keys, known ? &prev : NULL, &out);
	if (blkqos_maps_vbd_set(s->maps, domid, devid, &out, err, sizeof(err))) {
		log_err("%s: %s", dir, err);
		s->errors++;
		return;
	}
	s->syncs++;
	if (s->events && s->events->vbd_limits)
		s->events->vbd_limits(s->events_ctx, domid, devid, !known);
}

/* A VBD left the maps: its domain has one VBD less. */
static void vbd_removed(struct sync *s, unsigned int domid, unsigned int devid)
{
	if (s->events && s->events->vbd_gone)
		s->events->vbd_gone(s->events_ctx, domid, devid);
}

/*
 * A VBD that holds its handle is gone: its entry goes, and another devid of
 * the domain that folds to the same handle (refused so far) may take it.
 */
static void vbd_forget(struct sync *s, unsigned int domid, unsigned int devid)
{
	unsigned int key = blkqos_devid_key(devid), n, i, other;
	char dir[256];
	char **ents;

	if (blkqos_maps_vbd_del(s->maps, domid, devid))
		return;
	log_debug("vbd %u/%u: gone", domid, devid);
	owner_release(s, domid, key);
	vbd_removed(s, domid, devid);
	xs_dom_dir(dir, sizeof(dir), s->vbd_root, domid);
	ents = xs_directory(s->xs, XBT_NULL, dir, &n);
	for (i = 0; ents && i < n; i++)
		if (parse_uint(ents[i], &other) && other != devid && blkqos_devid_key(other) == key &&
		    owner_of(s, domid, other) == other) {
			log_info("vbd %u/%u: %u is gone, %u takes its 16-bit handle %u", domid, other,
				 devid, other, key);
			sync_vbd(s, domid, other);
			break;
		}
	free(ents);
	reap_if_dead(s, domid);
}

/*
 * A watch event on one QoS key of a VBD already known: read that key alone
 * (its permissions and value) and recompute from the cached others.
 */
static void sync_vbd_key(struct sync *s, unsigned int domid, unsigned int devid,
			 const char *prefix, const char *key)
{
	struct vbd_cache *c = cache_find(s, domid, devid);
	struct keyset *k = &c->keys;
	char dir[256], path[512], rel[256];
	unsigned int len;
	char *v = NULL;
	int slot, w, ret;

	sync_vbd_path(s, domid, devid, dir, sizeof(dir));
	snprintf(rel, sizeof(rel), "%s%s", prefix, key);
	slot = qos_slot_of_path(rel);
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	w = guest_can_write(s, path, domid);
	if (w < 0 && w != -ENOENT) {
		/* nothing known about the key: the cached value, the last
		 * good one, stays in force */
		log_read_error(s, path, "read its permissions", -w);
		return;
	}
	if (w > 0) {
		log_warn("%s: ignored: domain %u can write it (a guest cannot set its own limits; "
			 "the last good setting stays)", path, domid);
		s->errors++;
	} else if (w == 0) {
		v = xs_read(s->xs, XBT_NULL, path, &len);
		if (!v && errno != ENOENT) {
			log_read_error(s, path, "read it", errno);
			return;
		}
	}
	if (slot >= 0)
		k->untrusted[slot] = w > 0;
	if (!v) {		/* gone, or not to be trusted */
		qos_keys_unset(&k->keys, rel);
	} else {
		ret = qos_keys_set(&k->keys, rel, v);
		free(v);
		if (ret) {
			/* the cache no longer says what xenstore has: read it
			 * all next time */
			log_read_error(s, path, "keep it", -ret);
			cache_drop(s, domid, devid);
			return;
		}
	}
	apply_cached(s, domid, devid, dir);
}

static void sync_vbd(struct sync *s, unsigned int domid, unsigned int devid)
{
	struct keyset k = { 0 };
	struct blkqos_vbd cur;
	struct blkqos_dom dom;
	char dir[256];
	unsigned int n, i, holder;
	char **ents;
	bool known;

	sync_vbd_path(s, domid, devid, dir, sizeof(dir));
	owner_learn(s, domid, devid);
	ents = xs_directory(s->xs, XBT_NULL, dir, &n);
	known = blkqos_maps_vbd_get(s->maps, domid, devid, &cur) == 0;
	if (!ents && errno != ENOENT) {
		log_read_error(s, dir, "list it", errno);
		return;
	}
	holder = owner_of(s, domid, devid);
	if (holder != devid) {	/* another devid of the domain holds the handle */
		struct fold_owner *o = *owner_slot(s, domid, blkqos_devid_key(devid));

		if (ents && (o->refused != devid || !o->refused_said)) {
			log_warn("%s: refused: devids %u and %u of domain %u are one VBD to blkback "
				 "(16-bit handle %u); %u keeps its entry, %u gets none", dir, devid,
				 holder, domid, blkqos_devid_key(devid), holder, devid);
			o->refused = devid;
			o->refused_said = true;
			s->errors++;
		} else if (!ents && o->refused == devid) {
			o->refused_said = false;
		}
		free(ents);
		return;
	}
	if (!ents) {		/* gone: xenstore says so */
		cache_drop(s, domid, devid);
		if (known)
			vbd_forget(s, domid, devid);
		return;
	}
	if (!known && s->have_rules) {
		int err;
		char *name = rule_name(s, domid, &err);
		const struct qos_rule *r = name ? qos_rules_find_vbd(&s->rules, name, devid) : NULL;

		bool failed = r && apply_rule(s, dir, domid, r);

		if (!err)
			name_track(s, domid, name);
		if (!err && failed)
			name_retry_later(s, domid);
		free(name);
		free(ents);
		ents = xs_directory(s->xs, XBT_NULL, dir, &n);
		if (!ents) {
			if (errno != ENOENT)
				log_read_error(s, dir, "list it", errno);
			return;	/* gone meanwhile: its watch event follows */
		}
	}
	/* A domain forgotten with its last VBD (see reap_if_dead) may still
	 * have domain limits: read them before its VBD joins. */
	if (!known && blkqos_maps_dom_get(s->maps, domid, &dom))
		sync_dom(s, domid);
	for (i = 0; i < n; i++)
		if (qos_slot_of_path(ents[i]) >= QOS_NR_QOS_SLOTS)	/* a flat key */
			keyset_add(s, &k, dir, "", ents[i], domid);
	free(ents);
	read_qos_dir(s, &k, dir, domid);
	if (k.failed) {		/* the cached keys and the map stay as they are */
		keyset_free(&k);
		return;
	}
	cache_store(s, domid, devid, &k);
	apply_cached(s, domid, devid, dir);
	if (blkqos_maps_vbd_get(s->maps, domid, devid, &cur) == 0)
		owner_claim(s, domid, devid);
	log_debug("vbd %u/%u: synced", domid, devid);
}

static void sync_dom(struct sync *s, unsigned int domid)
{
	struct blkqos_limits prev, out;
	struct keyset k = { 0 };
	struct blkqos_dom cur;
	char vdir[256], err[256];
	bool known;
	int ret;

	xs_dom_dir(vdir, sizeof(vdir), s->vbd_root, domid);
	known = blkqos_maps_dom_get(s->maps, domid, &cur) == 0;
	if (!known && s->have_rules) {
		int err;
		char *name = rule_name(s, domid, &err);
		const struct qos_rule *r = name ? qos_rules_find_domain(&s->rules, name) : NULL;

		bool failed = r && apply_rule(s, vdir, domid, r);

		if (!err)
			name_track(s, domid, name);
		if (!err && failed)
			name_retry_later(s, domid);
		free(name);
	}
	read_qos_dir(s, &k, vdir, domid);
	if (k.failed) {		/* the domain keeps its limits */
		keyset_free(&k);
		return;
	}
	if (known)
		prev = cur.limits;
	if (!known && k.keys.n == 0)
		return;		/* no domain limits and none before */
	{
		struct log_ctx lc = { s, vdir };

		qos_dom_limits_from_keys(k.keys.kv, k.keys.n, known ? &prev : NULL, &out,
					 log_key, &lc);
		keep_untrusted(&k, known ? &prev : NULL, &out);
	}
	keyset_free(&k);
	ret = blkqos_maps_dom_set(s->maps, domid, &out, err, sizeof(err));
	if (ret) {
		log_err("%s/qos: %s", vdir, err);
		s->errors++;
		return;
	}
	s->syncs++;
	if (s->events && s->events->dom_limits)
		s->events->dom_limits(s->events_ctx, domid);
	log_debug("domain %u: synced", domid);
}

/*
 * Is the map entry of key_devid (folded) among the domain directory's
 * entries? The devid that holds it must be, when one is known.
 */
static bool vbd_listed(struct sync *s, unsigned int domid, char **ents, unsigned int n,
		       __u32 key_devid)
{
	struct fold_owner *o = *owner_slot(s, domid, key_devid);
	unsigned int i, devid;

	for (i = 0; ents && i < n; i++)
		if (parse_uint(ents[i], &devid) && blkqos_devid_key(devid) == key_devid &&
		    (!o || o->devid == devid))
			return true;
	return false;
}

static int cmp_devid(const void *a, const void *b)
{
	unsigned int x = 0, y = 0;

	parse_uint(*(char *const *)a, &x);
	parse_uint(*(char *const *)b, &y);
	return x < y ? -1 : x > y;
}

/* Every VBD of one domain, and its domain limits; forget what is gone. */
static void sync_domain_tree(struct sync *s, unsigned int domid)
{
	struct blkqos_vbd_key k, *prev = NULL, *gone = NULL;
	struct blkqos_vbd v;
	struct blkqos_dom dom;
	char dir[256];
	unsigned int n, i, devid, ngone = 0, nvbds = 0;
	char **ents;

	xs_dom_dir(dir, sizeof(dir), s->vbd_root, domid);
	ents = xs_directory(s->xs, XBT_NULL, dir, &n);
	if (!ents && errno != ENOENT) {
		/* not "every VBD gone": nothing is known, nothing changes */
		log_read_error(s, dir, "list it", errno);
		return;
	}
	sync_dom(s, domid);
	/* lowest devid first: of two that fold to one handle and neither
	 * known to hold it (an entry of an older loader), it holds it */
	if (ents)
		qsort(ents, n, sizeof(*ents), cmp_devid);
	for (i = 0; ents && i < n; i++)
		if (parse_uint(ents[i], &devid)) {
			sync_vbd(s, domid, devid);
			/* a refused devid is not one more VBD */
			nvbds += owner_of(s, domid, devid) == devid &&
				 blkqos_maps_vbd_get(s->maps, domid, devid, &v) == 0;
		}
	/* Every VBD the domain has in the maps is in xenstore: nothing to forget. */
	if (blkqos_maps_dom_get(s->maps, domid, &dom) || dom.nr_vbds == nvbds)
		goto cleanup;
	/* VBDs in the maps that xenstore no longer has (the map holds BLKQOS_MAX_VBDS). */
	gone = calloc(BLKQOS_MAX_VBDS, sizeof(*gone));
	if (!gone) {
		log_read_error(s, dir, "compare it with the maps", ENOMEM);
		goto cleanup;
	}
	while (blkqos_maps_vbd_next(s->maps, prev, &k) == 0 && ngone < BLKQOS_MAX_VBDS) {
		prev = &k;
		if (k.domid == domid && !vbd_listed(s, domid, ents, n, k.devid))
			gone[ngone++] = k;
	}
	for (i = 0; i < ngone; i++) {
		unsigned int holder = owner_of(s, domid, gone[i].devid);

		cache_drop(s, domid, holder);
		vbd_forget(s, domid, holder);
	}
cleanup:
	free(gone);
	free(ents);
}

void sync_all(struct sync *s)
{
	unsigned int n, i, domid;
	char **ents = xs_directory(s->xs, XBT_NULL, s->vbd_root, &n);

	if (!ents && errno != ENOENT)
		log_read_error(s, s->vbd_root, "list it", errno);
	for (i = 0; ents && i < n; i++)
		if (parse_uint(ents[i], &domid))
			sync_domain_tree(s, domid);
	free(ents);
	sync_reap(s);
}

/*
 * The name of a domain followed by its rules changed (xl rename, the end of
 * a migration): the rules of its new name are written for its VBDs and the
 * domain. A name without a rule changes nothing: the limits in force stay.
 */
static void sync_name(struct sync *s, unsigned int domid)
{
	struct dom_name *d = *name_slot(s, domid);
	const struct qos_rule *r;
	char vdir[256], dir[300];
	unsigned int n, i, devid, applied = 0, failed = 0;
	char **ents;
	char *name;
	int err;

	if (!d || !s->have_rules)
		return;
	name = rule_name(s, domid, &err);
	if (!name || (d->name && !strcmp(name, d->name))) {
		free(name);	/* unchanged, gone (dying), or not to be trusted */
		if (!err || err == -EPERM)
			d->retry_ns = 0;	/* a failed read is tried again */
		return;
	}
	xs_dom_dir(vdir, sizeof(vdir), s->vbd_root, domid);
	ents = xs_directory(s->xs, XBT_NULL, vdir, &n);
	if (!ents && errno != ENOENT) {
		log_read_error(s, vdir, "list it", errno);
		free(name);
		return;		/* d->name unchanged: the next event tries again */
	}
	for (i = 0; ents && i < n; i++) {
		if (!parse_uint(ents[i], &devid) || owner_of(s, domid, devid) != devid)
			continue;
		r = qos_rules_find_vbd(&s->rules, name, devid);
		if (!r)
			continue;
		xs_vbd_dir(dir, sizeof(dir), s->vbd_root, domid, devid);
		if (apply_rule(s, dir, domid, r))
			failed++;
		applied++;
	}
	free(ents);
	r = qos_rules_find_domain(&s->rules, name);
	if (r) {
		if (apply_rule(s, vdir, domid, r))
			failed++;
		applied++;
	}
	if (failed) {
		if (!d->retry_ns)
			log_warn("domain %u: now \"%s\": %u of its %u rules not written (tried "
				 "again every second; the limits in force stay)", domid, name,
				 failed, applied);
		d->retry_ns = blkqos_mono_ns() + RULE_RETRY_NS;
		free(name);
		return;		/* d->name unchanged: sync_retry tries again */
	}
	d->retry_ns = 0;
	if (applied)
		log_info("domain %u: now \"%s\": %u of its rules written", domid, name, applied);
	else
		log_info("domain %u: now \"%s\", which no rule names: the limits in force stay",
			 domid, name);
	free(d->name);
	d->name = name;
}

void sync_retry(struct sync *s)
{
	__u64 now = blkqos_mono_ns();
	struct dom_name *d;
	int i;

	for (i = 0; i < 64; i++)
		for (d = s->names[i]; d; d = d->next)
			if (d->retry_ns && now >= d->retry_ns) {
				d->retry_ns = now + RULE_RETRY_NS;
				sync_name(s, d->domid);
			}
}

void sync_rewatch(struct sync *s)
{
	struct dom_name *d;
	int i;

	for (i = 0; i < 64; i++)
		for (d = s->names[i]; d; d = d->next)
			name_watch(s, d);
}

void sync_path(struct sync *s, const char *path)
{
	unsigned int nd;
	int pos = 0;

	if (sscanf(path, "/local/domain/%u/name%n", &nd, &pos) == 1 && pos && !path[pos]) {
		sync_name(s, nd);
		return;
	}
	sync_vbd_event(s, path);
}

static void sync_vbd_event(struct sync *s, const char *path)
{
	size_t rl = strlen(s->vbd_root);
	char buf[256], *a, *b, *c, *d, *save = NULL;
	unsigned int domid, devid;

	if (!strcmp(path, "@releaseDomain")) {
		sync_reap(s);
		return;
	}
	if (strncmp(path, s->vbd_root, rl) || (path[rl] && path[rl] != '/'))
		return;
	if (!path[rl] || !path[rl + 1]) {
		sync_all(s);
		return;
	}
	snprintf(buf, sizeof(buf), "%s", path + rl + 1);
	a = strtok_r(buf, "/", &save);
	b = strtok_r(NULL, "/", &save);
	c = strtok_r(NULL, "/", &save);
	d = strtok_r(NULL, "/", &save);
	if (!parse_uint(a, &domid))
		return;
	if (!b) {
		sync_domain_tree(s, domid);
	} else if (!strcmp(b, "qos")) {
		sync_dom(s, domid);
	} else if (parse_uint(b, &devid)) {
		struct blkqos_vbd v;
		/* cached and still in the maps (a VBD removed by a domain-wide
		 * resync may come back under the same id) */
		bool cached = cache_find(s, domid, devid) != NULL &&
			      blkqos_maps_vbd_get(s->maps, domid, devid, &v) == 0;

		if (!cached || !c || (!strcmp(c, "qos") && !d))
			sync_vbd(s, domid, devid);	/* new VBD, or its dir, or qos/ */
		else if (!strcmp(c, "qos") && !strtok_r(NULL, "/", &save))
			sync_vbd_key(s, domid, devid, "qos/", d);
		else if (!d && qos_slot_of_path(c) >= QOS_NR_QOS_SLOTS)
			sync_vbd_key(s, domid, devid, "", c);
		else if (s->events && s->events->vbd_backend && !d &&
			 (!strcmp(c, "state") || !strcmp(c, "physical-device")))
			s->events->vbd_backend(s->events_ctx, domid, devid);	/* ring threads, device */
		/* other keys of a known VBD (params...) do not change limits */
	}
}

/*
 * Is the domain dead? Only what xenstore says positively counts: 1 dead (not
 * introduced), 0 alive, -errno not known. xenstored answers the question to
 * privileged callers only: in a driver domain it is refused (EACCES), and
 * the loader stops asking.
 */
static int domain_dead(struct sync *s, unsigned int domid)
{
	bool in;
	int err;

	if (s->cannot_ask)
		return -EACCES;
	errno = 0;
	in = xs_is_domain_introduced(s->xs, domid);
	err = errno;
	if (in)
		return 0;
	if (!err)
		return 1;
	if (err == EACCES) {
		s->cannot_ask = true;
		log_info("xenstore refuses IS_DOMAIN_INTRODUCED (EACCES: an unprivileged driver "
			 "domain): a domain's map entries go with its last VBD; its qos node "
			 "stays in xenstore");
	} else {
		log_warn("domain %u: cannot ask xenstore whether it exists: %s (its entries stay)",
			 domid, strerror(err));
		s->errors++;
	}
	return -err;
}

/* Forget a domain; its domain-wide limits node too if it is known dead. */
static void reap_one(struct sync *s, unsigned int domid, bool dead)
{
	char path[256];

	blkqos_maps_dom_del(s->maps, domid);
	cache_drop_domain(s, domid);
	owners_drop_domain(s, domid);
	name_forget(s, domid);
	if (s->events && s->events->dom_gone)
		s->events->dom_gone(s->events_ctx, domid);
	if (!dead) {
		log_info("domain %u: no VBD left, its map entry removed", domid);
		return;
	}
	/* The domain-wide limits node is ours to clean up. */
	sync_dom_path(s, domid, path, sizeof(path));
	xs_rm(s->xs, XBT_NULL, path);
	log_info("domain %u: gone, its entries removed", domid);
}

void sync_reap(struct sync *s)
{
	struct gone { __u32 domid; bool dead; } *gone;
	__u32 d, *prev = NULL;
	unsigned int ngone = 0, i;

	/* the doms map holds at most BLKQOS_MAX_DOMS */
	gone = calloc(BLKQOS_MAX_DOMS, sizeof(*gone));
	if (!gone) {
		log_warn("@releaseDomain: out of memory; dead domains stay until the next one");
		s->errors++;
		return;
	}
	while (blkqos_maps_dom_next(s->maps, prev, &d) == 0) {
		struct blkqos_dom dom;
		int r;

		prev = &d;
		if (d == s->backend || ngone >= BLKQOS_MAX_DOMS)
			continue;
		r = domain_dead(s, d);
		if (r > 0) {
			gone[ngone].dead = true;
			gone[ngone++].domid = d;
		} else if (r < 0 && s->cannot_ask && !blkqos_maps_dom_get(s->maps, d, &dom) &&
			   !dom.nr_vbds) {
			gone[ngone].dead = false;	/* limits nothing: the map entry goes */
			gone[ngone++].domid = d;
		}
	}
	for (i = 0; i < ngone; i++)
		reap_one(s, gone[i].domid, gone[i].dead);
	free(gone);
}

/*
 * The last VBD of a domain went: if the domain is dead, forget it now. A
 * backend write after @releaseDomain (blkback's last state change) registers
 * the VBD and its domain again; without this the domain's entry would stay
 * until the next domain dies. Where xenstore will not say (a driver
 * domain), the map entry goes and the qos node stays: a domain that lost its
 * last disk cannot be told from a dead one.
 */
static void reap_if_dead(struct sync *s, unsigned int domid)
{
	struct blkqos_dom dom;
	int r;

	if (domid == s->backend || blkqos_maps_dom_get(s->maps, domid, &dom) || dom.nr_vbds)
		return;
	r = domain_dead(s, domid);
	if (r > 0)
		reap_one(s, domid, true);
	else if (r < 0 && s->cannot_ask)
		reap_one(s, domid, false);
}

int sync_make_qos_dir(struct xs_handle *xs, unsigned int backend, unsigned int guest,
		      const char *dir)
{
	struct xs_permissions perms[2] = {
		{ .id = backend, .perms = XS_PERM_NONE },
		{ .id = guest, .perms = XS_PERM_READ },
	};
	unsigned int len;
	char *v = xs_read(xs, XBT_NULL, dir, &len);

	if (v) {
		free(v);
		return 0;
	}
	if (!xs_mkdir(xs, XBT_NULL, dir))
		return -1;
	if (!xs_set_permissions(xs, XBT_NULL, dir, perms, guest == backend ? 1 : 2))
		return -1;
	return 0;
}

/* A transaction that xenstored aborts for a conflict (EAGAIN) is retried. */
#define WRITE_KEYS_TRIES 16

static bool write_key(struct xs_handle *xs, xs_transaction_t t, const char *path,
		      const char *value)
{
	if (*value)
		return xs_write(xs, t, path, value, strlen(value));
	return xs_rm(xs, t, path) || errno == ENOENT;
}

int sync_write_keys(struct xs_handle *xs, const char *dir, const struct qos_keys *keys,
		    char *bad, size_t badlen)
{
	char path[600];
	xs_transaction_t t;
	int tries, err;
	size_t i;

	for (tries = 0; tries < WRITE_KEYS_TRIES; tries++) {
		t = xs_transaction_start(xs);
		if (t == XBT_NULL) {
			err = errno ? -errno : -EIO;
			snprintf(bad, badlen, "%s", dir);
			return err;
		}
		for (i = 0; i < keys->n; i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, keys->kv[i].name);
			if (!write_key(xs, t, path, keys->kv[i].value))
				break;
		}
		if (i < keys->n) {
			err = errno ? -errno : -EIO;
			xs_transaction_end(xs, t, true);
			snprintf(bad, badlen, "%s", path);
			return err;
		}
		if (xs_transaction_end(xs, t, false))
			return 0;
		if (errno != EAGAIN) {
			err = errno ? -errno : -EIO;
			snprintf(bad, badlen, "%s", dir);
			return err;
		}
	}
	snprintf(bad, badlen, "%s", dir);
	return -EAGAIN;
}

void sync_fini(struct sync *s)
{
	struct vbd_node *n, *next;
	int i;

	for (n = vbdtab_first(&s->cache); n; n = next) {
		next = vbdtab_next(&s->cache, n);
		vbdtab_del(&s->cache, n);
		cache_entry_free(vbd_entry(n, struct vbd_cache, node));
	}
	for (i = 0; i < 64; i++)
		while (s->names[i]) {
			struct dom_name *d = s->names[i];

			s->names[i] = d->next;
			free(d->name);
			free(d);
		}
	for (i = 0; i < 256; i++)
		while (s->owners[i]) {
			struct fold_owner *o = s->owners[i];

			s->owners[i] = o->next;
			free(o);
		}
	if (s->have_rules)
		qos_rules_free(&s->rules);
}
