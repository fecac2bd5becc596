/* config.c - the table of walkrecd's settings and everything that reads or prints it.
 *
 * One row per setting: key, type, field, default, bounds, unit, help. Loading a file,
 * reading the environment, parsing flags, --help and the example file all walk this table,
 * so a new setting is one new row (and a field in wr_config). Strings are bounded by
 * length; a few settings also have a check function for their form (addresses, origins). */
#include "walkrec/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "walkrec/util.h"
#include "walkrec/text.h"
#include "walkrec/lines.h"

typedef enum { T_STR, T_U32, T_U64, T_F64, T_ENUM } type;

typedef struct setting {
    const char *name;
    type type;
    size_t off;
    const char *def;
    uint64_t min, max;  /* numbers: value bounds; strings: length bounds */
    const char *unit;   /* printed after the value's description, may be NULL */
    const char *meta;   /* placeholder in --help */
    const char *help;
    /* Further checks of a string's form; fills why and returns -1 when it is wrong. */
    int (*check)(const char *v, char *why, size_t n);
    double lo, hi;      /* T_F64: value bounds */
    const char *const *names; /* T_ENUM: the values' names, indexed by value, NULL-ended;
                                 the field is an int */
} setting;

static int check_addr(const char *v, char *why, size_t n);
static int check_origins(const char *v, char *why, size_t n);
static char *trim(char *s);

static const char *const rank_names[] = {"cosine", "probability", "auto", NULL};
static const char *const mode_names[] = {"scratch", "warm", NULL};
static const char *const edge_names[] = {"auto", "raw", "pmi", "lift", "jaccard", NULL};
static const char *const algo_names[] = {"sgns", "cbow", "mf", "mf-seq", NULL};

#define F(x) offsetof(wr_config, x)
#define PATHMAX 4096

