/**
 * Events a process handled recently, so a redelivery shows as a duplicate in metrics. A
 * bounded memory, not the idempotency itself: every stage is idempotent by its store keys.
 */
export class RecentEvents {
  private readonly keys = new Set<string>();

  constructor(private readonly limit = 10_000) {}

  has(key: string): boolean {
    return this.keys.has(key);
  }

  remember(key: string): void {
    this.keys.add(key);
    // A Set iterates in insertion order: drop the oldest.
    const oldest = this.keys.values().next();
    if (this.keys.size > this.limit && !oldest.done) this.keys.delete(oldest.value);
  }
}
