/*
 * The L1 zone: a shared-memory key/value store for every worker.
 * Slab pool + rbtree keyed by a stable 64-bit hash (with a full key
 * compare on collisions) + an LRU queue; per-entry expiry; when the slab
 * is full the least recently used entries are evicted.
 */

#include "ngx_http_chatwootai_module.h"


typedef struct {
    ngx_rbtree_node_t           node;       /* node.key: hash of the key */
    ngx_queue_t                 queue;
    ngx_msec_t                  expire;     /* ngx_current_msec based; 0: never */
    uint32_t                    key_len;
    uint32_t                    value_len;
    u_char                      data[1];    /* key, then value */
} ngx_http_cwai_node_t;

#define cwai_node(n)  ((ngx_http_cwai_node_t *) \
                        ((u_char *) (n) - offsetof(ngx_http_cwai_node_t, node)))

/* Expired entries freed opportunistically per write. */
#define NGX_HTTP_CWAI_EXPIRE_BATCH  2


static ngx_int_t ngx_http_cwai_zone_init(ngx_shm_zone_t *shm_zone, void *data);
static void ngx_http_cwai_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);


static ngx_int_t
ngx_http_cwai_node_cmp(ngx_http_cwai_node_t *n, ngx_rbtree_key_t hash,
    ngx_str_t *key)
{
    if (hash != n->node.key) {
        return hash < n->node.key ? -1 : 1;
    }
    return ngx_memn2cmp(key->data, n->data, key->len, n->key_len);
}


