// SPDX-License-Identifier: GPL-2.0
#define _GNU_SOURCE		/* asprintf(), accept4() */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include "exporter.h"
#include "log.h"

#define MS_NS	1000000ULL

/* One rendering of the metrics, shared by the scrapes and the file. */
struct snap {
	int refs;
	char *data;
	size_t len;
	__u64 at;
};

enum client_state { C_FREE = 0, C_READ, C_WRITE, C_DRAIN };

struct client {
	int fd;
	enum client_state state;
	__u64 deadline;
	char req[EXPORTER_REQ_MAX];
	size_t rlen;
	char head[256];
	size_t hlen, hoff;
	const char *body;	/* snap->data, or a static text */
	size_t blen, boff;
	struct snap *snap;	/* held while the body is sent */
};

struct exporter {
	struct exporter_opts o;
	char *tmp;		/* o.file + ".tmp" */
	struct metrics_src src;
	int lfd;
	struct client c[EXPORTER_MAX_CLIENTS];
	struct client *polled[EXPORTER_MAX_FDS];	/* pollfd index -> client */
	struct snap *cur;
	__u64 next_file;
	bool file_failing;
};

static void snap_put(struct snap *s)
{
	if (s && !--s->refs) {
		free(s->data);
		free(s);
	}
}

/* The current rendering, rendered again if older than EXPORTER_CACHE_MS; NULL on failure. */
static struct snap *snap_get(struct exporter *e)
{
	__u64 now = blkqos_mono_ns();
	struct snap *s;
	FILE *f;
	int ret;

	if (e->cur && now - e->cur->at < EXPORTER_CACHE_MS * MS_NS) {
		e->cur->refs++;
		return e->cur;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	f = open_memstream(&s->data, &s->len);
	if (!f) {
		free(s);
		return NULL;
	}
	ret = metrics_render(f, &e->src);
	if (fclose(f) || ret < 0) {
		log_warn("metrics: cannot render: %s", strerror(ret < 0 ? -ret : errno));
		free(s->data);
		free(s);
		return NULL;
	}
	s->at = now;
	s->refs = 2;	/* the caller's and e->cur's */
	snap_put(e->cur);
	e->cur = s;
	return s;
}

int exporter_parse_addr(const char *s, struct sockaddr_storage *ss, unsigned int *len)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *port;
	unsigned long p;
	char *end;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		hl = close - s - 1;
		port = close + 2;
		s++;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		hl = colon - s;
		port = colon + 1;
	}
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = 0;
	errno = 0;
	p = strtoul(port, &end, 10);
	if (!*port || *end || errno || p == 0 || p > 65535)
		return -EINVAL;
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(p);
		*len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(p);
		*len = sizeof(*in6);
		return 0;
	}
	return -EINVAL;
}

