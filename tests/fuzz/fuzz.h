/* fuzz.h - what the fuzz drivers under tests/fuzz/ share.
 *
 * Each fuzz_NAME.c defines LLVMFuzzerTestOneInput (and may define LLVMFuzzerInitialize).
 * Linked with libFuzzer it is fuzz-NAME (meson -Dfuzz=true, clang); linked with replay.c it
 * is the unit test fuzz_NAME, which feeds it the seed corpus and every input that once
 * crashed it. A driver checks what the code under test promises, and calls fuzz_bug() when
 * a promise is broken: abort() is a crash to libFuzzer and a failure to the test. */
#ifndef WALKREC_FUZZ_H
#define WALKREC_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* This process's scratch directory (in /dev/shm when there is one, so the many small
 * writes stay in memory), made on first use and removed at exit. */
const char *fuzz_dir(void);
/* fuzz_dir()/name in a new string (free it). */
char *fuzz_path(const char *name);
/* Replaces the file at path with data[0..len); aborts on I/O errors. */
void fuzz_write(const char *path, const void *data, size_t len);
/* Reports a broken promise and aborts. */
_Noreturn void fuzz_bug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* 1 when s[0..len) is an id as the file formats define it: 1..WR_ID_MAX bytes of UTF-8
 * without NUL. */
int fuzz_valid_id(const char *s, size_t len);

#endif
