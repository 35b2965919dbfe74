/* SPDX-License-Identifier: GPL-2.0 */
/* The service manager's readiness protocol (sd_notify(3)), without libsystemd. */
#ifndef BLKQOS_NOTIFY_H
#define BLKQOS_NOTIFY_H

/*
 * Send STATE ("READY=1", "STOPPING=1", ...; newline-separated assignments)
 * to $NOTIFY_SOCKET. Returns 1 sent, 0 no socket named (not under a
 * manager that asked), or -errno.
 */
int notify_send(const char *state);

#endif
