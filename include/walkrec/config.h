/* config.h - walkrecd's settings: one table read from a file, the environment and flags.
 *
 * Every setting has a name (file key), an environment variable WALKREC_<NAME in upper
 * case>, and a flag --<name with '-' for '_'>. Precedence: flags > environment > file >
 * defaults. The same table prints --help and the commented example (config/walkrecd.conf
 * is `walkrecd --print-config` run with defaults).
 *
 * File syntax: one `key = value` per line; blank lines and lines starting with '#' are
 * ignored; a value may be written in double quotes (\" and \\ escapes) to keep leading or
 * trailing blanks. A later line for the same key wins. */
#ifndef WALKREC_CONFIG_H
#define WALKREC_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "walkrec/util.h"

enum { WR_RETRAIN_SCRATCH = 0, WR_RETRAIN_WARM = 1 };

/* Shortest admin token taken when binding beyond loopback (bytes). */
#define WR_TOKEN_MIN 16

/* Enum settings (rank, retrain_mode, algo, edge_weight) are parsed once, into ints of the
 * modules' enums; config_enum_name gives a value's name back. */
typedef struct wr_config {
    char *bind;                       /* listen address */
    uint32_t port;                    /* 0 = any free port (logged) */
    uint32_t threads;                 /* HTTP worker threads */
    char *data_dir;
    char *model;                      /* "" = newest model-<gen>.wr in data_dir */
    char *pairs;                      /* "" = none */
    char *items_file;                 /* "" = none */
    uint32_t train_threads;           /* 0 = all cores */
    uint32_t index_k;                 /* neighbours precomputed per item */
    uint32_t index_threads;           /* 0 = all cores */
    char *blas_kernel;                /* "auto", "keep" or an OpenBLAS core name (blas.h) */
    uint64_t exact_index_max_items;   /* above: approximate lists (lists.h) */
    uint32_t ann_cells, ann_probe; /* the approximate lists (ann.h) */
    double ann_min_recall;
    uint32_t ann_popular;
    int rank;                         /* WR_RANK_* (rank.h) */
    uint32_t default_k, max_k, max_batch;
    uint64_t max_body_bytes;
    uint64_t max_response_bytes;      /* an answer's JSON */
    uint64_t max_scan_items;          /* exact scans x items per request */
    uint32_t scan_threads, scan_queue; /* the pool of heavy requests (pool.h) */
    uint64_t max_unsent_bytes;        /* answers queued and not yet sent, in all */
    uint32_t connection_limit;
    uint32_t connection_limit_per_ip; /* 0 = none */
    uint32_t connection_timeout;      /* seconds idle, 0 = none */
    uint32_t request_timeout;         /* seconds to send a request, 0 = none */
    uint64_t connection_memory_limit; /* bytes */
    char *cors_origins;               /* comma-separated; "*" = any; "" = no CORS */
    uint32_t shutdown_grace;          /* seconds to let in-flight requests finish */
    char *admin_token_file;           /* "" = none */
    char *admin_token;                /* not a setting: from the file or WALKREC_ADMIN_TOKEN;
                                         NULL = ingestion and admin routes are open */
    uint32_t auth_failures;           /* wrong tokens per address and window; 0 = no limit */
    uint32_t auth_failure_window;     /* seconds */
    uint32_t protect_reads;           /* 1 = read routes need the token or a read key */
    char *read_keys_file;             /* "" = none: keys that may read (access.h) */
    uint32_t strict_params;           /* 1 = unknown query parameters and JSON fields: 400 */
    uint64_t retrain_min_pairs;       /* ingested pairs that trigger a retrain (0 = never) */
    uint32_t retrain_interval;        /* seconds (0 = never by time) */
    int retrain_mode;                 /* WR_RETRAIN_SCRATCH or WR_RETRAIN_WARM */
    int algo;                         /* the daemon's trainer: WR_ALGO_* (pipeline.h) */
    uint32_t dim, window, negative, walks_per_item, walk_length;
    uint64_t train_seed;
    int edge_weight;                  /* WR_EW_* (edgeweight.h), AUTO = the algorithm's */
    double calibration;               /* share held out for the probability, 0 = none */
    double positive_rate;             /* the probability's stated base rate (calib.h) */
    uint32_t retrain_epochs;          /* 0 = random vectors (tests the gate) */
    uint32_t retrain_warm_epochs;
    double validation_fraction;       /* held out by hash to gate candidates */
    uint64_t validation_seed;
    double gate_max_auc_drop;
    double gate_max_churn;
    uint32_t keep_context;            /* 1 = trained models keep the context vectors */
    double anchor_margin;             /* lists_anchor's margin on retrains, 0 = none */            /* refuse above this 1 - overlap@10 (1: never) */
    uint32_t keep_generations;
    char *follow;                     /* "" = trainer; else follow this directory */
    uint32_t follow_interval;         /* seconds */
    char *trainer_url;                /* named in a follower's 409 answers */
} wr_config;

/* What the command line asked for besides settings. */
typedef enum wr_config_action {
    WR_CONFIG_RUN,   /* serve */
    WR_CONFIG_HELP,  /* --help */
    WR_CONFIG_PRINT, /* --print-config */
} wr_config_action;

/* Fills *c with the defaults (strings are owned; free with config_free()). */
void config_init(wr_config *c);
void config_free(wr_config *c);

/* Sets one setting from text, checking type and bounds. `where` prefixes the message
 * ("walkrecd.conf:12", "WALKREC_PORT", "--port"). */
int config_set(wr_config *c, const char *name, const char *value, const char *where,
               wr_err *err);
/* Reads a settings file over *c; errors name path:line and the reason. */
int config_load_file(wr_config *c, const char *path, wr_err *err);
/* Reads every WALKREC_<NAME> variable that is set. */
int config_load_env(wr_config *c, wr_err *err);
/* The whole start-up sequence over a config_init()ed *c: the file named by --config (else
 * $WALKREC_CONFIG, else none), then the environment, then the flags. Returns -1 with err
 * set on a bad value, an unknown flag or a stray argument. Not thread-safe (getopt). */
int config_load(wr_config *c, int argc, char **argv, wr_config_action *action, wr_err *err);

/* The name of an enum setting's current value ("warm", "auto", ...), or NULL for a setting
 * that is not an enum. */
const char *config_enum_name(const wr_config *c, const char *setting);

/* --help text: every flag with its variable, default, unit and meaning. */
void config_usage(FILE *f);
/* *c as a commented settings file (every key with meaning, unit, default and bounds). */
void config_write(const wr_config *c, FILE *f);

#endif
