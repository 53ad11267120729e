import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { EventMap, EventName } from '../../shared/contract.ts';
import type { TransferSnapshot } from '../../shared/domain.ts';
import type { ContractService, ServiceEventListener } from './dispatcher.ts';
import { forwardEvents } from './eventForwarder.ts';

/** A service that only emits: forwardEvents uses nothing else. */
function makeEmitter() {
  const listeners = new Set<ServiceEventListener>();
  const service: ContractService = {
    handle: () => Promise.reject(new Error('not used')),
    onDidEmit(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  const emit = <E extends EventName>(event: E, payload: EventMap[E]) => {
    for (const l of listeners) l(event, payload);
  };
  return { service, emit, listeners };
}

function snapshot(id: string, bytesDone: number): TransferSnapshot {
  return {
    id,
    kind: 'upload',
    title: 'batch',
    state: 'running',
    bytesDone,
    bytesTotal: 100,
    speed: null,
    etaSeconds: null,
    files: [],
    attempt: 1,
    startedAt: null,
    finishedAt: null,
  };
}

describe('forwardEvents()', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends the first snapshot at once and then at most one per interval, the latest', () => {
    const { service, emit } = makeEmitter();
    const sent: [string, unknown][] = [];
    forwardEvents(service, (e, p) => sent.push([e, p]), 250);

    emit('transfers:didChange', [snapshot('a', 1)]);
    emit('transfers:didChange', [snapshot('a', 2)]);
    emit('transfers:didChange', [snapshot('a', 3)]);
    const beforeInterval = sent.length;
    vi.advanceTimersByTime(250);

    expect(beforeInterval).toBe(1);
    expect(sent).toEqual([
      ['transfers:didChange', [snapshot('a', 1)]],
      ['transfers:didChange', [snapshot('a', 3)]],
    ]);
  });

  it('flushes a pending snapshot before a finish event, keeping order', () => {
    const { service, emit } = makeEmitter();
    const sent: string[] = [];
    forwardEvents(
      service,
      (e, p) => sent.push(`${e}:${JSON.stringify(p).length}`),
      250,
    );

    emit('transfers:didChange', [snapshot('a', 1)]);
    emit('transfers:didChange', [snapshot('a', 50)]);
    emit('transfers:didFinish', snapshot('a', 100));

    expect(sent.map((s) => s.split(':').slice(0, 2).join(':'))).toEqual([
      'transfers:didChange',
      'transfers:didChange',
      'transfers:didFinish',
    ]);
  });

  it('sends nothing after disposal and leaves no timer or listener behind', () => {
    const { service, emit, listeners } = makeEmitter();
    const sent: string[] = [];
    const dispose = forwardEvents(service, (e) => sent.push(e), 250);

    emit('transfers:didChange', [snapshot('a', 1)]);
    emit('transfers:didChange', [snapshot('a', 2)]);
    dispose();
    vi.advanceTimersByTime(1_000);

    expect(sent).toEqual(['transfers:didChange']);
    expect(listeners.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});
