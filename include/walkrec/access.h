/* access.h - who may do what, decided from header values: the admin token, cors_origins,
 * writes from other sites' pages, and wrong tokens counted by client address.
 *
 * http.c reads the headers and the client address and asks here; nothing here knows
 * libmicrohttpd, so every rule is unit-tested (tests/unit/test_access.c). Wrong tokens go
 * to a fixed table of ACCESS_SLOTS addresses: past auth_failures within
 * auth_failure_window, an address waits (429 with Retry-After). A full table forgets the
 * address whose window began first; it never grows. Any thread: the table has its lock. */
#ifndef WALKREC_ACCESS_H
#define WALKREC_ACCESS_H

#include <stddef.h>

#include "walkrec/config.h"

#define ACCESS_SLOTS 1024

typedef struct wr_access wr_access;

/* Keeps cfg (its token, cors_origins, auth_failures and auth_failure_window). */
wr_access *access_new(const wr_config *cfg);
void access_free(wr_access *a);

/* CORS: the allowed origin to echo for a request's Origin value, "*", or NULL when no
 * CORS headers go out. access_by_origin: 1 when answers differ by Origin (Vary). */
const char *access_cors_origin(const wr_access *a, const char *origin);
int access_by_origin(const wr_access *a);

/* An Authorization value: 1 "Bearer <the admin token>", 0 another one, -1 no header or no
 * token set. Compared in a time that does not depend on where the tokens differ. */
int access_bearer(const wr_access *a, const char *authorization);

/* Read keys (read_keys_file): keys that may read but not write, one a line, at least
 * WR_TOKEN_MIN bytes each, at most ACCESS_MAX_KEYS; blank lines and lines starting with #
 * are skipped. access_load_keys reads the file (again: SIGHUP); on error the keys read
 * before stay, err says why (never a key). 0 without a file. */
#define ACCESS_MAX_KEYS 64
int access_load_keys(wr_access *a, size_t *nkeys, wr_err *err);
/* The number (1-based line among the keys) of the read key an Authorization value carries,
 * 0 for a bearer value that is no read key, -1 for none. Constant time per key. */
int access_read_key(wr_access *a, const char *authorization);

/* Why a POST to a write route, without the admin token, may come from another site's page
 * through a visitor's browser (a message in why[0..n)), or NULL when it cannot. The
 * values of Sec-Fetch-Site, Origin, Host and Content-Type, each NULL when absent. */
const char *access_foreign_write(const wr_access *a, const char *site, const char *origin,
                                 const char *host, const char *content_type, char *why,
                                 size_t n);

/* 1 for no Content-Type, application/json or application/...+json, with any parameters. */
int access_json_or_none(const char *content_type);

/* A client's address as 16 bytes (IPv6, or IPv4 mapped into it): 0, or -1 for NULL or
 * another family. */
struct sockaddr;
int access_addr(const struct sockaddr *sa, unsigned char a[16]);
/* Wrong tokens by client address (16 bytes: IPv6, or IPv4 mapped into it). access_wait:
 * seconds until the address may try a token again, 0 when it may now. `now` in seconds
 * (wr_now()). */
unsigned access_wait(wr_access *a, const unsigned char addr[16], double now);
void access_failed(wr_access *a, const unsigned char addr[16], double now);

#endif