static const setting table[] = {
    {"bind", T_STR, F(bind), "127.0.0.1", 1, 64, NULL, "ADDR",
     "Address to listen on: an IPv4 or IPv6 literal (0.0.0.0 or :: for every interface).",
     check_addr, 0, 0, NULL},
    {"port", T_U32, F(port), "8080", 0, 65535, NULL, "N",
     "TCP port; 0 lets the kernel pick a free one (the log names it).", NULL, 0, 0, NULL},
    {"threads", T_U32, F(threads), "2", 1, 256, "threads", "N",
     "Worker threads of the HTTP server (a thread pool over epoll).", NULL, 0, 0, NULL},
    {"data_dir", T_STR, F(data_dir), "./var", 1, PATHMAX, NULL, "DIR",
     "Directory of model files named model-<generation>.wr; the newest is served, and a "
     "model trained at start is saved there. SIGHUP reloads the newest one.", NULL, 0, 0, NULL},
    {"model", T_STR, F(model), "", 0, PATHMAX, NULL, "FILE",
     "Serve this model file instead of the newest in data_dir (SIGHUP reloads it).", NULL, 0, 0, NULL},
    {"pairs", T_STR, F(pairs), "", 0, PATHMAX, NULL, "FILE",
     "Pairs file (TSV/CSV, gzip ok) to train from when data_dir holds no model. With "
     "neither, the built-in synthetic catalogue is generated and trained on.", NULL, 0, 0, NULL},
    {"items_file", T_STR, F(items_file), "", 0, PATHMAX, NULL, "FILE",
     "Side information: a TSV with a header, the item id first; a `category` column "
     "enables the category filter. Empty: only what the daemon wrote beside the model.",
     NULL, 0, 0, NULL},
    {"train_threads", T_U32, F(train_threads), "1", 0, 1024, "threads", "N",
     "Threads of the daemon's training: the first model and every retrain, in the trainer "
     "process, and the gate's evaluation (0 = every core). 1 leaves the other cores to the "
     "HTTP threads.", NULL, 0, 0, NULL},
    {"index_k", T_U32, F(index_k), "100", 1, 10000, "neighbours", "N",
     "Neighbours precomputed per item. The trainer process builds them with every generation "
     "and stores them in its model file, where serving maps them; a generation whose file "
     "has none, or lists of another length or order, gets them built once (and written back "
     "by a trainer). Queries for up to this many are answered from the lists, larger ones by "
     "an exact scan.", NULL, 0, 0, NULL},
    {"blas_kernel", T_STR, F(blas_kernel), "auto", 1, 32, NULL, "NAME",
     "OpenBLAS's kernels: auto (when the library picked less than this CPU runs, as Debian "
     "12's does on some AVX-512 CPUs, walkrecd sets OPENBLAS_CORETYPE to the best and "
     "executes itself again at start: about 1.75x faster products measured), keep (the "
     "library's pick), or a core name such as SkylakeX or Haswell. OPENBLAS_CORETYPE in the "
     "environment overrides it. The log names the kernels.", NULL, 0, 0, NULL},
    {"index_threads", T_U32, F(index_threads), "0", 0, 1024, "threads", "N",
     "Threads that build the neighbour lists (0 = every core).", NULL, 0, 0, NULL},
    {"exact_index_max_items", T_U64, F(exact_index_max_items), "50000", 0, UINT32_MAX,
     "items", "N",
     "Largest catalogue whose neighbour lists are computed exactly; above it they come from "
     "k-means cells, ranked in the same order (docs/performance.md measures the crossover), "
     "and their recall@10 against exact lists of 1000 items is measured and reported in "
     "/v1/model.", NULL, 0, 0, NULL},
    {"ann_cells", T_U32, F(ann_cells), "0", 0, UINT32_MAX, "cells", "N",
     "Cells of the approximate lists: k-means on the unit vectors splits the catalogue into "
     "this many; 0 = min(3 x sqrt(items), items / 64).", NULL, 0, 0, NULL},
    {"ann_probe", T_U32, F(ann_probe), "8", 0, 4096, "cells", "N",
     "Cells each cell's items are compared with for their approximate lists, the nearest "
     "first: more finds more of the true neighbours and builds slower (in proportion). 0 = "
     "no approximate lists: above exact_index_max_items every query is an exact scan.",
     NULL, 0, 0, NULL},
    {"ann_min_recall", T_F64, F(ann_min_recall), "0.98", 0, 0, NULL, "X",
     "Recall@10 the approximate lists must reach on a sample of 1000 items against exact "
     "lists of the same order; below it they are built again probing twice the cells (and "
     "twice the popular items), until it holds or every cell is probed. 0 = accept the first "
     "build.", NULL, 0, 1, NULL},
    {"ann_popular", T_U32, F(ann_popular), "512", 0, 1u << 24, "items", "N",
     "Approximate lists by probability: the most popular items every cell's items are also "
     "compared with, because the probability's popularity terms can rank them high however "
     "far their vectors lie.", NULL, 0, 0, NULL},
    {"rank", T_ENUM, F(rank), "auto", 0, 0, NULL, "RANK",
     "What neighbour lists rank by unless a request says rank=: cosine, or probability (the "
     "model's calibrated pair probability, which also knows popularity: higher recall@10 "
     "on every data set measured, docs/evaluation.md), or auto: the order the model's training "
     "found better on its held-out slice (probability on every set measured) when the "
     "model is calibrated and its lists are exact, else cosine. The lists are precomputed in this "
     "order; the other order costs an exact scan per request.", NULL, 0, 0, rank_names},
    {"default_k", T_U32, F(default_k), "10", 1, 100000, "neighbours", "N",
     "Neighbours returned when a request does not say k.", NULL, 0, 0, NULL},
    {"max_k", T_U32, F(max_k), "1000", 1, 100000, "neighbours", "N",
     "Largest k a request may ask for (larger: 400 bad_request).", NULL, 0, 0, NULL},
    {"max_batch", T_U32, F(max_batch), "1000", 1, 1000000, "entries", "N",
     "Most items or pairs in one POST request (more: 400 batch_too_large).", NULL, 0, 0, NULL},
    {"max_body_bytes", T_U64, F(max_body_bytes), "1048576", 64, (uint64_t)1 << 30, "bytes",
     "N", "Largest request body (larger: 413 payload_too_large).", NULL, 0, 0, NULL},
    {"max_response_bytes", T_U64, F(max_response_bytes), "8388608", 1024, (uint64_t)1 << 30,
     "bytes", "N",
     "Largest answer, as JSON before compression (larger: 400 response_too_large). 1000 "
     "items' lists of 100 neighbours are about 6.2 MB.", NULL, 0, 0, NULL},
    {"max_scan_items", T_U64, F(max_scan_items), "10000000", 0, UINT64_MAX / 2,
     "item comparisons", "N",
     "Most work of exact scans one request may ask for, counted as scans x catalogue items "
     "(more: 400 too_costly, before any scan). A neighbour query scans every item when its "
     "precomputed list cannot answer it: the other order, k above index_k, a filter that "
     "exhausts the list, a basket. 10,000,000 is 23 scans of 418,749 items, about 0.8 s of "
     "one core; 0 forbids exact scans.", NULL, 0, 0, NULL},
    {"scan_threads", T_U32, F(scan_threads), "1", 1, 256, "threads", "N",
     "Threads that run heavy requests (an exact scan, or more than 1000 neighbours in all) "
     "off the HTTP threads, so that reads from the precomputed lists never wait behind them.",
     NULL, 0, 0, NULL},
    {"scan_queue", T_U32, F(scan_queue), "8", 0, 100000, "requests", "N",
     "Heavy requests that may wait for a scan thread; when they all wait, further ones get "
     "503 busy with Retry-After.", NULL, 0, 0, NULL},
    {"max_unsent_bytes", T_U64, F(max_unsent_bytes), "268435456", 0, UINT64_MAX / 2, "bytes",
     "N",
     "Memory for answers their clients have not read yet, in all; an answer of more than "
     "64 KiB that does not fit gets 503 busy with Retry-After instead (smaller ones are "
     "always sent: at most connection_limit x 64 KiB beside this).", NULL, 0, 0, NULL},
    {"connection_limit", T_U32, F(connection_limit), "4096", 1, 1000000, "connections", "N",
     "Most open client connections; further ones wait in the listen queue until one closes. "
     "The descriptor limit (ulimit -n) is raised to fit; if it cannot be, fewer are taken "
     "(logged).", NULL, 0, 0, NULL},
    {"connection_limit_per_ip", T_U32, F(connection_limit_per_ip), "512", 0, 1000000,
     "connections", "N",
     "Most open connections from one client address; further ones are closed at once (0 = "
     "no limit). Behind a proxy every connection comes from the proxy's address.", NULL, 0,
     0, NULL},
    {"connection_timeout", T_U32, F(connection_timeout), "30", 0, 86400, "seconds", "N",
     "Idle time after which a client connection is closed (0 = never).", NULL, 0, 0, NULL},
    {"request_timeout", T_U32, F(request_timeout), "30", 0, 86400, "seconds", "N",
     "Time a client has to send a whole request (headers and body), counted from the "
     "connection's opening or its previous response; slower ones are closed even while "
     "they keep sending (slowloris). 0 = no limit.", NULL, 0, 0, NULL},
    {"connection_memory_limit", T_U64, F(connection_memory_limit), "65536", 8192,
     (uint64_t)1 << 26, "bytes", "N",
     "Memory per connection for the request line, headers and buffers; longer URLs or "
     "headers are refused (414/431).", NULL, 0, 0, NULL},
    {"cors_origins", T_STR, F(cors_origins), "", 0, PATHMAX, NULL, "LIST",
     "Origins allowed by CORS, comma-separated (http://host:port), or * for any; empty "
     "sends no CORS headers. Pages of the origins named here (not of *) may also write "
     "without the token; pages of other sites never may.", check_origins, 0, 0, NULL},
    {"shutdown_grace", T_U32, F(shutdown_grace), "10", 0, 3600, "seconds", "N",
     "On SIGTERM/SIGINT, how long in-flight requests may take to finish before the "
     "remaining connections are closed.", NULL, 0, 0, NULL},
    {"admin_token_file", T_STR, F(admin_token_file), "", 0, PATHMAX, NULL, "FILE",
     "File holding the bearer token that ingestion and admin routes require (surrounding "
     "blanks ignored); the environment variable WALKREC_ADMIN_TOKEN gives the token itself. "
     "Without a token those routes are open to this machine's own clients (writes only as "
     "JSON and not from another site's page), and binding to a non-loopback address is "
     "refused; so is a token shorter than 16 bytes there. A file that every user may read "
     "is named in a warning at start.", NULL, 0, 0, NULL},
    {"auth_failures", T_U32, F(auth_failures), "10", 0, 1000000, "attempts", "N",
     "Wrong admin tokens one client address may send within auth_failure_window; after "
     "that, every request of it that needs the token gets 429 with Retry-After until the "
     "window ends (0 = no limit). Behind a proxy every client has the proxy's address.",
     NULL, 0, 0, NULL},
    {"auth_failure_window", T_U32, F(auth_failure_window), "60", 1, 86400, "seconds", "N",
     "The window of auth_failures, from an address's first wrong token.", NULL, 0, 0, NULL},
    {"protect_reads", T_U32, F(protect_reads), "0", 0, 1, NULL, "0|1",
     "1: read routes (neighbours, scores, items, model) also need a bearer token: a read key "
     "(read_keys_file) or the admin token; /healthz, /readyz and /metrics never do.", NULL, 0,
     0, NULL},
    {"read_keys_file", T_STR, F(read_keys_file), "", 0, PATHMAX, NULL, "FILE",
     "Keys that may read but not write, one a line (16 bytes or more; blank lines and # "
     "comments skipped), for pages that must authenticate their reads with protect_reads. "
     "Read again on SIGHUP; never logged; /metrics counts requests per key by line number.",
     NULL, 0, 0, NULL},
    {"strict_params", T_U32, F(strict_params), "1", 0, 1, NULL, "0|1",
     "1: a query parameter or JSON field a route does not read is a 400 naming it (a typo "
     "like min_scroe would otherwise do nothing without a word); 0: ignored.", NULL, 0, 0,
     NULL},
    {"retrain_min_pairs", T_U64, F(retrain_min_pairs), "10000", 0, UINT64_MAX / 2, "pairs",
     "N", "Retrain once this many pairs were ingested since the last run (0 = never by "
     "count).", NULL, 0, 0, NULL},
    {"retrain_interval", T_U32, F(retrain_interval), "3600", 0, 86400 * 365, "seconds", "N",
     "Retrain when this long has passed since the last run and some pair arrived meanwhile "
     "(0 = never by time).", NULL, 0, 0, NULL},
    {"retrain_mode", T_ENUM, F(retrain_mode), "warm", 0, 0, NULL, "MODE",
     "warm: a retrain starts from the live model's vectors (new items random) for "
     "retrain_warm_epochs epochs; scratch: from random vectors for retrain_epochs. Warm "
     "was faster, scored higher and changed the neighbour lists less on the three sets "
     "measured with bench/retrain.sh (docs/performance.md).", NULL, 0, 0, mode_names},
    {"algo", T_ENUM, F(algo), "sgns", 0, 0, NULL, "ALGO",
     "The daemon's trainer, as walkrec train --algo: sgns (skip-gram on random walks), cbow, "
     "mf or mf-seq (matrix-factorisation baselines, scored by dot product, no calibrated "
     "probability).", NULL, 0, 0, algo_names},
    {"dim", T_U32, F(dim), "128", 1, 4096, "dimensions", "N",
     "Vector dimension of the models the daemon trains (as walkrec train --dim). A warm "
     "retrain needs the live model's dimension; with another one it starts from scratch and "
     "says so in its report.", NULL, 0, 0, NULL},
    {"window", T_U32, F(window), "5", 1, 64, "items", "N",
     "Context window of the daemon's word2vec training (as walkrec train --window).", NULL,
     0, 0, NULL},
    {"negative", T_U32, F(negative), "5", 1, 63, "samples", "N",
     "Negative samples per centre item (as walkrec train --negative).", NULL, 0, 0, NULL},
    {"walks_per_item", T_U32, F(walks_per_item), "10", 1, 1000000, "walks", "N",
     "Random walks started from each item (as walkrec train --walks-per-item).", NULL, 0, 0, NULL},
    {"walk_length", T_U32, F(walk_length), "10", 1, 1000000, "items", "N",
     "Items per random walk (as walkrec train --walk-length).", NULL, 0, 0, NULL},
    {"train_seed", T_U64, F(train_seed), "1", 1, UINT64_MAX, NULL, "N",
     "Seed of the daemon's walks and training (as walkrec train --seed).", NULL, 0, 0, NULL},
    {"edge_weight", T_ENUM, F(edge_weight), "auto", 0, 0, NULL, "SCHEME",
     "How the daemon's training re-weights pairs before walking: auto (sgns and cbow train "
     "with lift and with raw and keep the model whose cosine ranks the calibration slice "
     "better, at twice the training time; a retrain keeps the live generation's scheme; "
     "mf: raw), raw, pmi, lift or jaccard (as walkrec train --edge-weight).",
     NULL, 0, 0, edge_names},
    {"calibration", T_F64, F(calibration), "0.05", 0, 0, NULL, "X",
     "Share of the training pairs the daemon's training holds out to fit the calibrated "
     "pair probability, or for mf to choose its number of epochs (as walkrec train "
     "--calibration; mf-seq has neither); 0 = neither.", NULL, 0, 0.5, NULL},
    {"positive_rate", T_F64, F(positive_rate), "0.5", 0, 0, NULL, "P",
     "Share of related pairs among the pairs the probability is asked about (as walkrec "
     "train --positive-rate): 0.5, the default, is one related pair per random one, the "
     "population of walkrec split's validation pairs; a shop whose queried pairs are related "
     "once in a hundred states 0.01 and every probability is adjusted by Bayes' rule.",
     NULL, 0.0001, 0.9999, NULL},
    {"retrain_epochs", T_U32, F(retrain_epochs), "5", 0, 1000, "epochs", "N",
     "Epochs of a from-scratch retrain. 0 trains nothing and leaves random vectors: a "
     "candidate the quality gate must refuse (for testing the gate).", NULL, 0, 0, NULL},
    {"retrain_warm_epochs", T_U32, F(retrain_warm_epochs), "2", 1, 1000, "epochs", "N",
     "Epochs of a warm-started retrain.", NULL, 0, 0, NULL},
    {"validation_fraction", T_F64, F(validation_fraction), "0.05", 0, 0, NULL, "X",
     "Share of the pairs held out to compare a candidate model with the live one. A pair "
     "is held out by a hash of its two ids and validation_seed, so it stays held out as "
     "the data grows and neither model ever trained on it.", NULL, 0.001, 0.5, NULL},
    {"validation_seed", T_U64, F(validation_seed), "42", 0, UINT64_MAX, NULL, "N",
     "Seed of the validation hash and of its negative pairs (recorded with each run).", NULL, 0, 0, NULL},
    {"gate_max_auc_drop", T_F64, F(gate_max_auc_drop), "0.005", 0, 0, NULL, "X",
     "A candidate whose validation AUC is below the live model's by more than this is not "
     "published (kept as candidate-<generation>.wr; POST /v1/admin/publish can force it).",
     NULL, 0, 1, NULL},
    {"keep_context", T_U32, F(keep_context), "0", 0, 1, NULL, "0|1",
     "1: models the daemon trains (sgns, cbow) keep skip-gram's context vectors, for "
     "relation=complement (\"goes with\" rather than \"alike\"; docs/daemon.md). They double "
     "the vectors' share of a model and of the index's memory.", NULL, 0, 0, NULL},
    {"anchor_margin", T_F64, F(anchor_margin), "1", 0, 0, NULL, "X",
     "A retrain keeps the live lists' first 10 neighbours of an item in its new list unless "
     "a newcomer outranks one by more than X on the probability's logit scale (for lists "
     "by cosine, X over the calibration's slope in the cosine), so that lists change where "
     "the data did: with 5% new pairs, a warm retrain at 1 kept 87-100% of the first 10 on "
     "every shared set against 60-80% without, at most 0.0063 less recall@10 "
     "(docs/daemon.md#churn). 0: no anchoring.",
     NULL, 0, 100, NULL},
    {"gate_max_churn", T_F64, F(gate_max_churn), "1", 0, 0, NULL, "X",
     "A candidate whose neighbour lists share less than 1 - X of their first 10 with the live "
     "lists (churn = 1 - overlap@10, over every item both know) is not published either. 1, "
     "the default, never refuses: a retrain today keeps only a small share of the lists "
     "(docs/daemon.md#churn).", NULL, 0, 1, NULL},
    {"keep_generations", T_U32, F(keep_generations), "3", 1, 1000, "models", "N",
     "Published model files kept in data_dir, and as many refused candidates; older ones "
     "are deleted.", NULL, 0, 0, NULL},
    {"follow", T_STR, F(follow), "", 0, PATHMAX, NULL, "DIR",
     "Follower mode: serve the generations that a training instance publishes into DIR "
     "(a shared volume), swapping each new one in; ingestion and admin writes answer 409.",
     NULL, 0, 0, NULL},
    {"follow_interval", T_U32, F(follow_interval), "1", 1, 3600, "seconds", "N",
     "How often a follower looks for a new generation (polling: inotify does not see "
     "writes made on another machine of a network volume).", NULL, 0, 0, NULL},
    {"trainer_url", T_STR, F(trainer_url), "", 0, PATHMAX, NULL, "URL",
     "Where writes should go, named in a follower's 409 answers.", NULL, 0, 0, NULL},
};

