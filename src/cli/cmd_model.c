/* cmd_model.c - placeholder until written. */
typedef int wr_placeholder_model;
