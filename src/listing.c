/* SPDX-License-Identifier: MIT */
#include "symsrvd_config.h"

#include "listing.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "timeutil.h"
#include "xalloc.h"

static char *dump(json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

    json_decref(v);
    if (s == NULL)
        abort(); /* only on OOM, which xalloc's policy makes fatal */
    return s;
}

static json_t *time_or_null(int64_t ms)
{
    char buf[32];

    if (ms <= 0)
        return json_null();
    rfc3339_format(ms, buf, sizeof(buf));
    return json_string(buf);
}

char *listing_entry(const char *key, size_t keylen,
                    const struct cache_entry *e, bool negative)
{
    const char *end = key + keylen, *id = end, *file = end;
    const char *s1 = memchr(key, '/', keylen);
    const char *s2 = s1 ? memchr(s1 + 1, '/', (size_t)(end - s1 - 1)) : NULL;
    size_t namelen = keylen;
    json_t *o = json_object();

    /* Canonical keys are always "name/ID/file". */
    if (s1 != NULL && s2 != NULL) {
        namelen = (size_t)(s1 - key);
        id = s1 + 1;
        file = s2 + 1;
    }
    json_object_set_new(o, "name", json_stringn(key, namelen));
    json_object_set_new(o, "id", json_stringn(id, s2 ? (size_t)(s2 - id) : 0));
    json_object_set_new(o, "file", json_stringn(file, (size_t)(end - file)));
    if (negative) {
        json_object_set_new(o, "expires", time_or_null(e->cached_at_ms));
        return dump(o);
    }
    json_object_set_new(o, "size", json_integer((json_int_t)e->size));
    json_object_set_new(o, "upstream", json_string(e->upstream));
    json_object_set_new(o, "cached_at", time_or_null(e->cached_at_ms));
    json_object_set_new(o, "last_access", time_or_null(e->last_access_ms));
    json_object_set_new(o, "hits", json_integer((json_int_t)e->hits));
    return dump(o);
}

char *listing_string(const char *s)
{
    return dump(json_string(s));
}

char *listing_health(const char *degraded, int64_t uptime_s,
                     unsigned workers, uint64_t entries, uint64_t bytes,
                     const struct listing_upstream *ups, size_t n)
{
    json_t *list = json_array(), *doc;
    size_t i;

    for (i = 0; i < n; i++)
        json_array_append_new(list, json_pack("{s:s, s:s}", "name",
                                              ups[i].name, "breaker",
                                              ups[i].breaker));
    doc = json_pack("{s:s, s:s, s:I, s:i, s:{s:I, s:I}, s:o}", "status",
                    degraded != NULL ? "degraded" : "ok", "version",
                    PACKAGE_VERSION, "uptime_s", (json_int_t)uptime_s,
                    "workers", (int)workers, "cache", "entries",
                    (json_int_t)entries, "bytes", (json_int_t)bytes,
                    "upstreams", list);
    if (degraded != NULL)
        json_object_set_new(doc, "reason", json_string(degraded));
    return dump(doc);
}
