/* cli.h - the subcommands of the walkrec tool and their shared helpers. */
#ifndef WALKREC_CLI_H
#define WALKREC_CLI_H

#include "walkrec/util.h"

int cmd_prepare(int argc, char **argv);
int cmd_split(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_neighbors(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_train(int argc, char **argv);

/* Fatal error of a command: prints "walkrec: msg" and exits 1. */
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses a number option or dies naming the option: "--dim: expected an integer". */
unsigned long long cli_uint(const char *opt, const char *s, unsigned long long min,
                            unsigned long long max);
double cli_double(const char *opt, const char *s, double min, double max);

#endif
