/* SPDX-License-Identifier: MIT */
/*
 * testkey: a fresh RSA key for tests that sign (gcs service accounts),
 * made at run time so that no private key is ever committed.
 */
#ifndef SYMSRVD_TESTKEY_H
#define SYMSRVD_TESTKEY_H

/* A new 2048-bit RSA private key in PEM form (new string; aborts the
 * test on failure).  *PUBLIC_PEM, when not NULL, gets its public key. */
char *testkey_rsa_pem(char **public_pem);

#endif