#define NSET (sizeof table / sizeof table[0])

static char **str_field(wr_config *c, const setting *s) { return (char **)((char *)c + s->off); }

static const setting *find(const char *name)
{
    for (size_t i = 0; i < NSET; i++)
        if (!strcmp(table[i].name, name))
            return &table[i];
    return NULL;
}

static int check_addr(const char *v, char *why, size_t n)
{
    unsigned char buf[16];
    if (inet_pton(AF_INET, v, buf) == 1 || inet_pton(AF_INET6, v, buf) == 1)
        return 0;
    snprintf(why, n, "expected an IPv4 or IPv6 address, got '%s'", v);
    return -1;
}

static int check_origins(const char *v, char *why, size_t n)
{
    char *copy = xstrdup(v), *fields[256];
    int nf = *copy ? text_split(copy, ',', fields, 256) : 0, rc = 0;
    for (int i = 0; i < nf && !rc; i++) {
        const char *o = fields[i];
        if (!strcmp(o, "*") || (!strncmp(o, "http://", 7) && o[7]) ||
            (!strncmp(o, "https://", 8) && o[8]))
            continue;
        snprintf(why, n, "expected origins like https://host:port or *, got '%s'", o);
        rc = -1;
    }
    free(copy);
    return rc;
}

static int set(wr_config *c, const setting *s, const char *v, const char *where, wr_err *err)
{
    char why[256];
    uint64_t x;
    if (s->type == T_STR) {
        size_t len = strlen(v);
        if (len < s->min)
            return wr_fail(err, "%s: %s must not be empty", where, s->name);
        if (len > s->max)
            return wr_fail(err, "%s: %s is longer than %llu bytes", where, s->name,
                           (unsigned long long)s->max);
        if (s->check && s->check(v, why, sizeof why) < 0)
            return wr_fail(err, "%s: %s: %s", where, s->name, why);
        char **f = str_field(c, s);
        free(*f);
        *f = xstrdup(v);
        return 0;
    }
    if (s->type == T_ENUM) {
        for (int i = 0; s->names[i]; i++)
            if (!strcmp(v, s->names[i])) {
                *(int *)((char *)c + s->off) = i;
                return 0;
            }
        char list[128] = "";
        for (int i = 0; s->names[i]; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                     i ? (s->names[i + 1] ? ", " : " or ") : "", s->names[i]);
        return wr_fail(err, "%s: %s: expected %s, got '%s'", where, s->name, list, v);
    }
    if (s->type == T_F64) {
        double d;
        if (text_parse_double(v, &d) < 0 || !(d >= s->lo && d <= s->hi))
            return wr_fail(err, "%s: %s: expected a number from %g to %g, got '%s'", where,
                           s->name, s->lo, s->hi, v);
        *(double *)((char *)c + s->off) = d;
        return 0;
    }
    if (text_parse_u64(v, &x) < 0 || x < s->min || x > s->max)
        return wr_fail(err, "%s: %s: expected an integer from %llu to %llu, got '%s'", where,
                       s->name, (unsigned long long)s->min, (unsigned long long)s->max, v);
    if (s->type == T_U32)
        *(uint32_t *)((char *)c + s->off) = (uint32_t)x;
    else
        *(uint64_t *)((char *)c + s->off) = x;
    return 0;
}

