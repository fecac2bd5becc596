/* amazon.c - placeholder until written. */
typedef int wr_placeholder_amazon;
