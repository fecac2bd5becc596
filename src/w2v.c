/* w2v.c - placeholder until written. */
typedef int wr_placeholder_w2v;