void config_init(wr_config *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < NSET; i++)
        if (set(c, &table[i], table[i].def, "default", NULL) < 0)
            abort(); /* a default outside its own bounds is a bug in the table */
}

void config_free(wr_config *c)
{
    if (c->admin_token) {
        explicit_bzero(c->admin_token, strlen(c->admin_token));
        free(c->admin_token);
        c->admin_token = NULL;
    }
    for (size_t i = 0; i < NSET; i++)
        if (table[i].type == T_STR) {
            free(*str_field(c, &table[i]));
            *str_field(c, &table[i]) = NULL;
        }
}

int config_set(wr_config *c, const char *name, const char *value, const char *where,
               wr_err *err)
{
    const setting *s = find(name);
    if (!s)
        return wr_fail(err, "%s: unknown setting '%s'", where, name);
    return set(c, s, value, where, err);
}

const char *config_enum_name(const wr_config *c, const char *name)
{
    const setting *s = find(name);
    if (!s || s->type != T_ENUM)
        return NULL;
    return s->names[*(const int *)((const char *)c + s->off)];
}

/* The admin token: $WALKREC_ADMIN_TOKEN, else the admin_token_file's content without
 * surrounding blanks. Kept out of the table so that --print-config never shows it. */
static int load_token(wr_config *c, wr_err *err)
{
    const char *env = getenv("WALKREC_ADMIN_TOKEN");
    char *tok = NULL;
    if (env && *env) {
        tok = xstrdup(env);
    } else if (*c->admin_token_file) {
        char raw[4097];
        FILE *f = fopen(c->admin_token_file, "r");
        if (!f)
            return wr_fail(err, "admin_token_file %s: %s", c->admin_token_file, strerror(errno));
        size_t len = fread(raw, 1, sizeof raw - 1, f);
        int bad = ferror(f) || !feof(f);
        fclose(f);
        raw[len] = 0;
        if (!bad && strlen(raw) == len)
            tok = xstrdup(trim(raw));
        struct stat st;
        if (tok && stat(c->admin_token_file, &st) == 0 && (st.st_mode & S_IROTH))
            wr_log("warning: admin_token_file %s can be read by every user of this machine "
                   "(mode %03o): chmod o-r it (group read is fine)", c->admin_token_file,
                   (unsigned)(st.st_mode & 0777));
        explicit_bzero(raw, sizeof raw);
        if (!tok)
            return wr_fail(err, "admin_token_file %s: unreadable, longer than 4096 bytes or "
                           "holding a NUL byte", c->admin_token_file);
    }
    if (tok && (!*tok || strpbrk(tok, " \t\r\n"))) {
        free(tok);
        return wr_fail(err, "the admin token is empty or contains blanks");
    }
    free(c->admin_token);
    c->admin_token = tok;
    return 0;
}

