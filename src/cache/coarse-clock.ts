// The monotonic time caches compare their entries' expiry with, read on every lookup (twice
// per flag evaluation): a number refreshed every 20 ms by one unref'd timer, where
// performance.now() itself would cost a fifth of a warm evaluation. TTLs are seconds, so the
// slack is nothing; while the event loop is busy the time stands still, which only keeps an
// entry a little longer than its TTL.

const RESOLUTION_MS = 20;

let now = performance.now();
let ticking = false;

export function coarseNow(): number {
  if (!ticking) {
    ticking = true;
    setInterval(() => {
      now = performance.now();
    }, RESOLUTION_MS).unref();
  }
  return now;
}
