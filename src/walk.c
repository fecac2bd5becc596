/* walk.c - placeholder until written. */
typedef int wr_placeholder_walk;
