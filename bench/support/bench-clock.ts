// The clock bench:realtime reads in every process it runs (the producer and the client
// processes), so that a time taken in one can be subtracted from a time taken in another.
//
// performance.timeOrigin + performance.now(), not Date.now(): each process's timeOrigin is the
// system's wall clock read when the process started, to a fraction of a millisecond, and
// performance.now() runs from there on the monotonic clock. So readings in two processes of one
// machine agree to well under a millisecond (the bench measures the bound at start, clockSkew),
// they have sub-millisecond resolution where Date.now() rounds every reading down to the
// millisecond, and an NTP step during the run does not move them. (Over a run of minutes the
// monotonic clock and NTP's slewed wall clock drift apart by microseconds at most.)

export function benchClock(): number {
  return performance.timeOrigin + performance.now();
}
