/*
 * sha256.h - SHA-256 (FIPS 180-4), small and self-contained.
 *
 * Message files carry "Content-Hash: sha256:<hex>" and transferred messages
 * a Source-Hash, so that a reader can tell the content is the one that was
 * sent.  Git's own hashes are SHA-1 and stay inside libgit2.
 */
#ifndef MLB_SHA256_H
#define MLB_SHA256_H

#include <stddef.h>
#include <stdint.h>

/* The running state of one hash; fill with mlb_sha256_init(). */
struct mlb_sha256 {
	uint32_t h[8];
	uint64_t bytes;		/* message length so far */
	unsigned char block[64];
	size_t used;		/* bytes waiting in block */
};

/* Start a new hash. */
void mlb_sha256_init(struct mlb_sha256 *c);
/* Feed len more bytes. */
void mlb_sha256_update(struct mlb_sha256 *c, const void *data, size_t len);
/* Finish: the 32-byte digest into out; c must be initialised again before reuse. */
void mlb_sha256_final(struct mlb_sha256 *c, unsigned char out[32]);
/* The digest of data in one call. */
void mlb_sha256(const void *data, size_t len, unsigned char out[32]);
/* The digest of data as 64 lower-case hex digits and a NUL. */
void mlb_sha256_hex(const void *data, size_t len, char out[65]);
/* The content hash as sessions and events write it: "sha256:<64 hex digits>" (72 bytes with the NUL). */
void mlb_content_hash(const void *data, size_t len, char out[72]);

#endif