static void
ngx_http_cwai_rbtree_insert(ngx_rbtree_node_t *temp, ngx_rbtree_node_t *node,
    ngx_rbtree_node_t *sentinel)
{
    ngx_str_t              key;
    ngx_rbtree_node_t    **p;
    ngx_http_cwai_node_t  *n;

    n = cwai_node(node);
    key.data = n->data;
    key.len = n->key_len;

    for ( ;; ) {
        p = ngx_http_cwai_node_cmp(cwai_node(temp), node->key, &key) < 0
            ? &temp->left : &temp->right;

        if (*p == sentinel) {
            break;
        }
        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


static ngx_http_cwai_node_t *
ngx_http_cwai_lookup(ngx_http_cwai_zone_t *z, ngx_rbtree_key_t hash,
    ngx_str_t *key)
{
    ngx_int_t           rc;
    ngx_rbtree_node_t  *node, *sentinel;

    node = z->sh->rbtree.root;
    sentinel = z->sh->rbtree.sentinel;

    while (node != sentinel) {
        rc = ngx_http_cwai_node_cmp(cwai_node(node), hash, key);
        if (rc == 0) {
            return cwai_node(node);
        }
        node = rc < 0 ? node->left : node->right;
    }
    return NULL;
}


static ngx_uint_t
ngx_http_cwai_expired(ngx_http_cwai_node_t *n)
{
    return n->expire != 0 && (ngx_msec_int_t) (n->expire - ngx_current_msec) <= 0;
}


static void
ngx_http_cwai_free_node(ngx_http_cwai_zone_t *z, ngx_http_cwai_node_t *n)
{
    ngx_queue_remove(&n->queue);
    ngx_rbtree_delete(&z->sh->rbtree, &n->node);
    ngx_slab_free_locked(z->shpool, n);
    z->sh->entries--;
}


/* Frees up to n expired entries from the LRU tail. */
static void
ngx_http_cwai_expire(ngx_http_cwai_zone_t *z, ngx_uint_t n)
{
    ngx_queue_t           *q;
    ngx_http_cwai_node_t  *node;

    while (n-- && !ngx_queue_empty(&z->sh->lru)) {
        q = ngx_queue_last(&z->sh->lru);
        node = ngx_queue_data(q, ngx_http_cwai_node_t, queue);
        if (!ngx_http_cwai_expired(node)) {
            return;
        }
        ngx_http_cwai_free_node(z, node);
        z->sh->stats.expired++;
    }
}


/* size bytes of the slab, evicting least recently used entries when full */
static void *
ngx_http_cwai_alloc_evicting(ngx_http_cwai_zone_t *z, size_t size)
{
    void                  *p;
    ngx_queue_t           *q;
    ngx_http_cwai_node_t  *n;

    ngx_http_cwai_expire(z, NGX_HTTP_CWAI_EXPIRE_BATCH);

    for ( ;; ) {
        p = ngx_slab_alloc_locked(z->shpool, size);
        if (p != NULL) {
            return p;
        }
        if (ngx_queue_empty(&z->sh->lru)) {
            return NULL;    /* larger than the whole zone */
        }
        q = ngx_queue_last(&z->sh->lru);
        n = ngx_queue_data(q, ngx_http_cwai_node_t, queue);
        if (ngx_http_cwai_expired(n)) {
            z->sh->stats.expired++;
        } else {
            z->sh->stats.evictions++;
        }
        ngx_http_cwai_free_node(z, n);
    }
}


static ngx_http_cwai_node_t *
ngx_http_cwai_alloc(ngx_http_cwai_zone_t *z, size_t key_len, size_t value_len)
{
    ngx_http_cwai_node_t  *n;

    n = ngx_http_cwai_alloc_evicting(z, offsetof(ngx_http_cwai_node_t, data)
                                        + key_len + value_len);
    if (n == NULL) {
        return NULL;
    }
    n->key_len = (uint32_t) key_len;
    n->value_len = (uint32_t) value_len;
    return n;
}


static ngx_int_t
ngx_http_cwai_insert(ngx_http_cwai_zone_t *z, ngx_rbtree_key_t hash,
    ngx_str_t *key, ngx_str_t *value, ngx_msec_t ttl)
{
    ngx_http_cwai_node_t  *n;

    n = ngx_http_cwai_alloc(z, key->len, value->len);
    if (n == NULL) {
        return NGX_ERROR;
    }
    n->node.key = hash;
    n->expire = ttl ? ngx_current_msec + ttl : 0;
    if (n->expire == 0 && ttl) {
        n->expire = 1;      /* 0 means "never"; keep it a real deadline */
    }
    ngx_memcpy(n->data, key->data, key->len);
    ngx_memcpy(n->data + key->len, value->data, value->len);

    ngx_rbtree_insert(&z->sh->rbtree, &n->node);
    ngx_queue_insert_head(&z->sh->lru, &n->queue);
    z->sh->entries++;
    return NGX_OK;
}


/* The live node for key, or NULL; an expired one is freed on the way. */
static ngx_http_cwai_node_t *
ngx_http_cwai_find_live(ngx_http_cwai_zone_t *z, ngx_rbtree_key_t hash,
    ngx_str_t *key)
{
    ngx_http_cwai_node_t  *n;

    n = ngx_http_cwai_lookup(z, hash, key);
    if (n != NULL && ngx_http_cwai_expired(n)) {
        ngx_http_cwai_free_node(z, n);
        z->sh->stats.expired++;
        return NULL;
    }
    return n;
}


static ngx_rbtree_key_t
ngx_http_cwai_hash(ngx_str_t *key)
{
    return (ngx_rbtree_key_t) cwai_hash64(key->data, key->len);
}


ngx_int_t
ngx_http_cwai_zone_get(ngx_http_cwai_zone_t *z, ngx_str_t *key,
    ngx_pool_t *pool, ngx_str_t *value, ngx_msec_t *ttl)
{
    ngx_int_t              rc = NGX_DECLINED;
    ngx_rbtree_key_t       hash;
    ngx_http_cwai_node_t  *n;

    hash = ngx_http_cwai_hash(key);

    ngx_shmtx_lock(&z->shpool->mutex);

    n = ngx_http_cwai_find_live(z, hash, key);
    if (n != NULL) {
        ngx_queue_remove(&n->queue);
        ngx_queue_insert_head(&z->sh->lru, &n->queue);

        if (ttl) {
            *ttl = n->expire ? n->expire - ngx_current_msec : 0;
        }
        rc = NGX_OK;
        if (value) {
            value->len = n->value_len;
            value->data = ngx_pnalloc(pool, n->value_len + 1);
            if (value->data == NULL) {
                rc = NGX_ERROR;
            } else {
                ngx_memcpy(value->data, n->data + n->key_len, n->value_len);
                value->data[n->value_len] = '\0';
            }
        }
    }

    ngx_shmtx_unlock(&z->shpool->mutex);
    return rc;
}


ngx_int_t
ngx_http_cwai_zone_set(ngx_http_cwai_zone_t *z, ngx_str_t *key,
    ngx_str_t *value, ngx_msec_t ttl)
{
    ngx_int_t              rc;
    ngx_rbtree_key_t       hash;
    ngx_http_cwai_node_t  *n;

    hash = ngx_http_cwai_hash(key);

    ngx_shmtx_lock(&z->shpool->mutex);

    n = ngx_http_cwai_lookup(z, hash, key);
    if (n != NULL && n->value_len == value->len) {
        /* same size: update in place, keep the node */
        ngx_memcpy(n->data + n->key_len, value->data, value->len);
        n->expire = ttl ? ngx_current_msec + ttl : 0;
        ngx_queue_remove(&n->queue);
        ngx_queue_insert_head(&z->sh->lru, &n->queue);
        rc = NGX_OK;

    } else {
        if (n != NULL) {
            ngx_http_cwai_free_node(z, n);
        }
        rc = ngx_http_cwai_insert(z, hash, key, value, ttl);
    }

    ngx_shmtx_unlock(&z->shpool->mutex);
    return rc;
}


ngx_int_t
ngx_http_cwai_zone_add(ngx_http_cwai_zone_t *z, ngx_str_t *key,
    ngx_str_t *value, ngx_msec_t ttl)
{
    ngx_int_t         rc;
    ngx_rbtree_key_t  hash;

    hash = ngx_http_cwai_hash(key);

    ngx_shmtx_lock(&z->shpool->mutex);

    if (ngx_http_cwai_find_live(z, hash, key) != NULL) {
        rc = NGX_DECLINED;
    } else {
        rc = ngx_http_cwai_insert(z, hash, key, value, ttl);
    }

    ngx_shmtx_unlock(&z->shpool->mutex);
    return rc;
}


ngx_int_t
ngx_http_cwai_zone_incr(ngx_http_cwai_zone_t *z, ngx_str_t *key,
    int64_t delta, ngx_msec_t ttl, int64_t *result)
{
    u_char                 buf[NGX_INT64_LEN + 2], *p;
    int64_t                v = 0;
    ngx_int_t              rc;
    ngx_str_t              value;
    ngx_uint_t             neg, i;
    ngx_msec_t             expire = 0;
    ngx_rbtree_key_t       hash;
    ngx_http_cwai_node_t  *n;

    hash = ngx_http_cwai_hash(key);

    ngx_shmtx_lock(&z->shpool->mutex);

    n = ngx_http_cwai_find_live(z, hash, key);
    if (n != NULL) {
        p = n->data + n->key_len;
        neg = (n->value_len > 0 && p[0] == '-');
        for (i = neg; i < n->value_len && p[i] >= '0' && p[i] <= '9'; i++) {
            v = v * 10 + (p[i] - '0');
        }
        v = neg ? -v : v;
        expire = n->expire;
    }

    v += delta;
    value.data = buf;
    value.len = ngx_sprintf(buf, "%L", v) - buf;

    if (n != NULL && n->value_len == value.len) {
        ngx_memcpy(n->data + n->key_len, value.data, value.len);
        ngx_queue_remove(&n->queue);
        ngx_queue_insert_head(&z->sh->lru, &n->queue);
        rc = NGX_OK;

    } else {
        if (n != NULL) {
            ngx_http_cwai_free_node(z, n);
        }
        rc = ngx_http_cwai_insert(z, hash, key, &value, ttl);
        if (rc == NGX_OK && expire) {
            /* a counter keeps the deadline it was created with */
            n = ngx_http_cwai_lookup(z, hash, key);
            n->expire = expire;
        }
    }

    ngx_shmtx_unlock(&z->shpool->mutex);

    if (result) {
        *result = v;
    }
    return rc;
}


/*
 * The generic cell rate algorithm: the entry holds the theoretical arrival
 * time (TAT, ngx_current_msec based, shared by the workers like the
 * entries' deadlines). A message at "now" conforms when TAT - now is at
 * most burst intervals; it then moves TAT one interval on. The entry
 * expires when the bucket is full again.
 */
ngx_int_t
ngx_http_cwai_zone_limit(ngx_http_cwai_zone_t *z, ngx_str_t *key,
    ngx_msec_t interval, ngx_uint_t burst)
{
    u_char                 buf[NGX_INT64_LEN + 2], *p;
    ngx_int_t              rc;
    ngx_str_t              value;
    ngx_uint_t             i;
    ngx_msec_t             now, tat;
    ngx_rbtree_key_t       hash;
    ngx_http_cwai_node_t  *n;

    hash = ngx_http_cwai_hash(key);
    now = ngx_current_msec;
    tat = now;

    ngx_shmtx_lock(&z->shpool->mutex);

    n = ngx_http_cwai_find_live(z, hash, key);
    if (n != NULL) {
        p = n->data + n->key_len;
        tat = 0;
        for (i = 0; i < n->value_len && p[i] >= '0' && p[i] <= '9'; i++) {
            tat = tat * 10 + (p[i] - '0');
        }
        if ((ngx_msec_int_t) (tat - now) < 0) {
            tat = now;
        }
    }

    if ((ngx_msec_t) (tat - now) > (ngx_msec_t) burst * interval) {
        ngx_shmtx_unlock(&z->shpool->mutex);
        return NGX_DECLINED;
    }

    tat += interval;
    value.data = buf;
    value.len = ngx_sprintf(buf, "%M", tat) - buf;

    if (n != NULL && n->value_len == value.len) {
        ngx_memcpy(n->data + n->key_len, value.data, value.len);
        n->expire = tat ? tat : 1;
        ngx_queue_remove(&n->queue);
        ngx_queue_insert_head(&z->sh->lru, &n->queue);
        rc = NGX_OK;

    } else {
        if (n != NULL) {
            ngx_http_cwai_free_node(z, n);
        }
        rc = ngx_http_cwai_insert(z, hash, key, &value, tat - now);
    }

    ngx_shmtx_unlock(&z->shpool->mutex);
    return rc;
}


ngx_int_t
ngx_http_cwai_zone_delete(ngx_http_cwai_zone_t *z, ngx_str_t *key)
{
    ngx_int_t              rc = NGX_DECLINED;
    ngx_rbtree_key_t       hash;
    ngx_http_cwai_node_t  *n;

    hash = ngx_http_cwai_hash(key);

    ngx_shmtx_lock(&z->shpool->mutex);

    n = ngx_http_cwai_find_live(z, hash, key);
    if (n != NULL) {
        ngx_http_cwai_free_node(z, n);
        rc = NGX_OK;
    }

    ngx_shmtx_unlock(&z->shpool->mutex);
    return rc;
}


void
ngx_http_cwai_zone_usage(ngx_http_cwai_zone_t *z, ngx_http_cwai_zone_usage_t *u)
{
    ngx_shmtx_lock(&z->shpool->mutex);

    u->entries = z->sh->entries;
    u->size = z->shm_zone->shm.size;
    u->free = z->shpool->pfree * ngx_pagesize;

    ngx_shmtx_unlock(&z->shpool->mutex);
}


/*
 * ---- job records: accepted messages that have not ended -----------------
 *
 * The durable queue without Redis (ngx_http_chatwootai_queue.c): a record
 * per message, owned by the worker that runs it. Records are neither in
 * the rbtree nor in the LRU, so they are never evicted; a worker that
 * dies (kill -9, a crash, worker_shutdown_timeout) leaves its records to
 * the surviving workers, which take over those whose owner is gone.
 */

typedef struct {
    ngx_queue_t                 queue;
    uint64_t                    id;
    ngx_pid_t                   pid;        /* the worker running it */
    uint32_t                    attempts;   /* workers that took it */
    uint32_t                    len;
    u_char                      data[1];
} ngx_http_cwai_job_rec_t;


ngx_int_t
ngx_http_cwai_zone_job_add(ngx_http_cwai_zone_t *z, ngx_str_t *data,
    ngx_http_cwai_zone_job_t *job)
{
    ngx_http_cwai_job_rec_t  *rec;

    ngx_shmtx_lock(&z->shpool->mutex);

    rec = ngx_http_cwai_alloc_evicting(z, offsetof(ngx_http_cwai_job_rec_t, data)
                                          + data->len);
    if (rec == NULL) {
        ngx_shmtx_unlock(&z->shpool->mutex);
        return NGX_ERROR;
    }
    rec->id = ++z->sh->job_seq;
    rec->pid = ngx_pid;
    rec->attempts = 1;
    rec->len = (uint32_t) data->len;
    ngx_memcpy(rec->data, data->data, data->len);
    ngx_queue_insert_tail(&z->sh->jobs, &rec->queue);
    z->sh->njobs++;

    ngx_shmtx_unlock(&z->shpool->mutex);

    job->rec = rec;
    job->id = rec->id;
    job->attempts = 1;
    return NGX_OK;
}


void
ngx_http_cwai_zone_job_done(ngx_http_cwai_zone_t *z, ngx_http_cwai_zone_job_t *job)
{
    ngx_http_cwai_job_rec_t  *rec = job->rec;

    ngx_shmtx_lock(&z->shpool->mutex);

    /* the id tells whether the record is still the one we took */
    if (rec->id == job->id && rec->pid == ngx_pid) {
        ngx_queue_remove(&rec->queue);
        ngx_slab_free_locked(z->shpool, rec);
        z->sh->njobs--;
    }

    ngx_shmtx_unlock(&z->shpool->mutex);
}


void
ngx_http_cwai_zone_job_release(ngx_http_cwai_zone_t *z,
    ngx_http_cwai_zone_job_t *job)
{
    ngx_http_cwai_job_rec_t  *rec = job->rec;

    ngx_shmtx_lock(&z->shpool->mutex);

    if (rec->id == job->id && rec->pid == ngx_pid) {
        rec->pid = 0;           /* anyone's, at the next look */
    }

    ngx_shmtx_unlock(&z->shpool->mutex);
}


/* kill(pid, 0): ESRCH means the worker is gone (EPERM: alive, another user) */
static ngx_uint_t
ngx_http_cwai_pid_gone(ngx_pid_t pid)
{
    return kill(pid, 0) == -1 && ngx_errno == NGX_ESRCH;
}


ngx_int_t
ngx_http_cwai_zone_job_claim(ngx_http_cwai_zone_t *z, ngx_pool_t *pool,
    ngx_str_t *data, ngx_http_cwai_zone_job_t *job)
{
    ngx_int_t                 rc = NGX_DECLINED;
    ngx_uint_t                i, nalive;
    ngx_pid_t                 alive[8];
    ngx_queue_t              *q;
    ngx_http_cwai_job_rec_t  *rec;

    nalive = 0;

    ngx_shmtx_lock(&z->shpool->mutex);

    for (q = ngx_queue_head(&z->sh->jobs);
         q != ngx_queue_sentinel(&z->sh->jobs);
         q = ngx_queue_next(q))
    {
        rec = ngx_queue_data(q, ngx_http_cwai_job_rec_t, queue);
        if (rec->pid == ngx_pid) {
            continue;
        }
        for (i = 0; i < nalive && alive[i] != rec->pid; i++) { /* void */ }
        if (i < nalive) {
            continue;
        }
        if (rec->pid != 0 && !ngx_http_cwai_pid_gone(rec->pid)) {
            if (nalive < 8) {
                alive[nalive++] = rec->pid;
            }
            continue;
        }

        data->data = ngx_pnalloc(pool, rec->len + 1);
        if (data->data == NULL) {
            rc = NGX_ERROR;
            break;
        }
        ngx_memcpy(data->data, rec->data, rec->len);
        data->data[rec->len] = '\0';
        data->len = rec->len;

        rec->pid = ngx_pid;
        rec->attempts++;
        /* to the tail: the next claim looks at the others first */
        ngx_queue_remove(&rec->queue);
        ngx_queue_insert_tail(&z->sh->jobs, &rec->queue);

        job->rec = rec;
        job->id = rec->id;
        job->attempts = rec->attempts;
        rc = NGX_OK;
        break;
    }

    ngx_shmtx_unlock(&z->shpool->mutex);
    return rc;
}


/* ---- configuration ----------------------------------------------------- */

ngx_http_cwai_zone_t *
ngx_http_cwai_zone_find(ngx_conf_t *cf, ngx_str_t *name)
{
    ngx_uint_t                  i;
    ngx_http_cwai_zone_t      **zones;
    ngx_http_cwai_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_chatwootai_module);
    zones = cmcf->zones.elts;

    for (i = 0; i < cmcf->zones.nelts; i++) {
        if (name == NULL
            || (zones[i]->name.len == name->len
                && ngx_strncmp(zones[i]->name.data, name->data, name->len) == 0))
        {
            return zones[i];
        }
    }
    return NULL;
}


ngx_http_cwai_zone_t *
ngx_http_cwai_zone_add_conf(ngx_conf_t *cf, ngx_str_t *name, size_t size)
{
    ngx_http_cwai_zone_t       *z, **zp;
    ngx_http_cwai_main_conf_t  *cmcf;

    if (ngx_http_cwai_zone_find(cf, name) != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "chatwootai_zone \"%V\" is already defined", name);
        return NULL;
    }

    z = ngx_pcalloc(cf->pool, sizeof(ngx_http_cwai_zone_t));
    if (z == NULL) {
        return NULL;
    }
    z->name = *name;
    z->size = size;

    z->shm_zone = ngx_shared_memory_add(cf, name, size, &ngx_http_chatwootai_module);
    if (z->shm_zone == NULL) {
        return NULL;
    }
    if (z->shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "shared memory zone \"%V\" is already used", name);
        return NULL;
    }
    z->shm_zone->init = ngx_http_cwai_zone_init;
    z->shm_zone->data = z;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_chatwootai_module);
    zp = ngx_array_push(&cmcf->zones);
    if (zp == NULL) {
        return NULL;
    }
    *zp = z;
    return z;
}


