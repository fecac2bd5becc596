/* cmd_synth.c - placeholder until written. */
typedef int wr_placeholder_synth;
