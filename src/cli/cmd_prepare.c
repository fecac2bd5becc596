/* cmd_prepare.c - placeholder until written. */
typedef int wr_placeholder_prepare;