static int loopback(const char *addr)
{
    return !strncmp(addr, "127.", 4) || !strcmp(addr, "::1") || !strcmp(addr, "localhost");
}

/* Settings that are fine alone but not together. The token checks only matter to a daemon
 * that serves: --print-config writes a settings file for a container that gets its token at
 * run time, so it skips them. */
static int cross_check(wr_config *c, int serving, wr_err *err)
{
    if (c->default_k > c->max_k)
        return wr_fail(err, "default_k (%u) is larger than max_k (%u)", c->default_k, c->max_k);
    if (!serving)
        return 0;
    if (load_token(c, err) < 0)
        return -1;
    if (!c->admin_token && !loopback(c->bind))
        return wr_fail(err, "bind = %s is not a loopback address, and no admin token is set: "
                       "anyone could ingest pairs or publish models. Set admin_token_file (or "
                       "WALKREC_ADMIN_TOKEN), or bind to 127.0.0.1", c->bind);
    if (c->admin_token && !loopback(c->bind) && strlen(c->admin_token) < WR_TOKEN_MIN)
        return wr_fail(err, "bind = %s is not a loopback address, and the admin token "
                       "(admin_token_file or WALKREC_ADMIN_TOKEN) is %zu bytes: it needs at "
                       "least %d there", c->bind, strlen(c->admin_token), WR_TOKEN_MIN);
    if (c->protect_reads && !c->admin_token && !*c->read_keys_file)
        return wr_fail(err, "protect_reads = 1 needs read keys (read_keys_file) or an admin "
                       "token (admin_token_file or WALKREC_ADMIN_TOKEN)");
    return 0;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = 0;
    return s;
}

