// The outbox relays running in this process. A unit of work that records an effect wakes them
// in memory once it has committed, rather than by a NOTIFY sent from its transaction:
// PostgreSQL serialises the commits of every transaction that sends NOTIFY (one cluster-wide
// lock, held through the commit's WAL flush), so a NOTIFY in each writing transaction queued
// every writer behind the others' disk flushes and capped commits near 800/s on the 2-core
// machine (bench:realtime). Any relay may deliver any tenant's rows, so this process's own is
// enough; another instance's wakes at its poll if it is needed at all.
//
// A process with no relay (a CLI, a crash test's child) still sends NOTIFY in the transaction
// (recordEffect), so a relay in another process hears of the row at once.

const relays = new Set<() => void>();

/** Called by a relay as it starts; returns the call that removes it (at stop). */
export function registerLocalRelay(wake: () => void): () => void {
  relays.add(wake);
  return () => {
    relays.delete(wake);
  };
}

/** Some relay in this process is running: a commit can wake it without NOTIFY. */
export function hasLocalRelay(): boolean {
  return relays.size > 0;
}

export function wakeLocalRelays(): void {
  for (const wake of relays) wake();
}
