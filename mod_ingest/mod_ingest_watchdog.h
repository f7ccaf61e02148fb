/* mod_watchdog's callbacks (the worker, the notification sender) and the
 * child's exit.
 *
 * httpd 2.4's event MPM ends a child with apr_pool_destroy(pchild) and
 * then exit(). mod_watchdog joins its threads only when its own pool, a
 * child of pconf, is destroyed, and a child never destroys pconf: a
 * callback still under way runs on beside exit() (the libraries' exit
 * handlers, the child pool's memory gone) and is cut off wherever it is,
 * without a word. So every call that does work is bracketed by
 * ingest_tick_enter() and ingest_tick_leave(), and the child-exit cleanup,
 * once it has told the callback to stop, waits for it with
 * ingest_tick_wait(). */
#ifndef MOD_INGEST_WATCHDOG_H
#define MOD_INGEST_WATCHDOG_H

#include <apr_atomic.h>
#include <apr_time.h>

typedef struct {
    volatile apr_uint32_t busy; /* a call is under way */
} ingest_tick_t;

/* how long a child's exit waits for a call to notice that it is stopping
 * (at its next statement or slice) */
#define INGEST_TICK_EXIT_WAIT apr_time_from_sec(5)

static APR_INLINE void ingest_tick_enter(ingest_tick_t *t)
{
    apr_atomic_set32(&t->busy, 1);
}

static APR_INLINE void ingest_tick_leave(ingest_tick_t *t)
{
    apr_atomic_set32(&t->busy, 0);
}

/* After the callback's stopping flag is set: returns once no call is
 * under way, or after `wait` (what a call still holds past that, its
 * database connections, the exit waits for on its own). */
static APR_INLINE void ingest_tick_wait(ingest_tick_t *t, apr_interval_time_t wait)
{
    apr_time_t until = apr_time_now() + wait;
    while (apr_atomic_read32(&t->busy) && apr_time_now() < until) {
        apr_sleep(apr_time_from_msec(10));
    }
}

#endif