/* Unquotes "..." in place (\" and \\ escapes); -1 if the quotes are unbalanced. */
static int unquote(char *v)
{
    size_t n = strlen(v);
    if (n == 0 || v[0] != '"')
        return strchr(v, '"') ? -1 : 0;
    if (n < 2 || v[n - 1] != '"')
        return -1;
    char *w = v;
    for (size_t i = 1; i < n - 1; i++) {
        if (v[i] == '\\' && i + 1 < n - 1 && (v[i + 1] == '"' || v[i + 1] == '\\'))
            i++;
        else if (v[i] == '"')
            return -1;
        *w++ = v[i];
    }
    *w = 0;
    return 0;
}

static int parse_line(wr_config *c, char *line, const char *where, wr_err *err)
{
    char *s = trim(line);
    if (!*s || *s == '#')
        return 0;
    char *eq = strchr(s, '=');
    if (!eq)
        return wr_fail(err, "%s: expected `key = value`, got '%s'", where, s);
    *eq = 0;
    char *key = trim(s), *val = trim(eq + 1);
    if (!*key)
        return wr_fail(err, "%s: missing key before '='", where);
    if (unquote(val) < 0)
        return wr_fail(err, "%s: %s: unbalanced quotes", where, key);
    return config_set(c, key, val, where, err);
}

