/* cmd_train.c - placeholder until written. */
typedef int wr_placeholder_train;
