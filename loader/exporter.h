/* SPDX-License-Identifier: GPL-2.0 */
/*
 * blkqos run's metrics export: a file kept current for node_exporter's
 * textfile collector (written to PATH.tmp, then renamed over PATH), and a
 * minimal HTTP listener serving GET /metrics. Both live in the run loop's
 * poll(): nothing here blocks, and a slow or hostile client only ever
 * holds one of a few connection slots, for a bounded time.
 */
#ifndef BLKQOS_EXPORTER_H
#define BLKQOS_EXPORTER_H

#include <poll.h>
#include <stddef.h>
#include "metrics.h"

#define EXPORTER_MAX_CLIENTS	8	/* connections served at once; more are closed */
#define EXPORTER_MAX_FDS	(1 + EXPORTER_MAX_CLIENTS)
#define EXPORTER_REQ_MAX	4096	/* request line and headers, bytes */
#define EXPORTER_CLIENT_MS	5000	/* a connection's whole life, request to response */
#define EXPORTER_CACHE_MS	250	/* scrapes closer than this share one rendering */

struct exporter_opts {
	const char *file;	/* NULL: none */
	double interval_s;	/* the file's refresh interval */
	const char *listen;	/* "ADDR:PORT" or "[ADDR6]:PORT"; NULL: none */
};

struct exporter;

/*
 * Set up what opts ask for (the listener is bound here; the file is first
 * written at the first exporter_tick()). NULL with the reason in err.
 */
struct exporter *exporter_new(const struct exporter_opts *opts, const struct metrics_src *src,
			      char *err, size_t errlen);
/* The fds to poll (at most EXPORTER_MAX_FDS) into p; returns how many. */
int exporter_pollfds(struct exporter *e, struct pollfd *p);
/* After poll(): serve what p (as filled, with revents) says is ready. */
void exporter_handle(struct exporter *e, const struct pollfd *p, int n);
/* Write the file if due, drop connections past their time. */
void exporter_tick(struct exporter *e);
/* ms until exporter_tick() has work (-1: none). */
int exporter_timeout_ms(const struct exporter *e);
void exporter_free(struct exporter *e);

/* Parse "ADDR:PORT" / "[ADDR6]:PORT" (numeric only). 0 or -EINVAL. */
struct sockaddr_storage;
int exporter_parse_addr(const char *s, struct sockaddr_storage *ss, unsigned int *len);

#endif
