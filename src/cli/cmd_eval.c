/* cmd_eval.c - placeholder until written. */
typedef int wr_placeholder_eval;
