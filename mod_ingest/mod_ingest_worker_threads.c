#include <stdlib.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_proc.h>

#include "mod_ingest_worker_threads.h"

/* A handed-over job, from dispatch until the first forget_ended() after
 * its step ended. malloc'ed (like the tasks): the set lives as long as the
 * child, and a pool would only grow. */
typedef struct {
    char *job_id;
    int ended;
} wt_entry_t;

typedef struct wt_task_t {
    struct wt_task_t *next;
    wt_entry_t *entry;
    json_t *job; /* a deep copy, this task's own */
} wt_task_t;

typedef struct {
    ingest_wthreads_t *wt;
    apr_thread_t *thread;
} wt_thread_t;

struct ingest_wthreads_t {
    server_rec *s;
    apr_pool_t *pool; /* never destroyed: see ingest_wthreads_create */
    ingest_wtask_fn *fn;
    void *baton;
    apr_thread_mutex_t *lease_lock;
    apr_thread_mutex_t *lock; /* everything below */
    apr_thread_cond_t *work;  /* a task was queued, or stopping */
    apr_thread_cond_t *gone;  /* a thread ended */
    wt_task_t *head, *tail;
    apr_hash_t *entries; /* job_id -> wt_entry_t */
    int inflight;        /* entries */
    int ended;           /* entries with ended set */
    int n, live;         /* threads started, still running */
    int stopping;
    int joined;
    wt_thread_t *threads;
};

static void entry_forget(ingest_wthreads_t *wt, wt_entry_t *e)
{
    apr_hash_set(wt->entries, e->job_id, APR_HASH_KEY_STRING, NULL);
    free(e->job_id);
    free(e);
    wt->inflight--;
}

/* Called with wt->lock held: the task's job is no longer running here. */
static void task_done(ingest_wthreads_t *wt, wt_task_t *t)
{
    t->entry->ended = 1;
    wt->ended++;
    json_decref(t->job);
    free(t);
}

static void *APR_THREAD_FUNC step_thread(apr_thread_t *thd, void *data)
{
    wt_thread_t *me = data;
    ingest_wthreads_t *wt = me->wt;
    apr_pool_t *tp = apr_thread_pool_get(thd);
    ingest_rng_t rng;
    apr_uint64_t seed = 0;

    apr_generate_random_bytes((unsigned char *)&seed, sizeof(seed));
    ingest_rng_seed(&rng, seed ^ (apr_uint64_t)apr_time_now() ^ (apr_uint64_t)(apr_uintptr_t)me);
    apr_thread_mutex_lock(wt->lock);
    for (;;) {
        wt_task_t *t;
        apr_pool_t *p = NULL;
        while (!wt->stopping && !wt->head) {
            apr_thread_cond_wait(wt->work, wt->lock);
        }
        if (wt->stopping) {
            break;
        }
        t = wt->head;
        wt->head = t->next;
        if (!wt->head) {
            wt->tail = NULL;
        }
        apr_thread_mutex_unlock(wt->lock);
        /* the step's memory goes with its end, whichever way it ends */
        if (apr_pool_create(&p, tp) == APR_SUCCESS) {
            apr_pool_tag(p, "ingest_step");
            wt->fn(p, &rng, t->job, wt->baton);
            apr_pool_destroy(p);
        }
        apr_thread_mutex_lock(wt->lock);
        task_done(wt, t);
    }
    wt->live--;
    apr_thread_cond_broadcast(wt->gone);
    apr_thread_mutex_unlock(wt->lock);
    /* A return, not apr_thread_exit(): pthread_exit() from here would
     * leave this frame's stack poisoned under ASan (apr_thread_exit is not
     * declared noreturn), which then reports the thread's own exit as a
     * stack-use-after-scope. The thread's pool is a child of wt->pool. */
    return NULL;
}

apr_status_t ingest_wthreads_create(ingest_wthreads_t **out, server_rec *s, int n, ingest_wtask_fn *fn,
                                    void *baton)
{
    ingest_wthreads_t *wt;
    apr_pool_t *pool;
    apr_thread_mutex_t *amx;
    apr_threadattr_t *attr;
    apr_status_t rv;
    int i;

    *out = NULL;
    /* Not a child of the child pool (nor of mod_watchdog's): the exit
     * waits for the threads only so long (ingest_wthreads_stop), and a
     * thread still running after that must not find its memory freed. The
     * allocator is locked: the threads' own pools are its children, made
     * and destroyed from several threads. */
    if ((rv = apr_pool_create_unmanaged_ex(&pool, NULL, NULL)) != APR_SUCCESS) {
        return rv;
    }
    apr_pool_tag(pool, "ingest_wthreads");
    if ((rv = apr_thread_mutex_create(&amx, APR_THREAD_MUTEX_DEFAULT, pool)) != APR_SUCCESS) {
        apr_pool_destroy(pool);
        return rv;
    }
    apr_allocator_mutex_set(apr_pool_allocator_get(pool), amx);
    wt = apr_pcalloc(pool, sizeof(*wt));
    wt->s = s;
    wt->pool = pool;
    wt->fn = fn;
    wt->baton = baton;
    wt->entries = apr_hash_make(pool);
    wt->threads = apr_pcalloc(pool, sizeof(*wt->threads) * (apr_size_t)n);
    if ((rv = apr_thread_mutex_create(&wt->lease_lock, APR_THREAD_MUTEX_DEFAULT, pool)) != APR_SUCCESS
        || (rv = apr_thread_mutex_create(&wt->lock, APR_THREAD_MUTEX_DEFAULT, pool)) != APR_SUCCESS
        || (rv = apr_thread_cond_create(&wt->work, pool)) != APR_SUCCESS
        || (rv = apr_thread_cond_create(&wt->gone, pool)) != APR_SUCCESS
        || (rv = apr_threadattr_create(&attr, pool)) != APR_SUCCESS) {
        apr_pool_destroy(pool);
        return rv;
    }
    for (i = 0; i < n; ++i) {
        wt->threads[i].wt = wt;
        apr_thread_mutex_lock(wt->lock);
        rv = apr_thread_create(&wt->threads[i].thread, attr, step_thread, &wt->threads[i], pool);
        if (rv == APR_SUCCESS) {
            wt->n++;
            wt->live++;
        }
        apr_thread_mutex_unlock(wt->lock);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                         IGLOGNO(00420) "worker: could not start step thread %d of %d", i + 1, n);
            break;
        }
    }
    if (!wt->n) {
        /* nothing runs: the caller does the steps itself (the pool stays,
         * small, rather than freeing what a failed create may point to) */
        return rv;
    }
    *out = wt;
    return APR_SUCCESS;
}

