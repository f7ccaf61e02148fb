// Live updates. While isActive() (a job on screen is pending, queued or
// running) and the tab is visible, tick() runs 3 s after the previous tick
// (or user action) finished. Otherwise no timer exists at all: nothing is
// requested until the user acts, and every user action ends in update(),
// which arms the timer again if there is something to follow.

export function createPoller({ interval = 3000, isActive, tick }) {
  let enabled = false; // signed in
  let timer = null;
  let ticking = false;

  function clear() {
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
  }

  function wanted() {
    return enabled && !document.hidden && isActive();
  }

  // (Re)arms the one timer, or removes it when there is nothing to follow.
  function update() {
    clear();
    if (wanted() && !ticking) timer = setTimeout(run, interval);
  }

  async function run() {
    timer = null;
    if (!wanted() || ticking) return;
    ticking = true;
    try {
      await tick();
    } catch {
      // tick reports its own errors; keep following the jobs
    } finally {
      ticking = false;
    }
    update();
  }

  document.addEventListener('visibilitychange', () => {
    if (document.hidden) {
      clear(); // paused: no timer while the tab is hidden
    } else if (wanted() && !ticking) {
      clear();
      run(); // visible again: catch up at once, then every interval
    }
  });

  return {
    start() {
      enabled = true;
      update();
    },
    stop() {
      enabled = false;
      clear();
    },
    update,
  };
}
