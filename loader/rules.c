// SPDX-License-Identifier: GPL-2.0
/* The rules file (rules.h). */
#define _GNU_SOURCE		/* getline() */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "rules.h"
#include "devname.h"

#define TOKENS_MAX	(2 + QOS_NR_QOS_SLOTS + 1)	/* one more than a full line needs */

/* Where we are, for messages. */
struct where {
	qos_log_fn log;
	void *ctx;
	char at[QOS_SHOWN_MAX + 16];	/* "FILE:LINE" */
	int reports;
	unsigned int errors;
};

static void __attribute__((format(printf, 4, 5)))
say(struct where *w, bool error, const char *token, const char *fmt, ...)
{
	char shown[QOS_SHOWN_MAX], why[QOS_ERR_MAX];
	va_list ap;

	w->reports++;
	w->errors += error;
	if (!w->log)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	qos_shown(token, shown, sizeof(shown));
	w->log(w->ctx, w->at, shown, why);
}

/*
 * Relays the schema parser's reports as FILE:LINE, "key=value", with the
 * key as the line has it (without the qos/ it was given to the parser with).
 */
static void relay(void *ctx, const char *key, const char *value, const char *reason)
{
	struct where *w = ctx;
	char token[2 * QOS_SHOWN_MAX + 2];

	if (!w->log)
		return;
	if (!strncmp(key, "qos/", 4))
		key += 4;
	snprintf(token, sizeof(token), "%s=%s", key, value);
	w->log(w->ctx, w->at, token, reason);
}

static struct qos_rule *find(const struct qos_rules *rules, const char *domain,
			     bool domain_scope, __u32 devid)
{
	size_t i;

	for (i = 0; i < rules->n; i++) {
		struct qos_rule *r = &rules->rule[i];

		if (r->domain_scope == domain_scope && !strcmp(r->domain, domain) &&
		    (domain_scope || r->devid == devid))
			return r;
	}
	return NULL;
}

const struct qos_rule *qos_rules_find_vbd(const struct qos_rules *rules,
					  const char *domain, __u32 devid)
{
	return find(rules, domain, false, devid);
}

const struct qos_rule *qos_rules_find_domain(const struct qos_rules *rules,
					     const char *domain)
{
	return find(rules, domain, true, 0);
}

void qos_rules_free(struct qos_rules *rules)
{
	size_t i;

	for (i = 0; i < rules->n; i++)
		free(rules->rule[i].domain);
	free(rules->rule);
	memset(rules, 0, sizeof(*rules));
}

/* Split line (comment already cut) into tokens; returns their number. */
static size_t split(char *line, char **tok, size_t max)
{
	size_t n = 0;
	char *p = line;

	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p || n == max)
			return n;
		tok[n++] = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		if (*p)
			*p++ = '\0';
	}
}

static bool domain_name_ok(const char *name)
{
	const unsigned char *p = (const unsigned char *)name;

	if (strlen(name) > QOS_RULE_DOMAIN_MAX)
		return false;
	for (; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '=')
			return false;
	return true;
}

/* The slot of a KEY=VALUE token not seen before on its line, or -1 (reported). */
static int pair_slot(char *tok, bool *seen, struct where *w)
{
	char *eq = strchr(tok, '=');
	int slot;

	if (!eq) {
		say(w, true, tok, "expected KEY=VALUE");
		return -1;
	}
	*eq = '\0';
	slot = qos_slot_of_key(tok);
	*eq = '=';
	if (slot < 0) {
		say(w, true, tok, "unknown key");
		return -1;
	}
	if (seen[slot]) {
		say(w, true, tok, "%s given twice", qos_slot_name(slot));
		return -1;
	}
	seen[slot] = true;
	return slot;
}

/* Parse one line into rule; false if it is to be skipped (reported). */
static bool parse_line(char *line, struct qos_rule *rule, const char **domain,
		       struct where *w)
{
	char *tok[TOKENS_MAX], *hash, *eq, path[TOKENS_MAX][QOS_KEY_PATH_MAX];
	struct qos_kv kv[TOKENS_MAX];
	bool seen[QOS_NR_SLOTS] = { false };
	unsigned int errors;
	size_t n, i, nkv = 0;
	int slot, ret;

