/* daemon.h - what the handler drivers (fuzz_api_body.c, fuzz_url.c) share: a small
 * published index to query, and the checks every reply must pass. */
#ifndef WALKREC_FUZZ_DAEMON_H
#define WALKREC_FUZZ_DAEMON_H

#include "walkrec/api.h"
#include "walkrec/config.h"

#define FUZZ_GENERATION 7

/* Builds and publishes (snapshot.h) the index of a 40-item model whose ids hold characters
 * that JSON, URLs and comma lists must escape, with side information (brand, category,
 * degree; one row with none) and approximate lists, then a provisional overlay of two
 * items; returns the settings the handlers read, and in *svc the trainer they write to
 * (trainer_stub.c). Once per process. */
const wr_config *daemon_start(const wr_service **svc);
/* The stand-in of the trainer (trainer_stub.c). */
const wr_service *stub_service(void);

/* What any reply must be: a status the API uses, exactly one of a JSON document that
 * serialises or a text that parses as a JSON object (except /metrics and the dashboard's
 * files), an error document for 4xx/5xx, and the fixture's generation when it names one.
 * Frees the reply. */
void daemon_check_reply(wr_reply *rp, const char *what);

#endif
