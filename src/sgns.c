/* sgns.c - placeholder until written. */
typedef int wr_placeholder_sgns;