int config_load_file(wr_config *c, const char *path, wr_err *err)
{
    wr_lines l;
    int rc = 0, r;
    if (lines_open(&l, path, 8192, err) < 0)
        return -1;
    while (rc == 0 && (r = lines_next(&l, err)) == 1) {
        char where[PATHMAX + 32];
        snprintf(where, sizeof where, "%s:%llu", path, (unsigned long long)l.lineno);
        if (l.too_long)
            rc = wr_fail(err, "%s: line longer than 8192 bytes", where);
        else
            rc = parse_line(c, l.buf, where, err);
    }
    if (rc == 0 && r < 0)
        rc = -1;
    lines_close(&l);
    return rc;
}

static void env_name(const setting *s, char *buf, size_t n)
{
    size_t i = snprintf(buf, n, "WALKREC_");
    for (const char *p = s->name; *p && i + 1 < n; p++)
        buf[i++] = (char)toupper((unsigned char)*p);
    buf[i] = 0;
}

int config_load_env(wr_config *c, wr_err *err)
{
    for (size_t i = 0; i < NSET; i++) {
        char name[64];
        env_name(&table[i], name, sizeof name);
        const char *v = getenv(name);
        if (v && set(c, &table[i], v, name, err) < 0)
            return -1;
    }
    return 0;
}

static void flag_name(const setting *s, char *buf, size_t n)
{
    snprintf(buf, n, "%s", s->name);
    for (char *p = buf; *p; p++)
        if (*p == '_')
            *p = '-';
}

enum { OPT_HELP = 'h', OPT_CONFIG = 'c', OPT_PRINT = 1000, OPT_SETTING = 2000 };

int config_load(wr_config *c, int argc, char **argv, wr_config_action *action, wr_err *err)
{
    struct option opts[NSET + 4];
    char names[NSET][64];
    /* Flags are applied after the file and the environment, so they are kept until then. */
    int *which = xmalloc((size_t)argc * sizeof *which);
    char **value = xmalloc((size_t)argc * sizeof *value);
    int nflags = 0, rc = -1, o;
    const char *path = getenv("WALKREC_CONFIG");

    for (size_t i = 0; i < NSET; i++) {
        flag_name(&table[i], names[i], sizeof names[i]);
        opts[i] = (struct option){names[i], required_argument, NULL, OPT_SETTING + (int)i};
    }
    opts[NSET] = (struct option){"config", required_argument, NULL, OPT_CONFIG};
    opts[NSET + 1] = (struct option){"help", no_argument, NULL, OPT_HELP};
    opts[NSET + 2] = (struct option){"print-config", no_argument, NULL, OPT_PRINT};
    opts[NSET + 3] = (struct option){NULL, 0, NULL, 0};

    *action = WR_CONFIG_RUN;
    optind = 0; /* GNU: start afresh (tests call this more than once) */
    opterr = 0;
    while ((o = getopt_long(argc, argv, ":hc:", opts, NULL)) != -1) {
        if (o == OPT_HELP) {
            *action = WR_CONFIG_HELP;
        } else if (o == OPT_PRINT) {
            *action = WR_CONFIG_PRINT;
        } else if (o == OPT_CONFIG) {
            path = optarg;
        } else if (o >= OPT_SETTING) {
            which[nflags] = o - OPT_SETTING;
            value[nflags++] = optarg;
        } else if (o == ':') {
            wr_fail(err, "%s: missing value", argv[optind - 1]);
            goto out;
        } else {
            wr_fail(err, "unknown flag '%s' (walkrecd --help lists them)", argv[optind - 1]);
            goto out;
        }
    }
    if (optind < argc) {
        wr_fail(err, "unexpected argument '%s' (settings are given as --name value)",
                argv[optind]);
        goto out;
    }
    if (*action == WR_CONFIG_HELP) {
        rc = 0;
        goto out;
    }
    if (path && *path && config_load_file(c, path, err) < 0)
        goto out;
    if (config_load_env(c, err) < 0)
        goto out;
    for (int i = 0; i < nflags; i++) {
        char where[80];
        snprintf(where, sizeof where, "--%s", names[which[i]]);
        if (set(c, &table[which[i]], value[i], where, err) < 0)
            goto out;
    }
    rc = cross_check(c, *action == WR_CONFIG_RUN, err);
out:
    free(which);
    free(value);
    return rc;
}