static ngx_int_t
ngx_http_cwai_zone_init(ngx_shm_zone_t *shm_zone, void *data)
{
    size_t                 len;
    ngx_http_cwai_zone_t  *oz = data;
    ngx_http_cwai_zone_t  *z = shm_zone->data;

    if (oz) {
        /* reload: the same zone name and size keep their contents */
        z->sh = oz->sh;
        z->shpool = oz->shpool;
        return NGX_OK;
    }

    z->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        z->sh = z->shpool->data;
        return NGX_OK;
    }

    z->sh = ngx_slab_alloc(z->shpool, sizeof(ngx_http_cwai_shctx_t));
    if (z->sh == NULL) {
        return NGX_ERROR;
    }
    ngx_memzero(z->sh, sizeof(ngx_http_cwai_shctx_t));
    z->shpool->data = z->sh;

    ngx_rbtree_init(&z->sh->rbtree, &z->sh->sentinel, ngx_http_cwai_rbtree_insert);
    ngx_queue_init(&z->sh->lru);
    ngx_queue_init(&z->sh->jobs);

    len = sizeof(" in chatwootai_zone \"\"") + shm_zone->shm.name.len;
    z->shpool->log_ctx = ngx_slab_alloc(z->shpool, len);
    if (z->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }
    ngx_sprintf(z->shpool->log_ctx, " in chatwootai_zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* a full zone is normal: the LRU makes room */
    z->shpool->log_nomem = 0;
    return NGX_OK;
}
