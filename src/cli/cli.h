/* cli.h - the subcommands of the walkrec tool and their shared helpers. */
#ifndef WALKREC_CLI_H
#define WALKREC_CLI_H

#include "walkrec/lists.h"
#include "walkrec/util.h"

int cmd_prepare(int argc, char **argv);
int cmd_split(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_neighbors(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_index(int argc, char **argv);
int cmd_graph(int argc, char **argv);

/* Fatal error of a command: prints "walkrec: msg" and exits 1. */
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses a number option or dies naming the option: "--dim: expected an integer". */
unsigned long long cli_uint(const char *opt, const char *s, unsigned long long min,
                            unsigned long long max);
double cli_double(const char *opt, const char *s, double min, double max);

/* The neighbour lists' options of `index` and `train` (lists.h), as getopt codes. */
enum { CLI_O_K = 900, CLI_O_RANK, CLI_O_EXACT_MAX, CLI_O_PROBE, CLI_O_POPULAR,
       CLI_O_MIN_RECALL };
/* Applies option c (a CLI_O_* code) with its argument; -1 when c is not one of them. */
int cli_lists_option(int c, const char *arg, wr_lists_opts *o, int *rank);
/* One summary line of built lists on stderr (unless --quiet). */
void cli_print_lists(const wr_lists *l);

#endif