/* Prints text word-wrapped to `width` columns, each line starting with `prefix`. */
static void wrap(FILE *f, const char *prefix, const char *text, size_t width)
{
    size_t col = 0;
    const char *p = text;
    while (*p) {
        size_t w = strcspn(p, " ");
        if (col > 0 && col + 1 + w > width) {
            fputc('\n', f);
            col = 0;
        }
        if (col == 0)
            col = (size_t)fprintf(f, "%s", prefix);
        else
            col += (size_t)fprintf(f, " ");
        col += fwrite(p, 1, w, f);
        p += w;
        while (*p == ' ')
            p++;
    }
    fputc('\n', f);
}

static void bounds(const setting *s, char *buf, size_t n)
{
    if (s->type == T_STR) {
        snprintf(buf, n, "%s", s->min ? "must not be empty" : "may be empty");
    } else if (s->type == T_ENUM) {
        size_t at = (size_t)snprintf(buf, n, "one of");
        for (int i = 0; s->names[i] && at < n; i++)
            at += (size_t)snprintf(buf + at, n - at, " %s", s->names[i]);
    } else if (s->type == T_F64) {
        snprintf(buf, n, "range %g..%g", s->lo, s->hi);
    } else {
        snprintf(buf, n, "range %llu..%llu", (unsigned long long)s->min,
                 (unsigned long long)s->max);
    }
}

void config_usage(FILE *f)
{
    fprintf(f, "usage: walkrecd [--config FILE] [--SETTING VALUE ...] [--print-config]\n\n"
               "The walkrec REST daemon: serves item-to-item recommendations from a model.\n"
               "SIGHUP reloads the newest model file; SIGTERM or SIGINT stop it cleanly.\n\n"
               "  --config FILE     settings file (also $WALKREC_CONFIG), as config/walkrecd.conf\n"
               "  --print-config    print the effective settings as a commented file, exit\n"
               "  --help            this text\n\n"
               "Settings: flag, environment variable, default. Precedence: flags > environment >\n"
               "file > defaults.\n\n");
    for (size_t i = 0; i < NSET; i++) {
        const setting *s = &table[i];
        char flag[64], env[64], b[64], head[160];
        flag_name(s, flag, sizeof flag);
        env_name(s, env, sizeof env);
        bounds(s, b, sizeof b);
        snprintf(head, sizeof head, "  --%s %s", flag, s->meta);
        fprintf(f, "%-32s %s, default '%s'%s%s; %s\n", head, env, s->def,
                s->unit ? "; unit: " : "", s->unit ? s->unit : "", b);
        wrap(f, "      ", s->help, 88);
    }
}

/* A value as the file syntax needs it: quoted when empty or when blanks or quotes would
 * otherwise be lost. */
static void put_value(FILE *f, const char *v)
{
    size_t n = strlen(v);
    /* unquoted, a value may hold no '"' at all (unquote() refuses it) */
    int quote = n == 0 || isspace((unsigned char)v[0]) || isspace((unsigned char)v[n - 1]) ||
                strchr(v, '"');
    if (!quote) {
        fputs(v, f);
        return;
    }
    fputc('"', f);
    for (; *v; v++) {
        if (*v == '"' || *v == '\\')
            fputc('\\', f);
        fputc(*v, f);
    }
    fputc('"', f);
}

void config_write(const wr_config *c, FILE *f)
{
    fprintf(f, "# walkrecd.conf - settings of the walkrec REST daemon (walkrecd).\n"
               "#\n"
               "# Syntax: `key = value`, one per line; lines starting with '#' are comments;\n"
               "# a value may be double-quoted (\\\" and \\\\ escapes). Each key can also be set\n"
               "# by the environment variable WALKREC_<KEY> (upper case) or the flag --<key>\n"
               "# (with '-' for '_'). Precedence: flags > environment > this file > defaults.\n"
               "# Written by `walkrecd --print-config`.\n");
    for (size_t i = 0; i < NSET; i++) {
        const setting *s = &table[i];
        char b[64];
        bounds(s, b, sizeof b);
        fputc('\n', f);
        wrap(f, "# ", s->help, 88);
        fprintf(f, "# Default: ");
        put_value(f, s->def);
        if (s->unit)
            fprintf(f, "; unit: %s", s->unit);
        fprintf(f, "; %s.\n", b);
        fprintf(f, "%s = ", s->name);
        if (s->type == T_STR)
            put_value(f, *(char *const *)((const char *)c + s->off));
        else if (s->type == T_ENUM)
            fputs(s->names[*(const int *)((const char *)c + s->off)], f);
        else if (s->type == T_U32)
            fprintf(f, "%u", *(const uint32_t *)((const char *)c + s->off));
        else if (s->type == T_F64)
            fprintf(f, "%g", *(const double *)((const char *)c + s->off));
        else
            fprintf(f, "%llu", (unsigned long long)*(const uint64_t *)((const char *)c + s->off));
        fputc('\n', f);
    }
}