	hash = strchr(line, '#');
	if (hash)
		*hash = '\0';
	n = split(line, tok, TOKENS_MAX);
	if (!n)
		return false;
	if (n == TOKENS_MAX) {
		say(w, true, tok[n - 1], "too many KEY=VALUE tokens (at most %d: one per key); "
		    "the line is skipped", QOS_NR_QOS_SLOTS);
		return false;
	}
	if (!domain_name_ok(tok[0])) {
		say(w, true, tok[0], "not a domain name");
		return false;
	}
	if (n < 2) {
		say(w, true, tok[0], "expected DOMAIN DEVICE KEY=VALUE...");
		return false;
	}
	*domain = tok[0];
	rule->domain_scope = !strcmp(tok[1], "domain");
	rule->devid = 0;
	if (!rule->domain_scope) {
		ret = qos_devname_to_devid(tok[1], &rule->devid);
		if (ret) {
			say(w, true, tok[1], ret == -ERANGE ?
			    "device name beyond what Xen's VBD encoding can express" :
			    "not a device: expected xvda, xvdb1, sda, hda, d0p1, 51712... or domain");
			return false;
		}
	}
	if (n < 3) {
		say(w, true, tok[1], "expected KEY=VALUE after the device");
		return false;
	}

	errors = 0;
	for (i = 2; i < n; i++) {
		slot = pair_slot(tok[i], seen, w);
		if (slot < 0) {
			errors++;
			continue;
		}
		eq = strchr(tok[i], '=');
		/* the key as xenstore would hold it: under qos/, or a flat one */
		snprintf(path[nkv], sizeof(path[nkv]), "%s%s",
			 slot < QOS_NR_QOS_SLOTS ? "qos/" : "", qos_slot_name(slot));
		kv[nkv].name = path[nkv];
		kv[nkv].value = eq + 1;
		nkv++;
	}
	if (errors)
		return false;

	w->reports += qos_scope_limits_from_keys(kv, nkv, rule->domain_scope, NULL,
						 &rule->limits, relay, w, &errors);
	w->errors += errors;
	return !errors;
}

static int add(struct qos_rules *rules, const char *domain, const struct qos_rule *rule,
	       struct where *w)
{
	struct qos_rule *old = find(rules, domain, rule->domain_scope, rule->devid), *grown;

	if (old) {
		say(w, false, domain, "replaces the rule at line %u", old->line);
		old->limits = rule->limits;
		old->line = rule->line;
		return 0;
	}
	if (rules->n == rules->cap) {
		size_t cap = rules->cap ? 2 * rules->cap : 16;

		grown = realloc(rules->rule, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		rules->rule = grown;
		rules->cap = cap;
	}
	rules->rule[rules->n] = *rule;
	rules->rule[rules->n].domain = strdup(domain);
	if (!rules->rule[rules->n].domain)
		return -ENOMEM;
	rules->n++;
	return 0;
}

int qos_rules_load(FILE *f, const char *filename, struct qos_rules *out,
		   qos_log_fn log, void *ctx)
{
	struct where w = { .log = log, .ctx = ctx };
	char fname[QOS_SHOWN_MAX], *line = NULL;
	const char *domain = NULL;
	struct qos_rule rule;
	unsigned int lineno = 0;
	size_t size = 0;
	ssize_t len;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	qos_shown(filename ? filename : "rules", fname, sizeof(fname));
	while ((len = getline(&line, &size, f)) >= 0) {
		snprintf(w.at, sizeof(w.at), "%s:%u", fname, ++lineno);
		if ((size_t)len > QOS_RULE_LINE_MAX) {
			say(&w, true, line, "line longer than %d bytes", QOS_RULE_LINE_MAX);
			continue;
		}
		if (strlen(line) != (size_t)len) {
			say(&w, true, line, "NUL byte in line");
			continue;
		}
		memset(&rule, 0, sizeof(rule));
		rule.line = lineno;
		if (!parse_line(line, &rule, &domain, &w))
			continue;
		ret = add(out, domain, &rule, &w);
		if (ret)
			break;
	}
	/* getline() fails the same way at EOF, on a read error and without memory. */
	if (!ret && !feof(f))
		ret = errno == ENOMEM ? -ENOMEM : -EIO;
	free(line);
	if (ret) {
		qos_rules_free(out);
		return ret;
	}
	return w.reports;
}
