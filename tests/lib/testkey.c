/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "testkey.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdlib.h>

#include "xalloc.h"

/* BIO's contents (new string). */
static char *bio_text(BIO *bio)
{
    char *data;
    long len = BIO_get_mem_data(bio, &data);

    return xasprintf("%.*s", (int)len, data);
}

char *testkey_rsa_pem(char **public_pem)
{
    EVP_PKEY *key = EVP_RSA_gen(2048);
    BIO *priv = BIO_new(BIO_s_mem()), *pub = BIO_new(BIO_s_mem());
    char *pem;

    if (key == NULL || priv == NULL || pub == NULL ||
        PEM_write_bio_PrivateKey(priv, key, NULL, NULL, 0, NULL, NULL) != 1 ||
        PEM_write_bio_PUBKEY(pub, key) != 1)
        abort();
    pem = bio_text(priv);
    if (public_pem != NULL)
        *public_pem = bio_text(pub);
    BIO_free(priv);
    BIO_free(pub);
    EVP_PKEY_free(key);
    return pem;
}
