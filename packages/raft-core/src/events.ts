/** A minimal typed event emitter (raft-core uses no `node:` modules). */
export class Emitter<Events extends Record<string, unknown>> {
  private listeners: { [K in keyof Events]?: Array<(e: Events[K]) => void> } = {};

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof Events>(event: K, listener: (e: Events[K]) => void): () => void {
    let list = this.listeners[event];
    if (list === undefined) {
      list = [];
      this.listeners[event] = list;
    }
    list.push(listener);
    return () => {
      const current = this.listeners[event];
      if (current !== undefined) {
        this.listeners[event] = current.filter((l) => l !== listener);
      }
    };
  }

  emit<K extends keyof Events>(event: K, e: Events[K]): void {
    const list = this.listeners[event];
    if (list === undefined) {
      return;
    }
    for (const l of list) {
      l(e);
    }
  }
}