apr_thread_mutex_t *ingest_wthreads_lease_lock(ingest_wthreads_t *wt)
{
    return wt ? wt->lease_lock : NULL;
}

int ingest_wthreads_forget_ended(ingest_wthreads_t *wt)
{
    apr_hash_index_t *hi;
    int n;

    apr_thread_mutex_lock(wt->lock);
    n = wt->ended;
    if (n) {
        /* deleting the current entry while iterating is allowed by apr_hash */
        for (hi = apr_hash_first(NULL, wt->entries); hi; hi = apr_hash_next(hi)) {
            wt_entry_t *e = apr_hash_this_val(hi);
            if (e->ended) {
                entry_forget(wt, e);
            }
        }
        wt->ended = 0;
    }
    apr_thread_mutex_unlock(wt->lock);
    return n;
}

int ingest_wthreads_inflight(ingest_wthreads_t *wt)
{
    int n;
    apr_thread_mutex_lock(wt->lock);
    n = wt->inflight;
    apr_thread_mutex_unlock(wt->lock);
    return n;
}

apr_status_t ingest_wthreads_dispatch(ingest_wthreads_t *wt, json_t *job)
{
    const char *job_id = json_string_value(json_object_get(job, "job_id"));
    wt_entry_t *e;
    wt_task_t *t;
    apr_status_t rv = APR_SUCCESS;

    if (!job_id) {
        return APR_EINVAL;
    }
    t = calloc(1, sizeof(*t));
    e = calloc(1, sizeof(*e));
    if (!t || !e || !(e->job_id = strdup(job_id)) || !(t->job = json_deep_copy(job))) {
        if (e) {
            free(e->job_id);
        }
        free(e);
        if (t) {
            json_decref(t->job);
        }
        free(t);
        return APR_ENOMEM;
    }
    t->entry = e;
    apr_thread_mutex_lock(wt->lock);
    if (wt->stopping) {
        rv = APR_EINCOMPLETE;
    } else if (apr_hash_get(wt->entries, job_id, APR_HASH_KEY_STRING)) {
        rv = APR_EEXIST;
    } else {
        apr_hash_set(wt->entries, e->job_id, APR_HASH_KEY_STRING, e);
        wt->inflight++;
        if (wt->tail) {
            wt->tail->next = t;
        } else {
            wt->head = t;
        }
        wt->tail = t;
        apr_thread_cond_signal(wt->work);
    }
    apr_thread_mutex_unlock(wt->lock);
    if (rv != APR_SUCCESS) {
        json_decref(t->job);
        free(t);
        free(e->job_id);
        free(e);
    }
    return rv;
}

int ingest_wthreads_stop(ingest_wthreads_t *wt, apr_interval_time_t wait)
{
    apr_time_t deadline = apr_time_now() + wait;
    int live, join = 0, i;

    apr_thread_mutex_lock(wt->lock);
    if (!wt->stopping) {
        wt->stopping = 1;
        /* the queued steps never start: their jobs stay running under the
         * lease, which the release at exit gives back */
        while (wt->head) {
            wt_task_t *t = wt->head;
            wt->head = t->next;
            task_done(wt, t);
        }
        wt->tail = NULL;
        apr_thread_cond_broadcast(wt->work);
    }
    while (wt->live > 0) {
        apr_time_t now = apr_time_now();
        if (now >= deadline) {
            break;
        }
        apr_thread_cond_timedwait(wt->gone, wt->lock, deadline - now);
    }
    live = wt->live;
    if (!live && !wt->joined) {
        wt->joined = join = 1;
    }
    apr_thread_mutex_unlock(wt->lock);
    /* every thread is past its last use of the set: reap them, once */
    for (i = 0; join && i < wt->n; ++i) {
        apr_status_t trv;
        apr_thread_join(&trv, wt->threads[i].thread);
    }
    return live;
}