static int listen_on(const char *addr, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	unsigned int len;
	int fd, one = 1;

	if (exporter_parse_addr(addr, &ss, &len)) {
		snprintf(err, errlen, "--metrics-listen: \"%s\" is not ADDR:PORT with a numeric "
			 "address (127.0.0.1:9477, [::1]:9477)", addr);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "--metrics-listen %s: cannot make a socket: %s (under "
			 "systemd, see RestrictAddressFamilies= and PrivateNetwork= in blkqos(8))",
			 addr, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 16)) {
		snprintf(err, errlen, "--metrics-listen %s: cannot listen: %s", addr,
			 strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

struct exporter *exporter_new(const struct exporter_opts *opts, const struct metrics_src *src,
			      char *err, size_t errlen)
{
	struct exporter *e = calloc(1, sizeof(*e));
	int i;

	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->o = *opts;
	e->src = *src;
	e->lfd = -1;
	for (i = 0; i < EXPORTER_MAX_CLIENTS; i++)
		e->c[i].fd = -1;
	if (opts->file && asprintf(&e->tmp, "%s.tmp", opts->file) < 0) {
		e->tmp = NULL;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (opts->listen) {
		e->lfd = listen_on(opts->listen, err, errlen);
		if (e->lfd < 0)
			goto fail;
	}
	return e;
fail:
	exporter_free(e);
	return NULL;
}

static void client_close(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	snap_put(c->snap);
	c->fd = -1;
	c->snap = NULL;
	c->state = C_FREE;
}

/* Queue a response; the body is the snapshot's or a static text. */
static void respond(struct client *c, const char *status, const char *extra, struct snap *s,
		    const char *text)
{
	c->snap = s;
	c->body = s ? s->data : text;
	c->blen = s ? s->len : strlen(text);
	c->boff = c->hoff = 0;
	c->hlen = snprintf(c->head, sizeof(c->head),
			   "HTTP/1.1 %s\r\n"
			   "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
			   "Content-Length: %zu\r\n%sConnection: close\r\n\r\n", status,
			   c->blen, extra);
	c->state = C_WRITE;
}

/* The request is in (its headers ended): answer GET /metrics, refuse the rest. */
static void serve(struct exporter *e, struct client *c)
{
	char *sp1, *sp2, *eol = memchr(c->req, '\n', c->rlen);
	struct snap *s;

	*eol = 0;
	sp1 = strchr(c->req, ' ');
	sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp2) {
		respond(c, "400 Bad Request", "", NULL, "bad request\n");
		return;
	}
	*sp1 = *sp2 = 0;
	if (strcmp(sp1 + 1, "/metrics") && strncmp(sp1 + 1, "/metrics?", 9)) {
		respond(c, "404 Not Found", "", NULL, "not found: blkqos serves /metrics only\n");
		return;
	}
	if (strcmp(c->req, "GET")) {
		respond(c, "405 Method Not Allowed", "Allow: GET\r\n", NULL, "GET /metrics only\n");
		return;
	}
	s = snap_get(e);
	if (!s)
		respond(c, "500 Internal Server Error", "", NULL, "cannot render the metrics\n");
	else
		respond(c, "200 OK", "", s, "");
}

static void client_read(struct exporter *e, struct client *c)
{
	ssize_t n;

	for (;;) {
		if (c->state == C_DRAIN) {
			char junk[512];

			n = recv(c->fd, junk, sizeof(junk), MSG_DONTWAIT);
		} else {
			n = recv(c->fd, c->req + c->rlen, sizeof(c->req) - 1 - c->rlen,
				 MSG_DONTWAIT);
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			client_close(c);	/* closed by the client, or an error */
			return;
		}
		if (c->state == C_DRAIN)
			continue;
		c->rlen += n;
		c->req[c->rlen] = 0;
		if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n")) {
			serve(e, c);
			return;
		}
		if (c->rlen == sizeof(c->req) - 1) {
			respond(c, "431 Request Header Fields Too Large", "", NULL,
				"request too large\n");
			return;
		}
	}
}

/* Send what the socket takes; when all is sent, close our side and drain. */
static void client_write(struct client *c)
{
	ssize_t n;

	while (c->hoff < c->hlen || c->boff < c->blen) {
		if (c->hoff < c->hlen)
			n = send(c->fd, c->head + c->hoff, c->hlen - c->hoff,
				 MSG_DONTWAIT | MSG_NOSIGNAL | (c->blen ? MSG_MORE : 0));
		else
			n = send(c->fd, c->body + c->boff, c->blen - c->boff,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			client_close(c);
			return;
		}
		if (c->hoff < c->hlen)
			c->hoff += n;
		else
			c->boff += n;
	}
	snap_put(c->snap);
	c->snap = NULL;
	/*
	 * Closing with unread input would reset the connection and could cut
	 * the response short at the client: end our side, read until it ends
	 * its own (bounded by the deadline).
	 */
	shutdown(c->fd, SHUT_WR);
	c->state = C_DRAIN;
}

/* A free slot, or the one of the oldest connection still sending its request. */
static struct client *client_slot(struct exporter *e)
{
	struct client *oldest = NULL;
	int i;

	for (i = 0; i < EXPORTER_MAX_CLIENTS; i++) {
		struct client *c = &e->c[i];

		if (c->state == C_FREE)
			return c;
		if ((c->state == C_READ || c->state == C_DRAIN) &&
		    (!oldest || c->deadline < oldest->deadline))
			oldest = c;
	}
	if (oldest)
		client_close(oldest);
	return oldest;
}

static void accept_all(struct exporter *e)
{
	int fd, i;

	for (i = 0; i < 64; i++) {	/* bounded: the loop has other work */
		struct client *c;

		fd = accept4(e->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		c = client_slot(e);
		if (!c) {
			close(fd);	/* every slot is sending a response */
			continue;
		}
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		c->state = C_READ;
		c->deadline = blkqos_mono_ns() + EXPORTER_CLIENT_MS * MS_NS;
	}
}

int exporter_pollfds(struct exporter *e, struct pollfd *p)
{
	int i, n = 0;

	if (!e)
		return 0;
	if (e->lfd >= 0) {
		e->polled[n] = NULL;
		p[n++] = (struct pollfd){ .fd = e->lfd, .events = POLLIN };
	}
	for (i = 0; i < EXPORTER_MAX_CLIENTS; i++) {
		struct client *c = &e->c[i];

		if (c->state == C_FREE)
			continue;
		e->polled[n] = c;
		p[n++] = (struct pollfd){ .fd = c->fd,
					  .events = c->state == C_WRITE ? POLLOUT : POLLIN };
	}
	return n;
}

void exporter_handle(struct exporter *e, const struct pollfd *p, int n)
{
	int i;

	if (!e)
		return;
	for (i = 0; i < n; i++) {
		struct client *c = e->polled[i];

		if (!p[i].revents)
			continue;
		if (!c) {
			accept_all(e);
			continue;
		}
		if (c->state == C_FREE || c->fd != p[i].fd)
			continue;	/* closed meanwhile (a slot taken over) */
		if (c->state == C_WRITE && (p[i].revents & (POLLOUT | POLLERR | POLLHUP)))
			client_write(c);
		else if (p[i].revents & (POLLIN | POLLERR | POLLHUP))
			client_read(e, c);
		if (c->state == C_WRITE)
			client_write(c);	/* answer at once; the rest when POLLOUT says */
	}
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/* PATH.tmp, then renamed over PATH: the collector never reads half a file. */
static void write_file(struct exporter *e)
{
	struct snap *s = snap_get(e);
	const char *what = "render";
	int fd = -1;

	if (!s)
		goto fail;
	what = "create";
	fd = open(e->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		goto fail;
	/* the collector runs as another user; the service's umask is 077 */
	what = "write";
	if (fchmod(fd, 0644) || write_all(fd, s->data, s->len))
		goto fail;
	what = "close";
	if (close(fd)) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	what = "rename";
	if (rename(e->tmp, e->o.file))
		goto fail;
	snap_put(s);
	if (e->file_failing)
		log_info("--metrics-file %s: written again", e->o.file);
	e->file_failing = false;
	return;
fail:
	if (!e->file_failing)
		log_warn("--metrics-file %s: cannot %s %s: %s (tried again every %.1f s; under "
			 "systemd the directory must be in ReadWritePaths=)", e->o.file, what,
			 e->tmp, strerror(errno), e->o.interval_s);
	e->file_failing = true;
	if (fd >= 0)
		close(fd);
	if (s)
		unlink(e->tmp);
	snap_put(s);
}

void exporter_tick(struct exporter *e)
{
	__u64 now = blkqos_mono_ns();
	int i;

	if (!e)
		return;
	for (i = 0; i < EXPORTER_MAX_CLIENTS; i++)
		if (e->c[i].state != C_FREE && now >= e->c[i].deadline)
			client_close(&e->c[i]);
	if (e->o.file && now >= e->next_file) {
		write_file(e);
		e->next_file = blkqos_mono_ns() + (__u64)(e->o.interval_s * 1e9);
	}
}

int exporter_timeout_ms(const struct exporter *e)
{
	__u64 now = blkqos_mono_ns(), next = ~0ULL;
	int i;

	if (!e)
		return -1;
	if (e->o.file)
		next = e->next_file;
	for (i = 0; i < EXPORTER_MAX_CLIENTS; i++)
		if (e->c[i].state != C_FREE && e->c[i].deadline < next)
			next = e->c[i].deadline;
	if (next == ~0ULL)
		return -1;
	return next <= now ? 0 : (int)((next - now + MS_NS - 1) / MS_NS);
}

void exporter_free(struct exporter *e)
{
	int i;

	if (!e)
		return;
	for (i = 0; i < EXPORTER_MAX_CLIENTS; i++)
		if (e->c[i].state != C_FREE)
			client_close(&e->c[i]);
	if (e->lfd >= 0)
		close(e->lfd);
	snap_put(e->cur);
	free(e->tmp);
	free(e);
}
